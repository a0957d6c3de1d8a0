"""Forest plots: what is drawn, where, and with which text."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import metapool as mp
from metapool._format import fmt_p_revman
from metapool.exceptions import InvalidParameterError
from metapool.plotting import _numbers
from tests._reference import dataset, effects_of
from tests.plotting._helpers import (
    Z95,
    all_texts,
    assert_clean_layout,
    by_prefix,
    cell_places,
    diamonds,
    effect_text,
    generic,
    huge_or,
    plain,
    plot_ax,
    row_order,
    squares,
    texts,
    wide_rr,
)


def test_forest_ratio_squares_and_diamond_on_natural_scale(bcg):
    fig = mp.forest_plot(bcg)
    assert isinstance(fig, Figure)
    sq = squares(fig)
    assert sorted(sq) == list(range(13))
    for i, line in sq.items():
        assert line.get_xdata()[0] == pytest.approx(math.exp(bcg.yi[i]))
        assert line.get_marker() == "s"
    (total,) = diamonds(fig).values()
    xs = sorted(x for x, _ in total.get_xy()[:4])
    bt = bcg.back_transform()
    assert xs == pytest.approx([bt.ci.low, bt.estimate, bt.estimate, bt.ci.high])
    ax = plot_ax(fig)
    assert ax.get_xscale() == "log"
    assert ax.get_xlim() == pytest.approx((0.1, 10.0))  # RevMan's 0.1-10 scale
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    (null,) = by_prefix(ax.lines, "null-line")
    assert null.get_xdata()[0] == 1.0


def test_forest_text_cells_hold_the_formatted_numbers(bcg):
    fig = mp.forest_plot(bcg)
    cells = texts(fig)
    for i in (0, 7, 12):
        half = Z95 * math.sqrt(bcg.vi[i])
        expected = effect_text(*np.exp([bcg.yi[i], bcg.yi[i] - half, bcg.yi[i] + half]))
        assert plain(cells[f"cell-effect-study-{i}"]) == expected
        assert cells[f"cell-weight-study-{i}"] == f"{bcg.weights[i]:.1f}%"
    assert cells["cell-effect-study-0"] == "0.41 [0.13, 1.26]"  # Aronson 1948, as RevMan
    assert cells["cell-effect-total"] == "0.49 [0.34, 0.70]"
    assert cells["cell-weight-total"] == "100.0%"
    assert cells["cell-study-study-0"] == "Aronson 1948"
    assert (cells["cell-events1-study-0"], cells["cell-n1-study-0"]) == ("4", "123")
    assert (cells["cell-events2-study-0"], cells["cell-n2-study-0"]) == ("11", "139")
    assert (cells["cell-n1-total"], cells["cell-n2-total"]) == ("191064", "166283")
    assert (cells["cell-events1-events-total"], cells["cell-events2-events-total"]) == (
        "1065",
        "1510",
    )
    assert cells["header-group-effect"] == "Risk Ratio"
    assert cells["header-effect"] == "IV, Random, 95% CI"
    assert cells["header-group-experimental"] == "Experimental"


def test_forest_heterogeneity_and_overall_effect_lines(bcg):
    cells = texts(mp.forest_plot(bcg))
    assert plain(cells["heterogeneity-total"]) == bcg.revman_heterogeneity()
    assert plain(cells["heterogeneity-total"]) == (
        "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%"
    )
    expected = f"Test for overall effect: Z = {abs(bcg.statistic):.2f} ({fmt_p_revman(bcg.pvalue)})"
    assert (
        cells["overall-effect-total"]
        == expected
        == "Test for overall effect: Z = 4.00 (P = 0.00006)"
    )


def test_forest_square_area_is_proportional_to_weight(bcg):
    sq = squares(mp.forest_plot(bcg))
    big = max(sq, key=lambda i: bcg.weights[i])
    for i, line in sq.items():
        area_ratio = (line.get_markersize() / sq[big].get_markersize()) ** 2
        assert area_ratio == pytest.approx(bcg.weights[i] / bcg.weights[big], rel=1e-9)


def test_forest_mean_difference_on_a_linear_axis(normand):
    fig = mp.forest_plot(normand)
    ax = plot_ax(fig)
    assert ax.get_xscale() == "linear"
    for i, line in squares(fig).items():
        assert line.get_xdata()[0] == pytest.approx(normand.yi[i])
    assert ax.get_xlim() == pytest.approx((-100.0, 100.0))
    ticks = [plain(t.get_text()) for t in ax.get_xticklabels()]
    assert ticks == ["-100", "-50", "0", "50", "100"]
    cells = texts(fig)
    assert [cells[f"header-{k}"] for k in ("mean1", "sd1", "n1")] == ["Mean", "SD", "Total"]
    assert plain(cells["cell-effect-study-0"]) == "-20.00 [-32.47, -7.53]"  # Edinburgh
    assert "Total events" not in cells.values()
    (null,) = by_prefix(ax.lines, "null-line")
    assert null.get_xdata()[0] == 0.0


def test_forest_subgroups(bcg_subgroups):
    sg = bcg_subgroups
    fig = mp.forest_plot(sg)
    cells = texts(fig)
    names = list(sg.results)
    assert [cells[f"subgroup-{g}"] for g in (1, 2, 3)] == names
    dia = diamonds(fig)
    assert sorted(dia) == ["subgroup-1", "subgroup-2", "subgroup-3", "total"]
    for g, res in enumerate(sg.results.values(), start=1):
        centre = sorted(x for x, _ in dia[f"subgroup-{g}"].get_xy()[:4])[1]
        assert centre == pytest.approx(math.exp(res.estimate))
        assert plain(cells[f"heterogeneity-{g}"]) == res.revman_heterogeneity()
        assert cells[f"overall-effect-{g}"].startswith("Test for overall effect: Z = ")
        assert cells[f"cell-study-subgroup-{g}-pooled"] == "Subtotal (95% CI)"
    assert plain(cells["subgroup-differences"]) == sg.test.revman()
    assert cells["header-study"] == "Study or Subgroup"
    # Weights are shares of the overall analysis: the subtotals add up to 100 %.
    subtotals = [float(cells[f"cell-weight-subgroup-{g}-pooled"][:-1]) for g in (1, 2, 3)]
    assert sum(subtotals) == pytest.approx(100.0, abs=0.15)
    assert len(squares(fig)) == 13
    # Each study is drawn in its own subgroup's block, between header and subtotal.
    y_of = {gid: place.y for gid, place in cell_places(fig).items()}
    for i, group in enumerate(sg.membership):
        g = names.index(group) + 1
        y = squares(fig)[i].get_ydata()[0]
        assert y_of[f"subgroup-{g}"] < y < y_of[f"cell-study-subgroup-{g}-pooled"]


def test_forest_subtotals_only(bcg_subgroups):
    """overall=False: no total diamond, no test for differences, weights per subgroup."""
    sg = bcg_subgroups
    fig = mp.forest_plot(sg, overall=False)
    cells = texts(fig)
    assert sorted(diamonds(fig)) == ["subgroup-1", "subgroup-2", "subgroup-3"]
    assert "subgroup-differences" not in cells
    assert "heterogeneity-total" not in cells
    for g, (name, res) in enumerate(sg.results.items(), start=1):
        assert cells[f"cell-weight-subgroup-{g}-pooled"] == "100.0%"
        member = [i for i, m in enumerate(sg.membership) if m == name]
        for i, w in zip(member, res.weights, strict=True):
            assert cells[f"cell-weight-study-{i}"] == f"{w:.1f}%"
    assert_clean_layout(fig)


def test_figure_height_grows_with_the_number_of_studies():
    heights = [mp.forest_plot(generic(k)).get_size_inches()[1] for k in (2, 10, 40, 120)]
    assert heights == sorted(heights)
    per_row = np.diff(heights) / np.diff([2, 10, 40, 120])
    assert per_row == pytest.approx([per_row[0]] * 3, rel=0.01)  # a constant row height
    assert 0.12 < per_row[0] < 0.3  # inches: readable rows at 8 pt


@pytest.mark.parametrize(
    "make",
    [
        lambda bcg, normand, sg: mp.forest_plot(bcg, prediction=True),
        lambda bcg, normand, sg: mp.forest_plot(normand),
        lambda bcg, normand, sg: mp.forest_plot(sg),
        lambda bcg, normand, sg: mp.forest_plot(generic(2)),
        lambda bcg, normand, sg: mp.forest_plot(generic(60), title="Sixty studies " * 8),
        lambda bcg, normand, sg: mp.forest_plot(
            bcg, columns=("study", "effect", "plot", "weight"), fontfamily="serif"
        ),
        lambda bcg, normand, sg: mp.forest_plot(
            bcg, label_experimental="Favours a very long experimental label here"
        ),
        lambda bcg, normand, sg: mp.funnel_plot(bcg, contours=(0.9, 0.95, 0.99)),
    ],
    ids=["ratio", "md", "subgroups", "k2", "k60-title", "weight-right", "long-favours", "funnel"],
)
def test_nothing_overlaps_and_nothing_is_cut_off(make, bcg, normand, bcg_subgroups):
    assert_clean_layout(make(bcg, normand, bcg_subgroups))


def test_long_labels_are_wrapped_or_truncated():
    long = "A multicentre randomised evaluation of early treatment with a long name"
    res = generic(3, labels=[long, "Short 2001", "Short 2002"])
    wrapped = mp.forest_plot(res, max_label_width=1.5)
    text = texts(wrapped)["cell-study-study-0"]
    assert "\n" in text and text.replace("\n", " ") == long
    assert_clean_layout(wrapped)
    cut = texts(mp.forest_plot(res, max_label_width=1.5, long_labels="truncate"))
    assert cut["cell-study-study-0"].endswith("…")
    assert long.startswith(cut["cell-study-study-0"][:-1])
    full = texts(mp.forest_plot(res, max_label_width=None))
    assert full["cell-study-study-0"] == long
    # A wrapped label makes its row taller: the rows below move down.
    y_wrapped = squares(wrapped)[2].get_ydata()[0]
    y_cut = squares(mp.forest_plot(res, max_label_width=1.5, long_labels="truncate"))[2]
    assert y_wrapped > y_cut.get_ydata()[0]


def test_sort_by(bcg):
    assert row_order(mp.forest_plot(bcg)) == list(range(13))
    assert row_order(mp.forest_plot(bcg, sort_by="weight")) == list(np.argsort(-bcg.weights))
    assert row_order(mp.forest_plot(bcg, sort_by="effect")) == list(np.argsort(bcg.yi))
    keys = [5, 3, 1, 2, 4, 13, 12, 11, 10, 9, 8, 7, 6]
    assert row_order(mp.forest_plot(bcg, sort_by=keys)) == list(np.argsort(keys))
    with pytest.raises(InvalidParameterError, match="sort_by"):
        mp.forest_plot(bcg, sort_by="year")
    with pytest.raises(InvalidParameterError, match="one value per study"):
        mp.forest_plot(bcg, sort_by=[1, 2, 3])


def test_labels_extra_columns_and_column_selection(bcg):
    labels = [f"Trial {i}" for i in range(13)]
    doses = [f"{10 * (i + 1)} mg" for i in range(13)]
    fig = mp.forest_plot(bcg, labels=labels, extra_columns={"Dose": doses, "Year": list(range(13))})
    cells = texts(fig)
    assert cells["cell-study-study-4"] == "Trial 4"
    assert cells["cell-extra-Dose-study-4"] == "50 mg"
    assert cells["header-extra-Dose"] == "Dose"
    # Extra columns follow the study column; numbers are right-aligned.
    places = cell_places(fig)
    x = {g: place.x for g, place in places.items()}
    assert x["cell-study-study-4"] < x["cell-extra-Dose-study-4"] < x["cell-events1-study-4"]
    assert places["cell-extra-Year-study-4"].ha == "right"

    minimal = texts(mp.forest_plot(bcg, columns=("study", "effect", "plot")))
    assert not any(g.startswith(("cell-weight", "cell-events1", "cell-n1")) for g in minimal)
    assert "Total events" not in minimal.values()
    with pytest.raises(InvalidParameterError, match="arm-level"):
        mp.forest_plot(generic(3), columns=("study", "experimental", "plot"))
    with pytest.raises(InvalidParameterError, match="'columns'"):
        mp.forest_plot(bcg, columns=("study", "bogus"))
    with pytest.raises(InvalidParameterError, match="one value per study"):
        mp.forest_plot(bcg, labels=["a", "b"])


def test_xlim_arrows_decimals_and_colours(bcg):
    fig = mp.forest_plot(bcg, xlim=(0.2, 5), decimals=3, color="tab:green", diamond_color="tab:red")
    ax = plot_ax(fig)
    assert ax.get_xlim() == pytest.approx((0.2, 5.0))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.2", "0.5", "1", "2", "5"]
    # Studies whose interval leaves the axis get an arrowhead on that side, and
    # their CI line stops at the axis limit.
    half = Z95 * np.sqrt(bcg.vi)
    beyond_low = {i for i in range(13) if math.exp(bcg.yi[i] - half[i]) < 0.2}
    arrows = by_prefix(ax.lines, "ci-arrow-")
    assert {int(a.get_gid().split("-")[2]) for a in arrows} == beyond_low | {
        i for i in range(13) if math.exp(bcg.yi[i] + half[i]) > 5
    }
    for i in beyond_low:
        (ci,) = [line for line in ax.lines if line.get_gid() == f"study-ci-{i}"]
        assert min(ci.get_xdata()) == pytest.approx(0.2)
    assert texts(fig)["cell-effect-study-0"] == "0.411 [0.134, 1.257]"
    assert matplotlib.colors.same_color(squares(fig)[0].get_color(), "tab:green")
    assert matplotlib.colors.same_color(diamonds(fig)["total"].get_facecolor(), "tab:red")
    with pytest.raises(InvalidParameterError, match="xlim"):
        mp.forest_plot(bcg, xlim=(0, 5))


def test_prediction_interval_row(bcg):
    fig = mp.forest_plot(bcg, prediction=True)
    (pi,) = by_prefix(plot_ax(fig).lines, "prediction-interval")
    bt = bcg.back_transform()
    assert list(pi.get_xdata()) == pytest.approx([bt.pi.low, bt.pi.high])
    assert texts(fig)["cell-effect-prediction"] == f"[{bt.pi.low:.2f}, {bt.pi.high:.2f}]"
    common = mp.CommonEffect().fit(effects_of(dataset("bcg_rr")))
    assert not by_prefix(plot_ax(mp.forest_plot(common, prediction=True)).lines, "prediction")


def test_favours_labels_sit_under_their_side(bcg):
    def side(fig: Figure, gid: str) -> str:
        fig.canvas.draw()
        (label,) = by_prefix(plot_ax(fig).texts, gid)
        centre = label.get_window_extent().x0 + label.get_window_extent().width / 2
        null = plot_ax(fig).transData.transform((1.0, 0.0))[0]
        return "left" if centre < null else "right"

    fig = mp.forest_plot(bcg)
    assert texts(fig)["favours-experimental"] == "Favours [experimental]"
    assert texts(fig)["favours-control"] == "Favours [control]"
    assert side(fig, "favours-experimental") == "left"
    assert side(fig, "favours-control") == "right"
    swapped = mp.forest_plot(bcg, higher_is_better=True, label_control="Favours placebo")
    assert side(swapped, "favours-experimental") == "right"
    assert texts(swapped)["favours-control"] == "Favours placebo"
    none = texts(mp.forest_plot(bcg, label_experimental=None, label_control=None))
    assert "favours-experimental" not in none and "favours-control" not in none


def test_excluded_studies_are_listed_as_not_estimable():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rr = mp.RiskRatio(
            events1=[5, 0, 10],
            n1=[50, 20, 60],
            events2=[9, 0, 14],
            n2=[52, 20, 58],
            labels=["One", "Zero", "Three"],
            double_zero="drop",
        )
    fig = mp.forest_plot(mp.CommonEffect().fit(rr))
    cells = texts(fig)
    assert cells["cell-study-excluded-0"] == "Zero"
    assert cells["cell-effect-excluded-0"] == "Not estimable"
    y = {g: place.y for g, place in cell_places(fig).items()}
    assert y["cell-study-study-0"] < y["cell-study-excluded-0"] < y["cell-study-study-1"]
    assert "cell-study-excluded-0" not in texts(
        mp.forest_plot(mp.CommonEffect().fit(rr), show_excluded=False)
    )


def test_forest_into_an_existing_axes(bcg):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    fig.subplots_adjust(left=0.3)
    returned = mp.forest_plot(bcg, columns=("study", "effect", "plot"), ax=ax1)
    assert returned is fig
    assert len(by_prefix(ax1.lines, "study-square-")) == 13
    assert not ax2.lines and len(plt.get_fignums()) == 1
    assert ax1.get_xscale() == "log"


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")]
)
def test_saving_by_path_and_by_the_returned_figure(bcg, tmp_path, suffix, magic):
    direct = tmp_path / f"direct{suffix}"
    fig = mp.forest_plot(bcg, path=direct, dpi=72)
    assert direct.read_bytes().startswith(magic)
    again = tmp_path / f"again{suffix}"
    fig.savefig(again)
    assert again.read_bytes().startswith(magic)
    if suffix == ".svg":  # gids become element ids, unique so that the SVG stays valid
        svg = again.read_text(encoding="utf-8")
        assert 'id="study-square-0"' in svg and 'id="pooled-diamond-total"' in svg
        ids = [g for g in (str(a.get_gid()) for a in fig.findobj()) if g != "None"]
        assert len(ids) == len(set(ids))


def test_methods_of_the_result_objects(bcg, bcg_subgroups):
    assert len(squares(bcg.plot_forest(decimals=1))) == 13
    assert texts(bcg.plot_forest(decimals=1))["cell-effect-total"] == "0.5 [0.3, 0.7]"
    assert len(diamonds(bcg_subgroups.plot_forest())) == 4
    fig = bcg.plot_funnel(contours=(0.95,))
    assert by_prefix(plot_ax(fig).patches, "contour-0.95")


def test_forest_with_a_ci_from_1e_minus_30_to_1e40():
    fig = mp.forest_plot(wide_rr())
    cells = texts(fig)
    assert plain(cells["cell-effect-study-0"]) == "1.00e+05 [1.00e-30, 1.00e+40]"
    assert cells["cell-effect-study-1"] == "1.11 [0.91, 1.34]"
    ax = plot_ax(fig)
    assert ax.get_xlim() == pytest.approx((1e-40, 1e40))
    assert [plain(t.get_text()) for t in ax.get_xticklabels()] == [
        "1e-40",
        "1e-20",
        "1",
        "1e+20",
        "1e+40",
    ]
    assert fig.get_size_inches()[0] < 7.0  # was 9 inches of digits
    assert_clean_layout(fig)


def test_forest_with_log_odds_ratios_that_overflow_exp():
    fig = mp.forest_plot(huge_or(800.0), prediction=True)
    cells = texts(fig)
    assert cells["cell-effect-study-0"] == "2.73e+347 [2.24e+347, 3.32e+347]"
    ax = plot_ax(fig)
    low, high = ax.get_xlim()
    assert (low, high) == pytest.approx((1e-300, 1e300))  # the widest axis there is
    # The study lies beyond the axis: an arrowhead at its right end, no square.
    assert by_prefix(ax.lines, "ci-arrow-0-high")
    assert 0 not in squares(fig) and {1, 2} <= set(squares(fig))
    # The total diamond is cut to the axis: every vertex is a finite number.
    for patch in diamonds(fig).values():
        assert np.isfinite(patch.get_xy()).all()
    assert fig.get_size_inches()[0] < 7.5
    assert_clean_layout(fig)


def test_a_diamond_beyond_the_axis_becomes_an_arrowhead(bcg):
    fig = mp.forest_plot(bcg, xlim=(2, 20))
    ax = plot_ax(fig)
    assert "total" not in diamonds(fig)
    (arrow,) = by_prefix(ax.lines, "pooled-arrow-total")
    assert arrow.get_xdata()[0] == 2.0
    # Partly outside: cut at the axis range widened by its width, same shape inside.
    fig = mp.forest_plot(bcg, xlim=(0.45, 20))
    xs = [x for x, _ in diamonds(fig)["total"].get_xy()]
    assert min(xs) == pytest.approx(bcg.back_transform().ci.low)


def test_a_200_character_label_respects_max_label_width():
    short = mp.forest_plot(generic(3, labels=["A", "B", "C"]))
    for text, mode in (("x" * 200, "wrap"), ("word " * 40, "wrap"), ("x" * 200, "truncate")):
        fig = mp.forest_plot(generic(3, labels=[text, "B", "C"]), long_labels=mode)
        label = texts(fig)["cell-study-study-0"]
        assert label.endswith("…") and label.count("\n") <= 3
        kept = label[:-1].replace("\n", "" if mode == "truncate" or "x" in text else " ")
        assert text.startswith(kept)
        width = fig.get_size_inches()[0]
        # 2.2 inches for labels: the figure grows by at most that, not by 17 inches.
        assert width <= short.get_size_inches()[0] + 2.2
        assert_clean_layout(fig)
    fig = mp.forest_plot(generic(3, labels=["x" * 200, "B", "C"]), max_label_width=None)
    assert texts(fig)["cell-study-study-0"] == "x" * 200  # None: never shortened


def test_long_headers_subgroup_names_and_text_columns_are_cut():
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.5], se=[0.1, 0.1, 0.2, 0.3])
    sg = mp.subgroup_analysis(eff, ["G" * 150] * 2 + ["short"] * 2, mp.RandomEffects(tau2="DL"))
    fig = mp.forest_plot(
        sg,
        extra_columns={"H" * 120: ["z" * 100, "a", "b", "c"]},
        measure_label="M" * 120,
        label_experimental="Favours " + "e" * 150,
    )
    cells = texts(fig)
    assert cells["subgroup-1"].endswith("…") and cells["subgroup-1"].count("\n") <= 3
    assert cells["header-extra-" + "H" * 120].endswith("…")
    assert cells["header-group-effect"].endswith("…") and "\n" not in cells["header-group-effect"]
    assert fig.get_size_inches()[0] < 10.5
    assert_clean_layout(fig)


def test_results_with_nan_rows_draw_na_not_nan():
    import attrs

    nan = math.nan
    res = attrs.evolve(
        generic(3, measure="OR", log_scale=True),
        estimate=nan,
        statistic=nan,
        pvalue=nan,
        ci=mp.results.Interval(nan, nan),
        pi=mp.results.Interval(nan, nan),
        tau2=nan,
        i2=nan,
        q=nan,
        q_pvalue=nan,
        weights=np.array([nan, 100.0, 0.0]),
        yi=np.array([0.1, nan, 0.2]),
    )
    for fig in (
        mp.forest_plot(res, prediction=True, sort_by="weight"),
        mp.forest_plot(res, sort_by="effect"),
        mp.funnel_plot(res, contours=(0.95,)),
    ):
        strings = [t.get_text() for t in all_texts(fig)]
        assert not [s for s in strings if "nan" in s.lower()], strings
    cells = texts(mp.forest_plot(res, prediction=True))
    assert cells["cell-weight-study-0"] == "NA"
    assert cells["cell-effect-study-1"] == "NA [NA, NA]"
    assert cells["cell-effect-total"] == "Not estimable"
    assert "NA" in cells["heterogeneity-total"]
    assert _numbers.tidy_note("Tau² = nan; Chi² = 123456789.00; I² = nan%") == (
        "Tau² = NA; Chi² = 1.23e+08; I² = NA"
    )


def test_a_single_study_subgroup_draws():
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.5], se=[0.1, 0.1, 0.2, 0.3])
    sg = mp.subgroup_analysis(eff, ["a", "a", "a", "b"], mp.RandomEffects(tau2="DL"))
    fig = mp.forest_plot(sg, prediction=True)
    assert texts(fig)["heterogeneity-2"] == "Heterogeneity: Not applicable"
    assert_clean_layout(fig)


def test_level_is_not_rounded_to_100_percent():
    res = mp.RandomEffects(tau2="DL", level=0.999).fit(
        mp.GenericEffect(yi=[0.1, 0.3], se=[0.1, 0.2])
    )
    cells = texts(mp.forest_plot(res))
    assert cells["header-effect"] == "IV, Random, 99.9% CI"
    assert cells["cell-study-total"] == "Total (99.9% CI)"


def test_missing_values_in_labels_extra_columns_and_sort_keys():
    res = generic(3)
    fig = mp.forest_plot(
        res,
        labels=[math.nan, None, 2001.0],  # type: ignore[list-item]
        extra_columns={"Year": [None, math.nan, 1999]},
        sort_by=[math.nan, 2, 1],
    )
    cells = texts(fig)
    assert "cell-study-study-0" not in cells and "cell-extra-Year-study-0" not in cells
    assert cells["cell-study-study-2"] == "2001"
    assert row_order(fig) == [2, 1, 0]  # the missing sort key last
