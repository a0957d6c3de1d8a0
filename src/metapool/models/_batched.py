"""The batched inverse-variance path: τ² and the engine over rows, in chunks.

:func:`fit_rows` fits a ``(n, k)`` block of analyses (τ² by the model's
estimator, then :func:`~metapool.models._engine.fit_iv`) and returns flat arrays
without warning; :func:`fit_batch` runs it over chunks of rows of bounded
working memory, concatenates, and warns once with the rows' indices in the whole
batch. :func:`metapool.fit_grouped` runs :func:`fit_rows` once per bucket of
analyses of equal k. Every estimator and the engine work row by row, so a row's
result does not depend on the chunk it is fitted in (the tests check it).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metapool._estimation import estimate_tau2, warn_not_converged
from metapool._progress import Progress, check_progress
from metapool._warnings import warn
from metapool.batch import BatchResult, check_batch
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._engine import fit_iv
from metapool.results import IntervalArray, LazyBatchResult
from metapool.tau2 import Fixed

__all__ = [
    "HKSJ_DEGENERATE",
    "MEMORY_BUDGET",
    "ROW_DTYPES",
    "Rows",
    "batch_fields",
    "default_chunk_size",
    "fit_batch",
    "fit_block",
    "fit_rows",
    "is_dask_collection",
    "warn_q_profile",
]

Rows = dict[str, NDArray[Any]]

#: Working memory a chunk of ``fit_batch`` may use by default (bytes).
MEMORY_BUDGET = 256 * 2**20

#: Float64 arrays of length k held per row at the peak of a fit: the engine's
#: weights, residuals and rescaled copies, and the estimators' iterates and
#: root-finding brackets. Generous on purpose (measured peaks are below it).
_ARRAYS_PER_STUDY = 64
#: Per-row scalars (the fields of the result, brackets, flags), in float64 units.
_SCALARS_PER_ROW = 256


HKSJ_DEGENERATE = (
    "HKSJ: the weighted residual sum of squares is 0 (the effects agree exactly), so the "
    "HKSJ standard error is 0, the CI has zero width and p = 0 (as metafor); "
    "ci='hksj-adhoc' never gives an interval narrower than Wald's"
)


def warn_q_profile(owner: str, converged: NDArray[np.bool_]) -> bool:
    """Warn (ConvergenceWarning) when the Q-profile interval of τ² did not converge;
    returns whether every row converged."""
    stuck = ~converged
    if not stuck.any():
        return True
    where = ""
    if stuck.ndim:
        listed = [tuple(int(i) for i in r) for r in np.argwhere(stuck)[:5]]
        where = f" for {int(stuck.sum())} row(s), e.g. {listed}"
    warn(
        f"{owner}: the Q-profile confidence interval of tau^2 did not converge{where}; "
        "the result is flagged converged=False.",
        ConvergenceWarning,
    )
    return False


def default_chunk_size(k: int, budget: int = MEMORY_BUDGET) -> int:
    """Rows per chunk so that a chunk's working memory stays within ``budget`` bytes."""
    per_row = 8 * (_ARRAYS_PER_STUDY * max(k, 1) + _SCALARS_PER_ROW)
    return max(1, budget // per_row)


def check_chunk_size(owner: str, chunk_size: object) -> int | None:
    """``chunk_size`` as a positive int, or None (the default from the memory budget)."""
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool):
        raise MetapoolTypeError(
            f"The 'chunk_size' parameter of {owner} must be a positive integer or None. "
            f"Got {chunk_size!r} instead."
        )
    try:
        size = operator.index(chunk_size)  # type: ignore[arg-type]
    except TypeError:
        raise MetapoolTypeError(
            f"The 'chunk_size' parameter of {owner} must be a positive integer or None. "
            f"Got {chunk_size!r:.60} ({type(chunk_size).__name__}) instead."
        ) from None
    if size < 1:
        raise InvalidParameterError(
            f"The 'chunk_size' parameter of {owner} must be a positive integer or None. "
            f"Got {size} instead."
        )
    return size


