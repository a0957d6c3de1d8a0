"""The result of many meta-analyses of different sizes fitted from one long table
(:func:`metapool.fit_grouped`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._serialize import fields_to_dict
from metapool.results._batch import _range
from metapool.results._frames import make_frame, pooled_columns
from metapool.results._html import html_table
from metapool.results._intervals import IntervalArray

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupedResult"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class GroupedResult:
    """Pooled results of many meta-analyses of different sizes, one per analysis.

    Every array has one element per analysis, in the order of ``keys`` (the
    values of the ``by`` column, sorted). The fields mean what the same names
    mean on :class:`~metapool.MetaResult` for that analysis; ``k`` is its number
    of studies and ``df`` the df of its t-based intervals (NaN for z, and for
    the analyses of one study, whose intervals are z as in ``fit``). ``intervals``
    records whether the τ², I² and H² intervals were asked for (NaN when not).
    """

    by: str
    keys: tuple[Any, ...] = attrs.field(converter=tuple)
    method: str
    level: float
    tau2_method: str | None
    ci_method: str
    intervals: bool
    k: NDArray[np.int64] = array_field()
    estimate: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    df: Array = array_field()
    ci: IntervalArray
    pi: IntervalArray
    tau2: Array = array_field()
    tau2_ci: IntervalArray
    i2: Array = array_field()
    i2_ci: IntervalArray
    h2: Array = array_field()
    h2_ci: IntervalArray
    q: Array = array_field()
    q_df: NDArray[np.int64] = array_field()
    q_pvalue: Array = array_field()
    converged: NDArray[np.bool_] = array_field()
    iterations: NDArray[np.int64] = array_field()

    def __len__(self) -> int:
        """The number of analyses."""
        return len(self.keys)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (arrays as lists, NaN as None)."""
        return fields_to_dict(self)

    def summary_frame(self) -> pd.DataFrame:
        """One row per analysis: the key (a column named after ``by``), ``k``,
        ``estimate``, ``se``, ``statistic``, ``df``, ``pvalue``, ``ci_low``,
        ``ci_high``, ``pi_low``, ``pi_high``, ``tau2`` and ``i2``.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).
        """
        return make_frame(
            "GroupedResult.summary_frame",
            {
                self.by: list(self.keys),
                "k": self.k,
                **pooled_columns(
                    None,
                    estimate=self.estimate,
                    se=self.se,
                    statistic=self.statistic,
                    df=self.df,
                    pvalue=self.pvalue,
                    ci_low=self.ci.low,
                    ci_high=self.ci.high,
                    pi_low=self.pi.low,
                    pi_high=self.pi.high,
                ),
                "tau2": self.tau2,
                "i2": self.i2,
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis with every field: :meth:`summary_frame` and
        ``tau2_ci_low``, ``tau2_ci_high``, ``i2_ci_low``, ``i2_ci_high``, ``h2``,
        ``h2_ci_low``, ``h2_ci_high``, ``q``, ``q_df``, ``q_pvalue``, ``converged``,
        ``iterations``.

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
        >>> data = {"analysis": ["a", "a", "b"], "yi": [0.1, 0.3, 0.5],
        ...         "vi": [0.04, 0.04, 0.02]}
        >>> res = mp.fit_grouped(data, by="analysis", model=mp.CommonEffect())
        >>> res.to_frame()[["analysis", "k", "estimate"]].round(2).to_dict("list")
        {'analysis': ['a', 'b'], 'k': [2, 1], 'estimate': [0.2, 0.5]}
        """
        frame = self.summary_frame()
        extra = {
            "tau2_ci_low": self.tau2_ci.low,
            "tau2_ci_high": self.tau2_ci.high,
            "i2_ci_low": self.i2_ci.low,
            "i2_ci_high": self.i2_ci.high,
            "h2": self.h2,
            "h2_ci_low": self.h2_ci.low,
            "h2_ci_high": self.h2_ci.high,
            "q": self.q,
            "q_df": self.q_df,
            "q_pvalue": self.q_pvalue,
            "converged": self.converged,
            "iterations": self.iterations,
        }
        for name, column in extra.items():
            frame[name] = np.asarray(column)
        return frame

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        rows = [
            ["k", *_range(self.k.astype(np.float64))],
            ["estimate", *_range(self.estimate)],
            ["tau\u00b2", *_range(self.tau2)],
            ["I\u00b2 (%)", *_range(self.i2)],
            [f"{pct}% CI width", *_range(self.ci.high - self.ci.low)],
        ]
        footer = [
            f"{len(self)} analyses by {self.by!r}; CI: {self.ci_method}",
            f"converged: {int(np.sum(self.converged))} of {self.converged.size}",
        ]
        if not self.intervals:
            footer.append("intervals of tau\u00b2, I\u00b2 and H\u00b2 not computed")
        return html_table(f"Grouped: {self.method}", ["", "min", "median", "max"], rows, footer)

    def __repr__(self) -> str:
        how = self.tau2_method if self.tau2_method is not None else "common"
        k = f"k {int(self.k.min())}-{int(self.k.max())}" if len(self) else "empty"
        return f"GroupedResult({len(self)} analyses by {self.by!r}, {k}, {how}/{self.ci_method})"
