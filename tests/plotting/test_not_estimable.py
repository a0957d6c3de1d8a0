"""RevMan's "Not estimable" rows: double-zero studies with their counts, in the totals.

Under ``convention="revman5"`` (and ``"revman-web"``) a risk ratio or odds ratio
drops the studies without events in either arm; RevMan still lists them, with
their events and totals, "Not estimable" in the effect column and no weight, and
adds their counts into the subtotal, total and "Total events" rows.
"""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import matplotlib

matplotlib.use("Agg")

import pytest

import metapool as mp
from metapool.testing import check_effect_set
from tests.plotting._helpers import cell_places, squares, texts

LABELS = ["Adams 2001", "Baker 2004", "Chen 2006", "Diaz 2009", "Evans 2012", "Fox 2015"]
COUNTS = {
    "events1": [3, 0, 8, 0, 5, 12],
    "n1": [40, 25, 60, 30, 45, 80],
    "events2": [7, 0, 13, 0, 9, 15],
    "n2": [41, 24, 62, 31, 44, 79],
}
GROUPS = ["Adults", "Adults", "Adults", "Children", "Children", "Children"]
MODEL = mp.MantelHaenszel(convention="revman5")


def _rr(convention: str = "revman5") -> mp.RiskRatio:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExcludedStudyWarning / ZeroCellWarning, tested elsewhere
        return mp.RiskRatio(**COUNTS, labels=LABELS, convention=convention)


def _subgroups(groups: list[str]) -> mp.SubgroupResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.subgroup_analysis(_rr(), groups, MODEL)


def _y(fig: object) -> dict[str, float]:
    return {gid: place.y for gid, place in cell_places(fig).items()}  # type: ignore[arg-type]


@pytest.mark.parametrize("convention", ["revman5", "revman-web"])
def test_dropped_double_zero_studies_keep_their_counts(convention):
    rr = _rr(convention)
    assert [e.index for e in rr.excluded] == [1, 3]
    baker = rr.excluded[0]
    assert dict(baker.values) == {"events1": 0.0, "n1": 25.0, "events2": 0.0, "n2": 24.0}
    assert json.loads(json.dumps(baker.to_dict()))["values"]["n2"] == 24.0
    assert pickle.loads(pickle.dumps(rr)) == rr and copy.deepcopy(rr) == rr
    check_effect_set(rr)
    with pytest.raises(TypeError):
        baker.values["n1"] = 1.0  # type: ignore[index]
    # an exclusion without data (a missing value) has none, and says nothing of them
    gone = mp.ExcludedStudy(index=0, label="x", reason="missing value")
    assert gone.values is None and "values" not in gone.to_dict()


def test_rate_ratio_records_the_double_zero_studies_data():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        irr = mp.RateRatio(
            events1=[4, 0, 6],
            time1=[100, 80, 120],
            events2=[7, 0, 9],
            time2=[110, 90, 100],
            double_zero="drop",
        )
    (dropped,) = irr.excluded
    assert dict(dropped.values) == {"events1": 0.0, "time1": 80.0, "events2": 0.0, "time2": 90.0}
    fig = mp.forest_plot(mp.CommonEffect().fit(irr))
    assert texts(fig)["cell-effect-excluded-0"] == "Not estimable"


def test_not_estimable_row_has_counts_no_weight_no_square_and_counts_in_the_totals():
    res = MODEL.fit(_rr())
    fig = mp.forest_plot(res)
    cells = texts(fig)
    for j, (row, label) in enumerate([(1, "Baker 2004"), (3, "Diaz 2009")]):
        gid = f"excluded-{j}"
        assert cells[f"cell-study-{gid}"] == label
        assert [cells[f"cell-{key}-{gid}"] for key in COUNTS] == [
            str(COUNTS[key][row]) for key in COUNTS
        ]
        assert cells[f"cell-effect-{gid}"] == "Not estimable"
        assert f"cell-weight-{gid}" not in cells
    assert sorted(squares(fig)) == [0, 1, 2, 3]  # the four kept studies only
    # in the order of the input, between their neighbours
    y = _y(fig)
    order = ["study-0", "excluded-0", "study-1", "excluded-1", "study-2", "study-3"]
    ys = [y[f"cell-study-{gid}"] for gid in order]
    assert ys == sorted(ys)
    # totals as RevMan: every study's participants and events
    assert (cells["cell-n1-total"], cells["cell-n2-total"]) == ("280", "281")
    assert (cells["cell-events1-events-total"], cells["cell-events2-events-total"]) == ("28", "44")
    assert cells["cell-weight-total"] == "100.0%"

    without = texts(mp.forest_plot(res, show_not_estimable=False))
    assert "cell-study-excluded-0" not in without
    assert (without["cell-n1-total"], without["cell-n2-total"]) == ("225", "226")
    assert without["cell-events1-events-total"] == "28"
    assert "cell-study-excluded-0" not in texts(mp.forest_plot(res, show_excluded=False))


