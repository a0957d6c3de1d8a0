"""Measuring, wrapping and truncating text before it is drawn.

Widths are measured with matplotlib's Agg text engine at a high resolution,
where hinting hardly changes glyph advances, so they hold within about 2 % for
PNGs at any usual dpi and for vector output (PDF, SVG). matplotlib is imported
when a :class:`TextMeasurer` is created, not when this module is imported.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import attrs

__all__ = [
    "TextCell",
    "TextMeasurer",
    "split_note",
    "statements",
    "truncate",
    "widest_statement",
    "wrap_words",
]

_DPI = 720.0


def _lines(text: str) -> int:
    return text.count("\n") + 1


_DIGITS = str.maketrans("123456789", "000000000")


class TextMeasurer:
    """Widths (inches) of single- or multi-line strings in one font family and size.

    When the font's digits are all equally wide (tabular figures, as in Arial,
    Helvetica and DejaVu Sans), strings that differ only in their digits are
    measured once: a table of numbers needs a handful of measurements.
    """

    def __init__(self, family: str, size: float) -> None:
        from matplotlib.backends import backend_agg
        from matplotlib.font_manager import FontProperties

        self.size = float(size)
        renderer_class: Any = backend_agg.RendererAgg  # untyped in matplotlib's stubs
        self._renderer: Any = renderer_class(1, 1, _DPI)
        self._props = {
            False: FontProperties(family=family, size=size),
            True: FontProperties(family=family, size=size, weight="bold"),
        }
        self._width = lru_cache(maxsize=4096)(self._measure)
        self._tabular = {
            bold: len({self._width(d, bold) for d in "0123456789"}) == 1 for bold in (False, True)
        }

    def _measure(self, line: str, bold: bool) -> float:
        if not line:
            return 0.0
        w: Any
        w, _, _ = self._renderer.get_text_width_height_descent(
            line, self._props[bold], ismath=False
        )
        return float(w) / _DPI

    def width(self, text: str, bold: bool = False) -> float:
        """Width in inches of the widest line of ``text``."""
        if self._tabular[bold]:
            text = text.translate(_DIGITS)
        return max(self._width(line, bold) for line in text.split("\n"))


def _max_chars(width: float, measure: TextMeasurer) -> int:
    """More characters than a line ``width`` inches wide can hold (none is narrower
    than 0.15 em), so that very long strings are cut before they are measured."""
    return int(width / (0.15 * measure.size / 72.0)) + 2


def _prefix_with_ellipsis(text: str, width: float, measure: TextMeasurer, bold: bool) -> str:
    """The longest prefix of the one-line ``text`` that fits in ``width`` with "…" after it."""
    text = text[: _max_chars(width, measure)]
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure.width(text[:mid].rstrip() + "…", bold) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def _break_word(word: str, width: float, measure: TextMeasurer, bold: bool) -> list[str]:
    """``word`` cut into pieces no wider than ``width`` (at least one character each)."""
    pieces: list[str] = []
    limit = _max_chars(width, measure)
    while len(word) > 1 and measure.width(word[:limit], bold) > width:
        low, high = 1, min(len(word), limit) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if measure.width(word[:mid], bold) <= width:
                low = mid
            else:
                high = mid - 1
        pieces.append(word[:low])
        word = word[low:]
    pieces.append(word)
    return pieces


def wrap_words(
    text: str,
    width: float,
    measure: TextMeasurer,
    bold: bool = False,
    max_lines: int | None = None,
) -> str:
    """``text`` broken at spaces into lines no wider than ``width`` inches.

    A word wider than ``width`` is broken inside it, so that no line is wider
    than ``width``. With ``max_lines``, a text that needs more lines is cut
    after that many, the last one ending with "…". Line breaks in ``text`` are
    kept.
    """
    if max_lines is not None:
        text = text[: max_lines * (_max_chars(width, measure) + 1) + 1]
    if measure.width(text, bold) <= width and (max_lines is None or _lines(text) <= max_lines):
        return text
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if not current or measure.width(candidate, bold) <= width:
                current = candidate
                if measure.width(current, bold) <= width:
                    continue
                *done, current = _break_word(current, width, measure, bold)
                lines.extend(done)
            else:
                lines.append(current)
                *done, current = _break_word(word, width, measure, bold)
                lines.extend(done)
            if max_lines is not None and len(lines) > max_lines:
                break
        lines.append(current)
        if max_lines is not None and len(lines) > max_lines:
            break
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _prefix_with_ellipsis(lines[-1], width, measure, bold)
    return "\n".join(lines)


def truncate(text: str, width: float, measure: TextMeasurer, bold: bool = False) -> str:
    """``text`` cut and ended with "…" so that it is no wider than ``width`` inches.

    Each line of a multi-line text is cut on its own.
    """
    text = "\n".join(line[: _max_chars(width, measure) + 1] for line in text.split("\n"))
    if measure.width(text, bold) <= width:
        return text
    return "\n".join(
        line
        if measure.width(line, bold) <= width
        else _prefix_with_ellipsis(line, width, measure, bold)
        for line in text.split("\n")
    )


#: Where a footnote may break: after "; ", and after ", " unless "df" follows
#: (the degrees of freedom belong to their statistic: "Chi² = 1.2, df = 2 (P = 0.5)").
_STATEMENT_BREAK = re.compile(r"(?<=;) |(?<=,) (?!df\b)")


def statements(text: str) -> list[str]:
    """The statements of a footnote, each with its trailing punctuation.

    Examples
    --------
    >>> statements("Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%")
    ['Heterogeneity: Tau² = 0.31;', 'Chi² = 152.23, df = 12 (P < 0.00001);', 'I² = 92%']
    >>> statements("Test for subgroup differences: Chi² = 1.02, df = 2 (P = 0.60), I² = 0%")
    ['Test for subgroup differences: Chi² = 1.02, df = 2 (P = 0.60),', 'I² = 0%']
    """
    return _STATEMENT_BREAK.split(text)


def split_note(text: str, width: float, measure: TextMeasurer) -> str:
    """A footnote ("Heterogeneity: …; Chi² = …, df = …") broken between statements.

    Lines are filled with whole statements; a statement is never broken, even
    when it is wider than ``width`` (the layout makes room for the widest one:
    :func:`widest_statement`).
    """
    if measure.width(text) <= width:
        return text
    lines: list[str] = []
    current = ""
    for piece in statements(text):
        candidate = f"{current} {piece}" if current else piece
        if current and measure.width(candidate) > width:
            lines.append(current)
            current = piece
        else:
            current = candidate
    lines.append(current)
    return "\n".join(lines)


def widest_statement(text: str, measure: TextMeasurer) -> float:
    """Width in inches of the widest statement of a footnote (see :func:`statements`)."""
    return max(measure.width(p) for p in statements(text))


@attrs.frozen(kw_only=True)
class TextCell:
    """One cell of a text column: its text, the row it sits on, and its weight.

    Attributes
    ----------
    gid : str
        Identifies the cell (``cell-<column>-<row>``); an element id in SVG files.
    text : str
        The text; lines are separated by ``"\\n"``.
    y : float
        Centre of the cell, in the y units of the column's transform.
    bold : bool
        Drawn in bold.
    dx : float
        Shift in inches from the column's anchor.
    """

    gid: str
    text: str
    y: float
    bold: bool = False
    dx: float = 0.0
