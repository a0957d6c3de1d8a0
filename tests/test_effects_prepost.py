"""Ratio of means, SMDH and pre-post changes (metapool.effects.change) against metafor.

Reference: ``tests/reference/make_prepost.R`` (metafor 3.8.1, metadat 1.2.0) wrote
``prepost.json`` with full double precision: escalc() for ROM (vtype LS, HO, AV,
AVHO) and SMDH (LS, LS2) on ``dat.curtis1998`` and on generated data with boundary
values (n = 2, an SD of 0, tiny means), for MC, SMCC and SMCR (LS, LS2) on generated
pre-post data (r = -1, 0, 0.99, n = 3, no change, a change-score SD given directly),
and REML/DL fits with ``predict(..., transf=exp)`` for ROM.

Tolerances: yi/vi 1e-12 relative. They are closed forms; the only difference is
Hedges' correction J, which metafor computes with R's lgamma and metapool with
scipy's gammaln (observed differences < 2e-14). Pooled fits 1e-8 relative: REML is
iterated to a change < 1e-12 in τ² on both sides.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.effects._measure import LOG, MEASURES
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.testing import check_effect_set
from tests._reference import load_reference

REFERENCE = "prepost.json"
RTOL = 1e-12
FIT_RTOL = 1e-8

#: metafor's argument names -> metapool's, per measure (the documented mapping)
_TWO_GROUP = {
    "m1i": "mean1",
    "sd1i": "sd1",
    "n1i": "n1",
    "m2i": "mean2",
    "sd2i": "sd2",
    "n2i": "n2",
}
_PAIRED = {"m1i": "mean_post", "m2i": "mean_pre", "sd1i": "sd_post", "sd2i": "sd_pre", "ni": "n"}
_PAIRED_RAW = {**_PAIRED, "sd1i": "sd_pre", "sd2i": "sd_post"}


def _cases() -> list[dict[str, Any]]:
    return list(load_reference(REFERENCE)["cases"])


def _fits() -> list[dict[str, Any]]:
    return list(load_reference(REFERENCE)["fits"])


def _native(measure: str, args: dict[str, Any], vtype: str = "LS") -> mp.EffectSet:
    """The effect set built with metapool's own class and names (not through escalc)."""
    if measure in ("ROM", "SMDH"):
        cls = mp.RatioOfMeans if measure == "ROM" else mp.SMDH
        return cls(**{_TWO_GROUP[k]: v for k, v in args.items()}, variance=vtype)
    names = _PAIRED_RAW if measure == "SMCR" else _PAIRED
    kwargs = {names.get(k, "r"): v for k, v in args.items()}
    if measure == "MC":
        return mp.MeanChange(**kwargs)
    standardizer = "raw" if measure == "SMCR" else "change"
    return mp.StandardizedMeanChange(**kwargs, standardizer=standardizer, variance=vtype)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    options = case["options"] or {}  # an empty R list is written as []
    eff = mp.escalc(case["measure"], **case["args"], **options)
    assert eff.measure.code == case["measure"]
    np.testing.assert_allclose(eff.yi, case["yi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(eff.vi, case["vi"], rtol=RTOL, atol=1e-15)
    check_effect_set(eff)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_classes_with_metapool_names_equal_escalc(case: dict[str, Any]) -> None:
    options = case["options"] or {}
    via = mp.escalc(case["measure"], **case["args"], **options)
    eff = _native(case["measure"], case["args"], options.get("vtype", "LS"))
    assert type(eff) is type(via) and eff.measure is via.measure
    np.testing.assert_array_equal(eff.yi, via.yi)
    np.testing.assert_array_equal(eff.vi, via.vi)


@pytest.mark.parametrize("fit", _fits(), ids=lambda f: f["name"])
def test_pooled_fits_match_metafor(fit: dict[str, Any]) -> None:
    eff = _native(fit["measure"], fit["args"])
    res = mp.RandomEffects(tau2=fit["method"]).fit(eff)
    assert res.tau2 == pytest.approx(fit["tau2"], rel=FIT_RTOL, abs=1e-12)
    assert res.estimate == pytest.approx(fit["estimate"], rel=FIT_RTOL)
    bt = res.back_transform()
    got = [bt.estimate, bt.ci.low, bt.ci.high, bt.pi.low, bt.pi.high]
    want = [fit["pred"], fit["ci_lb"], fit["ci_ub"], fit["pi_lb"], fit["pi_ub"]]
    np.testing.assert_allclose(got, want, rtol=FIT_RTOL)


def test_measures_scales_and_null_values() -> None:
    want = {
        "ROM": ("log", 1.0, "two-arm means"),
        "SMDH": ("identity", 0.0, "two-arm means"),
        "MC": ("identity", None, "paired means"),
        "SMCC": ("identity", None, "paired means"),
        "SMCR": ("identity", None, "paired means"),
    }
    got = {c: (MEASURES[c].scale.name, MEASURES[c].null, MEASURES[c].arms) for c in want}
    assert got == want
    assert not MEASURES["MC"].comparative and MEASURES["ROM"].comparative
    # a generic effect declared as ROM on the log scale takes the built-in's name
    gen = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.01, 0.02], measure="ROM", log_scale=True)
    assert (gen.measure.name, gen.measure.title, gen.measure.null) == (
        "ratio of means (log)",
        "Ratio of Means",
        1.0,
    )


