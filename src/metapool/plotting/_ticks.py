"""Axis limits and tick positions of the effect axis (no matplotlib here).

A forest plot's default axis is one of RevMan's symmetric scales around the
line of no effect; a measure without a null value (a proportion, a
correlation) gets an axis that covers its data. Limits and ticks are on the
natural scale: ratios, not log ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MAX_LINEAR",
    "MAX_LOG10",
    "data_ticks",
    "extent_of",
    "forest_ticks",
    "linear_ticks",
    "log_ticks",
    "range_of",
]

#: Ratio axes never reach beyond 10**±300: the exponential of a larger log
#: ratio overflows a float, and no real analysis needs more.
MAX_LOG10 = 300
#: The same bound for a linear axis (a float overflows near 1.8e308).
MAX_LINEAR = 1e300

# RevMan offers symmetric scales around the line of no effect; these are the
# bounds it uses, with its tick marks.
_LOG_SCALES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (2.0, (0.5, 0.7, 1.0, 1.5, 2.0)),
    (5.0, (0.2, 0.5, 1.0, 2.0, 5.0)),
    (10.0, (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)),
    (20.0, (0.05, 0.2, 1.0, 5.0, 20.0)),
    (50.0, (0.02, 0.1, 1.0, 10.0, 50.0)),
    (100.0, (0.01, 0.1, 1.0, 10.0, 100.0)),
    (200.0, (0.005, 0.1, 1.0, 10.0, 200.0)),
    (500.0, (0.002, 0.1, 1.0, 10.0, 500.0)),
    (1000.0, (0.001, 0.1, 1.0, 10.0, 1000.0)),
)
_LINEAR_MANTISSAS = (1.0, 2.0, 4.0, 5.0)
#: Steps (powers of ten) between the ticks of a ratio axis wider than 0.001-1000.
_POWER_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 150)


def forest_ticks(
    extent: float, log_axis: bool, null: float | None = None
) -> tuple[tuple[float, float], tuple[float, ...]]:
    """Symmetric axis limits around the null covering ``extent``, and their ticks.

    Parameters
    ----------
    extent : float
        Largest distance from the null to show, in axis units (the log of a
        ratio on a logarithmic axis).
    log_axis : bool
        Whether the axis is logarithmic (limits and ticks are natural-scale).
    null : float, optional
        The null value on the natural scale; default 1 on a logarithmic axis,
        0 on a linear one. RevMan's scales are shifted (multiplied on a
        logarithmic axis) to centre on another null.

    Returns
    -------
    (low, high), ticks

    Notes
    -----
    The limits never go beyond ``10**±MAX_LOG10`` on a ratio axis or
    ``±MAX_LINEAR`` on a linear one, so that they stay finite floats; anything
    further out ends in an arrow.

    Examples
    --------
    >>> forest_ticks(math.log(3.1), True)
    ((0.2, 5.0), (0.2, 0.5, 1.0, 2.0, 5.0))
    >>> forest_ticks(0.7, False)
    ((-1.0, 1.0), (-1.0, -0.5, 0.0, 0.5, 1.0))
    >>> forest_ticks(0.3, False, null=0.5)
    ((0.1, 0.9), (0.1, 0.3, 0.5, 0.7, 0.9))
    """
    (low, high), ticks = _centred_ticks(extent, log_axis)
    canonical = 1.0 if log_axis else 0.0
    if null is None or null == canonical:
        return (low, high), ticks

    def move(v: float) -> float:
        return float(f"{(v * null if log_axis else v + null):.12g}")

    return (move(low), move(high)), tuple(move(t) for t in ticks)


def _centred_ticks(extent: float, log_axis: bool) -> tuple[tuple[float, float], tuple[float, ...]]:
    """RevMan's scale around 1 (logarithmic axis) or 0 (linear) covering ``extent``."""
    extent = abs(extent) if math.isfinite(extent) and extent > 0 else 0.0
    if log_axis:
        for bound, ticks in _LOG_SCALES:
            if math.log(bound) >= extent * (1 - 1e-9):
                return (1.0 / bound, bound), ticks
        # Powers of ten beyond RevMan's scales: at most five evenly spaced ticks.
        power = min(math.ceil(extent * (1 - 1e-9) / math.log(10)), MAX_LOG10)
        step = next(st for st in _POWER_STEPS if 2 * st >= power)
        power = min(step * math.ceil(power / step), MAX_LOG10)
        ticks = tuple(10.0**p for p in range(-power, power + 1, step))
        return (10.0**-power, 10.0**power), ticks
    if extent == 0:
        extent = 1.0
    extent = min(extent, MAX_LINEAR)
    exponent = math.floor(math.log10(extent))
    for power in (exponent, exponent + 1):
        for mantissa in _LINEAR_MANTISSAS:
            bound = mantissa * 10.0**power
            if bound >= extent * (1 - 1e-9):
                bound = float(f"{bound:.12g}")
                half = float(f"{bound / 2:.12g}")
                return (-bound, bound), (-bound, -half, 0.0, half, bound)
    raise AssertionError("unreachable")  # pragma: no cover


