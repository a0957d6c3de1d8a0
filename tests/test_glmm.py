"""metapool.GLMM against metafor 3.8-1's rma.glmm (tests/reference/glmm.json, written by
tests/reference/make_glmm.R), against independent numerical integration and
scipy's non-central hypergeometric law, and its handling of sparse data.

Tolerances. metafor was run with tight controls (glmer's bobyqa to rhoend 1e-10,
glm to epsilon 1e-13, integrate() to rel.tol 1e-11; see the script). The
remaining differences come from lme4's finite-difference Hessian (its ``vcov``)
and bobyqa's stopping rule; measured maxima over all fits: estimate 2e-7 (2.4e-6
on dat.bcg with UM.FS, where the likelihood is so flat that metafor's estimate is
only 1e-10 less likely than metapool's), relative SE 3.4e-6 (4.5e-5 on dat.bcg's
large tables), τ² 9e-7, I² 1.8e-5 (percent). Tolerances: ``ATOL_EST = 2e-6`` or
``5e-5 · se`` if larger (a log-likelihood difference of ~1e-9) for estimates and
CI bounds, ``RTOL_SE = 1e-4``, ``ATOL_TAU2 = 2e-6``, ``ATOL_I2 = 2e-4``. A wrong
likelihood (e.g. a coding of ±1 instead of ±1/2 in UM.FS, a missing offset) moves
them by 1e-2 or more. Every glmer-based ML fit is also checked the other way: the
likelihood (metapool's quadrature) at metafor's estimates is not higher than at
metapool's. Log-likelihoods of glm fits (common-effect and saturated models,
heterogeneity tests) are closed-form sums: ``1e-8``.

metafor's reported log-likelihood of the glmer fits is ``ll.QE - deviance/2``,
which is not the marginal log-likelihood (lme4's GLMM deviance is not
``-2 (logLik - saturated logLik)``); the script records the exact marginal
log-likelihood at metafor's estimates (``ll_exact``, by integrate(), rel.tol
1e-12), and metapool's quadrature with 61 nodes at the same estimates must equal it
to 1e-7 (this checks the likelihood itself: constants, coding, offsets). The
7-node value that both programs maximise can differ from the exact one by up to
1e-3 on the sparse sets with large τ² (metapool's quadrature check warns there).
The likelihood-ratio test's null fit is checked the same way (``ll0``: metapool's
null maximum with 61 nodes is at least the exact likelihood at glmer's null fit).

CM.EL is fitted by metafor itself (nlminb, integrate(), and numDeriv's Hessian for
the SE): its SE is off by up to 5e-4 relative (metapool's agrees with the analytic
information ``Σ Var(a | ψ̂)`` of the common-effect model to 1e-7, checked below), so
its SE is compared at ``RTOL_SE_CMEL = 1e-3``, and its nlminb cannot be
tightened below rel.tol 1e-10 (the saturated fit then reports non-convergence), so
its τ² is compared at ``ATOL_TAU2_CMEL = 2e-5`` (measured: 8e-6 on
dat.nielweise2007, where metapool's likelihood at its estimates is 1.5e-10 higher
than at metafor's; I² then
differs by 3e-4: ``ATOL_I2_CMEL = 2e-3``). Where metafor cannot fit CM.EL with a
random effect (``τ²`` → 0: nlminb on ``log τ²`` diverges), metapool reports the
boundary, and its fit is the common-effect one (compared with metafor's EE fit).
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import attrs
import numpy as np
import pytest
from scipy import integrate, stats

import metapool as mp
from metapool.exceptions import (
    ConvergenceWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._glmm_data import prepare as _prepare
from metapool.models._glmm_families import Binomial, NoncentralHypergeometric, Poisson
from metapool.models._glmm_fit import loglik_at, profile_loglik
from metapool.models._glmm_quadrature import log_marginal
from tests._reference import REFERENCE_DIR

ATOL_EST = 2e-6
RTOL_SE = 1e-4
ATOL_TAU2 = 2e-6
ATOL_I2 = 2e-4
ATOL_GLM = 1e-8
RTOL_SE_CMEL = 1e-3
ATOL_TAU2_CMEL = 2e-5
ATOL_I2_CMEL = 2e-3

REFERENCE = json.loads((REFERENCE_DIR / "glmm.json").read_text())


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


def _cases() -> list[Any]:
    cases = []
    for ds in REFERENCE["datasets"]:
        for key, ref in ds["fits"].items():
            if "error" in ref or key.startswith("UM.RS"):
                continue  # UM.RS: test_um_rs_against_metafor; errors: metafor failed
            model, method = key.split("_") if "_" in key else ("UM.FS", key)
            cases.append(pytest.param(ds, model, method, ref, id=f"{ds['name']}-{key}"))
    return cases


CASES = _cases()
_FITS: dict[tuple[str, str, str], mp.GLMMResult] = {}


def fitted(ds: dict[str, Any], model: str, method: str) -> mp.GLMMResult:
    key = (ds["name"], model, method)
    if key not in _FITS:
        with warnings.catch_warnings():
            # metafor's 7 nodes are not enough for some sparse sets (large tau^2): the
            # quadrature check says so; the comparison is at metafor's setting
            warnings.filterwarnings(
                "ignore", "GLMM: the log-likelihood changes", ConvergenceWarning
            )
            _FITS[key] = mp.GLMM(model, method=method).fit(effects_of(ds))
    return _FITS[key]


def _zero_cells(ds: dict[str, Any], model: str) -> bool:
    i = {k: np.asarray(v) for k, v in ds["input"].items()}
    if ds["measure"] == "OR":
        cells = [i["events1"], i["n1"] - i["events1"], i["events2"], i["n2"] - i["events2"]]
        if model == "CM.AL":
            cells = [i["events1"], i["events2"]]
        both = (cells[0] == 0) & (cells[2] == 0) if model != "CM.AL" else np.zeros(1, bool)
        return bool(np.any([(c == 0) & ~both for c in cells]))
    if ds["measure"] == "IRR":
        both = (i["events1"] == 0) & (i["events2"] == 0)
        return bool(np.any(((i["events1"] == 0) | (i["events2"] == 0)) & ~both))
    if ds["measure"] == "PLO":
        return bool(np.any((i["events"] == 0) | (i["events"] == i["n"])))
    return bool(np.any(i["events"] == 0))


def test_reference_covers_every_model() -> None:
    seen = {(ds["measure"], key) for ds in REFERENCE["datasets"] for key in ds["fits"]}
    for want in [
        ("OR", "UM.FS_ML"),
        ("OR", "CM.AL_ML"),
        ("OR", "CM.EL_ML"),
        ("IRR", "CM.EL_ML"),
        ("IRR", "UM.FS_ML"),
        ("PLO", "ML"),
        ("IRLN", "ML"),
    ]:
        assert want in seen
    assert REFERENCE["versions"]["metafor"] == "3.8.1"


@pytest.mark.parametrize(("ds", "model", "method", "ref"), CASES)
def test_against_metafor(ds: dict[str, Any], model: str, method: str, ref: dict[str, Any]) -> None:
    res = fitted(ds, model, method)
    assert res.converged
    cmel = model == "CM.EL" and ds["measure"] == "OR"
    atol_est = max(ATOL_EST, 5e-5 * ref["se"][0])
    assert res.estimate == pytest.approx(ref["beta"][0], abs=atol_est)
    design = _prepare(effects_of(ds), model, 7).design
    assert design is not None
    at_metafor = np.array([ref["beta"][0], math.sqrt(ref["tau2"])])
    if method == "ML":
        # metapool wins: its maximum is at least the likelihood at metafor's estimates
        assert res.loglik >= loglik_at(design, at_metafor) - 1e-9
    rtol_se = RTOL_SE_CMEL if cmel else RTOL_SE
    assert res.se == pytest.approx(ref["se"][0], rel=rtol_se)
    ci_tol = atol_est + 2 * rtol_se * ref["se"][0]
    assert res.ci.low == pytest.approx(ref["ci_lb"][0], abs=ci_tol)
    assert res.ci.high == pytest.approx(ref["ci_ub"][0], abs=ci_tol)
    assert res.statistic == pytest.approx(ref["zval"][0], rel=rtol_se)
    z = abs(ref["zval"][0])
    assert res.pvalue == pytest.approx(ref["pval"][0], rel=max(1e-4, z**2 * rtol_se), abs=1e-12)
    assert res.tau2 == pytest.approx(ref["tau2"], abs=ATOL_TAU2_CMEL if cmel else ATOL_TAU2)
    assert res.q_df == ref["QE_df"]
    assert res.qe_lrt == pytest.approx(ref["QE_LRT"], abs=ATOL_GLM, rel=1e-10)
    assert res.qe_lrt_pvalue == pytest.approx(ref["QEp_LRT"], abs=1e-10, rel=1e-8)
    if not _zero_cells(ds, model) and not cmel:
        # CM.EL: metafor's QE.Wld is not the Wald statistic (see test_cmel_wald_heterogeneity);
        # with a zero cell the saturated estimate diverges and glm stops somewhere
        # (metafor's Wald-type QE then depends on where); metapool takes the limit
        assert res.q == pytest.approx(ref["QE_Wld"], abs=1e-7, rel=1e-9)
        assert res.q_pvalue == pytest.approx(ref["QEp_Wld"], abs=1e-9, rel=1e-7)
    if method == "ML":
        assert res.i2 == pytest.approx(ref["I2"], abs=ATOL_I2_CMEL if cmel else ATOL_I2)
        assert res.h2 == pytest.approx(ref["H2"], rel=1e-4 if cmel else 1e-5)
    if method == "EE":
        # the common-effect model is a glm: its log-likelihood is a closed-form sum
        assert res.loglik == pytest.approx(ref["ll"], abs=ATOL_GLM, rel=1e-11)
    fine = attrs.evolve(design, n_agq=61)
    if ref.get("ll_exact") is not None and method == "ML":
        # the likelihood itself (all constants, the coding, the offsets): metapool's
        # quadrature with 61 nodes at metafor's estimates against R's integrate()
        assert loglik_at(fine, at_metafor) == pytest.approx(ref["ll_exact"], abs=1e-7)
    if ref.get("ll0") is not None and method == "ML":
        # the null fit of the LRT: refitted with 61 nodes (glmer's 7 can be far off at the
        # large tau^2 of a null effect), metapool's maximum is at least the exact
        # likelihood at glmer's null fit
        ll0 = profile_loglik(fine, random=True, j=0, value=0.0)
        assert ll0 >= ref["ll0"] - 1e-7
    if ref.get("ll0") is not None and method == "EE":
        assert res.loglik - res.lrt / 2 == pytest.approx(ref["ll0"], abs=ATOL_GLM, rel=1e-11)


UMRS_CASES = [
    pytest.param(ds, ds["fits"]["UM.RS_ML"], id=ds["name"])
    for ds in REFERENCE["datasets"]
    if "error" not in ds["fits"].get("UM.RS_ML", {"error": "absent"})
]


def _umrs_loglik_at(ds: dict[str, Any], theta: float, sigma2: float, tau2: float) -> float:
    """metapool's Laplace log-likelihood of UM.RS at (θ, σ², τ²), maximised over γ."""
    from scipy import optimize

    from metapool.models._glmm_umrs import _laplace

    i = {k: np.asarray(v, dtype=float) for k, v in ds["input"].items()}
    if ds["measure"] == "OR":
        fam: Any = Binomial(
            np.stack([i["events1"], i["events2"]], -1), np.stack([i["n1"], i["n2"]], -1)
        )
        off = np.zeros((len(i["n1"]), 2))
    else:
        fam = Poisson(np.stack([i["events1"], i["events2"]], -1))
        off = np.log(np.stack([i["time1"], i["time2"]], -1))
    res = optimize.minimize_scalar(
        lambda g: (
            -_laplace(fam, off, np.array([theta, g, math.sqrt(sigma2), math.sqrt(tau2)])).sum()
        ),
        bracket=(-8.0, -2.0),
        tol=1e-12,
    )
    return float(-res.fun)