def check_intervals(owner: str, intervals: object) -> bool:
    """``intervals`` must be a bool."""
    if not isinstance(intervals, (bool, np.bool_)):
        raise MetapoolTypeError(
            f"The 'intervals' parameter of {owner} must be True or False. "
            f"Got {intervals!r:.60} instead."
        )
    return bool(intervals)


def fit_rows(
    model: Any, y: NDArray[np.float64], v: NDArray[np.float64], *, intervals: bool, owner: str
) -> tuple[Rows, str | None]:
    """Fit the ``(n, k)`` block ``y``, ``v`` (checked; k >= 1) row by row, without warning.

    Returns the flat per-row arrays and the τ² method (None for a common-effect
    model). With k = 1 the rows are handled as ``fit`` handles one study: τ² 0
    (a fixed τ² is kept), heterogeneity NaN, z intervals.
    """
    n, k = y.shape
    random = bool(model.random_effects)
    ci = "z" if k == 1 else model.ci
    prediction = getattr(model, "prediction", "metafor") if random else "metafor"
    i2 = getattr(model, "i2", "q") if random else "q"
    tau2 = np.zeros(n)
    tau2_converged = np.ones(n, dtype=bool)
    iterations = np.zeros(n, dtype=np.int64)
    method = None if model.tau2 is None else str(model.tau2.name)
    if random and n and (k >= 2 or isinstance(model.tau2, Fixed)):
        tau2_fit = estimate_tau2(model.tau2, y, v, owner=owner, warn_stuck=False)
        tau2 = np.asarray(tau2_fit.tau2, dtype=np.float64)
        tau2_converged = np.asarray(tau2_fit.converged, dtype=bool)
        iterations = np.asarray(tau2_fit.iterations, dtype=np.int64)
        method = tau2_fit.method
    if not random:
        method = None
    fit = fit_iv(
        y,
        v,
        tau2,
        ci=ci,
        level=model.level,
        prediction=prediction,
        i2=i2,
        profile=random and intervals,
        weights=False,
    )
    nan = np.full(n, np.nan)
    estimable = k >= 2
    rows: Rows = {
        "estimate": fit.coef[..., 0],
        "se": fit.se[..., 0],
        "statistic": fit.statistic[..., 0],
        "pvalue": fit.pvalue[..., 0],
        "df": np.full(n, np.nan if fit.df is None else fit.df),
        "ci_low": fit.ci_low[..., 0],
        "ci_high": fit.ci_high[..., 0],
        "pi_low": fit.pi_low if random else fit.ci_low[..., 0],
        "pi_high": fit.pi_high if random else fit.ci_high[..., 0],
        "tau2": tau2,
        "tau2_ci_low": fit.tau2_ci_low,
        "tau2_ci_high": fit.tau2_ci_high,
        "i2": fit.i2 if estimable else nan,
        "i2_ci_low": fit.i2_ci_low,
        "i2_ci_high": fit.i2_ci_high,
        "h2": fit.h2 if estimable else nan,
        "h2_ci_low": fit.h2_ci_low,
        "h2_ci_high": fit.h2_ci_high,
        "q": fit.q,
        "q_df": np.full(n, fit.q_df, dtype=np.int64),
        "q_pvalue": fit.q_pvalue if estimable else nan,
        "tau2_converged": tau2_converged,
        "profile_converged": np.asarray(fit.profile_converged, dtype=bool),
        "iterations": iterations,
        "hksj_zero": np.asarray(fit.hksj_zero, dtype=bool),
    }
    return {name: np.asarray(a).reshape(n) for name, a in rows.items()}, method