def data_ticks(
    low: float, high: float, log_axis: bool
) -> tuple[tuple[float, float], tuple[float, ...]]:
    """Axis limits and ticks covering ``[low, high]`` (natural scale), for a
    measure without a null value: the limits are widened to round ticks.

    Examples
    --------
    >>> data_ticks(0.12, 0.58, False)
    ((0.1, 0.6), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    >>> data_ticks(0.3, 4.0, True)
    ((0.2, 5.0), (0.2, 0.5, 1.0, 2.0, 5.0))
    """
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        if log_axis:
            centre = low if math.isfinite(low) and low > 0 else 1.0
            low, high = centre / 2, centre * 2
        else:
            centre = low if math.isfinite(low) else 0.0
            low, high = centre - 1, centre + 1
    if log_axis:
        low, high = max(low, 10.0**-MAX_LOG10), min(high, 10.0**MAX_LOG10)
        lo_pow, hi_pow = math.floor(math.log10(low)), math.ceil(math.log10(high))
        # Round limits: the nearest 1, 2 or 5 times a power of ten outside the data.
        below = [m * 10.0**p for p in (lo_pow - 1, lo_pow) for m in (1.0, 2.0, 5.0)]
        above = [m * 10.0**p for p in (hi_pow - 1, hi_pow) for m in (1.0, 2.0, 5.0)]
        lo_lim = float(f"{max(v for v in below if v <= low * (1 + 1e-9)):.12g}")
        hi_lim = float(f"{min(v for v in above if v >= high * (1 - 1e-9)):.12g}")
        return (lo_lim, hi_lim), log_ticks(lo_lim, hi_lim)
    low, high = max(low, -MAX_LINEAR), min(high, MAX_LINEAR)
    ticks = linear_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else (high - low)
    lo_lim = float(f"{math.floor(low / step + 1e-9) * step:.12g}")
    hi_lim = float(f"{math.ceil(high / step - 1e-9) * step:.12g}")
    return (lo_lim, hi_lim), linear_ticks(lo_lim, hi_lim)


