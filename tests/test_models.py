"""Models: RevMan 5 reproduction, small k, settings validation, results, warnings."""

from __future__ import annotations

import json
import math
import warnings

import attrs
import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import (
    ConvergenceWarning,
    InvalidParameterError,
    MetapoolError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from tests._reference import dataset, effects_of

# Fleiss (1993) aspirin after myocardial infarction; RevMan 5's own output for a
# fixed-effect Mantel-Haenszel OR (numbers given in the issue, from RevMan 5).
ASPIRIN = dict(
    events1=[49, 44, 102, 32, 85, 246, 1570],
    n1=[615, 758, 832, 317, 810, 2267, 8587],
    events2=[67, 64, 126, 38, 52, 219, 1720],
    n2=[624, 771, 850, 309, 406, 2257, 8600],
)
REVMAN5_ASPIRIN = dict(
    odds_ratio=0.8968655609130709,
    ci_low=0.8405144008917793,
    ci_high=0.9569947088336491,
    z=3.287633061337987,
    chi2=9.946055983220074,
    chi2_p=0.1269422521561745,
    i2=39.67458045558399,
)


def test_revman5_aspirin_mantel_haenszel():
    res = mp.MantelHaenszel().fit(mp.OddsRatio(**ASPIRIN, convention="revman5"))
    bt = res.back_transform()
    ref = REVMAN5_ASPIRIN
    # 1e-9 as the issue asks; both are closed forms in double precision.
    assert bt.estimate == pytest.approx(ref["odds_ratio"], abs=1e-9)
    assert bt.ci.low == pytest.approx(ref["ci_low"], abs=1e-9)
    assert bt.ci.high == pytest.approx(ref["ci_high"], abs=1e-9)
    assert abs(res.statistic) == pytest.approx(ref["z"], abs=1e-9)
    assert res.q == pytest.approx(ref["chi2"], abs=1e-9)
    assert res.i2 == pytest.approx(ref["i2"], abs=1e-9)
    assert res.q_df == 6
    # RevMan computes the chi-square tail less exactly; 1e-6 is the tolerance.
    assert res.q_pvalue == pytest.approx(ref["chi2_p"], abs=1e-6)
    assert res.revman_heterogeneity() == (
        "Heterogeneity: Chi\u00b2 = 9.95, df = 6 (P = 0.13); I\u00b2 = 40%"
    )
    assert "Test for overall effect: Z = 3.29 (P = 0.001)" in res.summary()


def test_revman5_convention_random_effects():
    eff = effects_of(dataset("bcg_rr"))
    rev = mp.RandomEffects(convention="revman5")
    assert rev.tau2.name == "DL" and rev.ci == "z" and rev.i2 == "q"
    res = rev.fit(eff)
    dl = mp.RandomEffects(tau2="DL").fit(eff)
    assert res.estimate == dl.estimate
    # With DL, the Q-based and tau2-based I² coincide (algebraic identity).
    assert res.i2 == pytest.approx(dl.i2, rel=1e-12)
    assert res.i2_method == "q"


def test_k1_common_effect_reports_heterogeneity_not_estimable():
    res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.4], se=[0.2], labels=["Solo"]))
    assert res.estimate == pytest.approx(0.4, rel=1e-15) and res.se == pytest.approx(0.2)
    assert res.k == 1 and res.q_df == 0
    assert math.isnan(res.i2) and math.isnan(res.h2) and math.isnan(res.q_pvalue)
    assert any("not estimable" in n for n in res.notes)
    assert "not estimable" in res.summary()


def test_k1_random_effects_follows_metafor():
    eff = mp.GenericEffect(yi=[0.5], vi=[0.04])
    with pytest.warns(SmallSampleWarning, match="using 'z' since k = 1"):
        res = mp.RandomEffects(tau2="REML", ci="hksj").fit(eff)
    # metafor: rma(yi=0.5, vi=0.04, test="knha") -> z test, tau2 = 0, CI 0.108007 to 0.891993
    assert res.tau2 == 0.0 and res.df is None and res.ci_method == "z"
    assert res.ci.low == pytest.approx(0.5 - 1.959963984540054 * 0.2, rel=1e-12)
    assert res.pi == res.ci


