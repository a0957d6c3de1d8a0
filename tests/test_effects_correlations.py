"""Correlations (metapool.effects.correlation) against metafor and a high-precision series.

Reference: ``tests/reference/make_correlations.R`` (metafor 3.8.1, gsl 2.1-8) wrote
``correlations.json`` with full double precision: escalc() for COR, UCOR, ZCOR on
``dat.molloy2014`` and generated data, and REML/DL fits with ``predict(...,
transf=transf.ztor)`` for ZCOR.

Tolerances: yi/vi 1e-12 relative (the same closed forms, or scipy's hyp2f1, which is
accurate to a few ulp in this range, against gsl's). metafor's UCOR calls
``gsl::hyperg_2F1``, which is inaccurate (up to 2e-3) for even n from 8 to 22 and
|r| <= 0.06, and whose few-ulp errors are amplified by the cancellation in the UB
variance ``yi² - 1 + ...``: for those cases both metafor and metapool are compared with
an independent 40-digit power series (``_series_2f1`` below), not with a looser
tolerance. Pooled fits 1e-8 relative: REML is iterated to a change < 1e-12 in τ².
"""

from __future__ import annotations

import json
import math
import warnings
from decimal import Decimal, getcontext
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.effects._measure import FISHER_Z
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.testing import check_effect_set
from tests._reference import load_reference

REFERENCE = "correlations.json"
RTOL = 1e-12
FIT_RTOL = 1e-8
#: where metafor's UCOR (gsl's 2F1) is not accurate to 1e-12: checked against the series
HIGH_PRECISION_CASES = {"gsl_inaccurate_UCOR", "gsl_inaccurate_UCOR_UB", "molloy_UCOR_UB"}


def _cases() -> list[dict[str, Any]]:
    return list(load_reference(REFERENCE)["cases"])


def _fits() -> list[dict[str, Any]]:
    return list(load_reference(REFERENCE)["fits"])


def _series_2f1(a: str, b: str, c: Decimal, x: Decimal) -> Decimal:
    """Gauss's 2F1 by its power series in 40-digit decimal arithmetic (independent of
    scipy and gsl); all terms are positive for 0 <= x < 1."""
    getcontext().prec = 40
    da, db = Decimal(a), Decimal(b)
    term = total = Decimal(1)
    k = 0
    while True:
        term = term * (da + k) * (db + k) / ((c + k) * (k + 1)) * x
        total += term
        k += 1
        if term < Decimal("1e-32") * total:
            return total


def _high_precision(r: float, n: float, variance: str) -> tuple[float, float]:
    """UCOR's yi and vi (LS or UB) from the decimal series, r taken as the exact double."""
    getcontext().prec = 40
    dr, dn = Decimal(r), Decimal(n)
    x = 1 - dr * dr
    yi = dr * _series_2f1("0.5", "0.5", (dn - 2) / 2, x)
    if variance == "LS":
        vi = (1 - yi * yi) ** 2 / (dn - 1)
    else:
        f11 = _series_2f1("1", "1", dn / 2, x)
        vi = yi * yi - (1 - (dn - 3) / (dn - 2) * x * f11)
    return float(yi), float(vi)