@pytest.mark.slow
@pytest.mark.parametrize(("ds", "ref"), UMRS_CASES)
def test_um_rs_against_metafor(ds: dict[str, Any], ref: dict[str, Any]) -> None:
    """UM.RS (Laplace, as glmer with nAGQ = 1): metapool's likelihood is at least
    metafor's (its estimates evaluated by metapool's Laplace approximation, the
    intercept re-maximised); the estimates agree to ATOL_UMRS = 2e-4, the precision
    glmer reaches on these flat four-parameter likelihoods (measured: 7e-5 on dat.bcg,
    1e-8 on the sparse sets). The tests for heterogeneity (saturated against
    common-effect model, both by Laplace): the likelihood-ratio statistic to 1e-4
    (measured 3.6e-6 on dat.bcg, where metapool's saturated likelihood is the higher;
    6.5e-5 on sparse_irr_k50, where glmer's common-effect fit fails its own
    convergence check (max|grad| 6e-3) and stops 3.3e-5 below metapool's maximum,
    -367.902415 against -367.902383, checked in R; 1e-7 elsewhere); the Wald-type
    one, which rests on the covariance of the saturated estimates (glmer's
    finite-difference Hessian, as the SE), at 1e-2 relative
    (measured 3.6e-3 on dat.bcg, where metapool's value moves by 2e-6 between
    difference steps 1e-4 and 1e-2; 4e-7 on dat.collins1985b), and only without
    studies with zero events in arm 1 (whose saturated effect is infinite: metapool
    takes the limit, glmer stops somewhere)."""
    res = fitted(ds, "UM.RS", "ML")
    assert res.converged
    at_metafor = _umrs_loglik_at(ds, ref["beta"][0], ref["sigma2"], ref["tau2"])
    assert res.loglik >= at_metafor - 1e-8
    assert res.estimate == pytest.approx(ref["beta"][0], abs=2e-4)
    assert res.tau2 == pytest.approx(ref["tau2"], abs=2e-4)
    assert res.sigma2 == pytest.approx(ref["sigma2"], rel=1e-3, abs=2e-4)
    assert res.se == pytest.approx(ref["se"][0], rel=1e-2)
    assert res.n_agq == 1 and res.q_df == ref["QE_df"]
    assert res.qe_lrt == pytest.approx(ref["QE_LRT"], abs=1e-4)
    if min(ds["input"]["events1"]) > 0:
        assert res.q == pytest.approx(ref["QE_Wld"], rel=1e-2)
        assert res.q_pvalue == pytest.approx(ref["QEp_Wld"], rel=5e-2, abs=1e-12)


