"""Laws of the multilevel model (mp.MultilevelModel), checked with Hypothesis.

* One level with every effect size in its own group is the random-effects model:
  σ² = τ̂²(REML or ML), the same estimate and standard error, and the log-likelihood
  is metapool's univariate one plus metafor's constants.
* With every σ² fixed at 0 it is the common-effect model.
* Permuting the effect sizes (within and across clusters) and relabelling the
  clusters change nothing.

Tolerance: both fits stop at a relative step of about 1e-10 in σ² (the multilevel
Newton step in log σ²; the univariate root finder to 1e-12 × min(vi)), so
estimates agree to ~1e-9 relative; ``TOL = 1e-7`` relative with an absolute floor of
1e-7 × mean(vi) leaves two orders of magnitude and still catches any real violation
(a wrong likelihood or an order-dependent sum differs at 1e-3 or more).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.tau2._likelihood import log_likelihood

TOL = 1e-7
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def nested_data(draw, max_clusters: int = 8):
    """Clusters with 1-4 effect sizes each (the first with at least two, so that the
    two levels group the effect sizes differently): (yi, vi, cluster ids, within ids)."""
    n = draw(st.integers(2, max_clusters))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    sizes[0] = max(sizes[0], 2)  # some cluster with two effect sizes: the levels differ
    cluster = np.repeat(np.arange(n), sizes)
    within = np.concatenate([np.arange(s) for s in sizes])
    k = cluster.size
    vi = 10.0 ** np.array(draw(st.lists(st.floats(-2, 0), min_size=k, max_size=k)))
    spread = draw(st.sampled_from((0.0, 0.1, 0.5, 2.0)))
    u = np.array(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n)))
    e = np.array(draw(st.lists(st.floats(-2, 2), min_size=k, max_size=k)))
    z = np.array(draw(st.lists(st.floats(-2, 2), min_size=k, max_size=k)))
    yi = spread * u[cluster] + spread * 0.5 * e + z * np.sqrt(vi)
    if k < 4:  # need k > p and something to estimate
        yi, vi = np.append(yi, 0.3), np.append(vi, 0.1)
        cluster, within = np.append(cluster, n), np.append(within, 0)
    return yi, vi, cluster, within


def close(a, b, scale):
    return np.allclose(a, b, rtol=TOL, atol=TOL * scale)


@FAST
@given(nested_data(), st.sampled_from(["REML", "ML"]))
def test_one_level_is_random_effects(data, method):
    yi, vi, _, _ = data
    k = yi.size
    eff = mp.GenericEffect(yi=yi, vi=vi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re = mp.RandomEffects(tau2=method).fit(eff)
        ml = mp.MultilevelModel(method=method, profile=False).fit(eff, levels={"id": np.arange(k)})
    scale = float(np.mean(vi))
    assert close(ml.sigma2[0], re.tau2, scale)
    assert close(ml.coef[0], re.estimate, math.sqrt(scale))
    assert close(ml.se[0], re.se, math.sqrt(scale))
    # metafor's log-likelihood = metapool's univariate one (constants dropped) plus
    # -(k - p)/2 log 2π + 1/2 log|X'X| (REML) or -k/2 log 2π (ML).
    reml = method == "REML"
    base = float(log_likelihood(ml.sigma2[0], yi, vi, reml=reml))
    const = (
        -0.5 * (k - 1) * math.log(2 * math.pi) + 0.5 * math.log(k)
        if reml
        else (-0.5 * k * math.log(2 * math.pi))
    )
    assert math.isclose(ml.loglik, base + const, rel_tol=1e-10, abs_tol=1e-10)
    assert ml.boundary[0] == (re.tau2 == 0.0) or abs(re.tau2) < 1e-9 * scale


@FAST
@given(nested_data())
def test_all_sigma2_zero_is_common_effect(data):
    yi, vi, cluster, within = data
    eff = mp.GenericEffect(yi=yi, vi=vi)
    ce = mp.CommonEffect().fit(eff)
    ml = mp.MultilevelModel(sigma2=[0.0, 0.0]).fit(eff, levels={"cluster": cluster, "es": within})
    assert math.isclose(ml.coef[0], ce.estimate, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(ml.se[0], ce.se, rel_tol=1e-12)
    assert math.isclose(ml.qe, ce.q, rel_tol=1e-10, abs_tol=1e-12)


def _fit(yi, vi, cluster, within):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.MultilevelModel(profile=False).fit(
            mp.GenericEffect(yi=yi, vi=vi), levels={"cluster": cluster, "es": within}
        )


@FAST
@given(nested_data(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(data, rnd):
    yi, vi, cluster, within = data
    perm = np.array(rnd.sample(range(yi.size), yi.size))
    a = _fit(yi, vi, cluster, within)
    b = _fit(yi[perm], vi[perm], cluster[perm], within[perm])
    scale = float(np.mean(vi))
    assert close(a.sigma2, b.sigma2, scale)
    assert close(a.coef, b.coef, math.sqrt(scale))
    assert close(a.se, b.se, math.sqrt(scale))
    assert math.isclose(a.loglik, b.loglik, rel_tol=1e-9, abs_tol=1e-9)


@FAST
@given(nested_data(), st.randoms(use_true_random=False))
def test_relabelling_clusters_changes_nothing(data, rnd):
    yi, vi, cluster, within = data
    names = [f"study {i}" for i in rnd.sample(range(1000), int(cluster.max()) + 1)]
    relabelled = [names[c] for c in cluster]
    within2 = [f"es-{w * 7 + 3}" for w in within]
    a = _fit(yi, vi, cluster, within)
    b = _fit(yi, vi, relabelled, within2)
    np.testing.assert_array_equal(a.sigma2, b.sigma2)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.loglik == b.loglik
