"""Numbers and texts as a plot writes them: decimals, minus signs, NA, ∞.

Nothing here imports matplotlib, so that cell texts can be computed and tested
without it.
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = [
    "MAX_EXP",
    "MINUS",
    "fmt_data",
    "fmt_exp",
    "fmt_num",
    "fmt_tick",
    "level_percent",
    "method_title",
    "safe_exp",
    "tidy_note",
]

#: The typographic minus sign, as matplotlib uses on its own tick labels.
MINUS = "\u2212"
#: Largest log ratio whose exponential is a finite float.
MAX_EXP = 709.0
#: Widest arm-level or extra-column number written in full (characters).
_DATA_CHARS = 10
#: RevMan's name of each weighting (see metapool.models.Model.weighting).
_METHOD_NAMES = {"inverse-variance": "IV", "mantel-haenszel": "M-H", "peto": "Peto"}


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
    if abs(log_x) <= MAX_EXP:
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
    return math.exp(min(max(log_x, -MAX_EXP), MAX_EXP))


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
