"""Selection models (metafor's ``selmodel``): step function (3PSM, 4PSM), beta,
half-normal and negative-exponential, against metafor 3.8-1, plus laws.

Reference: ``tests/reference/publication_bias.json`` (``make_publication_bias.R``),
with metafor's optimiser tightened (optim BFGS, reltol 1e-12; integrals of the
continuous families to rel.tol 1e-10 instead of the default 1.2e-4).

How the numbers are compared, and why:

* The log-likelihood: metapool's maximum must be at least metafor's minus
  ``LL_ATOL = 1e-7``; where it is higher metapool is right (the likelihoods are the
  same function: ``test_loglik_function_is_metafors`` evaluates metapool's at
  metafor's estimates). optim's BFGS uses finite-difference gradients in transformed
  parameters and stops about 1e-9 below the maximum, so the two maxima agree to
  ~1e-8 where metafor converges.
* The estimates (``mu``, ``tau2``, ``delta``): relative ``RTOL_PAR = 2e-3`` with an
  absolute floor of ``2e-3 × scale``. Near a maximum ``ll`` changes by
  ``g²/2``-type amounts, so a 1e-9 shortfall in ``ll`` moves flat directions of the
  likelihood (delta of a sparsely populated interval, tau2) by up to ~1e-4 relative.
  Measured (2026-11-29): metapool's maximum is never below metafor's (gains from
  4e-15 to 5e-6 for stepfun, to 1e-9 for halfnorm/negexp, to 2.2e-4 for beta, where
  metafor needs optim's default tolerance); where the maxima agree to 1e-6 the
  largest differences are 4.4e-6 in mu and 4e-5 in tau2 (stepfun), 1.5e-5 in mu and
  1e-4 in delta (halfnorm, negexp). Where the first interval of a step function is
  empty, delta[2] runs to its bound 100, which metapool reaches (and warns) and
  metafor's optim approaches slowly (it stops between 1 and 99.96, lower ``ll``).
* The LRT, which depends on the two maxima only: absolute ``2 × LL_ATOL`` plus the
  gain in metapool's maximum.
* Standard errors: metafor differentiates numerically with numDeriv's default steps
  (``1e-4 |x|``), which for parameters near 0 are so small that rounding dominates;
  metapool uses steps on each parameter's scale. They are compared to relative
  ``RTOL_SE = 1e-3``, where metafor's own Hessian is stable, and only where both
  programs reached the same maximum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.bias._selection_likelihood import family, loglik, pvalues
from metapool.exceptions import (
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from tests._reference import PUBLICATION_BIAS, load_reference

LL_ATOL = 1e-7
RTOL_PAR = 2e-3
RTOL_SE = 1e-3


def datasets() -> list[dict[str, Any]]:
    return list(load_reference(PUBLICATION_BIAS)["datasets"])


def generic(ds: dict[str, Any]) -> mp.GenericEffect:
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"])


def cases() -> list[Any]:
    return [
        pytest.param(ds["name"], rec, id=f"{ds['name']}-{rec['label'].replace(' ', '-')}")
        for ds in datasets()
        for rec in ds["selmodel"]
    ]


def fit_like(ds: dict[str, Any], rec: dict[str, Any]) -> mp.SelectionModelResult:
    eff = generic(ds)
    model = mp.CommonEffect() if rec["label"].startswith("EE") else mp.RandomEffects()
    steps = rec.get("steps")
    with _Quiet():  # small-k and bound warnings are tested separately
        return mp.selection_model(
            model.fit(eff),
            rec["type"],
            tuple(steps) if steps is not None else None,
            alternative=rec["alternative"],
        )


class _Quiet:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *args: object) -> None:
        self._cm.__exit__(*args)


_FITS: dict[str, mp.SelectionModelResult] = {}


def fitted(name: str, rec: dict[str, Any]) -> mp.SelectionModelResult:
    key = f"{name}/{rec['label']}"
    if key not in _FITS:
        _FITS[key] = fit_like(next(d for d in datasets() if d["name"] == name), rec)
    return _FITS[key]


@pytest.mark.parametrize(("name", "rec"), cases())
def test_selection_model_matches_selmodel(name: str, rec: dict[str, Any]) -> None:
    if "error" in rec:
        pytest.fail(f"metafor failed on {name} {rec['label']}: {rec['error']}")
    sel = fitted(name, rec)
    ds = next(d for d in datasets() if d["name"] == name)
    scale = math.sqrt(float(np.mean(ds["vi"])))
    # 1. the likelihood: at least metafor's
    assert sel.loglik >= rec["ll"] - LL_ATOL
    assert sel.loglik_null == pytest.approx(rec["ll0"], abs=1e-9)
    gain = sel.loglik - rec["ll"]
    # 2. the LRT
    assert sel.lrt_df == rec["lrt_df"]
    assert sel.lrt_statistic == pytest.approx(rec["lrt"], abs=2 * LL_ATOL + 2 * max(gain, 0))
    # 3. the estimates, where metafor reached the same maximum
    if gain < 1e-6:
        assert sel.estimate == pytest.approx(rec["estimate"], rel=RTOL_PAR, abs=RTOL_PAR * scale)
        assert sel.tau2 == pytest.approx(rec["tau2"], rel=RTOL_PAR, abs=RTOL_PAR * scale**2)
        np.testing.assert_allclose(sel.delta, rec["delta"], rtol=RTOL_PAR, atol=RTOL_PAR)
        if not any(sel.delta_at_bound) and rec["se"] is not None:
            assert sel.se == pytest.approx(rec["se"], rel=RTOL_SE)
    if rec["ptable"] is not None and rec["type"] == "stepfun":
        assert list(sel.n_per_interval) == rec["ptable"]
    assert sel.converged


@pytest.mark.parametrize(("name", "rec"), cases())
def test_loglik_function_is_metafors(name: str, rec: dict[str, Any]) -> None:
    """metapool's log-likelihood evaluated at metafor's estimates is metafor's maximum."""
    if "error" in rec:
        pytest.fail(f"metafor failed on {name}: {rec['error']}")
    ds = next(d for d in datasets() if d["name"] == name)
    y, v = np.asarray(ds["yi"]), np.asarray(ds["vi"])
    steps = tuple(rec["steps"]) if rec.get("steps") else ((0.0,) if rec["type"] != "beta" else ())
    fam = family(rec["type"], steps)
    side = rec["alternative"]
    p = np.clip(pvalues(y, v, side), fam.pval_min, 1 - fam.pval_min)
    group = np.searchsorted(np.asarray(steps), p) if rec["type"] == "stepfun" else None
    ll = loglik(
        fam,
        rec["estimate"],
        rec["tau2"],
        np.asarray(rec["delta"]),
        y,
        v,
        p,
        group,
        steps,
        side,
    )
    # metafor integrates to rel.tol 1e-10: its ll is exact to about k × 1e-10
    assert ll == pytest.approx(rec["ll"], abs=len(y) * 1e-9)


