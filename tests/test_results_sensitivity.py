"""metapool.results._sensitivity: leave-one-out and cumulative series and influence
diagnostics as tables, HTML, repr and JSON; natural-scale summaries; each refit's
interval at another level (against a refit of the whole analysis at that level)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError
from tests._results_data import (
    BCG,
    SCRIPT,
    assert_html_shows,
    assert_json_round_trip,
    assert_needs_pandas,
    bcg_rr,
    md_set,
    parse_html,
    t,
    z,
)


@pytest.fixture(scope="module")
def reml() -> mp.MetaResult:
    return mp.RandomEffects("REML").fit(bcg_rr())


@pytest.fixture(scope="module")
def loo(reml: mp.MetaResult) -> mp.LeaveOneOutResult:
    return mp.leave_one_out(reml)


def mh_with_a_non_estimable_refit() -> mp.LeaveOneOutResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
        rr = mp.RiskRatio(events1=[3, 5, 4], n1=[50, 60, 40], events2=[0, 0, 6], n2=[50, 60, 40])
        return mp.leave_one_out(mp.MantelHaenszel().fit(rr))


def test_summary_frame_is_one_pooled_row_per_refit(loo: mp.LeaveOneOutResult) -> None:
    table = loo.summary_frame()
    assert list(table.columns) == [
        "label", "k", "estimate", "se", "statistic", "df", "pvalue", "ci_low", "ci_high",
        "RR", "RR_ci_low", "RR_ci_high",
    ]  # fmt: skip
    assert table["label"].tolist() == BCG["labels"] and set(table["k"]) == {12}
    np.testing.assert_array_equal(table["estimate"], loo.estimate)
    np.testing.assert_array_equal(table["ci_high"], loo.ci.high)
    np.testing.assert_allclose(table["RR"], np.exp(loo.estimate), rtol=1e-15)
    np.testing.assert_allclose(table["RR_ci_low"], np.exp(loo.ci.low), rtol=1e-15)
    assert table["df"].isna().all()


def test_to_frame_adds_heterogeneity_and_flags(loo: mp.LeaveOneOutResult) -> None:
    frame = loo.to_frame()
    assert frame.columns[-7:].tolist() == [
        "tau2", "i2", "h2", "q", "q_pvalue", "converged", "estimable",
    ]  # fmt: skip
    np.testing.assert_array_equal(frame["tau2"], loo.tau2)
    assert frame["estimable"].all()


def test_a_refit_that_is_not_estimable_is_a_nan_row() -> None:
    series = mh_with_a_non_estimable_refit()
    frame = series.to_frame()
    assert frame["estimable"].tolist() == [True, True, False]
    assert frame.iloc[2][["estimate", "RR", "ci_low", "tau2"]].isna().all()
    ci = series.confidence_interval(0.9)
    assert math.isnan(ci.low[2]) and math.isfinite(ci.low[0])
    assert repr(series) == "LeaveOneOutResult(3 refits, RR 1.17 to 1.50)"


def test_cumulative_tables_follow_the_order() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.9], vi=[0.04] * 3, labels=["A", "B", "C"])
    cum = mp.cumulative(mp.CommonEffect().fit(eff), order=[2003, 2001, 2002])
    frame = cum.to_frame()
    assert frame["label"].tolist() == ["B", "C", "A"] and frame["k"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(frame["estimate"], [0.3, 0.6, 13 / 30])
    assert "GEN" not in frame.columns  # a generic effect on its natural scale


@pytest.mark.parametrize("ci", ["z", "hksj", "t"])
@pytest.mark.parametrize("analysis", ["leave_one_out", "cumulative"])
def test_confidence_interval_equals_a_refit_at_that_level(ci: str, analysis: str) -> None:
    run = getattr(mp, analysis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.SmallSampleWarning)
        series = run(mp.RandomEffects("DL", ci=ci).fit(bcg_rr()))
        refit = run(mp.RandomEffects("DL", ci=ci, level=0.8).fit(bcg_rr()))
    other = series.confidence_interval(0.8)
    np.testing.assert_allclose(other.low, refit.ci.low, rtol=1e-12)
    np.testing.assert_allclose(other.high, refit.ci.high, rtol=1e-12)


def test_confidence_interval_uses_each_refits_distribution() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.5], vi=[0.02, 0.03, 0.04, 0.05])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.SmallSampleWarning)
        cum = mp.cumulative(mp.RandomEffects(ci="hksj").fit(eff))
    assert math.isnan(cum.df[0]) and cum.df[1:].tolist() == [1.0, 2.0, 3.0]
    ci = cum.confidence_interval(0.9)
    crit = np.array([z(0.9), t(0.9, 1), t(0.9, 2), t(0.9, 3)])
    np.testing.assert_allclose(ci.high, cum.estimate + crit * cum.se, rtol=1e-12)


def test_confidence_interval_validates_the_level(loo: mp.LeaveOneOutResult) -> None:
    with pytest.raises(InvalidParameterError, match=r"LeaveOneOutResult\.confidence_interval"):
        loo.confidence_interval(95)


def test_summaries_are_on_the_natural_scale_for_ratios(loo: mp.LeaveOneOutResult) -> None:
    text = loo.summary()
    lines = text.splitlines()
    assert lines[1].startswith("Measure: risk ratio (RR); estimates and CIs back-transformed")
    assert lines[3].split()[:4] == ["omitted", "study", "RR", "p"]
    first = lines[4]
    assert f"{math.exp(loo.estimate[0]):.4f}" in first
    assert f"[{math.exp(loo.ci.low[0]):.4f}, {math.exp(loo.ci.high[0]):.4f}]" in first
    cum = mp.cumulative(mp.RandomEffects().fit(bcg_rr())).summary()
    assert "back-transformed" in cum and " RR " in cum.splitlines()[3]


def test_summaries_on_the_natural_scale_keep_the_analysis_table() -> None:
    text = mp.leave_one_out(mp.RandomEffects().fit(md_set())).summary()
    assert "back-transformed" not in text and "estimate" in text and "se" in text


def test_repr_and_html(reml: mp.MetaResult, loo: mp.LeaveOneOutResult) -> None:
    low, high = np.exp(loo.estimate).min(), np.exp(loo.estimate).max()
    assert repr(loo) == f"LeaveOneOutResult(13 refits, RR {low:.2f} to {high:.2f})"
    cum = mp.cumulative(reml)
    assert repr(cum) == "CumulativeResult(13 steps, final RR 0.49 [0.34, 0.70], k=13)"
    root = parse_html(loo._repr_html_())
    assert [th.text for th in root.iter("th")][:3] == ["omitted study", "k", "RR"]
    assert len(root.findall(".//tbody/tr")) == 13
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2], vi=[0.02] * 3, labels=[SCRIPT, "b", "c"])
    fit = mp.CommonEffect().fit(eff)
    assert_html_shows(mp.leave_one_out(fit)._repr_html_(), SCRIPT)
    assert_html_shows(mp.cumulative(fit)._repr_html_(), SCRIPT)


def test_to_dict_round_trips(loo: mp.LeaveOneOutResult) -> None:
    data = assert_json_round_trip(loo)
    assert data["measure"] == "RR" and data["scale"] == "log" and "results" not in data
    data = assert_json_round_trip(mh_with_a_non_estimable_refit())
    assert data["estimate"][2] is None and data["estimable"] == [True, True, False]


def test_influence_tables_repr_html_and_dict(reml: mp.MetaResult) -> None:
    res = mp.RandomEffects(tau2="DL").fit(
        mp.GenericEffect(
            yi=[0.1, 0.2, 0.15, 0.12, 1.5], vi=[0.01] * 5, labels=["A", "B", "C", "D", SCRIPT]
        )
    )
    inf = mp.influence(res)
    frame = inf.to_frame()
    assert frame.columns.tolist() == [
        "label", "rstudent", "dffits", "cooks_distance", "cov_ratio", "tau2_deleted",
        "q_deleted", "hat", "weight", "dfbetas", "is_influential",
    ]  # fmt: skip
    np.testing.assert_array_equal(frame["cooks_distance"], inf.cooks_distance)
    assert frame["is_influential"].tolist() == [False] * 4 + [True]
    assert inf.summary_frame().equals(frame)
    assert repr(inf) == f"InfluenceResult(k=5, influential=[{SCRIPT!r}])"
    assert_html_shows(inf._repr_html_(), SCRIPT)
    assert_json_round_trip(inf)
    assert repr(mp.influence(reml)) == "InfluenceResult(k=13, influential=[])"


def test_frames_need_pandas(
    reml: mp.MetaResult, loo: mp.LeaveOneOutResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    inf = mp.influence(reml)
    cum = mp.cumulative(reml)
    calls = (loo.to_frame, loo.summary_frame, cum.to_frame, inf.to_frame, inf.summary_frame)
    assert_needs_pandas(monkeypatch, *calls)
