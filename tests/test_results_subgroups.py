"""metapool.results._subgroups: SubgroupResult and SubgroupTest as tables, HTML, repr and
JSON; natural-scale summaries; the intervals at another level (against a refit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError
from tests._results_data import (
    ALLOC,
    BCG,
    SCRIPT,
    assert_html_shows,
    assert_json_round_trip,
    assert_needs_pandas,
    bcg_rr,
    md_set,
    parse_html,
)


@pytest.fixture(scope="module")
def sg() -> mp.SubgroupResult:
    return mp.subgroup_analysis(bcg_rr(), ALLOC, mp.RandomEffects("REML"))


def test_to_frame_lists_the_studies_with_their_subgroup_and_weights(
    sg: mp.SubgroupResult,
) -> None:
    frame = sg.to_frame()
    assert frame.columns[:3].tolist() == ["label", "subgroup", "events1"]
    assert frame.columns[-2:].tolist() == ["weight", "subgroup_weight"]
    assert frame["label"].tolist() == BCG["labels"] and frame["subgroup"].tolist() == ALLOC
    np.testing.assert_array_equal(frame["weight"], sg.overall.weights)
    sums = frame.groupby("subgroup")["subgroup_weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 100.0)
    for name, res in sg.results.items():
        w = 1 / (res.vi + res.tau2)
        mine = frame.loc[frame["subgroup"] == name, "subgroup_weight"]
        np.testing.assert_allclose(mine, 100 * w / w.sum(), rtol=1e-12)


def test_summary_frame_has_a_row_per_subgroup_then_overall(sg: mp.SubgroupResult) -> None:
    table = sg.summary_frame()
    assert table["subgroup"].tolist() == ["random", "alternate", "systematic", "Overall"]
    assert table["overall"].tolist() == [False, False, False, True]
    assert table["k"].tolist() == [7, 2, 4, 13]
    fits = [*sg.results.values(), sg.overall]
    np.testing.assert_array_equal(table["estimate"], [r.estimate for r in fits])
    np.testing.assert_array_equal(table["ci_low"], [r.ci.low for r in fits])
    np.testing.assert_allclose(table["RR"], [math.exp(r.estimate) for r in fits], rtol=1e-15)
    np.testing.assert_allclose(table["RR_ci_high"], [math.exp(r.ci.high) for r in fits])
    np.testing.assert_array_equal(table["tau2"], [r.tau2 for r in fits])


@pytest.mark.parametrize("common_tau2", [False, True])
@pytest.mark.parametrize("ci", ["z", "hksj"])
def test_confidence_interval_equals_a_refit_at_that_level(common_tau2: bool, ci: str) -> None:
    def run(level: float) -> mp.SubgroupResult:
        model = mp.RandomEffects("REML", ci=ci, level=level)
        return mp.subgroup_analysis(bcg_rr(), ALLOC, model, common_tau2=common_tau2)

    by_group, overall = run(0.95).confidence_interval(0.9)
    refit = run(0.9)
    assert list(by_group) == list(refit.groups)
    for name, interval in by_group.items():
        assert tuple(interval) == pytest.approx(tuple(refit.results[name].ci), rel=1e-12)
    assert tuple(overall) == pytest.approx(tuple(refit.overall.ci), rel=1e-12)


def test_confidence_interval_validates_the_level(sg: mp.SubgroupResult) -> None:
    with pytest.raises(InvalidParameterError, match=r"SubgroupResult\.confidence_interval"):
        sg.confidence_interval(0)


def test_summary_is_on_the_natural_scale_for_ratios(sg: mp.SubgroupResult) -> None:
    text = sg.summary()
    assert "Measure: risk ratio (RR); estimates and CIs back-transformed from the log scale" in text
    header = next(line for line in text.splitlines() if line.startswith("  subgroup"))
    assert "RR" in header and "estimate" not in header
    random = sg.results["random"]
    line = next(line for line in text.splitlines() if line.strip().startswith("random"))
    assert f"{math.exp(random.estimate):.4f}" in line
    assert f"[{math.exp(random.ci.low):.4f}, {math.exp(random.ci.high):.4f}]" in line
    assert f"{random.estimate:.4f}" not in line


def test_summary_of_a_natural_scale_measure_is_unchanged() -> None:
    text = mp.subgroup_analysis(md_set(), ["a", "a", "b", "b", "b"]).summary()
    assert "back-transformed" not in text and "estimate" in text.splitlines()[2]


def test_repr_and_html(sg: mp.SubgroupResult) -> None:
    assert repr(sg) == (
        "SubgroupResult(3 subgroups, k=13, Q_between=1.86, df=2, p=0.3943; "
        "overall RR 0.49 [0.34, 0.70])"
    )
    root = parse_html(sg._repr_html_())
    assert [td.text for td in root.iter("td")][::5] == [
        "random",
        "alternate",
        "systematic",
        "Overall",
    ]
    odd = mp.subgroup_analysis(md_set(), [SCRIPT, SCRIPT, "b", "b", "b"])
    assert_html_shows(odd._repr_html_(), SCRIPT)


def test_to_dict_round_trips_with_the_model_as_its_repr(sg: mp.SubgroupResult) -> None:
    data = assert_json_round_trip(sg)
    assert data["model"] == repr(sg.model) and list(data["results"]) == list(sg.groups)
    assert data["tau2"] is None and data["test"]["df"] == 2


def test_subgroup_test_table_repr_and_html(sg: mp.SubgroupResult) -> None:
    test = sg.test
    row = test.summary_frame().iloc[0]
    assert (row["statistic"], row["df"], row["pvalue"], row["i2"]) == (
        test.statistic,
        test.df,
        test.pvalue,
        test.i2,
    )
    assert test.to_frame().equals(test.summary_frame())
    assert repr(test) == "SubgroupTest(Q=1.86, df=2, p=0.3943, I2=0.0%)"
    assert [td.text for td in parse_html(test._repr_html_()).iter("td")] == [test.revman()]
    assert list(assert_json_round_trip(test)) == ["statistic", "df", "pvalue", "i2"]


def test_frames_need_pandas(sg: mp.SubgroupResult, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_needs_pandas(
        monkeypatch, sg.to_frame, sg.summary_frame, sg.test.to_frame, sg.test.summary_frame
    )
