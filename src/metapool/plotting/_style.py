"""The default look of metapool's plots, number formatting and axis scales.

Nothing here imports matplotlib, so that the numbers (tick positions, cell
texts) can be computed and tested without it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CI_COLOR",
    "DIAMOND_COLOR",
    "FONT_FAMILY",
    "FONT_SIZE",
    "GRID_COLOR",
    "MAX_LINEAR",
    "MAX_LOG10",
    "MINUS",
    "SQUARE_COLOR",
    "extent_of",
    "fmt_data",
    "fmt_exp",
    "fmt_num",
    "fmt_tick",
    "forest_ticks",
    "level_percent",
    "linear_ticks",
    "log_ticks",
    "method_title",
    "safe_exp",
    "tidy_note",
]

#: Colour of the study squares (a dark slate blue that prints as a dark grey).
SQUARE_COLOR = "#3a5a80"
#: Colour of the pooled diamonds.
DIAMOND_COLOR = "black"
#: Colour of confidence-interval lines, the line of no effect and the text.
CI_COLOR = "black"
#: Colour of rules and reference lines that should recede.
GRID_COLOR = "#9a9a9a"
#: RevMan uses Arial; "sans-serif" resolves to Arial/Helvetica/DejaVu Sans.
FONT_FAMILY = "sans-serif"
#: Points; legible when a double-column figure (17.5 cm) is printed at 100 %.
FONT_SIZE = 8.0
#: The typographic minus sign, as matplotlib uses on its own tick labels.
MINUS = "\u2212"

#: RevMan's name of each weighting (see metapool.models.Model.weighting).
_METHOD_NAMES = {"inverse-variance": "IV", "mantel-haenszel": "M-H", "peto": "Peto"}


#: Ratio axes never reach beyond 10**±300: the exponential of a larger log
#: ratio overflows a float, and no real analysis needs more.
MAX_LOG10 = 300
#: The same bound for a linear axis (a float overflows near 1.8e308).
MAX_LINEAR = 1e300
#: Largest log ratio whose exponential is a finite float.
_MAX_EXP = 709.0
#: Widest arm-level or extra-column number written in full (characters).
_DATA_CHARS = 10


def _minus(text: str) -> str:
    """``text`` with typographic minus signs and no negative zero."""
    if text.startswith("-"):
        mantissa = text[1:].split("e")[0]
        text = text[1:] if float(mantissa) == 0 else MINUS + text[1:]
    return text.replace("e-", "e" + MINUS)


def _sci(x: float, decimals: int) -> str:
    """``x`` in scientific notation with ``decimals`` decimals, e.g. ``1.23e+05``."""
    return _minus(f"{x:.{decimals}e}")


def fmt_num(x: float, decimals: int, *, ratio: bool = False) -> str:
    """``x`` with ``decimals`` decimals, a typographic minus and no negative zero.

    A number whose fixed-point text would be wider than its scientific notation
    (at 2 decimals: 100000 and above) is written in scientific notation with
    ``max(decimals, 1)`` decimals, so that a cell never grows beyond
    ``decimals + 7`` characters. With ``ratio=True`` (a positive ratio, never 0)
    a value that would round to zero is written in scientific notation too,
    instead of a false ``0.00``.

    Examples
    --------
    >>> fmt_num(-0.6181, 2), fmt_num(-0.001, 2), fmt_num(float("nan"), 2)
    ('−0.62', '0.00', 'NA')
    >>> fmt_num(99999.99, 2), fmt_num(123456.0, 2), fmt_num(0.0004, 2, ratio=True)
    ('99999.99', '1.23e+05', '4.00e−04')
    """
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    fixed = f"{x:.{decimals}f}"
    sci = f"{x:.{max(decimals, 1)}e}"
    if len(fixed.lstrip("-")) > len(sci.lstrip("-")) or (ratio and x != 0 and float(fixed) == 0):
        return _sci(x, max(decimals, 1))
    return _minus(fixed)


def fmt_exp(log_x: float, decimals: int) -> str:
    """``exp(log_x)`` as :func:`fmt_num` writes a ratio, also beyond the float range.

    The back-transform of a log ratio overflows for ``log_x > 709``; the
    mantissa and the power of ten are then computed from ``log_x`` itself, so
    the text stays exact (``exp(800)`` is ``2.73e+347``) and never reads "inf".

    Examples
    --------
    >>> fmt_exp(math.log(2.5), 2), fmt_exp(800.0, 2), fmt_exp(-800.0, 1)
    ('2.50', '2.73e+347', '3.7e−348')
    """
    if math.isnan(log_x):
        return "NA"
    if log_x == math.inf:
        return "∞"
    if abs(log_x) <= _MAX_EXP:
        return fmt_num(math.exp(log_x), decimals, ratio=True)
    d = max(decimals, 1)
    log10 = log_x / math.log(10.0)
    power = math.floor(log10)
    mantissa = f"{10.0 ** (log10 - power):.{d}f}"
    if float(mantissa) >= 10.0:
        mantissa, power = f"{1.0:.{d}f}", power + 1
    return f"{mantissa}e{'+' if power >= 0 else MINUS}{abs(power):02d}"


def safe_exp(log_x: float) -> float:
    """``exp(log_x)`` with ``log_x`` clipped to ±709, so that it stays a finite float."""
    return math.exp(min(max(log_x, -_MAX_EXP), _MAX_EXP))


def fmt_data(x: float, decimals: int | None = None) -> str:
    """Arm-level data as entered: integers without decimals, others with up to 3.

    Numbers wider than 10 characters, and non-zero numbers that would round
    to 0, are written in scientific notation with 2 decimals; a missing value
    is blank.

    Examples
    --------
    >>> fmt_data(120.0), fmt_data(5.10), fmt_data(0.12345), fmt_data(2.5, 2)
    ('120', '5.1', '0.123', '2.50')
    >>> fmt_data(1e20), fmt_data(1.5e-7), fmt_data(float("nan"))
    ('1.00e+20', '1.50e−07', '')
    """
    if math.isnan(x):
        return ""
    if decimals is not None:
        return fmt_num(x, decimals)
    if math.isinf(x):
        return fmt_num(x, 0)
    if float(x).is_integer():
        text = f"{x:.0f}"
    else:
        text = np.format_float_positional(x, precision=3, trim="-")
        if float(text) == 0:
            return _sci(x, 2)
    if len(text.lstrip("-")) > _DATA_CHARS:
        return _sci(x, 2)
    return _minus(text)


def fmt_tick(x: float) -> str:
    """A tick label on the natural scale: ``0.1``, ``0.5``, ``1``, ``10``, ``−2``.

    Ticks below 0.0001 or from a million up are written ``1e+06``, ``1e−35``.

    Examples
    --------
    >>> [fmt_tick(v) for v in (0.001, 0.5, 1.0, 1000.0, -2.5, 1e35, 2e-7)]
    ['0.001', '0.5', '1', '1000', '−2.5', '1e+35', '2e−07']
    """
    if x == 0:
        return "0"
    if not 1e-4 <= abs(x) < 1e6:
        return _minus(f"{x:.6g}")
    text = np.format_float_positional(float(x), precision=6, trim="-")
    return text.replace("-", MINUS)


_LONG_NUMBER = re.compile(r"(?<![\w.])(\d{7,}(?:\.\d+)?)(?![\w.])")


def tidy_note(text: str) -> str:
    """A footnote with ``nan``/``inf`` read as ``NA``/``∞`` and long numbers shortened.

    A footnote line (heterogeneity, test for overall effect) formats its
    statistics with fixed decimals; a number with 7 or more integer digits is
    rewritten in scientific notation so that the line stays readable.

    Examples
    --------
    >>> tidy_note("Tau² = nan; Chi² = 123456789.00, df = 2")
    'Tau² = NA; Chi² = 1.23e+08, df = 2'
    """
    text = re.sub(r"\bnan%?", "NA", text)
    text = re.sub(r"(?<![\w.])(-?)inf\b", lambda m: (MINUS if m[1] else "") + "∞", text)
    return _LONG_NUMBER.sub(lambda m: _sci(float(m[1]), 2), text)


def level_percent(level: float) -> str:
    """A confidence level as a percentage: ``95``, ``99.9`` (never rounded to 100).

    Examples
    --------
    >>> level_percent(0.95), level_percent(0.999), level_percent(0.9)
    ('95', '99.9', '90')
    """
    return f"{100 * level:.10g}"


def method_title(weighting: str, random: bool, level: float) -> str:
    """RevMan's method line, e.g. ``"M-H, Random, 95% CI"``."""
    method = _METHOD_NAMES.get(weighting, weighting)
    return f"{method}, {'Random' if random else 'Fixed'}, {level_percent(level)}% CI"


# ----------------------------------------------------------------------- scales
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


def forest_ticks(extent: float, log_scale: bool) -> tuple[tuple[float, float], tuple[float, ...]]:
    """Symmetric axis limits around the null covering ``extent``, and their ticks.

    Parameters
    ----------
    extent : float
        Largest distance from the null to show, on the analysis scale (log
        scale for ratios).
    log_scale : bool
        Whether the axis is logarithmic (limits and ticks are then natural-scale).

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
    """
    extent = abs(extent) if math.isfinite(extent) and extent > 0 else 0.0
    if log_scale:
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
