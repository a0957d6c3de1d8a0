"""Where everything of a forest plot goes: sizes and positions from content and style.

The layout step (content, then layout, then drawing): texts are measured in the
style's font, long labels wrapped or cut, footnotes broken between statements;
columns get their widths and places, rows their heights, and the figure its
size. The result is a new, frozen :class:`ForestLayout`; the content is read,
never changed. Horizontal positions are in inches from the table's left edge,
vertical ones in rows (1 is the height of a one-line row) from the header rule
down. matplotlib's font machinery measures the texts; nothing is drawn here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import attrs

from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._numbers import fmt_tick
from metapool.plotting._style import PlotStyle
from metapool.plotting._text import (
    TextCell,
    TextMeasurer,
    split_note,
    truncate,
    widest_statement,
    wrap_words,
)
from metapool.plotting.forest._content import Column, ForestContent, Row

__all__ = [
    "ForestLayout",
    "HeaderText",
    "Mark",
    "TextColumnSpec",
    "forest_layout",
]

# Geometry, in units of the font size (em); one em is fontsize/72 inches.
ROW = 1.6  # height of a one-line row
LEADING = 1.2  # line spacing inside a multi-line cell
_COL_GAP = 0.9  # space between two columns
_MARGIN = 0.5  # empty border around the figure
_HEADER = 2.3  # two header lines above the first row, in row units
_BODY_PAD = 0.3  # space between the header rule and the first row, in row units
_MAX_LABEL_LINES = 4  # a wrapped label longer than this is cut with "…"
_MIN_HEADER = 14.0  # em; headers are cut at max(max_label_width, this)
_UPPER, _LOWER = -1.65, -0.6  # the two header lines, in rows above the rule


@attrs.frozen(kw_only=True)
class TextColumnSpec:
    """The cells of one text column, aligned on ``x`` (inches from the table's left)."""

    gid: str
    x: float
    align: Literal["left", "right", "center"]
    cells: tuple[TextCell, ...]


@attrs.frozen(kw_only=True)
class HeaderText:
    """A header, title or other single text; ``x`` None centres it over the graphic."""

    gid: str
    text: str
    x: float | None
    y: float
    align: Literal["left", "right", "center"]
    size: float
    bold: bool = True


@attrs.frozen(kw_only=True)
class Mark:
    """What a row draws on the graphic: a square, a diamond or a prediction interval."""

    kind: Literal["study", "pooled", "prediction"]
    gid: str
    y: float
    height: float
    estimate: float
    low: float
    high: float
    weight: float | None = None


@attrs.frozen(kw_only=True)
class ForestLayout:
    """A forest plot laid out: everything the drawing step needs, and nothing to compute.

    Attributes
    ----------
    content : ForestContent
        What is shown (unchanged by the layout).
    style : PlotStyle
        The style the texts were measured in.
    columns : tuple of TextColumnSpec
        One per text column (the effect column as two: estimates and
        intervals), and one for the footnotes.
    headers : tuple of HeaderText
        Column headers and the title.
    marks : tuple of Mark
        The squares, diamonds and prediction interval, one per row that has one.
    body : float
        Height of the graphic, in rows.
    unit : float
        Inches per row in a new figure.
    pitch : float
        Points between the lines of a multi-line cell.
    plot_left, plot_width, table_right : float
        The graphic's left edge and width, and the table's right edge (inches
        from the table's left edge).
    favours : (str or None, str or None)
        The "favours" labels, wrapped if needed; ``favours_flush`` says whether
        each is flush against the line of no effect instead of centred under
        its half of the axis.
    axis_gap : float
        Points between the axis line and the "favours" labels.
    max_weight : float
        The largest study weight: its square fills most of a row.
    figsize : (float, float)
        Size in inches of a new figure; ``axes_rect`` is the graphic's place
        in it, as fractions (left, bottom, width, height).
    """

    content: ForestContent
    style: PlotStyle
    columns: tuple[TextColumnSpec, ...]
    headers: tuple[HeaderText, ...]
    marks: tuple[Mark, ...]
    body: float
    unit: float
    pitch: float
    plot_left: float
    plot_width: float
    table_right: float
    favours: tuple[str | None, str | None]
    favours_flush: tuple[bool, bool]
    axis_gap: float
    figsize: tuple[float, float]
    axes_rect: tuple[float, float, float, float]
    max_weight: float

    @property
    def axis(self) -> EffectAxis:
        """The content's effect axis."""
        return self.content.axis


# ------------------------------------------------------------------- helpers
def _lines(text: str) -> int:
    return text.count("\n") + 1


def row_height(lines: int) -> float:
    """Height (rows) of a row whose tallest cell has ``lines`` lines."""
    return 1.0 + (lines - 1) * LEADING / ROW


def span_groups(columns: Sequence[Column]) -> list[tuple[str, list[Column]]]:
    """Runs of adjacent columns that share an upper header (``span``)."""
    groups: list[tuple[str, list[Column]]] = []
    for col in columns:
        if col.span is None or col.group is None:
            continue
        if groups and groups[-1][1][-1].span == col.span:
            groups[-1][1].append(col)
        else:
            groups.append((col.group, [col]))
    return groups


def favours_fraction(limits: tuple[float, float], axis: EffectAxis) -> float:
    """Where the null sits on the axis, as a fraction of its width (0.5 if outside)."""
    null = axis.null
    low, high = limits
    if null is None or not low < null < high:
        return 0.5
    u = axis.u_of_x
    return (u(null) - u(low)) / (u(high) - u(low))


@attrs.frozen
class _Texts:
    """The content's texts as they will be drawn: shortened, and per row."""

    cells: tuple[dict[str, str], ...]
    headers: dict[str, str]
    groups: dict[str, str]


def _shorten(
    content: ForestContent, width: float | None, long_labels: str, m: TextMeasurer
) -> _Texts:
    """Labels, subgroup names and text cells no wider than ``width`` inches; one-line
    headers no wider than ``width`` (or 14 em if that is wider)."""
    cells = tuple(dict(row.cells) for row in content.rows)
    headers = {c.key: c.header for c in content.columns}
    groups = {c.key: c.group for c in content.columns if c.group is not None}
    if width is None:
        return _Texts(cells, headers, groups)
    text_columns = ["study"] + [
        c.key
        for c in content.columns
        if c.gid.startswith("extra-") and c.align == "left"  # user columns of text
    ]
    for row, texts in zip(content.rows, cells, strict=True):
        if row.kind not in ("study", "excluded", "subgroup"):
            continue
        for key in text_columns:
            if key in texts:
                texts[key] = (
                    wrap_words(texts[key], width, m, row.bold, max_lines=_MAX_LABEL_LINES)
                    if long_labels == "wrap"
                    else truncate(texts[key], width, m, row.bold)
                )
    header_width = max(width, _MIN_HEADER * m.size / 72.0)
    headers = {k: truncate(h.replace("\n", " "), header_width, m, True) for k, h in headers.items()}
    groups = {k: truncate(g.replace("\n", " "), header_width, m, True) for k, g in groups.items()}
    return _Texts(cells, headers, groups)


# -------------------------------------------------------------------- layout
def forest_layout(
    content: ForestContent,
    style: PlotStyle,
    *,
    plot_width: float = 2.0,
    max_label_width: float | None = 2.2,
    long_labels: str = "wrap",
) -> ForestLayout:
    """Lay ``content`` out in ``style`` (see :func:`~metapool.forest_plot` for the
    options); ``content`` is not changed."""
    m = TextMeasurer(style.font_family, style.font_size)
    em = style.font_size / 72.0
    gap = _COL_GAP * em
    texts = _shorten(content, max_label_width, long_labels, m)
    rows = content.rows
    keys = [c.key for c in content.columns]
    at = keys.index("plot")
    left_cols, right_cols = content.columns[:at], content.columns[at + 1 :]

    # ---- column widths
    space = m.width("0") * 0.55  # between an estimate and its interval
    est_w = max((m.width(r.effect[0], r.bold) for r in rows if r.effect), default=0.0)
    ci_w = max((m.width(r.effect[1], r.bold) for r in rows if r.effect), default=0.0)
    width: dict[str, float] = {}
    for col in content.columns:
        if col.key == "plot":
            continue
        w = m.width(texts.headers[col.key], bold=True)
        if col.key == "effect":
            w = max(w, est_w + space + ci_w)
        for row, cells in zip(rows, texts.cells, strict=True):
            if row.kind != "note" and col.key in cells:
                w = max(w, m.width(cells[col.key], row.bold))
        width[col.key] = w
    # An upper header wider than the columns under it widens the first of them.
    for col_key, (name, cols) in _group_texts(left_cols + right_cols, texts):
        available = sum(width[c.key] for c in cols) + gap * (len(cols) - 1)
        need = m.width(name, bold=True)
        if need > available:
            width[col_key] += need - available

    # ---- footnotes: under the left part of the table, which must hold their
    # widest statement; beside the axis when no column follows the graphic.
    footers_beside = not right_cols and bool(left_cols)
    notes = [
        cells["study"] for row, cells in zip(rows, texts.cells, strict=True) if row.kind == "note"
    ]
    if footers_beside:
        notes += [text for text, _ in content.footers]
    left_width = sum(width[c.key] for c in left_cols) + gap * max(0, len(left_cols) - 1)
    if left_cols and notes:
        need = max(widest_statement(n, m) for n in notes)
        if need > left_width:
            width[left_cols[0].key] += need - left_width
            left_width = need
    note_width = left_width if left_cols else math.inf
    for row, cells in zip(rows, texts.cells, strict=True):
        if row.kind == "note":
            cells["study"] = split_note(cells["study"], note_width, m)
    footers = list(content.footers)
    footer_right = 0.0
    if footers_beside:
        footers = [(split_note(t, note_width, m), gid) for t, gid in footers]
        footer_right = max((m.width(t) for t, _ in footers), default=0.0) + gap

    # ---- the graphic: wide enough for its header and the "favours" labels
    axis = content.axis
    tick_labels = [fmt_tick(t) for t in content.ticks]
    pw = max(
        plot_width,
        m.width(texts.headers["plot"], True),
        m.width(texts.groups.get("plot", ""), True),
    )
    small = 0.6 * em
    half_first = m.width(tick_labels[0]) / 2 if tick_labels else 0.0
    half_last = m.width(tick_labels[-1]) / 2 if tick_labels else 0.0
    plot_left = (left_width + max(gap, half_first + small)) if left_cols else half_first
    null_fraction = favours_fraction(content.limits, axis)
    favours, flush, pw = _fit_favours(
        content.favours, null_fraction, pw, plot_left, footer_right, small, m
    )
    right_edge = plot_left + pw + half_last
    if flush[1] and favours[1]:
        right_edge = max(right_edge, plot_left + null_fraction * pw + small + m.width(favours[1]))

    # ---- horizontal places
    left: dict[str, float] = {}
    x = 0.0
    for col in left_cols:
        left[col.key] = x
        x += width[col.key] + gap
    x = plot_left + pw + max(gap, half_last + small)
    for col in right_cols:
        left[col.key] = x
        x += width[col.key] + gap
    table_right = max(x - gap, right_edge) if right_cols else right_edge
    if not footers_beside:  # footnotes under the whole figure
        if footers:
            table_right = max(table_right, max(widest_statement(t, m) for t, _ in footers))
        footers = [(split_note(t, table_right, m), gid) for t, gid in footers]

    # ---- vertical places (rows)
    centres: list[float] = []
    heights: list[float] = []
    y = _BODY_PAD
    for row, cells in zip(rows, texts.cells, strict=True):
        height = (
            row.height
            if row.kind == "blank"
            else row_height(max([1] + [_lines(t) for t in cells.values()]))
        )
        centres.append(y + height / 2)
        heights.append(height)
        y += height
    body = y + _BODY_PAD

    unit = ROW * em  # inches per row
    title_size = style.font_size + 1
    title = (
        wrap_words(content.title, table_right, TextMeasurer(style.font_family, title_size), True)
        if content.title
        else None
    )
    title_units = (
        1.6 + (_lines(title) - 1) * LEADING * title_size / (ROW * style.font_size) if title else 0.0
    )
    fav_lines = max((_lines(t) for t in favours if t), default=0)
    fs = style.font_size
    axis_gap = 3.0 + 2.0 + 1.25 * fs + 3.0  # ticks, pad, tick labels, gap (points)
    axis_block = (axis_gap + fav_lines * LEADING * fs + 2.0) / 72
    footer_heights = [row_height(_lines(text)) for text, _ in footers]
    footer_block = (0.45 + sum(footer_heights)) * unit
    bottom = max(axis_block, footer_block) if footers_beside else axis_block + footer_block
    top_units = _HEADER + title_units
    margin = _MARGIN * em
    fig_w = 2 * margin + table_right
    fig_h = 2 * margin + (top_units + body) * unit + bottom
    axes_rect = (
        (margin + plot_left) / fig_w,
        (margin + bottom) / fig_h,
        pw / fig_w,
        body * unit / fig_h,
    )

    # ---- the texts, by column
    columns: list[TextColumnSpec] = []
    for col in left_cols + right_cols:
        columns.extend(
            _column_texts(
                col, left[col.key], width[col.key], rows, texts, centres, est_w, ci_w, space
            )
        )
    note_cells = [
        TextCell(gid=row.gid, text=cells["study"], y=centre)
        for row, cells, centre in zip(rows, texts.cells, centres, strict=True)
        if row.kind == "note"
    ]
    y = body + 0.45 if footers_beside else body + axis_block / unit + 0.3
    for (text, gid), height in zip(footers, footer_heights, strict=True):
        note_cells.append(TextCell(gid=gid, text=text, y=y + height / 2))
        y += height
    columns.append(TextColumnSpec(gid="column-notes", x=0.0, align="left", cells=tuple(note_cells)))

    headers = _headers(content, texts, left, width, title, title_units, title_size, fs)
    marks = tuple(
        Mark(
            kind=row.kind,
            gid=row.gid,
            y=centre,
            height=height,
            estimate=interval[0],
            low=interval[1],
            high=interval[2],
            weight=row.weight,
        )
        for row, centre, height in zip(rows, centres, heights, strict=True)
        if row.kind in ("study", "pooled", "prediction")
        and (interval := row.interval()) is not None
    )
    return ForestLayout(
        content=content,
        style=style,
        columns=tuple(columns),
        headers=headers,
        marks=marks,
        body=body,
        unit=unit,
        pitch=LEADING * fs,
        plot_left=plot_left,
        plot_width=pw,
        table_right=table_right,
        favours=favours,
        favours_flush=flush,
        axis_gap=axis_gap,
        figsize=(fig_w, fig_h),
        axes_rect=axes_rect,
        max_weight=max(
            (
                r.weight
                for r in rows
                if r.kind == "study" and r.weight is not None and math.isfinite(r.weight)
            ),
            default=1.0,
        )
        or 1.0,
    )


def _group_texts(
    columns: Sequence[Column], texts: _Texts
) -> list[tuple[str, tuple[str, list[Column]]]]:
    """Upper headers (as shortened) over the text columns, keyed by their first column."""
    return [
        (cols[0].key, (texts.groups.get(cols[0].key, name), cols))
        for name, cols in span_groups(columns)
    ]


def _fit_favours(
    labels: tuple[str | None, str | None],
    null_fraction: float,
    pw: float,
    plot_left: float,
    footer_right: float,
    small: float,
    m: TextMeasurer,
) -> tuple[tuple[str | None, str | None], tuple[bool, bool], float]:
    """The "favours" labels as drawn, whether each is flush, and the graphic's width.

    Centred under their halves of the axis if both fit, else both flush
    against the line of no effect and running outwards, as far as the
    footnotes beside the axis allow; beyond that the graphic is widened a
    little, or both labels are broken onto more lines.
    """
    shares = (null_fraction, 1.0 - null_fraction)
    fits = all(
        m.width(label) + small <= share * pw
        for label, share in zip(labels, shares, strict=True)
        if label
    )
    wrapped: list[str | None] = list(labels)
    flush = (not fits and bool(labels[0]), not fits and bool(labels[1]))
    left_label = labels[0]
    if not fits and left_label and shares[0] > 0:
        # Room left of the null line down to the footnotes beside the axis.
        room = plot_left + shares[0] * pw - small - footer_right
        deficit = m.width(left_label) - room
        if 0 < deficit <= 0.3 * pw * shares[0]:
            pw += deficit / shares[0]  # a little wider rather than broken
        elif deficit > 0:  # break both labels alike (a too-long word widens the graphic)
            # (96 %: long runs of one glyph render up to 3 % wider at screen dpi)
            wrapped = [wrap_words(t, 0.96 * room, m) if t else None for t in labels]
            first = wrapped[0] or ""
            pw += max(0.0, m.width(first) - room) / shares[0]
    return (wrapped[0], wrapped[1]), flush, pw


def _column_texts(
    col: Column,
    left: float,
    width: float,
    rows: Sequence[Row],
    texts: _Texts,
    centres: Sequence[float],
    est_w: float,
    ci_w: float,
    space: float,
) -> list[TextColumnSpec]:
    """The text column(s) of ``col``: the effect column is two, estimates
    (right-aligned, so that the decimals line up) and intervals (left-aligned
    one space after them, so that no interval is padded inside its brackets)."""
    placed = [
        (row, cells, y)
        for row, cells, y in zip(rows, texts.cells, centres, strict=True)
        if row.kind != "note"
    ]
    if col.key == "effect":
        x_ci = left + width - ci_w
        estimates, intervals = [], []
        for row, cells, y in placed:
            gid = f"cell-{col.gid}-{row.gid}"
            if row.effect is not None:
                if row.effect[0]:
                    estimates.append(
                        TextCell(gid=f"{gid}-estimate", text=row.effect[0], y=y, bold=row.bold)
                    )
                intervals.append(
                    TextCell(gid=f"{gid}-interval", text=row.effect[1], y=y, bold=row.bold)
                )
            elif "effect" in cells:  # "Not estimable", at the column's left edge
                intervals.append(
                    TextCell(gid=gid, text=cells["effect"], y=y, bold=row.bold, dx=left - x_ci)
                )
        return [
            TextColumnSpec(
                gid=f"column-{col.gid}-estimate",
                x=x_ci - space,
                align="right",
                cells=tuple(estimates),
            ),
            TextColumnSpec(
                gid=f"column-{col.gid}-interval", x=x_ci, align="left", cells=tuple(intervals)
            ),
        ]
    cells_out = [
        TextCell(
            gid=row.gid if row.kind == "subgroup" else f"cell-{col.gid}-{row.gid}",
            text=cells[col.key],
            y=y,
            bold=row.bold,
        )
        for row, cells, y in placed
        if cells.get(col.key)
    ]
    if col.align == "right":
        return [
            TextColumnSpec(
                gid=f"column-{col.gid}", x=left + width, align="right", cells=tuple(cells_out)
            )
        ]
    if col.align == "center":
        return [
            TextColumnSpec(
                gid=f"column-{col.gid}", x=left + width / 2, align="center", cells=tuple(cells_out)
            )
        ]
    return [TextColumnSpec(gid=f"column-{col.gid}", x=left, align="left", cells=tuple(cells_out))]


def _headers(
    content: ForestContent,
    texts: _Texts,
    left: dict[str, float],
    width: dict[str, float],
    title: str | None,
    title_units: float,
    title_size: float,
    size: float,
) -> tuple[HeaderText, ...]:
    out: list[HeaderText] = []
    for col in content.columns:
        gid, text = f"header-{col.gid}", texts.headers[col.key]
        if col.key == "plot":
            out.append(HeaderText(gid=gid, text=text, x=None, y=_LOWER, align="center", size=size))
        elif col.align == "right":
            out.append(
                HeaderText(
                    gid=gid,
                    text=text,
                    x=left[col.key] + width[col.key],
                    y=_LOWER,
                    align="right",
                    size=size,
                )
            )
        elif col.align == "left":
            out.append(
                HeaderText(gid=gid, text=text, x=left[col.key], y=_LOWER, align="left", size=size)
            )
        else:
            centre = left[col.key] + width[col.key] / 2
            out.append(
                HeaderText(gid=gid, text=text, x=centre, y=_LOWER, align="center", size=size)
            )
    for col_key, (name, cols) in _group_texts(content.columns, texts):
        gid = f"header-group-{cols[0].span}"
        if col_key == "plot":
            out.append(HeaderText(gid=gid, text=name, x=None, y=_UPPER, align="center", size=size))
            continue
        first, last = cols[0].key, cols[-1].key
        centre = (left[first] + left[last] + width[last]) / 2
        out.append(HeaderText(gid=gid, text=name, x=centre, y=_UPPER, align="center", size=size))
    if title:
        y = -_HEADER - title_units / 2 - 0.1
        out.append(HeaderText(gid="title", text=title, x=0.0, y=y, align="left", size=title_size))
    return tuple(out)
