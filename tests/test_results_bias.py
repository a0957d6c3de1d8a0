"""metapool.results._bias: Egger, Begg and trim-and-fill results as tables, HTML, repr and
JSON, and trim and fill's natural-scale summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

import metapool as mp
from tests._results_data import (
    SCRIPT,
    assert_html_shows,
    assert_json_round_trip,
    assert_needs_pandas,
    parse_html,
)

#: metafor's dat.egger2001 (magnesium trials), log odds ratios
MAGNESIUM = {
    "yi": [-0.8303, -1.0561, -1.2783, -0.0435, 0.2231, -2.4075, -1.2809, -1.1917,
           -0.6957, -2.2083, -2.0382, -0.8502, -0.7932, -0.2993, -1.5708, 0.0576],
    "vi": [1.5551, 0.1715, 0.6531, 2.0435, 0.2393, 1.1496, 1.4250, 2.7599,
           0.2875, 1.2313, 0.6095, 0.3825, 0.3917, 0.0215, 0.3295, 0.0010],
}  # fmt: skip


def magnesium() -> mp.GenericEffect:
    return mp.GenericEffect(**MAGNESIUM, measure="OR", log_scale=True)


@pytest.fixture(scope="module")
def reml() -> mp.MetaResult:
    return mp.RandomEffects("REML").fit(magnesium())


def test_egger_summary_frame_has_the_two_coefficients(reml: mp.MetaResult) -> None:
    eg = mp.egger_test(reml, "rma")
    table = eg.summary_frame()
    assert list(table.columns) == [
        "term", "estimate", "se", "statistic", "df", "pvalue", "ci_low", "ci_high",
        "OR", "OR_ci_low", "OR_ci_high",
    ]  # fmt: skip
    intercept, limit = table.iloc[0], table.iloc[1]
    assert intercept["term"] == "intercept" and limit["term"] == "limit_estimate"
    assert (intercept["estimate"], intercept["se"], intercept["statistic"]) == (
        eg.intercept,
        eg.se,
        eg.statistic,
    )
    assert (intercept["pvalue"], intercept["ci_low"], limit["ci_high"]) == (
        eg.pvalue,
        eg.ci.low,
        eg.limit_ci.high,
    )
    assert table["df"].isna().all()  # z-based meta-regression
    assert math.isnan(intercept["OR"]) and math.isnan(limit["pvalue"])
    assert limit["OR"] == pytest.approx(math.exp(eg.limit_estimate), rel=1e-15)
    assert limit["OR_ci_low"] == pytest.approx(math.exp(eg.limit_ci.low), rel=1e-15)
    assert eg.to_frame().equals(table)
    assert mp.egger_test(magnesium()).summary_frame()["df"].tolist() == [14.0, 14.0]


def test_begg_summary_frame(reml: mp.MetaResult) -> None:
    bg = mp.begg_test(reml)
    assert bg.summary_frame().to_dict("records") == [
        {"statistic": bg.statistic, "score": bg.score, "pvalue": bg.pvalue, "exact": True, "k": 16}
    ]
    assert bg.to_frame().equals(bg.summary_frame())


def test_trim_and_fill_to_frame_lists_observed_then_filled_studies(reml: mp.MetaResult) -> None:
    tf = mp.trim_and_fill(reml)
    frame = tf.to_frame()
    assert frame.shape[0] == 16 + tf.k0 == 23
    assert frame["filled"].tolist() == [False] * 16 + [True] * 7
    assert frame["label"].tolist()[16:] == [f"Filled {i}" for i in range(1, 8)]
    np.testing.assert_allclose(frame["yi"][16:], tf.filled.yi, rtol=1e-15)
    np.testing.assert_array_equal(frame["weight"], tf.adjusted.weights)
    np.testing.assert_allclose(frame["OR"], np.exp(frame["yi"]), rtol=1e-15)


def test_trim_and_fill_summary_frame_compares_observed_and_filled(reml: mp.MetaResult) -> None:
    tf = mp.trim_and_fill(reml)
    table = tf.summary_frame()
    assert table["analysis"].tolist() == ["observed", "observed + filled"]
    assert table["k"].tolist() == [16, 23]
    assert table["estimate"].tolist() == [reml.estimate, tf.adjusted.estimate]
    np.testing.assert_allclose(table["OR"], np.exp(table["estimate"]), rtol=1e-15)


def test_trim_and_fill_summary_shows_the_natural_scale(reml: mp.MetaResult) -> None:
    tf = mp.trim_and_fill(reml)
    text = tf.summary()
    before, after = math.exp(reml.estimate), math.exp(tf.adjusted.estimate)
    assert f"Estimate (OR): {before:.4f} (observed studies) -> {after:.4f} (observed + filled)" in (
        text
    )
    assert f"Estimate (log scale): {reml.estimate:.4f} (observed studies)" in text
    assert f"; OR {math.exp(tf.trimmed_estimate):.4f}):" in text
    plain = mp.trim_and_fill(mp.RandomEffects().fit(mp.GenericEffect(**MAGNESIUM))).summary()
    assert "Estimate: " in plain and "Estimate (" not in plain


def test_reprs(reml: mp.MetaResult) -> None:
    assert repr(mp.egger_test(magnesium())) == (
        "EggerResult(intercept=-1.60, t=-5.79, df=14, p<.0001, k=16, lm)"
    )
    assert repr(mp.begg_test(reml)) == "BeggResult(tau=0.150, p=0.4503, k=16, exact)"
    assert repr(mp.trim_and_fill(reml)) == "TrimFillResult(k0=7 on the right, L0; OR 0.46 -> 0.68)"


def test_html_parses_and_escapes_the_measure() -> None:
    eff = mp.GenericEffect(**MAGNESIUM, measure=SCRIPT)
    fit = mp.CommonEffect().fit(eff)
    for result in (mp.egger_test(eff), mp.begg_test(eff), mp.trim_and_fill(fit)):
        assert_html_shows(result._repr_html_(), SCRIPT)
    root = parse_html(mp.trim_and_fill(fit)._repr_html_())
    assert [td.text for td in root.iter("td")][::4] == ["observed", "observed + filled"]


def test_to_dict_round_trips_with_the_measure_in_full(reml: mp.MetaResult) -> None:
    for result in (mp.egger_test(reml, "rma"), mp.begg_test(reml)):
        data = assert_json_round_trip(result)
        assert data["measure"] == reml.measure.to_dict()
    data = assert_json_round_trip(mp.trim_and_fill(reml))
    assert "original" not in data and data["original_estimate"] == reml.estimate
    keys = list(data)
    assert keys.index("original_estimate") == keys.index("filled_from") + 1


def test_frames_need_pandas(reml: mp.MetaResult, monkeypatch: pytest.MonkeyPatch) -> None:
    eg, bg, tf = mp.egger_test(reml), mp.begg_test(reml), mp.trim_and_fill(reml)
    calls = (eg.to_frame, eg.summary_frame, bg.to_frame, bg.summary_frame, tf.to_frame)
    assert_needs_pandas(monkeypatch, *calls, tf.summary_frame)
