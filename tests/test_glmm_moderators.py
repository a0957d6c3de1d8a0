"""metapool.GLMM with moderators (meta-regression) against metafor 3.8-1's
``rma.glmm(..., mods = ~ x)`` (tests/reference/glmm_moderators.json, written by
tests/reference/make_glmm_moderators.R), and its handling of moderator input.

Tolerances are those of tests/test_glmm.py (same controls in R, same reasons):
``ATOL_EST = 2e-6`` or ``5e-5 · se`` for coefficients and CI bounds,
``RTOL_SE = 1e-4`` (CM.EL: 1e-3, metafor's numDeriv Hessian; UM.RS: 1e-2, glmer's
finite-difference Hessian on the flat four-parameter Laplace likelihood; measured
3.7e-3 on dat.bcg), ``ATOL_TAU2 = 2e-6``, ``ATOL_I2 = 2e-4``. Measured maxima over
the intercept-only-or-not fits with moderators: coefficients 5e-6 (3.2e-5 on
dat.bcg ~ alloc with UM.FS, where metafor's estimates are 2e-9 less likely than
metapool's: there the likelihood decides, and the comparison is at ``1e-4 · se``
and the SE at 1e-3), relative SE 9e-6, τ² 1e-8. ``QM`` is a quadratic form in the
coefficients over their covariance, so its relative tolerance is three times the
SE's. Where metapool's log-likelihood is higher than at metafor's estimates,
metapool wins: every ML fit is checked that way with metapool's own likelihood,
and the likelihood itself is checked against R's ``integrate()`` at metafor's
estimates (61 quadrature nodes, 1e-7), as in tests/test_glmm.py.

metafor's saturated fits fail on some data with moderators (dat.bcg with UM.FS;
categorical moderators: its Wald-type QE is then 1e17 or NA and its likelihood-ratio
QE 0, below the common-effect fit the saturated model nests). There the tests for
residual heterogeneity are checked independently: the Wald-type QE is the residual
Q of the fixed-effects meta-regression (metapool's inverse-variance engine) of the
saturated estimates (log odds ratios and Woolf variances for UM.FS, conditional log
odds for CM.AL, logits for PLO), and the likelihood-ratio QE is twice the saturated
binomial log-likelihood (scipy) minus metafor's common-effect log-likelihood.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import attrs
import numpy as np
import pytest
from scipy import optimize, stats

import metapool as mp
from metapool.exceptions import (
    ExcludedStudyWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._glmm_data import prepare
from metapool.models._glmm_families import Binomial, Poisson
from metapool.models._glmm_fit import loglik_at
from metapool.models._glmm_umrs import _laplace
from tests._reference import REFERENCE_DIR

ATOL_EST = 2e-6
RTOL_SE = 1e-4
RTOL_SE_CMEL = 1e-3
RTOL_SE_UMRS = 1e-2
ATOL_TAU2 = 2e-6
ATOL_TAU2_UMRS = 2e-4
ATOL_I2 = 2e-4
ATOL_GLM = 1e-8

REFERENCE = json.loads((REFERENCE_DIR / "glmm_moderators.json").read_text())


def effects_of(ds: dict[str, Any]) -> mp.EffectSet:
    i = ds["input"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # continuity corrections of the effect sizes
        if ds["measure"] == "OR":
            return mp.OddsRatio(events1=i["events1"], n1=i["n1"], events2=i["events2"], n2=i["n2"])
        if ds["measure"] == "IRR":
            return mp.escalc(
                "IRR", x1i=i["events1"], t1i=i["time1"], x2i=i["events2"], t2i=i["time2"]
            )
        if ds["measure"] == "PLO":
            return mp.escalc("PLO", xi=i["events"], ni=i["n"])
        return mp.escalc("IRLN", xi=i["events"], ti=i["time"])


def within(got: Any, want: Any, atol: np.ndarray) -> None:
    """``|got - want| <= atol`` elementwise (a tolerance per coefficient)."""
    diff = np.abs(np.asarray(got) - np.asarray(want))
    assert np.all(diff <= atol), f"differences {diff} exceed {atol}"


def split(key: str) -> tuple[str, str]:
    return (key.split("_")[0], key.split("_")[1]) if "_" in key else ("UM.FS", key)


_FITS: dict[tuple[str, str], mp.GLMMRegressionResult] = {}


def fitted(ds: dict[str, Any], key: str) -> mp.GLMMRegressionResult:
    if (ds["name"], key) not in _FITS:
        model, method = split(key)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "GLMM: the log-likelihood changes")
            _FITS[ds["name"], key] = mp.GLMM(model, method=method).fit(
                effects_of(ds), ds["moderators"]
            )
    return _FITS[ds["name"], key]


def _zero_cells(ds: dict[str, Any]) -> bool:
    i = {k: np.asarray(v) for k, v in ds["input"].items()}
    if ds["measure"] == "OR":
        a, b = i["events1"], i["n1"] - i["events1"]
        c, d = i["events2"], i["n2"] - i["events2"]
        both = (a == 0) & (c == 0)
        return bool(np.any(((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~both))
    if ds["measure"] == "IRR":
        both = (i["events1"] == 0) & (i["events2"] == 0)
        return bool(np.any(((i["events1"] == 0) | (i["events2"] == 0)) & ~both))
    if ds["measure"] == "PLO":
        return bool(np.any((i["events"] == 0) | (i["events"] == i["n"])))
    return bool(np.any(i["events"] == 0))


def _saturated_fit_sane(ref: dict[str, Any]) -> bool:
    """metafor's saturated fit worked: a finite Wald-type QE and a likelihood-ratio QE
    above 0 (the saturated model nests the common-effect one)."""
    q = ref["QE_Wld"]
    return q is not None and q < 1e6 and ref["QE_LRT"] is not None and ref["QE_LRT"] > 0


CASES = [
    pytest.param(ds, key, ref, id=f"{ds['name']}-{key}")
    for ds in REFERENCE["datasets"]
    for key, ref in ds["fits"].items()
    if "error" not in ref
]


def test_reference_covers_every_model() -> None:
    seen = {(ds["measure"], key) for ds in REFERENCE["datasets"] for key, f in ds["fits"].items()}
    for want in [
        ("OR", "UM.FS_ML"),
        ("OR", "CM.AL_ML"),
        ("OR", "CM.EL_ML"),
        ("OR", "UM.RS_ML"),
        ("IRR", "CM.EL_ML"),
        ("IRR", "UM.FS_ML"),
        ("PLO", "ML"),
        ("IRLN", "ML"),
    ]:
        assert want in seen
    assert REFERENCE["versions"]["metafor"] == "3.8.1"
    # metafor 3.8-1 cannot fit UM.RS with moderators for rate ratios (an error in
    # rma.glmm itself); metapool can, and is checked by its own laws below
    assert all(
        "error" in ds["fits"]["UM.RS_ML"]
        for ds in REFERENCE["datasets"]
        if ds["measure"] == "IRR" and "UM.RS_ML" in ds["fits"]
    )


def _umrs_loglik_at(ds: dict[str, Any], res: Any, ref: dict[str, Any]) -> float:
    """metapool's Laplace log-likelihood of UM.RS at metafor's (β, σ², τ²), maximised
    over the intercept γ."""
    i = {k: np.asarray(v, dtype=float) for k, v in ds["input"].items()}
    fam = Binomial(np.stack([i["events1"], i["events2"]], -1), np.stack([i["n1"], i["n2"]], -1))
    off = np.zeros((len(i["n1"]), 2))
    X = res.design.X
    rest = [math.sqrt(ref["sigma2"]), math.sqrt(ref["tau2"])]

    def neg(g: float) -> float:
        return -float(_laplace(fam, off, np.array([*ref["beta"], g, *rest]), X).sum())

    return float(-optimize.minimize_scalar(neg, bracket=(-8.0, -2.0), tol=1e-12).fun)


@pytest.mark.parametrize(("ds", "key", "ref"), CASES)
def test_against_metafor(ds: dict[str, Any], key: str, ref: dict[str, Any]) -> None:
    res = fitted(ds, key)
    model, method = split(key)
    assert res.converged
    assert len(res.names) == len(ref["names"]) == res.p
    # metafor's k leaves out the studies without information (drop00); metapool keeps
    # them (weight 0, listed in the notes) except in UM.RS, where they inform the model
    assert int(res.informative.sum()) == ref["k"]
    coef_r, se_r = np.asarray(ref["beta"]), np.asarray(ref["se"])
    cmel = model == "CM.EL" and ds["measure"] == "OR"
    umrs = model == "UM.RS"
    rtol_se = RTOL_SE_UMRS if umrs else RTOL_SE_CMEL if cmel else RTOL_SE
    atol = np.maximum(ATOL_EST, 5e-5 * se_r)
    if umrs:
        atol = np.maximum(atol, 2e-4)  # as test_glmm's UM.RS: glmer's precision
        at_metafor = _umrs_loglik_at(ds, res, ref)
        assert res.loglik >= at_metafor - 1e-8
        assert res.sigma2 == pytest.approx(ref["sigma2"], rel=1e-3, abs=2e-4)
        assert res.n_agq == 1
        # heterogeneity by Laplace, as tests/test_glmm.py's UM.RS test; the Wald-type
        # statistic rests on glmer's finite-difference Hessian of the saturated model,
        # which is poor on dat.bcg's large tables: measured 1.6e-2 relative there (the
        # likelihood-ratio statistic agrees to 1e-7, and metapool's Wald-type value
        # moves by 3e-6 between difference steps 1e-2 and 1e-4), so 2e-2
        assert res.qe_lrt == pytest.approx(ref["QE_LRT"], abs=1e-4)
        if min(ds["input"]["events1"]) > 0:
            assert res.qe == pytest.approx(ref["QE_Wld"], rel=2e-2)
    elif method == "ML":
        design = prepare(effects_of(ds), model, 7, res.design.X).design
        assert design is not None
        at_metafor = loglik_at(design, np.append(coef_r, math.sqrt(ref["tau2"])))
        # metapool wins: its maximum is at least the likelihood at metafor's estimates
        assert res.loglik >= at_metafor - 1e-9
        if res.loglik > at_metafor + 1e-9:
            # metafor stopped measurably short on a flat likelihood: compare looser
            atol, rtol_se = np.maximum(atol, 1e-4 * se_r), max(rtol_se, 1e-3)
        if ref["ll_exact"] is not None:
            # the likelihood itself against R's integrate() at metafor's estimates
            fine = attrs.evolve(design, n_agq=61)
            at = np.append(coef_r, math.sqrt(ref["tau2"]))
            assert loglik_at(fine, at) == pytest.approx(ref["ll_exact"], abs=1e-7)
    within(res.coef, coef_r, atol)
    np.testing.assert_allclose(res.se, se_r, rtol=rtol_se)
    ci_tol = atol + 2 * rtol_se * se_r
    within(res.ci.low, ref["ci_lb"], ci_tol)
    within(res.ci.high, ref["ci_ub"], ci_tol)
    np.testing.assert_allclose(res.statistic, ref["zval"], rtol=rtol_se, atol=1e-6)
    z = np.abs(np.asarray(ref["zval"]))
    np.testing.assert_allclose(
        res.pvalue, ref["pval"], rtol=float(max(1e-4, (z**2).max() * rtol_se)), atol=1e-12
    )
    assert res.tau2 == pytest.approx(ref["tau2"], abs=ATOL_TAU2_UMRS if umrs else ATOL_TAU2)
    assert res.qm_df == ref["QMdf"]
    assert res.qm == pytest.approx(ref["QM"], rel=3 * rtol_se)
    assert res.qm_pvalue == pytest.approx(
        ref["QMp"], rel=max(1e-4, 3 * rtol_se * ref["QM"]), abs=1e-12
    )
    assert res.qe_df == ref["QE_df"]
    if not umrs and _saturated_fit_sane(ref):
        assert res.qe_lrt == pytest.approx(ref["QE_LRT"], abs=ATOL_GLM, rel=1e-10)
        assert res.qe_lrt_pvalue == pytest.approx(ref["QEp_LRT"], abs=1e-10, rel=1e-8)
        if not _zero_cells(ds) and not cmel:
            # CM.EL: metafor's QE.Wld is not the Wald statistic (see test_glmm.py); with a
            # zero cell the saturated estimate diverges and metapool takes the limit
            # metafor's Wald-type QE comes from its saturated glm reparametrised with the
            # moderators (X and study dummies): relative 1e-8 (measured 4e-9)
            assert res.qe == pytest.approx(ref["QE_Wld"], abs=1e-7, rel=1e-8)
            assert res.qe_pvalue == pytest.approx(ref["QEp_Wld"], abs=1e-9, rel=1e-7)
    if method == "ML":
        assert res.i2 == pytest.approx(ref["I2"], abs=10 * ATOL_I2 if umrs or cmel else ATOL_I2)
        assert res.h2 == pytest.approx(ref["H2"], rel=1e-4 if umrs or cmel else 1e-5)
    else:
        # the common-effect model is a glm: its log-likelihood is a closed-form sum
        assert res.loglik == pytest.approx(ref["ll"], abs=ATOL_GLM, rel=1e-11)
        assert res.tau2 == 0.0 and res.loglik == res.loglik_common


def _saturated_estimates(ds: dict[str, Any], model: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Independent saturated fit: per-study estimates, variances, log-likelihood."""
    i = {k: np.asarray(v, dtype=float) for k, v in ds["input"].items()}
    if ds["measure"] == "PLO":
        x, n = i["events"], i["n"]
        yi, vi = np.log(x / (n - x)), 1 / x + 1 / (n - x)
        return yi, vi, float(stats.binom.logpmf(x, n, x / n).sum())
    a, n1, c, n2 = i["events1"], i["n1"], i["events2"], i["n2"]
    if model == "UM.FS":
        yi = np.log(a * (n2 - c) / ((n1 - a) * c))
        vi = 1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c)
        sat = stats.binom.logpmf(a, n1, a / n1).sum() + stats.binom.logpmf(c, n2, c / n2).sum()
        return yi, vi, float(sat)
    # CM.AL: a out of a + c, logit log(n1/n2) + effect
    yi, vi = np.log(a / c) - np.log(n1 / n2), 1 / a + 1 / c
    return yi, vi, float(stats.binom.logpmf(a, a + c, a / (a + c)).sum())


