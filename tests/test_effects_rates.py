"""Incidence rates (IR, IRLN, IRS, IRFT) and their two-group comparisons (IRR, IRD).

Reference: ``tests/reference/make_rates.R`` (metafor 3.8.1, metadat's
``dat.hart1999`` and generated data with zero events) wrote ``rates.json`` with full
double precision.

Tolerances:

* ``yi``/``vi``: 1e-12 relative; the same closed forms as metafor's ``escalc``,
  evaluated in a different order (a few ulps).
* DL fits: 1e-10 relative; closed form, but sums over studies in another order and
  a back-transform on top.
* REML fits: 1e-8 relative against metafor's fit with ``tight_rma_control`` (the
  root of the REML equation to double precision); both solvers are iterative.
  Against metafor's fit with ``control=list(threshold=1e-12)`` the estimates are
  compared the same way when metafor stopped at the root; for rates per person-time
  τ² is tiny (1e-4 and below), an absolute threshold of 1e-12 is then only 1e-8
  or 1e-5 relative and Fisher scoring may stop short of the root: there metapool's
  restricted log-likelihood must be at least that of metafor's τ².
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import attrs
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import metapool as mp
from metapool.effects import SQRT, FreemanTukeyRate
from metapool.exceptions import InvalidDataError, InvalidParameterError, ZeroCellWarning
from metapool.tau2._likelihood import log_likelihood
from metapool.testing import check_effect_set
from tests._reference import load_reference

RATES = "rates.json"
RTOL_ESCALC = 1e-12
RTOL = {"DL": 1e-10, "REML": 1e-8}


def _ref() -> dict[str, Any]:
    return load_reference(RATES)


def _escalc_case(name: str) -> dict[str, Any]:
    return next(c for c in _ref()["escalc"] if c["name"] == name)


def _effects(case: dict[str, Any]) -> mp.EffectSet:
    options = case["options"] or {}  # an empty R list is written as []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        return mp.escalc(case["measure"], **case["args"], **options)


# ------------------------------------------------------------------ escalc
@pytest.mark.parametrize("case", _ref()["escalc"], ids=lambda c: c["name"])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    eff = _effects(case)
    assert eff.measure.code == case["measure"]
    yi = np.array([np.nan if v is None else v for v in case["yi"]], dtype=float)
    vi = np.array([np.nan if v is None else v for v in case["vi"]], dtype=float)
    kept = np.flatnonzero(~np.isnan(yi))  # metafor's drop00 gives NA
    np.testing.assert_array_equal(eff.index, kept)
    np.testing.assert_allclose(eff.yi, yi[kept], rtol=RTOL_ESCALC, atol=0)
    np.testing.assert_allclose(eff.vi, vi[kept], rtol=RTOL_ESCALC, atol=0)


# ------------------------------------------------------------------ pooled fits
def _close(actual: float, expected: float, rtol: float, scale: float) -> None:
    assert actual == pytest.approx(expected, rel=rtol, abs=rtol * scale)


def _compare(res: mp.MetaResult, rec: dict[str, Any], rtol: float) -> None:
    bt = res.back_transform()
    scale = abs(rec["pred"]) + abs(rec["ci_high"] - rec["ci_low"])
    _close(res.estimate, rec["estimate"], rtol, abs(rec["estimate"]) + 1e-300)
    for actual, key in (
        (bt.estimate, "pred"),
        (bt.ci.low, "ci_low"),
        (bt.ci.high, "ci_high"),
        (bt.pi.low, "pi_low"),
        (bt.pi.high, "pi_high"),
    ):
        _close(actual, rec[key], rtol, scale)


@pytest.mark.parametrize("case", _ref()["fits"], ids=lambda c: c["name"])
def test_pooled_fit_matches_metafor(case: dict[str, Any]) -> None:
    eff = _effects(_escalc_case(case["escalc"]))
    if case["harmonic_time"] is not None:
        assert isinstance(eff.measure.scale, FreemanTukeyRate)
        assert eff.measure.scale.time == pytest.approx(case["harmonic_time"], rel=1e-14)
    method = case["method"]
    res = mp.RandomEffects(tau2=method).fit(eff)
    rtol = RTOL[method]
    tau2_scale = float(np.mean(eff.vi))
    exact = case["exact"]
    # τ² near 0 (1e-18 and below, the roots of the REML equation and 0) counts as 0
    assert res.tau2 == pytest.approx(exact["tau2"], rel=rtol, abs=1e-12 * tau2_scale)
    _compare(res, exact, rtol)

    loose = case["metafor"]
    if res.tau2 == pytest.approx(loose["tau2"], rel=rtol, abs=1e-12 * tau2_scale):
        _compare(res, loose, rtol)
    else:  # metafor stopped before the root (threshold 1e-12 absolute, tiny τ²)
        assert method == "REML"
        ll = log_likelihood(np.array([res.tau2, loose["tau2"]]), eff.yi, eff.vi[None, :])
        assert ll[0] >= ll[1] - 1e-12 * abs(ll[1])


def test_some_metafor_reml_fits_stop_before_the_root() -> None:
    """The fallback above is exercised: metafor's default-threshold REML is off the root."""
    off = [
        c["name"]
        for c in _ref()["fits"]
        if c["method"] == "REML"
        and abs(c["metafor"]["tau2"] - c["exact"]["tau2"]) > 1e-8 * c["exact"]["tau2"]
    ]
    assert off