METAFOR_CMEL_FAILS = [
    pytest.param(ds, id=ds["name"])
    for ds in REFERENCE["datasets"]
    if ds["measure"] == "OR" and "error" in ds["fits"].get("CM.EL_ML", {})
]


@pytest.mark.parametrize("ds", METAFOR_CMEL_FAILS)
def test_cmel_boundary_where_metafor_fails(ds: dict[str, Any]) -> None:
    res = fitted(ds, "CM.EL", "ML")
    ref = ds["fits"]["CM.EL_EE"]
    assert res.converged and res.boundary and res.tau2 == 0.0
    assert res.estimate == pytest.approx(ref["beta"][0], abs=ATOL_EST)
    assert res.loglik >= ref["ll"] - 1e-9


def test_cmel_wald_heterogeneity() -> None:
    """metafor's CM.EL QE.Wld (268.5 on dat.bcg, and it moves with nlminb's tolerance) is
    not the Wald test of equal conditional log odds ratios; computed here with scipy's
    non-central hypergeometric law (independent of metapool's), it is 163.089 on dat.bcg
    (R's BiasedUrn gives the same), and metapool's equals it."""
    from scipy import optimize

    for name in ("bcg", "collins1985b"):
        ds = next(d for d in REFERENCE["datasets"] if d["name"] == name)
        i = {k: np.asarray(v, dtype=float) for k, v in ds["input"].items()}
        psi, w = [], []
        for a, n1, c, n2 in zip(i["events1"], i["n1"], i["events2"], i["n2"], strict=True):
            args = (n1 + n2, n1, a + c)
            lor = math.log(a * (n2 - c) / ((n1 - a) * c))  # the conditional MLE is near it
            fit = optimize.minimize_scalar(
                lambda p, a=a, args=args: -stats.nchypergeom_fisher.logpmf(a, *args, math.exp(p)),
                bounds=(lor - 2, lor + 2),
                method="bounded",
                options={"xatol": 1e-12},
            )
            psi.append(fit.x)
            w.append(stats.nchypergeom_fisher.var(*args, math.exp(fit.x)))
        psi_a, w_a = np.array(psi), np.array(w)
        want = (w_a * psi_a**2).sum() - (w_a * psi_a).sum() ** 2 / w_a.sum()
        assert fitted(ds, "CM.EL", "ML").q == pytest.approx(want, rel=1e-6)
    assert want > 0


