"""Keeping inverse-variance arithmetic inside double precision.

Every inverse-variance quantity is invariant (Q, I², p-values, weights) or
equivariant (μ̂ and its SE scale as ``s``, τ² as ``s²``) under ``y → y/s``,
``v → v/s²``. Multiplying by a power of two is exact in binary floating point,
so data with a variance outside ``[1e-60, 1e60]`` (the likelihood uses cubes of
the weights, which must stay representable) are rescaled by a power of two
before fitting and the results scaled back: the same numbers, bit for bit, as on
the original scale. Ordinary data are not touched. Data that stay out of range
after rescaling (a variance more than ~1e90 times the median variance, or an
effect more than ~1e45 standard errors from the median effect, where Q and the
weights' powers overflow) are refused with a message naming the study.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from metapool._validation import study_name
from metapool.exceptions import InvalidDataError

__all__ = ["LIMIT", "SAFE", "check_finite_effects", "plainly_in_range", "power_of_two_scale"]

Array = NDArray[np.float64]

#: Variances inside [1/SAFE, SAFE] are used as given (no rescaling).
SAFE = 1e60
#: After rescaling, variances and squared standardised deviations must stay below this.
LIMIT = 1e90


def power_of_two_scale(vi: Array) -> Array:
    """Per analysis (last axis), ``s`` = a power of two with ``median(v)/s² ≈ 1``,
    or 1 where every variance already lies in ``[1/SAFE, SAFE]``."""
    if vi.size and vi.min() >= 1 / SAFE and vi.max() <= SAFE:
        # ordinary data, decided by two whole-array reductions (contiguous, far
        # cheaper than per-row ones over a short last axis)
        return np.ones(vi.shape[:-1])
    inside = (vi.min(axis=-1) >= 1 / SAFE) & (vi.max(axis=-1) <= SAFE)
    if np.all(inside):  # no median to compute
        return np.ones(inside.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log2(np.median(vi, axis=-1)) / 2.0)
    return np.asarray(np.where(inside, 1.0, np.exp2(exponent)), dtype=np.float64)


def plainly_in_range(yi: Array, vi: Array) -> bool:
    """Whether all of ``yi``, ``vi`` (any shape) are finite, every variance lies in
    ``[1/SAFE, SAFE]`` (no rescaling) and the effects spread less than
    ``sqrt(LIMIT v_min)``: ordinary data, which every range check passes, decided
    by four whole-array reductions (NaN and inf fail them)."""
    if not yi.size:
        return False
    v_lo, v_hi = vi.min(), vi.max()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        spread = (yi.max() - yi.min()) ** 2 / v_lo  # numpy scalars: inf, not OverflowError
    return bool(v_lo >= 1 / SAFE and v_hi <= SAFE and spread < LIMIT)


def check_finite_effects(
    owner: str,
    yi: Array,
    vi: Array,
    labels: Sequence[str] | None = None,
    index: NDArray[np.intp] | None = None,
) -> None:
    """Refuse effects an inverse-variance model cannot use, naming the study.

    ``yi`` must be finite and ``vi`` finite and > 0 (effect sets guarantee this,
    but a model must not trust a hand-built or modified set), and, after the
    power-of-two rescaling, within the range where the arithmetic is exact
    enough: ``v/s²`` in ``[1/LIMIT, LIMIT]`` and ``(y - median(y))²/v < LIMIT``.
    One analysis only (1-d arrays).
    """
    k = yi.shape[-1]
    if plainly_in_range(yi, vi):  # the checks below would all pass
        return
    labels = labels if labels is not None else tuple(f"Study {i + 1}" for i in range(k))
    index = index if index is not None else np.arange(k, dtype=np.intp)

    def fail(pos: int, message: str) -> InvalidDataError:
        return InvalidDataError(f"{owner}: {study_name(int(index[pos]), labels[pos])} {message}")

    for pos in np.flatnonzero(~np.isfinite(yi)):
        raise fail(int(pos), f"has yi={float(yi[pos])!r}; 'yi' must be finite.")
    for pos in np.flatnonzero(~(np.isfinite(vi) & (vi > 0))):
        raise fail(int(pos), f"has vi={float(vi[pos])!r}; 'vi' must be finite and > 0.")
    s = float(power_of_two_scale(vi))
    v = vi / (s * s)
    extreme = (v < 1 / LIMIT) | (v > LIMIT)
    for pos in np.flatnonzero(extreme):
        raise fail(
            int(pos),
            f"has vi={float(vi[pos])!r}, while the median variance is "
            f"{float(np.median(vi))!r}: variances spanning more than ~1e90 around the median "
            "cannot be weighted in double precision. Check the units of this study.",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        centre = float(np.median(yi)) if s != 1.0 else 0.5 * (float(yi.min()) + float(yi.max()))
        z2 = ((yi - centre) / s) ** 2 / v
    for pos in np.flatnonzero(~(z2 < LIMIT)):
        raise fail(
            int(pos),
            f"has yi={float(yi[pos])!r}, about {np.sqrt(float(z2[pos])):.3g} standard errors "
            f"(sqrt(vi)={float(np.sqrt(vi[pos]))!r}) from the centre of the effects {centre!r}: "
            "Q and tau^2 overflow double precision. Check the units of the effects.",
        )
