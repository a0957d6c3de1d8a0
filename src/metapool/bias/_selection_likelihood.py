"""The log-likelihood of the selection models of metafor's ``selmodel`` (Vevea and
Hedges 1995; Citkowicz and Vevea 2017; Preston et al. 2004), and derivatives by
Richardson extrapolation.

A study's observed effect is ``y ~ N(mu, v + tau2)`` weighted by the relative
probability ``w(p)`` that a study with one-sided p-value ``p`` (computed with ``v``
alone) is published:

``log L = sum_i [log w(p_i) + log phi(y_i; mu, v_i + tau2) - log A_i]``,
``A_i = E[w(p(Y_i))]`` over ``Y_i ~ N(mu, v_i + tau2)``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
import scipy.special
from numpy.typing import NDArray

__all__ = ["FAMILIES", "Family", "loglik", "pvalues", "richardson"]

Array = NDArray[np.float64]

_LOG_2PI = float(np.log(2.0 * np.pi))


@attrs.frozen
class Family:
    """One kind of selection function, with metafor's bounds and null values."""

    name: str
    n_delta: int  # number of delta parameters (stepfun: one per interval)
    delta_min: tuple[float, ...]
    delta_max: tuple[float, ...]
    delta_null: tuple[float, ...]  # no selection
    delta_init: tuple[float, ...]
    pval_min: float


def family(name: str, steps: tuple[float, ...]) -> Family:
    """The family ``name`` (``steps``: the cut-points, ending with 1, for stepfun)."""
    if name == "stepfun":
        n = len(steps)
        return Family(name, n, (0.0,) * n, (100.0,) * n, (1.0,) * n, (1.0,) * n, 0.0)
    if name == "beta":
        return Family(name, 2, (1e-5, 1e-5), (100.0, 100.0), (1.0, 1.0), (1.0, 1.0), 1e-5)
    return Family(name, 1, (0.0,), (100.0,), (0.0,), (1.0,), 0.0)


FAMILIES = ("stepfun", "beta", "halfnorm", "negexp")


def pvalues(y: Array, v: Array, alternative: str) -> Array:
    """One-sided (or two-sided) p-value of each study, as ``selmodel`` computes it."""
    z = y / np.sqrt(v)
    if alternative == "greater":
        return np.asarray(scipy.special.ndtr(-z))
    if alternative == "less":
        return np.asarray(scipy.special.ndtr(z))
    return np.asarray(2.0 * scipy.special.ndtr(-np.abs(z)))


def _weight(name: str, p: Array, delta: Array, steps: tuple[float, ...]) -> Array:
    """Relative probability of selection ``w(p)`` for the continuous families."""
    if name == "beta":
        return np.asarray(p ** (delta[0] - 1.0) * (1.0 - p) ** (delta[1] - 1.0))
    s = steps[0]
    power = 2.0 if name == "halfnorm" else 1.0  # half-normal: p², negative exponential: p
    w = np.exp(-delta[0] * (p**power - s**power))
    return np.asarray(np.where(p <= s, 1.0, w))


def _log_weight(name: str, p: Array, delta: Array, steps: tuple[float, ...]) -> Array:
    if name == "beta":
        return np.asarray((delta[0] - 1.0) * np.log(p) + (delta[1] - 1.0) * np.log1p(-p))
    s = steps[0]
    lw = -delta[0] * (p * p - s * s) if name == "halfnorm" else -delta[0] * (p - s)
    return np.asarray(np.where(p <= s, 0.0, lw))


def _prob_p_below(s: float, mu: float, v: Array, tau2: float, alternative: str) -> Array:
    """``P(p(Y) <= s)`` for ``Y ~ N(mu, v + tau2)``, the p-value computed with ``v``."""
    sd, se = np.sqrt(v + tau2), np.sqrt(v)
    if s >= 1.0:
        return np.ones_like(v)
    if s <= 0.0:
        return np.zeros_like(v)
    ndtr, ndtri = scipy.special.ndtr, scipy.special.ndtri
    if alternative == "greater":
        return np.asarray(ndtr(-(se * (-ndtri(s)) - mu) / sd))
    if alternative == "less":
        return np.asarray(ndtr((se * ndtri(s) - mu) / sd))
    c = se * (-ndtri(s / 2.0))
    return np.asarray(ndtr(-(c - mu) / sd) + ndtr((-c - mu) / sd))


def _normaliser_steps(
    mu: float, tau2: float, delta: Array, v: Array, steps: tuple[float, ...], alternative: str
) -> Array:
    """``A_i = sum_j delta_j P(s_{j-1} < p_i <= s_j)`` in closed form."""
    total = np.zeros_like(v)
    below_prev = np.zeros_like(v)
    for j, s in enumerate(steps):
        below = _prob_p_below(s, mu, v, tau2, alternative)
        total = total + delta[j] * (below - below_prev)
        below_prev = below
    return total


_GL_T, _GL_W = np.polynomial.legendre.leggauss(12)
#: Panel edges in t = (y - mu)/sd: the normal density is below 1e-31 beyond |t| = 12.
_EDGES = np.linspace(-12.0, 12.0, 49)
#: Panel edges in z = y/se, where the p-value, hence the weight, changes.
_Z_EDGES = np.linspace(-10.0, 10.0, 41)


