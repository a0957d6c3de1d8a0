"""metapool.results._pooled: MetaResult's tables, HTML, repr, intervals at another level,
and BackTransformed.

Expected values are computed here from the result's own fields with scipy's quantiles
(``exp(yi ± z·se)``, ``1/(vi + τ²)``), not with metapool's helpers; a refit at the
other level is the reference for ``confidence_interval``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MissingDependencyError
from tests._results_data import (
    BCG,
    SCRIPT,
    assert_html_shows,
    assert_json_round_trip,
    assert_needs_pandas,
    bcg_rr,
    md_set,
    natural_ci,
    parse_html,
    t,
    z,
)


@pytest.fixture(scope="module")
def reml() -> mp.MetaResult:
    return mp.RandomEffects(tau2="REML").fit(bcg_rr())


# ------------------------------------------------------------------ to_frame


def test_to_frame_has_the_arm_data_both_scales_and_the_weights(reml: mp.MetaResult) -> None:
    frame = reml.to_frame()
    assert list(frame.columns) == [
        "label", "events1", "n1", "events2", "n2", "yi", "se", "ci_low", "ci_high",
        "RR", "RR_ci_low", "RR_ci_high", "weight",
    ]  # fmt: skip
    assert frame["label"].tolist() == BCG["labels"]
    for arm in ("events1", "n1", "events2", "n2"):
        np.testing.assert_array_equal(frame[arm], BCG[arm])
    # log RR and its variance from the 2x2 tables, as in any textbook
    a, n1, c, n2 = (np.asarray(BCG[k], dtype=float) for k in ("events1", "n1", "events2", "n2"))
    yi = np.log((a / n1) / (c / n2))
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    np.testing.assert_allclose(frame["yi"], yi, rtol=1e-13)
    np.testing.assert_allclose(frame["se"], se, rtol=1e-13)
    np.testing.assert_allclose(frame["ci_low"], yi - z(0.95) * se, rtol=1e-12)
    np.testing.assert_allclose(frame["ci_high"], yi + z(0.95) * se, rtol=1e-12)
    low, high = natural_ci(yi, se, 0.95)
    np.testing.assert_allclose(frame["RR"], (a / n1) / (c / n2), rtol=1e-13)
    np.testing.assert_allclose(frame["RR_ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(frame["RR_ci_high"], high, rtol=1e-12)
    w = 1 / (se**2 + reml.tau2)
    np.testing.assert_allclose(frame["weight"], 100 * w / w.sum(), rtol=1e-12)


def test_to_frame_study_intervals_follow_the_results_level() -> None:
    res = mp.CommonEffect(level=0.9).fit(bcg_rr())
    frame = res.to_frame()
    low, high = natural_ci(res.yi, np.sqrt(res.vi), 0.9)
    np.testing.assert_allclose(frame["RR_ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(frame["RR_ci_high"], high, rtol=1e-12)


def test_to_frame_on_the_natural_scale_has_no_back_transformed_columns() -> None:
    frame = mp.RandomEffects().fit(md_set()).to_frame()
    assert list(frame.columns) == [
        "label", "mean1", "sd1", "n1", "mean2", "sd2", "n2",
        "yi", "se", "ci_low", "ci_high", "weight",
    ]  # fmt: skip


def test_to_frame_of_generic_effects_has_no_arm_columns() -> None:
    eff = mp.GenericEffect(yi=[0.1, -0.2, 0.3], vi=[0.04, 0.05, 0.06], measure="HR", log_scale=True)
    frame = mp.CommonEffect().fit(eff).to_frame()
    assert list(frame.columns) == [
        "label",
        "yi",
        "se",
        "ci_low",
        "ci_high",
        "HR",
        "HR_ci_low",
        "HR_ci_high",
        "weight",
    ]
    np.testing.assert_allclose(frame["HR"], np.exp([0.1, -0.2, 0.3]), rtol=1e-15)


def test_to_frame_of_mantel_haenszel_keeps_its_weights() -> None:
    res = mp.MantelHaenszel().fit(bcg_rr())
    frame = res.to_frame()
    np.testing.assert_array_equal(frame["weight"], res.weights)
    assert frame["weight"].sum() == pytest.approx(100)


def test_a_measure_code_that_is_a_column_name_gets_a_suffix() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.04, 0.05], measure="se", log_scale=True)
    frame = mp.CommonEffect().fit(eff).to_frame()
    assert "se_natural" in frame.columns and "se_natural_ci_low" in frame.columns
    np.testing.assert_allclose(frame["se"], np.sqrt([0.04, 0.05]))


# -------------------------------------------------------------- summary_frame


def test_summary_frame_is_the_pooled_row_on_both_scales(reml: mp.MetaResult) -> None:
    row = reml.summary_frame().iloc[0]
    assert row["method"] == "Random-effects model" and row["k"] == 13
    for name in ("estimate", "se", "statistic", "pvalue", "tau2", "i2", "q", "q_pvalue"):
        assert row[name] == getattr(reml, name), name
    assert math.isnan(row["df"]) and row["q_df"] == 12
    assert (row["ci_low"], row["ci_high"]) == tuple(reml.ci)
    assert (row["pi_low"], row["pi_high"]) == tuple(reml.pi)
    assert row["RR"] == pytest.approx(math.exp(reml.estimate), rel=1e-15)
    assert row["RR_ci_low"] == pytest.approx(math.exp(reml.ci.low), rel=1e-15)
    assert row["RR_pi_high"] == pytest.approx(math.exp(reml.pi.high), rel=1e-15)


def test_summary_frame_records_the_t_degrees_of_freedom() -> None:
    row = mp.RandomEffects(ci="hksj").fit(md_set()).summary_frame().iloc[0]
    assert row["df"] == 4
    assert "MD" not in row.index  # natural scale: no second set of columns


# ------------------------------------------------------- confidence_interval


MODELS = {
    "REML z": lambda level: mp.RandomEffects(tau2="REML", level=level),
    "DL hksj": lambda level: mp.RandomEffects(tau2="DL", ci="hksj", level=level),
    "PM hksj-adhoc": lambda level: mp.RandomEffects(tau2="PM", ci="hksj-adhoc", level=level),
    "REML t": lambda level: mp.RandomEffects(tau2="REML", ci="t", level=level),
    "common": lambda level: mp.CommonEffect(level=level),
    "MH": lambda level: mp.MantelHaenszel(level=level),
    "Peto": lambda level: mp.Peto(level=level),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.99])
def test_confidence_interval_equals_a_refit_at_that_level(name: str, level: float) -> None:
    effects = mp.OddsRatio(**BCG) if name == "Peto" else bcg_rr()
    res = MODELS[name](0.95).fit(effects)
    refit = MODELS[name](level).fit(effects)
    ci = res.confidence_interval(level)
    assert ci.low == pytest.approx(refit.ci.low, rel=1e-13)
    assert ci.high == pytest.approx(refit.ci.high, rel=1e-13)


def test_confidence_interval_is_computed_here_from_se_and_df() -> None:
    res = mp.RandomEffects(ci="hksj").fit(md_set())
    ci = res.confidence_interval(0.9)
    half = t(0.9, res.k - 1) * res.se
    assert (ci.low, ci.high) == pytest.approx((res.estimate - half, res.estimate + half), rel=1e-13)
    res_z = mp.RandomEffects().fit(md_set())
    ci_z = res_z.confidence_interval(0.8)
    assert ci_z.high - ci_z.low == pytest.approx(2 * z(0.8) * res_z.se, rel=1e-13)


def test_confidence_interval_at_the_fit_level_is_the_ci(reml: mp.MetaResult) -> None:
    ci = reml.confidence_interval(0.95)
    assert ci.low == pytest.approx(reml.ci.low, rel=1e-15)
    assert ci.high == pytest.approx(reml.ci.high, rel=1e-15)


def test_confidence_interval_with_one_study_uses_z_as_the_fit_did() -> None:
    one = mp.GenericEffect(yi=[0.3], vi=[0.04])
    with pytest.warns(mp.exceptions.SmallSampleWarning):
        res = mp.RandomEffects(ci="hksj").fit(one)
    assert res.df is None
    ci = res.confidence_interval(0.9)
    assert (ci.low, ci.high) == pytest.approx((0.3 - z(0.9) * 0.2, 0.3 + z(0.9) * 0.2))


@pytest.mark.parametrize("level", [0, 1, 95, -0.1, math.nan, "0.9", True, None])
def test_confidence_interval_validates_the_level(reml: mp.MetaResult, level: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"'level' parameter of MetaResult\.conf"):
        reml.confidence_interval(level)  # type: ignore[arg-type]


# ------------------------------------------------------------ repr and HTML


def test_repr_is_short_and_on_the_natural_scale(reml: mp.MetaResult) -> None:
    assert repr(reml) == "MetaResult(RR 0.49 [0.34, 0.70], k=13, tau2=0.313, I2=92.2%, REML/z)"
    common = repr(mp.CommonEffect().fit(bcg_rr()))
    assert common.startswith("MetaResult(RR 0.65 [") and common.endswith("CommonEffect/z)")
    assert "tau2" not in common
    assert repr(mp.MantelHaenszel().fit(bcg_rr())).endswith("MantelHaenszel/z)")
    md = repr(mp.RandomEffects(ci="hksj").fit(md_set()))
    assert md.startswith("MetaResult(MD -0.") and md.endswith("REML/hksj)")


def test_repr_with_one_study_says_na() -> None:
    res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.3], vi=[0.04]))
    assert repr(res) == "MetaResult(GEN 0.30 [-0.09, 0.69], k=1, I2=NA, CommonEffect/z)"


def test_repr_html_is_a_table_with_the_pooled_and_heterogeneity_lines(
    reml: mp.MetaResult,
) -> None:
    root = parse_html(reml._repr_html_())
    cells = [td.text for td in root.iter("td")]
    assert "Pooled effect (RR)" in cells and "0.49" in cells and "[0.34, 0.70]" in cells
    assert "Pooled effect (log scale)" in cells and "Prediction interval (RR)" in cells
    lines = [p.text or "" for p in root.iter("p")]
    assert lines[0].startswith("Heterogeneity: τ² = 0.3132, I² = 92.2%, Q = 152.23 (df = 12)")
    assert lines[1] == "k = 13 studies; CI: z"


def test_repr_html_escapes_user_text() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.3], vi=[0.04, 0.05], measure=SCRIPT)
    assert_html_shows(mp.CommonEffect().fit(eff)._repr_html_(), SCRIPT)


# ---------------------------------------------------------------- to_dict


def test_to_dict_round_trips_through_json(reml: mp.MetaResult) -> None:
    data = assert_json_round_trip(reml)
    assert data["measure"] == "RR" and data["scale"] == "log"
    assert data["back_transformed"] == {
        "measure": "RR",
        "estimate": math.exp(reml.estimate),
        "ci": {"low": math.exp(reml.ci.low), "high": math.exp(reml.ci.high)},
        "pi": {"low": math.exp(reml.pi.low), "high": math.exp(reml.pi.high)},
    }
    k1 = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.3], vi=[0.04]))
    assert assert_json_round_trip(k1)["i2"] is None


# ---------------------------------------------------------- BackTransformed


def test_back_transformed_repr_str_and_dict(reml: mp.MetaResult) -> None:
    bt = reml.back_transform()
    assert str(bt) == "RR 0.49 [0.34, 0.70]"
    assert repr(bt) == "BackTransformed(RR 0.49 [0.34, 0.70], PI [0.15, 1.55])"
    assert list(assert_json_round_trip(bt)) == ["measure", "estimate", "ci", "pi"]


# ----------------------------------------------------------- without pandas


def test_frames_need_pandas(reml: mp.MetaResult, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_needs_pandas(monkeypatch, reml.to_frame, reml.summary_frame)
    with pytest.raises(ImportError, match=r"MetaResult\.to_frame needs pandas"):
        reml.to_frame()
    assert issubclass(MissingDependencyError, ImportError)