#: The per-row arrays :func:`fit_rows` returns and their dtypes (the lazy Dask path
#: declares them before anything is computed).
ROW_DTYPES: dict[str, type] = {
    **dict.fromkeys(
        (
            "estimate",
            "se",
            "statistic",
            "pvalue",
            "df",
            "ci_low",
            "ci_high",
            "pi_low",
            "pi_high",
            "tau2",
            "tau2_ci_low",
            "tau2_ci_high",
            "i2",
            "i2_ci_low",
            "i2_ci_high",
            "h2",
            "h2_ci_low",
            "h2_ci_high",
            "q",
        ),
        np.float64,
    ),
    "q_df": np.int64,
    "q_pvalue": np.float64,
    "tau2_converged": np.bool_,
    "profile_converged": np.bool_,
    "iterations": np.int64,
    "hksj_zero": np.bool_,
}


def concat_rows(parts: list[Rows]) -> Rows:
    """The per-row arrays of consecutive blocks, end to end."""
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def fit_batch(
    model: Any,
    yi: Any,
    vi: Any,
    *,
    intervals: bool,
    chunk_size: int | None,
    progress: bool = False,
    compute: bool = True,
) -> BatchResult | LazyBatchResult:
    """``model.fit_batch``: check, fit the rows chunk by chunk, warn once, assemble.

    Dask arrays are fitted block by block on the current Dask scheduler
    (:mod:`metapool._dask`); the result is the same. With ``compute=False`` (Dask
    input only) the result stays on the scheduler, as a :class:`LazyBatchResult`.
    """
    name = type(model).__name__
    owner = f"{name}.fit_batch"
    intervals = check_intervals(owner, intervals)
    size = check_chunk_size(owner, chunk_size)
    progress = check_progress(owner, progress)
    if not isinstance(compute, (bool, np.bool_)):
        raise MetapoolTypeError(
            f"The 'compute' parameter of {owner} must be True or False. "
            f"Got {compute!r:.60} instead."
        )
    dask_input = is_dask_collection(yi) or is_dask_collection(vi)
    if not compute:
        if not dask_input:
            raise InvalidParameterError(
                f"{owner}: compute=False keeps a Dask batch on its scheduler and needs "
                "Dask arrays for 'yi' and 'vi'; numpy input is always computed."
            )
        if progress:
            raise InvalidParameterError(
                f"{owner}: progress=True shows the computation, which compute=False "
                "defers; use dask.diagnostics.ProgressBar or the dashboard when computing."
            )
        from metapool._dask import lazy_batch

        return lazy_batch(model, yi, vi, intervals=intervals, chunk_size=size, owner=owner)
    if dask_input:
        from metapool._dask import fit_batch_rows

        r, method, k = fit_batch_rows(
            model, yi, vi, intervals=intervals, chunk_size=size, progress=progress, owner=owner
        )
        return assemble_batch(model, r, method, k=k, intervals=intervals, owner=owner)
    y, v = check_batch(name, yi, vi)
    shape, k = y.shape[:-1], y.shape[-1]
    r, method = fit_block(
        model,
        y.reshape(-1, k),
        v.reshape(-1, k),
        intervals=intervals,
        chunk_size=size,
        bar=Progress(int(np.prod(shape)), enabled=progress, owner=owner),
        owner=owner,
    )
    r = {key: a.reshape(shape) for key, a in r.items()}
    return assemble_batch(model, r, method, k=k, intervals=intervals, owner=owner)


def fit_block(
    model: Any,
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    *,
    intervals: bool,
    chunk_size: int | None,
    owner: str,
    bar: Progress | None = None,
) -> tuple[Rows, str | None]:
    """Fit the checked ``(n, k)`` rows in chunks of bounded memory; the flat arrays."""
    n, k = y.shape
    size = chunk_size or default_chunk_size(k)
    parts: list[Rows] = []
    method: str | None = None
    try:
        for start in range(0, max(n, 1), size):
            block, method = fit_rows(
                model,
                y[start : start + size],
                v[start : start + size],
                intervals=intervals,
                owner=owner,
            )
            parts.append(block)
            if bar is not None:
                bar.update(min(size, n - start))
    finally:
        if bar is not None:
            bar.close()
    return concat_rows(parts), method


