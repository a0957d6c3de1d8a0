"""A vectorised, bracketed root finder for monotone-in-a-bracket functions.

Used for every 1-D equation in metapool (REML/ML score equations, the
Paule–Mandel / empirical Bayes equation, Q-profile bounds). Each element of a
batch has its own bracket ``[lo, hi]`` in which ``f`` changes sign; the
method is the Illinois variant of regula falsi, which keeps the bracket and
converges superlinearly, with a bisection step whenever the bracket has not
halved in two iterations (so it can never stall). It therefore always
converges; the iteration cap only guards against a broken ``f``.

References
----------
.. [1] Dowell M, Jarratt P (1971). A modified regula falsi method for
   computing the root of an equation. BIT 11:168-174.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["RootResult", "bracketed_root"]

Array = NDArray[np.float64]


class RootResult(NamedTuple):
    root: Array
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]


def bracketed_root(
    f: Callable[[Array], Array],
    lo: Array,
    hi: Array,
    f_lo: Array,
    f_hi: Array,
    *,
    xtol: Array | float,
    rtol: float = 1e-12,
    maxiter: int = 200,
) -> RootResult:
    """Find ``x`` in ``[lo, hi]`` with ``f(x) = 0`` for every element of a batch.

    ``f`` maps an array of shape ``lo.shape`` to values of the same shape;
    ``f_lo`` and ``f_hi`` must have opposite signs (or one of them be 0).
    Elements stop when the bracket is narrower than ``xtol + rtol * |x|``.
    """
    a = np.array(lo, dtype=np.float64)
    b = np.array(hi, dtype=np.float64)
    fa = np.array(f_lo, dtype=np.float64)
    fb = np.array(f_hi, dtype=np.float64)
    tol = np.broadcast_to(np.asarray(xtol, dtype=np.float64), a.shape)
    iterations = np.zeros(a.shape, dtype=np.int64)
    x = np.where(fa == 0, a, np.where(fb == 0, b, 0.5 * (a + b)))
    done = (fa == 0) | (fb == 0) | (np.abs(b - a) <= tol)
    side = np.zeros(a.shape, dtype=np.int8)  # which end moved last: -1 = a, +1 = b
    width_two_ago = np.full(a.shape, np.inf)
    width_one_ago = np.full(a.shape, np.inf)
    for _ in range(maxiter):
        if done.all():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = (a * fb - b * fa) / (fb - fa)
        width = np.abs(b - a)
        use_bisect = (
            ~np.isfinite(secant) | (secant <= np.minimum(a, b)) | (secant >= np.maximum(a, b))
        )
        use_bisect |= width > 0.5 * width_two_ago
        c = np.where(use_bisect, 0.5 * (a + b), secant)
        c = np.where(done, x, c)
        fc = f(c)
        active = ~done
        iterations += active
        same_as_a = np.sign(fc) == np.sign(fa)
        move_a = active & same_as_a & (fc != 0)
        move_b = active & ~same_as_a & (fc != 0)
        # Illinois step: halve the stale end's value when the same end moves twice.
        fb = np.where(move_a & (side == -1) & ~use_bisect, 0.5 * fb, fb)
        fa = np.where(move_b & (side == 1) & ~use_bisect, 0.5 * fa, fa)
        a = np.where(move_a, c, a)
        fa = np.where(move_a, fc, fa)
        b = np.where(move_b, c, b)
        fb = np.where(move_b, fc, fb)
        side = np.where(move_a, -1, np.where(move_b, 1, side)).astype(np.int8)
        width_two_ago, width_one_ago = width_one_ago, width
        x = np.where(active, c, x)
        newly = active & ((fc == 0) | (np.abs(b - a) <= tol + rtol * np.abs(c)))
        x = np.where(newly & (fc != 0), 0.5 * (a + b), x)
        done = done | newly
    return RootResult(x, done, iterations)
