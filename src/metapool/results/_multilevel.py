"""The result of a multilevel (nested random-effects) model."""

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
from metapool.results._regression import Prediction
from metapool.results._report import (
    excluded_block,
    notes_block,
    p_text,
    short,
    warning_block,
)

if TYPE_CHECKING:
    import pandas as pd

    from metapool._data import ExcludedStudy
    from metapool._moderators import DesignMatrix
    from metapool.effects import Measure

__all__ = ["MultilevelBatchResult", "MultilevelResult"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class MultilevelResult:
    """A fitted multilevel random-effects model (:class:`metapool.MultilevelModel`).

    Attributes
    ----------
    model : MultilevelModel
        The model with its settings.
    method, ci_method, dfs : str
        ``"REML"``/``"ML"``; ``"z"``/``"t"``; ``"residual"``/``"contain"``.
    level : float
        Confidence level.
    coef, se, statistic, pvalue : ndarray
        Coefficients (intercept first), standard errors, z or t statistics and
        two-sided p-values.
    ci : IntervalArray
        Confidence intervals of the coefficients.
    df : ndarray or None
        Degrees of freedom of each t test (None for z).
    coef_names : tuple of str
        Names of the coefficients (the columns of :attr:`design`).
    vcov : ndarray
        ``(XᵀM⁻¹X)⁻¹``, the covariance matrix of the coefficients.
    sigma2 : ndarray
        The variance component of each level, in the order the levels were given.
    sigma2_ci : IntervalArray
        Profile-likelihood confidence interval of each estimated component (NaN for
        fixed ones, or when the model was fitted with ``profile=False``).
    level_names : tuple of str
        The levels, outermost first.
    n_groups : tuple of int
        Number of groups at each level (nested: inner groups counted within outer ones).
    boundary : ndarray of bool
        Whether each estimated component is at the boundary 0.
    fixed : ndarray of bool
        Whether each component was fixed in advance (``sigma2=``).
    loglik, deviance, aic, bic, aicc : float
        Fit statistics of the method's (restricted) likelihood, as metafor's
        ``fitstats``: the ML deviance is relative to the saturated model, the REML
        one is ``-2 ll``; BIC and AICc use ``k - p`` under REML.
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity, ``yᵀ(W - WX(XᵀWX)⁻¹XᵀW)y`` with ``W = V⁻¹``.
    qm, qm_df, qm_df2, qm_pvalue : float, int, float or None, float
        Omnibus test of the moderators (chi-square, or F with ``(qm_df, qm_df2)`` df
        for t tests); NaN for an intercept-only model.
    i2 : ndarray
        I² of each level (percent): ``σ²_l / (Σσ² + ṽ)``, ``ṽ = (k - p)/tr(P₀)`` the
        typical sampling variance (Cheung 2014; metafor's FAQ).
    i2_total : float
        ``Σσ² / (Σσ² + ṽ)`` in percent.
    pi : Interval
        Prediction interval for a new effect size of an intercept-only model,
        ``coef ± crit·sqrt(se² + Σσ²)``; not estimable with moderators (use
        :meth:`predict`).
    k, p : int
        Number of effect sizes and of coefficients.
    converged : bool
        Whether the optimiser converged.
    iterations : int
        Newton iterations of the best start.
    yi, vi : ndarray
        The effect sizes analysed and their sampling variances (the diagonal of ``V``).
    V : ndarray
        The ``k × k`` sampling covariance used.
    design : ndarray
        The ``k × p`` design matrix.
    design_info : DesignMatrix
        How the moderators were encoded (used by :meth:`predict`).
    level_codes : ndarray of int
        ``(L, k)``: the group of each effect size at each level (0-based, nested).
    group_ids : tuple of tuple of str
        For each level, the id (as given, as text) of each group: ``group_ids[l][c]``
        is the id of the group with code ``c`` (inner ids are read within outer ones).
    marginal_covariance : ndarray
        ``V + Σ σ²_l Z_l Z_lᵀ`` at the estimates.
    labels : tuple of str
        Labels of the effect sizes analysed.
    measure : Measure
        The effect measure.
    excluded : tuple of ExcludedStudy
        Effect sizes left out (by the effect set, or for a missing moderator).
    notes : tuple of str
        Decisions taken for this data (boundary estimates, convergence).
    """

    model: Any
    method: str
    ci_method: str
    dfs: str
    level: float
    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    df: Array | None = array_field()
    coef_names: tuple[str, ...]
    vcov: Array = array_field()
    sigma2: Array = array_field()
    sigma2_ci: IntervalArray
    level_names: tuple[str, ...]
    n_groups: tuple[int, ...]
    boundary: NDArray[np.bool_] = array_field()
    fixed: NDArray[np.bool_] = array_field()
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    qe: float
    qe_df: int
    qe_pvalue: float
    qm: float
    qm_df: int
    qm_df2: float | None
    qm_pvalue: float
    i2: Array = array_field()
    i2_total: float
    pi: Interval
    k: int
    p: int
    converged: bool
    iterations: int
    yi: Array = array_field()
    vi: Array = array_field()
    V: Array = array_field()
    design: Array = array_field()
    design_info: DesignMatrix
    level_codes: NDArray[np.intp] = array_field()
    group_ids: tuple[tuple[str, ...], ...]
    marginal_covariance: Array = array_field()
    labels: tuple[str, ...]
    measure: Measure
    excluded: tuple[ExcludedStudy, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The coefficient names (as :attr:`coef_names`)."""
        return self.coef_names

    def _crit(self, level: float) -> Array:
        if self.df is None:
            return np.full(self.p, z_crit(level))
        return np.asarray(t_crit(level, self.df), dtype=np.float64)

    def confidence_interval(self, level: float) -> IntervalArray:
        """Confidence intervals of the coefficients at another level, without refitting.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        IntervalArray

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(
        ...     yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4],
        ...     vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.05, 0.02],
        ... )
        >>> levels = {"study": [1, 1, 2, 2, 3, 3, 3], "es": [1, 2, 1, 2, 1, 2, 3]}
        >>> mp.MultilevelModel().fit(eff, levels=levels).confidence_interval(0.9).low.round(4)
        array([0.1947])
        """
        crit = self._crit(check_level("MultilevelResult.confidence_interval", level))
        return IntervalArray(self.coef - crit * self.se, self.coef + crit * self.se)

    def predict(self, new_moderators: Any = None) -> Prediction:
        """Predicted average effects for new moderator values.

        ``pred = x'β``, ``se = sqrt(x' vcov x)``, CI ``pred ± crit·se`` and prediction
        interval ``pred ± crit·sqrt(se² + Σσ²)`` (metafor's ``predict.rma.mv``), with
        ``crit`` from z or t with the smallest of the coefficients' df.

        Parameters
        ----------
        new_moderators : array_like, mapping or DataFrame, optional
            One row per prediction, in the form given to the fit; None for the
            intercept-only model (one prediction).

        Returns
        -------
        Prediction

        Raises
        ------
        InvalidDataError
            If a moderator is absent, missing, not finite or an unknown level.

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(
        ...     yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4],
        ...     vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.05, 0.02],
        ... )
        >>> levels = {"study": [1, 1, 2, 2, 3, 3, 3], "es": [1, 2, 1, 2, 1, 2, 3]}
        >>> res = mp.MultilevelModel().fit(eff, levels=levels)
        >>> pr = res.predict()  # the average effect, as metafor's predict(res)
        >>> pr.pi.low.round(4).tolist(), pr.pi.high.round(4).tolist()
        ([-0.0401], [0.7882])
        >>> x = {"x": [1, 2, 1, 3, 2, 4, 1]}
        >>> reg = mp.MultilevelModel().fit(eff, levels=levels, moderators=x)
        >>> reg.predict({"x": [0, 5]}).pred.round(4).tolist()
        [0.0292, 1.0097]
        """
        if new_moderators is None:
            if self.p != 1 or not self.design_info.intercept:
                from metapool.exceptions import InvalidDataError

                raise InvalidDataError(
                    "MultilevelResult.predict: the model has moderators; give their new "
                    f"values ({', '.join(n for n, _ in self.design_info.encoding)})."
                )
            rows = np.ones((1, 1))
        else:
            rows = self.design_info.encode(new_moderators)
        pred = rows @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", rows, self.vcov, rows))
        if self.df is None:
            crit = z_crit(self.level)
        else:
            crit = float(t_crit(self.level, float(np.min(self.df))))
        half_pi = crit * np.sqrt(se**2 + float(self.sigma2.sum()))
        return Prediction(
            pred=pred,
            se=se,
            ci=IntervalArray(pred - crit * se, pred + crit * se),
            pi=IntervalArray(pred - half_pi, pred + half_pi),
        )

    def plot_forest(self, **kwargs: Any) -> Any:
        """Forest plot with the effect sizes grouped by the outermost level.

        Parameters
        ----------
        **kwargs
            Passed to :func:`metapool.plotting.multilevel.multilevel_forest_plot`
            (``title``, ``figsize``, ``ax``, ``path``, ``style``).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        MissingDependencyError
            If matplotlib is not installed.
        """
        from metapool.plotting.multilevel import multilevel_forest_plot

        return multilevel_forest_plot(self, **kwargs)

    def summary(self) -> str:
        """A metafor-style report."""
        pct = round(100 * self.level)
        stat = "z" if self.df is None else "t"
        lines = [
            f"Multilevel random-effects model (k = {self.k}; method: {self.method}; "
            f"CI: {self.ci_method})",
            "",
            f"  logLik = {self.loglik:.4f}; deviance = {self.deviance:.4f}; AIC = "
            f"{self.aic:.4f}; BIC = {self.bic:.4f}; AICc = {self.aicc:.4f}",
            "",
            f"  {'level':<20}{'groups':>8}{'sigma^2':>12}{'sigma':>10}{'I^2':>8}   "
            f"{pct}% CI (profile)",
        ]
        for j, name in enumerate(self.level_names):
            s2 = float(self.sigma2[j])
            tag = " (fixed)" if self.fixed[j] else (" (boundary)" if self.boundary[j] else "")
            ci = Interval(float(self.sigma2_ci.low[j]), float(self.sigma2_ci.high[j]))
            lines.append(
                f"  {name[:19]:<20}{self.n_groups[j]:>8}{s2:>12.4f}{math.sqrt(s2):>10.4f}"
                f"{float(self.i2[j]):>7.2f}%   {ci.format(4)}{tag}"
            )
        lines += [
            "",
            f"Test for residual heterogeneity: QE(df = {self.qe_df}) = {self.qe:.4f}, "
            f"p = {self.qe_pvalue:.4g}",
        ]
        if self.qm_df:
            if self.qm_df2 is None:
                lines.append(
                    f"Test of moderators: QM(df = {self.qm_df}) = {self.qm:.4f}, "
                    f"p = {self.qm_pvalue:.4g}"
                )
            else:
                lines.append(
                    f"Test of moderators: F(df1 = {self.qm_df}, df2 = {self.qm_df2:g}) = "
                    f"{self.qm:.4f}, p = {self.qm_pvalue:.4g}"
                )
        lines += [
            "",
            f"  {'':<22}{'estimate':>10}{'se':>10}{stat + 'val':>9}{'pval':>9}   {pct}% CI",
        ]
        for j, name in enumerate(self.coef_names):
            lines.append(
                f"  {name[:21]:<22}{self.coef[j]:>10.4f}{self.se[j]:>10.4f}"
                f"{self.statistic[j]:>9.3f}{self.pvalue[j]:>9.4f}   "
                f"[{self.ci.low[j]:.4f}, {self.ci.high[j]:.4f}]"
            )
        if self.pi.estimable:
            lines += ["", f"Prediction interval: {self.pi.format(4)}"]
        lines += excluded_block(self.excluded)
        lines += notes_block(self.notes)
        lines += warning_block(self.converged, "the likelihood maximisation")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (the moderator encoding as its column names)."""
        out = fields_to_dict(
            self,
            skip=("design_info",),
            replace={"measure": measure_entries(self.measure)},
        )
        out["design_info"] = list(self.design_info.names)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per effect size: its label, its group at each level (0-based codes,
        columns named after the levels), the effect with its Wald CI, the fitted value
        ``x'β`` and the residual.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed.

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(
        ...     yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4],
        ...     vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.05, 0.02],
        ... )
        >>> levels = {"study": [1, 1, 2, 2, 3, 3, 3], "es": [1, 2, 1, 2, 1, 2, 3]}
        >>> list(mp.MultilevelModel().fit(eff, levels=levels).to_frame().columns)
        ['label', 'study', 'es', 'yi', 'se', 'ci_low', 'ci_high', 'fitted', 'residual']
        """
        columns = study_columns(self.measure, self.labels, self.yi, self.vi, self.level)
        groups = {name: self.level_codes[j] for j, name in enumerate(self.level_names)}
        fitted = self.design @ self.coef
        out: dict[str, Any] = {"label": columns.pop("label"), **groups, **columns}
        out.update({"fitted": fitted, "residual": self.yi - fitted})
        return make_frame("MultilevelResult.to_frame", out)

    def summary_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``term``, ``estimate``, ``se``, ``statistic``,
        ``df`` (NaN for z), ``pvalue``, ``ci_low``, ``ci_high``.

        Returns
        -------
        pandas.DataFrame
        """
        columns: dict[str, Any] = {"term": list(self.coef_names)}
        columns.update(
            pooled_columns(
                None,
                estimate=self.coef,
                se=self.se,
                statistic=self.statistic,
                df=np.full(self.p, math.nan) if self.df is None else self.df,
                pvalue=self.pvalue,
                ci_low=self.ci.low,
                ci_high=self.ci.high,
            )
        )
        return make_frame("MultilevelResult.summary_frame", columns)

    def variance_frame(self) -> pd.DataFrame:
        """One row per level: ``level``, ``groups``, ``sigma2``, ``ci_low``,
        ``ci_high`` (profile likelihood), ``i2``, ``boundary``, ``fixed``.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(
        ...     yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4],
        ...     vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.05, 0.02],
        ... )
        >>> levels = {"study": [1, 1, 2, 2, 3, 3, 3], "es": [1, 2, 1, 2, 1, 2, 3]}
        >>> vf = mp.MultilevelModel().fit(eff, levels=levels).variance_frame()
        >>> vf[["sigma2", "ci_low", "ci_high"]].round(4).to_dict("list")
        {'sigma2': [0.0167, 0.0161], 'ci_low': [0.0, 0.0], 'ci_high': [0.5893, 0.2093]}
        """
        return make_frame(
            "MultilevelResult.variance_frame",
            {
                "level": list(self.level_names),
                "groups": np.array(self.n_groups),
                "sigma2": self.sigma2,
                "ci_low": self.sigma2_ci.low,
                "ci_high": self.sigma2_ci.high,
                "i2": self.i2,
                "boundary": self.boundary,
                "fixed": self.fixed,
            },
        )

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
            for j, name in enumerate(self.coef_names)
        ]
        footer = [
            "; ".join(
                f"\u03c3\u00b2({name}) = {short(float(self.sigma2[j]))}"
                for j, name in enumerate(self.level_names)
            ),
            f"k = {self.k} effect sizes; {self.method}; logLik = {self.loglik:.4f}",
        ]
        return html_table(
            "Multilevel model", ["", "estimate", "se", "p", f"{pct}% CI"], rows, footer
        )

    def __repr__(self) -> str:
        s2 = ", ".join(
            f"{name}={float(self.sigma2[j]):.3g}" for j, name in enumerate(self.level_names)
        )
        return (
            f"MultilevelResult(k={self.k}, terms=({', '.join(self.coef_names)}), "
            f"sigma2=({s2}), {self.method}/{self.ci_method})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class MultilevelBatchResult:
    """Many multilevel fits of the same structure (:meth:`MultilevelModel.fit_batch`).

    Row ``i`` of every array is analysis ``i``; the coefficients are in the order of
    :attr:`coef_names`, the variance components in the order of :attr:`level_names`.

    Attributes
    ----------
    model : MultilevelModel
        The model with its settings.
    method, ci_method, dfs : str
        As :class:`MultilevelResult`.
    level : float
        Confidence level.
    coef, se, statistic, pvalue : ndarray
        ``(n, p)``.
    ci : IntervalArray
        ``(n, p)`` bounds.
    df : ndarray or None
        ``(p,)`` degrees of freedom of the t tests (the same for every analysis).
    coef_names, level_names : tuple of str
        Names of the coefficients and of the levels.
    sigma2 : ndarray
        ``(n, L)`` variance components.
    boundary : ndarray of bool
        ``(n, L)``: estimated components at the boundary 0.
    loglik : ndarray
        ``(n,)`` (restricted) log-likelihoods.
    converged : ndarray of bool
        ``(n,)``.
    iterations : ndarray of int
        ``(n,)`` Newton iterations of the best start.
    k, p : int
        Effect sizes and coefficients per analysis.
    """

    model: Any
    method: str
    ci_method: str
    dfs: str
    level: float
    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    df: Array | None = array_field()
    coef_names: tuple[str, ...]
    level_names: tuple[str, ...]
    sigma2: Array = array_field()
    boundary: NDArray[np.bool_] = array_field()
    loglik: Array = array_field()
    converged: NDArray[np.bool_] = array_field()
    iterations: NDArray[np.intp] = array_field()
    k: int
    p: int

    @property
    def n(self) -> int:
        """Number of analyses."""
        return int(self.coef.shape[0])

    def summary(self) -> str:
        """Averages over the analyses (a simulation summary)."""
        lines = [
            f"Multilevel models: {self.n} analyses of k = {self.k} (method: {self.method}; "
            f"CI: {self.ci_method}); {int(self.converged.sum())} converged",
            "",
            f"  {'':<22}{'mean':>10}{'sd':>10}{'mean se':>10}",
        ]
        for j, name in enumerate(self.coef_names):
            lines.append(
                f"  {name[:21]:<22}{np.mean(self.coef[:, j]):>10.4f}"
                f"{np.std(self.coef[:, j], ddof=1) if self.n > 1 else math.nan:>10.4f}"
                f"{np.mean(self.se[:, j]):>10.4f}"
            )
        for j, name in enumerate(self.level_names):
            lines.append(
                f"  sigma^2 {name[:13]:<14}{np.mean(self.sigma2[:, j]):>10.4f}"
                f"{np.std(self.sigma2[:, j], ddof=1) if self.n > 1 else math.nan:>10.4f}"
                f"{'':>10}  at 0: {int(self.boundary[:, j].sum())}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return fields_to_dict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: ``analysis``, each coefficient and its SE
        (``<name>``, ``se_<name>``), each σ² (``sigma2_<level>``), ``loglik``,
        ``converged``.

        Returns
        -------
        pandas.DataFrame
        """
        columns: dict[str, Any] = {"analysis": np.arange(self.n)}
        for j, name in enumerate(self.coef_names):
            columns[name] = self.coef[:, j]
            columns[f"se_{name}"] = self.se[:, j]
        for j, name in enumerate(self.level_names):
            columns[f"sigma2_{name}"] = self.sigma2[:, j]
        columns.update({"loglik": self.loglik, "converged": self.converged})
        return make_frame("MultilevelBatchResult.to_frame", columns)

    def summary_frame(self) -> pd.DataFrame:
        """One row per analysis and coefficient: ``analysis``, ``term``, ``estimate``,
        ``se``, ``statistic``, ``df`` (NaN for z), ``pvalue``, ``ci_low``, ``ci_high``.

        Returns
        -------
        pandas.DataFrame
        """
        n, p = self.coef.shape
        df = np.full(p, math.nan) if self.df is None else self.df
        return make_frame(
            "MultilevelBatchResult.summary_frame",
            {
                "analysis": np.repeat(np.arange(n), p),
                "term": list(self.coef_names) * n,
                "estimate": self.coef.ravel(),
                "se": self.se.ravel(),
                "statistic": self.statistic.ravel(),
                "df": np.tile(df, n),
                "pvalue": self.pvalue.ravel(),
                "ci_low": self.ci.low.ravel(),
                "ci_high": self.ci.high.ravel(),
            },
        )

    def _repr_html_(self) -> str:
        rows = [
            [name, short(float(np.mean(self.coef[:, j]))), short(float(np.mean(self.se[:, j])))]
            for j, name in enumerate(self.coef_names)
        ]
        footer = [f"{self.n} analyses of k = {self.k}; {int(self.converged.sum())} converged"]
        return html_table("Multilevel models", ["", "mean estimate", "mean se"], rows, footer)

    def __repr__(self) -> str:
        return (
            f"MultilevelBatchResult(n={self.n}, k={self.k}, terms=({', '.join(self.coef_names)}), "
            f"levels=({', '.join(self.level_names)}), {self.method}/{self.ci_method})"
        )

    def __str__(self) -> str:
        return self.summary()
