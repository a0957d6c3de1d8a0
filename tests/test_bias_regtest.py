"""Regression tests for funnel-plot asymmetry beyond Egger's: metafor's other predictors,
Harbord's, Peters' and the arcsine test, Thompson–Sharp, and the test chosen by measure.

Reference: ``tests/reference/publication_bias.json`` from
``tests/reference/make_publication_bias.R`` (metafor 3.8-1 ``regtest``; Harbord's,
Peters' and the arcsine test from their published formulas with R's ``lm``, since R's
``meta`` is not installed; Thompson–Sharp as ``rma(method = "DL", mods = ~ sqrt(vi))``).

Tolerances (relative, absolute floor ``ATOL`` for values near 0):

* ``RTOL_CLOSED = 1e-10``: weighted least squares and DL are closed forms that both
  programs evaluate in double precision (summation order differs; the largest
  difference measured is below 1e-12, on p-values of 1e-6 and smaller).
* ``RTOL_REML = 1e-8``: the "rma" variants re-estimate τ² by REML, iteratively
  (metafor with threshold 1e-13, metapool to ~1e-12 × min(vi)); the largest
  difference measured is about 1e-10.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import (
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    SmallSampleWarning,
    ZeroCellWarning,
)
from tests._reference import PUBLICATION_BIAS, load_reference

RTOL_CLOSED = 1e-10
RTOL_REML = 1e-8
ATOL = 1e-12


def datasets() -> list[dict[str, Any]]:
    return list(load_reference(PUBLICATION_BIAS)["datasets"])


def dataset(name: str) -> dict[str, Any]:
    return next(d for d in datasets() if d["name"] == name)


def generic(ds: dict[str, Any]) -> mp.GenericEffect:
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"])


def odds_ratios(ds: dict[str, Any]) -> mp.OddsRatio:
    c = ds["counts"]
    return mp.OddsRatio(events1=c["ai"], n1=c["n1i"], events2=c["ci"], n2=c["n2i"])


def close(actual: float, expected: float | None, rtol: float) -> None:
    if expected is None:
        assert np.isnan(actual)
    else:
        assert actual == pytest.approx(expected, rel=rtol, abs=ATOL)


def regtest_cases(kind: str) -> list[Any]:
    return [
        pytest.param(ds["name"], rec, id=f"{ds['name']}-{rec['predictor']}")
        for ds in datasets()
        for rec in ds[kind]
    ]


def check_regtest(res: mp.EggerResult, rec: dict[str, Any], rtol: float) -> None:
    assert res.predictor == rec["predictor"]
    close(res.intercept, rec["coef"], rtol)
    close(res.se, rec["se_coef"], rtol)
    close(res.statistic, rec["zval"], rtol)
    close(res.pvalue, rec["pval"], rtol)
    close(res.limit_estimate, rec["est"], rtol)
    if rec["est"] is not None:
        close(res.limit_se, rec["se_est"], rtol)
        close(res.limit_ci.low, rec["ci_lb"], rtol)
        close(res.limit_ci.high, rec["ci_ub"], rtol)
    else:
        assert np.isnan(res.limit_ci.low) and np.isnan(res.limit_ci.high)


@pytest.mark.parametrize(("name", "rec"), regtest_cases("regtest"))
def test_egger_predictors_match_regtest_lm(name: str, rec: dict[str, Any]) -> None:
    ds = dataset(name)
    res = mp.egger_test(generic(ds), predictor=rec["predictor"], ni=ds.get("ni"))
    assert res.df == rec["dfs"] == len(ds["yi"]) - 2
    check_regtest(res, rec, RTOL_CLOSED)


@pytest.mark.parametrize(("name", "rec"), regtest_cases("regtest_rma"))
def test_egger_predictors_match_regtest_rma_on_a_reml_fit(name: str, rec: dict[str, Any]) -> None:
    ds = dataset(name)
    fit = mp.RandomEffects(tau2="REML").fit(generic(ds))
    res = mp.egger_test(fit, model="rma", predictor=rec["predictor"], ni=ds.get("ni"))
    assert res.df is None and rec["dfs"] is None
    check_regtest(res, rec, RTOL_REML)


def test_sample_sizes_come_from_the_effect_set() -> None:
    ds = dataset("egger2001_or")
    eff = odds_ratios(ds)
    from_counts = mp.egger_test(eff, predictor="ninv")
    given = mp.egger_test(mp.GenericEffect(yi=eff.yi, vi=eff.vi), predictor="ninv", ni=ds["ni"])
    assert from_counts.intercept == pytest.approx(given.intercept, rel=1e-14)
    rec = next(r for r in ds["regtest"] if r["predictor"] == "ninv")
    close(from_counts.statistic, rec["zval"], RTOL_CLOSED)


def test_predictors_based_on_n_need_sample_sizes() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.5], vi=[0.01, 0.04, 0.02, 0.08])
    with pytest.warns(SmallSampleWarning), pytest.raises(InvalidParameterError, match="'ni'"):
        mp.egger_test(eff, predictor="ninv")
    with pytest.warns(SmallSampleWarning), pytest.raises(InvalidDataError, match="study 2"):
        mp.egger_test(eff, predictor="ni", ni=[10, 0, 30, 40])
    with pytest.raises(InvalidParameterError, match="'predictor'"):
        mp.egger_test(eff, predictor="se")
    with pytest.warns(SmallSampleWarning), pytest.raises(InvalidDataError, match="same value"):
        mp.egger_test(eff, predictor="ni", ni=[20, 20, 20, 20])


# ---------------------------------------------------------------------------
# Harbord, Peters, arcsine, Thompson–Sharp
# ---------------------------------------------------------------------------

BINARY = ["egger2001_or", "bcg_or"]


@pytest.mark.parametrize("name", BINARY)
def test_odds_ratios_are_metafors(name: str) -> None:
    ds = dataset(name)
    np.testing.assert_allclose(odds_ratios(ds).yi, ds["yi"], rtol=1e-13)


@pytest.mark.parametrize("name", BINARY)
def test_harbord_matches_the_formula_in_r(name: str) -> None:
    ds = dataset(name)
    ref = ds["binary"]["harbord"]
    res = mp.small_study_test(odds_ratios(ds), "harbord")
    assert res.test == "Harbord" and res.k == ref["k"] and res.df == ref["k"] - 2
    close(res.intercept, ref["intercept"], RTOL_CLOSED)
    close(res.se, ref["se"], RTOL_CLOSED)
    close(res.statistic, ref["t"], RTOL_CLOSED)
    close(res.pvalue, ref["p"], RTOL_CLOSED)
    close(res.limit_estimate, ref["slope"], RTOL_CLOSED)
    close(res.limit_se, ref["slope_se"], RTOL_CLOSED)


@pytest.mark.parametrize("name", BINARY)
def test_peters_matches_the_formula_in_r(name: str) -> None:
    ds = dataset(name)
    ref = ds["binary"]["peters"]
    res = mp.small_study_test(odds_ratios(ds), "peters")
    assert res.test == "Peters" and res.predictor == "ninv" and res.k == ref["k"]
    close(res.intercept, ref["coef"], RTOL_CLOSED)
    close(res.se, ref["se"], RTOL_CLOSED)
    close(res.statistic, ref["t"], RTOL_CLOSED)
    close(res.pvalue, ref["p"], RTOL_CLOSED)
    close(res.limit_estimate, ref["intercept"], RTOL_CLOSED)
    close(res.limit_se, ref["intercept_se"], RTOL_CLOSED)


@pytest.mark.parametrize("name", BINARY)
def test_arcsine_test_matches_regtest_on_metafors_arcsine_differences(name: str) -> None:
    ds = dataset(name)
    ref = ds["binary"]["arcsine"]
    res = mp.small_study_test(odds_ratios(ds), "arcsine")
    assert res.test == "arcsine"
    close(res.intercept, ref["coef"], RTOL_CLOSED)
    close(res.statistic, ref["zval"], RTOL_CLOSED)
    close(res.pvalue, ref["pval"], RTOL_CLOSED)
    close(res.limit_estimate, ref["est"], RTOL_CLOSED)
    # the same test from a risk ratio set (arcsine needs only the 2x2 tables)
    c = ds["counts"]
    rr = mp.RiskRatio(events1=c["ai"], n1=c["n1i"], events2=c["ci"], n2=c["n2i"])
    assert mp.small_study_test(rr, "arcsine").statistic == pytest.approx(res.statistic, rel=1e-13)


@pytest.mark.parametrize("name", BINARY)
def test_thompson_sharp_matches_a_dl_meta_regression(name: str) -> None:
    ds = dataset(name)
    ref = ds["binary"]["thompson_sharp"]
    res = mp.small_study_test(odds_ratios(ds), "thompson-sharp")
    assert res.test == "Thompson-Sharp" and res.tau2_method == "DL" and res.df is None
    close(res.intercept, ref["coef"], RTOL_CLOSED)
    close(res.se, ref["se"], RTOL_CLOSED)
    close(res.statistic, ref["zval"], RTOL_CLOSED)
    close(res.pvalue, ref["pval"], RTOL_CLOSED)
    assert res.tau2 is not None
    close(res.tau2, ref["tau2"], RTOL_CLOSED)
    close(res.limit_estimate, ref["est"], RTOL_CLOSED)


def test_recommended_test_by_measure_says_which() -> None:
    ds = dataset("bcg_or")
    eff = odds_ratios(ds)
    chosen = mp.small_study_test(eff)
    assert chosen.test == "Harbord" and "Harbord" in chosen.notes[0]
    assert chosen.statistic == mp.small_study_test(eff, "harbord").statistic
    assert "Harbord" in chosen.summary()
    smd = mp.GenericEffect(yi=ds["yi"], vi=ds["vi"])
    egger = mp.small_study_test(smd)
    assert egger.test == "Egger" and "Egger" in egger.notes[0]
    assert egger.statistic == mp.egger_test(smd).statistic
    c = ds["counts"]
    rr = mp.RiskRatio(events1=c["ai"], n1=c["n1i"], events2=c["ci"], n2=c["n2i"])
    assert mp.small_study_test(rr).test == "Egger"
    # a fitted result: its studies
    fit = mp.RandomEffects().fit(eff)
    assert mp.small_study_test(fit).statistic == chosen.statistic


def test_tests_for_odds_ratios_refuse_other_input() -> None:
    ds = dataset("bcg_or")
    c = ds["counts"]
    rr = mp.RiskRatio(events1=c["ai"], n1=c["n1i"], events2=c["ci"], n2=c["n2i"])
    with pytest.raises(InvalidParameterError, match="odds ratios"):
        mp.small_study_test(rr, "harbord")
    with pytest.raises(InvalidParameterError, match="2x2 tables"):
        mp.small_study_test(generic(ds), "peters")
    with pytest.raises(InvalidParameterError, match="'method'"):
        mp.small_study_test(generic(ds), "begg")


def test_studies_without_events_are_left_out_with_a_warning() -> None:
    with pytest.warns(ZeroCellWarning):
        eff = mp.OddsRatio(
            events1=[0, 6, 3, 12, 5, 9, 2, 20, 7, 11, 4],
            n1=[40, 60, 25, 120, 50, 80, 20, 300, 70, 150, 44],
            events2=[0, 10, 9, 20, 7, 15, 6, 30, 10, 14, 8],
            n2=[41, 59, 26, 118, 52, 79, 21, 305, 69, 148, 45],
        )
    assert eff.k == 11  # the double-zero study is kept (corrected), as metafor's escalc
    with pytest.warns(DegenerateDataWarning, match="study 1"):
        res = mp.small_study_test(eff, "harbord")
    assert res.k == 10 and any("left out" in n for n in res.notes)
    with pytest.warns(DegenerateDataWarning, match="study 1"):
        peters = mp.small_study_test(eff, "peters")
    assert peters.k == 10
    # the study carries no information: the same as leaving it out beforehand
    rest = eff.subset(list(range(1, 11)))
    assert mp.small_study_test(rest, "harbord").statistic == pytest.approx(res.statistic, rel=1e-13)
    assert mp.small_study_test(rest, "peters").statistic == pytest.approx(
        peters.statistic, rel=1e-13
    )


def test_reflection_flips_every_regression_test() -> None:
    ds = dataset("hackshaw1998")
    eff = generic(ds)
    mirror = mp.GenericEffect(yi=-np.asarray(ds["yi"]), vi=ds["vi"])
    for method in ("egger", "thompson-sharp"):
        a, b = mp.small_study_test(eff, method), mp.small_study_test(mirror, method)
        assert b.statistic == pytest.approx(-a.statistic, rel=1e-10)
        assert b.pvalue == pytest.approx(a.pvalue, rel=1e-10)
