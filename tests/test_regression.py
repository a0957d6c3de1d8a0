"""Meta-regression against pinned metafor 3.8-1 output, its laws, and its errors.

Reference: ``tests/reference/regression_sensitivity_subgroups.json``, written by
``tests/reference/make_regression_sensitivity_subgroups.R`` (``rma(yi, vi, mods = ~ ..., method = M,
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
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import (
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from tests._reference import (
    ITERATIVE,
    REGRESSION_SENSITIVITY_SUBGROUPS,
    TEST_TO_CI,
    is_missing,
    load_reference,
)
from tests._strategies import meta_data as shared_meta_data

RTOL_CLOSED = 1e-10
RTOL_ITERATIVE = 1e-9
RTOL_ILL_CONDITIONED = 1e-8
ATOL = 1e-13
ILL_CONDITIONED = 1e10  # cond(X'V^-1 X) above which RTOL_ILL_CONDITIONED applies


def reference() -> dict[str, Any]:
    return load_reference(REGRESSION_SENSITIVITY_SUBGROUPS)


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
    assert ref["generated_by"] == "tests/reference/make_regression_sensitivity_subgroups.R"
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
TOL = 1e-8  # as tests/properties/test_laws.py: iterative stop rule is 1e-12 x min(vi) + 1e-12 rel.


def meta_data(min_k: int = 3, max_k: int = 20) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return shared_meta_data(min_k, max_k, log_v=(-2.0, 1.0), spreads=(0.0, 0.3, 2.0))


#: REML-FS is left out of the law below: it stops at an absolute |change| < 1e-8 (RevMan
#: Web's rule) and may oscillate without converging, so the two code paths can stop one
#: Fisher step apart, further apart than TOL (tests/test_tau2_fisher_scoring.py checks it).
@FAST
@given(
    data=meta_data(),
    name=st.sampled_from([n for n in mp.tau2.available() if n != "REML-FS"]),
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


# ------------------------------------------------------------- messy input (issue)
#
# Numbers marked "metafor 3.8-1" come from R 4 with metafor 3.8.1
# (packageVersion("metafor")), on dat <- escalc(measure = "RR", ai = tpos, bi = tneg,
# ci = cpos, di = cneg, data = dat.bcg) with control = list(REMLf = TRUE,
# threshold = 1e-13, maxiter = 1000); printed with options(digits = 17).


def _bcg() -> tuple[mp.GenericEffect, dict[str, Any]]:
    ds = _dataset("bcg_rr")
    effects = mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])
    return effects, _model(ds, "ablat_year_alloc")["moderators"]


#: rma(yi, vi, mods = ~ ablat + alloc, data = dat, control = ctrl)
ABLAT_ALLOC_COEF = [
    0.293194356003328604,
    -0.027275756298135171,
    -0.267491211512913052,
    0.058461286928273397,
]
ABLAT_ALLOC_SE = [
    0.4049946407917963676,
    0.0091993197461178768,
    0.3504285079720977358,
    0.3795106023819909691,
]


def test_dataframe_moderators_keep_column_names_and_types() -> None:
    """A mixed DataFrame was read as one object array: every column a factor."""
    pandas = pytest.importorskip("pandas")
    effects, mods = _bcg()
    df = pandas.DataFrame({"ablat": mods["ablat"], "alloc": mods["alloc"], "year": mods["year"]})
    res = mp.MetaRegression().fit(effects, df[["ablat", "alloc"]])
    assert res.names == ("intercept", "ablat", "alloc[random]", "alloc[systematic]")
    np.testing.assert_allclose(res.coef, ABLAT_ALLOC_COEF, rtol=RTOL_ITERATIVE)
    np.testing.assert_allclose(res.se, ABLAT_ALLOC_SE, rtol=RTOL_ITERATIVE)
    assert res.qm_df == 3
    assert res.qm == pytest.approx(11.060612455367561, rel=RTOL_ITERATIVE)
    assert res.r2 == pytest.approx(53.839613909217441, rel=RTOL_ITERATIVE)
    as_dict = mp.MetaRegression().fit(effects, {"ablat": mods["ablat"], "alloc": mods["alloc"]})
    assert as_dict.to_dict() == res.to_dict()
    # The same through a 2-d object array (rows = studies): typed column by column.
    rows = [[a, b] for a, b in zip(mods["ablat"], mods["alloc"], strict=True)]
    as_rows = mp.MetaRegression().fit(effects, rows)
    assert as_rows.names == ("intercept", "x1", "x2[random]", "x2[systematic]")
    np.testing.assert_array_equal(as_rows.coef, res.coef)


def test_series_and_categorical_moderators() -> None:
    pandas = pytest.importorskip("pandas")
    effects, mods = _bcg()
    res = mp.MetaRegression().fit(effects, pandas.Series(mods["ablat"], name="latitude"))
    assert res.names == ("intercept", "latitude")
    # A Categorical's own category order sets the reference level (unused categories
    # are ignored). metafor 3.8-1: rma(yi, vi, mods = ~ factor(alloc, levels =
    # c("systematic", "random", "alternate")), data = dat, control = ctrl).
    alloc = pandas.Categorical(
        mods["alloc"], categories=["systematic", "random", "unused", "alternate"]
    )
    res = mp.MetaRegression().fit(effects, pandas.DataFrame({"alloc": alloc}))
    assert res.names == ("intercept", "alloc[random]", "alloc[alternate]")
    np.testing.assert_allclose(
        res.coef,
        [-0.428917560923576136, -0.536856617622268883, -0.089038216231717635],
        rtol=RTOL_ITERATIVE,
    )
    np.testing.assert_allclose(
        res.se, [0.34494536762529920, 0.43635617614388816, 0.56003558683551280], rtol=1e-8
    )
    assert res.design.encoding == (("alloc", ("systematic", "random", "alternate")),)


def test_boolean_moderator_is_a_factor_false_true() -> None:
    """metafor 3.8-1: dat$flag <- dat$ablat > 30; rma(yi, vi, mods = ~ flag, data = dat,
    control = ctrl) gives intrcpt, flagTRUE."""
    effects, mods = _bcg()
    flag = np.asarray(mods["ablat"]) > 30
    res = mp.MetaRegression().fit(effects, {"flag": flag})
    assert res.names == ("intercept", "flag[True]")
    np.testing.assert_allclose(
        res.coef, [-0.41652544157960802, -0.52150140990070903], rtol=RTOL_ITERATIVE
    )
    assert res.tau2 == pytest.approx(0.23278828616926436, rel=RTOL_ITERATIVE)
    assert res.predict({"flag": [True]}).pred[0] == pytest.approx(res.coef.sum(), rel=1e-14)


@pytest.mark.parametrize("blank", [None, math.nan, "pd.NA"])
def test_missing_moderator_values_raise_naming_the_study(blank: Any) -> None:
    effects, mods = _bcg()
    if blank == "pd.NA":
        blank = pytest.importorskip("pandas").NA
    alloc = list(mods["alloc"])
    alloc[6] = blank
    with pytest.raises(
        InvalidDataError, match=r"moderator 'alloc' has a missing value .* study 7 \('Vandiviere"
    ):
        mp.MetaRegression().fit(effects, {"ablat": mods["ablat"], "alloc": alloc})
    ablat = [float(a) for a in mods["ablat"]]
    ablat[2] = math.nan
    with pytest.raises(InvalidDataError, match=r"'ablat' has a missing value \(nan\) for study 3"):
        mp.MetaRegression().fit(effects, {"ablat": ablat})


def test_missing_value_markers_in_text_are_refused() -> None:
    effects, mods = _bcg()
    for marker in ("nan", "None", "NA", ""):
        alloc = list(mods["alloc"])
        alloc[1] = marker
        with pytest.raises(
            InvalidDataError, match=rf"'alloc' has {marker!r} for study 2 .*missing-value marker"
        ):
            mp.MetaRegression(nan_policy="omit").fit(effects, {"alloc": alloc})


def test_nan_policy_omit_matches_metafor() -> None:
    """metafor 3.8-1 drops NA rows (na.action = "na.omit"): d2 <- dat;
    d2$ablat[3] <- NA; d2$alloc[7] <- NA; r <- rma(yi, vi, mods = ~ ablat + alloc,
    data = d2, control = ctrl); confint(r, control = list(tol = 1e-12))."""
    pandas = pytest.importorskip("pandas")
    effects, mods = _bcg()
    df = pandas.DataFrame({"ablat": mods["ablat"], "alloc": mods["alloc"]})
    df.loc[2, "ablat"] = np.nan
    df.loc[6, "alloc"] = None
    with pytest.warns(mp.exceptions.ExcludedStudyWarning, match="Rosenthal et al"):
        res = mp.MetaRegression(nan_policy="omit").fit(effects, df)
    assert res.k == 11
    assert [(e.index, e.label) for e in res.excluded] == [
        (2, "Rosenthal et al 1960"),
        (6, "Vandiviere et al 1973"),
    ]
    assert res.excluded[1].reason == "missing value in moderator 'alloc'"
    rtol = RTOL_ITERATIVE
    np.testing.assert_allclose(
        res.coef,
        [0.4290952740088874728, -0.0312460392092301018, -0.1112107564909662755,
         0.0064110523310106698],
        rtol=rtol,
    )  # fmt: skip
    np.testing.assert_allclose(
        res.se,
        [0.3310620635247901178, 0.0075489909591195566, 0.2849704354424629771,
         0.3037154026374619398],
        rtol=rtol,
    )  # fmt: skip
    assert res.tau2 == pytest.approx(0.080583352469678182, rel=rtol)
    assert res.qm == pytest.approx(18.162638836919182, rel=rtol)
    assert res.qm_pvalue == pytest.approx(0.00040714972334596119, rel=rtol)
    assert res.qe == pytest.approx(17.149562371812213, rel=rtol)
    assert res.r2 == pytest.approx(73.001399721975631, rel=rtol)
    assert res.i2 == pytest.approx(60.904860719587532, rel=rtol)
    assert res.tau2_ci.low == pytest.approx(0.0030227375252295523, rel=rtol)
    assert res.tau2_ci.high == pytest.approx(0.7696095333998590471, rel=rtol)
    out = res.to_dict()
    assert out["excluded"][0] == {
        "index": 2,
        "label": "Rosenthal et al 1960",
        "reason": "missing value in moderator 'ablat'",
    }
    assert "study 3 ('Rosenthal et al 1960'): missing value in moderator 'ablat'" in res.summary()


def test_nan_policy_omit_with_knapp_hartung_matches_metafor() -> None:
    """metafor 3.8-1: rma(yi, vi, mods = ~ ablat, data = d2, method = "DL",
    test = "knha") with d2$ablat[3] <- NA (k = 12)."""
    effects, mods = _bcg()
    ablat: list[float | None] = list(mods["ablat"])
    ablat[2] = None
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        res = mp.MetaRegression("DL", ci="hksj", nan_policy="omit").fit(effects, {"ablat": ablat})
    assert res.k == 12 and res.df == 10
    np.testing.assert_allclose(
        res.coef, [0.253673767265697070, -0.028796602646293211], rtol=RTOL_CLOSED
    )
    np.testing.assert_allclose(
        res.se, [0.2863406692900984374, 0.0083376085005776902], rtol=RTOL_CLOSED
    )
    assert res.tau2 == pytest.approx(0.065501518189028496, rel=RTOL_CLOSED)
    assert res.qm == pytest.approx(11.928875620395079, rel=RTOL_CLOSED)
    assert res.qm_pvalue == pytest.approx(0.0061864546595359667, rel=RTOL_CLOSED)


def test_moderators_may_be_given_for_the_studies_as_given() -> None:
    yi = [0.1, math.nan, 0.4, 0.2, 0.8, 0.5]
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        effects = mp.GenericEffect(yi=yi, vi=[0.04] * 6, labels=list("ABCDEF"), nan_policy="omit")
    dose = [1.0, 99.0, 2.0, 3.0, 4.0, 5.0]  # study B's dose is skipped with study B
    a = mp.MetaRegression().fit(effects, {"dose": dose})
    b = mp.MetaRegression().fit(effects, {"dose": [1.0, 2.0, 3.0, 4.0, 5.0]})
    np.testing.assert_array_equal(a.coef, b.coef)
    assert [e.label for e in a.excluded] == ["B"]
    with pytest.raises(InvalidDataError, match=r"'dose' has 4 values .* 5 studies \(6 as given"):
        mp.MetaRegression().fit(effects, {"dose": dose[:4]})
    # A missing value among the studies analysed names the row as given.
    dose[3] = math.nan
    with pytest.raises(InvalidDataError, match=r"study 4 \('D'\)"):
        mp.MetaRegression().fit(effects, {"dose": dose})


def test_single_level_factor_raises_naming_the_level() -> None:
    effects = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.8, 0.5], vi=[0.04] * 5)
    with pytest.raises(InvalidDataError, match=r"'arm' has only one level, 'drug'"):
        mp.MetaRegression().fit(effects, {"dose": [1, 2, 3, 4, 5], "arm": ["drug"] * 5})
    with (
        pytest.raises(InvalidDataError, match=r"only one level, 'b', .*once studies"),
        pytest.warns(mp.exceptions.ExcludedStudyWarning),
    ):
        mp.MetaRegression(nan_policy="omit").fit(
            effects, {"dose": [1, 2, 3, 4, None], "g": ["b", "b", "b", "b", "a"]}
        )


def test_mixed_columns_and_infinite_values_are_refused() -> None:
    effects = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.8], vi=[0.04] * 4, labels=list("ABCD"))
    with pytest.raises(
        InvalidDataError,
        match=r"'dose' mixes numbers and text: study 1 \('A'\) has 10 but study 3 \('C'\) "
        r"has '<5'",
    ):
        mp.MetaRegression().fit(effects, {"dose": [10, 20, "<5", 30]})
    with pytest.raises(InvalidDataError, match=r"mixes numbers and booleans"):
        mp.MetaRegression().fit(effects, {"dose": [1, 0, True, 1]})
    with pytest.raises(InvalidDataError, match=r"'dose' must be finite; study 2 \('B'\) has "):
        mp.MetaRegression().fit(effects, {"dose": [1.0, -math.inf, 2.0, 3.0]})


def test_predict_refuses_missing_values_naming_the_row() -> None:
    res = _fit("bcg_rr", "ablat_year_alloc", "REML", "z")
    new = {"ablat": [20.0, 45.0], "year": [1960, 1975], "alloc": ["random", None]}
    with pytest.raises(InvalidDataError, match=r"'alloc' has a missing value \(None\) in row 2"):
        res.predict(new)
    new = {"ablat": [20.0, math.nan], "year": [1960, 1975], "alloc": ["random", "systematic"]}
    with pytest.raises(InvalidDataError, match=r"'ablat' has a missing value \(nan\) in row 2"):
        res.predict(new)
    with pytest.raises(InvalidDataError, match=r"'year' is numeric .* row 1 .* 'nineteen'"):
        res.predict({"ablat": [20.0], "year": ["nineteen"], "alloc": ["random"]})
    with pytest.raises(InvalidDataError, match="same number of rows"):
        res.predict({"ablat": [20.0, 30.0], "year": [1960], "alloc": ["random"]})


def test_predict_accepts_a_dataframe() -> None:
    pandas = pytest.importorskip("pandas")
    res = _fit("bcg_rr", "ablat_year_alloc", "REML", "z")
    new = {"ablat": [20.0, 45.0], "year": [1960, 1975], "alloc": ["random", "systematic"]}
    np.testing.assert_array_equal(res.predict(pandas.DataFrame(new)).pred, res.predict(new).pred)


#: yi = 0.1 + 0.2 x exactly, vi = c(0.02, 0.03, 0.01, 0.05, 0.04)
LINE_X = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
LINE_VI = [0.02, 0.03, 0.01, 0.05, 0.04]


def test_hksj_with_zero_residuals_is_degenerate_as_metafor() -> None:
    """metafor 3.8-1: rma(yi, vi, mods = ~ x, test = "knha") on yi = 0.1 + 0.2 x gives
    se 0, tval Inf, pval 0, ci.lb = ci.ub = estimate, QM NA, tau2 0, R2 100,
    confint tau2 [0, 0], predict(r, 2.5): pred 0.6, se 0, ci and pi [0.6, 0.6].
    Before: numpy.linalg.LinAlgError from the QM solve."""
    effects = mp.GenericEffect(yi=0.1 + 0.2 * LINE_X, vi=LINE_VI)
    with pytest.warns(mp.exceptions.DegenerateDataWarning, match="hksj-adhoc"):
        res = mp.MetaRegression(ci="hksj").fit(effects, {"x": LINE_X})
    np.testing.assert_allclose(res.coef, [0.1, 0.2], rtol=1e-13)
    assert res.se.tolist() == [0.0, 0.0]
    assert np.isposinf(res.statistic).all()
    assert res.pvalue.tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(res.ci.low, res.coef)
    np.testing.assert_array_equal(res.ci.high, res.coef)
    assert math.isnan(res.qm) and math.isnan(res.qm_pvalue)
    assert (res.qm_df, res.qm_df2) == (1, 3)
    assert res.tau2 == 0.0 and res.r2 == 100.0
    assert (res.tau2_ci.low, res.tau2_ci.high) == (0.0, 0.0)
    assert len(res.notes) == 1 and "ci='hksj-adhoc'" in res.notes[0]
    assert res.to_dict()["notes"] == list(res.notes)
    assert "Test of moderators (df = 1): not estimable" in res.summary()
    pred = res.predict({"x": [2.5]})
    assert pred.pred[0] == pytest.approx(0.6, rel=1e-13)
    assert pred.se[0] == 0.0
    assert pred.ci.low[0] == pred.ci.high[0] == pred.pi.low[0] == pred.pi.high[0] == pred.pred[0]


def test_hksj_adhoc_with_zero_residuals_keeps_the_wald_variance() -> None:
    """metafor 3.8-1: the same data with test = "adhoc": se 0.162654608723916683,
    0.054573444728780104; F = 13.430656934306564, p = 0.035127563026303245."""
    effects = mp.GenericEffect(yi=0.1 + 0.2 * LINE_X, vi=LINE_VI)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mp.exceptions.DegenerateDataWarning)
        res = mp.MetaRegression(ci="hksj-adhoc").fit(effects, {"x": LINE_X})
    np.testing.assert_allclose(
        res.se, [0.162654608723916683, 0.054573444728780104], rtol=RTOL_CLOSED
    )
    assert res.qm == pytest.approx(13.430656934306564, rel=RTOL_CLOSED)
    assert res.qm_pvalue == pytest.approx(0.035127563026303245, rel=RTOL_CLOSED)
    assert res.notes == ()


def test_hksj_intercept_only_identical_effects_warns() -> None:
    effects = mp.GenericEffect(yi=[0.3] * 4, vi=[0.02, 0.03, 0.01, 0.05])
    with pytest.warns(mp.exceptions.DegenerateDataWarning):
        res = mp.MetaRegression(ci="hksj").fit(effects, {})
    assert res.se.tolist() == [0.0] and res.qm_df == 0
    assert "test of moderators" not in res.notes[0]


def test_no_intercept_r2_is_not_estimable() -> None:
    """metafor 3.8-1: rma(yi, vi, mods = ~ x - 1)$R2 and the same with method = "EE"
    are NULL (no nested intercept-only model); metapool reports NaN. (metafor 3.8-1
    computes QE, and so τ², from mean-centred yi even without an intercept, so its
    τ² for ``~ x - 1`` is not the textbook one; only R² is compared here.)"""
    effects = mp.GenericEffect(
        yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9], vi=[0.02, 0.03, 0.01, 0.05, 0.04, 0.02]
    )
    x = {"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    res = mp.MetaRegression().fit(effects, x, intercept=False)
    assert math.isnan(res.r2) and "R^2 = NA" in res.summary()
    assert math.isnan(mp.MetaRegression(mp.tau2.Fixed(0)).fit(effects, x, intercept=False).r2)


def test_moderators_of_the_wrong_kind_are_refused() -> None:
    effects = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.8], vi=[0.04] * 4)
    reg = mp.MetaRegression()
    with pytest.raises(MetapoolTypeError, match=r"Got 'ablat'; to use the column 'ablat'"):
        reg.fit(effects, "ablat")
    with pytest.raises(MetapoolTypeError, match=r"intercept-only model pass \{\}"):
        reg.fit(effects, None)
    with pytest.raises(MetapoolTypeError, match=r"moderator 'x' must be an ordered column"):
        reg.fit(effects, {"x": {1, 2, 3, 4}})
    with pytest.raises(InvalidParameterError, match=r"'intercept' parameter .* Got 'no'"):
        reg.fit(effects, {"x": [1, 2, 3, 4]}, intercept="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match=r"no moderators and intercept=False"):
        reg.fit(effects, {}, intercept=False)
    with pytest.raises(InvalidDataError, match=r"shape \(2, 4\) and needs one row per study"):
        reg.fit(effects, np.ones((2, 4)))
    with pytest.raises(InvalidParameterError, match=r"must be in \(0, 1\)\. Got 95 instead"):
        mp.MetaRegression(level=95)
    with pytest.raises(InvalidParameterError, match=r"'nan_policy'.*Got 'drop'"):
        mp.MetaRegression(nan_policy="drop")