def test_not_estimable_rows_go_last_when_sorted():
    fig = mp.forest_plot(MODEL.fit(_rr()), sort_by="weight")
    y = _y(fig)
    studies = max(y[f"cell-study-study-{i}"] for i in range(4))
    assert studies < y["cell-study-excluded-0"] < y["cell-study-excluded-1"]


def test_not_estimable_rows_inside_their_subgroup():
    sg = _subgroups(GROUPS)
    assert sg.excluded_membership == ("Adults", "Children")
    fig = mp.forest_plot(sg)
    cells, y = texts(fig), _y(fig)
    assert cells["cell-effect-excluded-0"] == cells["cell-effect-excluded-1"] == "Not estimable"
    assert cells["cell-n1-excluded-1"] == "30"
    # Baker 2004 between Adams and Chen (Adults), Diaz 2009 first among the Children
    assert y["cell-study-study-0"] < y["cell-study-excluded-0"] < y["cell-study-study-1"]
    assert y["subgroup-2"] < y["cell-study-excluded-1"] < y["cell-study-study-2"]
    assert (cells["cell-n1-subgroup-1-pooled"], cells["cell-n2-subgroup-1-pooled"]) == (
        "125",
        "127",
    )
    assert (cells["cell-n1-subgroup-2-pooled"], cells["cell-n2-subgroup-2-pooled"]) == (
        "155",
        "154",
    )
    assert (cells["cell-n1-total"], cells["cell-n2-total"]) == ("280", "281")
    assert cells["cell-events1-events-subgroup-1-pooled"] == "11"
    # subtotals only: the same rows, weights within each subgroup
    alone = texts(mp.forest_plot(sg, overall=False))
    assert alone["cell-n1-subgroup-1-pooled"] == "125" and "cell-n1-total" not in alone
    assert "cell-study-excluded-0" not in texts(mp.forest_plot(sg, show_not_estimable=False))


def test_a_subgroup_of_not_estimable_studies_only():
    sg = _subgroups(["A", "Z", "A", "Z", "B", "B"])
    assert sg.groups == ("A", "B") and sg.excluded_membership == ("Z", "Z")
    fig = mp.forest_plot(sg)
    cells, y = texts(fig), _y(fig)
    assert cells["subgroup-3"] == "Z"
    assert y["subgroup-3"] < y["cell-study-excluded-0"] < y["cell-study-excluded-1"]
    assert cells["cell-effect-subgroup-3-pooled"] == "Not estimable"
    assert "cell-weight-subgroup-3-pooled" not in cells
    assert (cells["cell-n1-subgroup-3-pooled"], cells["cell-n2-subgroup-3-pooled"]) == (
        "55",
        "55",
    )
    assert cells["heterogeneity-3"] == "Heterogeneity: Not applicable"
    assert cells["cell-n1-total"] == "280"


def test_subgroup_of_a_dropped_study_unknown_leaves_it_out():
    # groups given for the four studies analysed: the dropped ones have no subgroup
    sg = _subgroups(["A", "A", "B", "B"])
    assert sg.excluded_membership == (None, None)
    cells = texts(mp.forest_plot(sg))
    assert not any(gid.startswith("cell-study-excluded") for gid in cells)
    assert cells["cell-n1-total"] == "225"  # the table adds up: only the rows shown


def test_metafor_convention_keeps_and_corrects_the_study():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mp.MantelHaenszel(convention="metafor").fit(_rr("metafor"))
    fig = mp.forest_plot(res)
    cells = texts(fig)
    assert res.excluded == ()
    assert sorted(squares(fig)) == list(range(6))
    assert not any(gid.startswith("cell-study-excluded") for gid in cells)
    assert cells["cell-study-study-1"] == "Baker 2004"
    assert cells["cell-effect-study-1"] != "Not estimable"
    assert (cells["cell-n1-total"], cells["cell-n2-total"]) == ("280", "281")


def test_excluded_membership_follows_excluded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sg = mp.subgroup_analysis(_rr(), ["A", "A", None, "B", "B", "B"], MODEL, nan_policy="omit")
    # Baker 2004 (dropped, subgroup A), Chen 2006 (missing subgroup), Diaz 2009 (B)
    assert [e.index for e in sg.excluded] == [1, 2, 3]
    assert sg.excluded_membership == ("A", None, "B")
    assert sg.to_dict()["excluded_membership"] == ["A", None, "B"]
    cells = texts(mp.forest_plot(sg))
    assert cells["cell-n1-excluded-0"] == "25" and cells["cell-n1-excluded-2"] == "30"
    assert "cell-study-excluded-1" not in cells  # a missing subgroup: not shown, as before
