"""Maximum-likelihood fitting of the one-random-effect GLMMs of :class:`~metapool.GLMM`.

A :class:`Design` holds, for ``k`` studies with ``m`` observations each, the
conditional family, the offsets, the fixed-effect design ``x`` (``(k, m, p)``),
the coefficient ``z`` of the study's random effect and whether each study has its
own free intercept (``nuisance``: the fixed study effects of metafor's
``model="UM.FS"``). The marginal log-likelihood of ``(β, τ)`` is the sum of the
studies' adaptive-quadrature integrals; study intercepts are profiled out (each
study's integral depends on its own intercept only, so each is a 1-d concave
maximisation), which leaves ``p + 1`` parameters.

The optimiser is BFGS on central-difference gradients from several starts, polished
by safeguarded Newton steps on a central-difference Hessian; the likelihood is even
in ``τ``, so ``τ`` runs over the real line and ``|τ|`` is reported. The common-effect
fit (``τ = 0``) is always computed and compared explicitly: when it is at least as
likely, the boundary ``τ² = 0`` is the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from metapool.models._glmm_families import Family
from metapool.models._glmm_quadrature import log_marginal, log_marginal_shift

__all__ = [
    "Design",
    "Fit",
    "fit_ml",
    "loglik_at",
    "maximise",
    "numerical_gradient",
    "numerical_hessian",
    "profile_loglik",
]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class Design:
    """The data of a GLMM in the layout the quadrature needs."""

    family: Family
    offset: Array
    x: Array
    z: Array
    nuisance: bool
    n_agq: int

    @property
    def p(self) -> int:
        return int(self.x.shape[-1])


@attrs.frozen(kw_only=True)
class Fit:
    """A maximum-likelihood fit: coefficients, τ, log-likelihood, covariance, status."""

    beta: Array
    tau: float
    loglik: float
    vcov: Array
    converged: bool
    boundary: bool
    gradient: float
    message: str


def _study_ll(design: Design, beta: Array, tau: float, alpha: Array | None) -> Array:
    c = design.offset + design.x @ beta
    if alpha is not None:
        c = c + alpha[:, None]
    return log_marginal(design.family, c, design.z, tau, design.n_agq)


def _profile_alpha(design: Design, beta: Array, tau: float, alpha0: Array) -> Array:
    """The study intercepts maximising each study's integral (vectorised 1-d Newton)."""
    alpha = alpha0.copy()
    base = design.offset + design.x @ beta
    f0, g, h = log_marginal_shift(design.family, base + alpha[:, None], design.z, tau, design.n_agq)
    for _ in range(200):
        step = np.clip(np.where(h < 0, -g / np.where(h < 0, h, -1.0), np.sign(g)), -3.0, 3.0)
        for _ in range(40):
            new = alpha + step
            f_new, g_new, h_new = log_marginal_shift(
                design.family, base + new[:, None], design.z, tau, design.n_agq
            )
            worse = f_new < f0 - 1e-13 * np.abs(f0)
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        # a study whose step no longer changes its log-likelihood beyond the line
        # search's 1e-13 is done too: where the quadrature's rounding keeps the
        # step above 1e-11, waiting for every study made one evaluation take up to
        # 200 Newton iterations of 13 line-search steps (27 s for one UM.FS fit)
        flat = np.abs(f_new - f0) <= 1e-13 * np.maximum(1.0, np.abs(f0))
        alpha, f0, g, h = new, f_new, g_new, h_new
        if np.all((np.abs(step) < 1e-11) | flat):
            break
    out: Array = np.asarray(alpha, dtype=np.float64)
    return out


class _Objective:
    """The log-likelihood of ``(β, τ)`` (intercepts profiled), warm-started."""

    def __init__(self, design: Design, alpha0: Array | None) -> None:
        self.design = design
        self.alpha = alpha0

    def __call__(self, theta: Array) -> float:
        p = self.design.p
        beta, tau = theta[:p], float(theta[p])
        if self.alpha is None:
            return float(_study_ll(self.design, beta, tau, None).sum())
        self.alpha = _profile_alpha(self.design, beta, tau, self.alpha)
        return float(_study_ll(self.design, beta, tau, self.alpha).sum())


def numerical_gradient(f: Callable[[Array], float], x: Array, h: float = 1e-5) -> Array:
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h * max(1.0, abs(x[i]))
        g[i] = (f(x + e) - f(x - e)) / (2 * e[i])
    return g