def test_cmel_common_effect_se_is_the_analytic_one() -> None:
    for ds in REFERENCE["datasets"]:
        if ds["measure"] != "OR":
            continue
        eff = effects_of(ds)
        res = mp.GLMM("CM.EL", method="EE").fit(eff)
        fam = _prepare(eff, "CM.EL", 7).design.family
        info = -fam.loglik(np.full(fam.y.shape, res.estimate))[2].sum()
        assert res.se == pytest.approx(1 / math.sqrt(info), rel=1e-6)


# ---------------------------------------------------------------- building blocks
def _quad(f: Any) -> float:
    value, _ = integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=500)
    return float(value)


@pytest.mark.parametrize("tau", [0.05, 0.7, 2.5])
def test_adaptive_quadrature_against_numerical_integration(tau: float) -> None:
    # three families, one study each; 41 nodes: the rule converges to ~1e-12 here
    cases = [
        (
            Binomial(np.array([[3.0, 0.0]]), np.array([[40.0, 30.0]])),
            np.array([[-2.0, -2.5]]),
            np.array([[0.5, -0.5]]),
        ),
        (Poisson(np.array([[7.0]])), np.array([[1.2]]), np.array([[1.0]])),
        (
            NoncentralHypergeometric(
                np.array([[3.0]]), np.array([[40.0]]), np.array([[7.0]]), np.array([[35.0]])
            ),
            np.array([[-0.3]]),
            np.array([[1.0]]),
        ),
    ]
    for fam, c, z in cases:

        def integrand(b: float, fam: Any = fam, c: Any = c, z: Any = z) -> float:
            with np.errstate(over="ignore"):  # quad samples far into the tails
                ll = fam.loglik(c + z * b)[0].sum()
            return float(np.exp(ll) * stats.norm.pdf(b, 0, tau))

        want = math.log(_quad(integrand))
        got = float(log_marginal(fam, c, z, tau, 41)[0])
        assert got == pytest.approx(want, abs=1e-10)
        # seven nodes (metafor's default) are close (the worst case, tau = 2.5: 4e-5)
        assert float(log_marginal(fam, c, z, tau, 7)[0]) == pytest.approx(want, abs=1e-4)


