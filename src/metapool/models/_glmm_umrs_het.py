"""The tests for (residual) heterogeneity of metafor's ``model="UM.RS"``.

metafor compares the model without the random effect (random study intercepts
``γ + σ v_i``, the effect ``x_i'β`` common) with the saturated model, in which
every study has its own effect ``δ_i`` (arm 1: ``γ + δ_i + σ v_i``, arm 2:
``γ + σ v_i``), both by the Laplace approximation:

* the likelihood-ratio test ``-2 (ll_common - ll_saturated)``;
* the Wald-type test, in the saturated model, that the ``δ_i`` lie on ``Xβ``:
  ``min_β (δ̂ - Xβ)' V⁻¹ (δ̂ - Xβ)`` with ``V`` the covariance of ``δ̂`` (the
  inverse observed information in ``(δ, γ, σ)``); metafor tests the coefficients
  of the study indicators that ``X`` leaves identifiable, the same linear
  hypothesis, and Wald statistics of a linear hypothesis do not depend on the
  parametrisation.

Both have ``k - p`` df. Each ``δ_i`` enters only its own study's term, so the
``δ_i`` are profiled study by study (a vectorised Newton iteration) inside a
maximisation over ``(γ, σ)``. A study with no events (or only events) in arm 1
has ``δ̂_i = ∓∞``: it is fitted in that limit (its arm 1 then contributes
nothing) and has weight 0 in the Wald-type test (its variance is infinite).
"""

from __future__ import annotations

import contextlib
import math

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.models._glmm_families import Binomial, Family
from metapool.models._glmm_fit import maximise
from metapool.models._glmm_umrs import laplace_at

__all__ = ["SaturatedFit", "arm1_edges", "fit_saturated"]

Array = NDArray[np.float64]

_G = np.array([1.0, 0.0])
_LIMIT = 60.0  # |δ| standing for ±∞: arm 1's density is then 1 to within e^-55


@attrs.frozen(kw_only=True)
class SaturatedFit:
    """The saturated UM.RS fit and the two tests for heterogeneity."""

    loglik: float
    qe_wald: float
    converged: bool


def arm1_edges(family: Family) -> Array:
    """-1 where arm 1 has no events, +1 where it has only events (binomial), else 0."""
    y = family.y[:, 0]  # type: ignore[attr-defined]
    edge = np.where(y == 0, -1.0, 0.0)
    if isinstance(family, Binomial):
        edge = np.where(y == family.n[:, 0], 1.0, edge)
    out: Array = np.asarray(edge, dtype=np.float64)
    return out


class _Profile:
    """The saturated log-likelihood at ``(γ, σ)`` with every ``δ_i`` at its maximum."""

    def __init__(self, family: Family, offset: Array, edge: Array) -> None:
        self.family, self.offset, self.edge = family, offset, edge
        self.free = edge == 0
        self.delta = np.where(self.free, 0.0, _LIMIT * edge)

    def per_study(self, delta: Array, gamma: float, sigma: float) -> Array:
        c = self.offset + delta[:, None] * _G + gamma
        return laplace_at(self.family, c, sigma, 0.0)

    def __call__(self, theta: Array) -> float:
        gamma, sigma = float(theta[0]), float(theta[1])
        delta = self.delta.copy()
        f0 = self.per_study(delta, gamma, sigma)
        h = 1e-4
        for _ in range(100):
            fp = self.per_study(delta + h, gamma, sigma)
            fm = self.per_study(delta - h, gamma, sigma)
            g = (fp - fm) / (2 * h)
            curv = (fp - 2 * f0 + fm) / h**2
            step = np.where(curv < 0, -g / np.where(curv < 0, curv, -1.0), np.sign(g))
            step = np.where(self.free, np.clip(step, -3.0, 3.0), 0.0)
            for _ in range(40):
                new = delta + step
                f_new = self.per_study(new, gamma, sigma)
                worse = f_new < f0 - 1e-13 * np.abs(f0)
                if not worse.any():
                    break
                step = np.where(worse, step / 2, step)
            delta, f0 = new, f_new
            if np.all(np.abs(step) < 1e-10):
                break
        self.delta = delta
        return float(f0.sum())


def fit_saturated(
    family: Family,
    offset: Array,
    X: Array,
    *,
    gamma0: float,
    sigma0: float,
) -> SaturatedFit:
    """The saturated UM.RS model and the Wald-type test that its effects lie on ``Xβ``
    (started from the common-effect fit's ``γ``, ``σ``)."""
    edge = arm1_edges(family)
    prof = _Profile(family, offset, edge)
    best = None
    starts = (max(sigma0, 0.1),) + ((1.0,) if abs(sigma0 - 1.0) > 0.1 else ())
    for s0 in starts:
        cand = maximise(prof, np.array([gamma0, s0]), np.array([True, True]))
        if best is None or cand[1] > best[1]:
            best = cand
    assert best is not None
    theta, ll, grad = best
    gamma, sigma = float(theta[0]), abs(float(theta[1]))
    prof(np.array([gamma, sigma]))  # the δ_i at the optimum
    delta = prof.delta
    free = prof.free

    # per-study Hessians of φ_i(δ_i, γ, σ) by central differences; σ is left out at
    # its boundary 0 (as the covariance of the fixed effects there)
    use_sigma = sigma > 1e-6
    steps = np.array([1e-3, 1e-3, 1e-3])
    n = 3 if use_sigma else 2

    def phi(shift: Array) -> Array:
        c = offset + (delta + shift[0])[:, None] * _G + gamma + shift[1]
        return laplace_at(family, c, sigma + shift[2], 0.0)

    hess = np.zeros((delta.size, n, n))
    f0 = phi(np.zeros(3))
    for a in range(n):
        ea = np.zeros(3)
        ea[a] = steps[a]
        hess[:, a, a] = (phi(ea) - 2 * f0 + phi(-ea)) / steps[a] ** 2
        for b in range(a):
            eb = np.zeros(3)
            eb[b] = steps[b]
            hess[:, a, b] = hess[:, b, a] = (
                phi(ea + eb) - phi(ea - eb) - phi(-ea + eb) + phi(-ea - eb)
            ) / (4 * steps[a] * steps[b])
    kf = int(free.sum())
    full = np.zeros((kf + n - 1, kf + n - 1))
    idx = np.flatnonzero(free)
    hf = hess[idx]
    full[np.arange(kf), np.arange(kf)] = hf[:, 0, 0]
    full[:kf, kf:] = hf[:, 0, 1:]
    full[kf:, :kf] = hf[:, 0, 1:].T
    full[kf:, kf:] = hess[:, 1:, 1:].sum(axis=0)
    qe = math.nan
    with contextlib.suppress(np.linalg.LinAlgError):
        cov = np.linalg.inv(-full)[:kf, :kf]
        w = np.linalg.inv(cov)
        d = delta[idx]
        xf = X[idx]
        xtw = xf.T @ w
        beta = np.linalg.lstsq(xtw @ xf, xtw @ d, rcond=None)[0]
        r = d - xf @ beta
        qe = float(max(0.0, r @ w @ r))
    converged = bool(grad < 1e-4 * max(1.0, abs(ll))) and math.isfinite(qe)
    return SaturatedFit(loglik=float(ll), qe_wald=qe, converged=converged)
