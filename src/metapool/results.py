"""Frozen, complete result objects of a pooled analysis."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy
from metapool._format import fmt, fmt_p_metafor, fmt_p_revman
from metapool._serialize import fields_to_dict
from metapool.effects._base import EffectSet, array_field
from metapool.effects._measure import Measure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BackTransformed", "Interval", "IntervalArray", "MetaResult"]


@attrs.frozen
class Interval:
    """A closed interval ``[low, high]``; NaN bounds mean "not estimable".

    Unpacks like a tuple: ``low, high = result.ci``.
    """

    low: float
    high: float

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.low, self.high))

    @property
    def estimable(self) -> bool:
        """Whether both bounds are numbers."""
        return not (math.isnan(self.low) or math.isnan(self.high))

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe representation (NaN becomes ``None``)."""
        return {"low": _json_float(self.low), "high": _json_float(self.high)}

    def format(self, digits: int = 4, sep: str = " to ") -> str:
        """``"low to high"`` with ``digits`` decimals, or ``"not estimable"``."""
        if not self.estimable:
            return "not estimable"
        return f"{self.low:.{digits}f}{sep}{self.high:.{digits}f}"


NOT_ESTIMABLE = Interval(math.nan, math.nan)


@attrs.frozen
class IntervalArray:
    """Lower and upper bounds of one interval per row."""

    low: NDArray[np.float64] = array_field(repr=True)
    high: NDArray[np.float64] = array_field(repr=True)

    def to_dict(self) -> dict[str, list[float | None]]:
        """JSON-safe representation."""
        return {
            "low": [_json_float(x) for x in np.asarray(self.low, dtype=float).tolist()],
            "high": [_json_float(x) for x in np.asarray(self.high, dtype=float).tolist()],
        }


@attrs.frozen(kw_only=True)
class BackTransformed:
    """Pooled effect and intervals on the natural scale (e.g. RR instead of log RR)."""

    measure: Measure
    estimate: float
    ci: Interval
    pi: Interval

    def __str__(self) -> str:
        return f"{self.measure} {self.estimate:.2f} [{self.ci.low:.2f}, {self.ci.high:.2f}]"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {
            "measure": self.measure.code,
            "estimate": _json_float(self.estimate),
            "ci": self.ci.to_dict(),
            "pi": self.pi.to_dict(),
        }


def _p_text(p: float) -> str:
    text = fmt_p_metafor(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def _json_float(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


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

    model: Any = attrs.field(repr=False)
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
    effects: EffectSet = attrs.field(repr=False, eq=False)
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

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``)."""
        out = fields_to_dict(self, skip=("effects",))
        out["back_transformed"] = self.back_transform().to_dict()
        return out

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
        ]
        lines.append("")
        df_txt = "" if self.df is None else f" (df = {self.df:g})"
        lines.append(
            f"  estimate = {fmt(self.estimate, digits)}  se = {fmt(self.se, digits)}  "
            f"{stat_name} = {fmt(self.statistic, 3)}{df_txt}  {_p_text(self.pvalue)}"
        )
        lines.append(f"  {pct}% CI: {self.ci.format(digits)}")
        lines.append(f"  {pct}% prediction interval ({self.pi_method}): {self.pi.format(digits)}")
        if not scale.is_identity:
            bt = self.back_transform()
            lines.append(
                f"  {self.measure} = {bt.estimate:.{digits}f}, {pct}% CI {bt.ci.format(digits)}, "
                f"PI {bt.pi.format(digits)}"
            )
        lines.append("")
        lines.append("Heterogeneity")
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
            lines.append(f"  Q = {self.q:.{digits}f} (df = {self.q_df}), {_p_text(self.q_pvalue)}")
        else:
            lines.append("  Q: not estimable (one study)")
        lines.append("")
        lines.append("RevMan style")
        lines.append("  " + self.revman_heterogeneity())
        lines.append("  " + self.revman_overall_effect())
        if self.excluded:
            lines.append("")
            lines.append("Excluded studies")
            lines.extend(f"  {e.name}: {e.reason}" for e in self.excluded)
        if self.notes:
            lines.append("")
            lines.append("Notes")
            lines.extend(f"  - {n}" for n in self.notes)
        if not self.converged:
            lines.append("")
            lines.append("WARNING: the tau^2 estimator did not converge.")
        return "\n".join(lines)

    def revman_overall_effect(self) -> str:
        """The test-for-overall-effect line of a RevMan forest plot.

        ``"Test for overall effect: Z = 3.29 (P = 0.001)"``; a t statistic
        (Hartung–Knapp and t-based intervals) is shown with its degrees of freedom.
        """
        if not math.isfinite(self.statistic):
            return "Test for overall effect: Not applicable"
        if self.df is None:
            stat = f"Z = {abs(self.statistic):.2f}"
        else:
            stat = f"t = {abs(self.statistic):.2f}, df = {self.df:g}"
        return f"Test for overall effect: {stat} ({fmt_p_revman(self.pvalue)})"

    def revman_heterogeneity(self) -> str:
        """The heterogeneity line of a RevMan forest plot.

        ``"Heterogeneity: Tau² = 0.02; Chi² = 9.95, df = 6 (P = 0.13); I² = 40%"``
        (``Tau²`` only for random-effects models).
        """
        if self.q_df < 1:
            return "Heterogeneity: Not applicable"
        parts = []
        if self.tau2_method is not None:
            parts.append(f"Tau\u00b2 = {self.tau2:.2f}; ")
        i2 = "NA" if math.isnan(self.i2) else f"{self.i2:.0f}%"
        return (
            "Heterogeneity: "
            + "".join(parts)
            + f"Chi\u00b2 = {self.q:.2f}, df = {self.q_df} ({fmt_p_revman(self.q_pvalue)}); "
            + f"I\u00b2 = {i2}"
        )

    def plot_forest(self, **kwargs: Any) -> Figure:
        """Forest plot of this result: :func:`metapool.forest_plot` with ``kwargs``."""
        from metapool.plotting import forest_plot

        return forest_plot(self, **kwargs)

    def plot_funnel(self, **kwargs: Any) -> Figure:
        """Funnel plot of this result: :func:`metapool.funnel_plot` with ``kwargs``."""
        from metapool.plotting import funnel_plot

        return funnel_plot(self, **kwargs)

    def __str__(self) -> str:
        return self.summary()
