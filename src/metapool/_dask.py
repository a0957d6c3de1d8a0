"""Scale-out with Dask: ``fit_batch`` on Dask arrays, ``fit_grouped`` on Dask DataFrames.

Imported only when a Dask collection arrives (``models/_batched.py`` and
``grouped.py`` test the type's module without importing Dask). Each block of
analyses is one task running the in-memory path (``fit_block`` or
``fit_table``), which returns the per-analysis arrays without warning; the tasks
run on the current Dask scheduler (a ``dask.distributed`` client when one is
active, else Dask's default), and the arrays are gathered and assembled by the
caller exactly as for numpy input, so warnings are issued once, in the calling
process, and the result is identical.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from metapool.batch import check_batch
from metapool.exceptions import InvalidDataError, MissingDependencyError
from metapool.grouped import Fitted, check_column_name, fit_table, missing_column
from metapool.models._batched import (
    ROW_DTYPES,
    Rows,
    assemble_batch,
    batch_fields,
    concat_rows,
    fit_block,
)
from metapool.results import BatchResult, LazyBatchResult

__all__ = ["fit_batch_rows", "fit_grouped_rows", "lazy_batch"]


def _import_dask(owner: str) -> Any:
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - a Dask object implies Dask
        raise MissingDependencyError(
            f'{owner} was given a Dask collection and needs dask: pip install "metapool[dask]".'
        ) from exc
    return dask


def _compute(dask: Any, tasks: Sequence[Any], *, progress: bool, owner: str) -> list[Any]:
    """Run the tasks on the current scheduler, with a progress bar when asked."""
    if not progress:
        return list(dask.compute(*tasks))
    try:
        from distributed import as_completed, get_client

        client = get_client()
    except (ImportError, ValueError):
        client = None
    if client is None:
        from dask.diagnostics.progress import ProgressBar

        with ProgressBar():
            return list(dask.compute(*tasks))
    from metapool._progress import Progress

    futures = client.compute(list(tasks))
    bar = Progress(len(futures), enabled=True, owner=owner, unit="block")
    try:
        for _ in as_completed(futures):
            bar.update(1)
    finally:
        bar.close()
    return list(client.gather(futures))


def _block(
    model: Any,
    y: Any,
    v: Any,
    offset: int,
    *,
    intervals: bool,
    chunk_size: int | None,
    owner: str,
    name: str,
) -> tuple[Rows, str | None]:
    y2, v2 = check_batch(name, y, v, offset=offset)
    return fit_block(model, y2, v2, intervals=intervals, chunk_size=chunk_size, owner=owner)


def _batch_tasks(
    model: Any,
    yi: Any,
    vi: Any,
    *,
    intervals: bool,
    chunk_size: int | None,
    owner: str,
) -> tuple[Any, list[Any], tuple[int, ...], int, tuple[int, ...]]:
    """One delayed fit per block of rows of the Dask arrays ``(n, k)`` (or ``(k,)``):
    ``(dask, tasks, batch shape, k, rows per block)``."""
    dask = _import_dask(owner)
    import dask.array as da

    name = type(model).__name__
    y, v = da.asarray(yi), da.asarray(vi)
    if y.shape != v.shape or y.ndim not in (1, 2):
        raise InvalidDataError(
            f"{owner}: Dask arrays 'yi' and 'vi' must have the same shape (n, k), one "
            f"analysis per row, chunked along the rows; got {y.shape} and {v.shape}."
        )
    if any(np.isnan(d) for d in y.shape) or any(np.isnan(d) for d in v.shape):
        raise InvalidDataError(
            f"{owner}: the Dask arrays have unknown chunk sizes; call "
            "compute_chunk_sizes() on them first."
        )
    shape = tuple(int(d) for d in y.shape[:-1])
    k = int(y.shape[-1])
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    y = y.rechunk({1: -1})  # every analysis whole in one block
    v = v.rechunk(y.chunks)
    sizes = tuple(int(c) for c in y.chunks[0])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    delayed = dask.delayed(_block, pure=True)
    tasks = [
        delayed(
            model,
            yb,
            vb,
            int(off),
            intervals=intervals,
            chunk_size=chunk_size,
            owner=owner,
            name=name,
        )
        for yb, vb, off in zip(y.to_delayed().ravel(), v.to_delayed().ravel(), offsets, strict=True)
    ]
    return dask, tasks, shape, k, sizes


def _gathered(
    results: list[tuple[Rows, str | None]], shape: tuple[int, ...]
) -> tuple[Rows, str | None]:
    method = next((m for _, m in results if m is not None), None)
    rows = concat_rows([r for r, _ in results])
    return {key: a.reshape(shape) for key, a in rows.items()}, method


def fit_batch_rows(
    model: Any,
    yi: Any,
    vi: Any,
    *,
    intervals: bool,
    chunk_size: int | None,
    progress: bool,
    owner: str,
) -> tuple[Rows, str | None, int]:
    """Fit Dask arrays ``(n, k)`` (or ``(k,)``) block by block; the per-row arrays."""
    dask, tasks, shape, k, _ = _batch_tasks(
        model, yi, vi, intervals=intervals, chunk_size=chunk_size, owner=owner
    )
    rows, method = _gathered(_compute(dask, tasks, progress=progress, owner=owner), shape)
    return rows, method, k


def lazy_batch(
    model: Any,
    yi: Any,
    vi: Any,
    *,
    intervals: bool,
    chunk_size: int | None,
    owner: str,
) -> LazyBatchResult:
    """``fit_batch(..., compute=False)``: the fields as Dask arrays over the block tasks."""
    dask, tasks, shape, k, sizes = _batch_tasks(
        model, yi, vi, intervals=intervals, chunk_size=chunk_size, owner=owner
    )
    import dask.array as da

    if k < 2:  # as check_batch, before anything is deferred
        raise InvalidDataError(f"{owner}: needs k >= 2 studies per analysis; got k = {k}.")
    take = dask.delayed(operator.getitem, pure=True)
    row_sets = [take(task, 0) for task in tasks]

    def field(key: str) -> Any:
        blocks = [
            da.from_delayed(take(rows, key), shape=(size,), dtype=ROW_DTYPES[key])
            for rows, size in zip(row_sets, sizes, strict=True)
        ]
        return da.concatenate(blocks).reshape(shape)

    f = {key: field(key) for key in ROW_DTYPES}

    def finish() -> BatchResult:
        rows, method = _gathered(list(dask.compute(*tasks)), shape)
        return assemble_batch(model, rows, method, k=k, intervals=intervals, owner=owner)

    random = bool(model.random_effects)
    return LazyBatchResult(
        **batch_fields(
            model,
            f,
            k=k,
            tau2_method=str(model.tau2.name) if random else None,
            converged=f["tau2_converged"] & f["profile_converged"],
        ),
        intervals=intervals,
        finish=finish,
    )


def _partition(
    model: Any,
    frame: Any,
    *,
    by: str,
    yi: str,
    vi: str,
    intervals: bool,
    chunk_size: int | None,
    owner: str,
) -> Fitted | None:
    if len(frame) == 0:
        return None
    # the shuffle may reorder the studies of an analysis; the index restores the
    # table's order (and so the summation order of the in-memory path) when it
    # increases along the table, as that of from_pandas or read_csv does
    with contextlib.suppress(TypeError):  # an index that cannot be sorted: keep the order
        frame = frame.sort_index(kind="stable")
    return fit_table(
        model,
        frame,
        by=by,
        yi=yi,
        vi=vi,
        intervals=intervals,
        chunk_size=chunk_size,
        progress=False,
        owner=owner,
    )


def fit_grouped_rows(
    model: Any,
    data: Any,
    *,
    by: str,
    yi: str,
    vi: str,
    intervals: bool,
    chunk_size: int | None,
    progress: bool,
    owner: str,
) -> Fitted:
    """Fit a Dask DataFrame (one row per study) analysis by analysis, partition by partition."""
    dask = _import_dask(owner)
    columns = list(getattr(data, "columns", []))
    for role, column in (("by", by), ("yi", yi), ("vi", vi)):
        if check_column_name(column, role) not in columns:
            raise missing_column(column, role, columns)
    # every analysis in one partition (the shuffle keeps the index labels)
    shuffled = data[[by, yi, vi]].shuffle(on=by)
    delayed = dask.delayed(_partition, pure=True)
    tasks = [
        delayed(
            model,
            part,
            by=by,
            yi=yi,
            vi=vi,
            intervals=intervals,
            chunk_size=chunk_size,
            owner=owner,
        )
        for part in shuffled.to_delayed()
    ]
    parts = [p for p in _compute(dask, tasks, progress=progress, owner=owner) if p is not None]
    if not parts:
        raise InvalidDataError("fit_grouped: the table has no studies (0 rows).")
    names = [key for p in parts for key in p.names]
    counts = np.concatenate([p.counts for p in parts])
    rows = concat_rows([p.rows for p in parts])
    try:
        order = np.argsort(np.asarray(names), kind="stable")
    except TypeError:  # keys that cannot be compared: keep the gathered order
        order = np.arange(len(names))
    if len(set(names)) != len(names):  # pragma: no cover - the shuffle guarantees it
        raise InvalidDataError("fit_grouped: an analysis was split across partitions.")
    method = next((p.method for p in parts if p.method is not None), None)
    return Fitted(
        [names[i] for i in order],
        counts[order],
        {key: a[order] for key, a in rows.items()},
        method,
    )
