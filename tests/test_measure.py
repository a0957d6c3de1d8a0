"""Measures and their scales (``metapool.effects._measure``).

Reference values from R 4.2.2 with metafor 3.8.1 (``escalc(measure="PFT")``,
``transf.ipft.hm``, ``transf.ilogit``, ``transf.iarcsin``, ``transf.ztor``),
printed with ``sprintf("%.17g")``; the calls are in the comments. Tolerance
1e-14 relative: the same closed forms, evaluated with different rounding.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import metapool as mp
from metapool.effects import (
    ARCSINE,
    FISHER_Z,
    IDENTITY,
    LOG,
    LOGIT,
    MEASURES,
    FreemanTukey,
    Measure,
)
from metapool.effects._measure import generic_measure, get_scale
from metapool.exceptions import InvalidParameterError

RTOL = 1e-14


def test_freeman_tukey_forward_matches_escalc_pft() -> None:
    # escalc(measure="PFT", xi=c(0, 3, 10, 25), ni=c(20, 30, 40, 50))$yi
    expected = [0.10999398869772971, 0.34187845256453386, 0.5305023176708531, 0.78539816339744828]
    xi, ni = np.array([0, 3, 10, 25]), np.array([20, 30, 40, 50])
    got = [float(FreemanTukey(n).forward(x / n)) for x, n in zip(xi, ni, strict=True)]
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_freeman_tukey_inverse_with_the_harmonic_mean_matches_transf_ipft_hm() -> None:
    # transf.ipft.hm(c(-0.2, 0.1, 0.5, 0.9, 1.2, 1.55), targs=list(ni=c(20, 30, 40, 50)))
    expected = [0, 0.00047442322033963702, 0.22137182045202181, 0.61718599936556351,
                0.88012269133432586, 1]  # fmt: skip
    harmonic = 1 / np.mean(1 / np.array([20, 30, 40, 50]))  # 31.168831168831172 in R
    got = FreemanTukey(harmonic).inverse([-0.2, 0.1, 0.5, 0.9, 1.2, 1.55])
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-300)


@pytest.mark.parametrize(
    ("scale", "y", "expected"),
    [
        # transf.ilogit(c(-2, 0, 1.5))
        (LOGIT, [-2, 0, 1.5], [0.11920292202211755, 0.5, 0.81757447619364365]),
        # transf.iarcsin(c(0.1, 0.7, 1.4))
        (
            ARCSINE,
            [0.1, 0.7, 1.4],
            [0.0099667110793791851, 0.41501642854987947, 0.97111117033432903],
        ),
        # transf.ztor(c(-1, 0.3, 2))
        (FISHER_Z, [-1, 0.3, 2], [-0.76159415595576485, 0.2913126124515909, 0.9640275800758169]),
        (LOG, [-1, 0, 2], list(np.exp([-1.0, 0.0, 2.0]))),
        (IDENTITY, [-1, 0, 2], [-1, 0, 2]),
    ],
)
def test_inverse_transforms_match_metafor(scale, y, expected) -> None:
    np.testing.assert_allclose(scale.inverse(y), expected, rtol=RTOL)


@given(p=st.floats(1e-6, 1 - 1e-6))
def test_proportion_scales_invert(p: float) -> None:
    for scale in (LOGIT, ARCSINE):
        assert float(scale.inverse(scale.forward(p))) == pytest.approx(p, rel=1e-9)


@given(r=st.floats(-0.999, 0.999), x=st.floats(1e-3, 1e3))
def test_fisher_z_and_log_invert(r: float, x: float) -> None:
    assert float(FISHER_Z.inverse(FISHER_Z.forward(r))) == pytest.approx(r, rel=1e-9, abs=1e-15)
    assert float(LOG.inverse(LOG.forward(x))) == pytest.approx(x, rel=1e-12)


@given(events=st.integers(0, 200), extra=st.integers(0, 200))
def test_freeman_tukey_inverts_exactly_at_its_own_n(events: int, extra: int) -> None:
    # with a single n the harmonic mean is n itself and the inverse is exact (Miller 1978)
    n = events + extra + 1
    scale = FreemanTukey(n)
    assert float(scale.inverse(scale.forward(events / n))) == pytest.approx(events / n, abs=1e-9)


def test_built_in_measures() -> None:
    expected = {
        "MD": ("identity", 0.0),
        "COR": ("identity", None),
        "UCOR": ("identity", None),
        "ZCOR": ("fisher-z", None),
        "SMD": ("identity", 0.0),
        "RR": ("log", 1.0),
        "OR": ("log", 1.0),
        "RD": ("identity", 0.0),
        "GEN": ("identity", 0.0),
        "PR": ("identity", None),
        "PLN": ("log", None),
        "PLO": ("logit", None),
        "PAS": ("arcsine", None),
        "PFT": ("freeman-tukey", None),
        "IR": ("identity", None),
        "IRLN": ("log", None),
        "IRS": ("sqrt", None),
        "IRFT": ("freeman-tukey-rate", None),
        "IRR": ("log", 1.0),
        "IRD": ("identity", 0.0),
        "ROM": ("log", 1.0),
        "SMDH": ("identity", 0.0),
        "MC": ("identity", None),
        "SMCC": ("identity", None),
        "SMCR": ("identity", None),
    }
    # each family adds its own measures; these are checked here
    assert {m: (str(MEASURES[m].scale), MEASURES[m].null) for m in expected} == expected
    assert MEASURES["RR"].scale.axis == "log" and MEASURES["MD"].scale.axis == "linear"


def test_generic_measures_take_names_and_null_values_from_their_scale() -> None:
    hr = generic_measure("HR", LOG)
    assert (hr.name, hr.title, hr.null, hr.comparative) == (
        "hazard ratio",
        "Hazard Ratio",
        1.0,
        True,
    )
    assert generic_measure("logHR", LOG).title == "HR"
    prop = generic_measure("PLO", LOGIT)
    assert prop.null is None and not prop.comparative
    rr = generic_measure("RR", "log")
    assert (rr.name, rr.title, rr.arms) == ("risk ratio", "Risk Ratio", "generic")


def test_effect_sets_carry_their_measure() -> None:
    rr = mp.RiskRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
    assert rr.measure is MEASURES["RR"] and str(rr.measure) == "RR"
    gen = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.1, 0.1], measure="HR", log_scale=True)
    assert gen.measure.scale is LOG and gen.measure.name == "hazard ratio"
    given = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.1, 0.1], measure=MEASURES["OR"])
    assert given.measure is MEASURES["OR"]
    with pytest.raises(InvalidParameterError, match="'log_scale' only with a measure code"):
        mp.GenericEffect(yi=[0.1], vi=[0.1], measure=MEASURES["OR"], log_scale=True)


def test_back_transform_asks_the_measure() -> None:
    # a Fisher-z measure: the pooled z and its CI come back as correlations
    corr = Measure(code="ZCOR", name="Fisher's z", title="Correlation", scale=FISHER_Z, null=None)
    eff = mp.GenericEffect(yi=[0.2, 0.4, 0.3], vi=[0.01, 0.02, 0.015], measure=corr)
    res = mp.CommonEffect().fit(eff)
    bt = res.back_transform()
    assert bt.estimate == pytest.approx(np.tanh(res.estimate), rel=1e-15)
    assert bt.ci.low == pytest.approx(np.tanh(res.ci.low), rel=1e-15)
    assert "fisher-z scale" in res.summary()
    data = res.to_dict()
    assert (data["measure"], data["scale"]) == ("ZCOR", "fisher-z")
    json.dumps(data)


def test_scale_by_name_and_bad_names() -> None:
    assert get_scale("LOG") is LOG and get_scale(LOGIT) is LOGIT
    with pytest.raises(InvalidParameterError, match=r"'scale'.*'probit'"):
        get_scale("probit")
    with pytest.raises(InvalidParameterError, match="'n' parameter of FreemanTukey"):
        FreemanTukey(0)
