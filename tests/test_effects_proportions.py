"""Single-arm proportions (``mp.Proportion``, metafor's PR, PLN, PLO, PAS, PFT).

Reference: ``tests/reference/make_proportions.R`` (metafor 3.8.1) wrote
``proportions.json`` with full double precision: escalc() on metadat's
``dat.pritz1997`` and on generated data with studies that have no events or only
events, and REML/DL fits back-transformed with ``predict(..., transf=...)``.

Tolerances: yi/vi are the same closed forms evaluated in a different order, so
1e-12 relative. DL is closed form too (1e-10 relative: a sum of k weighted terms and
a back-transform). REML is iterative; metafor stops when the change in τ² is below
1e-12 and metapool solves to its own tolerance, so estimates agree to ~1e-10 and we
allow 1e-8 relative (atol 1e-10 for values at 0, e.g. a back-transformed bound
clipped to 0).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.effects import FreemanTukey
from metapool.effects._measure import MEASURES
from metapool.exceptions import InvalidDataError, InvalidParameterError, ZeroCellWarning
from metapool.testing import check_effect_set
from tests._reference import load_reference
from tests.plotting._helpers import plot_ax, texts

PROPORTIONS = "proportions.json"
RTOL = 1e-12
CODES = ("PR", "PLN", "PLO", "PAS", "PFT")
SCALES = {"PR": "raw", "PLN": "log", "PLO": "logit", "PAS": "arcsine", "PFT": "freeman-tukey"}


def _ref() -> dict[str, Any]:
    return load_reference(PROPORTIONS)


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("case", _ref()["escalc"], ids=lambda c: c["name"])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    options = case["options"] or {}  # an empty R list is written as []
    eff = _quiet(mp.escalc, case["measure"], **case["args"], **options)
    assert eff.measure.code == case["measure"]
    np.testing.assert_allclose(eff.yi, case["yi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(eff.vi, case["vi"], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("dataset", ["pritz1997", "generated"])
def test_class_with_default_settings_matches_escalc(dataset: str, code: str) -> None:
    data = _ref()["datasets"][dataset]
    case = next(c for c in _ref()["escalc"] if c["name"] == f"{dataset}_{code}")
    eff = _quiet(mp.Proportion, events=data["xi"], n=data["ni"], scale=SCALES[code])
    np.testing.assert_allclose(eff.yi, case["yi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(eff.vi, case["vi"], rtol=RTOL, atol=1e-15)
    same = _quiet(mp.Proportion, events=data["xi"], n=data["ni"], scale=code)
    np.testing.assert_array_equal(same.yi, eff.yi)


@pytest.mark.parametrize("fit", _ref()["fits"], ids=lambda f: f["name"])
def test_pooled_back_transform_matches_metafor(fit: dict[str, Any]) -> None:
    data = _ref()["datasets"][fit["dataset"]]
    eff = _quiet(mp.Proportion, events=data["xi"], n=data["ni"], scale=SCALES[fit["measure"]])
    res = mp.RandomEffects(tau2=fit["method"]).fit(eff)
    rtol = 1e-8 if fit["method"] == "REML" else 1e-10
    np.testing.assert_allclose(res.tau2, fit["tau2"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(res.estimate, fit["estimate_analysis"], rtol=rtol)
    bt = res.back_transform()
    got = [bt.estimate, bt.ci.low, bt.ci.high, bt.pi.low, bt.pi.high]
    want = [fit["estimate"], fit["ci_lb"], fit["ci_ub"], fit["pi_lb"], fit["pi_ub"]]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-10)


def test_freeman_tukey_set_holds_the_harmonic_mean_n() -> None:
    eff = mp.Proportion(events=[1, 5, 30], n=[10, 20, 300], scale="freeman-tukey")
    assert isinstance(eff.measure.scale, FreemanTukey)
    assert eff.measure.scale.n == pytest.approx(3 / (1 / 10 + 1 / 20 + 1 / 300), rel=1e-14)
    assert eff.measure.to_dict()["scale_n"] == pytest.approx(eff.measure.scale.n)
    assert eff.subset([0, 1]).measure == eff.measure  # the set's own back-transform


def test_continuity_defaults_follow_metafor_per_measure() -> None:
    events, n, labels = [0, 4, 10], [10, 10, 10], ["Ann", "Bo", "Cy"]
    for code in ("PR", "PLN", "PLO"):
        with pytest.warns(ZeroCellWarning, match=r"study 1 \('Ann'\); study 3 \('Cy'\)"):
            eff = mp.Proportion(events=events, n=n, labels=labels, scale=code)
        assert eff.corrected == (0, 2)
        assert eff.continuity == 0.5
    for code in ("PAS", "PFT"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            eff = mp.Proportion(events=events, n=n, labels=labels, scale=code)
        assert eff.corrected == ()
        assert eff.continuity == 0.0
    with pytest.warns(ZeroCellWarning, match=r"study 1 \('Ann'\)"):
        eff = mp.Proportion(events=events, n=n, labels=labels, scale="PAS", continuity=0.5)
    assert eff.yi[0] == pytest.approx(math.asin(math.sqrt(0.5 / 11)), rel=1e-14)


def test_all_studies_corrected_without_warning_and_none_raises() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eff = mp.Proportion(events=[0, 4], n=[10, 10], continuity_to="all")
    assert eff.corrected == (0, 1)
    assert eff.yi[1] == pytest.approx(math.log(4.5 / 6.5), rel=1e-14)
    with pytest.raises(InvalidDataError, match=r"study 2 \('B'\) has only events.*events=7, n=7"):
        mp.Proportion(events=[3, 7], n=[10, 7], labels=["A", "B"], continuity_to="none")


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match=r"'scale' parameter of Proportion.*'probit'"):
        mp.Proportion(events=[1], n=[5], scale="probit")
    with pytest.raises(InvalidParameterError, match=r"'variance'.*'logit' scale \(PLO\).*'UB'"):
        mp.Proportion(events=[1], n=[5], variance="UB")
    with pytest.raises(InvalidParameterError, match=r"'continuity' parameter.*-1"):
        mp.Proportion(events=[1], n=[5], continuity=-1)
    with pytest.raises(InvalidParameterError, match=r"give the events 'xi'"):
        mp.escalc("PLO", xi=[1, 2])
    with pytest.raises(InvalidParameterError, match=r"'ni' must equal 'xi' \+ 'mi'"):
        mp.escalc("PLO", xi=[1, 2], ni=[5, 5], mi=[4, 4])
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'ai'"):
        mp.escalc("PR", xi=[1], ni=[5], ai=[3])


@pytest.mark.parametrize("code", CODES)
def test_contract(code: str) -> None:
    eff = _quiet(mp.Proportion, events=[0, 3, 12, 25], n=[15, 20, 12, 60], scale=code)
    check_effect_set(eff)
    assert not eff.measure.comparative
    np.testing.assert_array_equal(eff.proportions, [0, 3 / 20, 1, 25 / 60])


def test_forest_plot_draws_without_null_line_or_favours() -> None:
    data = _ref()["datasets"]["pritz1997"]
    with pytest.warns(ZeroCellWarning, match=r"study 5 \('Study 5'\); study 8"):
        eff = mp.Proportion(events=data["xi"], n=data["ni"], scale="logit")
    fig = mp.forest_plot(mp.RandomEffects().fit(eff))
    ax = plot_ax(fig)
    assert texts(fig)["header-group-plot"] == "Proportion"
    assert texts(fig)["cell-effect-study-4"] == "0.95 [0.55, 1.00]"  # 10.5 / 11
    gids = {str(a.get_gid()) for a in [*ax.lines, *ax.texts]}
    assert not any(g.startswith("null-line") or g.startswith("favours") for g in gids)
    plt.close(fig)


# ------------------------------------------------------------------------- properties
PROPS = settings(max_examples=60, deadline=None)


def _scale(code: str, n: float) -> Any:
    return FreemanTukey(n) if code == "PFT" else MEASURES[code].scale


@PROPS
@given(
    code=st.sampled_from(CODES),
    p=st.floats(0.001, 0.999),
    n=st.floats(1.0, 1e4),
)
def test_inverse_undoes_the_scale(code: str, p: float, n: float) -> None:
    scale = _scale(code, n)
    assert float(scale.inverse(scale.forward(p))) == pytest.approx(p, rel=1e-9, abs=1e-9)


@PROPS
@given(
    code=st.sampled_from(CODES),
    events=st.lists(st.integers(0, 60), min_size=2, max_size=8),
    extra=st.lists(st.integers(0, 60), min_size=8, max_size=8),
    level=st.floats(0.5, 0.99),
)
def test_back_transformed_intervals_are_monotone_images(
    code: str, events: list[int], extra: list[int], level: float
) -> None:
    n = [e + x + 1 for e, x in zip(events, extra, strict=False)]
    eff = _quiet(mp.Proportion, events=events, n=n, scale=code)
    res = mp.RandomEffects(level=level).fit(eff)
    bt = res.back_transform()
    inv = eff.measure.scale.inverse
    assert bt.ci.low <= bt.estimate <= bt.ci.high
    assert bt.pi.low <= bt.ci.low and bt.ci.high <= bt.pi.high
    for got, y in ((bt.ci.low, res.ci.low), (bt.ci.high, res.ci.high)):
        assert got == pytest.approx(float(inv(y)), rel=1e-12, abs=1e-15)
    if code in ("PLO", "PAS", "PFT"):  # bounded scales: intervals stay proportions
        for value in (bt.ci.low, bt.ci.high, bt.pi.low, bt.pi.high, bt.estimate):
            assert 0.0 <= value <= 1.0
