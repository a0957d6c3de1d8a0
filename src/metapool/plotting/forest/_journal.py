"""Forest plots at a journal's column width: a layout that fits, at exactly that width.

A printed figure is one column (8.5 cm) or two columns (17.5 cm) wide, and
its text must stay legible (no smaller than 6 pt). :func:`journal_layout`
tries layouts from the richest to the leanest: fonts from the largest size
down, narrower labels (wrapped onto more lines) and a narrower graphic (never
narrower than 1.0 in, or 2.2 in across two columns, nor so narrow that a
"favours" label would be broken inside a word), and,
when the columns were not given, fewer columns (the arm-level data first, then
user columns and the k/τ²/I² columns of a series, then the weights; the
study, the effect and the graphic always stay; each set is tried as given and
then with the graphic before the effect column, as metafor draws it, so that
the footnotes run under the whole figure instead of beside the axis). The first layout that fits is
widened to the exact width by giving the graphic the room left over. Nothing
is drawn here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from metapool.exceptions import InvalidParameterError
from metapool.plotting._numbers import fmt_tick
from metapool.plotting._style import PlotStyle
from metapool.plotting._text import TextMeasurer
from metapool.plotting.forest._content import ForestContent
from metapool.plotting.forest._layout import ForestLayout, forest_layout

__all__ = ["JOURNAL_WIDTHS", "journal_layout"]

#: Column widths in inches: single (8.5 cm) and double (17.5 cm) journal columns.
JOURNAL_WIDTHS = {"single": 8.5 / 2.54, "double": 17.5 / 2.54}

#: Font sizes tried (points), largest first; no text is set below 6 pt.
_FONTS = {"single": (7.0, 6.5, 6.0), "double": (8.0, 7.5, 7.0, 6.5, 6.0)}
#: (widest label, graphic) in inches, tried in this order at each font size.
_WIDTHS = {
    "single": ((1.3, 1.3), (1.1, 1.1), (0.9, 1.0), (0.75, 0.9)),
    "double": ((2.2, 2.4), (1.8, 2.0), (1.5, 1.7), (1.2, 1.4)),
}
_ALWAYS = ("study", "effect", "plot")
#: The narrowest graphic (inches) a layout may leave, so that the intervals and
#: the "favours" labels stay readable.
_MIN_PLOT = {"single": 1.0, "double": 2.2}


def _column_names(content: ForestContent) -> list[str]:
    """The user-level column names of ``content`` (arm-level sub-columns by arm)."""
    names: list[str] = []
    for col in content.columns:
        name = col.span if col.span in ("experimental", "control") else col.key
        if name is not None and name not in names:
            names.append(name)
    return names


def _column_ladder(names: list[str]) -> list[list[str]]:
    """The default columns, then fewer and fewer of them."""
    ladder = [names]
    for drop in (
        {"experimental", "control"},
        {n for n in names if n not in (*_ALWAYS, "weight")},
        {"weight"},
    ):
        last = ladder[-1]
        fewer = [n for n in last if n not in drop]
        if fewer != last:
            ladder.append(fewer)
    # Each set also with the graphic before the effect column (as metafor draws
    # it): the footnotes then run under the whole figure, not beside the axis.
    out: list[list[str]] = []
    for names_ in ladder:
        out.append(names_)
        if (
            "effect" in names_
            and "plot" in names_
            and names_.index("plot") > names_.index("effect")
        ):
            moved = [n for n in names_ if n != "plot"]
            moved.insert(moved.index("effect"), "plot")
            out.append(moved)
    return out


def at_width(layout: ForestLayout, target: float) -> ForestLayout:
    """``layout`` in a figure exactly ``target`` inches wide (not narrower than it
    is): the graphic and the texts keep their sizes and places, measured from the
    left edge, and the space left over stays on the right."""
    width, height = layout.figsize
    x0, y0, w, h = layout.axes_rect
    scale = width / target
    return attrs.evolve(layout, figsize=(target, height), axes_rect=(x0 * scale, y0, w * scale, h))


def _ticks_fit(content: ForestContent, ticks: Sequence[float], pw: float, style: PlotStyle) -> bool:
    """Whether the tick labels on a graphic ``pw`` inches wide keep half an em apart."""
    m = TextMeasurer(style.font_family, style.font_size)
    axis = content.axis
    lo, hi = (axis.u_of_x(v) for v in content.limits)
    places = [(axis.u_of_x(t) - lo) / (hi - lo) * pw for t in ticks]
    widths = [m.width(fmt_tick(t)) for t in ticks]
    gap = 0.5 * style.font_size / 72.0
    return all(
        places[i + 1] - places[i] >= (widths[i] + widths[i + 1]) / 2 + gap
        for i in range(len(ticks) - 1)
    )


def _thinned(content: ForestContent, pw: float, style: PlotStyle) -> ForestContent:
    """``content`` with every other tick dropped (keeping the null, or the first)
    until the tick labels fit a graphic ``pw`` inches wide."""
    ticks = list(content.ticks)
    null = content.axis.null
    while len(ticks) > 2 and not _ticks_fit(content, ticks, pw, style):
        keep = ticks.index(null) if null in ticks else 0
        ticks = [t for i, t in enumerate(ticks) if (i - keep) % 2 == 0]
    return (
        content if len(ticks) == len(content.ticks) else attrs.evolve(content, ticks=tuple(ticks))
    )


def _whole_words(content: ForestContent, layout: ForestLayout) -> bool:
    """Whether the "favours" labels were wrapped between words only (a graphic too
    narrow for them breaks a word: "[experiment-al]")."""
    return all(
        shown is None or given is None or shown.replace("\n", " ") == " ".join(given.split())
        for shown, given in zip(layout.favours, content.favours, strict=True)
    )


def _fit(
    content: ForestContent,
    style: PlotStyle,
    target: float,
    min_plot: float,
    label_w: float,
    plot_w: float,
    long_labels: str,
) -> ForestLayout | None:
    """A layout of ``content`` exactly ``target`` inches wide whose graphic is at
    least ``min_plot`` wide, or None."""

    def lay(c: ForestContent, pw: float) -> ForestLayout:
        return forest_layout(
            c, style, plot_width=pw, max_label_width=label_w, long_labels=long_labels
        )

    layout = lay(content, plot_w)
    spare = target - layout.figsize[0]
    if spare < -1e-9 or layout.plot_width + spare < min_plot:
        return None
    if not _whole_words(content, lay(content, layout.plot_width + spare)):
        return None
    content = _thinned(content, layout.plot_width, style)
    layout = lay(content, plot_w)
    spare = target - layout.figsize[0]
    if spare < -1e-9:
        return None
    wider = lay(content, layout.plot_width + spare)
    best = wider if wider.figsize[0] <= target + 1e-9 else layout
    return at_width(best, target)


def journal_layout(
    build: Callable[[Sequence[str] | None], ForestContent],
    style: PlotStyle,
    *,
    width: str,
    columns_given: bool,
    font_given: bool,
    long_labels: str,
) -> ForestLayout:
    """The richest layout of the content ``build(columns)`` that fits ``width``
    (``"single"`` or ``"double"``), at exactly that width."""
    target = JOURNAL_WIDTHS[width]
    content = build(None)
    ladder = [None] if columns_given else _column_ladder(_column_names(content))
    fonts = (style.font_size,) if font_given else _FONTS[width]
    tried = 0
    for columns in ladder:
        candidate = content if columns is None or columns == ladder[0] else build(columns)
        # The leanest layout of these columns first: if even it does not fit, no
        # richer one will, and the next (smaller) set of columns is tried.
        lean = style.replace(font_size=fonts[-1])
        tried += 1
        label_w, plot_w = _WIDTHS[width][-1]
        if _fit(candidate, lean, target, _MIN_PLOT[width], label_w, plot_w, long_labels) is None:
            continue
        for size in fonts:
            sized = style.replace(font_size=size)
            for label_w, plot_w in _WIDTHS[width]:
                tried += 1
                layout = _fit(
                    candidate, sized, target, _MIN_PLOT[width], label_w, plot_w, long_labels
                )
                if layout is not None:
                    return layout
    sizes = ", ".join(f"{s:g}" for s in fonts)
    raise InvalidParameterError(
        f"The 'width' parameter of forest_plot asks for a {width}-column figure "
        f"({target * 2.54:.1f} cm), but no layout of this plot fits it ({tried} tried: "
        f"font sizes {sizes} pt, labels wrapped down to {_WIDTHS[width][-1][0]:g} in, a "
        f"graphic at least {_MIN_PLOT[width]:g} in wide"
        + ("" if columns_given else ", only the study, effect and plot columns")
        + "). Use width='double', fewer columns, or shorter texts. Got "
        f"{width!r}."
    )