def _kinks(fam: Family, v: Array, steps: tuple[float, ...], alternative: str) -> Array:
    """Values of ``y`` (per study, one column each) where ``w(p(y))`` is not smooth:
    where p reaches its clipping limits or the threshold ``steps[0]``, and 0 for
    two-sided p-values."""
    se = np.sqrt(v)
    levels = [c for c in (fam.pval_min, 1.0 - fam.pval_min) if 0.0 < c < 1.0]
    if fam.name != "beta" and 0.0 < steps[0] < 1.0:
        levels.append(steps[0])
    cols = []
    for c in levels:
        if alternative == "greater":
            cols.append(se * -float(scipy.special.ndtri(c)))
        elif alternative == "less":
            cols.append(se * float(scipy.special.ndtri(c)))
        else:
            q = se * -float(scipy.special.ndtri(c / 2.0))
            cols += [q, -q]
    if alternative == "two.sided":
        cols.append(np.zeros_like(v))
    return np.column_stack(cols) if cols else np.zeros((v.size, 0))


def _normaliser_quad(
    fam: Family,
    mu: float,
    tau2: float,
    delta: Array,
    v: Array,
    steps: tuple[float, ...],
    alternative: str,
) -> Array:
    """``A_i = E[w(p(Y_i))]`` over ``Y = mu + sd t``: composite 12-point Gauss–Legendre
    on panels of ``t`` in [-12, 12] of width at most 1/2 in ``t`` and, where the
    p-value changes (``|y/se| <= 10``), at most 1/2 in ``z = y/se``, split at the
    kinks of ``w`` (so every panel is smooth); all studies at once. On such panels
    the rule integrates ``exp(-t²/2)`` times the weight to about machine
    precision."""
    sd = np.sqrt(v + tau2)
    kinks = np.clip((_kinks(fam, v, steps, alternative) - mu) / sd[:, None], -12.0, 12.0)
    # w(p(y)) changes on the scale of the study's own SE (z = y/se), which can be
    # much finer than sd = sqrt(v + tau2): panels of 1/2 in z across |z| <= 10 too.
    fine = np.clip((np.sqrt(v)[:, None] * _Z_EDGES - mu) / sd[:, None], -12.0, 12.0)
    coarse = np.broadcast_to(_EDGES, (v.size, _EDGES.size))
    edges = np.sort(np.concatenate([coarse, fine, kinks], axis=1), axis=1)
    lo, hi = edges[:, :-1], edges[:, 1:]
    half, mid = (hi - lo) / 2.0, (hi + lo) / 2.0
    t = mid[:, :, None] + half[:, :, None] * _GL_T  # (k, panels, nodes)
    y = mu + sd[:, None, None] * t
    p = np.clip(pvalues(y, v[:, None, None], alternative), fam.pval_min, 1.0 - fam.pval_min)
    f = _weight(fam.name, p, delta, steps) * np.exp(-0.5 * t * t)
    value: Array = np.sum(half * np.sum(f * _GL_W, axis=-1), axis=-1) / np.sqrt(2.0 * np.pi)
    return value


def loglik(
    fam: Family,
    mu: float,
    tau2: float,
    delta: Array,
    y: Array,
    v: Array,
    p: Array,
    group: NDArray[np.intp] | None,
    steps: tuple[float, ...],
    alternative: str,
) -> float:
    """The selection-model log-likelihood (``p`` the studies' clipped p-values; ``group``
    the interval of each p-value for stepfun)."""
    s2 = v + tau2
    log_dens = -0.5 * (_LOG_2PI + np.log(s2) + (y - mu) ** 2 / s2)
    if fam.name == "stepfun":
        assert group is not None
        norm = _normaliser_steps(mu, tau2, delta, v, steps, alternative)
        with np.errstate(divide="ignore"):
            log_w = np.log(delta[group])
    else:
        norm = _normaliser_quad(fam, mu, tau2, delta, v, steps, alternative)
        log_w = _log_weight(fam.name, p, delta, steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.sum(log_w + log_dens - np.log(norm)))
    return value if np.isfinite(value) else -np.inf


def richardson(
    f: Callable[[Array], float], x: Array, h0: Array, *, r: int = 5
) -> tuple[Array, Array]:
    """Gradient and Hessian of ``f`` at ``x`` by central differences with Richardson
    extrapolation (the algorithm of R's ``numDeriv::genD``), from the initial steps
    ``h0`` halved ``r`` times. Unlike ``genD``'s default steps (``1e-4 |x_i|``), the
    caller gives steps on the scale of each parameter, so that a parameter near 0
    does not get a step so small that rounding dominates."""
    n = x.size
    f0 = f(x)
    grad = np.empty(n)
    hess = np.empty((n, n))

    def extrapolate(values: list[float]) -> float:
        a = list(values)
        for m in range(1, r):
            a = [(a[k + 1] * 4.0**m - a[k]) / (4.0**m - 1.0) for k in range(r - m)]
        return a[0]

    for i in range(n):
        dapprox, happrox = [], []
        h = h0.copy()
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            f1, f2 = f(x + e), f(x - e)
            dapprox.append((f1 - f2) / (2.0 * h[i]))
            happrox.append((f1 - 2.0 * f0 + f2) / h[i] ** 2)
            h = h / 2.0
        grad[i] = extrapolate(dapprox)
        hess[i, i] = extrapolate(happrox)
    for i in range(n):
        for j in range(i):
            approx = []
            h = h0.copy()
            for _ in range(r):
                e = np.zeros(n)
                e[i] += h[i]
                e[j] += h[j]
                f1, f2 = f(x + e), f(x - e)
                approx.append(
                    (f1 - 2.0 * f0 + f2 - hess[i, i] * h[i] ** 2 - hess[j, j] * h[j] ** 2)
                    / (2.0 * h[i] * h[j])
                )
                h = h / 2.0
            hess[i, j] = hess[j, i] = extrapolate(approx)
    return grad, hess