def test_data_frames_labels_arm_data_and_serialisation() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "study": ["A", "B"],
            "post": [12.0, 8.0],
            "pre": [10.0, 9.0],
            "sdpost": [3.0, 2.0],
            "sdpre": [2.5, 2.0],
            "n": [20, 30],
            "r": [0.6, 0.4],
        }
    )
    common = dict(mean_post="post", mean_pre="pre", sd_pre="sdpre", n="n", r="r", labels="study")
    smc = mp.StandardizedMeanChange(**common, sd_post="sdpost", data=df)
    assert smc.labels == ("A", "B") and smc.measure.code == "SMCC"
    assert list(smc.arm_data()) == ["mean_post", "mean_pre", "sd_post", "sd_pre", "n", "r"]
    raw = mp.StandardizedMeanChange(**common, standardizer="raw", data=df)
    assert raw.measure.code == "SMCR" and "sd_post" not in raw.arm_data()
    assert raw.sd_post is None and raw.subset([1]).sd_post is None
    mc = mp.MeanChange(**common, sd_post="sdpost", data=df)
    for eff in (smc, raw, mc):
        json.dumps(eff.to_dict())
        check_effect_set(eff)
        assert eff.subset([1]).labels == ("B",)


def test_average_cv_variances_are_kept_by_subset() -> None:
    args = dict(mean1=[6.0, 5, 7], sd1=[2.0, 1, 2], n1=[10, 12, 20])
    args |= dict(mean2=[4.0, 5, 5], sd2=[1.0, 1, 2], n2=[10, 12, 20])
    av = mp.RatioOfMeans(**args, variance="AV")
    cv1 = np.average([2 / 6, 1 / 5, 2 / 7], weights=[10, 12, 20])
    cv2 = np.average([1 / 4, 1 / 5, 2 / 5], weights=[10, 12, 20])
    n = np.array([10.0, 12, 20])
    np.testing.assert_allclose(av.vi, cv1**2 / n + cv2**2 / n, rtol=1e-14)
    np.testing.assert_array_equal(av.subset([2]).vi, av.vi[2:])
    check_effect_set(av)


def test_bad_settings_are_refused() -> None:
    two = dict(mean1=[5.0], sd1=[1.0], n1=[10], mean2=[4.0], sd2=[1.0], n2=[10])
    with pytest.raises(InvalidParameterError, match=r"'variance' parameter of SMDH.*'HO'"):
        mp.SMDH(**two, variance="HO")
    with pytest.raises(InvalidParameterError, match=r"'vtype' parameter of escalc\('ROM'\)"):
        mp.escalc("ROM", m1i=[5], sd1i=[1], n1i=[10], m2i=[4], sd2i=[1], n2i=[10], vtype="UB")
    with pytest.raises(InvalidParameterError, match=r"'vtype' parameter of escalc\('MC'\)"):
        mp.escalc("MC", m1i=[5], m2i=[4], sd1i=[1], sd2i=[1], ni=[10], ri=[0.5], vtype="LS2")
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'n1i'"):
        mp.escalc("SMCC", m1i=[5], m2i=[4], sd1i=[1], sd2i=[1], ni=[10], ri=[0.5], n1i=[3])
    paired = dict(mean_post=[5.0], mean_pre=[4.0], sd_pre=[1.0], n=[10], r=[0.5])
    with pytest.raises(InvalidParameterError, match=r"needs 'sd_post'.*sd_post=None"):
        mp.StandardizedMeanChange(**paired)
    with pytest.raises(InvalidParameterError, match=r"'standardizer' parameter.*'pre'"):
        mp.StandardizedMeanChange(**paired, sd_post=[1.0], standardizer="pre")