def test_three_parameter_model_summary_and_dict() -> None:
    ds = datasets()[0]
    sel = mp.selection_model(mp.RandomEffects().fit(generic(ds)), steps=(0.025, 1))
    text = sel.summary()
    assert "Selection model (step function" in text and "LRT" in text
    d = sel.to_dict()
    assert d["type"] == "stepfun" and d["delta"][0] == 1.0 and d["se_delta"][0] is None
    assert sel.summary_frame()["term"].tolist() == ["mu", "tau2", "delta[1]", "delta[2]"]
    assert "SelectionModelResult(type='stepfun'" in repr(sel)
    assert sel.ci.low < sel.estimate < sel.ci.high


# ---------------------------------------------------------------------------
# Laws
# ---------------------------------------------------------------------------


def _sample(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.integers(10, 200, size=k)
    vi = 4.0 / n
    yi = rng.normal(0.2, 0.15, size=k) + rng.normal(0, np.sqrt(vi))
    return yi, vi


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_selection_model_laws(seed: int) -> None:
    """LRT >= 0 and the selection model's maximum is at least the null model's; the
    fit does not depend on the order of the studies; mirroring the effects and the
    direction of the p-values mirrors the estimate."""
    yi, vi = _sample(seed, 25)
    p = pvalues(yi, vi, "greater")
    if not (np.any(p <= 0.025) and np.any(p > 0.025)):
        return
    with _Quiet():
        a = mp.selection_model(mp.RandomEffects().fit(mp.GenericEffect(yi=yi, vi=vi)))
        order = np.random.default_rng(seed).permutation(yi.size)
        b = mp.selection_model(mp.RandomEffects().fit(mp.GenericEffect(yi=yi[order], vi=vi[order])))
        c = mp.selection_model(
            mp.RandomEffects().fit(mp.GenericEffect(yi=-yi, vi=vi)), alternative="less"
        )
    assert a.lrt_statistic >= 0 and a.loglik >= a.loglik_null - 1e-12
    assert b.loglik == pytest.approx(a.loglik, abs=1e-8)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-4, abs=1e-5)
    assert c.loglik == pytest.approx(a.loglik, abs=1e-8)
    assert c.estimate == pytest.approx(-a.estimate, rel=1e-4, abs=1e-5)
    np.testing.assert_allclose(c.delta, a.delta, rtol=1e-3, atol=1e-4)


