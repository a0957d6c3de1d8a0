"""Many meta-analyses of different sizes from one long table, in a few batched calls.

:func:`fit_grouped` takes a table with one row per study and a column naming the
analysis each study belongs to, sorts the studies by analysis, puts the analyses
with the same number of studies k into one ``(n, k)`` block, and fits each block
with the batched inverse-variance path (the one behind ``fit_batch``): one call
per distinct k, not one per analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from metapool._progress import Progress, check_progress
from metapool._warnings import warn
from metapool.batch import OUT_OF_RANGE, out_of_range
from metapool.exceptions import InvalidDataError, MetapoolTypeError, SmallSampleWarning
from metapool.models._batched import (
    Rows,
    check_chunk_size,
    check_intervals,
    concat_rows,
    default_chunk_size,
    fit_rows,
    is_dask_collection,
    warn_rows,
)
from metapool.models._inverse_variance import CommonEffect, RandomEffects
from metapool.results import GroupedResult, IntervalArray

__all__ = [
    "Fitted",
    "GroupedResult",
    "assemble_grouped",
    "check_column_name",
    "fit_grouped",
    "fit_table",
    "missing_column",
]

_OWNER = "fit_grouped"


def fit_grouped(
    data: Any,
    *,
    by: str,
    model: CommonEffect | RandomEffects | None = None,
    yi: str = "yi",
    vi: str = "vi",
    intervals: bool = True,
    chunk_size: int | None = None,
    progress: bool = False,
) -> GroupedResult:
    """Fit one meta-analysis per value of the ``by`` column of a long table.

    Parameters
    ----------
    data : mapping of columns or pandas.DataFrame
        One row per study: the columns ``by`` (which analysis), ``yi`` (effect)
        and ``vi`` (sampling variance), all of the same length.
    by : str
        The column naming the analysis of each study (any hashable values;
        missing values are refused).
    model : CommonEffect or RandomEffects, optional
        The model fitted to every analysis; default ``RandomEffects()``.
    yi, vi : str, default "yi", "vi"
        The columns of the effects and of their sampling variances.
    intervals : bool, default True
        Compute the Q-profile interval of τ² and the I² and H² intervals (see
        :meth:`RandomEffects.fit_batch`).
    chunk_size : int, optional
        Analyses fitted at a time within a size class (default: from a 256 MB
        working-memory budget).
    progress : bool, default False
        Show a progress bar over the analyses (tqdm:
        ``pip install "metapool[progress]"``).

    Returns
    -------
    GroupedResult
        One element per analysis, in the sorted order of the keys (the order of
        first appearance when the keys cannot be sorted); each equals
        ``model.fit`` on that analysis' studies.

    Raises
    ------
    InvalidDataError
        When a column is missing, the columns differ in length, a key is missing,
        or a study's ``yi`` is not finite or its ``vi`` not finite and > 0 (the
        message names the analysis and the study's row).
    MetapoolTypeError
        When ``model`` is not an inverse-variance model or a column is not
        numeric.

    Warns
    -----
    ConvergenceWarning
        Naming the analyses whose τ² (or Q-profile interval) did not converge.
    SmallSampleWarning
        When t-based intervals were asked for and some analyses have one study
        (their intervals are z, as ``fit`` does).

    Notes
    -----
    Analyses of one study are handled as ``fit`` handles them: τ² is 0 (a
    :class:`~metapool.tau2.Fixed` τ² is kept), heterogeneity is not estimable
    (NaN) and the intervals are z-based. The studies are bucketed by k, and each
    bucket is fitted in one batched call, so the cost grows with the number of
    distinct k, not with the number of analyses.

    ``data`` may be a Dask DataFrame (``pip install "metapool[dask]"``): it is
    shuffled so that each analysis lies in one partition, each partition is
    fitted as a task on the current Dask scheduler (a ``dask.distributed``
    client when one is active), and the results are gathered and ordered as
    for in-memory input; the result is the same. Errors then name a study by
    its index label.

    Examples
    --------
    >>> import metapool as mp
    >>> data = {
    ...     "analysis": ["a", "a", "a", "b", "b", "c"],
    ...     "yi": [0.1, 0.5, 0.3, -0.2, 0.0, 0.4],
    ...     "vi": [0.02, 0.03, 0.02, 0.05, 0.04, 0.1],
    ... }
    >>> res = mp.fit_grouped(data, by="analysis", model=mp.RandomEffects(tau2="DL"))
    >>> res.keys, res.k.tolist()
    (('a', 'b', 'c'), [3, 2, 1])
    >>> res.estimate.round(3).tolist()
    [0.284, -0.089, 0.4]
    """
    if model is None:
        model = RandomEffects()
    if not isinstance(model, (CommonEffect, RandomEffects)):
        raise MetapoolTypeError(
            f"{_OWNER}: 'model' must be CommonEffect or RandomEffects (the inverse-variance "
            f"models). Got {type(model).__name__}."
        )
    intervals = check_intervals(_OWNER, intervals)
    size = check_chunk_size(_OWNER, chunk_size)
    progress = check_progress(_OWNER, progress)
    owner = f"{_OWNER}({type(model).__name__})"
    if is_dask_collection(data):
        from metapool._dask import fit_grouped_rows

        part = fit_grouped_rows(
            model,
            data,
            by=by,
            yi=yi,
            vi=vi,
            intervals=intervals,
            chunk_size=size,
            progress=progress,
            owner=owner,
        )
    else:
        part = fit_table(
            model,
            data,
            by=by,
            yi=yi,
            vi=vi,
            intervals=intervals,
            chunk_size=size,
            progress=progress,
            owner=owner,
        )
    return assemble_grouped(model, part, by=by, intervals=intervals, owner=owner)


class Fitted(NamedTuple):
    """The per-analysis arrays of a long table, before warnings and assembly."""

    names: list[Any]
    counts: NDArray[np.int64]
    rows: Rows
    method: str | None


def fit_table(
    model: CommonEffect | RandomEffects,
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
    """Check the long table and fit every analysis, bucketed by k (no warnings)."""
    keys = _column(data, by, "by")
    n_rows = len(keys)
    labels = _row_labels(data, n_rows)
    y = _numeric(data, yi, "yi", n_rows, keys, labels)
    v = _numeric(data, vi, "vi", n_rows, keys, labels)
    if n_rows == 0:
        raise InvalidDataError(f"{_OWNER}: the table has no studies (0 rows).")
    for name, arr, ok in (("yi", y, np.isfinite(y)), ("vi", v, np.isfinite(v) & (v > 0))):
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            need = "finite" if name == "yi" else "finite and > 0"
            raise InvalidDataError(
                f"{_OWNER}: '{name}' must be {need}; {_where(row, keys, labels)} has "
                f"{name}={float(arr[row])!r}."
            )

    uniq, code = _codes(keys, labels)
    counts = np.bincount(code, minlength=len(uniq))
    order = np.argsort(code, kind="stable")  # the rows of analysis a are contiguous
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n = len(uniq)
    out: Rows = {}
    method: str | None = None
    bar = Progress(n, enabled=progress, owner=_OWNER)
    try:
        for k in np.unique(counts).tolist():
            which = np.flatnonzero(counts == k)
            rows = order[start[which][:, None] + np.arange(k)]  # (n_k, k) row positions
            yk, vk = y[rows], v[rows]
            bad = out_of_range(yk, vk)
            if bad.any():
                i, j = (int(x) for x in np.argwhere(bad)[0])
                row = int(rows[i, j])
                raise InvalidDataError(
                    f"{_OWNER}: {_where(row, keys, labels)} with yi={float(y[row])!r}, "
                    f"vi={float(v[row])!r} is {OUT_OF_RANGE.replace('row', 'analysis')}."
                )
            step = chunk_size or default_chunk_size(k)
            parts = []
            for s in range(0, len(which), step):
                block, m = fit_rows(
                    model, yk[s : s + step], vk[s : s + step], intervals=intervals, owner=owner
                )
                parts.append(block)
                bar.update(min(step, len(which) - s))
                if k >= 2 or method is None:
                    method = m
            fitted = concat_rows(parts)
            for name, a in fitted.items():
                if name not in out:
                    out[name] = np.empty(n, dtype=a.dtype)
                out[name][which] = a
    finally:
        bar.close()
    return Fitted(uniq, counts.astype(np.int64), out, method)


def assemble_grouped(
    model: CommonEffect | RandomEffects, part: Fitted, *, by: str, intervals: bool, owner: str
) -> GroupedResult:
    """Warn once per kind and build the :class:`GroupedResult` of fitted analyses."""
    names, counts, out, method = part
    if model.ci != "z" and bool((counts == 1).any()):
        ones = [names[i] for i in np.flatnonzero(counts == 1)[:5]]
        warn(
            f"{owner}: ci={model.ci!r} needs k >= 2; using 'z' for the "
            f"{int((counts == 1).sum())} analysis(es) with k = 1, e.g. {ones} (as fit does).",
            SmallSampleWarning,
        )
    converged = warn_rows(model, out, method, intervals=intervals, owner=owner, names=names)
    random = model.random_effects
    return GroupedResult(
        by=by,
        keys=names,
        method="Random-effects model" if random else "Common-effect model",
        level=model.level,
        tau2_method=method,
        ci_method=model.ci,
        intervals=intervals,
        k=counts,
        estimate=out["estimate"],
        se=out["se"],
        statistic=out["statistic"],
        pvalue=out["pvalue"],
        df=out["df"],
        ci=IntervalArray(out["ci_low"], out["ci_high"]),
        pi=IntervalArray(out["pi_low"], out["pi_high"]),
        tau2=out["tau2"],
        tau2_ci=IntervalArray(out["tau2_ci_low"], out["tau2_ci_high"]),
        i2=out["i2"],
        i2_ci=IntervalArray(out["i2_ci_low"], out["i2_ci_high"]),
        h2=out["h2"],
        h2_ci=IntervalArray(out["h2_ci_low"], out["h2_ci_high"]),
        q=out["q"],
        q_df=out["q_df"],
        q_pvalue=out["q_pvalue"],
        converged=converged,
        iterations=out["iterations"],
    )


def check_column_name(name: object, role: str) -> str:
    """``name`` must be a column name (str)."""
    if not isinstance(name, str):
        raise MetapoolTypeError(
            f"{_OWNER}: '{role}' must be a column name (str). Got {name!r:.60} instead."
        )
    return name


def missing_column(name: str, role: str, have: list[Any]) -> InvalidDataError:
    """The error for a table without the column ``name``."""
    return InvalidDataError(
        f"{_OWNER}: the table has no column {name!r} (the '{role}' column); "
        f"its columns are {have!r:.200}."
    )


def _column(data: Any, name: str, role: str) -> NDArray[Any]:
    """Column ``name`` of ``data`` as a 1-d array (refusing a missing column by name)."""
    check_column_name(name, role)
    try:
        column = data[name]
    except (KeyError, IndexError, TypeError):
        raise missing_column(
            name, role, list(data.keys()) if hasattr(data, "keys") else []
        ) from None
    values = column.to_numpy() if hasattr(column, "to_numpy") else column
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1:
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    return arr


def _row_labels(data: Any, n_rows: int) -> list[Any] | None:
    """A DataFrame's index labels (None for a mapping of columns: rows are positions)."""
    index = getattr(data, "index", None)
    if index is None or callable(index) or len(index) != n_rows:
        return None
    return list(index)


