"""Cluster-robust (sandwich) covariance of a weighted least-squares fit: the pure core.

Given effects ``y``, a design ``X`` (k × p), the estimates ``beta`` of the working
model and its marginal covariance ``V`` (the variances ``vi + τ²`` as a vector, or
a k × k matrix), and the cluster of each row (integer codes ``0 .. J-1``), this
module computes

* the robust covariance ``Σ_j B_j e_j e_jᵀ B_jᵀ`` with ``B_j = M X_jᵀ W_j A_j``,
  ``M = (Xᵀ W X)⁻¹``, ``W = V⁻¹`` and ``e = y - Xβ`` (CR0: ``A_j = I``; CR1: CR0
  times ``J/(J - p)``; CR2: the bias-reduction matrices of Bell & McCaffrey
  with the working covariance as target, as R's clubSandwich),
* Satterthwaite degrees of freedom of each coefficient (CR2), and
* the Hotelling T² approximation "HTZ" of a Wald test of ``Cβ = 0`` (CR2).

Everything the degrees of freedom need is kept per cluster as two p × p matrices:
``gram_j = B_j (V_j - X_j M X_jᵀ) B_jᵀ`` (the covariance of the cluster's score
``B_j e_j`` under the working model) and ``lever_j = B_j X_j Lₘ`` with ``Lₘ Lₘᵀ = M``
(whose products give the covariances between clusters' scores). ``gram_j`` is
computed in a form without cancellation (a cluster of leverage near 1 makes
``B_j V_j B_jᵀ`` and ``lever_j lever_jᵀ`` both large and nearly equal, and their
difference loses digits), and the cross-cluster terms are summed pair by pair, in
blocks of clusters, never as a difference of large sums.

References: Bell & McCaffrey (2002), Survey Methodology 28(2):169-181; Tipton
(2015), Psychological Methods 20(3):375-393; Tipton & Pustejovsky (2015), Journal
of Educational and Behavioral Statistics 40(6):604-634; Pustejovsky & Tipton
(2018), Journal of Business & Economic Statistics 36(4):672-683.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, special

__all__ = [
    "ADJUSTMENTS",
    "Sandwich",
    "WaldParts",
    "cluster_sandwich",
    "couples_clusters",
    "f_wald",
    "htz_wald",
    "satterthwaite_df",
    "wald_q",
]

Array = NDArray[np.float64]

#: The small-sample adjustments, in increasing order of refinement.
ADJUSTMENTS = ("CR0", "CR1", "CR2")

#: Eigenvalues below this fraction of the largest possible one are treated as 0 when
#: a matrix is raised to the power -1/2 (clubSandwich uses an absolute 1e-12 on its
#: normalised scale; a relative threshold makes the result independent of units).
EIGEN_TOL = 1e-12


class Sandwich(NamedTuple):
    """The robust covariance and what its tests need."""

    vcov: Array
    #: degrees of freedom of each coefficient's t test
    df: Array
    #: per-cluster ``B_j (V_j - X_j M X_jᵀ) B_jᵀ`` (J × p × p), CR2 only
    gram: Array | None
    #: per-cluster ``B_j X_j Lₘ`` (J × p × p), CR2 only
    lever: Array | None


class WaldParts(NamedTuple):
    """An F-type Wald test: statistic, the scale factor applied to ``Q/q``, df, p."""

    q_statistic: float
    statistic: float
    delta: float
    df_num: int
    df_denom: float
    pvalue: float


def _blocks(codes: NDArray[np.intp], n_clusters: int) -> list[NDArray[np.intp]]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_clusters + 1))
    return [order[bounds[j] : bounds[j + 1]] for j in range(n_clusters)]


def couples_clusters(cov: Array, codes: NDArray[np.intp]) -> bool:
    """Whether a k × k working covariance has a non-zero entry between two clusters."""
    if cov.ndim == 1:
        return False
    across = codes[:, None] != codes[None, :]
    return bool(np.any(cov[across] != 0.0))


def cluster_sandwich(
    y: Array,
    X: Array,
    beta: Array,
    cov: Array,
    codes: NDArray[np.intp],
    n_clusters: int,
    adjust: str,
) -> Sandwich:
    """The cluster-robust covariance of ``beta`` (see the module docstring).

    ``cov`` is a vector of variances (a diagonal working covariance) or a k × k
    matrix. A matrix that couples rows of different clusters is inverted as a
    whole (CR0/CR1, as metafor's ``robust()``); CR2 needs it block-diagonal by
    cluster, which the caller checks.
    """
    k, p = X.shape
    blocks = _blocks(codes, n_clusters)
    resid = y - X @ beta
    if cov.ndim == 1:
        v_blocks = [np.diag(cov[idx]) for idx in blocks]
        w_blocks = [np.diag(1.0 / cov[idx]) for idx in blocks]
    elif couples_clusters(cov, codes):
        w_full = linalg.cho_solve(linalg.cho_factor(cov, lower=True), np.eye(k))
        v_blocks = []
        w_blocks = []
    else:
        v_blocks = [cov[np.ix_(idx, idx)] for idx in blocks]
        w_blocks = [
            linalg.cho_solve(linalg.cho_factor(v, lower=True), np.eye(v.shape[0])) for v in v_blocks
        ]

    if w_blocks:
        xtwx = sum(
            (X[idx].T @ w @ X[idx] for idx, w in zip(blocks, w_blocks, strict=True)),
            np.zeros((p, p)),
        )
        m = np.linalg.inv(xtwx)
        est = [m @ X[idx].T @ w for idx, w in zip(blocks, w_blocks, strict=True)]
    else:
        m = np.linalg.inv(X.T @ w_full @ X)
        bread = m @ X.T @ w_full
        est = [bread[:, idx] for idx in blocks]

    gram: Array | None = None
    lever: Array | None = None
    if adjust == "CR2":
        parts = [_cr2_adjustment(X[idx], v, m) for idx, v in zip(blocks, v_blocks, strict=True)]
        est = [e @ a for e, (a, _) in zip(est, parts, strict=True)]
        m_chol = np.linalg.cholesky(m)
        gram = np.stack([r.T @ r for _, r in parts])
        lever = np.stack([e @ X[idx] @ m_chol for e, idx in zip(est, blocks, strict=True)])

    scores = np.stack([e @ resid[idx] for e, idx in zip(est, blocks, strict=True)])  # J × p
    vcov = scores.T @ scores
    if adjust == "CR1":
        vcov = vcov * (n_clusters / (n_clusters - p))
    vcov = 0.5 * (vcov + vcov.T)
    if gram is not None and lever is not None:
        df = np.array([satterthwaite_df(gram, lever, np.eye(p)[[i]]) for i in range(p)])
    else:
        df = np.full(p, float(n_clusters - p))
    return Sandwich(vcov=vcov, df=df, gram=gram, lever=lever)


def _cr2_adjustment(x: Array, v: Array, m: Array) -> tuple[Array, Array]:
    """Bell & McCaffrey's ``A_j = L (Lᵀ (V_j - X_j M X_jᵀ) L)^(-1/2) Lᵀ`` with ``L Lᵀ = V_j``
    (clubSandwich's CR2 with the working covariance as target), and ``R_j`` with
    ``R_jᵀ R_j = B_j (V_j - X_j M X_jᵀ) B_jᵀ`` for ``B_j = M X_jᵀ W_j A_j``.

    With ``G = Lᵀ (V_j - X_j M X_jᵀ) L = U Λ Uᵀ`` (eigenvalues kept: ``U_k``), that
    product is ``M X_jᵀ L⁻ᵀ U_k U_kᵀ L⁻¹ X_j M``, so ``R_j = U_kᵀ L⁻¹ X_j M``.
    """
    chol = np.linalg.cholesky(v)
    g = chol.T @ (v - x @ m @ x.T) @ chol
    g = 0.5 * (g + g.T)
    values, vectors = np.linalg.eigh(g)
    keep = values > EIGEN_TOL * float(np.max(np.linalg.eigvalsh(v))) ** 2
    kept = vectors[:, keep]
    root = (kept * values[keep] ** -0.5) @ kept.T
    adjustment: Array = chol @ root @ chol.T
    r: Array = kept.T @ np.linalg.solve(chol, x) @ m
    return adjustment, r


def _contrast_terms(gram: Array, lever: Array, C: Array) -> tuple[Array, Array, Array]:
    """Per-cluster ``C gram_j Cᵀ`` and ``C lever_j``, and ``Ω = Σ_j C gram_j Cᵀ`` (the
    expected robust covariance of ``Cβ`` under the working model)."""
    g = np.einsum("ap,jpq,bq->jab", C, gram, C)
    h = np.einsum("ap,jpx->jax", C, lever)
    omega = g.sum(axis=0)
    return g, h, 0.5 * (omega + omega.T)


#: Clusters per block when the cross-cluster products are summed (bounds the memory of
#: one block to CHUNK · J · q² numbers).
CHUNK = 256


def _frobenius_products(g: Array, h: Array) -> Array:
    """``F[a,b,c,d] = ⟨P_ab, P_cd⟩`` (sum over cluster pairs ``j, l``), where
    ``P_ab[j,j] = g_j[a,b]`` and ``P_ab[j,l] = -h_j[a]·h_l[b]`` for ``j ≠ l``; the
    cross-cluster products are formed block by block and their diagonal dropped,
    so nothing is obtained as a difference of large sums."""
    n, q = h.shape[0], h.shape[1]
    out: Array = np.einsum("jab,jcd->abcd", g, g)
    flat = np.zeros((q * q, q * q))
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        k = np.tensordot(h[start:stop], h, axes=([2], [2])).transpose(0, 2, 1, 3)
        rows = np.arange(stop - start)
        k[rows, rows + start] = 0.0
        k2 = np.ascontiguousarray(k).reshape(-1, q * q)
        flat += k2.T @ k2
    out += flat.reshape(q, q, q, q)
    return out


def satterthwaite_df(gram: Array, lever: Array, C: Array) -> float:
    """Satterthwaite degrees of freedom of the robust variance of one contrast ``C``
    (1 × p): ``(E v)² / (Var v / 2)`` under the working model."""
    g, h, omega = _contrast_terms(gram, lever, C)
    sq = float(_frobenius_products(g, h)[0, 0, 0, 0])
    return float(omega[0, 0]) ** 2 / sq if sq > 0 else float("nan")


def wald_q(beta: Array, vcov: Array, C: Array) -> float:
    """The Wald statistic ``(Cβ)ᵀ (C Vᵣ Cᵀ)⁻¹ (Cβ)``."""
    cb = C @ beta
    cvc = C @ vcov @ C.T
    try:
        return float(cb @ linalg.cho_solve(linalg.cho_factor(cvc, lower=True), cb))
    except linalg.LinAlgError:  # a singular robust covariance (e.g. zero residuals)
        return float("nan")


def htz_wald(beta: Array, vcov: Array, gram: Array, lever: Array, C: Array) -> WaldParts:
    """The HTZ test of ``Cβ = 0`` (Pustejovsky & Tipton 2018): ``Q/q`` scaled by
    ``δ = (ν - q + 1)/ν`` and referred to ``F(q, ν - q + 1)``, with ``ν`` from matching
    the total variance of the robust covariance of ``Cβ`` (clubSandwich's ``HTZ``)."""
    q = C.shape[0]
    g, h, omega = _contrast_terms(gram, lever, C)
    values, vectors = np.linalg.eigh(omega)
    keep = values > EIGEN_TOL * max(float(values.max()), 0.0)
    powered = np.zeros_like(values)
    powered[keep] = values[keep] ** -0.5
    root = (vectors * powered) @ vectors.T
    gt = np.einsum("ab,jbc,cd->jad", root, g, root)
    ht = np.einsum("ab,jbx->jax", root, h)
    f = _frobenius_products(gt, ht)
    total = float(np.einsum("stts->", f) + np.einsum("sstt->", f))
    nu = q * (q + 1) / total if total > 0 else float("nan")
    delta = max((nu - q + 1) / nu, 0.0)
    df_denom = nu - q + 1
    q_stat = wald_q(beta, vcov, C)
    stat = delta * q_stat / q
    pvalue = float(special.fdtrc(q, df_denom, stat)) if df_denom > 0 else float("nan")
    if math.isnan(nu):
        delta = df_denom = stat = pvalue = float("nan")
    return WaldParts(q_stat, stat, delta, q, df_denom, pvalue)


def f_wald(beta: Array, vcov: Array, C: Array, df_denom: float) -> WaldParts:
    """The Wald test as metafor's ``robust()`` reports it: ``Q/q`` on ``F(q, J - p)``."""
    q = C.shape[0]
    q_stat = wald_q(beta, vcov, C)
    stat = q_stat / q
    return WaldParts(q_stat, stat, 1.0, q, df_denom, float(special.fdtrc(q, df_denom, stat)))
