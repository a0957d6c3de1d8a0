"""The results of the sensitivity analyses: leave-one-out and cumulative series of
refits, and case-deletion (influence) diagnostics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import t_crit, z_crit
from metapool._serialize import fields_to_dict, measure_entries
from metapool._validation import check_level
from metapool.results._frames import make_frame, pooled_columns
from metapool.results._html import html_table
from metapool.results._intervals import IntervalArray
from metapool.results._pooled import MetaResult
from metapool.results._report import natural, natural_note, short

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from metapool.effects import Measure

__all__ = ["CumulativeResult", "InfluenceResult", "LeaveOneOutResult"]

Array = NDArray[np.float64]


def _series(results: Sequence[MetaResult | None], get: Any) -> Array:
    return np.array([math.nan if r is None else get(r) for r in results], dtype=np.float64)


@attrs.frozen(kw_only=True)
class _SeriesResult:
    """Per-fit summaries of a sequence of refits of one model (the base of
    :class:`LeaveOneOutResult` and :class:`CumulativeResult`)."""

    labels: tuple[str, ...]
    estimate: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    tau2: Array = array_field()
    i2: Array = array_field()
    h2: Array = array_field()
    q: Array = array_field()
    q_pvalue: Array = array_field()
    k: NDArray[np.int64] = array_field()
    converged: NDArray[np.bool_] = array_field()
    #: False where the refit was not estimable (its row is NaN, as in metafor)
    estimable: NDArray[np.bool_] = array_field()
    #: the full refits (None where not estimable)
    results: tuple[MetaResult | None, ...] = attrs.field(eq=False)
    measure: Measure
    level: float
    #: the analysis of all studies the refits come from (the reference of their forest plot)
    full: MetaResult | None = attrs.field(default=None, eq=False)

    @classmethod
    def _from(
        cls,
        parent: MetaResult,
        labels: Sequence[str],
        results: Sequence[MetaResult | None],
        sizes: Sequence[int],
        **extra: Any,
    ) -> Any:
        return cls(
            labels=tuple(labels),
            estimate=_series(results, lambda r: r.estimate),
            se=_series(results, lambda r: r.se),
            statistic=_series(results, lambda r: r.statistic),
            pvalue=_series(results, lambda r: r.pvalue),
            ci=IntervalArray(
                _series(results, lambda r: r.ci.low), _series(results, lambda r: r.ci.high)
            ),
            tau2=_series(results, lambda r: r.tau2),
            i2=_series(results, lambda r: r.i2),
            h2=_series(results, lambda r: r.h2),
            q=_series(results, lambda r: r.q),
            q_pvalue=_series(results, lambda r: r.q_pvalue),
            k=np.asarray(sizes, dtype=np.int64),
            converged=np.array([r is None or r.converged for r in results], dtype=bool),
            estimable=np.array([r is not None for r in results], dtype=bool),
            results=tuple(results),
            measure=parent.measure,
            level=parent.level,
            full=parent,
            **extra,
        )

    @property
    def df(self) -> Array:
        """Degrees of freedom of each refit's t distribution (NaN for z or where the
        refit is not estimable)."""
        return _series(self.results, lambda r: math.nan if r.df is None else r.df)

    def confidence_interval(self, level: float) -> IntervalArray:
        """Confidence intervals of every refit's pooled effect at another level.

        Row by row, :meth:`MetaResult.confidence_interval` of that refit: the same
        method (z, or t with the refit's df), without refitting. Rows that are not
        estimable stay NaN.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        IntervalArray
            One interval per row, on the analysis scale.

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import numpy as np
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8], vi=[0.02, 0.03, 0.04, 0.02])
        >>> loo = mp.leave_one_out(mp.RandomEffects(ci="hksj").fit(eff))
        >>> refit = mp.leave_one_out(mp.RandomEffects(ci="hksj", level=0.9).fit(eff))
        >>> ci = loo.confidence_interval(0.9)
        >>> bool(np.allclose(ci.low, refit.ci.low) and np.allclose(ci.high, refit.ci.high))
        True
        """
        level = check_level(f"{type(self).__name__}.confidence_interval", level)
        df = self.df
        crit = np.full(df.shape, z_crit(level))
        is_t = ~np.isnan(df)
        if is_t.any():
            crit[is_t] = t_crit(level, df[is_t])
        return IntervalArray(self.estimate - crit * self.se, self.estimate + crit * self.se)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (without the full refits)."""
        return fields_to_dict(
            self, skip=("results", "full"), replace={"measure": measure_entries(self.measure)}
        )

    def summary_frame(self) -> pd.DataFrame:
        """One row per refit: its pooled estimate on the analysis and natural scale.

        Columns: ``label`` (the study left out or added, or the key added with
        ``collapse=True``), ``k``, ``estimate``, ``se``, ``statistic``, ``df`` (NaN
        for z), ``pvalue``, ``ci_low``, ``ci_high``; when the scales differ the
        natural-scale estimate and CI named after the measure (``RR``,
        ``RR_ci_low``, ``RR_ci_high``).

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
        >>> rr = mp.RiskRatio(events1=[10, 20, 15], n1=[50, 80, 60], events2=[5, 9, 10],
        ...                   n2=[50, 80, 60], labels=["A", "B", "C"])
        >>> loo = mp.leave_one_out(mp.CommonEffect().fit(rr))
        >>> loo.summary_frame()[["label", "k", "RR"]].round(2).to_dict("list")
        {'label': ['A', 'B', 'C'], 'k': [2, 2, 2], 'RR': [1.82, 1.65, 2.14]}
        """
        return make_frame(f"{type(self).__name__}.summary_frame", self._summary_columns())

    def _summary_columns(self) -> dict[str, Any]:
        return {
            "label": list(self.labels),
            "k": self.k,
            **pooled_columns(
                self.measure,
                estimate=self.estimate,
                se=self.se,
                statistic=self.statistic,
                df=self.df,
                pvalue=self.pvalue,
                ci_low=self.ci.low,
                ci_high=self.ci.high,
            ),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per refit with every per-refit field: the columns of
        :meth:`summary_frame`, then ``tau2``, ``i2``, ``h2``, ``q``, ``q_pvalue``,
        ``converged`` and ``estimable``.

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
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.9], vi=[0.04] * 3, labels=["A", "B", "C"])
        >>> cum = mp.cumulative(mp.CommonEffect().fit(eff))
        >>> cum.to_frame()[["label", "k", "estimate", "q"]].round(2).to_dict("list")
        ... # doctest: +NORMALIZE_WHITESPACE
        {'label': ['A', 'B', 'C'], 'k': [1, 2, 3], 'estimate': [0.1, 0.2, 0.43],
         'q': [0.0, 0.5, 8.67]}
        """
        columns = self._summary_columns()
        columns.update(
            {
                "tau2": self.tau2,
                "i2": self.i2,
                "h2": self.h2,
                "q": self.q,
                "q_pvalue": self.q_pvalue,
                "converged": self.converged,
                "estimable": self.estimable,
            }
        )
        return make_frame(f"{type(self).__name__}.to_frame", columns)

    def _table(self, title: str, row_name: str) -> str:
        pct = round(100 * self.level)
        if not self.measure.scale.is_identity:
            return self._natural_table(title, row_name, pct)
        lines = [
            title,
            "",
            f"  {row_name:<26}{'estimate':>10}{'se':>9}{'p':>9}   {pct}% CI"
            f"{'':>13}{'tau^2':>8}{'I^2':>8}",
        ]
        for i, lab in enumerate(self.labels):
            i2 = "NA" if math.isnan(self.i2[i]) else f"{self.i2[i]:.1f}%"
            lines.append(
                f"  {lab[:25]:<26}{self.estimate[i]:>10.4f}{self.se[i]:>9.4f}"
                f"{self.pvalue[i]:>9.4f}   [{self.ci.low[i]:.4f}, {self.ci.high[i]:.4f}]"
                f"{self.tau2[i]:>9.4f}{i2:>8}"
            )
        return "\n".join(lines)

    def _natural_table(self, title: str, row_name: str, pct: int) -> str:
        """The table with the estimates and CIs on the natural scale (no SE column: the
        SE is on the analysis scale)."""
        m = self.measure
        lines = [
            title,
            natural_note(m),
            "",
            f"  {row_name:<26}{m.code:>10}{'p':>9}   {pct}% CI{'':>13}{'tau^2':>8}{'I^2':>8}",
        ]
        for i, lab in enumerate(self.labels):
            i2 = "NA" if math.isnan(self.i2[i]) else f"{self.i2[i]:.1f}%"
            est, low, high = (
                natural(m, float(x)) for x in (self.estimate[i], self.ci.low[i], self.ci.high[i])
            )
            lines.append(
                f"  {lab[:25]:<26}{est:>10.4f}{self.pvalue[i]:>9.4f}   [{low:.4f}, {high:.4f}]"
                f"{self.tau2[i]:>9.4f}{i2:>8}"
            )
        return "\n".join(lines)

    def _html(self, title: str, row_name: str) -> str:
        pct = round(100 * self.level)
        m = self.measure
        rows = []
        for i, lab in enumerate(self.labels):
            est, low, high = (
                natural(m, float(x)) for x in (self.estimate[i], self.ci.low[i], self.ci.high[i])
            )
            i2 = "NA" if math.isnan(self.i2[i]) else f"{self.i2[i]:.1f}%"
            rows.append(
                [
                    lab,
                    str(self.k[i]),
                    short(est),
                    f"[{short(low)}, {short(high)}]",
                    f"{self.tau2[i]:.4g}",
                    i2,
                ]
            )
        header = [row_name, "k", m.code, f"{pct}% CI", "\u03c4\u00b2", "I\u00b2"]
        return html_table(title, header, rows)

    def plot_forest(self, **kwargs: Any) -> Figure:
        """Forest plot of the refits: :func:`metapool.forest_plot` with ``kwargs``."""
        from metapool.plotting import forest_plot

        # only the two subclasses below exist
        return forest_plot(cast("LeaveOneOutResult | CumulativeResult", self), **kwargs)

    def _range_text(self) -> str:
        """The range of the refits' estimates on the natural scale."""
        values = [natural(self.measure, float(x)) for x in self.estimate[self.estimable]]
        if not values:
            return f"{self.measure} NA"
        return f"{self.measure} {short(min(values))} to {short(max(values))}"


