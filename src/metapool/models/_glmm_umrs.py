"""metafor's ``model="UM.RS"``: random study intercepts and a random treatment effect.

Per study ``i`` and arm ``j`` the linear predictor is
``η_ij = offset_ij + θ_i g_j + γ + σ v_i + τ z_j u_i`` with ``θ_i = x_i'β`` (``β``
the pooled effect ``θ`` without moderators), ``g = (1, 0)``,
``z = (1/2, -1/2)`` (metafor's ``coding = 1/2``) and independent standard normal
``v_i``, ``u_i`` (metafor's ``cor = FALSE``). The two-dimensional integral over
``(v_i, u_i)`` is approximated by Laplace's method at the joint mode, as lme4's
``glmer`` (metafor fits this model with ``nAGQ = 1``):
``log L_i ≈ h_i(ŵ_i) - ½ log det(-∇²h_i(ŵ_i))`` with
``h_i(w) = Σ_j log f(y_ij | η_ij) - |w|²/2``.
"""

from __future__ import annotations

import contextlib

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.models._glmm_families import Family
from metapool.models._glmm_fit import maximise, numerical_hessian

__all__ = ["RandomStudyFit", "fit_random_study", "laplace_at"]

Array = NDArray[np.float64]

_G = np.array([1.0, 0.0])
_Z = np.array([0.5, -0.5])


@attrs.frozen(kw_only=True)
class RandomStudyFit:
    """The ML fit of UM.RS: ``β``, ``γ``, ``σ²``, ``τ²``, covariance of ``β``, status."""

    beta: Array
    gamma: float
    sigma2: float
    tau2: float
    loglik: float
    vcov: Array
    converged: bool
    boundary: bool
    message: str


def _laplace(family: Family, offset: Array, params: Array, X: Array | None = None) -> Array:
    """Each study's Laplace log-likelihood at ``params = (β, γ, σ, τ)`` (``X``: the
    moderators, default an intercept)."""
    p = 1 if X is None else X.shape[1]
    beta, (gamma, sigma, tau) = params[:p], params[p:]
    lin = np.full(offset.shape[0], beta[0]) if X is None else X @ beta
    return laplace_at(family, offset + lin[:, None] * _G + gamma, sigma, tau)


def laplace_at(family: Family, c: Array, sigma: float, tau: float) -> Array:
    """Each study's Laplace log-likelihood with fixed linear predictors ``c`` (``(k, 2)``)
    and random intercept ``σ v_i`` and effect ``τ z_j u_i``."""
    jac = np.stack([np.full(2, sigma), tau * _Z], axis=-1)  # (m, 2)
    w = np.zeros((c.shape[0], 2))
    ll, d1, d2 = family.loglik(c + w @ jac.T)
    h = ll.sum(-1) - 0.5 * (w**2).sum(-1)
    for _ in range(100):
        grad = d1 @ jac - w
        hess = np.einsum("km,ma,mb->kab", d2, jac, jac) - np.eye(2)
        step = -np.linalg.solve(hess, grad[..., None])[..., 0]
        for _ in range(60):
            new = w + step
            ll_n, d1_n, d2_n = family.loglik(c + new @ jac.T)
            h_n = ll_n.sum(-1) - 0.5 * (new**2).sum(-1)
            worse = ~(h_n >= h - 1e-12 * np.abs(h))
            if not worse.any():
                break
            step = np.where(worse[:, None], step / 2, step)
        w, h, d1, d2 = new, h_n, d1_n, d2_n
        if np.all(np.abs(step) <= 1e-12 * (1 + np.abs(w))):
            break
    hess = np.einsum("km,ma,mb->kab", d2, jac, jac) - np.eye(2)
    out: Array = h - 0.5 * np.log(np.linalg.det(-hess))
    return out


def fit_random_study(
    family: Family,
    offset: Array,
    *,
    random: bool,
    theta_fixed: float | None = None,
    X: Array | None = None,
) -> RandomStudyFit:
    """ML fit of UM.RS (``random=False``: ``τ = 0``, metafor's common-effect model);
    ``theta_fixed`` fixes the treatment effect (intercept-only models, for the
    likelihood-ratio test); ``X`` holds the moderators (default: an intercept)."""

    def loglik(params: Array) -> float:
        return float(_laplace(family, offset, params, X).sum())

    p = 1 if X is None else X.shape[1]
    th = theta_fixed is None
    free_beta = np.full(p, th)
    free_fixed = np.concatenate([free_beta, [True, True, False]])
    beta0 = np.zeros(p) if theta_fixed is None else np.array([theta_fixed])
    best = None
    for s0 in (0.5, 1.5):
        cand = maximise(loglik, np.concatenate([beta0, [-3.0, s0, 0.0]]), free_fixed)
        if best is None or cand[1] > best[1]:
            best = cand
    assert best is not None
    boundary = True
    if random:
        common = best
        for t0 in (0.3, 1.0):
            x0 = common[0].copy()
            x0[p + 2] = t0
            cand = maximise(loglik, x0, np.concatenate([free_beta, [True, True, True]]))
            if cand[1] > best[1] + 1e-10 * max(1.0, abs(best[1])) and abs(cand[0][p + 2]) > 1e-6:
                best, boundary = cand, False
    params, ll, grad = best
    params = params.copy()
    params[p + 1 :] = np.abs(params[p + 1 :])
    free = np.concatenate([free_beta, [True, params[p + 1] > 1e-6, random and not boundary]])
    idx = np.flatnonzero(free)

    def sub(y: Array) -> float:
        x = params.copy()
        x[idx] = y
        return loglik(x)

    vcov = np.full((p, p), np.nan)
    if th:
        with contextlib.suppress(np.linalg.LinAlgError):  # singular: NaN, not converged
            vcov = np.linalg.inv(-numerical_hessian(sub, params[idx]))[:p, :p]
    finite = bool(np.all(np.isfinite(np.diag(vcov))))
    converged = bool(grad < 1e-4 * max(1.0, abs(ll))) and (finite or not th)
    return RandomStudyFit(
        beta=params[:p],
        gamma=float(params[p]),
        sigma2=float(params[p + 1] ** 2),
        tau2=float(params[p + 2] ** 2) if random else 0.0,
        loglik=float(ll),
        vcov=vcov,
        converged=converged,
        boundary=bool(random and boundary),
        message="" if converged else f"the largest gradient component is {grad:.3g}",
    )
