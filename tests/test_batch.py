"""The public batch API: fit_batch along the last axis equals fit row by row."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import InvalidDataError

# Both paths run the same kernels; the only differences are the iterative solvers'
# stopping points (1e-12 relative to min(vi) and to τ²), so 1e-8 relative with a
# floor of 1e-8 × mean(vi) leaves four orders of magnitude (as tests/properties/test_laws.py).
TOL = 1e-8
FIELDS = ("estimate", "se", "statistic", "pvalue", "tau2", "i2", "h2", "q", "q_pvalue")


def _rows(shape, k, seed):
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-2, 1, size=(*shape, k))
    yi = rng.normal(0.2, 1.0, size=(*shape, k)) * np.sqrt(vi + rng.choice([0, 0.1, 2.0]))
    return yi, vi


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 6),
    k=st.integers(2, 12),
    seed=st.integers(0, 10**6),
    tau2=st.sampled_from(mp.tau2.available()),
    ci=st.sampled_from(["z", "hksj", "hksj-adhoc", "t"]),
    prediction=st.sampled_from(["metafor", "higgins"]),
)
def test_random_effects_batch_equals_loop(n, k, seed, tau2, ci, prediction):
    yi, vi = _rows((n,), k, seed)
    model = mp.RandomEffects(tau2=tau2, ci=ci, prediction=prediction)
    batch = model.fit_batch(yi, vi)
    assert batch.shape == (n,)
    for i in range(n):
        one = model.fit(mp.GenericEffect(yi=yi[i], vi=vi[i]))
        scale = TOL * vi[i].mean()
        for name in FIELDS:
            got, ref = getattr(batch, name)[i], getattr(one, name)
            assert np.isclose(got, ref, rtol=TOL, atol=scale, equal_nan=True), (name, got, ref)
        for name in ("ci", "pi", "tau2_ci"):
            b, r = getattr(batch, name), getattr(one, name)
            assert np.isclose(b.low[i], r.low, rtol=TOL, atol=scale, equal_nan=True), name
            assert np.isclose(b.high[i], r.high, rtol=TOL, atol=scale, equal_nan=True), name
        assert batch.df == one.df
        assert bool(batch.converged[i]) == one.converged
        # REML-FS may not converge (Fisher scoring can oscillate; it says so)
        assert one.converged or tau2 == "REML-FS"


def test_common_effect_batch_equals_loop_and_keeps_the_batch_shape():
    yi, vi = _rows((3, 4), 7, seed=11)
    model = mp.CommonEffect(ci="t")
    batch = model.fit_batch(yi, vi)
    assert batch.shape == (3, 4)
    for idx in np.ndindex(3, 4):
        one = model.fit(mp.GenericEffect(yi=yi[idx], vi=vi[idx]))
        for name in FIELDS:
            assert getattr(batch, name)[idx] == pytest.approx(getattr(one, name), rel=1e-12)
        assert batch.pi.low[idx] == pytest.approx(one.pi.low, rel=1e-12)
        assert np.isnan(batch.tau2_ci.low[idx])


def test_batch_result_is_json_safe():
    yi, vi = _rows((2,), 5, seed=3)
    d = mp.RandomEffects().fit_batch(yi, vi).to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert len(back["estimate"]) == 2 and back["tau2_method"] == "REML"


@pytest.mark.parametrize(
    ("yi", "vi", "pattern"),
    [
        (np.zeros((2, 3)), np.ones((2, 4)), r"same shape"),
        (np.zeros((2, 1)), np.ones((2, 1)), r"k >= 2"),
        (np.array([[0.1, np.nan]]), np.ones((1, 2)), r"'yi' must be finite; element \(0, 1\)"),
        (
            np.zeros((2, 2)),
            np.array([[1.0, 1.0], [1.0, -1.0]]),
            r"'vi' must be finite and > 0; element \(1, 1\)",
        ),
    ],
)
def test_batch_input_errors_name_the_element(yi, vi, pattern):
    with pytest.raises(InvalidDataError, match=pattern):
        mp.RandomEffects().fit_batch(yi, vi)


def test_non_converged_rows_are_warned_and_recorded():
    class Stuck:
        name = "stuck"

        def estimate(self, yi, vi, X=None):
            shape = np.shape(yi)[:-1]
            converged = np.ones(shape, bool)
            converged[..., 0] = False
            return mp.tau2.Tau2Fit(
                tau2=np.zeros(shape),
                converged=converged,
                iterations=np.zeros(shape, np.int64),
                method="stuck",
            )

    yi, vi = _rows((3,), 4, seed=5)
    with pytest.warns(mp.exceptions.ConvergenceWarning, match=r"1 row\(s\), e.g. \[\(0,\)\]"):
        res = mp.RandomEffects(tau2=Stuck()).fit_batch(yi, vi)
    assert res.converged.tolist() == [False, True, True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mp.RandomEffects().fit_batch(yi, vi)  # nothing to warn about