def numerical_hessian(f: Callable[[Array], float], x: Array, h: float = 2e-3) -> Array:
    n = x.size
    steps = h * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    out = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = steps[i]
        out[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = steps[j]
            out[i, j] = out[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return out


def maximise(f: Callable[[Array], float], x0: Array, free: Array) -> tuple[Array, float, float]:
    """Maximise ``f`` over the ``free`` coordinates: BFGS, then safeguarded Newton."""
    idx = np.flatnonzero(free)

    def sub(y: Array) -> Array:
        x: Array = x0.copy()
        x[idx] = y
        return x

    def neg(y: Array) -> float:
        value = f(sub(y))
        return -value if math.isfinite(value) else 1e300

    y = x0[idx].copy()
    res = optimize.minimize(
        neg,
        y,
        jac=lambda v: -numerical_gradient(lambda w: -neg(w), v),
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 500},
    )
    y = np.asarray(res.x, dtype=np.float64)
    value = -neg(y)
    for _ in range(30):  # Newton polish
        g = numerical_gradient(lambda w: -neg(w), y)
        hess = numerical_hessian(lambda w: -neg(w), y, h=1e-3)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.linalg.eigvalsh(hess) < 0):
            step = 1e-2 * g  # not concave here: a small gradient step
        for _ in range(30):
            new_value = -neg(y + step)
            if new_value >= value - 1e-12 * abs(value):
                break
            step = step / 2
        else:
            break
        y, value = y + step, new_value
        if np.max(np.abs(step)) < 1e-9:
            break
    g = numerical_gradient(lambda w: -neg(w), y)
    return sub(y), value, float(np.max(np.abs(g))) if g.size else 0.0


def fit_ml(
    design: Design,
    *,
    random: bool,
    beta_fixed: Array | None = None,
    tau_starts: tuple[float, ...] = (0.3, 1.0),
    with_vcov: bool = True,
) -> Fit:
    """Maximum-likelihood fit of ``(β, τ)``; ``beta_fixed`` fixes entries that are not NaN.

    With ``random=False`` ``τ = 0`` (the common-effect model). The covariance of
    ``β`` is the ``β`` block of the inverse of the negative Hessian in ``(β, τ)``
    (as lme4's ``vcov``; at ``τ = 0`` the cross terms vanish by symmetry).
    """
    p = design.p
    k = design.offset.shape[0]
    alpha0 = np.zeros(k) if design.nuisance else None
    fixed = np.full(p, np.nan) if beta_fixed is None else beta_fixed
    free_beta = np.isnan(fixed)
    start = np.concatenate([np.where(free_beta, 0.0, fixed), [0.0]])
    obj = _Objective(design, alpha0)

    # the common-effect fit (τ = 0): always computed, compared with the τ > 0 fits
    if free_beta.any():
        theta0, ll0, g0 = maximise(obj, start, np.append(free_beta, False))
    else:
        theta0, ll0, g0 = start, obj(start), 0.0
    best = (theta0, ll0, g0)
    boundary = True
    if random:
        for t0 in tau_starts:
            x0 = theta0.copy()
            x0[p] = t0
            cand = maximise(obj, x0, np.append(free_beta, True))
            if cand[1] > best[1] + 1e-10 * max(1.0, abs(best[1])) and abs(cand[0][p]) > 1e-6:
                best, boundary = cand, False
    theta, ll, grad = best
    theta = theta.copy()
    theta[p] = abs(theta[p])
    obj(theta)  # warm the intercepts at the optimum
    free = np.append(free_beta, random and not boundary)
    idx = np.flatnonzero(free)
    vcov = np.full((p, p), np.nan)
    if idx.size and with_vcov:

        def sub_ll(y: Array) -> float:
            x = theta.copy()
            x[idx] = y
            return obj(x)

        info = -numerical_hessian(sub_ll, theta[idx])
        try:
            inv = np.linalg.inv(info)
            nb = int(free_beta.sum())
            vb = np.zeros((p, p))
            vb[np.ix_(free_beta, free_beta)] = inv[:nb, :nb]
            vcov = vb
        except np.linalg.LinAlgError:
            pass
    scale = max(1.0, abs(ll))
    converged = bool(grad < 1e-4 * scale) and (
        not with_vcov or bool(np.all(np.isfinite(np.diag(vcov)[free_beta])))
    )
    message = "" if converged else f"the largest gradient component is {grad:.3g}"
    return Fit(
        beta=theta[:p],
        tau=float(theta[p]),
        loglik=float(ll),
        vcov=vcov,
        converged=converged,
        boundary=bool(random and boundary),
        gradient=grad,
        message=message,
    )


def profile_loglik(design: Design, *, random: bool, j: int, value: float) -> float:
    """The log-likelihood maximised over everything but ``β_j = value``."""
    fixed = np.full(design.p, np.nan)
    fixed[j] = value
    if design.p > 1 or not random:
        return fit_ml(design, random=random, beta_fixed=fixed, with_vcov=False).loglik
    # one free parameter, τ: bounded Brent search, and the boundary τ = 0 compared
    k = design.offset.shape[0]
    obj = _Objective(design, np.zeros(k) if design.nuisance else None)
    at_zero = obj(np.array([value, 0.0]))
    best = at_zero
    for upper in (3.0, 10.0):
        res = optimize.minimize_scalar(
            lambda t: -obj(np.array([value, t])),
            bounds=(0.0, upper),
            method="bounded",
            options={"xatol": 1e-10},
        )
        best = max(best, -float(res.fun))
        if float(res.x) < 0.99 * upper:
            break
    return best


def loglik_at(design: Design, theta: Array) -> float:
    """The log-likelihood at ``theta = (β, τ)`` (study intercepts profiled)."""
    k = design.offset.shape[0]
    obj = _Objective(design, np.zeros(k) if design.nuisance else None)
    return obj(theta)