def is_dask_collection(value: object) -> bool:
    """Whether ``value`` is a Dask collection (without importing Dask)."""
    return type(value).__module__.split(".", 1)[0] == "dask"


def warn_rows(
    model: Any,
    r: Rows,
    method: str | None,
    *,
    intervals: bool,
    owner: str,
    names: Sequence[Any] | None = None,
) -> NDArray[np.bool_]:
    """Warn once per kind about the rows of ``r`` (non-converged τ², HKSJ with Q = 0,
    non-converged Q-profile); returns the ``converged`` flags of the result."""
    if method is not None:
        stuck = np.flatnonzero(~r["tau2_converged"])
        picked = None if names is None else [names[int(i)] for i in stuck[:5]]
        warn_not_converged(owner, method, r["tau2_converged"], names=picked)
    zero = r["hksj_zero"]
    if zero.any():
        listed: list[object] = (
            [names[int(i)] for i in np.flatnonzero(zero)[:5]]
            if names is not None
            else [tuple(int(i) for i in row) for row in np.argwhere(zero)[:5]]
        )
        what = "analysis(es)" if names is not None else "row(s)"
        warn(
            f"{owner}: {HKSJ_DEGENERATE} in {int(zero.sum())} {what}, e.g. {listed}.",
            DegenerateDataWarning,
        )
    if model.random_effects and intervals:
        if names is None:
            warn_q_profile(owner, r["profile_converged"])
        elif not r["profile_converged"].all():
            _warn_q_profile_named(
                owner, [names[int(i)] for i in np.flatnonzero(~r["profile_converged"])]
            )
    return np.asarray(r["tau2_converged"] & r["profile_converged"])


def _warn_q_profile_named(owner: str, stuck: list[Any]) -> None:
    warn(
        f"{owner}: the Q-profile confidence interval of tau^2 did not converge for "
        f"{len(stuck)} analysis(es), e.g. {stuck[:5]}; the result is flagged converged=False.",
        ConvergenceWarning,
    )


def assemble_batch(
    model: Any, r: Rows, method: str | None, *, k: int, intervals: bool, owner: str
) -> BatchResult:
    """The :class:`BatchResult` of the per-row arrays ``r`` (batch shape), warning once."""
    converged = warn_rows(model, r, method, intervals=intervals, owner=owner)
    return BatchResult(
        **batch_fields(model, r, k=k, tau2_method=method, converged=converged),
        intervals=intervals,
    )


def batch_fields(
    model: Any, r: Mapping[str, Any], *, k: int, tau2_method: str | None, converged: Any
) -> dict[str, Any]:
    """The fields of a :class:`BatchResult` (or a :class:`LazyBatchResult`, whose
    arrays are Dask arrays) from the per-row arrays ``r`` of :func:`fit_rows`."""
    random = bool(model.random_effects)
    return {
        "method": "Random-effects model" if random else "Common-effect model",
        "k": k,
        "level": model.level,
        "tau2_method": tau2_method,
        "ci_method": model.ci,
        "estimate": r["estimate"],
        "se": r["se"],
        "statistic": r["statistic"],
        "pvalue": r["pvalue"],
        "df": None if model.ci == "z" else float(k - 1),
        "ci": IntervalArray(r["ci_low"], r["ci_high"]),
        "pi": IntervalArray(r["pi_low"], r["pi_high"]),
        "tau2": r["tau2"],
        "tau2_ci": IntervalArray(r["tau2_ci_low"], r["tau2_ci_high"]),
        "i2": r["i2"],
        "i2_ci": IntervalArray(r["i2_ci_low"], r["i2_ci_high"]),
        "h2": r["h2"],
        "h2_ci": IntervalArray(r["h2_ci_low"], r["h2_ci_high"]),
        "q": r["q"],
        "q_df": k - 1,
        "q_pvalue": r["q_pvalue"],
        "converged": converged,
        "iterations": r["iterations"],
    }
