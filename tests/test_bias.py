"""metapool.bias (Egger, Begg, trim and fill) against pinned metafor 3.8-1 output, plus
laws checked with Hypothesis, and the errors and warnings.

The reference is ``tests/reference/small_study_effects.json``, written by
``tests/reference/make_small_study_effects.R`` (``regtest``, ``ranktest``, ``trimfill``
on seven datasets; see the script's header for what each record is).

Tolerances (relative, with an absolute floor for values that are exactly 0):

* ``RTOL_CLOSED = 1e-10`` for everything computed in closed form: the classic
  (``"lm"``) regression, common-effect and DL/HE/SJ/HS meta-regressions and
  fits, Kendall's tau, the SE of k0, the filled effects of FE/DL fits. Both
  programs evaluate the same formulas in double precision; the largest
  difference measured is about 5e-13 (largest on tiny p-values and on Q
  p-values of 1e-46), so 1e-10 leaves room for summation order while a wrong
  formula would be off by far more.
* ``RTOL_ITERATIVE = 1e-9`` where a τ² is found iteratively (REML, ML, PM, EB)
  and for Q-profile bounds: metafor was run with its convergence threshold at
  1e-13 × var(yi) (``control`` passed through ``regtest``/``trimfill``) and
  metapool solves to about 1e-12 × min(vi); the largest difference measured
  is about 4e-12.
* ``TAU2_ATOL = 1e-12 × mean(vi)`` for τ²: where the (RE)ML maximum is on the
  boundary, metapool returns exactly 0 while metafor's Fisher scoring stops at
  a few 1e-15 (hackshaw1998_k5: 3.4e-15 for REML).
* Begg p-values: ``RTOL_CLOSED`` plus ``P_ATOL = 1e-12``. R computes an
  upper-tail exact p-value as ``1 - P(T <= q - 1)`` from summed counts, with an
  absolute error up to about 1e-13 (lehmann2018: 6.5e-14, while metapool's
  value agrees with an exact rational computation to one ulp).
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.bias._begg import kendall_cdf, kendall_tau
from metapool.exceptions import (
    ConvergenceWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from tests._reference import FIELDS, SMALL_STUDY_EFFECTS, is_missing, load_reference

RTOL_CLOSED = 1e-10
RTOL_ITERATIVE = 1e-9
ATOL = 1e-13
TAU2_ATOL_FACTOR = 1e-12
P_ATOL = 1e-12
ITERATIVE = {"REML", "ML", "PM", "EB"}
TEST_TO_CI = {"z": "z", "knha": "hksj", "adhoc": "hksj-adhoc", "t": "t"}


def reference() -> dict[str, Any]:
    return load_reference(SMALL_STUDY_EFFECTS)


def datasets() -> list[dict[str, Any]]:
    return list(reference()["datasets"])


def dataset(name: str) -> dict[str, Any]:
    return next(d for d in datasets() if d["name"] == name)


def effects_of(ds: dict[str, Any]) -> mp.GenericEffect:
    # The bias methods see only yi/vi; metafor's values are used as given (effect-size
    # computation is tested in test_models_metafor.py), so ties in vi are exactly R's.
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])


def model_of(method: str, test: str, level: float) -> mp.CommonEffect | mp.RandomEffects:
    ci = TEST_TO_CI[test]
    if method in ("FE", "EE"):
        return mp.CommonEffect(ci=ci, level=level)
    return mp.RandomEffects(tau2=method, ci=ci, level=level)


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with the small-k warning silenced (it has its own tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return fn(*args, **kwargs)


def close(got: float | None, ref: float | None, rtol: float, atol: float = ATOL) -> bool:
    if is_missing(ref):
        return got is None or math.isnan(got)
    assert got is not None
    return abs(got - ref) <= atol + rtol * abs(ref)


def rtol_for(method: str | None) -> float:
    return RTOL_ITERATIVE if method in ITERATIVE else RTOL_CLOSED


# ---------------------------------------------------------------------------- provenance


def test_reference_file_records_its_provenance() -> None:
    ref = reference()
    assert ref["metafor_version"] == "3.8.1"
    assert ref["generated_by"] == "tests/reference/make_small_study_effects.R"
    names = {d["name"] for d in datasets()}
    assert {"bcg_rr", "hackshaw1998", "egger2001_or", "bangertdrowns2004"} <= names
    sides = {
        t["side"]
        for d in datasets()
        for t in d["trimfill"]
        if t["side_given"] is None and t["error"] is None
    }
    assert sides == {"left", "right"}  # both sides are filled somewhere


# ---------------------------------------------------------------------------- Egger

EGGER_FIELDS = {
    "statistic": lambda r: r.statistic,
    "pvalue": lambda r: r.pvalue,
    "intercept": lambda r: r.intercept,
    "intercept_se": lambda r: r.se,
    "intercept_ci_low": lambda r: r.ci.low,
    "intercept_ci_high": lambda r: r.ci.high,
    "limit_estimate": lambda r: r.limit_estimate,
    "limit_se": lambda r: r.limit_se,
    "limit_ci_low": lambda r: r.limit_ci.low,
    "limit_ci_high": lambda r: r.limit_ci.high,
    "sigma2": lambda r: r.dispersion,
}


def _regtest_cases() -> list[Any]:
    return [
        pytest.param(
            ds["name"],
            rec,
            id=f"{ds['name']}-{rec['model']}-{rec['method']}-{rec['test']}-{rec['level']}",
        )
        for ds in datasets()
        for rec in ds["regtest"]
    ]


def _check_egger(eg: mp.EggerResult, rec: dict[str, Any], vi: list[float]) -> None:
    rtol = rtol_for(rec["method"])
    failures = [
        f"{name}: metapool {get(eg)!r} vs metafor {rec[name]!r}"
        for name, get in EGGER_FIELDS.items()
        if not close(get(eg), rec[name], rtol)
    ]
    tau2_atol = TAU2_ATOL_FACTOR * float(np.mean(vi))
    if not close(eg.tau2, rec["tau2"], rtol, tau2_atol):
        failures.append(f"tau2: metapool {eg.tau2!r} vs metafor {rec['tau2']!r}")
    assert not failures, "\n".join(failures)
    assert eg.df == rec["df"]
    assert eg.level == pytest.approx(rec["level"])


@pytest.mark.parametrize(("name", "rec"), _regtest_cases())
def test_egger_matches_regtest(name: str, rec: dict[str, Any]) -> None:
    ds = dataset(name)
    eff = effects_of(ds)
    if rec["model"] == "lm":
        eg = quiet(mp.egger_test, eff, "lm")
        assert eg.ci_method == "t" and eg.tau2 is None
    else:
        res = quiet(model_of(rec["method"], rec["test"], rec["level"]).fit, eff)
        eg = quiet(mp.egger_test, res, "rma")
        assert eg.ci_method == TEST_TO_CI[rec["test"]]
    assert eg.k == len(ds["yi"]) and eg.converged
    _check_egger(eg, rec, ds["vi"])


def test_egger_on_mantel_haenszel_fit_is_a_common_effect_regression_as_metafor() -> None:
    ds = dataset("bcg_rr")
    inp = ds["input"]
    mh = mp.MantelHaenszel().fit(mp.RiskRatio(**inp))
    np.testing.assert_allclose(mh.yi, ds["yi"], rtol=RTOL_CLOSED)
    eg = mp.egger_test(mh, "rma")
    _check_egger(eg, ds["regtest_mh"], ds["vi"])
    assert eg.tau2 == 0.0 and eg.tau2_method is None and "MantelHaenszel" in eg.notes[0]
    bg = mp.begg_test(mh)
    assert close(bg.statistic, ds["ranktest_mh"]["statistic"], RTOL_CLOSED)
    assert close(bg.pvalue, ds["ranktest_mh"]["pvalue"], RTOL_CLOSED, P_ATOL)


def test_egger_on_effects_uses_metafors_vector_defaults() -> None:
    # regtest(yi, vi) fits REML with a z test at 95%, and so does egger_test(effects, "rma").
    eff = effects_of(dataset("hackshaw1998"))
    from_effects = mp.egger_test(eff, "rma")
    from_fit = mp.egger_test(mp.RandomEffects(tau2="REML").fit(eff), "rma")
    assert from_effects == from_fit
    assert from_effects.tau2_method == "REML" and from_effects.df is None
    # The classic test does not depend on the fit.
    assert mp.egger_test(eff) == mp.egger_test(mp.RandomEffects(tau2="DL").fit(eff))


def test_egger_level_argument_overrides_the_fits_level() -> None:
    ds = dataset("hackshaw1998")
    rec = next(r for r in ds["regtest"] if r["method"] == "REML" and r["level"] == 0.9)
    eg = mp.egger_test(effects_of(ds), "rma", level=0.9)
    _check_egger(eg, rec, ds["vi"])


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "ML"])
@pytest.mark.parametrize("ci", ["z", "hksj", "t"])
def test_egger_rma_agrees_with_metaregression_on_sei(method: str, ci: str) -> None:
    eff = effects_of(dataset("bangertdrowns2004"))
    eg = mp.egger_test(mp.RandomEffects(tau2=method, ci=ci).fit(eff), "rma")
    reg = mp.MetaRegression(tau2=method, ci=ci).fit(eff, np.sqrt(eff.vi))
    np.testing.assert_allclose(
        [eg.limit_estimate, eg.intercept], reg.coef, rtol=RTOL_CLOSED, atol=ATOL
    )
    np.testing.assert_allclose([eg.limit_se, eg.se], reg.se, rtol=RTOL_CLOSED)
    assert eg.pvalue == pytest.approx(reg.pvalue[1], rel=RTOL_CLOSED)
    assert eg.tau2 == pytest.approx(reg.tau2, rel=RTOL_CLOSED, abs=ATOL)


def test_egger_slope_is_the_limit_estimate() -> None:
    eg = mp.egger_test(effects_of(dataset("hackshaw1998")))
    assert eg.slope == eg.limit_estimate


# ---------------------------------------------------------------------------- Begg


@pytest.mark.parametrize("name", [d["name"] for d in datasets()])
def test_begg_matches_ranktest(name: str) -> None:
    ds = dataset(name)
    rec = ds["ranktest"]
    bg = quiet(mp.begg_test, effects_of(ds))
    assert close(bg.statistic, rec["statistic"], RTOL_CLOSED)
    assert close(bg.pvalue, rec["pvalue"], RTOL_CLOSED, P_ATOL)
    assert bg.exact == rec["exact"]
    if not rec["exact"]:
        assert rec["warnings"] == ["Cannot compute exact p-value with ties"]
        assert any("ties" in n for n in bg.notes)


def test_kendall_cdf_matches_enumeration_of_permutations() -> None:
    for n in range(1, 8):
        m = n * (n - 1) // 2
        counts = np.zeros(m + 1)
        for perm in itertools.permutations(range(n)):
            counts[sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))] += 1
        cdf = np.cumsum(counts) / math.factorial(n)
        got = [kendall_cdf(c, n) for c in range(m + 1)]
        np.testing.assert_allclose(got, cdf, rtol=1e-14)
        assert kendall_cdf(-1, n) == 0.0


def test_kendall_cdf_keeps_relative_precision_in_the_far_tail() -> None:
    # Exact rational counts (Mahonian numbers) for n = 40, built with Python integers.
    n = 40
    counts = [1]
    for m in range(2, n + 1):
        prefix = [0, *itertools.accumulate(counts)]
        counts = [
            prefix[min(j + 1, len(counts))] - prefix[max(j - m + 1, 0)]
            for j in range(len(counts) + m - 1)
        ]
    for c in (0, 1, 5, 40, 150, 300, 390):
        exact = Fraction(sum(counts[: c + 1]), math.factorial(n))
        assert kendall_cdf(c, n) == pytest.approx(float(exact), rel=1e-13)


# ---------------------------------------------------------------------------- trim and fill


def _trimfill_cases() -> list[Any]:
    return [
        pytest.param(
            ds["name"],
            rec,
            id=f"{ds['name']}-{rec['method']}-{rec['test']}-{rec['estimator']}"
            f"-{rec['side_given'] or 'auto'}",
        )
        for ds in datasets()
        for rec in ds["trimfill"]
    ]


@pytest.mark.parametrize(("name", "rec"), _trimfill_cases())
def test_trim_and_fill_matches_trimfill(name: str, rec: dict[str, Any]) -> None:
    ds = dataset(name)
    eff = effects_of(ds)
    res = quiet(model_of(rec["method"], rec["test"], rec["level"]).fit, eff)
    if rec["error"] is not None:
        # Q0 undefined: metafor stops with "missing value where TRUE/FALSE needed".
        assert rec["estimator"] == "Q0"
        with pytest.raises(InvalidDataError, match="Q0 is not defined"):
            quiet(mp.trim_and_fill, res, rec["estimator"], rec["side_given"])
        return
    tf = quiet(mp.trim_and_fill, res, rec["estimator"], rec["side_given"])
    assert (tf.k0, tf.side) == (rec["k0"], rec["side"])
    assert tf.side_estimated == (rec["side_given"] is None)
    assert close(tf.se_k0, rec["se_k0"], RTOL_CLOSED)
    assert tf.pvalue_k0 == rec["p_k0"]  # 2^-(k0+1), exact in both
    rtol = rtol_for(rec["method"])
    np.testing.assert_allclose(tf.filled.yi, rec["fill_yi"], rtol=rtol, atol=ATOL)
    np.testing.assert_array_equal(tf.filled.vi, rec["fill_vi"])
    assert tf.filled.labels == tuple(f"Filled {i + 1}" for i in range(tf.k0))
    assert tf.converged

    adj, ref = tf.adjusted, rec["adjusted"]
    assert adj.k == ref["k"] == len(ds["yi"]) + tf.k0
    assert adj.q_df == ref["q_df"]
    assert adj.df == ref["df"]
    assert adj.ci_method == TEST_TO_CI[rec["test"]] and adj.level == pytest.approx(rec["level"])
    tau2_atol = TAU2_ATOL_FACTOR * float(np.mean(ds["vi"]))
    failures = []
    for field, get in FIELDS.items():
        value = ref.get(field)
        if is_missing(value) and field.startswith(("pi_", "tau2_ci", "i2_ci", "h2_ci")):
            continue  # not computed by metafor for a common-effect fit
        # Q-profile bounds are iterative for every estimator.
        ftol = RTOL_ITERATIVE if field.endswith(("_ci_low", "_ci_high")) else rtol
        atol = tau2_atol if field.startswith("tau2") else ATOL
        if not close(get(adj), value, ftol, atol):
            failures.append(f"{field}: metapool {get(adj)!r} vs metafor {value!r}")
    assert not failures, "\n".join(failures)
    np.testing.assert_allclose(adj.weights, ref["weights"], rtol=rtol, atol=ATOL)


def test_trim_and_fill_keeps_the_model_settings_unlike_metafors_default_refit() -> None:
    # metafor's trimfill refits the filled data with test = "z", level = 95 unless they
    # are passed again; metapool refits with the result's own model.
    eff = effects_of(dataset("hackshaw1998"))
    res = mp.RandomEffects(tau2="PM", ci="hksj", level=0.9).fit(eff)
    tf = mp.trim_and_fill(res)
    assert tf.k0 > 0
    assert tf.adjusted.model == res.model
    assert (tf.adjusted.ci_method, tf.adjusted.level, tf.adjusted.tau2_method) == (
        "hksj",
        0.9,
        "PM",
    )


def test_trim_and_fill_without_missing_studies_returns_the_original_fit() -> None:
    ds = dataset("lehmann2018")
    res = mp.RandomEffects(tau2="REML").fit(effects_of(ds))
    tf = mp.trim_and_fill(res)
    assert tf.k0 == 0
    assert tf.adjusted is res
    assert tf.filled.k == 0 and tf.filled_from == ()


def test_trim_and_fill_summary_and_dict() -> None:
    res = mp.RandomEffects(tau2="REML").fit(effects_of(dataset("egger2001_or")))
    tf = mp.trim_and_fill(res)
    text = tf.summary()
    assert "Estimated number of missing studies on the right side: 7" in text
    assert "Filled 7" in text and "Adjusted analysis" in text and "Random-effects model" in text
    out = tf.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["k0"] == 7 and out["adjusted"]["k"] == 23
    assert out["filled"]["labels"][0] == "Filled 1"
    assert out["original_estimate"] == res.estimate
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        tf.k0 = 0  # type: ignore[misc]


def test_egger_and_begg_summary_and_dict() -> None:
    eff = effects_of(dataset("egger2001_or"))
    eg = mp.egger_test(mp.RandomEffects().fit(eff), "rma")
    bg = mp.begg_test(eff)
    assert "Test for funnel-plot asymmetry: z = -4.6686" in eg.summary()
    assert "Limit estimate (as sei -> 0)" in str(eg) and "tau^2 = 0.0116" in str(eg)
    assert "Kendall's tau = 0.1500" in bg.summary() and "(exact)" in str(bg)
    for result in (eg, bg, mp.egger_test(eff)):
        out = result.to_dict()
        json.dumps(out, allow_nan=False)
        assert set(out) == {f.name for f in attrs.fields(type(result))}
    assert mp.egger_test(eff).to_dict()["tau2"] is None


# ---------------------------------------------------------------------------- laws

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def funnel(draw: Any, min_k: int = 3, max_k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """(yi, vi) of a funnel plot, possibly asymmetric (effects growing with the SE)."""
    k = draw(st.integers(min_k, max_k))
    log_v = np.array(draw(st.lists(st.floats(-2.5, 0.5), min_size=k, max_size=k)))
    assume(np.ptp(log_v) > 1e-3)  # equal variances: no regression on the SE (own test)
    vi = 10.0**log_v
    z = np.array(draw(st.lists(st.floats(-2.5, 2.5), min_size=k, max_size=k)))
    mu = draw(st.floats(-1, 1))
    tau = draw(st.sampled_from([0.0, 0.2]))
    bias = draw(st.sampled_from([0.0, 1.0, -2.0]))
    yi = mu + bias * np.sqrt(vi) + z * np.sqrt(vi + tau**2)
    return yi, vi


def _gen(yi: np.ndarray, vi: np.ndarray) -> mp.GenericEffect:
    return mp.GenericEffect(yi=yi, vi=vi)


def _egger_fit_is_exact(yi: np.ndarray, vi: np.ndarray) -> bool:
    """Whether Egger's regression fits (numerically) perfectly, e.g. equal effects:
    its residual variance is then rounding noise and the t statistic and p-value are
    noise too (p = 1.0 or 0.997 by the order of summation), so the laws below are
    stated for fits whose residuals are above rounding."""
    sei = np.sqrt(vi)
    design = np.column_stack([np.ones_like(sei), sei])
    w = 1 / vi
    coef = np.linalg.lstsq(design * np.sqrt(w)[:, None], yi * np.sqrt(w), rcond=None)[0]
    rss = float((w * (yi - design @ coef) ** 2).sum())
    return rss <= 1e-16 * float((w * yi**2).sum() + 1)


@FAST
@given(data=funnel(), seed=st.integers(0, 2**32 - 1), model=st.sampled_from(["lm", "rma"]))
def test_egger_and_begg_do_not_depend_on_the_order_of_the_studies(data, seed, model) -> None:
    yi, vi = data
    assume(not _egger_fit_is_exact(yi, vi))
    perm = np.random.default_rng(seed).permutation(yi.size)
    a = quiet(mp.egger_test, _gen(yi, vi), model)
    b = quiet(mp.egger_test, _gen(yi[perm], vi[perm]), model)
    for x, y in ((a.intercept, b.intercept), (a.limit_estimate, b.limit_estimate)):
        assert x == pytest.approx(y, rel=1e-8, abs=1e-8, nan_ok=True)
    assert a.pvalue == pytest.approx(b.pvalue, rel=1e-7, abs=1e-12, nan_ok=True)
    ra, rb = quiet(mp.begg_test, _gen(yi, vi)), quiet(mp.begg_test, _gen(yi[perm], vi[perm]))
    assert (ra.score, ra.exact) == (rb.score, rb.exact)
    assert ra.pvalue == pytest.approx(rb.pvalue, rel=1e-12, nan_ok=True)


@FAST
@given(data=funnel(), shift=st.floats(-5, 5), scale=st.floats(0.1, 10))
def test_egger_intercept_is_location_and_scale_invariant(data, shift, scale) -> None:
    # yi = b0 + b1 sei: shifting yi moves b0 only; (c yi, c² vi) scales b0 and sei alike,
    # so Egger's intercept b1 and every test statistic stay the same.
    yi, vi = data
    assume(not _egger_fit_is_exact(yi, vi))
    for model in ("lm", "rma"):
        a = quiet(mp.egger_test, _gen(yi, vi), model)
        b = quiet(mp.egger_test, _gen(scale * yi + shift, scale**2 * vi), model)
        assert b.intercept == pytest.approx(a.intercept, rel=1e-6, abs=1e-7, nan_ok=True)
        assert b.statistic == pytest.approx(a.statistic, rel=1e-6, abs=1e-7, nan_ok=True)
        assert b.limit_estimate == pytest.approx(
            scale * a.limit_estimate + shift, abs=1e-6, nan_ok=True
        )
    ra = quiet(mp.begg_test, _gen(yi, vi))
    rb = quiet(mp.begg_test, _gen(scale * yi + shift, scale**2 * vi))
    # Kendall's score is a function of ranks, which rounding can only change where two
    # standardised deviates (or variances) tie to within rounding; with k tied values
    # that can move the score by up to k(k-1)/2, so the law is stated for tie-free data.
    w = 1 / vi
    dev = (yi - (w * yi).sum() / w.sum()) / np.sqrt(vi - 1 / w.sum())
    spacing = min(np.diff(np.sort(dev)).min(), np.diff(np.sort(vi)).min())
    if spacing > 1e-9 * (1 + np.abs(dev).max()):
        assert rb.score == ra.score


@FAST
@given(data=funnel())
def test_reflecting_the_effects_reverses_the_tests(data) -> None:
    yi, vi = data
    for model in ("lm", "rma"):
        a, b = quiet(mp.egger_test, _gen(yi, vi), model), quiet(mp.egger_test, _gen(-yi, vi), model)
        assert b.intercept == pytest.approx(-a.intercept, rel=1e-8, abs=1e-9, nan_ok=True)
        assert b.pvalue == pytest.approx(a.pvalue, rel=1e-7, abs=1e-12, nan_ok=True)
    ra, rb = quiet(mp.begg_test, _gen(yi, vi)), quiet(mp.begg_test, _gen(-yi, vi))
    assert rb.score == -ra.score
    assert rb.pvalue == pytest.approx(ra.pvalue, rel=1e-12, nan_ok=True)


def _fit(yi: np.ndarray, vi: np.ndarray, random: bool) -> mp.MetaResult:
    model = mp.RandomEffects(tau2="DL") if random else mp.CommonEffect()
    return model.fit(_gen(yi, vi))


@FAST
@given(
    data=funnel(),
    random=st.booleans(),
    estimator=st.sampled_from(["L0", "R0"]),
    side=st.sampled_from([None, "left", "right"]),
)
def test_trim_and_fill_is_equivariant_under_reflection(data, random, estimator, side) -> None:
    # Reflecting the effects (and the side) gives the same sorted data inside the algorithm,
    # so k0 is identical and the filled studies are reflected.
    yi, vi = data
    other = None if side is None else {"left": "right", "right": "left"}[side]
    try:
        a = quiet(mp.trim_and_fill, _fit(yi, vi, random), estimator, side)
    except mp.exceptions.MetapoolError as exc:
        if "did not settle" not in str(exc):
            raise
        # k0 cycling (metafor stops too): the reflected data cycle the same way
        with pytest.raises(mp.exceptions.MetapoolError, match="did not settle"):
            quiet(mp.trim_and_fill, _fit(-yi, vi, random), estimator, other)
        return
    b = quiet(mp.trim_and_fill, _fit(-yi, vi, random), estimator, other)
    assert b.k0 == a.k0
    if side is None and a.side == b.side == "left":
        return  # the slope is exactly ±0: "left" for both (metafor: right only if slope < 0)
    assert b.side != a.side
    np.testing.assert_allclose(b.filled.yi, -a.filled.yi, rtol=1e-12, atol=1e-12)
    assert b.adjusted.estimate == pytest.approx(-a.adjusted.estimate, rel=1e-8, abs=1e-10)


@FAST
@given(data=funnel(), seed=st.integers(0, 2**32 - 1), random=st.booleans())
def test_trim_and_fill_does_not_depend_on_the_order_of_the_studies(data, seed, random) -> None:
    yi, vi = data
    assume(np.unique(yi).size == yi.size)  # tied effects are trimmed in input order (as R)
    perm = np.random.default_rng(seed).permutation(yi.size)
    try:
        a = quiet(mp.trim_and_fill, _fit(yi, vi, random))
    except mp.exceptions.MetapoolError as exc:
        if "did not settle" not in str(exc):
            raise
        settled = False
    else:
        settled = True
    if not settled:
        # k0 oscillates (metafor fails on these data too): the permuted data must fail alike.
        with pytest.raises(mp.exceptions.MetapoolError, match="did not settle"):
            quiet(mp.trim_and_fill, _fit(yi[perm], vi[perm], random))
        return
    b = quiet(mp.trim_and_fill, _fit(yi[perm], vi[perm], random))
    assert (a.k0, a.side) == (b.k0, b.side)
    np.testing.assert_allclose(np.sort(a.filled.yi), np.sort(b.filled.yi), rtol=1e-8, atol=1e-8)
    assert a.adjusted.estimate == pytest.approx(b.adjusted.estimate, rel=1e-8, abs=1e-9)


@FAST
@given(data=funnel(), random=st.booleans(), estimator=st.sampled_from(["L0", "R0", "Q0"]))
def test_filled_studies_mirror_the_most_extreme_studies(data, random, estimator) -> None:
    yi, vi = data
    res = _fit(yi, vi, random)
    try:
        tf = quiet(mp.trim_and_fill, res, estimator)
    except InvalidDataError:
        assume(False)  # Q0 undefined for these data
        return
    except mp.exceptions.MetapoolError as exc:
        # k0 oscillating between two values: metafor's trimfill stops too ("did not
        # converge"), e.g. on yi = (0, 2, 0.1, 2, -1, 1.778, 2, 2, -0.316, 0) with DL and Q0
        if "did not settle" not in str(exc):
            raise
        assume(False)
        return
    src = np.array(tf.filled_from, dtype=int)
    assert tf.filled.k == tf.k0 == src.size and tf.adjusted.k == yi.size + tf.k0
    np.testing.assert_allclose(tf.filled.yi + yi[src], 2 * tf.trimmed_estimate, atol=1e-12)
    np.testing.assert_array_equal(tf.filled.vi, vi[src])
    rest = np.delete(yi, src)
    if tf.k0 and rest.size:
        if tf.side == "left":  # missing on the left: the largest effects are mirrored
            assert yi[src].min() >= rest.max()
        else:
            assert yi[src].max() <= rest.min()


@FAST
@given(
    # distances on a grid of 0.05: two pairs one ulp apart (2.0 and 2.0 - 2**-52) would
    # tie across pairs up to rounding, and which one ranks first is then rounding noise
    d=st.lists(st.integers(1, 40), min_size=1, max_size=10, unique=True).map(
        lambda xs: [x / 20 for x in xs]
    ),
    v=st.lists(st.floats(0.01, 1.0), min_size=10, max_size=10),
    mu=st.floats(-1, 1),
    centre=st.booleans(),
    random=st.booleans(),
    side=st.sampled_from(["left", "right"]),
)
def test_r0_finds_no_missing_studies_in_a_mirrored_funnel(d, v, mu, centre, random, side) -> None:
    # Pairs mu ± d_j with equal variances (and optionally a study at mu): the highest
    # rank always belongs to a study at or below the estimate's side, so R0 = 0.
    d_arr = np.array(d)
    vi = np.repeat(np.array(v[: d_arr.size]), 2)
    yi = mu + np.column_stack([-d_arr, d_arr]).ravel()
    if centre:
        yi, vi = np.append(yi, mu), np.append(vi, 0.1)
    assume(yi.size >= 3)
    assert quiet(mp.trim_and_fill, _fit(yi, vi, random), "R0", side).k0 == 0


def test_l0_can_fill_a_mirrored_funnel_as_metafor_does() -> None:
    # Not a law for L0: the tied |y - mu| of each pair are ranked in sorted order, the
    # positive member wins, L0 rounds 2m/(4m-1) up to 1 and the iteration goes on.
    # metafor 3.8-1: trimfill(rma(yi, vi, method = "FE")) -> k0 = 2 (beta 0, -0.5, -0.75).
    res = mp.CommonEffect().fit(mp.GenericEffect(yi=[-0.25, 0.25, -1, 1], vi=[1, 1, 0.5, 0.5]))
    tf = quiet(mp.trim_and_fill, res)
    assert (tf.k0, tf.side, tf.iterations) == (2, "left", 3)
    assert tf.trimmed_estimate == -0.75
    assert quiet(mp.trim_and_fill, res, "R0").k0 == 0


def test_equal_variances_cannot_be_regressed_on_the_standard_error() -> None:
    eff = mp.GenericEffect(yi=np.linspace(-1, 1, 12), vi=[0.1] * 12)
    for call in (lambda: mp.egger_test(eff), lambda: mp.egger_test(eff, "rma")):
        with pytest.raises(InvalidDataError, match=r"same variance.*full rank"):
            call()
    res = mp.CommonEffect().fit(eff)
    with pytest.raises(InvalidDataError, match="side='left' or side='right'"):
        mp.trim_and_fill(res)
    assert mp.trim_and_fill(res, side="left").k0 == 0


def test_equal_effects_give_k0_zero_even_where_metafors_r0_is_undefined() -> None:
    # Dyadic numbers: the pooled estimate is exactly 0.5, every deviation exactly 0.
    eff = mp.GenericEffect(yi=[0.5] * 10, vi=[0.25, 0.5, 0.125] * 3 + [1.0])
    res = mp.CommonEffect().fit(eff)
    for estimator in ("L0", "R0", "Q0"):
        tf = mp.trim_and_fill(res, estimator)
        assert tf.k0 == 0 and tf.adjusted is res


@FAST
@given(
    x=st.lists(st.integers(0, 6), min_size=3, max_size=30),
    y=st.lists(st.integers(0, 6), min_size=30, max_size=30),
)
def test_kendall_tau_b_and_tie_corrected_pvalue_agree_with_scipy(x, y) -> None:
    xa = np.array(x, dtype=float)
    ya = np.array(y[: len(x)], dtype=float)
    assume(np.unique(xa).size > 1 and np.unique(ya).size > 1)
    score, tau = kendall_tau(xa, ya)
    ref = scipy.stats.kendalltau(xa, ya, method="asymptotic")
    assert tau == pytest.approx(ref.statistic, rel=1e-12, abs=1e-15)
    from metapool.bias._begg import _normal_pvalue

    assert _normal_pvalue(score, xa, ya) == pytest.approx(ref.pvalue, rel=1e-10)


@FAST
@given(n=st.integers(3, 40), seed=st.integers(0, 2**32 - 1))
def test_exact_pvalue_agrees_with_scipy_without_ties(n, seed) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.permutation(n).astype(float), rng.permutation(n).astype(float)
    score, _ = kendall_tau(x, y)
    m = n * (n - 1) // 2
    concordant = (score + m) // 2
    p = min(1.0, 2.0 * kendall_cdf(min(concordant, m - concordant), n))
    assert p == pytest.approx(scipy.stats.kendalltau(x, y, method="exact").pvalue, rel=1e-10)


# ---------------------------------------------------------------------------- errors, warnings

BIAS_FUNCTIONS = [
    pytest.param(lambda r: mp.egger_test(r), id="egger-lm"),
    pytest.param(lambda r: mp.egger_test(r, "rma"), id="egger-rma"),
    pytest.param(lambda r: mp.begg_test(r), id="begg"),
    pytest.param(lambda r: mp.trim_and_fill(r), id="trim_and_fill"),
]


@pytest.mark.parametrize("fn", BIAS_FUNCTIONS)
def test_fewer_than_three_studies_is_an_error(fn: Any) -> None:
    res = mp.RandomEffects().fit(mp.GenericEffect(yi=[0.1, 0.4], vi=[0.02, 0.05]))
    with pytest.raises(InvalidDataError, match=r"at least 3 studies.*k = 2"):
        fn(res)


@pytest.mark.parametrize("fn", BIAS_FUNCTIONS)
def test_fewer_than_ten_studies_warns_and_is_noted(fn: Any) -> None:
    res = mp.RandomEffects().fit(effects_of(dataset("hackshaw1998_k5")))
    with pytest.warns(SmallSampleWarning, match="only k = 5 studies") as record:
        out = fn(res)
    assert record[0].filename == __file__  # the warning points at the caller
    assert any("k = 5 < 10" in n for n in out.notes)


@pytest.mark.parametrize("fn", BIAS_FUNCTIONS)
def test_ten_or_more_studies_do_not_warn(fn: Any) -> None:
    res = mp.RandomEffects().fit(effects_of(dataset("bcg_rr")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(res)


@pytest.mark.parametrize("model", [mp.MantelHaenszel(), mp.Peto()])
def test_trim_and_fill_refuses_two_by_two_models(model: Any) -> None:
    eff = mp.OddsRatio(**dataset("bcg_rr")["input"])
    res = model.fit(eff)
    with pytest.raises(MetapoolTypeError, match=r"CommonEffect or RandomEffects.*mp.CommonEffect"):
        mp.trim_and_fill(res)
    mp.egger_test(res, "rma")  # the tests accept them (as metafor's regtest/ranktest)
    mp.begg_test(res)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: mp.egger_test([0.1, 0.2, 0.3]), id="egger-list"),
        pytest.param(lambda: mp.begg_test(np.ones(5)), id="begg-array"),
        pytest.param(
            lambda: mp.trim_and_fill(effects_of(dataset("bcg_rr"))), id="trimfill-effects"
        ),
    ],
)
def test_wrong_input_types(call: Any) -> None:
    with pytest.raises(MetapoolTypeError):
        call()


def test_invalid_settings_name_the_parameter() -> None:
    eff = effects_of(dataset("bcg_rr"))
    res = mp.CommonEffect().fit(eff)
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'model' parameter of egger_test must be one of 'lm', 'rma'. Got 'glm'",
    ):
        mp.egger_test(eff, "glm")
    with pytest.raises(InvalidParameterError, match="'level' parameter of egger_test"):
        mp.egger_test(eff, level=95)
    with pytest.raises(InvalidParameterError, match="'estimator' parameter of trim_and_fill"):
        mp.trim_and_fill(res, "L1")
    with pytest.raises(InvalidParameterError, match="'side' parameter of trim_and_fill"):
        mp.trim_and_fill(res, side="up")
    with pytest.raises(InvalidParameterError, match="'maxiter' parameter of trim_and_fill"):
        mp.trim_and_fill(res, maxiter=0)


def test_trim_and_fill_that_does_not_settle_raises() -> None:
    res = mp.CommonEffect().fit(effects_of(dataset("hackshaw1998")))
    assert mp.trim_and_fill(res).iterations > 2
    with pytest.raises(MetapoolError, match="did not settle within maxiter=2"):
        mp.trim_and_fill(res, maxiter=2)


def test_begg_with_equal_variances_is_not_estimable() -> None:
    # Kendall's tau with a constant variable is undefined (NA in R).
    bg = mp.begg_test(mp.GenericEffect(yi=np.linspace(-1, 1, 12), vi=[0.1] * 12))
    assert math.isnan(bg.statistic) and math.isnan(bg.pvalue) and not bg.exact
    assert "not defined" in bg.notes[-1]
    json.dumps(bg.to_dict(), allow_nan=False)


@attrs.frozen
class _NotConverging:
    name = "stuck"

    def estimate(self, yi: Any, vi: Any, X: Any = None) -> mp.tau2.Tau2Fit:
        shape = np.shape(yi)[:-1]
        return mp.tau2.Tau2Fit(
            tau2=np.full(shape, 0.01),
            converged=np.zeros(shape, dtype=bool),
            iterations=np.full(shape, 7, dtype=np.int64),
            method=self.name,
        )


def test_a_tau2_estimator_that_does_not_converge_is_flagged() -> None:
    eff = effects_of(dataset("bcg_rr"))
    with pytest.warns(ConvergenceWarning):
        res = mp.RandomEffects(tau2=_NotConverging()).fit(eff)
    with pytest.warns(ConvergenceWarning, match="egger_test"):
        eg = mp.egger_test(res, "rma")
    assert not eg.converged and "did not converge" in eg.summary()
    with pytest.warns(ConvergenceWarning) as record:
        tf = mp.trim_and_fill(res)
    assert not tf.converged
    messages = [str(w.message) for w in record]
    assert any(m.startswith("trim_and_fill") for m in messages)
    assert any(m.startswith("RandomEffects") for m in messages)  # the adjusted refit