def test_noncentral_hypergeometric_against_scipy() -> None:
    n1, n2, m = 12.0, 9.0, 8.0
    support = np.arange(0, 9, dtype=float)
    for psi in (-2.0, 0.0, 0.4, 3.0):
        fam = NoncentralHypergeometric(support, np.full(9, n1), m - support, np.full(9, n2))
        got = np.exp(fam.loglik(np.full(9, psi))[0])
        want = stats.nchypergeom_fisher.pmf(support, n1 + n2, n1, m, math.exp(psi))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)
        # its derivatives: a - E[U] and -Var[U]
        mean = stats.nchypergeom_fisher.mean(n1 + n2, n1, m, math.exp(psi))
        var = stats.nchypergeom_fisher.var(n1 + n2, n1, m, math.exp(psi))
        _, d1, d2 = fam.loglik(np.full(9, psi))
        np.testing.assert_allclose(d1, support - mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(d2, -var, rtol=1e-9)


def test_noncentral_hypergeometric_is_stable_for_large_tables() -> None:
    fam = NoncentralHypergeometric(
        np.array([600.0]), np.array([5000.0]), np.array([900.0]), np.array([5200.0])
    )
    ll, d1, d2 = fam.loglik(np.array([-0.4]))
    assert np.isfinite(ll).all() and np.isfinite(d1).all() and (d2 < 0).all()


# ---------------------------------------------------------------- sparse data
def test_double_zero_studies_are_kept_and_carry_no_information() -> None:
    base = {
        "events1": [2, 0, 5, 1],
        "n1": [120, 80, 200, 60],
        "events2": [6, 3, 9, 4],
        "n2": [118, 82, 190, 61],
    }
    extra = {k: [*v, 0 if k.startswith("events") else 75] for k, v in base.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        without = mp.OddsRatio(**base)
        with_dz = mp.OddsRatio(**extra)
    for model in ("UM.FS", "CM.EL", "CM.AL"):
        a = mp.GLMM(model).fit(without)
        b = mp.GLMM(model).fit(with_dz)
        assert b.k == a.k + 1
        assert b.estimate == pytest.approx(a.estimate, abs=1e-7)
        assert b.loglik == pytest.approx(a.loglik, abs=1e-7)
        assert b.q_df == a.q_df
        assert b.weights[-1] == 0.0
        assert any("no information" in note and "study 5" in note for note in b.notes)


def test_boundary_tau2_zero_is_the_common_effect_fit() -> None:
    # nearly identical odds ratios: the likelihood is maximal at tau^2 = 0
    or_ = mp.OddsRatio(
        events1=[10, 20, 15], n1=[100, 200, 150], events2=[20, 40, 30], n2=[100, 200, 150]
    )
    ml = mp.GLMM("CM.EL").fit(or_)
    ee = mp.GLMM("CM.EL", method="EE").fit(or_)
    assert ml.boundary and ml.tau2 == 0.0
    assert ml.estimate == pytest.approx(ee.estimate, abs=1e-8)
    assert ml.loglik == pytest.approx(ee.loglik, abs=1e-10)
    assert any("boundary" in note for note in ml.notes)


def test_profile_ci_solves_the_likelihood_ratio_equation() -> None:
    from metapool.models._glmm_fit import profile_loglik

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
        plo = mp.escalc("PLO", xi=[1, 0, 3, 2, 5], ni=[40, 35, 60, 50, 80])
    res = mp.GLMM().fit(plo)
    ci = res.profile_ci()
    assert ci.low < res.estimate < ci.high
    design = _prepare(plo, "UM.FS", 7).design
    crit = stats.chi2.ppf(0.95, 1)
    for bound in (ci.low, ci.high):
        drop = 2 * (res.loglik - profile_loglik(design, random=True, j=0, value=bound))
        assert drop == pytest.approx(crit, abs=1e-6)
    # the LRT p-value is below 0.05 exactly when 0 is outside the profile CI
    assert (res.lrt_pvalue < 0.05) == (not ci.low <= 0.0 <= ci.high)


def test_quadrature_check_warns_when_nodes_matter() -> None:
    # sparse proportions with tau^2 near 10: Laplace is off by 0.09 in the
    # log-likelihood, metafor's 7 nodes by 0.014; 41 nodes agree with 83 to 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
        plo = mp.escalc("PLO", xi=[0, 1, 0, 9, 0, 12], ni=[10, 12, 8, 15, 9, 14])
    for n_agq in (1, 7):
        with pytest.warns(ConvergenceWarning, match="quadrature nodes"):
            res = mp.GLMM(n_agq=n_agq).fit(plo)
        assert abs(res.quadrature_change) > 1e-2
        assert any("increase n_agq" in note for note in res.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert abs(mp.GLMM(n_agq=41).fit(plo).quadrature_change) < 1e-4


# ---------------------------------------------------------------- results and plots
def test_result_is_a_complete_meta_result() -> None:
    pytest.importorskip("pandas")
    ds = next(d for d in REFERENCE["datasets"] if d["name"] == "nielweise2007")
    res = fitted(ds, "CM.EL", "ML")
    assert isinstance(res, mp.MetaResult)
    bt = res.back_transform()
    assert bt.estimate == pytest.approx(math.exp(res.estimate))
    json.dumps(res.to_dict())
    frame = res.to_frame()
    assert len(frame) == res.k and frame["weight"].sum() == pytest.approx(100.0)
    text = res.summary()
    assert "likelihood-ratio QE" in text and "CM.EL" in text


def test_forest_plot() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = next(d for d in REFERENCE["datasets"] if d["name"] == "bcg")
    res = fitted(ds, "UM.FS", "ML")
    fig = res.plot_forest()
    assert fig is not None
    plt.close(fig)


# ---------------------------------------------------------------- bad input
def test_profile_ci_not_offered_for_um_rs() -> None:
    ds = next(d for d in REFERENCE["datasets"] if d["name"] == "sparse_or_k2")
    res = fitted(ds, "UM.RS", "ML")
    with pytest.raises(InvalidParameterError, match=r"UM\.RS"):
        res.profile_ci()


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="'model' parameter of GLMM"):
        mp.GLMM("XX")
    with pytest.raises(InvalidParameterError, match="'method' parameter of GLMM"):
        mp.GLMM(method="REML")
    with pytest.raises(InvalidParameterError, match="n_agq"):
        mp.GLMM(n_agq=0)
    with pytest.raises(MetapoolTypeError, match="check_quadrature"):
        mp.GLMM(check_quadrature=1)  # type: ignore[arg-type]


def test_bad_effects() -> None:
    md = mp.MeanDifference(
        mean1=[1, 2], sd1=[1, 1], n1=[10, 10], mean2=[0, 1], sd2=[1, 1], n2=[10, 10]
    )
    with pytest.raises(MetapoolTypeError, match=r"GLMM\.fit expects"):
        mp.GLMM().fit(md)
    rr = mp.RiskRatio(events1=[1, 2], n1=[10, 10], events2=[2, 3], n2=[10, 10])
    with pytest.raises(MetapoolTypeError, match=r"\(RR\)"):
        mp.GLMM().fit(rr)
    with pytest.raises(MetapoolTypeError):
        mp.GLMM().fit([1, 2, 3])  # type: ignore[arg-type]


def test_no_informative_studies() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        or_ = mp.OddsRatio(events1=[0, 0, 3], n1=[10, 12, 20], events2=[0, 0, 1], n2=[11, 9, 20])
    with pytest.raises(InvalidDataError, match="1 study"):
        mp.GLMM("CM.EL").fit(or_)
    assert mp.GLMM("CM.EL", method="EE").fit(or_).k == 3
