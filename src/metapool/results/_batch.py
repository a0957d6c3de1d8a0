"""The result of many meta-analyses fitted in one call (``fit_batch``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._serialize import fields_to_dict
from metapool.results._frames import make_frame, pooled_columns
from metapool.results._html import html_table
from metapool.results._intervals import IntervalArray

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class BatchResult:
    """Pooled results of a batch of meta-analyses (one per row of the input).

    Every array has the batch shape ``yi.shape[:-1]``. The fields mean what the
    same names mean on :class:`~metapool.MetaResult`; ``df`` is None for z-based
    intervals.

    ``intervals`` records whether the Q-profile interval of τ² and the I² and H²
    intervals were asked for (``fit_batch(..., intervals=False)`` skips them, the
    costliest part of a random-effects fit): when False, ``tau2_ci``, ``i2_ci`` and
    ``h2_ci`` are all NaN because they were not computed, not because they are not
    estimable. A common-effect model has no such intervals either way.
    """

    method: str
    k: int
    level: float
    tau2_method: str | None
    ci_method: str
    estimate: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    df: float | None
    ci: IntervalArray
    pi: IntervalArray
    tau2: Array = array_field()
    tau2_ci: IntervalArray
    i2: Array = array_field()
    i2_ci: IntervalArray
    h2: Array = array_field()
    h2_ci: IntervalArray
    q: Array = array_field()
    q_df: int
    q_pvalue: Array = array_field()
    converged: NDArray[np.bool_] = array_field()
    iterations: NDArray[np.int64] = array_field()
    intervals: bool = True

    @property
    def shape(self) -> tuple[int, ...]:
        """The batch shape."""
        return tuple(self.estimate.shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (arrays as nested lists, NaN as None)."""
        return fields_to_dict(self)

    def _position_columns(self) -> dict[str, Any]:
        """The position of each analysis in the batch: ``row`` for a 1-d batch,
        ``index_0``, ``index_1``, ... otherwise (none for a single analysis)."""
        shape = self.shape
        if len(shape) == 1:
            return {"row": np.arange(shape[0])}
        grid = np.indices(shape).reshape(len(shape), -1) if shape else np.empty((0, 1))
        return {f"index_{axis}": grid[axis] for axis in range(len(shape))}

    def _flat(self, a: Any) -> NDArray[Any]:
        return np.asarray(a).reshape(-1)

    def summary_frame(self) -> pd.DataFrame:
        """One row per analysis: the pooled estimates (analysis scale; a batch has no
        measure).

        Columns: the position in the batch (``row``, or ``index_0``, ``index_1``,
        ... for a batch of more than one dimension); ``estimate``, ``se``,
        ``statistic``, ``df`` (NaN for z), ``pvalue``, ``ci_low``, ``ci_high``,
        ``pi_low``, ``pi_high``; ``tau2`` and ``i2``.

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
        >>> batch = mp.CommonEffect().fit_batch([[0.1, 0.3], [0.2, 0.6]], [[0.04, 0.04]] * 2)
        >>> batch.summary_frame()[["row", "estimate"]].round(2).to_dict("list")
        {'row': [0, 1], 'estimate': [0.2, 0.4]}
        """
        f = self._flat
        df = np.full(self.estimate.size, np.nan if self.df is None else self.df)
        return make_frame(
            "BatchResult.summary_frame",
            {
                **self._position_columns(),
                **pooled_columns(
                    None,
                    estimate=f(self.estimate),
                    se=f(self.se),
                    statistic=f(self.statistic),
                    df=df,
                    pvalue=f(self.pvalue),
                    ci_low=f(self.ci.low),
                    ci_high=f(self.ci.high),
                    pi_low=f(self.pi.low),
                    pi_high=f(self.pi.high),
                ),
                "tau2": f(self.tau2),
                "i2": f(self.i2),
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis with every field: :meth:`summary_frame` and ``tau2_ci_low``,
        ``tau2_ci_high``, ``i2_ci_low``, ``i2_ci_high``, ``h2``, ``h2_ci_low``,
        ``h2_ci_high``, ``q``, ``q_df``, ``q_pvalue``, ``converged``, ``iterations``.

        A batch has no studies to list: its rows are the analyses.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import numpy as np
        >>> import metapool as mp
        >>> yi = np.zeros((2, 3, 4)) + np.arange(4)   # 2 x 3 analyses of k = 4
        >>> frame = mp.RandomEffects().fit_batch(yi, np.ones_like(yi)).to_frame()
        >>> frame.shape, list(frame.columns[:3])
        ((6, 25), ['index_0', 'index_1', 'estimate'])
        """
        frame = self.summary_frame()
        f = self._flat
        extra = {
            "tau2_ci_low": f(self.tau2_ci.low),
            "tau2_ci_high": f(self.tau2_ci.high),
            "i2_ci_low": f(self.i2_ci.low),
            "i2_ci_high": f(self.i2_ci.high),
            "h2": f(self.h2),
            "h2_ci_low": f(self.h2_ci.low),
            "h2_ci_high": f(self.h2_ci.high),
            "q": f(self.q),
            "q_df": np.full(frame.shape[0], self.q_df),
            "q_pvalue": f(self.q_pvalue),
            "converged": f(self.converged),
            "iterations": f(self.iterations),
        }
        for name, column in extra.items():
            frame[name] = column
        return frame

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        rows = [
            ["estimate", *_range(self.estimate)],
            ["tau\u00b2", *_range(self.tau2)],
            ["I\u00b2 (%)", *_range(self.i2)],
            [f"{pct}% CI width", *_range(self.ci.high - self.ci.low)],
        ]
        footer = [
            f"{self.estimate.size} analyses of k = {self.k} studies; shape {self.shape}; "
            f"CI: {self.ci_method}",
            f"converged: {int(np.sum(self.converged))} of {self.converged.size}",
        ]
        if not self.intervals:
            footer.append(
                "intervals of tau\u00b2, I\u00b2 and H\u00b2 not computed (intervals=False)"
            )
        return html_table(f"Batch: {self.method}", ["", "min", "median", "max"], rows, footer)

    def __repr__(self) -> str:
        how = self.tau2_method if self.tau2_method is not None else "common"
        return f"BatchResult(shape={self.shape}, k={self.k}, {how}/{self.ci_method})"


def _range(a: Array) -> list[str]:
    """Minimum, median and maximum of the finite values (``NA`` when there are none)."""
    finite = np.asarray(a, dtype=np.float64)[np.isfinite(a)]
    if not finite.size:
        return ["NA"] * 3
    return [f"{x:.4g}" for x in (finite.min(), np.median(finite), finite.max())]