BROKEN = [
    pytest.param(ds, key, ref, id=f"{ds['name']}-{key}")
    for ds in REFERENCE["datasets"]
    for key, ref in ds["fits"].items()
    if "error" not in ref
    and not key.startswith(("UM.RS", "CM.EL"))
    and not _saturated_fit_sane(ref)
]


def test_metafor_saturated_failures_are_the_expected_ones() -> None:
    names = {p.values[0]["name"] + "-" + p.values[1] for p in BROKEN}
    assert {"bcg_ablat-UM.FS_ML", "bcg_alloc-CM.AL_ML", "plo_k25_x_g-ML"} <= names


@pytest.mark.parametrize(("ds", "key", "ref"), BROKEN)
def test_heterogeneity_where_metafor_fails(
    ds: dict[str, Any], key: str, ref: dict[str, Any]
) -> None:
    res = fitted(ds, key)
    model, _ = split(key)
    assert not _zero_cells(ds)
    yi, vi, saturated = _saturated_estimates(ds, model)
    fe = mp.MetaRegression(tau2=mp.tau2.Fixed(0.0)).fit(
        mp.GenericEffect(yi=yi, vi=vi), ds["moderators"]
    )
    assert res.qe == pytest.approx(fe.qe, rel=1e-10)
    assert res.qe_df == fe.qe_df == ref["QE_df"]
    assert res.loglik_saturated == pytest.approx(saturated, abs=1e-9)
    ee = ds["fits"].get(key.replace("_ML", "_EE") if "_" in key else "EE")
    assert ee is not None and "error" not in ee
    assert res.qe_lrt == pytest.approx(2 * (saturated - ee["ll"]), abs=1e-8)
    assert res.qe_lrt > 0  # the saturated model nests the common-effect one