def log_ticks(low: float, high: float) -> tuple[float, ...]:
    """Natural-scale tick positions for a log axis on ``[low, high]``.

    The coarsest of the sequences 10^k, {1, 2, 5}·10^k, {1, 1.5, 2, 3, 5, 7}·10^k
    and {1, 2, …, 9}·10^k that puts at least three ticks over at least half of
    the range (in log units), thinned to at most seven; evenly spaced ticks on a
    narrower range. Over more than 12 decades: powers of ten at a round step
    (1e−100, 1e−50, 1, 1e+50, …).

    Examples
    --------
    >>> log_ticks(0.05, 3.0)
    (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
    >>> log_ticks(0.8, 1.3)
    (0.8, 0.9, 1.0, 1.1, 1.2, 1.3)
    """
    if not (0 < low < high):
        raise ValueError(f"log_ticks: need 0 < low < high. Got {low!r}, {high!r}.")
    decades = math.log10(high / low)
    if decades > 12:  # powers of ten at a round step, at most seven of them
        lo_pow, hi_pow = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
        step = next((st for st in _POWER_STEPS if (hi_pow - lo_pow) // st < 7), 150)
        first = step * math.ceil(lo_pow / step)
        return tuple(10.0**p for p in range(first, hi_pow + 1, step))
    lo_pow, hi_pow = math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1
    sequences = (
        (1.0,),
        (1.0, 2.0, 5.0),
        (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
        tuple(float(m) for m in range(1, 10)),
    )
    best: list[float] = []
    for mantissas in sequences:
        values = sorted(
            float(f"{m * 10.0**p:.12g}") for p in range(lo_pow, hi_pow + 1) for m in mantissas
        )
        best = [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if len(best) >= 3 and math.log(best[-1] / best[0]) >= 0.5 * math.log(high / low):
            break
    else:  # a narrow range: evenly spaced ticks read better
        return linear_ticks(low, high)
    while len(best) > 7:
        keep_one = 1.0 if 1.0 in best else best[len(best) // 2]
        start = best.index(keep_one) % 2
        best = [v for i, v in enumerate(best) if i % 2 == start]
    return tuple(best)


def linear_ticks(low: float, high: float, target: int = 5) -> tuple[float, ...]:
    """Round, evenly spaced ticks on ``[low, high]``, at most ``target + 1`` of them.

    Examples
    --------
    >>> linear_ticks(-1.3, 2.2)
    (-1.0, 0.0, 1.0, 2.0)
    """
    if not high > low:
        raise ValueError(f"linear_ticks: need low < high. Got {low!r}, {high!r}.")
    power = 10.0 ** math.floor(math.log10((high - low) / max(1, target)))
    for step in (m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0)):
        first = math.ceil(low / step - 1e-9)
        last = math.floor(high / step + 1e-9)
        if last - first + 1 <= target + 1:
            break
    return tuple(float(f"{i * step:.12g}") + 0.0 for i in range(first, last + 1))


def extent_of(
    estimates: Sequence[float] | np.ndarray,
    ci_bounds: Sequence[float] | np.ndarray,
    pooled_bounds: Sequence[float] | np.ndarray,
    null: float,
) -> float:
    """How far from the null a forest plot's default axis should reach.

    Every pooled interval and every study estimate is covered, and the study
    confidence limits up to their 90th percentile; the wider ones end in an
    arrow, as in RevMan, instead of squeezing the rest of the plot.
    """
    est = np.abs(np.asarray(estimates, dtype=np.float64) - null)
    bounds = np.abs(np.asarray(ci_bounds, dtype=np.float64) - null)
    pooled = np.abs(np.asarray(pooled_bounds, dtype=np.float64) - null)
    parts = [a[np.isfinite(a)] for a in (est, pooled)]
    finite_bounds = bounds[np.isfinite(bounds)]
    if finite_bounds.size:
        parts.append(np.array([np.quantile(finite_bounds, 0.9)]))
    values = np.concatenate(parts) if parts else np.zeros(0)
    return float(values.max()) if values.size else 0.0


def range_of(
    estimates: Sequence[float] | np.ndarray,
    lows: Sequence[float] | np.ndarray,
    highs: Sequence[float] | np.ndarray,
    pooled_bounds: Sequence[float] | np.ndarray,
) -> tuple[float, float]:
    """The range (axis units) a forest plot without a null value should cover.

    As :func:`extent_of`: every estimate and pooled interval, and the study
    confidence limits from their 10th to their 90th percentile; NaN when there
    is nothing finite.
    """
    parts = [np.asarray(a, dtype=np.float64) for a in (estimates, pooled_bounds)]
    parts = [a[np.isfinite(a)] for a in parts]
    lo = np.asarray(lows, dtype=np.float64)
    hi = np.asarray(highs, dtype=np.float64)
    lo, hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
    if lo.size:
        parts.append(np.array([np.quantile(lo, 0.1)]))
    if hi.size:
        parts.append(np.array([np.quantile(hi, 0.9)]))
    values = np.concatenate(parts)
    if not values.size:
        return math.nan, math.nan
    return float(values.min()), float(values.max())
