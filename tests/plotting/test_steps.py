"""A forest plot in steps: content, then layout, then drawing.

Each step returns a new value and changes nothing it was given; the drawing
puts one text artist per column; the texts and the axis follow the content
(intervals written without padding, footnotes broken between statements, the
measure deciding the axis).
"""

from __future__ import annotations

import copy
import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.text import Text

import metapool as mp
from metapool.effects import FISHER_Z, LOGIT, Measure
from metapool.exceptions import InvalidParameterError
from metapool.plotting import PlotStyle
from metapool.plotting._mpl import TextColumn
from metapool.plotting._text import TextMeasurer, split_note, statements
from metapool.plotting.forest._content import forest_content
from metapool.plotting.forest._draw import draw_forest
from metapool.plotting.forest._layout import forest_layout
from tests.plotting._helpers import (
    assert_clean_layout,
    by_prefix,
    cell_places,
    generic,
    plain,
    plot_ax,
    squares,
    texts,
)


# ------------------------------------------------------------------ the steps
def test_layout_does_not_change_the_content_and_drawing_not_the_layout(bcg_subgroups):
    long = "A multicentre randomised evaluation of early treatment with a long name"
    res = generic(4, labels=[long, "B", "C", "D"])
    for result in (res, bcg_subgroups):
        content = forest_content(result, prediction=True, title="A title " * 20)
        before = copy.deepcopy(content)
        layout = forest_layout(content, PlotStyle(), max_label_width=1.0)
        assert content == before
        assert layout.content is content
        laid_out = copy.deepcopy(layout)
        draw_forest(layout)
        assert layout == laid_out
    # The layout wrapped the long label; the content still holds it whole.
    content = forest_content(res)
    layout = forest_layout(content, PlotStyle(), max_label_width=1.0)
    (study,) = [c for c in layout.columns if c.gid == "column-study"]
    assert "\n" in study.cells[0].text
    assert content.rows[0].cell("study") == long


def test_forest_plot_is_content_then_layout_then_drawing(bcg):
    style = PlotStyle(font_size=7)
    layout = forest_layout(forest_content(bcg, decimals=3), style)
    fig = draw_forest(layout)
    assert texts(fig) == texts(mp.forest_plot(bcg, decimals=3, style=style))
    assert tuple(fig.get_size_inches()) == pytest.approx(layout.figsize)


def test_one_text_artist_per_column():
    counts = {}
    for k in (5, 200):
        fig = mp.forest_plot(generic(k))
        ax = plot_ax(fig)
        columns = [t for t in ax.texts if isinstance(t, TextColumn)]
        # study, weight, effect estimates, effect intervals, footnotes
        assert sorted(t.get_gid() for t in columns) == [
            "column-effect-estimate",
            "column-effect-interval",
            "column-notes",
            "column-study",
            "column-weight",
        ]
        (study,) = by_prefix(columns, "column-study")
        assert len(study.get_cells()) == k + 1  # the studies and "Total (95% CI)"
        counts[k] = len(ax.texts)
    assert counts[5] == counts[200]  # headers, columns and labels: not one per cell


def test_text_columns_keep_cell_ids_in_svg(bcg, tmp_path):
    fig = mp.forest_plot(bcg)
    fig.savefig(tmp_path / "forest.svg")
    svg = (tmp_path / "forest.svg").read_text(encoding="utf-8")
    for gid in ("column-study", "cell-study-study-0", "cell-effect-total-interval"):
        assert f'id="{gid}"' in svg


def test_text_column_cells_sit_on_their_rows(bcg):
    fig = mp.forest_plot(bcg)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = plot_ax(fig)
    (study,) = by_prefix(ax.texts, "column-study")
    boxes = {cell.gid: box for cell, box in study.cell_extents(renderer)}
    for i, square in squares(fig).items():
        y = ax.transData.transform((1.0, square.get_ydata()[0]))[1]
        box = boxes[f"cell-study-study-{i}"]
        assert box.y0 < y < box.y1  # the label is on the square's row
    whole = study.get_window_extent(renderer)
    assert whole.y0 <= min(b.y0 for b in boxes.values())
    assert whole.y1 >= max(b.y1 for b in boxes.values())


# --------------------------------------------------------- texts of the table
def test_intervals_are_written_without_padding_inside_the_brackets():
    # 0.44 [0.04, 5.02] beside an interval with a wider upper limit.
    eff = mp.GenericEffect(
        yi=[math.log(0.44), math.log(2.0), 0.1],
        se=[(math.log(0.44) - math.log(0.0386)) / 1.959964, 0.8, 0.2],
        measure="RR",
        log_scale=True,
    )
    fig = mp.forest_plot(mp.CommonEffect().fit(eff))
    cells = texts(fig)
    assert cells["cell-effect-study-0"] == "0.44 [0.04, 5.02]"
    assert cells["cell-effect-study-1-interval"] == "[0.42, 9.59]"
    interval = re.compile(r"\[\S+, \S+\]")
    for gid, text in cells.items():
        if gid.startswith("cell-") and gid.endswith("-interval"):
            assert interval.fullmatch(text), text
    # Estimates right-aligned on one edge, intervals left-aligned one space after it.
    places = cell_places(fig)
    est = {g: p for g, p in places.items() if g.endswith("-estimate")}
    ci = {g: p for g, p in places.items() if g.endswith("-interval")}
    assert {p.ha for p in est.values()} == {"right"} and {p.ha for p in ci.values()} == {"left"}
    assert len({round(p.x, 6) for p in est.values()}) == 1
    assert len({round(p.x, 6) for p in ci.values()}) == 1
    gap = next(iter(ci.values())).x - next(iter(est.values())).x
    assert 0 < gap < 8 * fig.dpi / 72  # about a space at 8 pt


