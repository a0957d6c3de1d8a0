"""Meta-regression against pinned metafor 3.8-1 output, its laws, and its errors.

Reference: ``tests/reference/issue3_reference.json``, written by
``tests/reference/make_issue3_reference.R`` (``rma(yi, vi, mods = ~ ..., method = M,
test = T)`` with tight controls, ``confint()`` and ``predict(newmods = ...)``) for the
τ² estimators REML ML DL HE SJ PM EB HS (and EE, metafor's fixed-effects
meta-regression = metapool's ``tau2=mp.tau2.Fixed(0)``) × tests z knha t adhoc on
dat.bcg (ablat; year; alloc as a factor; all three), dat.raudenbush1985 (weeks;
weeks capped at 3), dat.bangertdrowns2004 (grade, numeric and as a factor) and
dat.molloy2014 (meanage + quality).

Tolerances (relative, with an absolute floor ``ATOL`` for values that are 0 in one
program and a rounding residue in the other):

* ``RTOL_CLOSED = 1e-10`` for DL, HE, SJ, HS and EE: both programs evaluate the same
  closed forms (weighted least squares, moment equations, t/F/chi-square tails) in
  double precision; what remains is summation order and special-function
  implementations (measured: < 1e-12). A wrong formula moves results by far more.
* ``RTOL_ITERATIVE = 1e-9`` for REML, ML, PM, EB and every Q-profile bound: metafor
  was run with its stop rules at 1e-13 × var(yi) and metapool stops at 1e-12 ×
  min(vi) + 1e-12 relative, so both are far inside 1e-9, while metafor's default control (1e-5)
  would already differ at ~1e-6.
* ``RTOL_ILL_CONDITIONED = 1e-8`` for the one ill-conditioned design, dat.bcg with
  ``ablat + year + alloc`` (uncentred year; cond(X'V⁻¹X) = 7.9e11). There both
  programs lose digits in the normal equations: against exact rational arithmetic
  the DL coefficient of alloc[systematic] is off by 2.0e-9 (metapool) and 4.4e-9
  (metafor), QE by 0 and 2.2e-10, τ² by 7e-11 and 1.8e-10. 1e-8 is the smallest
  round number above that; the one-moderator models (year alone included) keep
  the tight tolerances.
* R² and I² are percentages computed from τ²; their absolute error is 100 × the
  relative error of τ² when τ² is near 0, so their floor is ``100 * rtol``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import InvalidDataError
from tests._reference import ITERATIVE, TEST_TO_CI, is_missing, load_reference
from tests._strategies import meta_data as shared_meta_data

REFERENCE = Path(__file__).parent / "reference" / "issue3_reference.json"
RTOL_CLOSED = 1e-10
RTOL_ITERATIVE = 1e-9
RTOL_ILL_CONDITIONED = 1e-8
ATOL = 1e-13
ILL_CONDITIONED = 1e10  # cond(X'V^-1 X) above which RTOL_ILL_CONDITIONED applies


def reference() -> dict[str, Any]:
    return load_reference(REFERENCE.name)


def _floats(values: Any) -> np.ndarray:
    return np.array([math.nan if is_missing(v) else v for v in values], dtype=float)


def _mismatch(name: str, got: Any, ref: Any, rtol: float, atol: Any = ATOL) -> list[str]:
    """An empty list if ``got`` agrees with ``ref`` (scalars or arrays; None = NaN)."""
    got_a = np.atleast_1d(np.asarray(got, dtype=float))
    ref_a = _floats(np.atleast_1d(np.asarray(ref, dtype=object)).ravel()).reshape(
        np.shape(np.atleast_1d(np.asarray(ref, dtype=object)))
    )
    if got_a.shape != ref_a.shape:
        return [f"{name}: shape {got_a.shape} vs metafor {ref_a.shape}"]
    both_nan = np.isnan(got_a) & np.isnan(ref_a)
    ok = both_nan | (np.abs(got_a - ref_a) <= atol + rtol * np.abs(ref_a))
    if ok.all():
        return []
    return [f"{name}: metapool {got_a.tolist()} vs metafor {ref_a.tolist()}"]


# ----------------------------------------------------------------------------- cases


def _cases(method_filter: Any = None) -> list[Any]:
    cases = []
    for ds in reference()["regression"]:
        for model in ds["models"]:
            for fit in model["fits"]:
                if method_filter is not None and not method_filter(fit["method"]):
                    continue
                cases.append(
                    pytest.param(
                        ds["name"],
                        model["name"],
                        fit,
                        id=f"{ds['name']}-{model['name']}-{fit['method']}-{fit['test']}",
                    )
                )
    return cases


def _dataset(name: str) -> dict[str, Any]:
    return next(d for d in reference()["regression"] if d["name"] == name)


def _model(ds: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in ds["models"] if m["name"] == name)


def _fit(ds_name: str, model_name: str, method: str, test: str) -> mp.MetaRegressionResult:
    ds = _dataset(ds_name)
    model = _model(ds, model_name)
    effects = mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])
    moderators = {name: model["moderators"][name] for name in model["columns"]}
    tau2 = mp.tau2.Fixed(0.0) if method == "EE" else method
    return mp.MetaRegression(tau2=tau2, ci=TEST_TO_CI[test]).fit(effects, moderators)


def _rtol(method: str, res: mp.MetaRegressionResult | None = None) -> float:
    rtol = RTOL_ITERATIVE if method in ITERATIVE else RTOL_CLOSED
    if res is not None:
        X = res.design.X
        if np.linalg.cond(X.T @ (X / res.vi[:, None])) > ILL_CONDITIONED:
            rtol = RTOL_ILL_CONDITIONED
    return rtol


def _bound_atol(fit: dict[str, Any], rtol: float) -> np.ndarray:
    coef, low = np.asarray(fit["coef"]), np.asarray(fit["ci_low"])
    return ATOL + rtol * (np.abs(coef) + np.abs(coef - low))


def _expected_names(model: dict[str, Any]) -> tuple[list[str], list[str]]:
    """metafor's coefficient names and metapool's names for the same columns."""
    r_names, ours = ["intrcpt"], ["intercept"]
    for col in model["columns"]:
        values = model["moderators"][col]
        if isinstance(values[0], str):
            for level in sorted(set(values))[1:]:
                r_names.append(f"{col}{level}")
                ours.append(f"{col}[{level}]")
        else:
            r_names.append(col)
            ours.append(col)
    return r_names, ours


# ------------------------------------------------------------------ reference tests


def test_reference_file_records_its_provenance() -> None:
    ref = reference()
    assert ref["metafor_version"] == "3.8.1"
    assert ref["generated_by"] == "tests/reference/make_issue3_reference.R"
    n_fits = sum(len(m["fits"]) for d in ref["regression"] for m in d["models"])
    assert n_fits == 10 * 36  # 10 models x 9 methods x 4 tests
    errors = [f["error"] for d in ref["regression"] for m in d["models"] for f in m["fits"]]
    assert errors == [None] * n_fits


@pytest.mark.parametrize(("ds_name", "model_name", "fit"), _cases())
def test_coefficients_match_rma_mods(ds_name: str, model_name: str, fit: dict[str, Any]) -> None:
    res = _fit(ds_name, model_name, fit["method"], fit["test"])
    r_names, ours = _expected_names(_model(_dataset(ds_name), model_name))
    assert fit["names"] == r_names  # R's treatment contrasts, first sorted level as reference
    assert list(res.names) == ours
    rtol = _rtol(fit["method"], res)
    failures = [
        *_mismatch("coef", res.coef, fit["coef"], rtol),
        *_mismatch("se", res.se, fit["se"], rtol),
        *_mismatch("statistic", res.statistic, fit["statistic"], rtol),
        *_mismatch("pvalue", res.pvalue, fit["pvalue"], rtol),
        # A bound b ± crit·se can cancel (an uncentred year gives an intercept of -52
        # with se 25 and a bound of -2): its error scales with |b| + crit·se.
        *_mismatch("ci.low", res.ci.low, fit["ci_low"], rtol, _bound_atol(fit, rtol)),
        *_mismatch("ci.high", res.ci.high, fit["ci_high"], rtol, _bound_atol(fit, rtol)),
        *_mismatch("vcov", res.vcov, fit["vcov"], rtol),
    ]
    assert not failures, "\n".join(failures)
    assert res.df == fit["df"]  # None for z, k - p otherwise
    assert (res.k, res.p) == (fit["k"], fit["p"])
    assert res.converged


@pytest.mark.parametrize(("ds_name", "model_name", "fit"), _cases())
def test_tests_and_heterogeneity_match_rma_mods(
    ds_name: str, model_name: str, fit: dict[str, Any]
) -> None:
    res = _fit(ds_name, model_name, fit["method"], fit["test"])
    rtol = _rtol(fit["method"], res)
    failures = [
        *_mismatch("tau2", res.tau2, fit["tau2"], rtol),
        *_mismatch("QM", res.qm, fit["qm"], rtol),
        *_mismatch("QMp", res.qm_pvalue, fit["qm_pvalue"], rtol),
        *_mismatch("QE", res.qe, fit["qe"], rtol),
        *_mismatch("QEp", res.qe_pvalue, fit["qe_pvalue"], rtol),
    ]
    if fit["method"] != "EE":  # EE: metafor's I², H², R² have other definitions (below)
        if not _intercept_only_tau2_is_zero(res):  # R² when τ²₀ = 0: see below
            failures += _mismatch("R2", res.r2, fit["r2"], rtol, atol=100 * rtol)
        failures += [
            *_mismatch("I2", res.i2, fit["i2"], rtol, atol=100 * rtol),
            *_mismatch("H2", res.h2, fit["h2"], rtol),
            # The Q-profile bounds are iterative for every estimator.
            *_mismatch("tau2_ci.low", res.tau2_ci.low, fit["tau2_ci_low"], RTOL_ITERATIVE),
            *_mismatch("tau2_ci.high", res.tau2_ci.high, fit["tau2_ci_high"], RTOL_ITERATIVE),
        ]
    assert not failures, "\n".join(failures)
    # metafor: QM is chi-square(m) under z and F(m, k - p) under knha/t/adhoc.
    assert (res.qm_df, res.qm_df2) == (fit["qm_df"], fit["qm_df2"])
    assert res.qe_df == fit["qe_df"]


@pytest.mark.parametrize(("ds_name", "model_name", "fit"), _cases())
def test_predict_matches_metafor(ds_name: str, model_name: str, fit: dict[str, Any]) -> None:
    model = _model(_dataset(ds_name), model_name)
    res = _fit(ds_name, model_name, fit["method"], fit["test"])
    pred = res.predict(model["newdata"])
    ref = fit["predict"]
    rtol = _rtol(fit["method"], res)
    # x'b sums terms |x_j b_j| that can cancel (see _bound_atol); the bounds add
    # crit·se and crit·sqrt(se² + τ²) to that.
    terms = np.abs(res.design.encode(model["newdata"])) @ np.abs(res.coef)
    ci_half = np.abs(np.asarray(ref["ci_high"]) - np.asarray(ref["pred"]))
    ci_atol = ATOL + rtol * (terms + ci_half)
    failures = [
        *_mismatch("pred", pred.pred, ref["pred"], rtol, ATOL + rtol * terms),
        *_mismatch("se", pred.se, ref["se"], rtol),
        *_mismatch("ci.low", pred.ci.low, ref["ci_low"], rtol, ci_atol),
        *_mismatch("ci.high", pred.ci.high, ref["ci_high"], rtol, ci_atol),
    ]
    if fit["method"] == "EE":  # metafor gives no PI for a fixed-effects model: PI = CI
        assert np.array_equal(pred.pi.low, pred.ci.low)
        assert np.array_equal(pred.pi.high, pred.ci.high)
    else:
        pi_half = np.abs(np.asarray(ref["pi_high"]) - np.asarray(ref["pred"]))
        pi_atol = ATOL + rtol * (terms + pi_half)
        failures += [
            *_mismatch("pi.low", pred.pi.low, ref["pi_low"], rtol, pi_atol),
            *_mismatch("pi.high", pred.pi.high, ref["pi_high"], rtol, pi_atol),
        ]
    assert not failures, "\n".join(failures)


def _intercept_only_tau2_is_zero(res: mp.MetaRegressionResult) -> bool:
    effects = mp.GenericEffect(yi=res.yi, vi=res.vi)
    return mp.RandomEffects(tau2=res.model.tau2).fit(effects).tau2 == 0.0


R2_ZERO_CASES = [
    c
    for c in _cases(lambda m: m != "EE")
    if c.values[2]["test"] == "z"
    and _intercept_only_tau2_is_zero(_fit(c.values[0], c.values[1], c.values[2]["method"], "z"))
]


def test_there_are_cases_with_zero_intercept_only_tau2() -> None:
    assert {c.values[0] for c in R2_ZERO_CASES} == {"hine1989_rd"}
    assert len(R2_ZERO_CASES) == 7  # every estimator but SJ


@pytest.mark.parametrize(("ds_name", "model_name", "fit"), R2_ZERO_CASES)
def test_r2_is_zero_when_intercept_only_tau2_is_zero(
    ds_name: str, model_name: str, fit: dict[str, Any]
) -> None:
    res = _fit(ds_name, model_name, fit["method"], "z")
    assert fit["r2"] == 0.0
    assert res.r2 == 0.0


EE_CASES = [c for c in _cases(lambda m: m == "EE") if c.values[2]["test"] == "z"]


@pytest.mark.parametrize(("ds_name", "model_name", "fit"), EE_CASES)
def test_fixed_effects_regression_heterogeneity_as_metafor(
    ds_name: str, model_name: str, fit: dict[str, Any]
) -> None:
    res = _fit(ds_name, model_name, "EE", "z")
    rtol = _rtol("EE", res)  # the ill-conditioned bcg design: see RTOL_ILL_CONDITIONED
    failures = [
        *_mismatch("I2", res.i2, fit["i2"], rtol, atol=100 * rtol),
        *_mismatch("H2", res.h2, fit["h2"], rtol),
        *_mismatch("R2", res.r2, fit["r2"], rtol, atol=100 * rtol),
    ]
    assert not failures, "\n".join(failures)


def test_categorical_predict_accepts_any_subset_of_levels() -> None:
    res = _fit("bcg_rr", "alloc", "REML", "z")
    one = res.predict({"alloc": ["systematic"]})
    all_three = res.predict({"alloc": ["alternate", "random", "systematic"]})
    assert one.pred[0] == all_three.pred[2]
    # The reference level's prediction is the intercept.
    assert all_three.pred[0] == res.coef[0]


# ------------------------------------------------------------------ properties

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-8  # as tests/test_properties.py: the iterative stop rule is 1e-12 x min(vi) + 1e-12 rel.


def meta_data(min_k: int = 3, max_k: int = 20) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return shared_meta_data(min_k, max_k, log_v=(-2.0, 1.0), spreads=(0.0, 0.3, 2.0))


@FAST
@given(
    data=meta_data(),
    name=st.sampled_from(mp.tau2.available()),
    ci=st.sampled_from(["z", "hksj", "hksj-adhoc", "t"]),
    empty=st.sampled_from(["mapping", "array"]),
)
def test_intercept_only_regression_equals_random_effects(data, name, ci, empty) -> None:
    yi, vi = data
    effects = mp.GenericEffect(yi=yi, vi=vi)
    moderators = {} if empty == "mapping" else np.zeros((yi.size, 0))
    reg = mp.MetaRegression(tau2=name, ci=ci).fit(effects, moderators)
    re = mp.RandomEffects(tau2=name, ci=ci).fit(effects)
    scale = float(np.mean(vi))
    assert reg.names == ("intercept",)
    assert np.allclose(reg.coef[0], re.estimate, rtol=TOL, atol=TOL * math.sqrt(scale))
    assert np.allclose(reg.se[0], re.se, rtol=TOL, atol=TOL * math.sqrt(scale))
    assert np.allclose(reg.tau2, re.tau2, rtol=TOL, atol=TOL * scale)
    assert np.allclose([reg.ci.low[0], reg.ci.high[0]], list(re.ci), rtol=TOL, atol=TOL)
    assert np.allclose(reg.qe, re.q, rtol=TOL, atol=TOL)
    assert np.allclose(list(reg.tau2_ci), list(re.tau2_ci), rtol=TOL, atol=TOL * scale)
    assert math.isnan(reg.qm) and reg.qm_df == 0


@FAST
@given(
    data=meta_data(min_k=4),
    name=st.sampled_from(mp.tau2.available()),
    x=st.lists(st.floats(-5, 5), min_size=20, max_size=20),
    z=st.lists(st.floats(-5, 5), min_size=20, max_size=20),
)
def test_adding_a_moderator_never_increases_qe(data, name, x, z) -> None:
    # QE is the weighted residual sum of squares with w = 1/v: a larger column space
    # cannot increase a least-squares residual sum of squares.
    yi, vi = data
    k = yi.size
    X1 = np.asarray(x[:k])
    X2 = np.column_stack([X1, np.asarray(z[:k])])
    full = np.column_stack([np.ones(k), X2])
    assume(np.linalg.matrix_rank(full) == 3)
    assume(np.linalg.cond(full) < 1e8)
    effects = mp.GenericEffect(yi=yi, vi=vi)
    reg = mp.MetaRegression(tau2=name)
    q0 = mp.RandomEffects(tau2=name).fit(effects).q
    q1 = reg.fit(effects, X1).qe
    q2 = reg.fit(effects, X2).qe
    assert q1 <= q0 * (1 + TOL) + TOL
    assert q2 <= q1 * (1 + TOL) + TOL


# ------------------------------------------------------------------ errors


def test_collinear_moderators_raise_naming_the_column() -> None:
    effects = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.8, 0.5], vi=[0.04] * 5)
    dose = [1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(InvalidDataError, match=r"'dose_mg'.*linear combination.*'dose'"):
        mp.MetaRegression().fit(effects, {"dose": dose, "dose_mg": [2 * d for d in dose]})
    # A constant moderator is collinear with the intercept.
    with pytest.raises(InvalidDataError, match=r"'const'.*'intercept'"):
        mp.MetaRegression().fit(effects, {"dose": dose, "const": [3.0] * 5})
    # An indicator that duplicates a factor level.
    group = ["a", "a", "b", "b", "c"]
    is_b = [0.0, 0.0, 1.0, 1.0, 0.0]
    with pytest.raises(InvalidDataError, match=r"'is_b'.*'group\[b\]'"):
        mp.MetaRegression().fit(effects, {"group": group, "is_b": is_b})
    # Array input: columns are named x1, x2, ...
    with pytest.raises(InvalidDataError, match=r"'x2'"):
        mp.MetaRegression().fit(effects, np.column_stack([dose, dose]))


def test_too_few_studies_for_the_coefficients_raise() -> None:
    three = mp.GenericEffect(yi=[0.1, 0.4, 0.2], vi=[0.04] * 3)
    # k = p = 3: the coefficients are estimable but nothing is left for τ² (metafor
    # refuses too: "Number of parameters to be estimated is larger than ...").
    with pytest.raises(InvalidDataError, match=r"3 coefficients need more than 3 studies"):
        mp.MetaRegression().fit(three, {"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 5.0]})
    # k < p: the design cannot have full column rank.
    with pytest.raises(InvalidDataError, match=r"only 3 studies"):
        mp.MetaRegression().fit(
            three, {"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 5.0], "c": [2.0, 0.0, 1.0]}
        )


def test_unknown_level_in_predict_raises() -> None:
    res = _fit("bcg_rr", "alloc", "REML", "z")
    with pytest.raises(InvalidDataError, match=r"'alloc' has unknown level\(s\) \['quasi'\]"):
        res.predict({"alloc": ["random", "quasi"]})
    with pytest.raises(InvalidDataError, match=r"'alloc' is missing"):
        res.predict({"ablat": [10.0]})


def test_no_intercept_categorical_gives_level_means() -> None:
    """Without an intercept the first factor keeps every level, as R's ~ factor(g) - 1.

    metafor 3.8-1, printed to 4 decimals (hence the 5e-5 tolerance):
    coef(rma(yi, vi, mods = ~ factor(alloc) - 1, data = <dat.bcg, log RR>)) =
    alternate -0.5180, random -0.9658, systematic -0.4289.
    """
    ds = _dataset("bcg_rr")
    effects = mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])
    alloc = _model(ds, "alloc")["moderators"]["alloc"]
    res = mp.MetaRegression(tau2="REML").fit(effects, {"alloc": alloc}, intercept=False)
    assert res.names == ("alloc[alternate]", "alloc[random]", "alloc[systematic]")
    np.testing.assert_allclose(res.coef, [-0.5180, -0.9658, -0.4289], atol=5e-5)
    assert res.qm_df == 3  # all coefficients are tested without an intercept
    pred = res.predict({"alloc": ["random", "systematic"]})
    np.testing.assert_allclose(pred.pred, res.coef[1:], rtol=1e-14)
