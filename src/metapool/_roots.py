"""A bracketed, safeguarded Newton root finder, vectorised along a batch.

Used for every 1-D equation in metapool (REML/ML score equations, the
Paule–Mandel / empirical Bayes equation, Q-profile bounds). Each element of a
batch has its own bracket ``[lo, hi]`` in which ``f`` changes sign. Every
iteration takes a Newton step with the analytic derivative when it stays inside
the bracket and shrinks the step fast enough, and a bisection step otherwise;
the bracket is updated from the sign of ``f`` at the new point. It therefore
cannot leave the bracket or stall, converges quadratically near a simple root,
and stops when the last step is below the tolerance. The iteration cap only
guards against a broken ``f``.

A single analysis (scalar bracket) runs the same algorithm on Python floats,
which avoids the per-iteration overhead of array operations.

References
----------
.. [1] Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007). Numerical
   Recipes, 3rd ed., section 9.4 (Newton-Raphson using derivative, with
   bisection safeguard).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["RootResult", "at_rows", "bracketed_root"]

Array = NDArray[np.float64]
FunctionAndSlope = Callable[[Array, "NDArray[np.intp] | None"], tuple[Array, Array]]

#: Relative step tolerance: about 4500 machine epsilons, so it is always reachable
#: in double precision, and far below the 1e-10 asked of every estimator.
RTOL = 1e-12


class RootResult(NamedTuple):
    root: Array
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]


def at_rows(
    rows: NDArray[np.intp] | None, yi: Array, vi: Array, X: Array | None
) -> tuple[Array, Array, Array | None]:
    """The analyses ``rows`` (flat indices into the batch shape ``yi.shape[:-1]``) of
    ``yi``, ``vi`` and ``X`` (shared when 2-d); all when None."""
    if rows is None:
        return yi, vi, X
    if yi.ndim == 2 and (X is None or X.ndim == 2):
        # one batch axis: whole rows by take (several times faster than fancy indexing)
        return yi.take(rows, axis=0), vi.take(rows, axis=0), X
    at = np.unravel_index(rows, yi.shape[:-1])
    return yi[at], vi[at], X[at] if X is not None and X.ndim > 2 else X


def bracketed_root(
    fdf: FunctionAndSlope,
    lo: Array,
    hi: Array,
    f_lo: Array,
    f_hi: Array,
    *,
    xtol: Array | float,
    rtol: float = RTOL,
    maxiter: int = 100,
    start: Array | None = None,
) -> RootResult:
    """Find ``x`` in ``[lo, hi]`` with ``f(x) = 0`` for every element of a batch.

    ``fdf(x, rows)`` returns ``(f(x), f'(x))``: for a batch, ``x`` holds the
    values of the elements ``rows`` (flat indices into ``lo.shape``, as
    ``np.unravel_index`` reads them) and only the elements still iterating are
    evaluated (an active set); for a single element ``rows`` is None.
    ``f_lo`` and ``f_hi`` must have opposite signs (or one of them be 0).
    Elements stop when a step is smaller than ``xtol + rtol * |x|``, when the
    bracket is that narrow, or when ``f`` is exactly 0. The iteration starts at
    ``start`` where it lies strictly inside the bracket, otherwise at the midpoint.
    """
    lo = np.asarray(lo, dtype=np.float64)
    if lo.shape == ():
        return _scalar_root(
            fdf,
            lo,
            hi,
            f_lo,
            f_hi,
            xtol=float(np.asarray(xtol)),
            rtol=rtol,
            maxiter=maxiter,
            start=None if start is None else float(np.asarray(start)),
        )
    shape = lo.shape
    lo = lo.reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    f_lo = np.asarray(f_lo, dtype=np.float64).reshape(-1)
    f_hi = np.asarray(f_hi, dtype=np.float64).reshape(-1)
    tol_all = np.broadcast_to(np.asarray(xtol, dtype=np.float64), shape).reshape(-1)
    # Orient each bracket so that f(neg) < 0 < f(pos).
    done = (f_lo == 0) | (f_hi == 0) | (np.abs(hi - lo) <= tol_all)
    first = 0.5 * (lo + hi)
    if start is not None:
        guess = np.broadcast_to(np.asarray(start, dtype=np.float64), shape).reshape(-1)
        inside = (guess > np.minimum(lo, hi)) & (guess < np.maximum(lo, hi))
        first = np.where(inside, guess, first)
    root = np.where(f_lo == 0, lo, np.where(f_hi == 0, hi, first))
    iterations = np.zeros(lo.shape, dtype=np.int64)
    rows = np.flatnonzero(~done)
    # the state of the elements still iterating (indexed by position in ``rows``)
    x = root[rows]
    neg = np.where(f_lo < 0, lo, hi)[rows]
    pos = np.where(f_lo < 0, hi, lo)[rows]
    step_old = np.abs(hi - lo)[rows]
    step = step_old.copy()
    tol = tol_all[rows]
    f, df = (np.asarray(a, dtype=np.float64) for a in fdf(x, rows))
    for _ in range(maxiter):
        zero = f == 0
        if zero.any():
            done[rows[zero]] = True
            keep = ~zero
            rows, x, neg, pos, step_old, step, tol, f, df = (
                a[keep] for a in (rows, x, neg, pos, step_old, step, tol, f, df)
            )
        if rows.size == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - f / df
        low, high = np.minimum(neg, pos), np.maximum(neg, pos)
        bisect = (
            ~np.isfinite(newton)
            | (newton <= low)
            | (newton >= high)
            | (np.abs(2.0 * f) > np.abs(step_old * df))
        )
        step_old = step
        step = np.where(bisect, 0.5 * (pos - neg), f / np.where(df == 0, 1.0, df))
        x = np.where(bisect, neg + 0.5 * (pos - neg), newton)
        root[rows] = x
        iterations[rows] += 1
        limit = tol + rtol * np.abs(x)
        stop = (np.abs(step) <= limit) | (np.abs(pos - neg) <= limit)
        done[rows[stop]] = True
        keep = ~stop
        rows, x, neg, pos, step_old, step, tol = (
            a[keep] for a in (rows, x, neg, pos, step_old, step, tol)
        )
        if rows.size == 0:
            break
        f, df = (np.asarray(a, dtype=np.float64) for a in fdf(x, rows))
        neg = np.where(f < 0, x, neg)
        pos = np.where(f > 0, x, pos)
    return RootResult(root.reshape(shape), done.reshape(shape), iterations.reshape(shape))


def _scalar_root(
    fdf: FunctionAndSlope,
    lo_: Array,
    hi_: Array,
    f_lo_: Array,
    f_hi_: Array,
    *,
    xtol: float,
    rtol: float,
    maxiter: int,
    start: float | None = None,
) -> RootResult:
    """The same algorithm on Python floats, for one analysis."""
    lo, hi, f_lo, f_hi = (
        float(lo_),
        float(np.asarray(hi_)),
        float(np.asarray(f_lo_)),
        float(np.asarray(f_hi_)),
    )

    def result(x: float, converged: bool, iterations: int) -> RootResult:
        return RootResult(np.asarray(x), np.asarray(converged), np.asarray(iterations))

    if f_lo == 0 or abs(hi - lo) <= xtol:
        return result(lo, True, 0)
    if f_hi == 0:
        return result(hi, True, 0)
    neg, pos = (lo, hi) if f_lo < 0 else (hi, lo)
    x = 0.5 * (lo + hi)
    if start is not None and min(lo, hi) < start < max(lo, hi):
        x = start
    step_old = step = abs(hi - lo)
    f_arr, df_arr = fdf(np.asarray(x), None)
    f, df = float(f_arr), float(df_arr)
    for iteration in range(1, maxiter + 1):
        if f == 0:
            return result(x, True, iteration - 1)
        newton = x - f / df if df != 0 else float("nan")
        low, high = min(neg, pos), max(neg, pos)
        step_old_now = step_old
        step_old = step
        if not (low < newton < high) or abs(2.0 * f) > abs(step_old_now * df):
            step = 0.5 * (pos - neg)
            x = neg + step
        else:
            step = f / df
            x = newton
        limit = xtol + rtol * abs(x)
        if abs(step) <= limit or abs(pos - neg) <= limit:
            return result(x, True, iteration)
        f_arr, df_arr = fdf(np.asarray(x), None)
        f, df = float(f_arr), float(df_arr)
        if f < 0:
            neg = x
        else:
            pos = x
    return result(x, False, maxiter)