def test_not_estimable_starts_at_the_left_of_the_effect_column(bcg):
    import attrs

    res = attrs.evolve(bcg, estimate=math.nan, ci=mp.results.Interval(math.nan, math.nan))
    fig = mp.forest_plot(res)
    places = cell_places(fig)
    assert texts(fig)["cell-effect-total"] == "Not estimable"
    header = by_prefix(plot_ax(fig).texts, "header-effect")[0]
    fig.canvas.draw()
    left = header.get_window_extent().x0
    width = header.get_window_extent().width
    assert left - 1 <= places["cell-effect-total"].x <= left + width / 2


def test_footnote_statements():
    het = "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%"
    assert statements(het) == [
        "Heterogeneity: Tau² = 0.31;",
        "Chi² = 152.23, df = 12 (P < 0.00001);",
        "I² = 92%",
    ]
    assert statements("Test for overall effect: t = 2.10, df = 4 (P = 0.10)") == [
        "Test for overall effect: t = 2.10, df = 4 (P = 0.10)"
    ]


@pytest.mark.parametrize("width", [0.2, 1.0, 2.0, 2.6, 3.5, 10.0])
def test_footnotes_break_only_between_statements(width):
    m = TextMeasurer("sans-serif", 8.0)
    het = "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%"
    test = "Test for subgroup differences: Chi² = 1.02, df = 2 (P = 0.60), I² = 0%"
    for note in (het, test):
        lines = split_note(note, width, m).split("\n")
        assert " ".join(lines) == note
        pieces = statements(note)
        # Each line is a run of whole statements.
        i = 0
        for line in lines:
            run = []
            while " ".join(run) != line:
                run.append(pieces[i])
                i += 1
                assert len(" ".join(run)) <= len(line)
        assert i == len(pieces)


def test_footnotes_of_a_narrow_table_keep_each_statement_whole():
    fig = mp.forest_plot(generic(2), columns=("study", "plot"))
    cells = texts(fig)
    lines = cells["heterogeneity-total"].split("\n")
    assert len(lines) > 1
    for line in lines:
        assert not line.startswith(("df", "(P")) and not line.endswith(",")
    assert_clean_layout(fig)


# --------------------------------------------------------- the measure decides
def _measure_result(measure: Measure) -> mp.MetaResult:
    rng = np.random.default_rng(3)
    eff = mp.GenericEffect(yi=rng.normal(0.4, 0.3, 8), se=rng.uniform(0.1, 0.3, 8), measure=measure)
    return mp.RandomEffects(tau2="DL").fit(eff)


@pytest.mark.parametrize(
    ("measure", "inverse"),
    [
        (
            Measure(
                code="ZCOR", name="correlation", title="Correlation", scale=FISHER_Z, null=None
            ),
            np.tanh,
        ),
        (
            Measure(code="PLO", name="proportion", title="Proportion", scale=LOGIT, null=None),
            lambda y: 1 / (1 + np.exp(-y)),
        ),
    ],
    ids=["fisher-z", "logit"],
)
def test_a_measure_without_null_has_no_null_line_and_no_favours(measure, inverse):
    res = _measure_result(measure)
    fig = mp.forest_plot(res)
    ax = plot_ax(fig)
    assert not by_prefix(ax.lines, "null-line")
    cells = texts(fig)
    assert "favours-experimental" not in cells and "favours-control" not in cells
    assert cells["header-group-plot"] == measure.title
    assert ax.get_xscale() == "linear"
    # Squares and texts on the natural scale (r, p), within the default axis.
    low, high = ax.get_xlim()
    for i, square in squares(fig).items():
        x = square.get_xdata()[0]
        assert x == pytest.approx(float(inverse(res.yi[i])))
        assert low <= x <= high
        assert plain(cells[f"cell-effect-study-{i}-estimate"]) == f"{x:.2f}"
    assert_clean_layout(fig)
    funnel = plot_ax(mp.funnel_plot(res))
    assert funnel.get_xlabel() == f"{measure.title} ({measure.scale.name} scale)"
    with pytest.raises(InvalidParameterError, match=r"'contours'.*null"):
        mp.funnel_plot(res, contours=(0.95,))


def test_the_null_line_is_at_the_measures_null():
    rr = mp.GenericEffect(yi=[0.1, 0.3, -0.2], se=[0.1, 0.2, 0.15], measure="HR", log_scale=True)
    ax = plot_ax(mp.forest_plot(mp.CommonEffect().fit(rr)))
    (null,) = by_prefix(ax.lines, "null-line")
    assert null.get_xdata()[0] == 1.0 and ax.get_xscale() == "log"
    assert by_prefix(ax.texts, "favours-")
    shifted = Measure(code="P", name="share", title="Share", null=0.5)
    res = mp.CommonEffect().fit(
        mp.GenericEffect(yi=[0.4, 0.6, 0.55], se=[0.05, 0.1, 0.08], measure=shifted)
    )
    ax = plot_ax(mp.forest_plot(res))
    (null,) = by_prefix(ax.lines, "null-line")
    assert null.get_xdata()[0] == 0.5
    low, high = ax.get_xlim()
    assert low < 0.4 and high > 0.6 and (low + high) / 2 == pytest.approx(0.5)


def test_texts_are_text_artists_and_nothing_is_lost(bcg):
    fig = mp.forest_plot(bcg)
    assert all(isinstance(t, Text) for t in plot_ax(fig).texts)
    joined = "\n".join(t.get_text() for t in plot_ax(fig).texts)
    assert "Aronson 1948" in joined and "[0.13, 1.26]" in joined
