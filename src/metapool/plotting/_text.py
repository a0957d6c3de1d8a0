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

__all__ = ["TextMeasurer", "split_note", "truncate", "widest_piece", "wrap_words"]

_DPI = 720.0


class TextMeasurer:
    """Widths (inches) of single- or multi-line strings in one font family and size."""

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
        return max(self._width(line, bold) for line in text.split("\n"))


def wrap_words(text: str, width: float, measure: TextMeasurer, bold: bool = False) -> str:
    """``text`` broken at spaces into lines no wider than ``width`` inches.

    A single word wider than ``width`` keeps a line of its own.
    """
    if measure.width(text, bold) <= width:
        return text
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and measure.width(candidate, bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return "\n".join(lines)


def truncate(text: str, width: float, measure: TextMeasurer, bold: bool = False) -> str:
    """``text`` cut and ended with "…" so that it is no wider than ``width`` inches."""
    if measure.width(text, bold) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if measure.width(text[:mid].rstrip() + "…", bold) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def split_note(text: str, width: float, measure: TextMeasurer) -> str:
    """A footnote ("Heterogeneity: …; Chi² = …, df = …") broken after "; " or ", ".

    Breaking only between the statistics keeps each one readable on its own line.
    """
    if measure.width(text) <= width:
        return text
    pieces: list[str] = []
    for part in re.split(r"(?<=;) ", text):
        if measure.width(part) <= width:
            pieces.append(part)
        else:
            pieces.extend(re.split(r"(?<=,) ", part))
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if current and measure.width(candidate) > width:
            lines.append(current)
            current = piece
        else:
            current = candidate
    lines.append(current)
    return "\n".join(lines)


def widest_piece(text: str, measure: TextMeasurer) -> float:
    """Width of the longest part :func:`split_note` cannot break further."""
    parts = [p for part in re.split(r"(?<=;) ", text) for p in re.split(r"(?<=,) ", part)]
    return max(measure.width(p) for p in parts)
