"""metapool.results._regression: MetaRegressionResult and Prediction as tables, HTML and
repr, and the coefficients' intervals at another level (against a refit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError
from tests._results_data import (
    ABLAT,
    ALLOC,
    BCG,
    SCRIPT,
    assert_html_shows,
    assert_json_round_trip,
    assert_needs_pandas,
    bcg_rr,
    natural_ci,
    parse_html,
)


@pytest.fixture(scope="module")
def reg() -> mp.MetaRegressionResult:
    return mp.MetaRegression("REML").fit(bcg_rr(), {"ablat": ABLAT})


def test_to_frame_has_the_studies_fitted_values_and_weights(reg: mp.MetaRegressionResult) -> None:
    frame = reg.to_frame()
    assert list(frame.columns) == [
        "label", "yi", "se", "ci_low", "ci_high", "RR", "RR_ci_low", "RR_ci_high",
        "fitted", "residual", "weight",
    ]  # fmt: skip
    assert frame["label"].tolist() == BCG["labels"]
    fitted = reg.coef[0] + reg.coef[1] * np.asarray(ABLAT, dtype=float)
    np.testing.assert_allclose(frame["fitted"], fitted, rtol=1e-12)
    np.testing.assert_allclose(frame["residual"], reg.yi - fitted, rtol=1e-12, atol=1e-15)
    w = 1 / (reg.vi + reg.tau2)
    np.testing.assert_allclose(frame["weight"], 100 * w / w.sum(), rtol=1e-12)
    low, high = natural_ci(reg.yi, np.sqrt(reg.vi), 0.95)
    np.testing.assert_allclose(frame["RR_ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(frame["RR_ci_high"], high, rtol=1e-12)


def test_to_frame_skips_studies_left_out_for_a_missing_moderator() -> None:
    ablat = [*ABLAT[:2], None, *ABLAT[3:]]
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        res = mp.MetaRegression(nan_policy="omit").fit(bcg_rr(), {"ablat": ablat})
    frame = res.to_frame()
    assert frame.shape[0] == 12 and BCG["labels"][2] not in frame["label"].tolist()


def test_summary_frame_has_one_row_per_coefficient(reg: mp.MetaRegressionResult) -> None:
    table = reg.summary_frame()
    assert table["term"].tolist() == ["intercept", "ablat"]
    np.testing.assert_array_equal(table["estimate"], reg.coef)
    np.testing.assert_array_equal(table["se"], reg.se)
    np.testing.assert_array_equal(table["pvalue"], reg.pvalue)
    np.testing.assert_array_equal(table["ci_high"], reg.ci.high)
    assert table["df"].isna().all()
    np.testing.assert_allclose(table["exp_estimate"], np.exp(reg.coef), rtol=1e-15)
    np.testing.assert_allclose(table["exp_ci_low"], np.exp(reg.ci.low), rtol=1e-15)


def test_summary_frame_of_a_natural_scale_measure_has_no_exp_columns() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
    table = mp.MetaRegression(ci="hksj").fit(eff, {"dose": [1, 2, 3, 4, 5]}).summary_frame()
    assert "exp_estimate" not in table.columns and table["df"].tolist() == [3.0, 3.0]


CI_METHODS = ["z", "hksj", "hksj-adhoc", "t"]


@pytest.mark.parametrize("ci", CI_METHODS)
@pytest.mark.parametrize("level", [0.5, 0.9, 0.99])
def test_confidence_interval_equals_a_refit_at_that_level(ci: str, level: float) -> None:
    mods = {"ablat": ABLAT, "alloc": ALLOC}
    res = mp.MetaRegression("REML", ci=ci).fit(bcg_rr(), mods)
    refit = mp.MetaRegression("REML", ci=ci, level=level).fit(bcg_rr(), mods)
    ci_other = res.confidence_interval(level)
    np.testing.assert_allclose(ci_other.low, refit.ci.low, rtol=1e-12)
    np.testing.assert_allclose(ci_other.high, refit.ci.high, rtol=1e-12)


def test_confidence_interval_of_a_fixed_effects_regression() -> None:
    fixed = mp.tau2.Fixed(0)
    res = mp.MetaRegression(fixed).fit(bcg_rr(), {"ablat": ABLAT})
    refit = mp.MetaRegression(fixed, level=0.8).fit(bcg_rr(), {"ablat": ABLAT})
    np.testing.assert_allclose(res.confidence_interval(0.8).low, refit.ci.low, rtol=1e-12)


def test_confidence_interval_validates_the_level(reg: mp.MetaRegressionResult) -> None:
    with pytest.raises(InvalidParameterError, match=r"MetaRegressionResult\.confidence_interval"):
        reg.confidence_interval(1.5)


def test_repr_and_html(reg: mp.MetaRegressionResult) -> None:
    assert repr(reg) == (
        "MetaRegressionResult(k=13, terms=(intercept, ablat), tau2=0.0763, R2=75.6%, "
        "QM p=5.24e-05, REML/z)"
    )
    root = parse_html(reg._repr_html_())
    assert [td.text for td in root.iter("td")][::5] == ["intercept", "ablat"]
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
    odd = mp.MetaRegression().fit(eff, {SCRIPT: [1, 2, 3, 4, 5]})
    assert_html_shows(odd._repr_html_(), SCRIPT)


def test_to_dict_round_trips(reg: mp.MetaRegressionResult) -> None:
    data = assert_json_round_trip(reg)
    assert data["measure"] == "RR" and data["scale"] == "log"
    assert data["design"] == ["intercept", "ablat"] and list(data)[-1] == "design"


def test_prediction_tables_repr_html_and_dict(reg: mp.MetaRegressionResult) -> None:
    pred = reg.predict({"ablat": [10, 30, 50]})
    table = pred.summary_frame()
    assert list(table.columns) == ["pred", "se", "ci_low", "ci_high", "pi_low", "pi_high"]
    np.testing.assert_array_equal(table["pred"], pred.pred)
    np.testing.assert_array_equal(table["pi_low"], pred.pi.low)
    assert pred.to_frame().equals(table)
    assert repr(pred).startswith("Prediction(n=3, pred=[") and math.isfinite(pred.pred[0])
    assert len(parse_html(pred._repr_html_()).findall(".//tbody/tr")) == 3
    assert list(assert_json_round_trip(pred)) == ["pred", "se", "ci", "pi"]


def test_frames_need_pandas(reg: mp.MetaRegressionResult, monkeypatch: pytest.MonkeyPatch) -> None:
    pred = reg.predict({"ablat": [10]})
    assert_needs_pandas(
        monkeypatch, reg.to_frame, reg.summary_frame, pred.to_frame, pred.summary_frame
    )
