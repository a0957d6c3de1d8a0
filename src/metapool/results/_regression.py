"""The results of a meta-regression: the fit and its predictions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import t_crit, z_crit
from metapool._serialize import fields_to_dict, measure_entries
from metapool._validation import check_level
from metapool.results._frames import make_frame, pooled_columns, study_columns
from metapool.results._html import html_table
from metapool.results._intervals import Interval, IntervalArray
from metapool.results._report import excluded_block, notes_block, p_text, short

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from metapool._data import ExcludedStudy
    from metapool._moderators import DesignMatrix
    from metapool.effects import Measure

__all__ = ["MetaRegressionResult", "Prediction"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class Prediction:
    """Predicted effects for given moderator values, with CI and prediction interval."""

    pred: Array = array_field()
    se: Array = array_field()
    ci: IntervalArray
    pi: IntervalArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (NaN becomes ``None``)."""
        return fields_to_dict(self)

    def summary_frame(self) -> pd.DataFrame:
        """One row per prediction: ``pred``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``,
        ``pi_high`` (analysis scale, as the coefficients).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
        >>> reg = mp.MetaRegression().fit(eff, {"dose": [1, 2, 3, 4, 5]})
        >>> reg.predict({"dose": [0, 6]}).summary_frame()["pred"].round(2).tolist()
        [-0.11, 1.15]
        """
        return make_frame(
            "Prediction.summary_frame",
            {
                "pred": self.pred,
                "se": self.se,
                "ci_low": self.ci.low,
                "ci_high": self.ci.high,
                "pi_low": self.pi.low,
                "pi_high": self.pi.high,
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """The same table as :meth:`summary_frame` (a prediction has no studies).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
        >>> reg = mp.MetaRegression().fit(eff, {"dose": [1, 2, 3, 4, 5]})
        >>> list(reg.predict({"dose": [0, 6]}).to_frame().columns)
        ['pred', 'se', 'ci_low', 'ci_high', 'pi_low', 'pi_high']
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        rows = [
            [
                str(i + 1),
                short(float(self.pred[i])),
                short(float(self.se[i])),
                f"[{short(float(self.ci.low[i]))}, {short(float(self.ci.high[i]))}]",
                f"[{short(float(self.pi.low[i]))}, {short(float(self.pi.high[i]))}]",
            ]
            for i in range(self.pred.size)
        ]
        return html_table("Predictions", ["", "pred", "se", "CI", "PI"], rows)

    def __repr__(self) -> str:
        shown = ", ".join(short(float(x)) for x in self.pred[:5])
        more = ", ..." if self.pred.size > 5 else ""
        return f"Prediction(n={self.pred.size}, pred=[{shown}{more}])"


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
        the weighted least-squares regression, as metafor. Not estimable (NaN) without
        an intercept (the intercept-only model is not nested in it; metafor reports
        none either).
    i2, h2 : float
        Residual I² (percent) and H², from τ² and the typical within-study variance
        (from QE for a fixed-effects meta-regression).
    vcov : ndarray
        Covariance matrix of the coefficients.
    k, p : int
        Number of studies analysed (after any left out, as metafor's ``k``) and of
        coefficients.
    yi, vi, labels : ndarray, ndarray, tuple of str
        The studies analysed.
    excluded : tuple of ExcludedStudy
        Studies left out: by the effect set, and by ``nan_policy="omit"`` for a
        missing moderator value; ``index`` is the 0-based row in the input as given.
    notes : tuple of str
        Decisions taken for this data (e.g. a Knapp–Hartung variance of 0).
    """

    model: Any
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
    design: DesignMatrix
    yi: Array = array_field()
    vi: Array = array_field()
    labels: tuple[str, ...]
    measure: Measure
    excluded: tuple[ExcludedStudy, ...] = ()
    notes: tuple[str, ...] = ()

    def _crit(self, level: float) -> float:
        return z_crit(level) if self.df is None else float(t_crit(level, self.df))

    def predict(self, new_moderators: Any) -> Prediction:
        """Predicted effects for new moderator values (same form as in the fit).

        ``pred = x'β``, ``se = sqrt(x' V x)``, CI ``pred ± crit·se`` and prediction
        interval ``pred ± crit·sqrt(se² + τ²)``, with ``crit`` from z or t(k - p).

        Parameters
        ----------
        new_moderators : array_like, mapping or DataFrame
            One row per prediction. A mapping or DataFrame is matched by moderator
            name (other columns are ignored); an array has one column per moderator,
            in the order of the fit (a 1-d array is split into rows of that width).
            Categorical moderators take their level names.

        Returns
        -------
        Prediction

        Raises
        ------
        InvalidDataError
            If a moderator is absent, a value is missing (the moderator and the 1-based
            row of the new data are named), a numeric value is not a finite number, or
            a level was not seen in the fit.
        MetapoolTypeError
            If ``new_moderators`` is None, a string or a set.
        """
        rows = self.design.encode(new_moderators)
        pred = rows @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", rows, self.vcov, rows))
        crit = self._crit(self.level)
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(
            pred=pred,
            se=se,
            ci=IntervalArray(pred - crit * se, pred + crit * se),
            pi=IntervalArray(pred - half_pi, pred + half_pi),
        )

    def confidence_interval(self, level: float) -> IntervalArray:
        """Confidence intervals of the coefficients at another level, without refitting.

        ``coef ± crit · se`` with ``crit`` the z quantile, or the t quantile with
        :attr:`df` = k - p degrees of freedom; ``se`` already carries any
        Knapp–Hartung scaling, so the intervals equal those of a refit with
        ``level=level``.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        IntervalArray
            One interval per coefficient, in the order of :attr:`names`.

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import numpy as np
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
        >>> mods = {"dose": [1, 2, 3, 4, 5]}
        >>> ci90 = mp.MetaRegression(ci="hksj").fit(eff, mods).confidence_interval(0.9)
        >>> refit = mp.MetaRegression(ci="hksj", level=0.9).fit(eff, mods)
        >>> bool(np.allclose(ci90.low, refit.ci.low) and np.allclose(ci90.high, refit.ci.high))
        True
        """
        crit = self._crit(check_level("MetaRegressionResult.confidence_interval", level))
        return IntervalArray(self.coef - crit * self.se, self.coef + crit * self.se)

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
        lines.append(self._moderator_test())
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
        lines += excluded_block(self.excluded)
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def _moderator_test(self) -> str:
        if self.qm_df and math.isnan(self.qm):
            return f"Test of moderators (df = {self.qm_df}): not estimable"
        if self.qm_df2 is None:
            return (
                f"Test of moderators: QM(df = {self.qm_df}) = {self.qm:.4f}, "
                f"p = {self.qm_pvalue:.4g}"
            )
        return (
            f"Test of moderators: F(df1 = {self.qm_df}, df2 = {self.qm_df2}) = "
            f"{self.qm:.4f}, p = {self.qm_pvalue:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (the design as its column names)."""
        out = fields_to_dict(
            self, skip=("design",), replace={"measure": measure_entries(self.measure)}
        )
        out["design"] = list(self.design.names)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per study analysed: the effect with its CI on both scales, the fitted
        value, the residual and the weight.

        Columns: ``label``, ``yi``, ``se``, ``ci_low``, ``ci_high`` (a Wald interval
        ``yi ± z·se`` at :attr:`level`); the natural-scale effect and CI named after the
        measure when the scales differ (``RR``, ``RR_ci_low``, ``RR_ci_high``);
        ``fitted`` (``x'β``), ``residual`` (``yi - fitted``) and ``weight`` (percent,
        ``1/(vi + τ²)``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
        >>> reg = mp.MetaRegression().fit(eff, {"dose": [1, 2, 3, 4, 5]})
        >>> reg.to_frame()["fitted"].round(2).tolist()
        [0.1, 0.31, 0.52, 0.73, 0.94]
        """
        columns = study_columns(self.measure, self.labels, self.yi, self.vi, self.level)
        fitted = self.design.X @ self.coef
        w = 1.0 / (self.vi + self.tau2)
        columns.update(
            {"fitted": fitted, "residual": self.yi - fitted, "weight": 100.0 * w / w.sum()}
        )
        return make_frame("MetaRegressionResult.to_frame", columns)

    def summary_frame(self) -> pd.DataFrame:
        """One row per coefficient.

        Columns: ``term`` (the name in :attr:`names`), ``estimate``, ``se``,
        ``statistic``, ``df`` (NaN for z), ``pvalue``, ``ci_low``, ``ci_high``; for a
        measure analysed on the log scale also ``exp_estimate``, ``exp_ci_low``,
        ``exp_ci_high`` (the intercept as a ratio, the other coefficients as ratios
        of ratios per unit).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
        >>> table = mp.MetaRegression().fit(eff, {"dose": [1, 2, 3, 4, 5]}).summary_frame()
        >>> table[["term", "estimate"]].round(2).to_dict("list")
        {'term': ['intercept', 'dose'], 'estimate': [-0.11, 0.21]}
        """
        columns: dict[str, Any] = {"term": list(self.names)}
        columns.update(
            pooled_columns(
                None,
                estimate=self.coef,
                se=self.se,
                statistic=self.statistic,
                df=np.full(self.p, math.nan if self.df is None else self.df),
                pvalue=self.pvalue,
                ci_low=self.ci.low,
                ci_high=self.ci.high,
            )
        )
        if self.measure.scale.name == "log":
            columns.update(
                {
                    "exp_estimate": np.exp(self.coef),
                    "exp_ci_low": np.exp(self.ci.low),
                    "exp_ci_high": np.exp(self.ci.high),
                }
            )
        return make_frame("MetaRegressionResult.summary_frame", columns)

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        rows = [
            [
                name,
                short(float(self.coef[j])),
                short(float(self.se[j])),
                p_text(float(self.pvalue[j])),
                f"[{short(float(self.ci.low[j]))}, {short(float(self.ci.high[j]))}]",
            ]
            for j, name in enumerate(self.names)
        ]
        r2 = "NA" if math.isnan(self.r2) else f"{self.r2:.1f}%"
        footer = [
            f"Residual heterogeneity: \u03c4\u00b2 = {self.tau2:.4g}, I\u00b2 = {self.i2:.1f}%, "
            f"R\u00b2 = {r2}",
            self._moderator_test(),
            f"k = {self.k} studies; measure {self.measure}, {self.measure.scale.name} scale",
        ]
        return html_table(
            "Meta-regression", ["", "estimate", "se", "p", f"{pct}% CI"], rows, footer
        )

    def __repr__(self) -> str:
        r2 = "NA" if math.isnan(self.r2) else f"{self.r2:.1f}%"
        return (
            f"MetaRegressionResult(k={self.k}, terms=({', '.join(self.names)}), "
            f"tau2={self.tau2:.3g}, R2={r2}, QM p={self.qm_pvalue:.3g}, "
            f"{self.model.tau2.name}/{self.model.ci})"
        )

    def plot_bubble(self, moderator: str, **kwargs: Any) -> Figure:
        """Bubble plot along ``moderator``: :func:`metapool.bubble_plot` with ``kwargs``."""
        from metapool.plotting import bubble_plot

        return bubble_plot(self, moderator, **kwargs)

    def __str__(self) -> str:
        return self.summary()