def _where(row: int, keys: NDArray[Any], labels: list[Any] | None) -> str:
    """How a message names a study: ``row 4 (index 'x') of analysis 'b'``."""
    text = f"row {row + 1}"
    if labels is not None:
        text += f" (index {labels[row]!r})"
    key = keys[row]
    key = key.item() if isinstance(key, np.generic) else key
    return f"{text} of analysis {key!r}"


def _numeric(
    data: Any,
    name: str,
    role: str,
    n_rows: int,
    keys: NDArray[Any],
    labels: list[Any] | None,
) -> NDArray[np.float64]:
    """Column ``name`` as floats, naming the analysis and row of a cell that is not."""
    raw = _column(data, name, role)
    if len(raw) != n_rows:
        raise InvalidDataError(
            f"{_OWNER}: the columns must have the same length; '{name}' has {len(raw)} "
            f"rows and the 'by' column {n_rows}."
        )
    if raw.dtype.kind in "iuf":
        return np.asarray(raw, dtype=np.float64)
    for row, cell in enumerate(raw.tolist()):
        if isinstance(cell, (bool, str, bytes)) or not isinstance(cell, (int, float)):
            raise MetapoolTypeError(
                f"{_OWNER}: '{name}' must be numeric; {_where(row, keys, labels)} has "
                f"{cell!r:.60} ({type(cell).__name__})."
            )
    return np.asarray(raw.tolist(), dtype=np.float64)