def test_k2_random_effects_notes_imprecision():
    res = mp.RandomEffects(tau2="REML", ci="hksj").fit(
        mp.GenericEffect(yi=[0.5, 0.1], vi=[0.04, 0.01])
    )
    # metafor 3.8-1: rma(c(.5,.1), c(.04,.01), test="knha"): tau2 = 0.055, I2 = 68.75
    assert res.tau2 == pytest.approx(0.055, rel=1e-9)
    assert res.i2 == pytest.approx(68.75, rel=1e-9)
    assert res.df == 1
    assert any("k = 2" in n for n in res.notes)
    higgins = mp.RandomEffects(tau2="REML", prediction="higgins").fit(
        mp.GenericEffect(yi=[0.5, 0.1], vi=[0.04, 0.01])
    )
    assert not higgins.pi.estimable


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"tau2": "BOGUS"},
            r"'tau2' parameter of RandomEffects must be one of 'DL', 'EB'.*Got 'BOGUS'",
        ),
        ({"ci": "wald"}, r"'ci' parameter of RandomEffects must be one of 'z', 'hksj'.*Got 'wald'"),
        ({"level": 95}, r"'level' parameter of RandomEffects must be in \(0, 1\)\. Got 95 instead"),
        ({"level": float("nan")}, r"'level' parameter of RandomEffects must be in \(0, 1\)"),
        ({"prediction": "riley"}, r"'prediction' parameter"),
        ({"i2": "h2"}, r"'i2' parameter"),
    ],
)
def test_random_effects_rejects_bad_settings(kwargs, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        mp.RandomEffects(**kwargs)


def test_other_models_reject_bad_settings():
    with pytest.raises(InvalidParameterError, match="'level' parameter of CommonEffect"):
        mp.CommonEffect(level=1.0)
    with pytest.raises(InvalidParameterError, match="'ci' parameter of CommonEffect"):
        mp.CommonEffect(ci="hksj")
    with pytest.raises(InvalidParameterError, match=r"'level' parameter of MantelHaenszel"):
        mp.MantelHaenszel(level=0)
    with pytest.raises(InvalidParameterError, match=r"'level' parameter of Peto"):
        mp.Peto(level=-0.5)


def test_models_reject_wrong_effect_types():
    gen = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.1, 0.1])
    with pytest.raises(MetapoolTypeError, match=r"MantelHaenszel\.fit expects"):
        mp.MantelHaenszel().fit(gen)  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match=r"Peto\.fit expects OddsRatio"):
        mp.Peto().fit(mp.RiskRatio(events1=[1], n1=[5], events2=[2], n2=[5]))  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match="expects an effect-size set"):
        mp.RandomEffects().fit([0.1, 0.2])  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match="'tau2' parameter of RandomEffects must be"):
        mp.RandomEffects(tau2=42)  # type: ignore[arg-type]


def test_estimator_names_are_case_insensitive_and_objects_equivalent():
    eff = effects_of(dataset("normand1999"))
    by_name = mp.RandomEffects(tau2="reml").fit(eff)
    by_object = mp.RandomEffects(tau2=mp.tau2.REML()).fit(eff)
    assert by_name.estimate == by_object.estimate
    assert repr(mp.RandomEffects(tau2="pm")).startswith("RandomEffects(tau2=PauleMandel()")


@attrs.frozen
class _Stuck:
    """An estimator that reports non-convergence (as a broken plug-in might)."""

    name: str = "stuck"

    def estimate(self, yi, vi, X=None):
        shape = np.shape(yi)[:-1]
        return mp.tau2.Tau2Fit(
            tau2=np.full(shape, 0.1),
            converged=np.zeros(shape, bool),
            iterations=np.full(shape, 500),
            method=self.name,
        )


@attrs.frozen
class _Negative:
    name: str = "negative"

    def estimate(self, yi, vi, X=None):
        shape = np.shape(yi)[:-1]
        return mp.tau2.Tau2Fit(
            tau2=np.full(shape, -1.0),
            converged=np.ones(shape, bool),
            iterations=np.zeros(shape, np.int64),
            method=self.name,
        )


