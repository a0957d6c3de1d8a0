"""Forest plots in the style of RevMan 5."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from metapool._validation import check_choice
from metapool.exceptions import MetapoolTypeError
from metapool.plotting import _style
from metapool.plotting._axes import (
    clip_polygon,
    drawing_band,
    root_figure,
    save,
    set_effect_axis,
)
from metapool.plotting._checks import (
    check_ax,
    check_bool,
    check_color,
    check_limits,
    check_optional_str,
    check_path,
    check_positive,
    check_ticks,
    require_matplotlib,
    short_repr,
)
from metapool.plotting._table import Column, Row, Table, build_table
from metapool.plotting._text import TextMeasurer, split_note, truncate, widest_piece, wrap_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.transforms import Transform

    from metapool.results import MetaResult
    from metapool.subgroups import SubgroupResult

__all__ = ["forest_plot"]

# Geometry, in units of the font size (em); one em is fontsize/72 inches.
_ROW = 1.6  # height of a one-line row
_LEADING = 1.2  # line spacing inside a multi-line cell
_COL_GAP = 0.9  # space between two columns
_MARGIN = 0.5  # empty border around the figure
_HEADER = 2.3  # two header lines above the first row, in row units
_BODY_PAD = 0.3  # space between the header rule and the first row, in row units
_MAX_SQUARE = 0.85  # side of the largest square, as a fraction of a row
_MIN_SQUARE = 2.5  # points; smaller squares would vanish
_DIAMOND = 0.36  # half-height of a diamond, as a fraction of a row
_MAX_LABEL_LINES = 4  # a wrapped label longer than this is cut with "…"
_MIN_HEADER = 14.0  # em; headers are cut at max(max_label_width, this)


def _shorten_texts(table: Table, width: float, long_labels: str, m: TextMeasurer) -> None:
    """Labels, subgroup names and text cells no wider than ``width`` inches; one-line
    headers no wider than ``width`` (or 14 em if that is wider)."""
    text_columns = ["study"] + [
        c.key
        for c in table.columns
        if c.gid.startswith("extra-") and c.align == "left"  # user columns of text
    ]
    for row in table.rows:
        if row.kind not in ("study", "excluded", "subgroup"):
            continue
        for key in text_columns:
            if key in row.cells:
                text = row.cells[key]
                row.cells[key] = (
                    wrap_words(text, width, m, row.bold, max_lines=_MAX_LABEL_LINES)
                    if long_labels == "wrap"
                    else truncate(text, width, m, row.bold)
                )
    header_width = max(width, _MIN_HEADER * m.size / 72.0)
    for col in table.columns:
        col.header = truncate(col.header.replace("\n", " "), header_width, m, bold=True)
        if col.group is not None:
            col.group = truncate(col.group.replace("\n", " "), header_width, m, bold=True)


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _row_height(lines: int) -> float:
    """Height (row units) of a row whose tallest cell has ``lines`` lines."""
    return 1.0 + (lines - 1) * _LEADING / _ROW


@attrs.define(kw_only=True)
class _Geometry:
    """Horizontal positions in inches from the left edge of the table."""

    left: dict[str, float]
    width: dict[str, float]
    effect_parts: dict[bool, tuple[float, ...]]
    space: float
    left_width: float
    plot_left: float
    plot_width: float
    table_right: float
    footers_beside: bool
    favours: tuple[str | None, str | None]
    favours_flush: tuple[bool, bool]


@attrs.define(kw_only=True)
class _Options:
    color: str
    diamond_color: str
    line_color: str
    fontsize: float
    fontfamily: str


def _span_groups(columns: Sequence[Column]) -> list[tuple[str, list[Column]]]:
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


def _effect_widths(rows: Sequence[Row], m: TextMeasurer) -> dict[bool, tuple[float, ...]]:
    """Widest "estimate", "[low," and "high]" part, for normal and for bold rows."""
    widths = {False: [0.0, 0.0, 0.0], True: [0.0, 0.0, 0.0]}
    for row in rows:
        if row.effect is not None:
            for i, part in enumerate(row.effect):
                widths[row.bold][i] = max(widths[row.bold][i], m.width(part, row.bold))
    return {bold: tuple(w) for bold, w in widths.items()}


def _favours_fraction(limits: tuple[float, float], null: float, log_scale: bool) -> float:
    """Where the null sits on the axis, as a fraction of its width (0.5 if outside)."""
    f = (lambda v: math.log(v)) if log_scale else (lambda v: v)
    low, high = limits
    if not low < null < high:
        return 0.5
    return (f(null) - f(low)) / (f(high) - f(low))


def _layout(
    table: Table,
    m: TextMeasurer,
    *,
    plot_width: float,
    tick_labels: Sequence[str],
    favours: tuple[str | None, str | None],
    null_fraction: float,
) -> _Geometry:
    em = m.size / 72.0
    gap = _COL_GAP * em
    keys = [c.key for c in table.columns]
    at = keys.index("plot")
    left_cols, right_cols = table.columns[:at], table.columns[at + 1 :]
    plot_col = table.columns[at]

    width: dict[str, float] = {}
    parts = _effect_widths(table.rows, m)
    space = m.width("0") * 0.55
    for col in table.columns:
        if col.key == "plot":
            continue
        w = m.width(col.header, bold=True)
        if col.key == "effect":
            w = max(w, *(sum(p) + 2 * space for p in parts.values()))
        for row in table.rows:
            if row.kind == "note" or col.key not in row.cells:
                continue
            w = max(w, m.width(row.cells[col.key], row.bold))
        width[col.key] = w
    # An upper header wider than the columns under it widens the first of them.
    for text, cols in _span_groups(left_cols + right_cols):
        available = sum(width[c.key] for c in cols) + gap * (len(cols) - 1)
        need = m.width(text, bold=True)
        if need > available:
            width[cols[0].key] += need - available

    # Footnotes sit under the left part of the table; it must hold their widest piece.
    footers_beside = not right_cols and bool(left_cols)
    notes = [r.cells["study"] for r in table.rows if r.kind == "note"]
    if footers_beside:
        notes += [text for text, _ in table.footers]
    left_width = sum(width[c.key] for c in left_cols) + gap * max(0, len(left_cols) - 1)
    if left_cols and notes:
        need = max(widest_piece(n, m) for n in notes)
        if need > left_width:
            width[left_cols[0].key] += need - left_width
            left_width = need
    note_width = left_width if left_cols else float("inf")
    for row in table.rows:
        if row.kind == "note":
            row.cells["study"] = split_note(row.cells["study"], note_width, m)
    footer_right = 0.0
    if footers_beside:
        table.footers = [(split_note(t, note_width, m), gid) for t, gid in table.footers]
        footer_right = max((m.width(t) for t, _ in table.footers), default=0.0) + gap

    # The graphic: wide enough for its header.
    pw = max(plot_width, m.width(plot_col.header, True), m.width(plot_col.group or "", True))
    small = 0.6 * em
    half_first = m.width(tick_labels[0]) / 2 if tick_labels else 0.0
    half_last = m.width(tick_labels[-1]) / 2 if tick_labels else 0.0
    plot_left = (left_width + max(gap, half_first + small)) if left_cols else half_first

    # "Favours" labels: centred under their halves of the axis if both fit, else
    # both flush against the line of no effect and running outwards, as far as
    # the footnotes beside the axis allow; beyond that the graphic is widened a
    # little, or both labels are broken onto more lines.
    shares = (null_fraction, 1.0 - null_fraction)
    fits = all(
        m.width(label) + small <= share * pw
        for label, share in zip(favours, shares, strict=True)
        if label
    )
    wrapped: list[str | None] = list(favours)
    flush = [not fits and bool(label) for label in favours]
    left_label = favours[0]
    if not fits and left_label and shares[0] > 0:
        # Room left of the null line down to the footnotes beside the axis.
        room = plot_left + shares[0] * pw - small - footer_right
        deficit = m.width(left_label) - room
        if 0 < deficit <= 0.3 * pw * shares[0]:
            pw += deficit / shares[0]  # a little wider rather than broken
        elif deficit > 0:  # break both labels alike (a too-long word widens the graphic)
            # (96 %: long runs of one glyph render up to 3 % wider at screen dpi)
            wrapped = [wrap_words(t, 0.96 * room, m) if t else None for t in favours]
            first = wrapped[0] or ""
            pw += max(0.0, m.width(first) - room) / shares[0]
    right_edge = plot_left + pw + half_last
    if flush[1] and wrapped[1]:
        right_edge = max(right_edge, plot_left + null_fraction * pw + small + m.width(wrapped[1]))

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
    return _Geometry(
        left=left,
        width=width,
        effect_parts=parts,
        space=space,
        left_width=left_width,
        plot_left=plot_left,
        plot_width=pw,
        table_right=table_right,
        footers_beside=footers_beside,
        favours=(wrapped[0], wrapped[1]),
        favours_flush=(flush[0], flush[1]),
    )


def _wrap_footers(table: Table, geo: _Geometry, m: TextMeasurer) -> None:
    """Footnotes under the whole figure (when columns follow the graphic)."""
    if not geo.footers_beside:
        table.footers = [(split_note(t, geo.table_right, m), gid) for t, gid in table.footers]


def _place_rows(rows: Sequence[Row]) -> tuple[list[float], float]:
    """Centre of every row and the height of the body, in row units."""
    centres = []
    y = _BODY_PAD
    for row in rows:
        if row.kind != "blank":
            row.height = _row_height(max([1] + [_lines(t) for t in row.cells.values()]))
        centres.append(y + row.height / 2)
        y += row.height
    return centres, y + _BODY_PAD


def forest_plot(
    result: MetaResult | SubgroupResult,
    *,
    columns: Sequence[str] | None = None,
    decimals: int = 2,
    labels: Sequence[str] | None = None,
    sort_by: str | Sequence[Any] | None = None,
    extra_columns: Mapping[str, Sequence[Any]] | None = None,
    prediction: bool = False,
    show_excluded: bool = True,
    overall: bool = True,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    label_experimental: str | None = "Favours [experimental]",
    label_control: str | None = "Favours [control]",
    higher_is_better: bool = False,
    group_names: tuple[str, str] = ("Experimental", "Control"),
    measure_label: str | None = None,
    arm_decimals: int | None = None,
    color: str = _style.SQUARE_COLOR,
    diamond_color: str = _style.DIAMOND_COLOR,
    line_color: str = _style.CI_COLOR,
    fontsize: float = _style.FONT_SIZE,
    fontfamily: str = _style.FONT_FAMILY,
    max_label_width: float | None = 2.2,
    long_labels: str = "wrap",
    plot_width: float = 2.0,
    title: str | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
) -> Figure:
    """Forest plot of a meta-analysis, laid out as in RevMan 5.

    One row per study with its label, optional arm-level data, the effect and
    its confidence interval as text, its weight, and a square (area
    proportional to the weight) on a horizontal CI line; a diamond for each
    pooled estimate with the heterogeneity and overall-effect lines under it;
    for a subgroup analysis a block per subgroup, then the overall result and
    the test for subgroup differences.

    Parameters
    ----------
    result : MetaResult or SubgroupResult
        A fitted analysis (``model.fit(effects)``) or a subgroup analysis
        (:func:`~metapool.subgroup_analysis`).
    columns : sequence of str, optional
        The columns, left to right, from ``"study"``, ``"experimental"`` and
        ``"control"`` (arm-level data: mean, SD and total, or events and total),
        ``"weight"``, ``"effect"`` (estimate and CI as text), ``"plot"`` (the
        graphic) and the names of ``extra_columns``. Default: all that the data
        have, in RevMan's order, with the graphic last. The graphic goes where
        ``"plot"`` is listed, or last; extra columns not listed follow ``"study"``.
    decimals : int, default 2
        Decimals of the estimates and confidence limits (0 to 10).
    labels : sequence of str, optional
        Study labels to show instead of ``result.labels`` (in that order).
    sort_by : {"weight", "effect"} or sequence, optional
        Order of the studies (within each subgroup): by decreasing weight, by
        increasing effect, or by one sort key per study in the order of
        ``result.labels`` (e.g. publication years). Missing keys (None, NaN)
        go last. Default: as given.
    extra_columns : mapping of str to sequence, optional
        More text columns, e.g. ``{"Dose": ["10 mg", "20 mg", ...]}``, one value
        per study in the order of ``result.labels``; missing values are blank.
        The names must differ from the built-in columns.
    prediction : bool, default False
        Add a row with the prediction interval of a random-effects model.
    overall : bool, default True
        For a subgroup analysis, ``False`` draws subtotals only (RevMan's option):
        no overall total and no test for subgroup differences, and weights are
        shares within each subgroup. Use it when the subgroups are different
        outcomes of the same trials, which must not be pooled together.
    show_excluded : bool, default True
        List the studies the analysis left out (e.g. double-zero studies) as
        "Not estimable", as RevMan does (not in subgroup plots).
    xlim : (float, float), optional
        Axis limits on the natural scale (ratios, not log ratios). Default: a
        symmetric RevMan scale around the line of no effect that holds every
        estimate, every pooled interval and most study intervals; intervals
        that leave the axis end in an arrow.
    xticks : sequence of float, optional
        Tick positions on the natural scale.
    label_experimental, label_control : str or None
        The "Favours" labels under the axis; None leaves one out. By default
        ``label_experimental`` is written under the left half (effects below
        the null: a ratio below 1, a difference below 0) and ``label_control``
        under the right half, which is right when the outcome is harmful
        (death, relapse, pain): lower is better. For outcomes where higher is
        better, set ``higher_is_better=True``.
    higher_is_better : bool, default False
        Write ``label_experimental`` on the right and ``label_control`` on the left.
    group_names : (str, str), default ("Experimental", "Control")
        Headers of the arm-level column groups.
    measure_label : str, optional
        First line of the effect column header instead of the measure's name
        ("Risk Ratio"), e.g. ``"Hazard Ratio"``.
    arm_decimals : int, optional
        Decimals of the arm means and SDs; default: as entered (up to 3).
    color, diamond_color, line_color : color
        Colours of the study squares, of the pooled diamonds, and of the CI
        lines, the line of no effect and the axis.
    fontsize : float, default 8
        Font size in points of every text; the figure is laid out for it.
        With arm-level columns a plot is about 20 cm wide, so that printed
        across a double journal column (17.5 cm) its text is about 7 pt; without
        them it is 13-15 cm wide. ``fontsize=7`` makes everything 1/8 smaller.
    fontfamily : str, default "sans-serif"
        Font family (RevMan uses a sans-serif font; ``"serif"`` also works).
    max_label_width : float or None, default 2.2
        Widest study label, subgroup name and text cell of an extra column,
        in inches, before it is wrapped or truncated; column headers are cut
        at this width too (or at 14 em if that is wider). None never shortens
        any text.
    long_labels : {"wrap", "truncate"}, default "wrap"
        Wrap longer labels onto more lines (the row grows; at most 4 lines,
        the last ending in "…"; a word wider than the column is broken) or cut
        them to one line ending in "…".
    plot_width : float, default 2.0
        Width of the graphic in inches (widened if its header or the
        "Favours" labels need it).
    title : str, optional
        A title above the table.
    ax : matplotlib Axes, optional
        Draw the graphic into this Axes; the text columns are drawn outside
        it (left and right), so leave room for them in the figure. Rows are
        spread over the Axes' height. By default a new figure is created,
        sized to its content (its height grows with the number of rows).
    path : str or path-like, optional
        Save the figure there (PNG, PDF, SVG, … by the suffix; PNG without
        one). A suffix matplotlib cannot write is an error, raised before
        anything is drawn.
    dpi : float, optional
        Resolution used when saving to ``path``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``fig.savefig(...)`` saves it again in any format.

    Raises
    ------
    InvalidParameterError
        For an unknown column or sort key, lengths that do not match the
        studies, arm-level columns without arm-level data, invalid limits or
        ticks (not finite, low >= high, not positive on a ratio axis), an
        unknown colour, a size that is not a positive number, or a ``path``
        whose suffix is not a format matplotlib writes. The message names the
        parameter and the value.
    MetapoolTypeError
        For an argument of the wrong type: ``result`` not a MetaResult or
        SubgroupResult, ``ax`` not an Axes, a flag that is not True/False, a
        text that is not a str, sort keys that cannot be compared.
    MissingDependencyError
        If matplotlib is not installed (``pip install "metapool[plot]"``).

    Notes
    -----
    The study intervals are Wald intervals ``yi ± z·sqrt(vi)`` at the result's
    level; the pooled ones are the result's own (e.g. Hartung–Knapp). Weights
    are percentages of the total; in a subgroup plot a study's weight is its
    weight in the overall analysis, so that all subgroups add up to 100 %, and
    a subtotal's weight is the sum over its studies (RevMan's convention).
    Square areas are proportional to those weights, relative to the largest;
    squares smaller than 2.5 pt are drawn at 2.5 pt so that they remain visible.
    Ratio measures are drawn on a log axis labelled on the natural scale.

    Extreme values keep the table readable: a number whose fixed-point text
    would be wider than its scientific notation (at 2 decimals, 100000 and
    above) is written as ``1.23e+05``, and a ratio that would round to
    ``0.00`` as ``4.00e−04``; the back-transform of a log ratio too large for
    a float is computed from the logarithm (``exp(800)`` is ``2.73e+347``).
    Missing values are written ``NA`` (or left blank in text columns). The
    default axis never reaches beyond 10^±300 (ratios) or ±1e300, with ticks
    at round powers of ten beyond RevMan's 0.001-1000; an estimate beyond
    the axis is shown by its arrowheads (a pooled one by an arrowhead in the
    diamond's colour).

    The artists carry ``gid`` values, so that they can be found and restyled
    (and they become element ids in SVG files): ``study-square-<i>``,
    ``study-ci-<i>`` and ``ci-arrow-<i>`` (``i`` is the study's position in
    ``result.labels``), ``pooled-diamond-total`` and
    ``pooled-diamond-subgroup-<g>``, ``prediction-interval``, ``null-line``,
    ``favours-experimental``, ``favours-control``, and for the texts
    ``cell-<column>-<row>``, ``header-…``, ``heterogeneity-…``,
    ``overall-effect-…`` and ``subgroup-differences``.

    References
    ----------
    .. [1] The Cochrane Collaboration (2020). Review Manager 5 (RevMan 5) User
       Guide, version 5.4, section "Forest plots".
    .. [2] Lewis S, Clarke M (2001). Forest plots: trying to see the wood and the
       trees. BMJ 322(7300):1479-1480.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> rr = mp.RiskRatio(events1=[4, 6, 3], n1=[123, 306, 231],
    ...                   events2=[11, 29, 11], n2=[139, 303, 220],
    ...                   labels=["Aronson", "Ferguson", "Rosenthal"])
    >>> res = mp.RandomEffects(tau2="DL").fit(rr)
    >>> fig = mp.forest_plot(res)
    >>> ax = fig.axes[0]
    >>> ax.get_xscale()
    'log'
    >>> len([a for a in ax.lines if str(a.get_gid()).startswith("study-square")])
    3
    >>> plt.close(fig)
    """
    owner = "forest_plot"
    require_matplotlib(owner)
    ax = check_ax(owner, ax)
    long_labels = check_choice(owner, "long_labels", long_labels, ("wrap", "truncate"))
    fontsize = check_positive(owner, "fontsize", fontsize)  # type: ignore[assignment]
    plot_width = check_positive(owner, "plot_width", plot_width)  # type: ignore[assignment]
    max_label_width = check_positive(owner, "max_label_width", max_label_width, optional=True)
    dpi = check_positive(owner, "dpi", dpi, optional=True)
    for name, flag in (
        ("prediction", prediction),
        ("show_excluded", show_excluded),
        ("overall", overall),
        ("higher_is_better", higher_is_better),
    ):
        check_bool(owner, name, flag)
    for name, text in (
        ("label_experimental", label_experimental),
        ("label_control", label_control),
        ("title", title),
    ):
        check_optional_str(owner, name, text)
    if not isinstance(fontfamily, str):
        raise MetapoolTypeError(
            f"The 'fontfamily' parameter of {owner} must be a str, e.g. 'sans-serif'. "
            f"Got {type(fontfamily).__name__} ({short_repr(fontfamily)})."
        )
    for name, value in (
        ("color", color),
        ("diamond_color", diamond_color),
        ("line_color", line_color),
    ):
        check_color(owner, name, value)
    path = check_path(owner, path)
    table = build_table(
        result,
        columns=columns,
        decimals=decimals,
        labels=labels,
        sort_by=sort_by,
        extra_columns=extra_columns,
        group_names=group_names,
        prediction=prediction,
        show_excluded=show_excluded,
        subtotals_only=not overall,
        measure_label=measure_label,
        arm_decimals=arm_decimals,
    )
    m = TextMeasurer(fontfamily, fontsize)
    if max_label_width is not None:
        _shorten_texts(table, max_label_width, long_labels, m)

    log_scale = table.log_scale
    null = 1.0 if log_scale else 0.0
    limits = check_limits(owner, "xlim", xlim, log_scale)
    if limits is None:
        study = [r for r in table.rows if r.kind == "study"]
        pooled = [r for r in table.rows if r.kind in ("pooled", "prediction")]
        extent = _style.extent_of(
            [r.estimate for r in study if r.estimate is not None],
            [v for r in study for v in (r.low, r.high) if v is not None],
            [v for r in pooled for v in (r.low, r.high) if v is not None],
            0.0,
        )
        limits, ticks = _style.forest_ticks(extent, log_scale)
    else:
        ticks = _style.log_ticks(*limits) if log_scale else _style.linear_ticks(*limits)
    given_ticks = check_ticks(owner, "xticks", xticks, log_scale)
    if given_ticks is not None:
        ticks = given_ticks
    tol = 1e-9 * (limits[1] - limits[0])
    ticks = tuple(t for t in ticks if limits[0] - tol <= t <= limits[1] + tol)
    left_label, right_label = (
        (label_control, label_experimental)
        if higher_is_better
        else (label_experimental, label_control)
    )
    geo = _layout(
        table,
        m,
        plot_width=float(plot_width),
        tick_labels=[_style.fmt_tick(t) for t in ticks],
        favours=(left_label, right_label),
        null_fraction=_favours_fraction(limits, null, log_scale),
    )
    _wrap_footers(table, geo, m)
    centres, body = _place_rows(table.rows)

    em = fontsize / 72.0
    unit = _ROW * em  # inches per row unit
    title_size = fontsize + 1
    title_text = (
        wrap_words(title, geo.table_right, TextMeasurer(fontfamily, title_size), True)
        if title
        else None
    )
    title_units = (
        1.6 + (_lines(title_text) - 1) * _LEADING * title_size / (_ROW * fontsize)
        if title_text
        else 0.0
    )
    fav_lines = max((_lines(t) for t in geo.favours if t), default=0)
    axis_block = (3.0 + 2.0 + 1.25 * fontsize + 3.0 + fav_lines * _LEADING * fontsize + 2.0) / 72
    footer_heights = [_row_height(_lines(text)) for text, _ in table.footers]
    footer_block = (0.45 + sum(footer_heights)) * unit
    bottom = max(axis_block, footer_block) if geo.footers_beside else axis_block + footer_block
    top_units = _HEADER + title_units

    if ax is None:
        import matplotlib.pyplot as plt

        margin = _MARGIN * em
        fig_w = 2 * margin + geo.table_right
        fig_h = 2 * margin + (top_units + body) * unit + bottom
        fig = plt.figure(figsize=(fig_w, fig_h), layout="none")
        ax = fig.add_axes(
            (
                (margin + geo.plot_left) / fig_w,
                (margin + bottom) / fig_h,
                geo.plot_width / fig_w,
                body * unit / fig_h,
            )
        )
    opts = _Options(
        color=color,
        diamond_color=diamond_color,
        line_color=line_color,
        fontsize=float(fontsize),
        fontfamily=fontfamily,
    )
    _draw(
        ax,
        table,
        geo,
        centres,
        body,
        opts,
        limits=limits,
        ticks=ticks,
        null=null,
        title=title_text,
        title_units=title_units,
        footer_top=body + 0.45 if geo.footers_beside else body + axis_block / unit + 0.3,
        footer_heights=footer_heights,
        favours_gids=(
            ("favours-control", "favours-experimental")
            if higher_is_better
            else ("favours-experimental", "favours-control")
        ),
    )
    fig = root_figure(ax)
    save(fig, path, dpi)
    return fig


class _Drawer:
    """Draws a laid-out table into ``ax``; texts are placed in inches from its edges."""

    def __init__(self, ax: Axes, table: Table, geo: _Geometry, opts: _Options) -> None:
        from matplotlib.transforms import blended_transform_factory

        self.ax, self.table, self.geo, self.opts = ax, table, geo, opts
        self.fig = root_figure(ax)
        self._base = blended_transform_factory(ax.transAxes, ax.transData)
        self._cache: dict[float, Transform] = {}
        self.plot_right = geo.plot_left + geo.plot_width
        self.text_kw: dict[str, Any] = {
            "fontsize": opts.fontsize,
            "fontfamily": opts.fontfamily,
            "color": opts.line_color,
            "va": "center",
            "clip_on": False,
            "parse_math": False,
            "linespacing": _LEADING,
        }
        self.to_x: Callable[[float], float] = _style.safe_exp if table.log_scale else float

    def at(self, dx: float) -> Transform:
        """x in Axes fraction shifted by ``dx`` inches; y in row units."""
        from matplotlib.transforms import ScaledTranslation

        if dx not in self._cache:
            self._cache[dx] = self._base + ScaledTranslation(dx, 0.0, self.fig.dpi_scale_trans)
        return self._cache[dx]

    def text(self, x_table: float, y: float, s: str, ha: str, gid: str, bold: bool = False) -> None:
        """Text at a table position (inches from the table's left edge)."""
        if not s:
            return
        if x_table > self.plot_right - 1e-9:  # right of the graphic: follow its right edge
            x, transform = 1.0, self.at(x_table - self.plot_right)
        else:
            x, transform = 0.0, self.at(x_table - self.geo.plot_left)
        self.ax.text(
            x,
            y,
            s,
            transform=transform,
            ha=ha,
            gid=gid,
            fontweight="bold" if bold else "normal",
            **self.text_kw,
        )

    def plot_text(self, y: float, s: str, gid: str) -> None:
        """Bold text centred over the graphic."""
        self.ax.text(
            0.5,
            y,
            s,
            transform=self.at(0.0),
            ha="center",
            gid=gid,
            fontweight="bold",
            **self.text_kw,
        )

    # ------------------------------------------------------------------ parts
    def axis(self, limits: tuple[float, float], ticks: Sequence[float], body: float) -> None:
        ax, opts = self.ax, self.opts
        set_effect_axis(
            ax,
            log_scale=self.table.log_scale,
            limits=limits,
            ticks=ticks,
            fontsize=opts.fontsize,
            fontfamily=opts.fontfamily,
            color=opts.line_color,
        )
        ax.set_ylim(body, 0.0)
        ax.set_yticks([])
        for side in ("top", "left", "right"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_linewidth(0.6)
        ax.spines["bottom"].set_color(opts.line_color)
        ax.patch.set_visible(False)

    def headers(self, title: str | None, title_units: float) -> None:
        geo, upper, lower = self.geo, -1.65, -0.6
        for col in self.table.columns:
            gid = f"header-{col.gid}"
            if col.key == "plot":
                self.plot_text(lower, col.header, gid)
                continue
            left, width = geo.left[col.key], geo.width[col.key]
            if col.align == "right":
                self.text(left + width, lower, col.header, "right", gid, True)
            elif col.align == "left":
                self.text(left, lower, col.header, "left", gid, True)
            else:
                self.text(left + width / 2, lower, col.header, "center", gid, True)
        for name, cols in _span_groups(self.table.columns):
            gid = f"header-group-{cols[0].span}"
            if cols[0].key == "plot":
                self.plot_text(upper, name, gid)
                continue
            first, last = cols[0].key, cols[-1].key
            centre = (geo.left[first] + geo.left[last] + geo.width[last]) / 2
            self.text(centre, upper, name, "center", gid, True)
        if title:
            self.ax.text(
                0.0,
                -_HEADER - title_units / 2 - 0.1,
                title,
                transform=self.at(-geo.plot_left),
                ha="left",
                gid="title",
                **{**self.text_kw, "fontsize": self.opts.fontsize + 1, "fontweight": "bold"},
            )
        self.ax.annotate(
            "",
            xy=(0.0, 0.0),
            xycoords=self.at(-geo.plot_left),
            xytext=(1.0, 0.0),
            textcoords=self.at(geo.table_right - self.plot_right),
            arrowprops={
                "arrowstyle": "-",
                "color": self.opts.line_color,
                "lw": 0.6,
                "shrinkA": 0.0,
                "shrinkB": 0.0,
            },
            annotation_clip=False,
            gid="header-rule",
        )

    def study(self, row: Row, y: float, limits: tuple[float, float], side: float) -> None:
        from matplotlib.lines import Line2D

        interval = row.interval()
        if interval is None:
            return
        est, low, high = (self.to_x(v) for v in interval)
        lo_lim, hi_lim = limits
        index = row.gid.removeprefix("study-")
        ink = self.opts.line_color
        a, b = max(low, lo_lim), min(high, hi_lim)
        if a < b:
            self.ax.add_line(
                Line2D(
                    [a, b],
                    [y, y],
                    color=ink,
                    lw=0.8,
                    zorder=2,
                    solid_capstyle="butt",
                    gid=f"study-ci-{index}",
                )
            )
        # Arrowheads with their tip on the axis limit where an interval leaves the axis.
        for beyond, edge, sign, end in (
            (low < lo_lim, lo_lim, 1.0, "low"),
            (high > hi_lim, hi_lim, -1.0, "high"),
        ):
            if beyond:
                self.arrow(edge, y, sign, ink, f"ci-arrow-{index}-{end}")
        if not lo_lim <= est <= hi_lim:
            return  # the estimate is off the axis: only its arrowheads show the interval
        self.ax.add_line(
            Line2D(
                [est],
                [y],
                marker="s",
                markersize=side,
                color=self.opts.color,
                markeredgewidth=0,
                linestyle="none",
                zorder=3,
                gid=f"study-square-{index}",
            )
        )

    def arrow(self, x: float, y: float, sign: float, color: str, gid: str) -> None:
        """An arrowhead with its tip at ``x`` pointing left (``sign`` 1) or right (-1)."""
        from matplotlib.lines import Line2D
        from matplotlib.markers import MarkerStyle
        from matplotlib.path import Path

        head = Path([(0.0, 0.0), (1.6 * sign, 0.55), (1.6 * sign, -0.55), (0.0, 0.0)])
        self.ax.add_line(
            Line2D(
                [x],
                [y],
                marker=MarkerStyle(head),
                markersize=6.0,
                color=color,
                markeredgewidth=0,
                linestyle="none",
                clip_on=False,
                zorder=2,
                gid=gid,
            )
        )

    def diamond(self, row: Row, y: float, limits: tuple[float, float]) -> None:
        from matplotlib.patches import Polygon

        interval = row.interval()
        if interval is None:
            return
        est, low, high = interval
        h = _DIAMOND * row.height
        name = "total" if row.gid == "total" else row.gid.removesuffix("-pooled")
        # Cut on the analysis scale (a diamond has straight edges on a log axis),
        # so that no vertex lies beyond the range of floats.
        f: Callable[[float], float] = math.log if self.table.log_scale else float
        band = (f(limits[0]), f(limits[1]))
        if high < band[0] or low > band[1]:  # wholly beyond the axis: an arrowhead
            outside_low = high < band[0]
            self.arrow(
                limits[0] if outside_low else limits[1],
                y,
                1.0 if outside_low else -1.0,
                self.opts.diamond_color,
                f"pooled-arrow-{name}",
            )
            return
        points = clip_polygon(
            [(low, y), (est, y - h), (high, y), (est, y + h)],
            *drawing_band(band, self.table.log_scale),
        )
        self.ax.add_patch(
            Polygon(
                [(self.to_x(x), yy) for x, yy in points],
                closed=True,
                facecolor=self.opts.diamond_color,
                edgecolor="none",
                zorder=3,
                gid=f"pooled-diamond-{name}",
            )
        )

    def prediction(self, row: Row, y: float) -> None:
        from matplotlib.lines import Line2D

        interval = row.interval()
        if interval is None:
            return
        _, low, high = (self.to_x(v) for v in interval)
        self.ax.add_line(
            Line2D(
                [low, high],
                [y, y],
                color=self.opts.diamond_color,
                lw=1.2,
                marker="|",
                markersize=5.0,
                markeredgewidth=1.2,
                solid_capstyle="butt",
                zorder=3,
                gid="prediction-interval",
            )
        )

    def cells(self, row: Row, y: float) -> None:
        geo = self.geo
        if row.kind == "note":
            self.text(0.0, y, row.cells["study"], "left", row.gid)
            return
        for col in self.table.columns:
            if col.key == "plot":
                continue
            gid = f"cell-{col.gid}-{row.gid}"
            left, width = geo.left[col.key], geo.width[col.key]
            if col.key == "effect":
                if row.effect is not None:
                    # Three right-aligned parts, so that the decimals line up; rows in
                    # bold (wider digits) share the right edge of the column.
                    widths = geo.effect_parts[row.bold]
                    x = left + width
                    for i in (2, 1, 0):
                        self.text(x, y, row.effect[i], "right", f"{gid}-{i}", row.bold)
                        x -= widths[i] + geo.space
                elif "effect" in row.cells:
                    self.text(left, y, row.cells["effect"], "left", gid, row.bold)
                continue
            value = row.cells.get(col.key, "")
            if row.kind == "subgroup":
                gid = row.gid
            if col.align == "right":
                self.text(left + width, y, value, "right", gid, row.bold)
            elif col.align == "center":
                self.text(left + width / 2, y, value, "center", gid, row.bold)
            else:
                self.text(left, y, value, "left", gid, row.bold)

    def favours(self, limits: tuple[float, float], null: float, gids: tuple[str, str]) -> None:
        opts, log_scale = self.opts, self.table.log_scale
        f: Callable[[float], float] = math.log if log_scale else float
        inv: Callable[[float], float] = math.exp if log_scale else float
        lo_lim, hi_lim = limits
        frac = _favours_fraction(limits, null, log_scale)
        span = f(hi_lim) - f(lo_lim)
        centres = (inv(f(lo_lim) + span * frac / 2), inv(f(lo_lim) + span * (1 + frac) / 2))
        null_x = inv(f(lo_lim) + span * frac)
        below = 3.0 + 2.0 + 1.25 * opts.fontsize + 3.0  # ticks, pad, tick labels, gap (pt)
        small = 0.6 * opts.fontsize
        for side, (label, flush, gid) in enumerate(
            zip(self.geo.favours, self.geo.favours_flush, gids, strict=True)
        ):
            if not label:
                continue
            if flush:
                x, dx, ha = null_x, (-small if side == 0 else small), ("right", "left")[side]
            else:
                x, dx, ha = centres[side], 0.0, "center"
            self.ax.annotate(
                label,
                xy=(x, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(dx, -below),
                textcoords="offset points",
                ha=ha,
                va="top",
                multialignment="center",
                fontsize=opts.fontsize,
                fontfamily=opts.fontfamily,
                color=opts.line_color,
                linespacing=_LEADING,
                annotation_clip=False,
                gid=gid,
            )


def _draw(
    ax: Axes,
    table: Table,
    geo: _Geometry,
    centres: Sequence[float],
    body: float,
    opts: _Options,
    *,
    limits: tuple[float, float],
    ticks: Sequence[float],
    null: float,
    title: str | None,
    title_units: float,
    footer_top: float,
    footer_heights: Sequence[float],
    favours_gids: tuple[str, str],
) -> None:
    d = _Drawer(ax, table, geo, opts)
    d.axis(limits, ticks, body)
    d.headers(title, title_units)
    ax.axvline(null, color=opts.line_color, lw=0.6, zorder=1, gid="null-line")
    # Squares: area proportional to weight, the largest filling most of a row.
    unit_pt = ax.get_window_extent().height / body * 72.0 / d.fig.dpi
    weights = [
        r.weight
        for r in table.rows
        if r.kind == "study" and r.weight is not None and math.isfinite(r.weight)
    ]
    w_max = max(weights, default=1.0) or 1.0
    for row, y in zip(table.rows, centres, strict=True):
        if row.kind == "study":
            weight = row.weight if row.weight is not None and math.isfinite(row.weight) else 0.0
            side = _MAX_SQUARE * unit_pt * math.sqrt(max(weight, 0.0) / w_max)
            d.study(row, y, limits, max(_MIN_SQUARE, side))
        elif row.kind == "pooled":
            d.diamond(row, y, limits)
        elif row.kind == "prediction":
            d.prediction(row, y)
        d.cells(row, y)
    d.favours(limits, null, favours_gids)
    y = footer_top
    for (note, gid), height in zip(table.footers, footer_heights, strict=True):
        d.text(0.0, y + height / 2, note, "left", gid)
        y += height
    ax.set_xlim(*limits)
    ax.set_ylim(body, 0.0)
    ax.set_autoscale_on(False)
