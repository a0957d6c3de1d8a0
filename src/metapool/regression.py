"""Meta-regression: mixed-effects (or fixed-effects) weighted regression on moderators."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._kernels import (
    heterogeneity_from_q,
    heterogeneity_from_tau2,
    n_params,
    trace_p,
    wls,
)
from metapool._validation import check_choice, check_level
from metapool.effects._base import EffectSet, array_field
from metapool.exceptions import InvalidDataError, MetapoolTypeError
from metapool.models._inference import (
    CI_METHODS,
    t_crit,
    two_sided_p,
    variance_scale,
    z_crit,
)
from metapool.models._inverse_variance import check_effects
from metapool.results import NOT_ESTIMABLE, Interval, IntervalArray, _json_float
from metapool.tau2 import Fixed, Tau2Estimator
from metapool.tau2 import get as get_tau2
from metapool.tau2._base import checked
from metapool.tau2._qsolve import solve_generalized_q

__all__ = ["DesignMatrix", "MetaRegression", "MetaRegressionResult", "Prediction"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class DesignMatrix:
    """How moderators became columns of X, so that new data can be encoded the same way.

    Categorical moderators (strings, booleans or any non-numeric values) get one
    indicator column per level except the first in sorted order, which is the
    reference level (treatment contrast, as R's default). Without an intercept the
    first categorical moderator keeps all its levels, so its coefficients are the
    level means (as R's ``~ factor(g) - 1``).
    """

    X: Array = array_field()
    names: tuple[str, ...]
    intercept: bool
    #: moderator name -> its levels (categorical) or None (numeric), in input order
    encoding: tuple[tuple[str, tuple[str, ...] | None], ...]

    @classmethod
    def build(cls, moderators: Any, k: int, intercept: bool) -> DesignMatrix:
        """Encode ``moderators`` (a (k,) or (k, p) array, or a mapping name -> column)."""
        columns: list[Array] = []
        names: list[str] = []
        encoding: list[tuple[str, tuple[str, ...] | None]] = []
        if isinstance(moderators, Mapping):
            items = list(moderators.items())
        else:
            arr = np.asarray(moderators)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2:
                raise InvalidDataError(
                    f"MetaRegression: 'moderators' must be (k,) or (k, p); got shape {arr.shape}."
                )
            items = [(f"x{j + 1}", arr[:, j]) for j in range(arr.shape[1])]
        for name, values in items:
            col = np.asarray(values)
            if col.shape != (k,):
                raise InvalidDataError(
                    f"MetaRegression: moderator {name!r} has {col.size} values for {k} studies."
                )
            if col.dtype.kind in "biuf" and col.dtype.kind != "b":
                numeric = col.astype(np.float64)
                if not np.all(np.isfinite(numeric)):
                    i = int(np.flatnonzero(~np.isfinite(numeric))[0])
                    raise InvalidDataError(
                        f"MetaRegression: moderator {name!r} must be finite; study {i} has "
                        f"{numeric[i]!r}."
                    )
                columns.append(numeric)
                names.append(str(name))
                encoding.append((str(name), None))
            else:
                labels = np.asarray([str(v) for v in col])
                levels = tuple(sorted(set(labels.tolist())))
                # Without an intercept the first categorical moderator keeps every level
                # (one mean per level, as R's ~ factor(g) - 1); otherwise the first level
                # is the reference.
                full = not intercept and not any(lv is not None for _, lv in encoding)
                for level in levels if full else levels[1:]:
                    columns.append((labels == level).astype(np.float64))
                    names.append(f"{name}[{level}]")
                encoding.append((str(name), levels))
        if intercept:
            columns.insert(0, np.ones(k))
            names.insert(0, "intercept")
        if not columns:
            raise InvalidDataError("MetaRegression: no moderators and no intercept.")
        X = np.column_stack(columns)
        _check_rank(X, names)
        return cls(X=X, names=tuple(names), intercept=intercept, encoding=tuple(encoding))

    def encode(self, new: Any) -> Array:
        """Encode new moderator values (same form as in the fit) as rows of X."""
        if isinstance(new, Mapping):
            cols: list[Array] = []
            n = None
            first_categorical = next((nm for nm, lv in self.encoding if lv is not None), None)
            for name, levels in self.encoding:
                if name not in new:
                    raise InvalidDataError(f"predict: moderator {name!r} is missing.")
                col = np.atleast_1d(np.asarray(new[name]))
                n = col.size if n is None else n
                if levels is None:
                    cols.append(col.astype(np.float64))
                else:
                    lab = np.asarray([str(v) for v in col])
                    unknown = set(lab.tolist()) - set(levels)
                    if unknown:
                        raise InvalidDataError(
                            f"predict: moderator {name!r} has unknown level(s) {sorted(unknown)}; "
                            f"known: {list(levels)}."
                        )
                    full = not self.intercept and name == first_categorical
                    kept = levels if full else levels[1:]
                    cols.extend((lab == lv).astype(np.float64) for lv in kept)
            rows = np.column_stack(cols) if cols else np.zeros((n or 1, 0))
        else:
            rows = np.asarray(new, dtype=np.float64)
            width = self.X.shape[1] - int(self.intercept)
            if rows.ndim <= 1:
                rows = rows.reshape(-1, width) if width else rows.reshape(-1, 0)
            if rows.shape[1] != width:
                raise InvalidDataError(
                    f"predict: new moderators need {width} column(s) (without the intercept); "
                    f"got {rows.shape[1]}."
                )
        if self.intercept:
            rows = np.column_stack([np.ones(rows.shape[0]), rows])
        return rows


def _check_rank(X: Array, names: list[str]) -> None:
    k, p = X.shape
    if np.linalg.matrix_rank(X) == p:
        return
    kept: list[int] = []
    for j in range(p):
        if np.linalg.matrix_rank(X[:, [*kept, j]]) == len(kept) + 1:
            kept.append(j)
            continue
        others = ", ".join(repr(names[i]) for i in kept) or "nothing"
        if not np.any(X[:, j]):
            why = "is all zeros"
        elif k < p:
            why = f"cannot be estimated with only {k} studies"
        else:
            why = f"is a linear combination of {others}"
        raise InvalidDataError(
            f"MetaRegression: the design is singular: column {names[j]!r} {why}. "
            "Drop or recode the collinear moderators."
        )


@attrs.frozen(kw_only=True)
class Prediction:
    """Predicted effects for given moderator values, with CI and prediction interval."""

    pred: Array = array_field(repr=True)
    se: Array = array_field(repr=True)
    ci: IntervalArray
    pi: IntervalArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {
            "pred": self.pred.tolist(),
            "se": self.se.tolist(),
            "ci": self.ci.to_dict(),
            "pi": self.pi.to_dict(),
        }


@attrs.frozen(kw_only=True)
class MetaRegressionResult:
    """A fitted meta-regression.

    Attributes
    ----------
    coef, se, statistic, pvalue : ndarray
        Coefficients, standard errors, z or t statistics and two-sided p-values.
    ci : IntervalArray
        Confidence intervals of the coefficients.
    names : tuple of str
        Column names of the design matrix (``"intercept"`` first when present).
    df : float or None
        Degrees of freedom of the t tests (``k - p``), None for z.
    tau2, tau : float
        Residual between-study variance and its square root.
    tau2_ci : Interval
        Q-profile confidence interval of the residual τ² (not estimable when τ² is
        fixed in advance with :class:`~metapool.tau2.Fixed`).
    qm, qm_df, qm_df2, qm_pvalue : float, int, int or None, float
        Omnibus test of the moderators (all coefficients but the intercept): a
        chi-square statistic for z, an F statistic with ``(qm_df, qm_df2)`` df for
        t-based methods (as metafor).
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    r2 : float
        Pseudo-R² in percent: ``max(0, (τ²₀ - τ²)/τ²₀)`` with τ²₀ from the
        intercept-only model with the same estimator (0 when τ²₀ = 0, as metafor).
        For a fixed-effects meta-regression (``tau2=Fixed(0)``): the adjusted R² of
        the weighted least-squares regression, as metafor.
    i2, h2 : float
        Residual I² (percent) and H², from τ² and the typical within-study variance
        (from QE for a fixed-effects meta-regression).
    vcov : ndarray
        Covariance matrix of the coefficients.
    """

    model: Any = attrs.field(repr=False)
    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    names: tuple[str, ...]
    df: float | None
    tau2: float
    tau: float
    tau2_ci: Interval
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    r2: float
    i2: float
    h2: float
    vcov: Array = array_field()
    k: int
    p: int
    converged: bool
    iterations: int
    level: float
    design: DesignMatrix = attrs.field(repr=False)
    yi: Array = array_field()
    vi: Array = array_field()
    labels: tuple[str, ...]
    measure: str

    def predict(self, new_moderators: Any) -> Prediction:
        """Predicted effects for new moderator values (same form as in the fit).

        ``pred = x'β``, ``se = sqrt(x' V x)``, CI ``pred ± crit·se`` and prediction
        interval ``pred ± crit·sqrt(se² + τ²)``, with ``crit`` from z or t(k - p).
        """
        rows = self.design.encode(new_moderators)
        pred = rows @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", rows, self.vcov, rows))
        crit = z_crit(self.level) if self.df is None else float(t_crit(self.level, self.df))
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(
            pred=pred,
            se=se,
            ci=IntervalArray(pred - crit * se, pred + crit * se),
            pi=IntervalArray(pred - half_pi, pred + half_pi),
        )

    def summary(self) -> str:
        """A metafor-style report."""
        pct = round(100 * self.level)
        stat = "z" if self.df is None else "t"
        kind = "Fixed-effects" if self.model.fixed_effects else "Mixed-effects"
        lines = [
            f"{kind} meta-regression (k = {self.k}; tau^2 estimator: "
            f"{self.model.tau2.name}; CI: {self.model.ci})",
            "",
            f"tau^2 (residual heterogeneity) = {self.tau2:.4f} "
            f"({pct}% CI {self.tau2_ci.format(4)}); tau = {self.tau:.4f}",
            f"I^2 (residual) = {self.i2:.2f}%; H^2 = {self.h2:.2f}; R^2 = "
            + ("NA" if math.isnan(self.r2) else f"{self.r2:.2f}%"),
            "",
            f"Test for residual heterogeneity: QE(df = {self.qe_df}) = {self.qe:.4f}, "
            f"p = {self.qe_pvalue:.4g}",
        ]
        if self.qm_df2 is None:
            lines.append(
                f"Test of moderators: QM(df = {self.qm_df}) = {self.qm:.4f}, "
                f"p = {self.qm_pvalue:.4g}"
            )
        else:
            lines.append(
                f"Test of moderators: F(df1 = {self.qm_df}, df2 = {self.qm_df2}) = "
                f"{self.qm:.4f}, p = {self.qm_pvalue:.4g}"
            )
        lines += [
            "",
            f"  {'':<22}{'estimate':>10}{'se':>10}{stat + 'val':>9}{'pval':>9}   {pct}% CI",
        ]
        for j, name in enumerate(self.names):
            lines.append(
                f"  {name[:21]:<22}{self.coef[j]:>10.4f}{self.se[j]:>10.4f}"
                f"{self.statistic[j]:>9.3f}{self.pvalue[j]:>9.4f}   "
                f"[{self.ci.low[j]:.4f}, {self.ci.high[j]:.4f}]"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name in ("model", "design"):
                out[field.name] = repr(value) if field.name == "model" else list(value.names)
            elif isinstance(value, (IntervalArray, Interval)):
                out[field.name] = value.to_dict()
            elif isinstance(value, np.ndarray):
                out[field.name] = np.where(np.isfinite(value), value, np.nan).tolist()
                out[field.name] = [
                    [_json_float(x) for x in row] if isinstance(row, list) else _json_float(row)
                    for row in out[field.name]
                ]
            elif isinstance(value, float):
                out[field.name] = _json_float(value)
            elif isinstance(value, tuple):
                out[field.name] = list(value)
            else:
                out[field.name] = value
        return out

    def __str__(self) -> str:
        return self.summary()


def _weighted_adjusted_r2(yi: Array, w: Array, rss: float, p: int, intercept: bool) -> float:
    """Adjusted R² (percent, truncated at 0) of a weighted least-squares regression."""
    k = yi.size
    if np.all(yi == yi[0]):
        return 0.0
    if intercept:
        centre = float((w * yi).sum() / w.sum())
        tss, df_tot = float((w * (yi - centre) ** 2).sum()), k - 1
    else:
        tss, df_tot = float((w * yi**2).sum()), k
    r2 = 1.0 - rss / tss
    return max(0.0, 100.0 * (1.0 - (1.0 - r2) * df_tot / (k - p)))


@attrs.frozen(init=False)
class MetaRegression:
    """Meta-regression with a pluggable τ² estimator.

    Fits ``y = Xβ + u + ε`` with ``u ~ N(0, τ²)``, ``ε ~ N(0, v)`` by weighted least
    squares with ``w = 1/(v + τ̂²)``, τ² estimated by any estimator that accepts a
    design matrix (all built-in ones do). ``tau2=mp.tau2.Fixed(0)`` gives a
    fixed-effects meta-regression.

    Parameters
    ----------
    tau2 : str or Tau2Estimator, default "REML"
        τ² estimator.
    ci : {"z", "hksj", "hksj-adhoc", "t"}, default "z"
        Wald z; Knapp–Hartung (t with k - p df and the variance scaled by
        ``Σw r²/(k - p)``); its ad hoc variant (scale at least 1); Wald SEs with t.
    level : float, default 0.95
        Confidence level.

    References
    ----------
    .. [1] Berkey CS, Hoaglin DC, Mosteller F, Colditz GA (1995). A random-effects
       regression model for meta-analysis. Stat Med 14(4):395-411.
    .. [2] Knapp G, Hartung J (2003). Improved tests for a random effects
       meta-regression with a single covariate. Stat Med 22(17):2693-2710.
    .. [3] Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
       undertaken and interpreted? Stat Med 21(11):1559-1573.
    .. [4] Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In
       The Handbook of Research Synthesis and Meta-Analysis, 2nd ed.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
    >>> reg = mp.MetaRegression(tau2="REML").fit(eff, {"dose": [1, 2, 3, 4, 5]})
    >>> reg.names, reg.coef.round(3).tolist()
    (('intercept', 'dose'), [-0.11, 0.21])
    """

    tau2: Tau2Estimator
    ci: str
    level: float

    def __init__(
        self, tau2: str | Tau2Estimator = "REML", *, ci: str = "z", level: float = 0.95
    ) -> None:
        owner = "MetaRegression"
        self.__attrs_init__(
            tau2=get_tau2(tau2, owner=owner),
            ci=check_choice(owner, "ci", ci, CI_METHODS),
            level=check_level(owner, level),
        )

    @property
    def fixed_effects(self) -> bool:
        """Whether τ² is fixed at 0 (a fixed-effects meta-regression)."""
        return isinstance(self.tau2, Fixed) and self.tau2.value == 0.0

    def fit(
        self, effects: EffectSet, moderators: Any, *, intercept: bool = True
    ) -> MetaRegressionResult:
        """Fit the meta-regression of ``effects`` on ``moderators``.

        Parameters
        ----------
        effects : EffectSet
            The studies.
        moderators : array_like or mapping
            A ``(k,)`` or ``(k, p)`` numeric array, or a mapping from name to a
            column (numeric, or categorical: one indicator per level but the first).
        intercept : bool, default True
            Add an intercept column.
        """
        effects = check_effects("MetaRegression", effects)
        if not isinstance(moderators, Mapping) and isinstance(moderators, (str, bytes)):
            raise MetapoolTypeError("MetaRegression: 'moderators' must be an array or a mapping.")
        yi, vi, k = effects.yi, effects.vi, effects.k
        design = DesignMatrix.build(moderators, k, intercept)
        X = design.X
        p = n_params(X)
        if k - p < 1:
            raise InvalidDataError(
                f"MetaRegression: {p} coefficients need more than {p} studies; got k = {k}."
            )
        fit_tau2 = checked(self.tau2.estimate(yi, vi, X), "MetaRegression")
        tau2 = float(fit_tau2.tau2)
        converged = bool(np.all(fit_tau2.converged))
        w = 1.0 / (vi + tau2)
        fit = wls(yi, w, X)
        vcov = np.array(fit.cov)
        df: float | None = None
        vcov = vcov * float(variance_scale(fit.rss, k - p, self.ci))
        if self.ci != "z":
            df = float(k - p)
        se = np.sqrt(np.diag(vcov))
        coef = np.array(fit.beta)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = coef / se
        crit = z_crit(self.level) if df is None else float(t_crit(self.level, df))
        pvalue = two_sided_p(stat, df)

        # Omnibus test of the moderators (all but the intercept).
        btt = np.arange(1, p) if intercept else np.arange(p)
        m = btt.size
        qm_df2: int | None = None
        if m:
            b = coef[btt]
            qm = float(b @ np.linalg.solve(vcov[np.ix_(btt, btt)], b))
            if df is None:
                qm_p = float(special.chdtrc(m, qm))
            else:
                qm = qm / m
                qm_df2 = k - p
                qm_p = float(special.fdtrc(m, k - p, qm))
        else:
            qm, qm_p = math.nan, math.nan

        # Residual heterogeneity with fixed-effect weights.
        w_fe = 1.0 / vi
        fit_fe = wls(yi, w_fe, X)
        qe = float(fit_fe.rss)
        if self.fixed_effects:
            # As metafor's fixed-effects model: I², H² from QE; R² the adjusted R² of
            # the weighted least-squares regression.
            i2, h2 = (float(x) for x in heterogeneity_from_q(qe, k - p))
            r2 = _weighted_adjusted_r2(yi, w_fe, qe, p, intercept)
        else:
            s2 = (k - p) / float(trace_p(w_fe, X, fit_fe.cov))
            i2, h2 = (float(x) for x in heterogeneity_from_tau2(tau2, s2))
            # Pseudo-R² against the intercept-only model with the same estimator
            # (0 when that model has no heterogeneity to explain, as metafor).
            tau2_0 = float(self.tau2.estimate(yi, vi).tau2)
            r2 = max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0) if tau2_0 > 0 else 0.0

        if isinstance(self.tau2, Fixed):  # τ² given in advance: no interval to estimate
            tau2_ci = NOT_ESTIMABLE
        else:
            alpha = 1.0 - self.level
            targets = (special.chdtri(k - p, alpha / 2), special.chdtri(k - p, 1 - alpha / 2))
            bounds = [solve_generalized_q(yi, vi, X, t) for t in targets]
            converged = converged and all(bool(b.converged) for b in bounds)
            tau2_ci = Interval(float(bounds[0].root), float(bounds[1].root))

        return MetaRegressionResult(
            model=self,
            coef=coef,
            se=se,
            statistic=stat,
            pvalue=pvalue,
            ci=IntervalArray(coef - crit * se, coef + crit * se),
            names=design.names,
            df=df,
            tau2=tau2,
            tau=math.sqrt(tau2),
            tau2_ci=tau2_ci,
            qm=qm,
            qm_df=m,
            qm_df2=qm_df2,
            qm_pvalue=qm_p,
            qe=qe,
            qe_df=k - p,
            qe_pvalue=float(special.chdtrc(k - p, qe)),
            r2=r2,
            i2=i2,
            h2=h2,
            vcov=vcov,
            k=k,
            p=p,
            converged=converged,
            iterations=int(np.max(fit_tau2.iterations)),
            level=self.level,
            design=design,
            yi=yi,
            vi=vi,
            labels=effects.labels,
            measure=effects.measure,
        )
