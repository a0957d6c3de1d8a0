"""Multilevel models (mp.MultilevelModel) and vcalc against pinned metafor 3.8-1 output.

Reference: ``tests/reference/multilevel.json``, written by
``tests/reference/make_multilevel.R``: ``rma.mv(yi, V, mods, random = ~ 1 | a/b/..,
method, test, dfs)`` with nlminb's ``rel.tol`` at 1e-12 (or the tightest of 1e-11,
1e-10 that converges), ``confint(fit, sigma2 = j, control = list(tol = 1e-12))``,
``predict``, ``fitstats`` and the I² of metafor's FAQ, on dat.konstantopoulos2011,
dat.assink2016 (also with V from ``vcalc``), dat.berkey1998 (its V, ``~ 1 | trial``) and
generated data with 1-4 nested levels, components at the boundary and fixed ``sigma2``.

Tolerances. metafor maximises the likelihood with nlminb on ``log σ²``; its stop rule
is relative to the objective, so where the likelihood is flat in σ² it stops short of
the maximum. metapool stops when its Newton step in ``log σ²`` is below 1e-10 (and sets
a component to exactly 0 at the boundary), so its log-likelihood is never lower than
metafor's (checked first, to 1e-12 relative: metapool is the more accurate side).

* Cases where metafor reached the same maximum (log-likelihoods within 1e-10
  relative): ``RTOL = 5e-6`` relative for everything that depends on σ². nlminb's
  ``rel.tol = 1e-12`` stops when the objective (10 to 80 here) changes by about 1e-11,
  which with a curvature in σ² of 1e2 to 1e4 leaves σ² uncertain by up to
  ``sqrt(2e-11/1e2) ≈ 4e-7`` absolute. Measured: largest relative difference 8e-7
  (σ² of esid in assink2016, 0.112), others below 5e-8. QE does not depend on σ²:
  ``RTOL_EXACT = 1e-10`` (measured 1e-15).
* Cases where metafor stopped short (likelihood lower by 5e-10 to 4e-9: the ML fit with
  a moderator and three levels, four levels, the boundary case): ``RTOL_SHORT = 1e-4``.
  A likelihood lower by δ moves σ² by about ``sqrt(2δ/λ)`` with λ the curvature
  (measured: σ² 3e-7, I² 2e-4 points, z 6e-6); 1e-4 relative with the floors below is
  the round number above that. A wrong formula moves results by far more (the REML/ML
  difference alone is 1e-1). That metapool is the one at the maximum is checked
  separately: its log-likelihood is the higher, and moving any estimated σ² by 0.1 %
  (the others re-estimated) lowers it.
* Absolute floors: σ² ``1e-8`` plus the relative tolerance times Σσ² (the components
  share a scale: with heterogeneity 1e8 times the sampling variances metafor puts
  1.4e-4 on a component that metapool puts at 0, next to 1.6e5 on the other; the
  likelihoods agree to 7e-12 relative), p-values ``1e-9``.
* Profile-likelihood bounds: metafor's uniroot (tol 1e-12) over refits with its own
  stop rule; compared to ``RTOL_PROFILE = 1e-5`` relative (measured 3e-8 where both
  converged). Where metafor's confint failed (NA) or stopped at a wrong root (it
  reported convergence problems for assink2016 with vcalc's V), the bound is checked
  against its definition instead: refitting with σ² fixed at the bound lowers the
  log-likelihood by χ²₁(0.95)/2.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
from scipy import stats

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from tests._reference import MULTILEVEL, load_reference

RTOL = 5e-6
RTOL_EXACT = 1e-10
RTOL_SHORT = 1e-4
RTOL_PROFILE = 1e-5
ATOL_SIGMA2 = 1e-8
ATOL_P = 1e-9

CASES = load_reference(MULTILEVEL)["cases"]
CASE_IDS = [c["name"] for c in CASES]


def _fit(case, *, profile=None):
    eff = mp.GenericEffect(yi=case["yi"], vi=case["vi"])
    model = mp.MultilevelModel(
        method=case["method"],
        ci="z" if case["test"] == "z" else "t",
        dfs=case["dfs"],
        sigma2=case["sigma2_fixed"],
        profile=("sigma2_ci_low" in case) if profile is None else profile,
    )
    V = None if case["V"] is None else np.array(case["V"], dtype=float)
    return model.fit(
        eff,
        levels=case["levels"],
        moderators=case["moderators"],
        V=V,
        intercept=case["intercept"],
    )


_FITS: dict[str, mp.MultilevelResult] = {}


def fitted(case):
    if case["name"] not in _FITS:
        _FITS[case["name"]] = _fit(case)
    return _FITS[case["name"]]


def _rtol(case, res):
    same_max = abs(res.loglik - case["loglik"]) <= 1e-10 * max(1.0, abs(case["loglik"]))
    return RTOL if same_max else RTOL_SHORT


def _close(got, want, rtol, atol=0.0):
    want = np.array([np.nan if w is None else w for w in np.atleast_1d(want)], dtype=float)
    np.testing.assert_allclose(np.atleast_1d(got), want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loglik_not_below_metafor(case):
    res = fitted(case)
    assert res.converged
    assert res.loglik >= case["loglik"] - 1e-12 * max(1.0, abs(case["loglik"]))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_estimates_are_the_maximum(case):
    """Moving any estimated σ² by 0.1 % (others re-estimated) lowers the likelihood."""
    res = fitted(case)
    for j in range(len(res.sigma2)):
        if res.fixed[j] or len(res.sigma2) > 3:
            continue
        s2 = float(res.sigma2[j])
        for value in (s2 * 1.001, s2 * 0.999) if s2 > 0 else (1e-6,):
            fixed = [float(v) if f else None for v, f in zip(res.sigma2, res.fixed, strict=True)]
            fixed[j] = value
            refit = _fit(dict(case, sigma2_fixed=fixed), profile=False)
            assert refit.loglik < res.loglik


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fields_match_metafor(case):
    res = fitted(case)
    rtol = _rtol(case, res)
    # The components share one scale: the floor is relative to their total too.
    _close(res.sigma2, case["sigma2"], rtol, ATOL_SIGMA2 + rtol * float(np.sum(case["sigma2"])))
    _close(res.coef, case["coef"], rtol)
    _close(res.se, case["se"], rtol)
    _close(res.statistic, case["statistic"], rtol, rtol)
    _close(res.pvalue, case["pvalue"], rtol, ATOL_P)
    # Bounds near 0: the floor is the tolerance relative to the standard error.
    scale = rtol * float(np.max(res.se))
    _close(res.ci.low, case["ci_low"], rtol, scale)
    _close(res.ci.high, case["ci_high"], rtol, scale)
    _close(res.vcov.ravel(), np.array(case["vcov"]).ravel(), rtol, rtol * np.max(res.se) ** 2)
    for field in ("loglik", "deviance", "aic", "bic", "aicc"):
        _close(getattr(res, field), case[field], rtol)
    _close(res.qe, case["qe"], RTOL_EXACT)  # does not depend on σ²
    _close(res.qe_pvalue, case["qe_pvalue"], RTOL_EXACT, ATOL_P)
    assert res.qe_df == case["qe_df"]
    assert (res.k, res.p) == (case["k"], case["p"])
    _close(res.i2, case["i2"], rtol, 1e-6)
    _close(res.i2_total, case["i2_total"], rtol, 1e-6)
    if case["df"] is None:
        assert res.df is None
    else:
        _close(res.df, case["df"], 0.0)
    if case["qm"] is not None and res.qm_df:
        _close(res.qm, case["qm"], rtol)
        _close(res.qm_pvalue, case["qm_pvalue"], rtol, ATOL_P)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_predict_matches_metafor(case):
    res = fitted(case)
    rtol = _rtol(case, res)
    pr = res.predict(case["predict"]["new_moderators"])
    ref = case["predict"]
    scale = rtol * float(np.max(pr.se))  # floor for values near 0
    _close(pr.pred, ref["pred"], rtol, scale)
    _close(pr.se, ref["se"], rtol)
    _close(pr.ci.low, ref["ci_low"], rtol, scale)
    _close(pr.ci.high, ref["ci_high"], rtol, scale)
    _close(pr.pi.low, ref["pi_low"], rtol, scale)
    _close(pr.pi.high, ref["pi_high"], rtol, scale)
    if res.p == 1 and res.design_info.intercept:
        assert res.pi.low == pytest.approx(pr.pi.low[0], rel=1e-14)
        assert res.pi.high == pytest.approx(pr.pi.high[0], rel=1e-14)


def _lrt_at(case, res, j, value):
    """-2 (ll(σ²_j = value, others re-estimated) - ll̂), through the public API."""
    fixed = [None] * len(res.sigma2)
    for i, is_fixed in enumerate(res.fixed):
        if is_fixed:
            fixed[i] = float(res.sigma2[i])
    fixed[j] = value
    sub = dict(case, sigma2_fixed=fixed)
    refit = _fit(sub, profile=False)
    return -2.0 * (refit.loglik - res.loglik)


PROFILE_CASES = [c for c in CASES if "sigma2_ci_low" in c]


@pytest.mark.parametrize("case", PROFILE_CASES, ids=[c["name"] for c in PROFILE_CASES])
def test_profile_intervals(case):
    res = fitted(case)
    crit = stats.chi2.ppf(0.95, 1)
    for j in range(len(res.sigma2)):
        if res.fixed[j]:
            assert math.isnan(res.sigma2_ci.low[j]) and math.isnan(res.sigma2_ci.high[j])
            continue
        for side, got, want in (
            ("low", res.sigma2_ci.low[j], case["sigma2_ci_low"][j]),
            ("high", res.sigma2_ci.high[j], case["sigma2_ci_high"][j]),
        ):
            assert got <= res.sigma2[j] if side == "low" else got >= res.sigma2[j]
            metafor_ok = want is not None and case["name"] != "assink2016_vcalc_rho06"
            if metafor_ok:
                np.testing.assert_allclose(got, want, rtol=RTOL_PROFILE, atol=1e-9)
            elif got > 0 and math.isfinite(got):
                # The definition: the profile log-likelihood is χ²₁/2 below the maximum.
                assert _lrt_at(case, res, j, float(got)) == pytest.approx(crit, abs=1e-6)
            if want is not None and case["name"] == "assink2016_vcalc_rho06":
                # metafor's confint reported convergence problems here and its bound is
                # not a root: the profile at it is 0.44 below the cut-off.
                assert _lrt_at(case, res, j, float(want)) < crit - 0.1


def test_boundary_is_reported_and_exactly_zero():
    res = fitted(next(c for c in CASES if c["name"] == "generated_boundary"))
    assert res.boundary.tolist() == [False, True]
    assert res.sigma2[1] == 0.0
    assert res.sigma2_ci.low[1] == 0.0
    assert any("boundary" in n for n in res.notes)


def test_fixed_components_are_not_estimated():
    case = next(c for c in CASES if c["name"] == "generated_fixed_sigma2")
    res = fitted(case)
    assert res.fixed.tolist() == [False, True]
    assert res.sigma2[1] == 0.01
    assert not res.boundary.any()


def test_vcalc_matches_metafor():
    for ref in load_reference(MULTILEVEL)["vcalc"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mp.exceptions.DegenerateDataWarning)
            V = mp.vcalc(ref["vi"], ref["cluster"], ref["obs"], rho=ref["rho"])
        np.testing.assert_allclose(V, np.array(ref["V"]), rtol=1e-15, atol=0)


def test_vcalc_without_obs_makes_every_row_its_own_observation():
    V = mp.vcalc([0.1, 0.4, 0.2], [1, 1, 2], rho=0.5)
    assert V[0, 1] == pytest.approx(0.5 * math.sqrt(0.04))
    assert V[0, 2] == 0.0 and V[1, 2] == 0.0
    np.testing.assert_array_equal(np.diag(V), [0.1, 0.4, 0.2])


def test_vcalc_warns_on_a_singular_block():
    with pytest.warns(mp.exceptions.DegenerateDataWarning, match="not positive definite"):
        mp.vcalc([0.1, 0.2], [1, 1], [1, 1], rho=0.3)


def test_block_diag():
    B = mp.block_diag([np.eye(2), [[3.0]]])
    np.testing.assert_array_equal(B, [[1, 0, 0], [0, 1, 0], [0, 0, 3]])
    with pytest.raises(InvalidDataError, match="block 1 must be a square"):
        mp.block_diag([np.ones((2, 3))])


def test_vcalc_v_equals_given_v():
    case = next(c for c in CASES if c["name"] == "assink2016_vcalc_rho06")
    V = mp.vcalc(case["vi"], case["levels"]["study"], case["levels"]["esid"], rho=0.6)
    np.testing.assert_allclose(V, np.array(case["V"]), rtol=1e-15)


def test_large_model_is_fast():
    """k = 1000 effect sizes in 100 studies: the fit (without profile intervals) must
    take well under a second (measured about 0.1 s on the CI machine)."""
    rng = np.random.default_rng(7)
    study = np.repeat(np.arange(100), 10)
    vi = rng.uniform(0.01, 0.1, 1000)
    y = 0.3 + rng.normal(0, 0.2, 100)[study] + rng.normal(0, 0.15, 1000)
    y = y + rng.normal(0, np.sqrt(vi))
    eff = mp.GenericEffect(yi=y, vi=vi)
    levels = {"study": study, "es": np.tile(np.arange(10), 100)}
    mp.MultilevelModel(profile=False).fit(
        eff.subset(range(50)), levels={"study": study[:50], "es": levels["es"][:50]}
    )  # warm-up (imports)
    t0 = time.perf_counter()
    res = mp.MultilevelModel(profile=False).fit(eff, levels=levels)
    elapsed = time.perf_counter() - t0
    assert res.converged
    assert elapsed < 0.8, elapsed


def test_result_serialisation_and_frames():
    res = fitted(CASES[0])
    d = res.to_dict()
    assert d["level_names"] == ["district", "school"]
    assert len(d["sigma2"]) == 2
    pytest.importorskip("pandas")
    frame = res.to_frame()
    assert list(frame.columns[:3]) == ["label", "district", "school"]
    assert len(frame) == res.k
    np.testing.assert_allclose(frame["residual"], res.yi - res.design @ res.coef)
    assert res.summary_frame()["term"].tolist() == ["intercept"]
    vf = res.variance_frame()
    assert vf["level"].tolist() == ["district", "school"]
    text = res.summary()
    assert "district" in text and "logLik" in text
    ci90 = res.confidence_interval(0.9)
    assert ci90.low[0] > res.ci.low[0]


def test_marginal_covariance_and_contract_attributes():
    case = next(c for c in CASES if c["name"] == "assink2016_deltype_reml")
    res = fitted(case)
    k = res.k
    assert res.design.shape == (k, res.p) and res.coef_names[0] == "intercept"
    M = res.marginal_covariance
    same_study = res.level_codes[0][:, None] == res.level_codes[0][None, :]
    same_es = res.level_codes[1][:, None] == res.level_codes[1][None, :]
    expected = np.diag(res.vi) + res.sigma2[0] * same_study + res.sigma2[1] * same_es
    np.testing.assert_allclose(M, expected, rtol=1e-15)
    W = np.linalg.inv(M)
    XtWX = res.design.T @ W @ res.design
    np.testing.assert_allclose(res.vcov, np.linalg.inv(XtWX), rtol=1e-9)
    beta = np.linalg.solve(XtWX, res.design.T @ W @ res.yi)
    np.testing.assert_allclose(res.coef, beta, rtol=1e-9)
    assert res.method == "REML" and res.ci_method == "z" and res.dfs == "residual"
    assert res.level == 0.95 and len(res.labels) == k


# ----------------------------------------------------------------- bad input

EFF = mp.GenericEffect(
    yi=[0.1, 0.3, 0.2, 0.6, 0.5],
    vi=[0.02, 0.03, 0.02, 0.04, 0.03],
    labels=["A", "B", "C", "D", "E"],
)


def test_bad_parameters():
    with pytest.raises(InvalidParameterError, match="'method'"):
        mp.MultilevelModel(method="DL")
    with pytest.raises(InvalidParameterError, match="'ci'"):
        mp.MultilevelModel(ci="hksj")
    with pytest.raises(InvalidParameterError, match="'dfs'"):
        mp.MultilevelModel(dfs="satterthwaite")
    with pytest.raises(InvalidParameterError, match=r"'sigma2'.*entry 2"):
        mp.MultilevelModel(sigma2=[None, -1.0])


def test_bad_levels():
    with pytest.raises(MetapoolTypeError, match="'levels' must be a mapping"):
        mp.MultilevelModel().fit(EFF, levels=[1, 1, 2, 2, 3])
    with pytest.raises(
        InvalidDataError,
        match=r"level 'study' has a missing value \(None\) at "
        r"study 3 \('C'\)",
    ):
        mp.MultilevelModel().fit(EFF, levels={"study": [1, 1, None, 2, 3]})
    with pytest.raises(InvalidDataError, match="level 'study' has 4 values; expected"):
        mp.MultilevelModel().fit(EFF, levels={"study": [1, 1, 2, 2]})
    with pytest.raises(InvalidDataError, match="'a' and 'b' group the effect sizes"):
        mp.MultilevelModel().fit(EFF, levels={"a": [1, 1, 2, 2, 3], "b": [1, 1, 1, 1, 1]})
    with pytest.raises(InvalidDataError, match="'sigma2' of the model has 1 value"):
        mp.MultilevelModel(sigma2=[0.1]).fit(
            EFF, levels={"a": [1, 1, 2, 2, 3], "b": [1, 2, 1, 2, 1]}
        )


def test_bad_v():
    levels = {"study": [1, 1, 2, 2, 3]}
    with pytest.raises(InvalidDataError, match="'V' must be 5 x 5"):
        mp.MultilevelModel().fit(EFF, levels=levels, V=np.eye(4))
    V = np.diag(EFF.vi)
    V[0, 1] = 0.01
    with pytest.raises(InvalidDataError, match=r"'V' must be symmetric; V\[1, 2\]"):
        mp.MultilevelModel().fit(EFF, levels=levels, V=V)
    V = np.diag(EFF.vi)
    V[2, 2] = 0.0
    with pytest.raises(InvalidDataError, match=r"row 3 has 0\.0"):
        mp.MultilevelModel().fit(EFF, levels=levels, V=V)


# ----------------------------------------------------------------- forest plot


def test_forest_plot_groups_rows_by_the_outer_level():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    case = next(c for c in CASES if c["name"] == "konstantopoulos2011_reml")
    res = fitted(case)
    fig = res.plot_forest()
    ax = fig.axes[0]
    n_districts = res.n_groups[0]
    squares = [a for a in ax.lines if a.get_gid() == "ml-square"]
    cis = [a for a in ax.lines if a.get_gid() == "ml-ci"]
    assert len(squares) == len(cis) == res.k
    labels = [t.get_text() for t in ax.get_yticklabels()]
    headings = [t for t in labels if t.startswith("district ")]
    assert len(headings) == n_districts
    assert headings[0] == f"district {case['levels']['district'][0]}"
    assert len(labels) == res.k + n_districts + 1 and labels[-1] == "Pooled estimate"
    # Each effect's CI line spans yi ± z·se, and the diamond spans the pooled CI.
    for line, y, v in zip(cis, res.yi, res.vi, strict=True):
        x0, x1 = line.get_xdata()
        assert x0 == pytest.approx(y - 1.959963984540054 * math.sqrt(v))
        assert x1 == pytest.approx(y + 1.959963984540054 * math.sqrt(v))
    diamond = next(p for p in ax.patches if p.get_gid() == "ml-diamond")
    xs = diamond.get_xy()[:, 0]
    assert xs.min() == pytest.approx(res.ci.low[0]) and xs.max() == pytest.approx(res.ci.high[0])
    pi = next(a for a in ax.lines if a.get_gid() == "ml-pi")
    assert tuple(pi.get_xdata()) == pytest.approx((res.pi.low, res.pi.high))
    plt.close(fig)


def test_forest_plot_log_axis_for_ratios():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rr = mp.RiskRatio(
        events1=[4, 6, 3, 10], n1=[50, 60, 40, 80], events2=[8, 9, 7, 12], n2=[50, 60, 40, 80]
    )
    res = mp.MultilevelModel(profile=False).fit(
        rr, levels={"trial": ["a", "a", "b", "b"], "arm": [1, 2, 1, 2]}
    )
    fig = res.plot_forest(title="Trials")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "Trials"
    square = next(a for a in ax.lines if a.get_gid() == "ml-square")
    assert square.get_xdata()[0] == pytest.approx(math.exp(res.yi[0]))
    plt.close(fig)


# ----------------------------------------------------------------- edge cases


def test_single_group_level_warns():
    eff = mp.GenericEffect(yi=[0.1, 0.5, 0.2, 0.6, 0.4], vi=[0.02] * 5)
    with pytest.warns(mp.exceptions.DegenerateDataWarning, match="single group"):
        res = mp.MultilevelModel(profile=False).fit(
            eff, levels={"all": [1] * 5, "es": [1, 2, 3, 4, 5]}
        )
    assert any("single group" in n for n in res.notes)


def test_non_convergence_is_flagged_and_warned(monkeypatch):
    import functools

    # The globals the fit really uses (the module may be imported twice when its
    # doctests are collected too).
    namespace = mp.MultilevelModel.fit.__globals__
    limited = functools.partial(namespace["fit_components"], maxiter=1)
    monkeypatch.setitem(namespace, "fit_components", limited)
    case = next(c for c in CASES if c["name"] == "assink2016_reml")
    with pytest.warns(mp.exceptions.ConvergenceWarning, match="did not converge"):
        res = _fit(case, profile=False)
    assert not res.converged
    assert any("did not converge" in n for n in res.notes)


def test_missing_moderator_omitted_and_levels_follow():
    eff = mp.GenericEffect(yi=[0.1, 0.5, 0.2, 0.6, 0.4, 0.3], vi=[0.02] * 6)
    levels = {"s": [1, 1, 2, 2, 3, 3], "e": [1, 2, 1, 2, 1, 2]}
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        res = mp.MultilevelModel(nan_policy="omit", profile=False).fit(
            eff, levels=levels, moderators={"x": [1.0, None, 2.0, 3.0, 1.5, 2.5]}
        )
    sub = mp.MultilevelModel(profile=False).fit(
        eff.subset([0, 2, 3, 4, 5]),
        levels={"s": [1, 2, 2, 3, 3], "e": [1, 1, 2, 1, 2]},
        moderators={"x": [1.0, 2.0, 3.0, 1.5, 2.5]},
    )
    assert res.k == 5 and [e.index for e in res.excluded] == [1]
    np.testing.assert_allclose(res.coef, sub.coef, rtol=1e-12)
    np.testing.assert_allclose(res.sigma2, sub.sigma2, rtol=1e-12, atol=1e-15)


def test_levels_may_follow_the_rows_as_given():
    """Levels of the length given to an effect set that left studies out."""
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        eff = mp.GenericEffect(yi=[0.1, None, 0.5, 0.2, 0.6, 0.4], vi=[0.02] * 6, nan_policy="omit")
    assert eff.k == 5
    as_given = {"s": [1, 1, 1, 2, 2, 3], "e": [1, 2, 3, 1, 2, 1]}
    kept = {"s": [1, 1, 2, 2, 3], "e": [1, 3, 1, 2, 1]}
    a = mp.MultilevelModel(profile=False).fit(eff, levels=as_given)
    b = mp.MultilevelModel(profile=False).fit(eff, levels=kept)
    assert a.loglik == b.loglik
    assert a.group_ids[0] == ("1", "2", "3")


def test_v_across_clusters_merges_blocks():
    """A V that correlates effect sizes of different studies is used as given: the
    fit equals the dense generalised least squares with that V."""
    eff = mp.GenericEffect(
        yi=[0.1, 0.5, 0.2, 0.6, 0.4, 0.3], vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.02]
    )
    V = np.diag(eff.vi)
    V[1, 2] = V[2, 1] = 0.01  # studies 1 and 2 share a control group
    res = mp.MultilevelModel(sigma2=[0.05]).fit(eff, levels={"s": [1, 1, 2, 2, 3, 3]}, V=V)
    M = V + 0.05 * np.kron(np.eye(3), np.ones((2, 2)))
    W = np.linalg.inv(M)
    X = np.ones((6, 1))
    vb = np.linalg.inv(X.T @ W @ X)
    np.testing.assert_allclose(res.coef, vb @ X.T @ W @ eff.yi, rtol=1e-12)
    np.testing.assert_allclose(res.vcov, vb, rtol=1e-12)
    np.testing.assert_allclose(res.marginal_covariance, M, rtol=1e-15)


# ----------------------------------------------------------------- batches


def test_fit_batch_equals_single_fits():
    rng = np.random.default_rng(11)
    study = np.repeat(np.arange(10), [1, 2, 3, 2, 4, 1, 2, 3, 2, 3])
    k = study.size
    es = np.concatenate([np.arange(c) for c in np.bincount(study)])
    x = rng.normal(size=k)
    vi = rng.uniform(0.01, 0.08, (6, k))
    y = 0.2 + 0.1 * x + rng.normal(0, 0.25, (6, 10))[:, study] + rng.normal(0, 0.1, (6, k))
    y = y + rng.normal(0, np.sqrt(vi))
    levels = {"study": study, "es": es}
    model = mp.MultilevelModel("ML", ci="t", dfs="contain")
    batch = model.fit_batch(y, vi, levels, moderators={"x": x})
    assert batch.coef.shape == (6, 2) and batch.sigma2.shape == (6, 2) and batch.n == 6
    ml = mp.MultilevelModel("ML", ci="t", dfs="contain", profile=False)
    for a in range(6):
        one = ml.fit(mp.GenericEffect(yi=y[a], vi=vi[a]), levels, moderators={"x": x})
        np.testing.assert_array_equal(batch.coef[a], one.coef)
        np.testing.assert_array_equal(batch.se[a], one.se)
        np.testing.assert_array_equal(batch.sigma2[a], one.sigma2)
        np.testing.assert_array_equal(batch.ci.low[a], one.ci.low)
        np.testing.assert_array_equal(batch.pvalue[a], one.pvalue)
        np.testing.assert_array_equal(batch.boundary[a], one.boundary)
        assert batch.loglik[a] == one.loglik
        np.testing.assert_array_equal(batch.df, one.df)


def test_fit_batch_with_v_and_errors():
    case = next(c for c in CASES if c["name"] == "assink2016_vcalc_rho06")
    V = np.array(case["V"])
    y = np.stack([case["yi"], case["yi"]])
    batch = mp.MultilevelModel().fit_batch(y, None, case["levels"], V=V)
    np.testing.assert_allclose(batch.sigma2[1], case["sigma2"], rtol=RTOL)
    assert batch.loglik[0] == batch.loglik[1]
    bad = y.copy()
    bad[1, 4] = np.nan
    with pytest.raises(InvalidDataError, match="analysis 2, effect size 5"):
        mp.MultilevelModel().fit_batch(bad, None, case["levels"], V=V)
    with pytest.raises(InvalidDataError, match="shape"):
        mp.MultilevelModel().fit_batch(case["yi"], case["vi"], case["levels"])


def test_vcalc_refuses_a_missing_cluster_naming_the_effect():
    with pytest.raises(
        InvalidDataError, match=r"vcalc: 'cluster' has a missing value \(None\) at study 3;"
    ):
        mp.vcalc([0.1, 0.2, 0.3], [1, 1, None], rho=0.5)


def test_an_interior_maximum_beyond_a_boundary_one_is_found():
    """Regression (found by Hypothesis): the REML likelihood of these data has a local
    maximum at sigma^2 = 0 (score -0.074 there) and the global one inside; the ascent
    from metafor's start stopped at 0. R 4.2.2 / metafor 3.8-1:
    ``rma.mv(y, v, random = ~ 1 | id, control = list(rel.tol = 1e-12))`` gives
    sigma^2 = 0.114743900141, while ``rma(y, v, method = "REML")`` stops at the
    boundary 0 with logLik -16.8733, below rma.mv's (metapool's univariate REML
    finds the interior maximum too)."""
    y = np.array([0, 0, 0, 0, 0, 0, -0.2, 0, 0, -0.17782794, 1, 2, 2, 2.0])
    v = np.array([1, 1, 1, 1, 1, 1, 0.01, 1, 1, 0.03162278, 1, 1, 1, 1.0])
    eff = mp.GenericEffect(yi=y, vi=v)
    re = mp.RandomEffects(tau2="REML").fit(eff)
    ml = mp.MultilevelModel(profile=False).fit(eff, levels={"id": np.arange(14)})
    # 1e-6: rma.mv's optimiser stops at rel.tol on the likelihood, not on sigma^2
    assert re.tau2 == pytest.approx(0.114743900141, rel=1e-6)
    assert ml.sigma2[0] == pytest.approx(0.114743900141, rel=1e-6)
    assert any("lower local maximum" in note for note in ml.notes)
