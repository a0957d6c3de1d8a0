"""Forest plots of leave-one-out and cumulative results: rows of refits, no weights, the
analysis of all studies as the reference (metafor's forest(leave1out()) / forest(cumul()))."""

from __future__ import annotations

import math

import attrs
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from tests.plotting._helpers import (
    assert_clean_layout,
    diamonds,
    effect_text,
    plain,
    plot_ax,
    row_order,
    squares,
    texts,
)


def test_leave_one_out_rows(bcg):
    loo = mp.leave_one_out(bcg)
    fig = mp.forest_plot(loo)
    t = texts(fig)
    for i, label in enumerate(bcg.labels):
        assert t[f"cell-study-study-{i}"] == f"Omitting {label}"
        expected = effect_text(*np.exp([loo.estimate[i], loo.ci.low[i], loo.ci.high[i]]))
        assert plain(t[f"cell-effect-study-{i}"]) == expected
    assert not any(k.startswith("cell-weight") for k in t)  # no weights
    assert "column-k" not in t  # k is constant when leaving one out
    sq = squares(fig)
    assert sorted(sq) == list(range(bcg.k)) and row_order(fig) == list(range(bcg.k))
    sizes = {line.get_markersize() for line in sq.values()}
    assert len(sizes) == 1  # refits have no weights: one size
    for i, line in sq.items():
        assert line.get_xdata()[0] == pytest.approx(math.exp(loo.estimate[i]))
    # the analysis of all studies: a diamond and a dashed reference line at its estimate
    assert t["cell-study-total"] == "All studies (95% CI)"
    assert plain(t["cell-effect-total"]) == effect_text(
        *np.exp([bcg.estimate, bcg.ci.low, bcg.ci.high])
    )
    (diamond,) = diamonds(fig).values()
    assert max(x for x, _ in diamond.get_xy()) == pytest.approx(math.exp(bcg.ci.high))
    ax = plot_ax(fig)
    (ref_line,) = [ln for ln in ax.lines if ln.get_gid() == "reference-line"]
    assert ref_line.get_xdata()[0] == pytest.approx(math.exp(bcg.estimate))
    assert ref_line.get_linestyle() == "--"
    assert_clean_layout(fig)


def test_cumulative_rows_with_k(bcg):
    years = [int(label.split()[-1]) for label in bcg.labels]
    cum = mp.cumulative(bcg, order=years)
    fig = mp.forest_plot(cum)
    t = texts(fig)
    for j, i in enumerate(cum.order):
        assert t[f"cell-study-study-{j}"] == f"Adding {bcg.labels[i]}"
        assert t[f"cell-k-study-{j}"] == str(j + 1)
    assert t["cell-k-total"] == str(bcg.k)
    # the last step is the analysis of all studies: its square is on the reference line
    last = squares(fig)[bcg.k - 1].get_xdata()[0]
    assert last == pytest.approx(math.exp(bcg.estimate))
    assert_clean_layout(fig)


def test_series_columns_and_collapsed_keys(bcg):
    years = [int(label.split()[-1]) for label in bcg.labels]
    cum = mp.cumulative(bcg, order=years, collapse=True)
    fig = mp.forest_plot(cum, columns=["study", "k", "i2", "tau2", "effect"])
    t = texts(fig)
    assert t["cell-study-study-0"] == f"Adding {min(years)}"
    assert t["cell-i2-total"] == f"{bcg.i2:.0f}%"
    assert t["cell-tau2-total"] == f"{bcg.tau2:.3f}"


def test_full_analysis_from_a_hand_built_cumulative(bcg):
    cum = mp.cumulative(bcg)
    bare = attrs.evolve(cum, full=None)
    fig = mp.forest_plot(bare)
    assert "cell-study-total" in texts(fig)  # the last step stands in for the full analysis


def test_options_about_study_data_are_refused(bcg):
    loo = mp.leave_one_out(bcg)
    with pytest.raises(InvalidParameterError, match=r"'sort_by'.*LeaveOneOutResult"):
        mp.forest_plot(loo, sort_by="weight")
    with pytest.raises(InvalidParameterError, match="'prediction'"):
        mp.forest_plot(loo, prediction=True)
    with pytest.raises(InvalidParameterError, match=r"'columns'.*'weight'"):
        mp.forest_plot(loo, columns=["study", "weight"])
    with pytest.raises(MetapoolTypeError, match="or a LeaveOneOutResult or a CumulativeResult"):
        mp.forest_plot(loo.to_dict())  # type: ignore[arg-type]


def test_not_estimable_refit_is_written_so():
    with pytest.warns(mp.exceptions.ZeroCellWarning):
        eff = mp.RiskRatio(events1=[0, 0, 6], n1=[20, 20, 20], events2=[2, 3, 3], n2=[20, 20, 20])
    res = mp.MantelHaenszel().fit(eff)
    loo = mp.leave_one_out(res)
    assert not loo.estimable[2]  # without study 3 no events are left in the first arm
    fig = mp.forest_plot(loo)
    t = texts(fig)
    for i in np.flatnonzero(~loo.estimable):
        assert t[f"cell-effect-study-{i}"] == "Not estimable"
        assert int(i) not in squares(fig)


def test_result_methods(bcg):
    fig = mp.leave_one_out(bcg).plot_forest(width="single")
    assert fig.get_size_inches()[0] * 2.54 == pytest.approx(8.5)
    fig = mp.cumulative(bcg).plot_forest(decimals=3)
    assert plain(texts(fig)["cell-effect-total"]).startswith(f"{np.exp(bcg.estimate):.3f} [")