@attrs.frozen(kw_only=True, repr=False)
class LeaveOneOutResult(_SeriesResult):
    """The pooled result with each study omitted in turn (row i omits study ``labels[i]``)."""

    def summary(self) -> str:
        """A metafor-style table (``leave1out``); on the natural scale when the measure's
        analysis scale is not its natural one."""
        return self._table("Leave-one-out analysis", "omitted study")

    def _repr_html_(self) -> str:
        return self._html("Leave-one-out analysis", "omitted study")

    def __repr__(self) -> str:
        return f"LeaveOneOutResult({len(self.labels)} refits, {self._range_text()})"

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True, repr=False)
class CumulativeResult(_SeriesResult):
    """The pooled result after adding each study in turn (row i adds ``labels[i]``)."""

    order: NDArray[np.intp] = array_field()

    def summary(self) -> str:
        """A metafor-style table (``cumul``); on the natural scale when the measure's
        analysis scale is not its natural one."""
        return self._table("Cumulative meta-analysis", "adding study")

    def _repr_html_(self) -> str:
        return self._html("Cumulative meta-analysis", "adding study")

    def __repr__(self) -> str:
        last = len(self.labels) - 1
        m = self.measure
        est, low, high = (
            natural(m, float(x))
            for x in (self.estimate[last], self.ci.low[last], self.ci.high[last])
        )
        return (
            f"CumulativeResult({len(self.labels)} steps, final {m} {short(est)} "
            f"[{short(low)}, {short(high)}], k={self.k[last]})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class InfluenceResult:
    """Case-deletion diagnostics of Viechtbauer & Cheung (2010), as metafor's ``influence``.

    Attributes
    ----------
    labels : tuple of str
        Study labels.
    rstudent : ndarray
        Externally studentised residuals.
    dffits : ndarray
        Change in the fitted value, scaled (DFFITS).
    cooks_distance : ndarray
        Cook's distance.
    cov_ratio : ndarray
        Ratio of the variance of the estimate without and with the study.
    tau2_deleted, q_deleted : ndarray
        τ² and Q with the study deleted.
    hat : ndarray
        Leverage (diagonal of the hat matrix).
    weight : ndarray
        Weight in percent.
    dfbetas : ndarray
        Scaled change in the pooled estimate.
    is_influential : ndarray of bool
        metafor's rule: ``|dffits| > 3 sqrt(p/(k-p))``, or the chi-square(p)
        CDF of Cook's distance > 0.5, or ``hat > 3p/k``, or ``|dfbetas| > 1``.
    """

    labels: tuple[str, ...]
    rstudent: Array = array_field()
    dffits: Array = array_field()
    cooks_distance: Array = array_field()
    cov_ratio: Array = array_field()
    tau2_deleted: Array = array_field()
    q_deleted: Array = array_field()
    hat: Array = array_field()
    weight: Array = array_field()
    dfbetas: Array = array_field()
    is_influential: NDArray[np.bool_] = array_field()

    _COLUMNS = (
        "rstudent",
        "dffits",
        "cooks_distance",
        "cov_ratio",
        "tau2_deleted",
        "q_deleted",
        "hat",
        "weight",
    )

    def summary(self) -> str:
        """A metafor-style table with influential studies marked ``*``."""
        heads = ("rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight")
        lines = [
            "Influence diagnostics (Viechtbauer & Cheung 2010)",
            "",
            f"  {'study':<24}" + "".join(f"{h:>10}" for h in heads) + "  inf",
        ]
        for i, lab in enumerate(self.labels):
            vals = "".join(f"{getattr(self, c)[i]:>10.4f}" for c in self._COLUMNS)
            lines.append(f"  {lab[:23]:<24}{vals}  {'*' if self.is_influential[i] else ''}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return fields_to_dict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``label``, then every diagnostic (``rstudent``, ``dffits``,
        ``cooks_distance``, ``cov_ratio``, ``tau2_deleted``, ``q_deleted``, ``hat``,
        ``weight``, ``dfbetas``, ``is_influential``).

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
        >>> res = mp.RandomEffects(tau2="DL").fit(
        ...     mp.GenericEffect(yi=[0.1, 0.2, 0.15, 0.12, 1.5], vi=[0.01] * 5))
        >>> frame = mp.influence(res).to_frame()
        >>> frame.loc[frame["is_influential"], "label"].tolist()
        ['Study 5']
        """
        columns: dict[str, Any] = {"label": list(self.labels)}
        columns.update({f.name: getattr(self, f.name) for f in attrs.fields(type(self))[1:]})
        return make_frame("InfluenceResult.to_frame", columns)

    def summary_frame(self) -> pd.DataFrame:
        """The same table as :meth:`to_frame` (the diagnostics are per study; there is
        no pooled row).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> res = mp.RandomEffects(tau2="DL").fit(
        ...     mp.GenericEffect(yi=[0.1, 0.2, 0.15, 0.12, 1.5], vi=[0.01] * 5))
        >>> mp.influence(res).summary_frame().shape
        (5, 11)
        """
        return self.to_frame()

    def _repr_html_(self) -> str:
        rows = [
            [
                lab,
                *(f"{getattr(self, c)[i]:.4g}" for c in self._COLUMNS),
                "*" if self.is_influential[i] else "",
            ]
            for i, lab in enumerate(self.labels)
        ]
        header = [
            "study",
            "rstudent",
            "dffits",
            "cook.d",
            "cov.r",
            "tau2.del",
            "QE.del",
            "hat",
            "weight",
            "inf",
        ]
        return html_table("Influence diagnostics (Viechtbauer & Cheung 2010)", header, rows)

    def __repr__(self) -> str:
        flagged = [lab for lab, f in zip(self.labels, self.is_influential, strict=True) if f]
        shown = ", ".join(repr(lab) for lab in flagged[:5]) + (", ..." if len(flagged) > 5 else "")
        return f"InfluenceResult(k={len(self.labels)}, influential=[{shown}])"

    def __str__(self) -> str:
        return self.summary()
