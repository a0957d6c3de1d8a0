"""Laws of the GLMMs, checked with Hypothesis on random sparse 2×2 tables and counts.

Tolerances: the fits stop at the finite-difference noise level of the
log-likelihood, so two fits of the same likelihood written differently (arms
swapped, studies permuted) reach maxima within ~1e-9 of each other. On a flat
likelihood (k = 3, τ² ≈ 3, SE ≈ 1.2) that allows estimates ``se · sqrt(2e-9)`` apart
(7e-5 measured); the laws are therefore stated as: log-likelihoods equal to 1e-7,
estimates to ``TOL · se`` with ``TOL = 2e-4`` (a log-likelihood difference of 2e-8),
``τ²`` to ``TOL · max(1, τ²)``. A law that fails (an asymmetric coding of the random
effect) moves the estimate by 1e-2 or more. Few examples: each random-effects fit
takes a fraction of a second.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.models._glmm_families import Binomial, NoncentralHypergeometric, Poisson

TOL = 2e-4
FEW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sparse_tables(draw: st.DrawFn) -> dict[str, list[int]]:
    k = draw(st.integers(3, 6))
    n1 = draw(st.lists(st.integers(20, 120), min_size=k, max_size=k))
    n2 = draw(st.lists(st.integers(20, 120), min_size=k, max_size=k))
    a = [draw(st.integers(0, max(1, n // 8))) for n in n1]
    c = [draw(st.integers(0, max(1, n // 8))) for n in n2]
    if sum(a) == 0:
        a[0] = 1
    if sum(c) == 0:
        c[-1] = 1
    # at least two tables with events in both margins, so that the fits are defined
    a[0], c[0] = max(a[0], 1), max(c[0], 1)
    a[1], c[1] = max(a[1], 1), max(c[1], 1)
    return {"events1": a, "n1": n1, "events2": c, "n2": n2}


def _or(data: dict[str, list[int]]) -> mp.OddsRatio:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.OddsRatio(**data)


def _fit(model: str, effects: mp.EffectSet, n_agq: int = 7) -> mp.GLMMResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.GLMM(model, n_agq=n_agq).fit(effects)


@FEW
@given(sparse_tables(), st.sampled_from(["UM.FS", "CM.EL", "CM.AL"]))
@example(
    {
        "events1": [9, 1, 0, 1, 10, 2],
        "n1": [100, 111, 82, 27, 109, 20],
        "events2": [2, 5, 3, 2, 0, 0],
        "n2": [42, 47, 41, 36, 74, 26],
    },
    "UM.FS",
)
def test_swapping_arms_negates_the_effect(data: dict[str, list[int]], model: str) -> None:
    """The law is one of the exact likelihood: with 15 quadrature nodes. Gauss-Hermite
    with metafor's 7 nodes is not symmetric under swapping the arms when τ² is large:
    on the example above (τ² = 3.8) the two 7-node fits differ by 2.3e-4 SE and 5.8e-9
    in log-likelihood, the 15-node fits by 2.6e-10 SE."""
    swapped = {
        "events1": data["events2"],
        "n1": data["n2"],
        "events2": data["events1"],
        "n2": data["n1"],
    }
    a, b = _fit(model, _or(data), n_agq=15), _fit(model, _or(swapped), n_agq=15)
    assert abs(a.loglik - b.loglik) < 1e-7
    assert abs(a.estimate + b.estimate) < TOL * a.se
    assert abs(a.tau2 - b.tau2) < TOL * max(1.0, a.tau2)
    assert abs(a.se - b.se) < TOL * a.se


@FEW
@given(sparse_tables(), st.randoms(use_true_random=False))
def test_permuting_studies_changes_nothing(data: dict[str, list[int]], rnd: object) -> None:
    k = len(data["n1"])
    order = list(range(k))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    permuted = {key: [v[i] for i in order] for key, v in data.items()}
    a, b = _fit("CM.AL", _or(data)), _fit("CM.AL", _or(permuted))
    assert abs(a.estimate - b.estimate) < TOL * a.se
    assert abs(a.loglik - b.loglik) < 1e-7


@FEW
@given(sparse_tables())
def test_ml_is_at_least_as_likely_as_the_common_effect(data: dict[str, list[int]]) -> None:
    eff = _or(data)
    for model in ("CM.EL", "CM.AL"):
        ml = _fit(model, eff)
        assert ml.loglik >= ml.loglik_common - 1e-9
        # the saturated model bounds both (a likelihood ratio is never negative)
        assert ml.loglik_saturated >= ml.loglik_common - 1e-9
        assert ml.qe_lrt >= 0.0 and ml.lrt >= 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 30), st.floats(-4.0, 4.0))
def test_noncentral_hypergeometric_sums_to_one(n1: int, n2: int, m: int, psi: float) -> None:
    m = min(m, n1 + n2)
    lo, hi = max(0, m - n2), min(n1, m)
    support = np.arange(lo, hi + 1, dtype=float)
    fam = NoncentralHypergeometric(
        support, np.full(support.size, float(n1)), m - support, np.full(support.size, float(n2))
    )
    ll, d1, _ = fam.loglik(np.full(support.size, psi))
    p = np.exp(ll)
    assert abs(p.sum() - 1.0) < 1e-10
    # the score a - E[U] has mean 0 under the law
    assert abs((p * d1).sum()) < 1e-8 * max(1.0, float(support.max()))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 50), st.integers(1, 60), st.floats(-5.0, 5.0))
def test_saturated_log_likelihood_is_the_maximum(y: int, extra: int, eta: float) -> None:
    n = y + extra
    fam_b = Binomial(np.array([float(y)]), np.array([float(n)]))
    assert fam_b.saturated()[0] >= fam_b.loglik(np.array([eta]))[0][0] - 1e-12
    fam_p = Poisson(np.array([float(y)]))
    assert fam_p.saturated()[0] >= fam_p.loglik(np.array([eta]))[0][0] - 1e-12