@pytest.mark.parametrize(
    ("cls", "kwargs", "fragments"),
    [
        ("RatioOfMeans", {"mean2": [4.0, -1.0]}, ("'mean2'", "study 2 ('b')", "-1", "> 0")),
        ("RatioOfMeans", {"mean1": [0.0, 5.0]}, ("'mean1'", "study 1 ('a')", "0", "> 0")),
        ("SMDH", {"sd1": [1.0, -2.0]}, ("'sd1'", "study 2 ('b')", "-2", ">= 0")),
        ("SMDH", {"n2": [1, 10]}, ("'n2'", "study 1 ('a')", "1", ">= 2")),
        ("MeanChange", {"r": [0.5, 1.2]}, ("'r'", "study 2 ('b')", "1.2", "[-1, 1]")),
        ("MeanChange", {"n": [1, 10]}, ("'n'", "study 1 ('a')", "1", ">= 2")),
        ("StandardizedMeanChange", {"n": [10, 2]}, ("'n'", "study 2 ('b')", "2", ">= 3")),
    ],
)
def test_bad_values_name_parameter_study_and_value(
    cls: str, kwargs: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    if cls in ("RatioOfMeans", "SMDH"):
        base: dict[str, Any] = dict(mean1=[5.0, 6.0], sd1=[1.0, 2.0], n1=[10, 12])
        base |= dict(mean2=[4.0, 5.0], sd2=[1.0, 1.5], n2=[10, 12])
    else:
        base = dict(mean_post=[5.0, 6.0], mean_pre=[4.0, 5.5], sd_post=[1.0, 2.0])
        base |= dict(sd_pre=[1.0, 1.5], n=[10, 12], r=[0.5, 0.3])
    with pytest.raises(InvalidDataError) as info:
        getattr(mp, cls)(**(base | kwargs), labels=["a", "b"])
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("code", ["ROM", "SMDH", "MC", "SMCC", "SMCR"])
def test_forest_plot_draws(code: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if code in ("ROM", "SMDH"):
        args: dict[str, Any] = dict(m1i=[6.0, 5, 7], sd1i=[2.0, 1, 2], n1i=[10, 12, 20])
        args |= dict(m2i=[4.0, 5, 5], sd2i=[1.0, 1, 2], n2i=[10, 12, 20])
    else:
        args = dict(m1i=[12.0, 11, 13], m2i=[10.0, 10, 10], sd1i=[3.0, 3, 4])
        args |= dict(sd2i=[2.0, 2, 3], ni=[25, 30, 40], ri=[0.5, 0.6, 0.4])
    eff = mp.escalc(code, **args, slab=["A", "B", "C"])
    fig = mp.forest_plot(mp.RandomEffects(tau2="REML").fit(eff))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert eff.measure.title in texts
    favours = any("Favours" in t for t in texts)
    assert favours is eff.measure.comparative
    if code == "ROM":
        assert "log" in [ax.get_xscale() for ax in fig.axes]
    plt.close(fig)


# --------------------------------------------------------------------------- properties
_POS = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)
_SD = st.floats(min_value=1e-2, max_value=1e3, allow_nan=False)
_N = st.integers(min_value=3, max_value=500)
_R = st.floats(min_value=-0.95, max_value=0.95, allow_nan=False)


@given(x=_POS)
def test_log_scale_forward_and_inverse_are_inverses(x: float) -> None:
    assert float(LOG.inverse(LOG.forward(x))) == pytest.approx(x, rel=1e-14)


_CV = st.floats(min_value=1e-2, max_value=3.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(arms=st.lists(st.tuples(_POS, _CV, _N, _POS, _CV, _N), min_size=2, max_size=8))
def test_ratio_of_means_back_transform_is_the_exp_image_of_the_log_interval(
    arms: list[tuple[float, float, int, float, float, int]],
) -> None:
    # SDs drawn as coefficients of variation (ratio-scale data), so that exp() is finite
    m1, cv1, n1, m2, cv2, n2 = (np.array(c, dtype=float) for c in zip(*arms, strict=True))
    s1, s2 = cv1 * m1, cv2 * m2
    eff = mp.RatioOfMeans(mean1=m1, sd1=s1, n1=n1, mean2=m2, sd2=s2, n2=n2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        res = mp.RandomEffects(tau2="DL").fit(eff)
    bt = res.back_transform()
    assert bt.estimate == pytest.approx(math.exp(res.estimate), rel=1e-14)
    assert bt.ci.low == pytest.approx(math.exp(res.ci.low), rel=1e-14)
    assert bt.ci.high == pytest.approx(math.exp(res.ci.high), rel=1e-14)
    for low, est, high in (
        (bt.ci.low, bt.estimate, bt.ci.high),
        (bt.pi.low, bt.estimate, bt.pi.high),
    ):
        assert 0.0 <= low <= est <= high


@settings(max_examples=80, deadline=None)
@given(m1=_POS, m2=_POS, s1=_SD, s2=_SD, n1=_N, n2=_N, c=st.floats(1e-3, 1e3))
def test_two_group_measures_do_not_depend_on_units(
    m1: float, m2: float, s1: float, s2: float, n1: int, n2: int, c: float
) -> None:
    for cls in (mp.RatioOfMeans, mp.SMDH):
        a = cls(mean1=[m1], sd1=[s1], n1=[n1], mean2=[m2], sd2=[s2], n2=[n2])
        b = cls(mean1=[c * m1], sd1=[c * s1], n1=[n1], mean2=[c * m2], sd2=[c * s2], n2=[n2])
        np.testing.assert_allclose(b.yi, a.yi, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b.vi, a.vi, rtol=1e-9)
        # swapping the groups negates the effect (log ratio, SMDH) and keeps the variance
        s = cls(mean1=[m2], sd1=[s2], n1=[n2], mean2=[m1], sd2=[s1], n2=[n1])
        np.testing.assert_allclose(s.yi, -a.yi, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.vi, a.vi, rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(post=_POS, pre=_POS, s1=_SD, s2=_SD, n=_N, r=_R, c=st.floats(1e-3, 1e3))
def test_standardised_changes_do_not_depend_on_units_and_mean_change_scales(
    post: float, pre: float, s1: float, s2: float, n: int, r: float, c: float
) -> None:
    base = dict(mean_post=[post], mean_pre=[pre], sd_post=[s1], sd_pre=[s2], n=[n], r=[r])
    scaled = dict(base, mean_post=[c * post], mean_pre=[c * pre], sd_post=[c * s1])
    scaled["sd_pre"] = [c * s2]
    for standardizer in ("change", "raw"):
        a = mp.StandardizedMeanChange(**base, standardizer=standardizer)
        b = mp.StandardizedMeanChange(**scaled, standardizer=standardizer)
        np.testing.assert_allclose(b.yi, a.yi, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b.vi, a.vi, rtol=1e-9)
    mc, mc_scaled = mp.MeanChange(**base), mp.MeanChange(**scaled)
    np.testing.assert_allclose(mc_scaled.yi, c * mc.yi, rtol=1e-9, atol=1e-9 * c * (post + pre))
    np.testing.assert_allclose(mc_scaled.vi, c * c * mc.vi, rtol=1e-9)
    # the change-score SD is symmetric in the occasions: swapping negates MC and SMCC
    swapped = dict(base, mean_post=[pre], mean_pre=[post], sd_post=[s2], sd_pre=[s1])
    np.testing.assert_allclose(mp.MeanChange(**swapped).yi, -mc.yi, rtol=1e-12, atol=0)
    smcc, smcc_swapped = (mp.StandardizedMeanChange(**x) for x in (base, swapped))
    np.testing.assert_allclose(smcc_swapped.yi, -smcc.yi, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(smcc_swapped.vi, smcc.vi, rtol=1e-12)


def test_stored_init_does_not_recompute() -> None:
    eff = mp.MeanChange(
        mean_post=[2.0, 3.0],
        mean_pre=[1.0, 1.0],
        sd_post=[1.0, 1.0],
        sd_pre=[1.0, 1.0],
        n=[10, 10],
        r=[0.5, 0.5],
    )
    relabelled = attrs.evolve(eff, labels=("x", "y"))
    assert relabelled.labels == ("x", "y")
    np.testing.assert_array_equal(relabelled.vi, eff.vi)