# ------------------------------------------------------------------ behaviour
EVENTS = [0, 3, 0, 7]
TIME = [150.5, 220.0, 80.0, 310.0]
LABELS = ["A", "B", "C", "D"]


@pytest.mark.parametrize("scale", ["raw", "log"])
def test_zero_events_are_corrected_with_a_warning_naming_the_studies(scale: str) -> None:
    with pytest.warns(ZeroCellWarning, match=r"study 1 \('A'\); study 3 \('C'\)"):
        eff = mp.IncidenceRate(events=EVENTS, time=TIME, labels=LABELS, scale=scale)
    assert eff.corrected == (0, 2)
    assert eff.yi[0] == pytest.approx(math.log(0.5 / 150.5) if scale == "log" else 0.5 / 150.5)


@pytest.mark.parametrize("scale", ["sqrt", "freeman-tukey"])
def test_variance_stabilising_scales_need_no_correction(scale: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eff = mp.IncidenceRate(events=EVENTS, time=TIME, scale=scale)
    assert eff.corrected == ()
    np.testing.assert_allclose(eff.vi, 1 / (4 * np.array(TIME)), rtol=1e-15)


def test_two_group_zero_events_warn_and_drop00_excludes() -> None:
    args = {"events1": [0, 2, 0], "time1": [10, 20, 30], "events2": [0, 0, 4]}
    with pytest.warns(ZeroCellWarning, match=r"3 study\(ies\).*study 2 \('y'\)"):
        mp.RateRatio(**args, time2=[10, 20, 30], labels=["x", "y", "z"])
    with pytest.warns(mp.exceptions.ExcludedStudyWarning), pytest.warns(ZeroCellWarning):
        eff = mp.RateRatio(**args, time2=[10, 20, 30], double_zero="drop")
    assert [e.index for e in eff.excluded] == [0]
    assert eff.k == 2


def test_no_correction_makes_zero_events_an_error_naming_the_study() -> None:
    with pytest.raises(InvalidDataError, match=r"study 3 \('C'\) has no events"):
        mp.IncidenceRate(events=[2, 3, 0], time=[1, 2, 3], labels=["A", "B", "C"], continuity=0)
    with pytest.raises(InvalidDataError, match=r"study 1 \('a'\) has a group without events"):
        mp.RateRatio(
            events1=[0], time1=[5], events2=[2], time2=[5], labels=["a"], continuity_to="none"
        )


def test_the_difference_keeps_double_zero_studies_by_default() -> None:
    with pytest.warns(ZeroCellWarning):
        eff = mp.RateDifference(
            events1=[0, 1], time1=[10, 10], events2=[0, 2], time2=[10, 10], convention="revman5"
        )
    assert eff.k == 2 and eff.double_zero == "keep"


def test_escalc_refuses_what_rates_do_not_use() -> None:
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'drop00'"):
        mp.escalc("IR", xi=[1], ti=[2], drop00=True)
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'n1i'"):
        mp.escalc("IRR", x1i=[1], t1i=[2], x2i=[1], t2i=[2], n1i=[4])
    with pytest.raises(InvalidParameterError, match=r"'scale' parameter of IncidenceRate"):
        mp.IncidenceRate(events=[1], time=[2], scale="logit")
    assert {"IR", "IRLN", "IRS", "IRFT", "IRR", "IRD"} <= set(mp.effects.registered_measures())


def _instances() -> list[mp.EffectSet]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        single = [mp.IncidenceRate(events=EVENTS, time=TIME, scale=s) for s in ("raw", "log")]
        single += [mp.IncidenceRate(events=EVENTS, time=TIME, scale=s) for s in ("sqrt",)]
        single += [mp.IncidenceRate(events=EVENTS, time=TIME, scale="freeman-tukey")]
        pair = {"events1": [0, 2, 5], "time1": [10, 20, 30], "events2": [1, 0, 4]}
        two = [cls(**pair, time2=[12, 18, 33]) for cls in (mp.RateRatio, mp.RateDifference)]
    return single + two


@pytest.mark.parametrize("eff", _instances(), ids=lambda e: e.measure.code)
def test_effect_set_contract(eff: mp.EffectSet) -> None:
    check_effect_set(eff)
    assert json.dumps(eff.measure.to_dict())
    assert eff.measure.comparative == (eff.measure.code in ("IRR", "IRD"))


def test_subset_keeps_the_arm_data() -> None:
    eff = mp.RateRatio(events1=[1, 2, 5], time1=[10, 20, 30], events2=[1, 3, 4], time2=[9, 9, 9])
    sub = eff.subset([2, 0])
    assert sub.events1.tolist() == [5, 1] and sub.time2.tolist() == [9, 9]
    assert sub.measure == eff.measure


@pytest.mark.parametrize("scale", ["raw", "freeman-tukey"])
def test_forest_plot_of_a_single_group_rate_has_no_null_line(scale: str) -> None:
    from tests.plotting._helpers import by_prefix, plot_ax, texts

    eff = mp.IncidenceRate(events=[3, 5, 9, 4], time=[100, 120, 300, 90], scale=scale)
    fig = mp.forest_plot(mp.RandomEffects().fit(eff))
    ax = plot_ax(fig)
    assert not by_prefix(ax.lines, "null-line")
    assert "favours-experimental" not in texts(fig)
    plt.close(fig)


def test_forest_plot_of_a_rate_ratio_has_its_null_line_at_one() -> None:
    from tests.plotting._helpers import by_prefix, plot_ax

    eff = mp.RateRatio(
        events1=[9, 8, 3], time1=[413, 263, 487], events2=[19, 19, 13], time2=[398, 245, 435]
    )
    ax = plot_ax(mp.forest_plot(mp.RandomEffects().fit(eff)))
    (null,) = by_prefix(ax.lines, "null-line")
    assert null.get_xdata()[0] == 1.0 and ax.get_xscale() == "log"
    plt.close("all")


# ------------------------------------------------------------------ properties
rates = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
times = st.floats(min_value=1e-2, max_value=1e6, allow_nan=False)
reals = st.floats(min_value=-50.0, max_value=50.0, allow_nan=False)


@given(rates)
def test_sqrt_inverse_undoes_forward(r: float) -> None:
    assert float(SQRT.inverse(SQRT.forward(r))) == pytest.approx(r, rel=1e-12, abs=1e-300)


@given(rates, times)
def test_freeman_tukey_rate_inverse_undoes_forward(r: float, t: float) -> None:
    scale = FreemanTukeyRate(t)
    back = float(scale.inverse(scale.forward(r)))
    # forward loses precision when r << 1/t (sqrt(r + 1/t) rounds): allow that much
    assert back == pytest.approx(r, rel=1e-8, abs=1e-7 / t)


@given(rates, times)
def test_freeman_tukey_rate_matches_metafor_formula(r: float, t: float) -> None:
    """``transf.iirft``: (1/t - 8y² + 16ty⁴)/(16y²t), 0 below the transform of 0."""
    y = float(FreemanTukeyRate(t).forward(r))
    expected = (1 / t - 8 * y**2 + 16 * t * y**4) / (16 * y**2 * t)
    if y <= 0.5 / math.sqrt(t):
        expected = 0.0
    got = float(FreemanTukeyRate(t).inverse(y))
    assert got == pytest.approx(max(expected, 0.0), rel=1e-6, abs=1e-9 / t)


@pytest.mark.parametrize("scale", [SQRT, FreemanTukeyRate(250.0), mp.effects.LOG])
@given(low=reals, width=st.floats(min_value=0.0, max_value=20.0, allow_nan=False))
def test_back_transformed_intervals_are_ordered_and_nonnegative(
    scale: Any, low: float, width: float
) -> None:
    lo, hi = scale.inverse_interval(low, low + width)
    assert 0.0 <= float(lo) <= float(hi)


@given(
    events=st.lists(st.integers(min_value=0, max_value=500), min_size=2, max_size=8),
    data=st.data(),
)
def test_pooled_rate_and_its_interval_are_rates(events: list[int], data: Any) -> None:
    time = data.draw(st.lists(times, min_size=len(events), max_size=len(events)))
    scale = data.draw(st.sampled_from(["log", "sqrt", "freeman-tukey"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        eff = mp.IncidenceRate(events=events, time=time, scale=scale)
        res = mp.RandomEffects(tau2="DL").fit(eff)
    bt = res.back_transform()
    assert 0.0 <= bt.ci.low <= bt.estimate <= bt.ci.high
    assert bt.pi.low <= bt.ci.low and bt.ci.high <= bt.pi.high


def test_freeman_tukey_scale_of_an_effect_set_is_its_harmonic_mean_time() -> None:
    eff = mp.IncidenceRate(events=[1, 2], time=[100.0, 300.0], scale="freeman-tukey")
    assert eff.measure.scale == FreemanTukeyRate(150.0)
    assert attrs.evolve(eff.measure, scale=SQRT).scale.name == "sqrt"
    with pytest.raises(InvalidParameterError, match=r"'time' parameter of FreemanTukeyRate"):
        FreemanTukeyRate(0.0)
