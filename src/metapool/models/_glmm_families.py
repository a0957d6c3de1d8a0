"""The conditional likelihoods of the GLMMs: binomial, Poisson, non-central hypergeometric.

Each family is an exponential family in its linear predictor ``η``:
``log f(y | η) = y η - A(η) + c(y)``. :meth:`loglik` returns the log density of
every observation with its first two derivatives in ``η`` (``y - A'(η)`` and
``-A''(η)``), which is all the adaptive quadrature needs. Arrays broadcast: the
observations lie along the last axes, ``η`` may carry leading axes (quadrature
nodes, parameter sets).
"""

from __future__ import annotations

from typing import Protocol

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["Binomial", "Family", "NoncentralHypergeometric", "Poisson"]

Array = NDArray[np.float64]


class Family(Protocol):
    """What the quadrature asks of a family."""

    def loglik(self, eta: Array) -> tuple[Array, Array, Array]:
        """``log f(y | η)`` and its first and second derivatives in ``η``."""
        ...

    def saturated(self) -> Array:
        """The log density of each observation at its own maximum (``-inf`` never)."""
        ...


def _log_choose(n: Array, k: Array) -> Array:
    out: Array = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return out


@attrs.frozen
class Binomial:
    """``y`` events out of ``n`` with logit ``η``.

    Examples
    --------
    >>> import numpy as np
    >>> ll, d1, d2 = Binomial(np.array([3.0]), np.array([10.0])).loglik(np.array([0.0]))
    >>> float(np.round(np.exp(ll[0]) * 1024, 6)), float(d1[0]), float(d2[0])
    (120.0, -2.0, -2.5)
    """

    y: Array
    n: Array

    def loglik(self, eta: Array) -> tuple[Array, Array, Array]:
        """``log f(y | η)`` and its first and second derivatives in ``η``."""
        p = special.expit(eta)
        ll = self.y * eta - self.n * np.logaddexp(0.0, eta) + _log_choose(self.n, self.y)
        return ll, self.y - self.n * p, -self.n * p * (1.0 - p)

    def saturated(self) -> Array:
        """The binomial log density at ``p = y/n`` (0 for ``y = 0`` or ``y = n``)."""
        y, n = self.y, self.n
        m = n - y
        ll = _log_choose(n, y)
        ll = ll + np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / n), 0.0)
        out: Array = ll + np.where(m > 0, m * np.log(np.where(m > 0, m, 1.0) / n), 0.0)
        return out


@attrs.frozen
class Poisson:
    """``y`` events with log mean ``η`` (the log person-time is part of ``η``).

    Examples
    --------
    >>> import numpy as np
    >>> ll, d1, d2 = Poisson(np.array([2.0])).loglik(np.array([0.0]))
    >>> float(np.round(ll[0], 6)), float(d1[0]), float(d2[0])
    (-1.693147, 1.0, -1.0)
    """

    y: Array

    def loglik(self, eta: Array) -> tuple[Array, Array, Array]:
        """``log f(y | η)`` and its first and second derivatives in ``η``."""
        mu = np.exp(np.minimum(eta, 700.0))  # beyond: a Newton trial step; not a maximum
        return self.y * eta - mu - special.gammaln(self.y + 1), self.y - mu, -mu

    def saturated(self) -> Array:
        """The Poisson log density at ``μ = y``."""
        y = self.y
        out: Array = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0) - y
        out = out - special.gammaln(y + 1)
        return out


@attrs.frozen(init=False)
class NoncentralHypergeometric:
    """Fisher's non-central hypergeometric law of ``a`` given the margins of a 2×2 table.

    With ``n1``, ``n2`` the arm sizes and ``m = a + c`` the events,
    ``P(a | ψ) = C(n1, a) C(n2, m - a) e^{aψ} / Σ_u C(n1, u) C(n2, m - u) e^{uψ}``
    over ``max(0, m - n2) ≤ u ≤ min(n1, m)``, ``ψ`` the log odds ratio. The sums
    are taken in logs (``logsumexp``), so every table size is stable.

    Examples
    --------
    >>> import numpy as np
    >>> fam = NoncentralHypergeometric(np.array([2.0]), np.array([5.0]), np.array([3.0]),
    ...                                np.array([6.0]))
    >>> p = float(np.exp(fam.loglik(np.array([0.0]))[0][0]))  # central: C(5,2) C(6,3) / C(11,5)
    >>> round(p, 6), round(200 / 462, 6)
    (0.4329, 0.4329)
    """

    y: Array
    #: log C(n1, u) C(n2, m - u) over the padded support (``-inf`` outside it)
    log_weights: Array
    support: Array

    def __init__(self, a: Array, n1: Array, c: Array, n2: Array) -> None:
        a, n1, c, n2 = (np.asarray(x, dtype=np.float64) for x in (a, n1, c, n2))
        m = a + c
        lo = np.maximum(0.0, m - n2)
        hi = np.minimum(n1, m)
        width = int(np.max(hi - lo)) + 1 if a.size else 1
        u = lo[..., None] + np.arange(width, dtype=np.float64)
        inside = u <= hi[..., None]
        uc = np.where(inside, u, lo[..., None])
        lw = _log_choose(n1[..., None], uc) + _log_choose(n2[..., None], m[..., None] - uc)
        self.__attrs_init__(y=a, log_weights=np.where(inside, lw, -np.inf), support=uc)

    def loglik(self, eta: Array) -> tuple[Array, Array, Array]:
        """``log P(a | ψ = η)`` and its derivatives ``a - E[U]`` and ``-Var[U]``."""
        logits = self.log_weights + self.support * eta[..., None]
        log_norm = special.logsumexp(logits, axis=-1)
        prob = np.exp(logits - log_norm[..., None])
        mean = (prob * self.support).sum(axis=-1)
        var = (prob * (self.support - mean[..., None]) ** 2).sum(axis=-1)
        own = np.take_along_axis(
            self.log_weights, np.argmax(self.support == self.y[..., None], axis=-1)[..., None], -1
        )[..., 0]
        return own + self.y * eta - log_norm, self.y - mean, -var

    def saturated(self) -> Array:
        """``log P(a | ψ̂)`` at the conditional MLE of each table (0 at a support edge)."""
        lo = self.support[..., 0]
        hi = self.support.max(axis=-1)
        edge = (self.y == lo) | (self.y == hi)
        psi = np.zeros_like(self.y)
        for _ in range(200):  # Newton on the concave log-likelihood of ψ
            _, d1, d2 = self.loglik(psi)
            step = np.where(edge, 0.0, -d1 / np.where(d2 < 0, d2, -1.0))
            step = np.clip(step, -5.0, 5.0)
            psi = psi + step
            if np.all(np.abs(step) < 1e-13 * (1 + np.abs(psi))):
                break
        ll = self.loglik(psi)[0]
        out: Array = np.where(edge, 0.0, ll)
        return out