def test_non_convergence_is_warned_and_recorded():
    eff = mp.GenericEffect(yi=[0.1, 0.5, 0.9], vi=[0.01, 0.02, 0.04])
    with pytest.warns(ConvergenceWarning, match=r"'stuck' did not converge after 500 iterations"):
        res = mp.RandomEffects(tau2=_Stuck()).fit(eff)
    assert res.converged is False
    assert "did not converge" in res.summary()


def test_invalid_estimate_from_plugin_raises():
    eff = mp.GenericEffect(yi=[0.1, 0.5, 0.9], vi=[0.01, 0.02, 0.04])
    with pytest.raises(MetapoolError, match=r"'negative' returned -1\.0"):
        mp.RandomEffects(tau2=_Negative()).fit(eff)


def test_result_is_complete_frozen_and_json_safe():
    eff = effects_of(dataset("bcg_rr"))
    res = mp.RandomEffects(tau2="REML", ci="hksj").fit(eff)
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)  # raises on NaN/inf
    back = json.loads(text)
    for key in (
        "estimate",
        "se",
        "statistic",
        "pvalue",
        "df",
        "ci",
        "pi",
        "tau2",
        "tau",
        "tau2_ci",
        "i2",
        "i2_ci",
        "h2",
        "q",
        "q_df",
        "q_pvalue",
        "weights",
        "k",
        "converged",
        "level",
        "tau2_method",
        "ci_method",
        "excluded",
    ):
        assert key in back, key
    assert back["ci"]["low"] == res.ci.low
    assert sum(res.weights) == pytest.approx(100.0, rel=1e-12)
    assert back["back_transformed"]["estimate"] == pytest.approx(math.exp(res.estimate))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]
    k1 = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1], vi=[0.1]))
    assert json.loads(json.dumps(k1.to_dict(), allow_nan=False))["i2"] is None


def test_summary_shows_what_reviewers_expect():
    res = mp.RandomEffects(tau2="DL").fit(effects_of(dataset("bcg_rr")))
    text = res.summary()
    assert text.startswith("Random-effects model (k = 13; tau^2 estimator: DL; CI: z)")
    assert f"{res.tau2:.4f}" in text and f"{res.q:.4f}" in text
    assert "RR = 0.4896" in text
    assert "P < 0.00001" in text
    assert str(res) == text


def test_back_transform_identity_for_differences():
    res = mp.CommonEffect().fit(effects_of(dataset("normand1999")))
    bt = res.back_transform()
    assert (bt.estimate, bt.ci.low, bt.ci.high) == (res.estimate, res.ci.low, res.ci.high)


def test_hksj_adhoc_never_narrower_than_wald():
    for name in ("bcg_rr", "normand1999", "homogeneous_equal_yi", "bangertdrowns2004_k3"):
        eff = effects_of(dataset(name))
        wald = mp.RandomEffects(tau2="REML", ci="z").fit(eff)
        adhoc = mp.RandomEffects(tau2="REML", ci="hksj-adhoc").fit(eff)
        assert adhoc.se >= wald.se * (1 - 1e-12)


def test_mh_double_zero_note_and_peto_uninformative_note():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
        or_ = mp.OddsRatio(
            events1=[5, 0, 7],
            n1=[20, 15, 30],
            events2=[3, 0, 2],
            n2=[20, 15, 30],
            labels=["A", "B", "C"],
        )
    mh = mp.MantelHaenszel().fit(or_)
    assert mh.q_df == 1 and any("'B'" in n for n in mh.notes)
    peto = mp.Peto().fit(or_)
    assert peto.q_df == 1 and any("'B'" in n for n in peto.notes)


def test_mh_not_estimable_without_events():
    rr = mp.RiskRatio(events1=[0, 0], n1=[10, 10], events2=[1, 2], n2=[10, 10], continuity_to="all")
    with pytest.raises(mp.exceptions.InvalidDataError, match="not estimable"):
        mp.MantelHaenszel().fit(rr)


def test_q_profile_bounds_zero_when_homogeneous():
    res = mp.RandomEffects(tau2="REML").fit(effects_of(dataset("homogeneous_equal_yi")))
    assert res.tau2 == 0.0
    assert res.tau2_ci.low == 0.0 and res.tau2_ci.high >= 0.0
    assert res.i2_ci.low == 0.0
