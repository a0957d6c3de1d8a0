"""One style for every plot: fonts, colours, line widths, marker sizes, file output.

:class:`PlotStyle` is a frozen value; ``attrs.evolve(style, font_size=7)`` (or
:meth:`PlotStyle.replace`) gives a changed copy. Creating one does not import
matplotlib (colours are checked with it when it is installed).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from metapool.exceptions import InvalidParameterError, MetapoolTypeError

__all__ = ["PlotStyle"]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _positive(instance: PlotStyle, attribute: attrs.Attribute[Any], value: object) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
    if not ok:
        raise InvalidParameterError(
            f"The '{attribute.name}' field of PlotStyle must be a positive number. "
            f"Got {_short(value)}."
        )


def _optional_positive(instance: PlotStyle, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _positive(instance, attribute, value)


def _font_family(instance: PlotStyle, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise MetapoolTypeError(
            f"The '{attribute.name}' field of PlotStyle must be a font family name, e.g. "
            f"'sans-serif', 'serif' or 'Arial'. Got {type(value).__name__} ({_short(value)})."
        )


def _colour(instance: PlotStyle, attribute: attrs.Attribute[Any], value: object) -> None:
    try:
        from matplotlib.colors import is_color_like
    except ImportError:  # checked when a plot is drawn (which needs matplotlib)
        return
    if not is_color_like(value):
        raise InvalidParameterError(
            f"The '{attribute.name}' field of PlotStyle must be a matplotlib colour, e.g. "
            f"'black', '#3a5a80' or (0.2, 0.3, 0.5). Got {_short(value)}."
        )


def _fonttype(instance: PlotStyle, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or value not in (3, 42):
        raise InvalidParameterError(
            f"The '{attribute.name}' field of PlotStyle must be 42 (TrueType, embedded) or 3 "
            f"(Type 3). Got {_short(value)}."
        )


@attrs.frozen(kw_only=True)
class PlotStyle:
    """The look of metapool's plots, shared by :func:`~metapool.forest_plot` and
    :func:`~metapool.funnel_plot` (their ``style`` parameter).

    Sizes are in points (1/72 inch) at the size the figure is drawn; a forest
    plot's layout (row height, column gaps) follows ``font_size``.

    Parameters
    ----------
    font_family : str, default "sans-serif"
        Font family of every text (RevMan uses Arial; ``"sans-serif"`` resolves
        to Arial, Helvetica or DejaVu Sans).
    font_size : float, default 8
        Font size in points; legible when a double-column figure (17.5 cm) is
        printed at 100 %.
    square_color : colour, default "#3a5a80"
        Study squares (a dark slate blue that prints as a dark grey).
    diamond_color : colour, default "black"
        Pooled diamonds and the prediction interval.
    line_color : colour, default "black"
        Texts, confidence-interval lines, the line of no effect, the axis, and
        the markers and lines of a funnel plot.
    rule_width : float, default 0.6
        Axis lines, tick marks, the header rule and the line of no effect.
    ci_width : float, default 0.8
        Confidence-interval lines of the studies; the pooled lines of a funnel plot.
    prediction_width : float, default 1.2
        The prediction interval.
    min_square : float, default 2.5
        Side of the smallest study square; smaller ones would vanish.
    arrow_length, arrow_width : float, default 4.5 and 3.6
        Arrowheads where an interval leaves the axis: length along the line and
        width across it. At the default sizes a forest plot printed across a
        double column (about 0.9 of its drawn size) keeps them above 3 pt long.
    marker_size : float, default 4
        Study markers of a funnel plot.
    dpi : float or None, default None
        Resolution of raster output (PNG) when the figure is saved; None uses
        matplotlib's ``savefig.dpi``.
    pdf_fonttype, ps_fonttype : {42, 3}, default 42
        How fonts are embedded in PDF and PostScript files: 42 embeds the
        TrueType fonts (Type 42), which journals and editors accept and whose
        text stays searchable; 3 is matplotlib's default (Type 3).

    Raises
    ------
    InvalidParameterError
        For a size that is not a positive number, a colour matplotlib does not
        know or a font type other than 3 or 42. The message names the field.
    MetapoolTypeError
        For a font family that is not a str.

    Examples
    --------
    >>> import metapool as mp
    >>> style = mp.PlotStyle(font_size=7, square_color="tab:blue")
    >>> style.font_size, style.replace(font_size=9).font_size
    (7, 9)
    >>> style.output_rc()
    {'pdf.fonttype': 42, 'ps.fonttype': 42}
    """

    font_family: str = attrs.field(default="sans-serif", validator=_font_family)
    font_size: float = attrs.field(default=8.0, validator=_positive)
    square_color: Any = attrs.field(default="#3a5a80", validator=_colour)
    diamond_color: Any = attrs.field(default="black", validator=_colour)
    line_color: Any = attrs.field(default="black", validator=_colour)
    rule_width: float = attrs.field(default=0.6, validator=_positive)
    ci_width: float = attrs.field(default=0.8, validator=_positive)
    prediction_width: float = attrs.field(default=1.2, validator=_positive)
    min_square: float = attrs.field(default=2.5, validator=_positive)
    arrow_length: float = attrs.field(default=4.5, validator=_positive)
    arrow_width: float = attrs.field(default=3.6, validator=_positive)
    marker_size: float = attrs.field(default=4.0, validator=_positive)
    dpi: float | None = attrs.field(default=None, validator=_optional_positive)
    pdf_fonttype: int = attrs.field(default=42, validator=_fonttype)
    ps_fonttype: int = attrs.field(default=42, validator=_fonttype)

    def replace(self, **changes: Any) -> PlotStyle:
        """A copy with ``changes`` (as :func:`attrs.evolve`)."""
        return attrs.evolve(self, **changes)

    def output_rc(self) -> dict[str, Any]:
        """The matplotlib settings (rcParams) applied when a figure is saved."""
        return {"pdf.fonttype": self.pdf_fonttype, "ps.fonttype": self.ps_fonttype}
