"""Forest plots in the style of RevMan 5: content, then layout, then drawing.

:func:`forest_plot` checks its arguments, then builds the content
(:mod:`._content`: what is shown, from the result), lays it out
(:mod:`._layout`: sizes and places, from the content and the
:class:`~metapool.PlotStyle`) and draws the layout (:mod:`._draw`, which
imports matplotlib). Each step returns a new frozen value and changes nothing
it was given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from metapool._validation import check_choice
from metapool.exceptions import InvalidParameterError
from metapool.plotting._checks import (
    check_ax,
    check_bool,
    check_optional_str,
    check_path,
    check_positive,
    check_style,
    require_matplotlib,
)
from metapool.plotting._style import PlotStyle
from metapool.plotting.forest._content import ForestContent, forest_content
from metapool.plotting.forest._journal import journal_layout
from metapool.plotting.forest._layout import forest_layout

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from metapool.results import CumulativeResult, LeaveOneOutResult, MetaResult, SubgroupResult

__all__ = ["forest_plot"]


def forest_plot(
    result: MetaResult | SubgroupResult | LeaveOneOutResult | CumulativeResult,
    *,
    columns: Sequence[str] | None = None,
    decimals: int = 2,
    labels: Sequence[str] | None = None,
    sort_by: str | Sequence[Any] | None = None,
    extra_columns: Mapping[str, Sequence[Any]] | None = None,
    prediction: bool = False,
    show_excluded: bool = True,
    show_not_estimable: bool = True,
    overall: bool = True,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    label_experimental: str | None = "Favours [experimental]",
    label_control: str | None = "Favours [control]",
    higher_is_better: bool = False,
    group_names: tuple[str, str] = ("Experimental", "Control"),
    measure_label: str | None = None,
    arm_decimals: int | None = None,
    color: Any = None,
    diamond_color: Any = None,
    line_color: Any = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    max_label_width: float | None = 2.2,
    long_labels: str = "wrap",
    plot_width: float = 2.0,
    width: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
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
    result : MetaResult, SubgroupResult, LeaveOneOutResult or CumulativeResult
        A fitted analysis (``model.fit(effects)``), a subgroup analysis
        (:func:`~metapool.subgroup_analysis`), or a series of refits
        (:func:`~metapool.leave_one_out`, :func:`~metapool.cumulative`): one
        row per refit ("Omitting X", "Adding X") with its pooled estimate and
        interval as a fixed-size square (no weights), and the analysis of all
        studies as a diamond and a dashed line, as metafor's
        ``forest(leave1out(...))`` and ``forest(cumul(...))``. Their columns are
        from ``"study"``, ``"k"``, ``"tau2"``, ``"i2"``, ``"effect"`` and
        ``"plot"``; options about study data (``labels``, ``sort_by``,
        ``extra_columns``, ``prediction``, ``arm_decimals``) do not apply.
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
        List the studies the analysis left out as "Not estimable", as RevMan
        does; False leaves every one of them out (the not-estimable ones too).
    show_not_estimable : bool, default True
        Show RevMan's "Not estimable" rows: studies whose data were read but
        give no effect (double-zero studies dropped under
        ``convention="revman5"`` or ``"revman-web"``, whose arm data
        :class:`~metapool.ExcludedStudy` records in ``values``). Such a row has
        the study's arm data, "Not estimable" in the effect column, no weight
        and no square; it stands among the studies in the order of the input
        (after them with ``sort_by``), and its events and totals are added into
        the Total (or Subtotal) and "Total events" rows, as in RevMan. In a
        subgroup plot it goes into its subgroup when the subgroup analysis
        knows it, i.e. when ``groups`` was given with one entry per study as
        given to the effect set (:attr:`SubgroupResult.excluded_membership`;
        a subgroup of such studies only gets a "Not estimable" subtotal);
        otherwise it is not shown, and not counted. False leaves these rows
        (and their counts) out.
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
    color, diamond_color, line_color : color, optional
        Colours of the study squares, of the pooled diamonds, and of the texts,
        CI lines, the line of no effect and the axis; default the ``style``'s
        (``square_color``, ``diamond_color``, ``line_color``).
    fontsize : float, optional
        Font size in points of every text; the figure is laid out for it.
        Default the ``style``'s ``font_size``, 8.
        With arm-level columns a plot is about 20 cm wide, so that printed
        across a double journal column (17.5 cm) its text is about 7 pt; without
        them it is 13-15 cm wide. ``fontsize=7`` makes everything 1/8 smaller.
    fontfamily : str, optional
        Font family (RevMan uses a sans-serif font; ``"serif"`` also works);
        default the ``style``'s ``font_family``, ``"sans-serif"``.
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
    width : {"single", "double"}, optional
        Lay the plot out for a journal column: a figure exactly 8.5 cm
        (``"single"``) or 17.5 cm (``"double"``) wide. The richest layout that
        fits is chosen: font sizes from 7 pt (single) or 8 pt (double) down
        to 6 pt (only ``fontsize`` if given), labels wrapped to narrower widths
        and a narrower graphic (``max_label_width`` and ``plot_width`` are
        chosen, not taken), and, unless ``columns`` is given, fewer columns:
        first the arm-level data, then extra columns (and k, τ², I² of a
        series), then the weights; the study, the effect and the graphic always
        stay. The graphic then takes the width left over. An error if nothing
        fits. Not with ``ax``.
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
        Resolution used when saving to ``path``; default the ``style``'s.
    style : PlotStyle, optional
        Fonts, colours, line widths, marker sizes and file settings
        (:class:`~metapool.PlotStyle`; default ``PlotStyle()``). The keywords
        above override it. A new figure saves with its settings also through
        ``fig.savefig()``: fonts are embedded as TrueType (Type 42) in PDF and
        PostScript files.

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
    squares smaller than the style's ``min_square`` (2.5 pt) are drawn at that
    size so that they remain visible.

    The measure of the result decides the axis: its scale's ``axis`` (ratios
    on a log axis labelled on the natural scale), the natural scale of the
    estimates and intervals (its scale's inverse: a pooled logit is shown as
    a proportion), the line of no effect at its ``null``, and the "favours"
    labels; a measure without a null value (``Measure.null`` None: a
    proportion, a correlation) has neither, and its default axis covers the
    data instead of being centred on the null. In the effect column the
    estimates are aligned on their right edge and each interval follows its
    estimate after one space, as written (``0.44 [0.04, 5.02]``). Footnotes
    are broken between their statements only ("Chi² = 1.2, df = 2 (P = 0.5)"
    is one), and the table is widened for the widest statement.

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
    ``favours-experimental``, ``favours-control``, ``header-…`` and
    ``title``. The cells of a column are drawn by one text artist,
    ``column-<column>`` (``column-effect-estimate`` and
    ``column-effect-interval`` for the effect column, ``column-notes`` for the
    heterogeneity and overall-effect lines and the test for subgroup
    differences); its ``get_cells()`` lists the cells with their gids,
    ``cell-<column>-<row>``, ``heterogeneity-…``, ``overall-effect-…`` and
    ``subgroup-differences``, which are also group ids in SVG files.

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
    plot_width = check_positive(owner, "plot_width", plot_width)  # type: ignore[assignment]
    max_label_width = check_positive(owner, "max_label_width", max_label_width, optional=True)
    for name, flag in (
        ("prediction", prediction),
        ("show_excluded", show_excluded),
        ("show_not_estimable", show_not_estimable),
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
    style = check_style(
        owner,
        style,
        square_color=("color", color),
        diamond_color=("diamond_color", diamond_color),
        line_color=("line_color", line_color),
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    path = check_path(owner, path)
    if width is not None:
        width = check_choice(owner, "width", width, ("single", "double"))
        if ax is not None:
            raise InvalidParameterError(
                "The 'width' parameter of forest_plot sizes a new figure; it cannot be used "
                f"with 'ax' (an existing Axes). Got width={width!r} and an Axes."
            )

    def build(chosen: Sequence[str] | None) -> ForestContent:
        return forest_content(
            result,
            columns=columns if chosen is None else chosen,
            decimals=decimals,
            labels=labels,
            sort_by=sort_by,
            extra_columns=extra_columns,
            group_names=group_names,
            prediction=prediction,
            show_excluded=show_excluded,
            show_not_estimable=show_not_estimable,
            subtotals_only=not overall,
            measure_label=measure_label,
            arm_decimals=arm_decimals,
            xlim=xlim,
            xticks=xticks,
            favours=(label_experimental, label_control),
            higher_is_better=bool(higher_is_better),
            title=title,
        )

    from metapool.plotting._mpl import save
    from metapool.plotting.forest._draw import draw_forest

    if width is not None:
        journal = journal_layout(
            build,
            style,
            width=width,
            columns_given=columns is not None,
            font_given=fontsize is not None,
            long_labels=long_labels,
        )
        fig = draw_forest(journal, None)
        save(fig, path, journal.style, None)
        return fig
    content = forest_content(
        result,
        columns=columns,
        decimals=decimals,
        labels=labels,
        sort_by=sort_by,
        extra_columns=extra_columns,
        group_names=group_names,
        prediction=prediction,
        show_excluded=show_excluded,
        show_not_estimable=show_not_estimable,
        subtotals_only=not overall,
        measure_label=measure_label,
        arm_decimals=arm_decimals,
        xlim=xlim,
        xticks=xticks,
        favours=(label_experimental, label_control),
        higher_is_better=bool(higher_is_better),
        title=title,
    )
    layout = forest_layout(
        content,
        style,
        plot_width=float(plot_width),
        max_label_width=max_label_width,
        long_labels=long_labels,
    )
    fig = draw_forest(layout, ax)
    save(fig, path, style, None)
    return fig