def _codes(keys: NDArray[Any], labels: list[Any] | None) -> tuple[list[Any], NDArray[np.intp]]:
    """The distinct keys (sorted, or in order of first appearance when they cannot be
    sorted) and each row's position among them; a missing key is refused."""
    if keys.dtype.kind == "f" and np.isnan(keys).any():
        row = int(np.flatnonzero(np.isnan(keys))[0])
        raise InvalidDataError(_missing_key(row, labels))
    if keys.dtype.kind not in "O":
        uniq, code = np.unique(keys, return_inverse=True)
        return uniq.tolist(), np.asarray(code, dtype=np.intp).reshape(-1)
    cells = keys.tolist()
    for row, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and cell != cell):
            raise InvalidDataError(_missing_key(row, labels))
    try:
        uniq_o, code_o = np.unique(keys, return_inverse=True)
        return uniq_o.tolist(), np.asarray(code_o, dtype=np.intp).reshape(-1)
    except TypeError:  # keys of mixed types: first-appearance order
        seen: dict[Any, int] = {}
        codes = [seen.setdefault(cell, len(seen)) for cell in cells]
        return list(seen), np.asarray(codes, dtype=np.intp)


def _missing_key(row: int, labels: Sequence[Any] | None) -> str:
    where = f"row {row + 1}" + ("" if labels is None else f" (index {labels[row]!r})")
    return (
        f"{_OWNER}: the 'by' column has a missing value at {where}; every study needs an analysis."
    )
