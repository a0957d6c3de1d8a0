"""The result of a subgroup analysis and its test for subgroup differences."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from metapool._serialize import fields_to_dict
from metapool._validation import check_level
from metapool.results._frames import make_frame, stack
from metapool.results._html import html_table
from metapool.results._intervals import Interval
from metapool.results._pooled import MetaResult
from metapool.results._report import (
    excluded_block,
    natural,
    natural_note,
    p_text,
    revman_subgroup_differences,
    short,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from metapool._data import ExcludedStudy

__all__ = ["SubgroupResult", "SubgroupTest"]


@attrs.frozen(kw_only=True)
class SubgroupTest:
    """Test for subgroup differences: Cochran's Q between subgroup estimates.

    Attributes
    ----------
    statistic : float
        ``Q_between = Σ_g w_g (θ_g - θ̄)²`` with ``w_g = 1/se_g²``.
    df : int
        Number of subgroups minus one.
    pvalue : float
        Upper tail of the chi-square distribution.
    i2 : float
        I² of the between-subgroup heterogeneity (percent, from Q), as RevMan reports.
    """

    statistic: float
    df: int
    pvalue: float
    i2: float

    def revman(self) -> str:
        """RevMan's line, e.g.
        ``Test for subgroup differences: Chi² = 2.34, df = 1 (P = 0.13), I² = 57.3%``."""
        return revman_subgroup_differences(self.statistic, self.df, self.pvalue, self.i2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return fields_to_dict(self)

    def summary_frame(self) -> pd.DataFrame:
        """The test as a one-row table: ``statistic``, ``df``, ``pvalue``, ``i2``.

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
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8, 0.9, 0.7], vi=[0.02] * 6)
        >>> test = mp.subgroup_analysis(eff, ["a", "a", "a", "b", "b", "b"]).test
        >>> test.summary_frame().round(2).to_dict("records")
        [{'statistic': 27.0, 'df': 1, 'pvalue': 0.0, 'i2': 96.3}]
        """
        return make_frame(
            "SubgroupTest.summary_frame",
            {"statistic": self.statistic, "df": self.df, "pvalue": self.pvalue, "i2": self.i2},
        )

    def to_frame(self) -> pd.DataFrame:
        """The same one-row table as :meth:`summary_frame`.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8, 0.9, 0.7], vi=[0.02] * 6)
        >>> list(mp.subgroup_analysis(eff, ["a"] * 3 + ["b"] * 3).test.to_frame().columns)
        ['statistic', 'df', 'pvalue', 'i2']
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        return html_table("Test for subgroup differences", [], [[self.revman()]])

    def __repr__(self) -> str:
        i2 = "NA" if math.isnan(self.i2) else f"{self.i2:.1f}%"
        return (
            f"SubgroupTest(Q={self.statistic:.3g}, df={self.df}, "
            f"{p_text(self.pvalue).replace(' ', '')}, I2={i2})"
        )


def _names(value: Iterable[str | None]) -> tuple[str | None, ...]:
    return tuple(value)


def _read_only(mapping: Mapping[str, MetaResult]) -> Mapping[str, MetaResult]:
    return MappingProxyType(dict(mapping))