# ------------------------------------------------------------------ laws and inputs

PLO = {"xi": [16, 10, 4, 43, 9, 25, 30, 12], "ni": [17, 12, 8, 58, 10, 42, 50, 30]}
DOSE = [1.0, 0.5, 0.0, 0.4, 1.2, 0.3, 0.8, 0.1]


def _plo() -> mp.EffectSet:
    return mp.escalc("PLO", **PLO)


@pytest.mark.parametrize("model", ["UM.FS", "CM.AL", "CM.EL", "UM.RS"])
def test_intercept_only_moderators_give_the_pooled_fit(model: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        or_ = mp.OddsRatio(
            events1=[3, 5, 0, 8, 2, 6], n1=[40, 55, 30, 90, 25, 70],
            events2=[6, 9, 2, 10, 5, 8], n2=[41, 50, 33, 88, 27, 69],
        )  # fmt: skip
    pooled = mp.GLMM(model).fit(or_)
    reg = mp.GLMM(model).fit(or_, {})
    assert reg.names == ("intercept",)
    assert reg.coef[0] == pytest.approx(pooled.estimate, abs=1e-6)
    assert reg.se[0] == pytest.approx(pooled.se, rel=1e-4)
    assert reg.tau2 == pytest.approx(pooled.tau2, abs=1e-6)
    assert reg.loglik == pytest.approx(pooled.loglik, abs=1e-9)
    assert math.isnan(reg.qm) and reg.qm_df == 0
    if model != "UM.RS":
        assert reg.qe == pytest.approx(pooled.q, rel=1e-9)
        assert reg.qe_lrt == pytest.approx(pooled.qe_lrt, rel=1e-9)
        assert reg.i2 == pytest.approx(pooled.i2, abs=1e-6)


def test_an_affine_recoding_of_a_moderator_changes_only_its_coefficients() -> None:
    plo = _plo()
    a = mp.GLMM().fit(plo, {"dose": DOSE})
    b = mp.GLMM().fit(plo, {"dose": [10 * d - 3 for d in DOSE]})
    assert b.loglik == pytest.approx(a.loglik, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, abs=1e-7)
    assert b.coef[1] == pytest.approx(a.coef[1] / 10, rel=1e-6)
    assert b.se[1] == pytest.approx(a.se[1] / 10, rel=1e-4)
    assert b.qm == pytest.approx(a.qm, rel=1e-4)
    # the intercept is the effect at dose 0, i.e. at the old dose 0.3
    assert b.coef[0] == pytest.approx(a.coef[0] + 0.3 * a.coef[1], abs=1e-6)


def test_moderator_inputs_of_every_form_agree() -> None:
    pd = pytest.importorskip("pandas")
    plo = _plo()
    ref = mp.GLMM().fit(plo, {"dose": DOSE})
    for mods in (pd.DataFrame({"dose": DOSE}), pd.Series(DOSE, name="dose"), np.array(DOSE)):
        res = mp.GLMM().fit(plo, mods)
        np.testing.assert_allclose(res.coef, ref.coef, atol=1e-9)
    assert mp.GLMM().fit(plo, np.array(DOSE)).names == ("intercept", "x1")


def test_categorical_moderator_without_intercept_gives_level_effects() -> None:
    plo = _plo()
    group = ["a", "b", "a", "b", "a", "b", "a", "b"]
    res = mp.GLMM(method="EE").fit(plo, {"g": group}, intercept=False)
    assert res.names == ("g[a]", "g[b]")
    # a common-effect binomial model per level: the pooled logit of each level
    x, n = np.asarray(PLO["xi"], float), np.asarray(PLO["ni"], float)
    for j, level in enumerate("ab"):
        sel = np.asarray(group) == level
        assert res.coef[j] == pytest.approx(math.log(x[sel].sum() / (n - x)[sel].sum()), abs=1e-7)
    assert res.qm_df == 2  # no intercept: every coefficient is tested


def test_missing_moderators() -> None:
    plo = _plo()
    dose = [*DOSE[:2], None, *DOSE[3:]]
    with pytest.raises(InvalidDataError, match=r"moderator 'dose'.*study 3"):
        mp.GLMM().fit(plo, {"dose": dose})
    with pytest.warns(ExcludedStudyWarning):
        res = mp.GLMM(nan_policy="omit").fit(plo, {"dose": dose})
    assert res.k == 7 and [e.index for e in res.excluded] == [2]
    kept = plo.subset([0, 1, 3, 4, 5, 6, 7])
    direct = mp.GLMM().fit(kept, {"dose": [d for d in dose if d is not None]})
    np.testing.assert_allclose(res.coef, direct.coef, atol=1e-9)


def test_bad_moderators() -> None:
    plo = _plo()
    with pytest.raises(InvalidDataError, match="GLMM: moderator 'dose' has 3 values"):
        mp.GLMM().fit(plo, {"dose": [1, 2, 3]})
    with pytest.raises(MetapoolTypeError, match="'moderators'"):
        mp.GLMM().fit(plo, "dose")
    with pytest.raises(InvalidParameterError, match=r"'intercept' parameter of GLMM\.fit"):
        mp.GLMM().fit(plo, {"dose": DOSE}, intercept=1)
    with pytest.raises(InvalidParameterError, match="'nan_policy' parameter of GLMM"):
        mp.GLMM(nan_policy="drop")
    with pytest.raises(InvalidDataError, match="GLMM: 2 study"):
        mp.GLMM("CM.AL").fit(
            mp.OddsRatio(events1=[3, 4], n1=[20, 20], events2=[5, 6], n2=[20, 20]),
            {"x": [1.0, 2.0]},
        )


def test_result_api() -> None:
    pytest.importorskip("pandas")
    res = mp.GLMM().fit(_plo(), {"dose": DOSE})
    text = res.summary()
    assert "Test of moderators: QM(df = 1)" in text and "dose" in text
    assert str(res) == text
    d = res.to_dict()
    json.dumps(d)
    assert d["names"] == ["intercept", "dose"] and d["design"] == ["intercept", "dose"]
    frame = res.to_frame()
    np.testing.assert_allclose(frame["fitted"], res.coef[0] + res.coef[1] * np.asarray(DOSE))
    table = res.summary_frame()
    assert table["term"].tolist() == ["intercept", "dose"]
    pred = res.predict({"dose": [0.0, 1.0]})
    assert pred.pred[1] == pytest.approx(res.coef.sum())
    x = np.array([1.0, 1.0])
    assert pred.se[1] == pytest.approx(math.sqrt(x @ res.vcov @ x))
    ci90 = res.confidence_interval(0.9)
    assert ci90.high[1] - ci90.low[1] < res.ci.high[1] - res.ci.low[1]
    assert "GLMMRegressionResult(k=8" in repr(res)


def test_um_rs_with_moderators_for_rate_ratios() -> None:
    """metafor 3.8-1 fails here; metapool's fit must be a maximum: the likelihood at
    nearby coefficients is not higher (the Laplace likelihood, γ, σ re-maximised)."""
    ds = next(d for d in REFERENCE["datasets"] if d["name"] == "hart1999_year")
    eff = effects_of(ds)
    res = mp.GLMM("UM.RS").fit(eff, ds["moderators"])
    assert res.converged and res.n_agq == 1 and res.p == 2
    i = {k: np.asarray(v, dtype=float) for k, v in ds["input"].items()}
    fam = Poisson(np.stack([i["events1"], i["events2"]], -1))
    off = np.log(np.stack([i["time1"], i["time2"]], -1))
    X = res.design.X

    def best_at(beta: np.ndarray) -> float:
        def neg(v: np.ndarray) -> float:
            params = np.array([*beta, v[0], abs(v[1]), math.sqrt(res.tau2)])
            return -float(_laplace(fam, off, params, X).sum())

        out = optimize.minimize(
            neg,
            [-4.0, 0.5],
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
        )
        return float(-out.fun)

    for step in (np.array([1e-3, 0]), np.array([0, 1e-4])):
        assert best_at(res.coef + step) <= res.loglik + 1e-9
        assert best_at(res.coef - step) <= res.loglik + 1e-9


def test_design_errors_name_the_glmm() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        or_ = mp.OddsRatio(
            events1=[3, 5, 0, 8, 2, 6], n1=[40, 55, 30, 90, 25, 70],
            events2=[6, 9, 2, 10, 5, 8], n2=[41, 50, 33, 88, 27, 69],
        )  # fmt: skip
    with pytest.raises(InvalidDataError, match=r"^GLMM: moderator 'g' has only one level"):
        mp.GLMM("UM.FS").fit(or_, {"g": ["a"] * 6})
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    with pytest.raises(InvalidDataError, match=r"^GLMM: the design is singular: column 'x2'"):
        mp.GLMM("CM.AL").fit(or_, {"x": x, "x2": [2 * v for v in x]})
