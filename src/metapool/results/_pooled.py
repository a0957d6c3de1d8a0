"""The result of a pooled (pairwise) meta-analysis, and its natural-scale view."""

from __future__ import annotations

import math
import os
from pathlib import Path
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
from metapool.results._intervals import Interval
from metapool.results._report import (
    excluded_block,
    fmt,
    notes_block,
    p_text,
    revman_heterogeneity,
    revman_overall_effect,
    short,
    warning_block,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from metapool._data import ExcludedStudy
    from metapool.effects import EffectSet, Measure

__all__ = ["BackTransformed", "MetaResult"]


@attrs.frozen(kw_only=True)
class BackTransformed:
    """Pooled effect and intervals on the natural scale (e.g. RR instead of log RR)."""

    measure: Measure
    estimate: float
    ci: Interval
    pi: Interval

    def __str__(self) -> str:
        return f"{self.measure} {self.estimate:.2f} [{self.ci.low:.2f}, {self.ci.high:.2f}]"

    def __repr__(self) -> str:
        return f"BackTransformed({self}, PI [{self.pi.low:.2f}, {self.pi.high:.2f}])"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (the measure as its code)."""
        return fields_to_dict(self, replace={"measure": {"measure": self.measure.code}})


@attrs.frozen(kw_only=True)
class MetaResult:
    """The complete result of a pooled (pairwise) meta-analysis.

    Values are on the analysis scale (log for RR and OR, as in metafor);
    :meth:`back_transform` gives the natural scale. Quantities that cannot be
    estimated (e.g. heterogeneity with one study) are NaN and are shown as
    "not estimable".

    Attributes
    ----------
    model : object
        The model that produced this result, with all its settings.
    method : str
        Short description, e.g. ``"Random-effects model"``.
    measure : Measure
        The effect measure (``str(measure)`` is its code: ``"MD"``, ``"RR"``, ...);
        ``measure.scale`` is the analysis scale (log for RR and OR).
    estimate, se : float
        Pooled effect and its standard error.
    statistic : float
        z or t statistic of the test of no effect.
    pvalue : float
        Two-sided p-value of that test.
    df : float or None
        Degrees of freedom of the t distribution (``None`` for z).
    ci, pi : Interval
        Confidence and prediction intervals of the pooled effect.
    tau2, tau : float
        Between-study variance and its square root.
    tau2_ci, tau_ci : Interval
        Q-profile confidence intervals of τ² and τ.
    i2, i2_ci : float, Interval
        I² (percent) and its confidence interval.
    h2, h2_ci : float, Interval
        H² and its confidence interval.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q (around the MH estimate for Mantel–Haenszel), its df and p-value.
    weights : ndarray
        Weight of each study in percent (sums to 100).
    k : int
        Number of studies in the analysis.
    converged : bool
        Whether every iterative step converged.
    iterations : int
        Iterations used by the τ² estimator.
    level : float
        Confidence level of ``ci``, ``pi`` and the heterogeneity intervals.
    tau2_method, ci_method, pi_method, i2_method : str
        The settings used.
    yi, vi, labels : ndarray, ndarray, tuple of str
        The study data analysed.
    effects : EffectSet
        The effect-size set that was fitted (for plots and arm-level columns).
    excluded : tuple of ExcludedStudy
        Studies left out, with the reason.
    notes : tuple of str
        Decisions taken for this data (e.g. "k = 1: heterogeneity not estimable").
    """

    model: Any
    method: str
    measure: Measure
    estimate: float
    se: float
    statistic: float
    pvalue: float
    df: float | None
    ci: Interval
    pi: Interval
    tau2: float
    tau: float
    tau2_ci: Interval
    tau_ci: Interval
    i2: float
    i2_ci: Interval
    h2: float
    h2_ci: Interval
    q: float
    q_df: int
    q_pvalue: float
    weights: NDArray[np.float64] = array_field()
    k: int
    converged: bool
    iterations: int
    level: float
    tau2_method: str | None
    ci_method: str
    pi_method: str
    i2_method: str
    yi: NDArray[np.float64] = array_field()
    vi: NDArray[np.float64] = array_field()
    labels: tuple[str, ...]
    effects: EffectSet = attrs.field(eq=False)
    excluded: tuple[ExcludedStudy, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def se_studies(self) -> NDArray[np.float64]:
        """Standard errors of the studies, ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def back_transform(self) -> BackTransformed:
        """The pooled effect and intervals on the natural scale.

        The measure's scale does it (``measure.scale.inverse``): ratios (RR, OR,
        generic effects declared ``log_scale``) are exponentiated; measures on
        their natural scale are returned unchanged.

        Examples
        --------
        >>> import metapool as mp
        >>> rr = mp.RiskRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
        >>> str(mp.CommonEffect().fit(rr).back_transform())
        'RR 2.14 [1.19, 3.85]'
        """

        def f(x: float) -> float:
            return float(self.measure.scale.inverse(x))

        return BackTransformed(
            measure=self.measure,
            estimate=f(self.estimate),
            ci=Interval(f(self.ci.low), f(self.ci.high)),
            pi=Interval(f(self.pi.low), f(self.pi.high)),
        )

    def confidence_interval(self, level: float) -> Interval:
        """The confidence interval of the pooled effect at another level, without refitting.

        The same method as :attr:`ci`: ``estimate ± crit · se`` with ``crit`` the
        z quantile, or the t quantile with :attr:`df` degrees of freedom for t-based
        methods. ``se`` already carries any Hartung–Knapp scaling, so the interval
        equals the one a refit with ``level=level`` gives.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        Interval
            On the analysis scale; ``measure.scale.inverse`` maps its bounds to the
            natural scale.

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8], vi=[0.02, 0.03, 0.04, 0.02])
        >>> res = mp.RandomEffects(ci="hksj").fit(eff)
        >>> res.confidence_interval(0.9) == mp.RandomEffects(ci="hksj", level=0.9).fit(eff).ci
        True
        """
        level = check_level("MetaResult.confidence_interval", level)
        crit = z_crit(level) if self.df is None else float(t_crit(level, self.df))
        return Interval(self.estimate - crit * self.se, self.estimate + crit * self.se)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``)."""
        out = fields_to_dict(
            self, skip=("effects",), replace={"measure": measure_entries(self.measure)}
        )
        out["back_transformed"] = self.back_transform().to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per study: the data, the effect with its CI on both scales, the weight.

        Columns: ``label``; the arm-level data, if any (``events1``, ``n1``, ... or
        ``mean1``, ``sd1``, ``n1``, ...); ``yi``, ``se``, ``ci_low``, ``ci_high`` on
        the analysis scale (a Wald interval ``yi ± z·se`` at :attr:`level`, as
        forest plots show it); when the analysis scale is not the natural one, the
        natural-scale effect and CI named after the measure (``RR``, ``RR_ci_low``,
        ``RR_ci_high``); ``weight`` (percent).

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
        >>> rr = mp.RiskRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80],
        ...                   labels=["A", "B"])
        >>> df = mp.CommonEffect().fit(rr).to_frame()
        >>> list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
        ['label', 'events1', 'n1', 'events2', 'n2', 'yi', 'se', 'ci_low', 'ci_high',
         'RR', 'RR_ci_low', 'RR_ci_high', 'weight']
        >>> df["RR"].round(2).tolist()
        [2.0, 2.22]
        """
        arms = {
            name: column
            for name, column in self.effects.arm_data().items()
            if np.shape(column) == (self.k,)
        }
        columns = study_columns(self.measure, self.labels, self.yi, self.vi, self.level, arms=arms)
        columns["weight"] = np.asarray(self.weights, dtype=np.float64)
        return make_frame("MetaResult.to_frame", columns)

    def _summary_columns(self) -> dict[str, Any]:
        """The pooled row of :meth:`summary_frame` (shared with subgroups, trim and fill)."""
        return {
            "k": np.array([self.k]),
            **pooled_columns(
                self.measure,
                estimate=self.estimate,
                se=self.se,
                statistic=self.statistic,
                df=math.nan if self.df is None else self.df,
                pvalue=self.pvalue,
                ci_low=self.ci.low,
                ci_high=self.ci.high,
                pi_low=self.pi.low,
                pi_high=self.pi.high,
            ),
            "tau2": np.array([self.tau2]),
            "i2": np.array([self.i2]),
            "q": np.array([self.q]),
            "q_df": np.array([self.q_df]),
            "q_pvalue": np.array([self.q_pvalue]),
        }

    def summary_frame(self) -> pd.DataFrame:
        """The pooled result as a one-row table.

        Columns: ``method``, ``k``; ``estimate``, ``se``, ``statistic``, ``df`` (NaN
        for z), ``pvalue``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` on the
        analysis scale; the natural-scale estimate and intervals named after the
        measure when the scales differ (``RR``, ``RR_ci_low``, ..., ``RR_pi_high``);
        ``tau2``, ``i2``, ``q``, ``q_df``, ``q_pvalue``.

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
        >>> rr = mp.RiskRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
        >>> row = mp.CommonEffect().fit(rr).summary_frame()
        >>> row[["k", "RR", "RR_ci_low", "RR_ci_high"]].round(2).to_dict("records")
        [{'k': 2, 'RR': 2.14, 'RR_ci_low': 1.19, 'RR_ci_high': 3.85}]
        """
        return make_frame(
            "MetaResult.summary_frame", {"method": [self.method], **self._summary_columns()}
        )

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's and RevMan's output."""
        pct = round(100 * self.level)
        stat_name = "z" if self.df is None else "t"
        head = f"{self.method} (k = {self.k}"
        if self.tau2_method is not None:
            head += f"; tau^2 estimator: {self.tau2_method}"
        head += f"; CI: {self.ci_method})"
        scale = self.measure.scale
        lines = [
            head,
            f"Measure: {self.measure.name} ({self.measure})"
            + ("" if scale.is_identity else f", {scale.name} scale"),
            "",
        ]
        df_txt = "" if self.df is None else f" (df = {self.df:g})"
        lines.append(
            f"  estimate = {fmt(self.estimate, digits)}  se = {fmt(self.se, digits)}  "
            f"{stat_name} = {fmt(self.statistic, 3)}{df_txt}  {p_text(self.pvalue)}"
        )
        lines.append(f"  {pct}% CI: {self.ci.format(digits)}")
        lines.append(f"  {pct}% prediction interval ({self.pi_method}): {self.pi.format(digits)}")
        if not scale.is_identity:
            bt = self.back_transform()
            lines.append(
                f"  {self.measure} = {bt.estimate:.{digits}f}, {pct}% CI {bt.ci.format(digits)}, "
                f"PI {bt.pi.format(digits)}"
            )
        lines += ["", "Heterogeneity"]
        if self.tau2_method is not None or self.tau2_ci.estimable:
            lines.append(
                f"  tau^2 = {fmt(self.tau2, digits)} ({pct}% CI {self.tau2_ci.format(digits)}); "
                f"tau = {fmt(self.tau, digits)}"
            )
        i2_txt = "not estimable" if math.isnan(self.i2) else f"{self.i2:.2f}%"
        lines.append(
            f"  I^2 = {i2_txt} ({pct}% CI {self.i2_ci.format(2)}); "
            f"H^2 = {fmt(self.h2, 2)} [{self.i2_method}-based]"
        )
        if self.q_df > 0:
            lines.append(f"  Q = {self.q:.{digits}f} (df = {self.q_df}), {p_text(self.q_pvalue)}")
        else:
            lines.append("  Q: not estimable (one study)")
        lines += ["", "RevMan style"]
        lines.append("  " + self.revman_heterogeneity())
        lines.append("  " + self.revman_overall_effect())
        lines += excluded_block(self.excluded)
        lines += notes_block(self.notes)
        lines += warning_block(self.converged)
        return "\n".join(lines)

    def revman_overall_effect(self) -> str:
        """The test-for-overall-effect line of a RevMan forest plot.

        ``"Test for overall effect: Z = 3.29 (P = 0.001)"``; a t statistic
        (Hartung–Knapp and t-based intervals) is shown with its degrees of freedom.
        """
        return revman_overall_effect(self.statistic, self.df, self.pvalue)

    def revman_heterogeneity(self) -> str:
        """The heterogeneity line of a RevMan forest plot.

        ``"Heterogeneity: Tau² = 0.02; Chi² = 9.95, df = 6 (P = 0.13); I² = 40%"``
        (``Tau²`` only for random-effects models).
        """
        tau2 = None if self.tau2_method is None else self.tau2
        return revman_heterogeneity(tau2, self.q, self.q_df, self.q_pvalue, self.i2)

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        bt = self.back_transform()
        natural = not self.measure.scale.is_identity
        rows = [
            [
                f"Pooled effect ({self.measure})",
                short(bt.estimate),
                f"[{short(bt.ci.low)}, {short(bt.ci.high)}]",
                p_text(self.pvalue),
            ]
        ]
        if natural:
            rows.append(
                [
                    f"Pooled effect ({self.measure.scale.name} scale)",
                    short(self.estimate),
                    f"[{short(self.ci.low)}, {short(self.ci.high)}]",
                    "",
                ]
            )
        if self.tau2_method is not None:
            rows.append(
                [
                    f"Prediction interval ({self.measure})",
                    "",
                    f"[{short(bt.pi.low)}, {short(bt.pi.high)}]",
                    "",
                ]
            )
        i2 = "NA" if math.isnan(self.i2) else f"{self.i2:.1f}%"
        heterogeneity = f"Heterogeneity: I\u00b2 = {i2}"
        if self.tau2_method is not None:
            heterogeneity = f"Heterogeneity: \u03c4\u00b2 = {self.tau2:.4g}, I\u00b2 = {i2}"
        if self.q_df > 0:
            heterogeneity += f", Q = {self.q:.2f} (df = {self.q_df}), {p_text(self.q_pvalue)}"
        footer = [heterogeneity, f"k = {self.k} studies; CI: {self.ci_method}"]
        if self.excluded:
            footer.append(f"{len(self.excluded)} excluded studies (see .excluded)")
        if not self.converged:
            footer.append("WARNING: the tau^2 estimator did not converge.")
        return html_table(
            f"{self.method}: {self.measure.name}",
            ["", "estimate", f"{pct}% CI", "p"],
            rows,
            footer,
        )

    def __repr__(self) -> str:
        bt = self.back_transform()
        i2 = "NA" if math.isnan(self.i2) else f"{self.i2:.1f}%"
        parts = [
            f"{self.measure} {short(bt.estimate)} [{short(bt.ci.low)}, {short(bt.ci.high)}]",
            f"k={self.k}",
        ]
        if self.tau2_method is not None:
            parts.append(f"tau2={self.tau2:.3g}")
        parts.append(f"I2={i2}")
        how = self.tau2_method if self.tau2_method is not None else type(self.model).__name__
        parts.append(f"{how}/{self.ci_method}")
        return f"MetaResult({', '.join(parts)})"

    def plot_forest(self, **kwargs: Any) -> Figure:
        """Forest plot of this result: :func:`metapool.forest_plot` with ``kwargs``."""
        from metapool.plotting import forest_plot

        return forest_plot(self, **kwargs)

    def plot_funnel(self, **kwargs: Any) -> Figure:
        """Funnel plot of this result: :func:`metapool.funnel_plot` with ``kwargs``."""
        from metapool.plotting import funnel_plot

        return funnel_plot(self, **kwargs)

    def plot_baujat(self, **kwargs: Any) -> Figure:
        """Baujat plot of this result: :func:`metapool.baujat_plot` with ``kwargs``."""
        from metapool.plotting import baujat_plot

        return baujat_plot(self, **kwargs)

    def plot_radial(self, **kwargs: Any) -> Figure:
        """Radial (Galbraith) plot: :func:`metapool.radial_plot` with ``kwargs``."""
        from metapool.plotting import radial_plot

        return radial_plot(self, **kwargs)

    def plot_labbe(self, **kwargs: Any) -> Figure:
        """L'Abbé plot of this result: :func:`metapool.labbe_plot` with ``kwargs``."""
        from metapool.plotting import labbe_plot

        return labbe_plot(self, **kwargs)

    def plot_gosh(self, **kwargs: Any) -> Figure:
        """GOSH plot of this result: :func:`metapool.gosh_plot` with ``kwargs``."""
        from metapool.plotting import gosh_plot

        return gosh_plot(self, **kwargs)

    def plot_influence(self, **kwargs: Any) -> Figure:
        """Influence diagnostics in panels: :func:`metapool.influence_plot` with ``kwargs``."""
        from metapool.plotting import influence_plot

        return influence_plot(self, **kwargs)

    def report(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write a report of this result (HTML or Markdown): :func:`metapool.write_report`
        with ``kwargs``; returns the path written."""
        from metapool.report import write_report

        return write_report({self.method: self}, path, **kwargs)

    def __str__(self) -> str:
        return self.summary()