@attrs.frozen(kw_only=True)
class SubgroupResult:
    """Pooled results per subgroup, overall, and the test for subgroup differences.

    Attributes
    ----------
    results : Mapping[str, MetaResult]
        Each subgroup's ordinary pooled result, in order of first appearance.
    overall : MetaResult
        The pooled result over all studies.
    test : SubgroupTest
        Test for subgroup differences.
    membership : tuple of str
        The subgroup of each study (in the order of ``overall.labels``).
    model : object
        The model used for every fit.
    common_tau2 : bool
        Whether the subgroups share one τ².
    tau2 : float or None
        The common τ² when ``common_tau2`` (else None).
    converged : bool
        Whether every τ² estimate (each subgroup's, the overall and the common one)
        converged.
    excluded : tuple of ExcludedStudy
        Studies left out of every fit: by the effect set, and by ``nan_policy="omit"``
        for a missing subgroup (``index`` is the 0-based row as given). The same as
        ``overall.excluded``.
    excluded_membership : tuple of (str or None)
        The subgroup of each study in ``excluded``, in its order: known when
        ``groups`` was given with one entry per study as given (the effect set's
        excluded studies included), None otherwise (and for a missing subgroup).
        Forest plots place RevMan's "Not estimable" rows (double-zero studies)
        in their subgroup with it.
    """

    results: Mapping[str, MetaResult] = attrs.field(converter=_read_only)
    overall: MetaResult
    test: SubgroupTest
    membership: tuple[str, ...]
    model: Any
    common_tau2: bool
    tau2: float | None
    converged: bool = True
    excluded: tuple[ExcludedStudy, ...] = ()
    excluded_membership: tuple[str | None, ...] = attrs.field(default=(), converter=_names)

    @property
    def groups(self) -> tuple[str, ...]:
        """Subgroup names, in order of first appearance."""
        return tuple(self.results)

    def confidence_interval(self, level: float) -> tuple[dict[str, Interval], Interval]:
        """Confidence intervals of each subgroup's and the overall effect at another level.

        Each is :meth:`MetaResult.confidence_interval` of that fit: the same method
        (z, or t with the fit's df), without refitting.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        subgroups : dict of str to Interval
            One interval per subgroup, in the order of :attr:`groups`.
        overall : Interval
            The interval of the overall effect.

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8, 0.9, 0.7], vi=[0.02] * 6)
        >>> groups = ["a", "a", "a", "b", "b", "b"]
        >>> by_group, overall = mp.subgroup_analysis(eff, groups).confidence_interval(0.9)
        >>> refit = mp.subgroup_analysis(eff, groups, mp.RandomEffects("DL", level=0.9))
        >>> by_group["b"] == refit.results["b"].ci, overall == refit.overall.ci
        (True, True)
        """
        level = check_level("SubgroupResult.confidence_interval", level)
        by_group = {name: res.confidence_interval(level) for name, res in self.results.items()}
        return by_group, self.overall.confidence_interval(level)

    def summary(self, digits: int = 4) -> str:
        """A table of subgroup estimates, the overall estimate and the test of differences.

        Estimates and CIs are on the natural scale (RR rather than log RR) when the
        measure's analysis scale is not its natural one.
        """
        pct = round(100 * self.overall.level)
        measure = self.overall.measure
        on_natural = not measure.scale.is_identity
        if not self.model.random_effects:
            tau2_text = "no tau^2"
        elif self.common_tau2:
            tau2_text = "common tau^2"
        else:
            tau2_text = "separate tau^2 per subgroup"
        head = str(measure) if on_natural else "estimate"
        lines = [
            f"Subgroup analysis ({self.overall.method}; {tau2_text}; "
            f"{len(self.results)} subgroups, k = {self.overall.k})",
        ]
        if on_natural:
            lines.append(natural_note(measure))
        lines += ["", f"  {'subgroup':<24}{'k':>4}{head:>11}{pct:>7}% CI{'':>12}{'I^2':>8}"]
        for name, res in [*list(self.results.items()), ("Overall", self.overall)]:
            i2 = "NA" if math.isnan(res.i2) else f"{res.i2:.1f}%"
            est, low, high = res.estimate, res.ci.low, res.ci.high
            if on_natural:
                est, low, high = (natural(measure, x) for x in (est, low, high))
            lines.append(
                f"  {name[:23]:<24}{res.k:>4}{est:>11.{digits}f}"
                f"  [{low:.{digits}f}, {high:.{digits}f}]{i2:>9}"
            )
        lines.append("")
        lines.append("  " + self.test.revman())
        lines += excluded_block(self.excluded)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return fields_to_dict(self, replace={"model": {"model": repr(self.model)}})

    def to_frame(self) -> pd.DataFrame:
        """One row per study, in the order of ``overall.labels``, with its subgroup.

        The columns of :meth:`MetaResult.to_frame` of the overall fit, with
        ``subgroup`` after ``label``, ``weight`` the weight in the overall analysis
        and ``subgroup_weight`` the weight within the subgroup (percent).

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
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8], vi=[0.02] * 4)
        >>> frame = mp.subgroup_analysis(eff, ["a", "b", "a", "b"]).to_frame()
        >>> frame[["subgroup", "subgroup_weight"]].to_dict("list")
        {'subgroup': ['a', 'b', 'a', 'b'], 'subgroup_weight': [50.0, 50.0, 50.0, 50.0]}
        """
        frame = self.overall.to_frame()
        frame.insert(1, "subgroup", list(self.membership))
        within = np.full(self.overall.k, np.nan)
        member = np.asarray(self.membership)
        for name, res in self.results.items():
            rows = np.flatnonzero(member == name)
            if rows.size == res.k:
                within[rows] = res.weights
        frame["subgroup_weight"] = within
        return frame

    def summary_frame(self) -> pd.DataFrame:
        """One row per subgroup, then the overall row.

        Columns: ``subgroup`` (its name; ``"Overall"`` for the last row), ``overall``
        (True for the last row), then those of :meth:`MetaResult.summary_frame`
        without ``method``: ``k``, the estimate with its CI and prediction interval on
        the analysis scale and, when the scales differ, on the natural scale (``RR``,
        ``RR_ci_low``, ...), and ``tau2``, ``i2``, ``q``, ``q_df``, ``q_pvalue``.

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
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8, 0.9, 0.7], vi=[0.02] * 6)
        >>> sg = mp.subgroup_analysis(eff, ["a", "a", "a", "b", "b", "b"])
        >>> sg.summary_frame()[["subgroup", "k", "estimate"]].round(2).to_dict("list")
        {'subgroup': ['a', 'b', 'Overall'], 'k': [3, 3, 6], 'estimate': [0.2, 0.8, 0.5]}
        """
        rows = [
            {"subgroup": [name], "overall": np.array([False]), **res._summary_columns()}
            for name, res in self.results.items()
        ]
        rows.append(
            {
                "subgroup": ["Overall"],
                "overall": np.array([True]),
                **self.overall._summary_columns(),
            }
        )
        return make_frame("SubgroupResult.summary_frame", stack(rows))

    def _repr_html_(self) -> str:
        pct = round(100 * self.overall.level)
        measure = self.overall.measure
        rows = []
        for name, res in [*list(self.results.items()), ("Overall", self.overall)]:
            bt = res.back_transform()
            i2 = "NA" if math.isnan(res.i2) else f"{res.i2:.1f}%"
            rows.append(
                [
                    name,
                    str(res.k),
                    short(bt.estimate),
                    f"[{short(bt.ci.low)}, {short(bt.ci.high)}]",
                    i2,
                ]
            )
        return html_table(
            f"Subgroup analysis: {self.overall.method}",
            ["subgroup", "k", str(measure), f"{pct}% CI", "I\u00b2"],
            rows,
            [self.test.revman()],
        )

    def __repr__(self) -> str:
        bt = self.overall.back_transform()
        return (
            f"SubgroupResult({len(self.results)} subgroups, k={self.overall.k}, "
            f"Q_between={self.test.statistic:.3g}, df={self.test.df}, "
            f"{p_text(self.test.pvalue).replace(' ', '')}; overall {self.overall.measure} "
            f"{short(bt.estimate)} [{short(bt.ci.low)}, {short(bt.ci.high)}])"
        )

    def plot_forest(self, **kwargs: Any) -> Figure:
        """Forest plot by subgroup: :func:`metapool.forest_plot` with ``kwargs``."""
        from metapool.plotting import forest_plot

        return forest_plot(self, **kwargs)

    def report(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write a report of this analysis (HTML or Markdown): :func:`metapool.write_report`
        with ``kwargs``; returns the path written."""
        from metapool.report import write_report

        return write_report({"Subgroup analysis": self}, path, **kwargs)

    def __str__(self) -> str:
        return self.summary()
