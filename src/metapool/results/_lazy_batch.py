"""A batch fitted on Dask, not yet computed (``fit_batch(..., compute=False)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from metapool.results._batch import BatchResult
from metapool.results._intervals import IntervalArray

__all__ = ["LazyBatchResult"]


@attrs.frozen(kw_only=True, eq=False)
class LazyBatchResult:
    """The per-analysis results of a Dask batch as Dask arrays, still distributed.

    ``model.fit_batch(yi, vi, compute=False)`` with Dask arrays returns this
    instead of a :class:`~metapool.batch.BatchResult`: the fields have the same
    names and meanings, each a lazy ``dask.array.Array`` of shape ``(n,)``
    chunked like the input's rows, so that a simulation study can reduce 10⁸
    analyses on the cluster (bias, coverage, rejection rates) without gathering
    them into one process. All fields of one block come from one task per block
    (Dask shares it between the arrays computed together).

    No warning is issued for the rows of a lazy result: ``converged`` records
    the analyses whose τ² or Q-profile interval did not converge; reduce it
    with the rest (e.g. ``dask.compute(res.estimate.mean(), (~res.converged).sum())``).
    :meth:`compute` gathers everything into the :class:`BatchResult` that
    ``compute=True`` returns, warning as it does.
    """

    method: str
    k: int
    level: float
    tau2_method: str | None
    ci_method: str
    intervals: bool
    estimate: Any
    se: Any
    statistic: Any
    pvalue: Any
    df: float | None
    ci: IntervalArray
    pi: IntervalArray
    tau2: Any
    tau2_ci: IntervalArray
    i2: Any
    i2_ci: IntervalArray
    h2: Any
    h2_ci: IntervalArray
    q: Any
    q_df: int
    q_pvalue: Any
    converged: Any
    iterations: Any
    _finish: Callable[[], BatchResult] = attrs.field(alias="finish", repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """The batch shape."""
        return tuple(self.estimate.shape)

    def compute(self) -> BatchResult:
        """Run the fits and gather them: the :class:`BatchResult` of ``compute=True``
        (the same numbers), warning once about rows that did not converge."""
        return self._finish()

    def __repr__(self) -> str:
        blocks = len(self.estimate.chunks[0]) if self.estimate.ndim else 1
        return (
            f"LazyBatchResult({self.method}, tau2_method={self.tau2_method!r}, k={self.k}, "
            f"shape={self.shape}, blocks={blocks}, not computed)"
        )