def test_no_selection_in_the_data_gives_a_small_lrt() -> None:
    """With deltas at their null (the data without selection), the model reduces to the
    ML random-effects model: the adjusted estimate is near the unadjusted one."""
    yi, vi = _sample(7, 60)
    with _Quiet():
        sel = mp.selection_model(mp.RandomEffects().fit(mp.GenericEffect(yi=yi, vi=vi)))
    ml = mp.RandomEffects(tau2="ML").fit(mp.GenericEffect(yi=yi, vi=vi))
    assert sel.unadjusted_estimate == pytest.approx(ml.estimate, rel=1e-10)
    assert sel.unadjusted_tau2 == pytest.approx(ml.tau2, rel=1e-8)


def test_common_effect_input_fixes_tau2_at_zero() -> None:
    yi, vi = _sample(3, 30)
    with _Quiet():
        sel = mp.selection_model(mp.CommonEffect().fit(mp.GenericEffect(yi=yi, vi=vi)))
    assert sel.tau2 == 0.0 and not sel.tau2_estimated and math.isnan(sel.se_tau2)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_selection_model_bad_input() -> None:
    yi, vi = _sample(1, 20)
    fit = mp.RandomEffects().fit(mp.GenericEffect(yi=yi, vi=vi))
    with pytest.raises(InvalidParameterError, match="'type'"):
        mp.selection_model(fit, "logistic")
    with pytest.raises(InvalidParameterError, match="'alternative'"):
        mp.selection_model(fit, alternative="up")
    with pytest.raises(InvalidParameterError, match="'steps'"):
        mp.selection_model(fit, steps=(1.5,))
    with pytest.raises(InvalidParameterError, match="'steps'"):
        mp.selection_model(fit, "halfnorm", steps=(0.05, 0.5))
    with pytest.raises(InvalidDataError, match=r"no observed p-value lies in the interval"):
        mp.selection_model(fit, steps=(0.5, 0.5 + 1e-12, 1))
    with pytest.raises(MetapoolTypeError):
        mp.selection_model([0.1, 0.2])


def test_delta_on_its_bound_warns() -> None:
    # every study but one far beyond significance: the non-significant one is
    # "over-published", and delta[2] runs to its upper bound 100 (metafor 3.8-1 gives
    # delta 100, mu 1.491582, ll -9.980313 for these data, with the same warning)
    yi = np.array([1.5, 1.7, 1.4, 1.8, 1.55, 1.65, 1.45, 1.75, 1.5, 0.01])
    vi = 0.04 * np.linspace(0.5, 1.5, 10)
    fit = mp.CommonEffect().fit(mp.GenericEffect(yi=yi, vi=vi))
    with pytest.warns(DegenerateDataWarning, match="bound"):
        sel = mp.selection_model(fit, steps=(0.025, 1))
    assert sel.delta_at_bound == (False, True) and sel.delta[1] == 100.0
    assert sel.estimate == pytest.approx(1.491582, abs=1e-6)
    assert sel.loglik >= -9.980313 - 1e-6
    assert math.isnan(sel.se_delta[1]) and "bound" in " ".join(sel.notes)
