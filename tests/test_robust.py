"""mp.robust against metafor's robust() (CR0, CR1) and clubSandwich (CR2).

Reference: tests/reference/robust.json, written by tests/reference/make_robust.R
(metafor 3.8-1, clubSandwich 0.5.8) for dat.bcg (random-effects, common-effect and
meta-regression fits), dat.assink2016 and dat.konstantopoulos2011 (three-level
rma.mv fits; two assink fits with V = vcalc(vi, study, obs = esid, rho = 0.6)) and
generated data with unbalanced clusters (1 to 7 effects).

Tolerances. Given the working model of the R fit (its τ², or its σ² through the
marginal covariance), the robust computation is closed-form linear algebra: the
results agree to ~1e-15 relative, except where ``XᵀWX`` is ill-conditioned (the
bcg fits with ``year`` as a moderator: condition number ~1e10, observed relative
differences up to 4e-10), hence ``CORE_RTOL = 1e-12`` and ``ILL_RTOL = 1e-8``. Through
metapool's own fits (τ² estimated by metapool) the differences also carry the
REML τ² difference between the two optimisers (R at threshold 1e-13·var(yi)), so
``FIT_RTOL = 1e-8``.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from tests._reference import load_reference

ROBUST = "robust.json"
CORE_RTOL = 1e-12
ILL_RTOL = 1e-8
FIT_RTOL = 1e-8
ADJUSTS = ("CR0", "CR1", "CR2")


def _cases() -> list[dict[str, Any]]:
    return list(load_reference(ROBUST)["cases"])


def _case(name: str) -> dict[str, Any]:
    return next(c for c in _cases() if c["name"] == name)


def _design(case: dict[str, Any]) -> np.ndarray:
    k = len(case["yi"])
    return np.array(case["X"], dtype=float).reshape(k, case["p"])


def _marginal(case: dict[str, Any]) -> np.ndarray:
    """The working covariance of the R fit: vi + τ², or V + Σ σ²ₗ Zₗ Zₗᵀ (V = diag(vi) or
    the vcalc matrix)."""
    vi = np.array(case["vi"])
    if case["kind"] == "uni":
        return np.diag(vi + case["tau2"])
    cov = np.diag(vi)
    if "rho" in case:  # V = vcalc(vi, study, obs = esid, rho): correlated sampling errors
        outer = np.array(case["groups"][0])
        within = (outer[:, None] == outer[None, :]) & ~np.eye(len(vi), dtype=bool)
        cov = cov + case["rho"] * np.sqrt(np.outer(vi, vi)) * within
    for s2, groups in zip(case["sigma2"], case["groups"], strict=True):
        g = np.array(groups)
        cov = cov + s2 * (g[:, None] == g[None, :])
    return cov


def _as_fitted(case: dict[str, Any]) -> SimpleNamespace:
    """The R fit in the shape of a multilevel result (the adapter reads these names)."""
    names = tuple("intercept" if n == "intrcpt" else n for n in case["coef_names"])
    return SimpleNamespace(
        yi=np.array(case["yi"]),
        design=_design(case),
        coef=np.array(case["CR0"]["coef"]),
        marginal_covariance=_marginal(case),
        vcov=np.eye(case["p"]),
        coef_names=names,
        level=0.95,
        labels=tuple(f"es {i + 1}" for i in range(len(case["yi"]))),
    )


def _rtol(case: dict[str, Any]) -> float:
    return ILL_RTOL if "year" in case["name"] and case["name"].startswith("bcg") else CORE_RTOL


def _check(rob: mp.RobustResult, ref: dict[str, Any], rtol: float) -> None:
    np.testing.assert_allclose(rob.coef, ref["coef"], rtol=rtol, atol=0)
    np.testing.assert_allclose(
        rob.vcov.ravel(), ref["vcov"], rtol=rtol, atol=rtol * np.max(np.abs(ref["vcov"]))
    )
    np.testing.assert_allclose(rob.se, ref["se"], rtol=rtol)
    np.testing.assert_allclose(rob.statistic, ref["tstat"], rtol=rtol)
    np.testing.assert_allclose(rob.df, ref["df"], rtol=rtol)
    np.testing.assert_allclose(rob.pvalue, ref["pvalue"], rtol=10 * rtol)
    np.testing.assert_allclose(rob.ci.low, ref["ci_low"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(rob.ci.high, ref["ci_high"], rtol=rtol, atol=rtol)
    assert rob.n_clusters == ref["n_clusters"]
    wald = ref["wald"]
    assert rob.wald.df_num == wald["df_num"]
    assert rob.wald.statistic == pytest.approx(wald["statistic"], rel=rtol)
    assert rob.wald.df_denom == pytest.approx(wald["df_denom"], rel=rtol)
    assert rob.wald.pvalue == pytest.approx(wald["pvalue"], rel=10 * rtol)


@pytest.mark.parametrize("adjust", ADJUSTS)
@pytest.mark.parametrize("name", [c["name"] for c in _cases()])
def test_matches_r_given_the_working_model(name: str, adjust: str) -> None:
    """Every case through the multilevel adapter with R's own working covariance."""
    case = _case(name)
    rob = mp.robust(_as_fitted(case), case["cluster"], adjust=adjust)
    _check(rob, case[adjust], _rtol(case))


