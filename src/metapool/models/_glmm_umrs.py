"""metafor's ``model="UM.RS"``: random study intercepts and a random treatment effect.

Per study ``i`` and arm ``j`` the linear predictor is
``η_ij = offset_ij + θ g_j + γ + σ v_i + τ z_j u_i`` with ``g = (1, 0)``,
``z = (1/2, -1/2)`` (metafor's ``coding = 1/2``) and independent standard normal
``v_i``, ``u_i`` (metafor's ``cor = FALSE``). The two-dimensional integral over
``(v_i, u_i)`` is approximated by Laplace's method at the joint mode, as lme4's
``glmer`` (metafor fits this model with ``nAGQ = 1``):
``log L_i ≈ h_i(ŵ_i) - ½ log det(-∇²h_i(ŵ_i))`` with
``h_i(w) = Σ_j log f(y_ij | η_ij) - |w|²/2``.
"""

from __future__ import annotations

import contextlib
import math

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.models._glmm_families import Family
from metapool.models._glmm_fit import maximise, numerical_hessian

__all__ = ["RandomStudyFit", "fit_random_study"]

Array = NDArray[np.float64]

_G = np.array([1.0, 0.0])
_Z = np.array([0.5, -0.5])


@attrs.frozen(kw_only=True)
class RandomStudyFit:
    """The ML fit of UM.RS: ``θ``, ``γ``, ``σ²``, ``τ²``, covariance of ``θ``, status."""

    theta: float
    gamma: float
    sigma2: float
    tau2: float
    loglik: float
    var_theta: float
    converged: bool
    boundary: bool
    message: str


def _laplace(family: Family, offset: Array, params: Array) -> Array:
    theta, gamma, sigma, tau = params
    c = offset + theta * _G + gamma
    jac = np.stack([np.full(2, sigma), tau * _Z], axis=-1)  # (m, 2)
    w = np.zeros((offset.shape[0], 2))
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
    family: Family, offset: Array, *, random: bool, theta_fixed: float | None = None
) -> RandomStudyFit:
    """ML fit of UM.RS (``random=False``: ``τ = 0``, metafor's common-effect model);
    ``theta_fixed`` fixes the treatment effect (for the likelihood-ratio test)."""

    def loglik(params: Array) -> float:
        return float(_laplace(family, offset, params).sum())

    th = theta_fixed is None
    free_fixed = np.array([th, True, True, False])
    theta0 = 0.0 if theta_fixed is None else theta_fixed
    best = None
    for s0 in (0.5, 1.5):
        cand = maximise(loglik, np.array([theta0, -3.0, s0, 0.0]), free_fixed)
        if best is None or cand[1] > best[1]:
            best = cand
    assert best is not None
    boundary = True
    if random:
        common = best
        for t0 in (0.3, 1.0):
            x0 = common[0].copy()
            x0[3] = t0
            cand = maximise(loglik, x0, np.array([th, True, True, True]))
            if cand[1] > best[1] + 1e-10 * max(1.0, abs(best[1])) and abs(cand[0][3]) > 1e-6:
                best, boundary = cand, False
    params, ll, grad = best
    params = params.copy()
    params[2:] = np.abs(params[2:])
    free = np.array([th, True, params[2] > 1e-6, random and not boundary])
    idx = np.flatnonzero(free)

    def sub(y: Array) -> float:
        x = params.copy()
        x[idx] = y
        return loglik(x)

    var_theta = math.nan
    if th:
        with contextlib.suppress(np.linalg.LinAlgError):  # singular: NaN, not converged
            var_theta = float(np.linalg.inv(-numerical_hessian(sub, params[idx]))[0, 0])
    converged = bool(grad < 1e-4 * max(1.0, abs(ll))) and (math.isfinite(var_theta) or not th)
    return RandomStudyFit(
        theta=float(params[0]),
        gamma=float(params[1]),
        sigma2=float(params[2] ** 2),
        tau2=float(params[3] ** 2) if random else 0.0,
        loglik=float(ll),
        var_theta=var_theta,
        converged=converged,
        boundary=bool(random and boundary),
        message="" if converged else f"the largest gradient component is {grad:.3g}",
    )
