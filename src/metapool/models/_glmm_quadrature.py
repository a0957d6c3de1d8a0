"""Adaptive Gauss–Hermite quadrature over one normal random effect per study.

For study ``i`` with observations ``j`` and linear predictors
``η_ij = c_ij + z_ij τ u`` (``u`` standard normal, the spherical random effect of
lme4), the marginal likelihood is ``L_i = ∫ exp(h_i(u)) du`` with
``h_i(u) = Σ_j log f(y_ij | η_ij) - u²/2 - log(2π)/2``. Each ``h_i`` is concave
(the families are exponential families with canonical links), so Newton's method
(with step halving) finds its mode ``û_i``; with ``s_i = (-h_i''(û_i))^(-1/2)`` and
the Gauss–Hermite nodes ``x_q`` and weights ``w_q``,

``L_i ≈ √2 s_i Σ_q w_q exp(x_q²) exp(h_i(û_i + √2 s_i x_q))``

(Liu & Pierce 1994; the rule of lme4's ``glmer(nAGQ = n)``). One node is the
Laplace approximation. The rule is smooth in ``τ`` and exact at ``τ = 0``
(``h`` is then the normal log density plus a constant), so the boundary needs no
special case; it is even in ``τ``.

References
----------
.. [1] Liu Q, Pierce DA (1994). A note on Gauss-Hermite quadrature.
   Biometrika 81(3):624-629.
.. [2] Pinheiro JC, Bates DM (1995). Approximations to the log-likelihood function
   in the nonlinear mixed-effects model. J Comput Graph Stat 4(1):12-35.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.typing import NDArray

from metapool.models._glmm_families import Family

__all__ = ["conditional_mode", "gauss_hermite", "log_marginal", "log_marginal_shift"]

Array = NDArray[np.float64]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@cache
def gauss_hermite(n: int) -> tuple[Array, Array]:
    """Nodes and the logs of ``w_q exp(x_q²)`` of the ``n``-point Gauss–Hermite rule.

    Examples
    --------
    >>> x, lw = gauss_hermite(1)
    >>> float(x[0]), round(float(np.exp(lw[0]) ** 2), 12)  # one node: w = sqrt(pi)
    (0.0, 3.14159265359)
    """
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, np.log(w) + x**2


def _h(family: Family, c: Array, zt: Array, u: Array) -> tuple[Array, Array, Array]:
    """``h(u)`` without its constant, with ``h'`` and ``h''``, per study (last obs axis summed)."""
    ll, d1, d2 = family.loglik(c + zt * u[..., None])
    return (
        ll.sum(axis=-1) - 0.5 * u**2,
        (d1 * zt).sum(axis=-1) - u,
        (d2 * zt**2).sum(axis=-1) - 1.0,
    )


def conditional_mode(family: Family, c: Array, zt: Array) -> tuple[Array, Array]:
    """The mode ``û`` of each study's ``h`` and the curvature ``h''(û)`` (Newton, halving)."""
    u = np.zeros(c.shape[:-1])
    h, d1, d2 = _h(family, c, zt, u)
    for _ in range(100):
        step = -d1 / d2
        new_u = u + step
        new_h, new_d1, new_d2 = _h(family, c, zt, new_u)
        for _ in range(60):  # halve steps that do not increase the concave h
            worse = ~(new_h >= h - 1e-12 * np.abs(h))
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
            new_u = u + step
            new_h, new_d1, new_d2 = _h(family, c, zt, new_u)
        u, h, d1, d2 = new_u, new_h, new_d1, new_d2
        if np.all(np.abs(step) <= 1e-12 * (1.0 + np.abs(u))):
            break
    return u, d2


def log_marginal(family: Family, c: Array, z: Array, tau: float, n_agq: int) -> Array:
    """The log marginal likelihood of each study by ``n_agq``-point adaptive quadrature.

    Parameters
    ----------
    family : Family
        The conditional law of the observations (arrays of shape ``(k, m)``).
    c : ndarray, shape (k, m)
        The linear predictors without the random effect.
    z : ndarray, shape (k, m)
        The coefficient of the study's random effect in each linear predictor.
    tau : float
        The standard deviation of the random effect (its sign does not matter).
    n_agq : int
        Number of quadrature nodes (1: the Laplace approximation).

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> from metapool.models._glmm_families import Poisson
    >>> fam = Poisson(np.array([[3.0]]))
    >>> c, z = np.array([[0.5]]), np.ones((1, 1))
    >>> exact = float(fam.loglik(c)[0][0, 0])
    >>> bool(abs(log_marginal(fam, c, z, 0.0, 7)[0] - exact) < 1e-14)
    True
    """
    return log_marginal_shift(family, c, z, tau, n_agq)[0]


def log_marginal_shift(
    family: Family, c: Array, z: Array, tau: float, n_agq: int
) -> tuple[Array, Array, Array]:
    """:func:`log_marginal` with the first two derivatives in a shift of every ``c_i``.

    The derivatives are those of the quadrature sum at fixed nodes: the posterior
    mean of the score and ``E[score'] + Var[score]`` over the quadrature weights. They
    drive the profiling of free study intercepts (whose value only matters to second
    order in the profile log-likelihood).
    """
    zt = z * tau
    u_hat, curvature = conditional_mode(family, c, zt)
    s = 1.0 / np.sqrt(-curvature)
    x, log_w = gauss_hermite(n_agq)
    nodes = u_hat[None, :] + math.sqrt(2.0) * s[None, :] * x[:, None]
    ll, d1, d2 = family.loglik(c[None] + zt[None] * nodes[..., None])
    terms = log_w[:, None] + ll.sum(axis=-1) - 0.5 * nodes**2
    top = terms.max(axis=0)
    weights = np.exp(terms - top)
    total = weights.sum(axis=0)
    post = weights / total
    g_q = d1.sum(axis=-1)
    score = (post * g_q).sum(axis=0)
    second = (post * (d2.sum(axis=-1) + g_q**2)).sum(axis=0) - score**2
    out: Array = 0.5 * math.log(2.0) + np.log(s) + top + np.log(total) - _HALF_LOG_2PI
    return out, score, second