@pytest.mark.parametrize("name", [c["name"] for c in _cases()])
def test_cr2_extras_match_clubsandwich(name: str) -> None:
    """90% intervals, the chi-square form of the Wald statistic and extra constraints."""
    case = _case(name)
    ref = case["CR2"]
    rtol = _rtol(case)
    rob = mp.robust(_as_fitted(case), case["cluster"])
    ci90 = rob.confidence_interval(0.9)
    np.testing.assert_allclose(ci90.low, ref["ci90_low"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ci90.high, ref["ci90_high"], rtol=rtol, atol=rtol)
    q = rob.wald.df_num
    assert rob.wald.q_statistic / q == pytest.approx(ref["wald_chisq"]["statistic"], rel=rtol)
    assert rob.wald.delta == pytest.approx(ref["wald"]["delta"], rel=rtol)
    for extra in ref["extra_wald"]:
        C = np.array(extra["constraints"]).reshape(extra["q"], case["p"])
        test = rob.wald_test(C)
        assert test.test == "HTZ"
        assert test.statistic == pytest.approx(extra["statistic"], rel=rtol)
        assert test.df_denom == pytest.approx(extra["df_denom"], rel=rtol)
        assert test.pvalue == pytest.approx(extra["pvalue"], rel=10 * rtol)


# ----------------------------------------------------------------- metapool fits
def _uni_fit(case: dict[str, Any]) -> Any:
    eff = mp.GenericEffect(yi=case["yi"], vi=case["vi"])
    X = _design(case)
    tau2 = {"REML": "REML", "DL": "DL", "EE": mp.tau2.Fixed(0.0)}[case["method"]]
    if case["p"] == 1:
        model = mp.CommonEffect() if case["method"] == "EE" else mp.RandomEffects(tau2=tau2)
        return model.fit(eff)
    mods = {n: X[:, j] for j, n in enumerate(case["coef_names"]) if j > 0}
    return mp.MetaRegression(tau2=tau2).fit(eff, mods)


UNI = [c["name"] for c in _cases() if c["kind"] == "uni"]


@pytest.mark.parametrize("adjust", ADJUSTS)
@pytest.mark.parametrize("name", UNI)
def test_metapool_fits_match_r(name: str, adjust: str) -> None:
    case = _case(name)
    res = _uni_fit(case)
    assert res.tau2 == pytest.approx(case["tau2"], rel=FIT_RTOL, abs=1e-14)
    rob = mp.robust(res, case["cluster"], adjust=adjust)
    _check(rob, case[adjust], max(FIT_RTOL, _rtol(case)))


MULTILEVEL = [
    "assink_3level",
    "assink_3level_deltype",
    "assink_3level_vcalc_rho06",
    "konstantopoulos_3level",
    "konstantopoulos_3level_year",
    "generated_3level_x1_x2",
]


@pytest.mark.parametrize("name", MULTILEVEL)
def test_multilevel_model_fits_match_r(name: str) -> None:
    """mp.MultilevelModel's own three-level fits, then mp.robust, against R.

    The σ² of the two optimisers agree to ~1e-6 relative (rma.mv stops at nlminb's
    rel.tol 1e-10 to 1e-12 on flat likelihoods); the robust SEs, df and p-values
    move by less than that, hence 1e-5.
    """
    case = _case(name)
    outer = case["groups"][0]
    inner = [g.split("/", 1)[1] for g in case["groups"][1]]
    X = _design(case)
    mods = {n: X[:, j] for j, n in enumerate(case["coef_names"]) if j > 0} or None
    V = mp.vcalc(case["vi"], outer, inner, rho=case["rho"]) if "rho" in case else None
    eff = mp.GenericEffect(yi=case["yi"], vi=case["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mp.MultilevelModel(method="REML").fit(
            eff, levels={"outer": outer, "inner": inner}, moderators=mods, V=V
        )
    np.testing.assert_allclose(res.sigma2, case["sigma2"], rtol=1e-5)
    for adjust in ADJUSTS:
        rob = mp.robust(res, case["cluster"], adjust=adjust)
        ref = case[adjust]
        assert rob.source == "MultilevelResult"
        np.testing.assert_allclose(rob.coef, ref["coef"], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(rob.se, ref["se"], rtol=1e-5)
        np.testing.assert_allclose(rob.df, ref["df"], rtol=1e-5)
        np.testing.assert_allclose(rob.pvalue, ref["pvalue"], rtol=1e-5)
        assert rob.wald.statistic == pytest.approx(ref["wald"]["statistic"], rel=1e-5)
        assert rob.wald.pvalue == pytest.approx(ref["wald"]["pvalue"], rel=1e-5)


# ----------------------------------------------------------------- behaviour
def _bcg_reg(name: str = "bcg_ablat_reml_grp6") -> tuple[dict[str, Any], Any]:
    case = _case(name)
    return case, _uni_fit(case)


def test_cluster_as_given_skips_excluded_rows() -> None:
    """A cluster column of the rows as given works when the effect set excluded one."""
    case = _case("bcg_reml_grp6")
    yi = [*case["yi"][:3], math.nan, *case["yi"][3:]]
    vi = [*case["vi"][:3], 0.1, *case["vi"][3:]]
    cluster = [*case["cluster"][:3], "dropped", *case["cluster"][3:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eff = mp.GenericEffect(yi=yi, vi=vi, nan_policy="omit")
    res = mp.RandomEffects(tau2="REML").fit(eff)
    assert len(res.excluded) == 1
    rob = mp.robust(res, cluster)
    _check(rob, case["CR2"], FIT_RTOL)
    assert "dropped" not in rob.clusters


def test_result_fields_and_outputs() -> None:
    case, res = _bcg_reg()
    rob = mp.robust(res, case["cluster"], adjust="CR2")
    assert rob.names == ("intercept", "ablat")
    assert rob.adjust == "CR2" and rob.k == 13 and rob.p == 2
    assert rob.clusters == ("g1", "g2", "g3", "g4", "g5", "g6")
    assert rob.cluster_sizes.tolist() == [3, 2, 2, 1, 3, 2]
    np.testing.assert_array_equal(rob.tval, rob.statistic)
    np.testing.assert_allclose(rob.model_vcov, res.vcov)
    assert rob.wald.hypothesis == ("ablat = 0",)
    text = rob.summary()
    assert "CR2" in text and "ablat" in text and "HTZ" in text
    d = rob.to_dict()
    assert d["adjust"] == "CR2" and d["wald"]["test"] == "HTZ" and "_gram" not in d
    frame = rob.to_frame()
    assert frame["term"].tolist() == ["intercept", "ablat"]
    np.testing.assert_allclose(frame["df"], rob.df)
    assert "Cluster-robust" in rob._repr_html_()
    assert repr(rob).startswith("RobustResult(CR2, 6 clusters")


def test_wald_test_constraint_forms() -> None:
    case = _case("bcg_ablat_year_reml_grp6")
    rob = mp.robust(_uni_fit(case), case["cluster"])
    by_name = rob.wald_test(["ablat", "year"])
    by_pos = rob.wald_test([1, 2])
    by_matrix = rob.wald_test([[0, 1, 0], [0, 0, 1]])
    for t in (by_pos, by_matrix, rob.wald):
        assert t.statistic == pytest.approx(by_name.statistic, rel=1e-14)
        assert t.df_denom == pytest.approx(by_name.df_denom, rel=1e-14)
    single = rob.wald_test("ablat")
    # one constraint: HTZ is the Satterthwaite t test (F = t², df2 = its df)
    assert single.statistic == pytest.approx(rob.statistic[1] ** 2, rel=1e-12)
    assert single.df_denom == pytest.approx(rob.df[1], rel=1e-12)
    assert single.pvalue == pytest.approx(rob.pvalue[1], rel=1e-10)
    contrast = rob.wald_test([[0, 2, -1]])
    assert contrast.hypothesis == ("2*ablat - year = 0",)
    assert "HTZ" in str(contrast)


def test_cr1_wald_is_metafor_f_test() -> None:
    case = _case("bcg_ablat_year_reml_grp6")
    rob = mp.robust(_uni_fit(case), case["cluster"], adjust="CR1")
    assert rob.wald.test == "F" and rob.wald.df_denom == 3.0 and rob.wald.delta == 1.0


@pytest.mark.parametrize(
    ("constraints", "match"),
    [
        ("dose", "must name coefficients"),
        (5, "0-based positions"),
        ([1, 1], "twice"),
        ([[0, 1]], "q x 3 matrix"),
        ([[0, 1, 0], [0, 2, 0]], "linearly independent"),
        ([[0, math.nan, 0]], "finite numbers"),
    ],
)
def test_wald_test_bad_constraints(constraints: Any, match: str) -> None:
    case = _case("bcg_ablat_year_reml_grp6")
    rob = mp.robust(_uni_fit(case), case["cluster"])
    with pytest.raises(InvalidParameterError, match=match):
        rob.wald_test(constraints)


def test_wald_test_constraints_type() -> None:
    case, res = _bcg_reg()
    rob = mp.robust(res, case["cluster"])
    with pytest.raises(MetapoolTypeError, match="constraints"):
        rob.wald_test({1, 2})


def test_small_df_note() -> None:
    case, res = _bcg_reg("bcg_ablat_reml_alloc")
    rob = mp.robust(res, case["cluster"])
    assert any("below 4" in n for n in rob.notes)
    assert not mp.robust(res, case["cluster"], adjust="CR1").notes


# ----------------------------------------------------------------- bad input
def test_refuses_mantel_haenszel_and_peto() -> None:
    data = {
        "events1": [4, 6, 3, 9],
        "n1": [50, 60, 40, 70],
        "events2": [8, 9, 7, 12],
        "n2": [50, 60, 40, 70],
    }
    for model in (mp.MantelHaenszel(), mp.Peto()):
        res = model.fit(mp.OddsRatio(**data))
        with pytest.raises(MetapoolTypeError, match="inverse-variance"):
            mp.robust(res, [1, 1, 2, 2])


def test_refuses_other_objects() -> None:
    with pytest.raises(MetapoolTypeError, match="fitted inverse-variance model"):
        mp.robust("not a result", [1, 2])


def test_bad_cluster_arguments() -> None:
    """More in tests/bad_input/cases_robust.py; here on a fit with default labels."""
    case, res = _bcg_reg()
    bad = list(case["cluster"])
    bad[4] = None
    with pytest.raises(
        InvalidDataError, match=r"'cluster' has a missing value \(None\) at study 5"
    ):
        mp.robust(res, bad)
    with pytest.raises(InvalidDataError, match=r"length 13\. Got length 12"):
        mp.robust(res, case["cluster"][:12])
    with pytest.raises(InvalidDataError, match=r"number of clusters \(2\) must be larger"):
        mp.robust(res, ["a"] * 7 + ["b"] * 6)


def test_cr2_needs_clusters_containing_the_random_effects() -> None:
    """Clustering below the outer level of a multilevel model: CR2 refuses (as
    clubSandwich), CR1 uses the full working covariance (as metafor)."""
    case = _case("assink_3level")
    fitted = _as_fitted(case)
    inner = case["groups"][1]  # one cluster per effect size: splits the studies
    with pytest.raises(InvalidDataError, match="block-diagonal by cluster"):
        mp.robust(fitted, inner)
    rob = mp.robust(fitted, inner, adjust="CR1")
    assert rob.n_clusters == len(case["yi"])
    assert np.all(np.isfinite(rob.se))


def test_cr2_df_keep_their_digits_near_leverage_one() -> None:
    """A cluster that nearly fits its own regression line (leverage close to 1) makes
    ``B_j V_j B_jᵀ`` and the leverage term large and nearly equal; their difference
    is computed without cancellation. Expected df: the Satterthwaite formula
    ``(tr P)² / ‖P‖²`` evaluated with 50-digit mpmath (P built cluster pair by cluster
    pair from ``B_j (V_j δ_jl - X_j M X_lᵀ) B_lᵀ``, A_j by an mpmath eigendecomposition).
    clubSandwich 0.5.8 gives 2.1994854832136044 and 1.0655799812051669 here (5e-13
    relative off, from its subtraction); summing the cross-cluster terms as a difference
    of large sums would lose ~9 digits."""
    yi = [0.81803988, -0.38330206, -0.32985268, 0.52565444, 1.09826478, 0.39331531]
    vi = [0.23417749, 0.20336926, 0.2838802, 0.25206177, 0.17554391, 0.09205401]
    x = [0.28713003, 0.24083487, 0.20098227, 0.52459575, 0.8613013, -2.11904425]
    reg = mp.MetaRegression(mp.tau2.Fixed(0.2407634237151472)).fit(
        mp.GenericEffect(yi=yi, vi=vi), {"x": x}
    )
    rob = mp.robust(reg, [0, 1, 2, 3, 3, 3])
    np.testing.assert_allclose(rob.df, [2.1994854832124367545, 1.0655799812046516287], rtol=1e-12)
