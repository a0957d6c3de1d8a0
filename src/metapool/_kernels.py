"""Pure-numpy building blocks of every inverse-variance analysis.

Everything here works along the last axis: ``y`` and ``v`` have shape
``(..., k)``, so a batch of ``n`` meta-analyses of ``k`` studies each is one
call with arrays of shape ``(n, k)``. An optional design matrix ``X`` of shape
``(k, p)`` (or ``(..., k, p)``) gives meta-regression; ``X=None`` is the
intercept-only model, computed with plain sums.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "WLS",
    "heterogeneity_from_q",
    "heterogeneity_from_tau2",
    "n_params",
    "ols_rss",
    "rowsum",
    "trace_p",
    "wls",
]

Array = NDArray[np.float64]

try:  # numpy >= 2: the C function behind np.einsum, without its argument parsing
    from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
        c_einsum as _einsum,
    )
except ImportError:  # pragma: no cover - older or future numpy: the public function
    _einsum = np.einsum


class WLS(NamedTuple):
    """Weighted least-squares fit along the last axis."""

    beta: Array  #: (..., p) coefficients
    cov: Array  #: (..., p, p) (X' W X)^-1
    resid: Array  #: (..., k) y - X beta
    rss: Array  #: (...,) sum of w * resid**2


def rowsum(a: Array) -> Array:
    """Sum over the last (study) axis of a float array.

    ``einsum`` is several times faster than ``sum(axis=-1)`` on ``(n, k)``
    arrays with a short study axis (numpy's reduction sets up a loop per row),
    and adds each row in index order whatever its place in memory, so a row
    gives the same bits alone, in a chunk, in a copy or in the whole batch (the
    batch = loop laws of the estimators rely on it). Its C entry point is called
    directly where numpy exposes it: the Python wrapper would double the cost of
    the many small sums of a single fit.
    """
    return np.asarray(_einsum("...k->...", a))


def n_params(X: Array | None) -> int:
    """Number of coefficients (1 for the intercept-only model)."""
    return 1 if X is None else int(X.shape[-1])


def wls(y: Array, w: Array, X: Array | None = None) -> WLS:
    """Weighted least squares of ``y`` on ``X`` with weights ``w``."""
    if X is None:
        sw = rowsum(w)
        beta = rowsum(w * y) / sw
        resid = y - beta[..., None]
        rss = rowsum(w * resid * resid)
        return WLS(beta[..., None], (1.0 / sw)[..., None, None], resid, rss)
    xtwx = np.einsum("...k,...kp,...kq->...pq", w, X, X)
    xtwy = np.einsum("...k,...kp,...k->...p", w, X, y)
    cov = np.linalg.inv(xtwx)
    beta = np.einsum("...pq,...q->...p", cov, xtwy)
    resid = y - np.einsum("...kp,...p->...k", X, beta)
    rss = rowsum(w * resid * resid)
    return WLS(beta, cov, resid, rss)


def trace_p(w: Array, X: Array | None = None, cov: Array | None = None) -> Array:
    """``tr(P)`` with ``P = W - W X (X'WX)^-1 X' W``.

    Equals ``sum(w) - tr((X'WX)^-1 X' W² X)``; for the intercept-only model
    ``sum(w) - sum(w²)/sum(w)``.
    """
    sw = rowsum(w)
    if X is None:  # w * (w / Σw) rather than w² / Σw: no overflow for huge weights
        return np.asarray(sw - rowsum(w * (w / sw[..., None])))
    if cov is None:
        cov = np.linalg.inv(np.einsum("...k,...kp,...kq->...pq", w, X, X))
    xtw2x = np.einsum("...k,...kp,...kq->...pq", w * w, X, X)
    return np.asarray(sw - np.einsum("...pq,...qp->...", cov, xtw2x))


def ols_rss(y: Array, X: Array | None = None) -> Array:
    """Unweighted residual sum of squares (used for bounds and moment estimators)."""
    return wls(y, np.ones_like(y), X).rss


def heterogeneity_from_tau2(tau2: Array | float, s2: Array | float) -> tuple[Array, Array]:
    """I² (percent) and H² from τ² and the typical within-study variance."""
    tau2 = np.asarray(tau2, dtype=np.float64)
    s2 = np.asarray(s2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # k = p: s² is not estimable
        i2 = 100.0 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
    return np.asarray(i2), np.asarray(h2)


def heterogeneity_from_q(q: Array | float, df: Array | float) -> tuple[Array, Array]:
    """I² (percent, truncated at 0) and H² from Q and its degrees of freedom."""
    q = np.asarray(q, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - df) / q), 0.0)
        h2 = q / df
    return np.asarray(i2), np.asarray(h2)