@pytest.mark.parametrize(
    "case", [c for c in _cases() if c["name"] not in HIGH_PRECISION_CASES], ids=lambda c: c["name"]
)
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    options = case["options"] or {}  # an empty R list is written as []
    eff = mp.escalc(case["measure"], **case["args"], **options)
    assert eff.measure.code == case["measure"]
    np.testing.assert_allclose(eff.yi, case["yi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(eff.vi, case["vi"], rtol=RTOL, atol=1e-15)
    check_effect_set(eff)


@pytest.mark.parametrize(
    "case", [c for c in _cases() if c["name"] in HIGH_PRECISION_CASES], ids=lambda c: c["name"]
)
def test_unbiased_correlation_matches_a_high_precision_series(case: dict[str, Any]) -> None:
    variance = (case["options"] or {}).get("vtype", "LS")
    eff = mp.escalc("UCOR", **case["args"], vtype=variance)
    ref = [_high_precision(r, n, variance) for r, n in zip(*case["args"].values(), strict=True)]
    np.testing.assert_allclose(eff.yi, [y for y, _ in ref], rtol=RTOL)
    np.testing.assert_allclose(
        eff.vi, [v for _, v in ref], rtol=1e-11 if variance == "UB" else RTOL
    )
    # and metafor is what is inaccurate: it misses the series by more than metapool does
    metafor_err = np.max(np.abs(np.asarray(case["vi"]) - [v for _, v in ref]))
    assert metafor_err > np.max(np.abs(eff.vi - [v for _, v in ref]))


def test_large_n_where_scipy_hyp2f1_returns_nan_uses_the_series() -> None:
    eff = mp.Correlation(r=[0.02, -0.2, 0.0], n=[400, 5000, 1000], scale="unbiased")
    for got, r, n in zip(eff.yi, (0.02, -0.2, 0.0), (400, 5000, 1000), strict=True):
        assert got == pytest.approx(_high_precision(r, n, "LS")[0], rel=RTOL, abs=1e-300)
    ub = mp.Correlation(r=[0.02, 0.0], n=[400, 1000], scale="unbiased", variance="UB")
    np.testing.assert_allclose(ub.vi, [_high_precision(0.02, 400, "UB")[1], 1 / 996], rtol=1e-11)


@pytest.mark.parametrize("fit", _fits(), ids=lambda f: f["name"])
def test_pooled_fits_match_metafor(fit: dict[str, Any]) -> None:
    scale = {"COR": "raw", "UCOR": "unbiased", "ZCOR": "fisher-z"}[fit["measure"]]
    eff = mp.Correlation(r=fit["args"]["ri"], n=fit["args"]["ni"], scale=scale)
    res = mp.RandomEffects(tau2=fit["method"]).fit(eff)
    assert res.tau2 == pytest.approx(fit["tau2"], rel=FIT_RTOL, abs=1e-12)
    assert res.estimate == pytest.approx(fit["estimate"], rel=FIT_RTOL)
    bt = res.back_transform()
    got = [bt.estimate, bt.ci.low, bt.ci.high, bt.pi.low, bt.pi.high]
    want = [fit["pred"], fit["ci_lb"], fit["ci_ub"], fit["pi_lb"], fit["pi_ub"]]
    np.testing.assert_allclose(got, want, rtol=FIT_RTOL)


def test_constructor_equals_escalc_and_keeps_the_data() -> None:
    r, n = [0.5, -0.2, 0.1], [20, 35, 50]
    for scale, code in (("raw", "COR"), ("unbiased", "UCOR"), ("fisher-z", "ZCOR")):
        eff = mp.Correlation(r=r, n=n, scale=scale, labels=["a", "b", "c"])
        via = mp.escalc(code, ri=r, ni=n)
        np.testing.assert_array_equal(eff.yi, via.yi)
        np.testing.assert_array_equal(eff.vi, via.vi)
        assert eff.measure.null is None and eff.measure.arms == "correlation"
        assert eff.arm_data() == {"r": eff.r, "n": eff.n}
        json.dumps(eff.to_dict())
        check_effect_set(eff)
    assert mp.Correlation(r=r, n=n).measure.scale == FISHER_Z


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'scale' parameter of Correlation.*'z'"):
        mp.Correlation(r=[0.1], n=[10], scale="z")
    with pytest.raises(InvalidParameterError, match=r"'UB' only with scale='unbiased'"):
        mp.Correlation(r=[0.1], n=[10], scale="raw", variance="UB")
    with pytest.raises(InvalidParameterError, match=r"must be 'LS' with scale='fisher-z'"):
        mp.Correlation(r=[0.1], n=[10], variance="AV")
    with pytest.raises(InvalidParameterError, match=r"'vtype' parameter of escalc\('ZCOR'\)"):
        mp.escalc("ZCOR", ri=[0.1], ni=[10], vtype="UB")
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'n1i'"):
        mp.escalc("COR", ri=[0.1], ni=[10], n1i=[3])


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"r": [0.2, 1.0]}, ("'r'", "study 2 ('b')", "1", "(-1, 1)")),
        ({"r": [-1.5, 0.1]}, ("'r'", "study 1 ('a')", "-1.5")),
        ({"n": [3, 10]}, ("'n'", "study 1 ('a')", "3", "> 3")),
        ({"n": [10, 4], "scale": "unbiased"}, ("'n'", "study 2 ('b')", "4", "> 4")),
    ],
)
def test_bad_values_name_parameter_study_and_value(
    kwargs: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    args: dict[str, Any] = {"r": [0.2, 0.3], "n": [10, 20], "labels": ["a", "b"], **kwargs}
    with pytest.raises(InvalidDataError) as info:
        mp.Correlation(**args)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_forest_plot_draws_without_null_line() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eff = mp.Correlation(r=[0.5, 0.3, 0.1], n=[23, 53, 40], labels=["A", "B", "C"])
    fig = mp.forest_plot(mp.RandomEffects(tau2="REML").fit(eff))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not any("Favours" in t or "favours" in t for t in texts)
    plt.close(fig)


# --------------------------------------------------------------------------- properties
_R = st.floats(min_value=-0.999, max_value=0.999, allow_nan=False)


@given(r=_R)
def test_fisher_z_forward_and_inverse_are_inverses(r: float) -> None:
    assert float(FISHER_Z.inverse(FISHER_Z.forward(r))) == pytest.approx(r, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    rs=st.lists(_R, min_size=2, max_size=8),
    n=st.integers(min_value=5, max_value=500),
)
def test_back_transformed_intervals_are_monotone_images_within_minus_one_one(
    rs: list[float], n: int
) -> None:
    eff = mp.Correlation(r=rs, n=[n + i for i in range(len(rs))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        res = mp.RandomEffects(tau2="DL").fit(eff)
    bt = res.back_transform()
    assert bt.ci.low == pytest.approx(math.tanh(res.ci.low), abs=1e-15)
    assert bt.ci.high == pytest.approx(math.tanh(res.ci.high), abs=1e-15)
    for low, est, high in (
        (bt.ci.low, bt.estimate, bt.ci.high),
        (bt.pi.low, bt.estimate, bt.pi.high),
    ):
        assert -1.0 <= low <= est <= high <= 1.0


@settings(max_examples=60, deadline=None)
@given(r=_R, n=st.floats(min_value=4.5, max_value=5000))
def test_unbiased_correlation_is_odd_and_moves_away_from_zero(r: float, n: float) -> None:
    from metapool.effects.correlation import unbiased_correlation

    g = float(unbiased_correlation(r, n))
    assert float(unbiased_correlation(-r, n)) == -g
    assert abs(g) >= abs(r) and abs(g) <= 1.0 + 1e-12
