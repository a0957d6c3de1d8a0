"""Laws of cluster-robust inference (mp.robust), checked with Hypothesis.

* CR2 with one effect per cluster is the HC2 estimator of the weighted regression
  (Bell & McCaffrey 2002): ``M Σ_i w_i² x_i x_iᵀ e_i² / (1 - h_ii) M`` with
  ``h_ii = w_i x_iᵀ M x_i``, computed here independently of the CR2 code.
* CR1 is CR0 times ``n/(n - p)`` (so its SEs are never smaller).
* Relabelling the clusters, and permuting the rows (effects, moderators and
  clusters together), change nothing.
* A one-constraint HTZ test is the Satterthwaite t test: ``F = t²`` on
  ``(1, df)``.

Tolerance: the same arithmetic in another order (permutations) or the same algebra
written differently (HC2) agrees to ~1e-13 relative on these well-conditioned
designs; ``RTOL = 1e-9`` leaves margin for the refits of τ² (REML to ~1e-12) and still
catches any real violation (a wrong adjustment changes SEs at 1e-2 or more).
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp

RTOL = 1e-9
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def clustered(draw, min_clusters: int = 4, max_clusters: int = 9):
    """yi, vi, one moderator, and cluster sizes 1-4 (unbalanced)."""
    n = draw(st.integers(min_clusters, max_clusters))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    k = int(sum(sizes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(n), sizes)
    x = rng.normal(size=k)
    vi = rng.uniform(0.01, 0.3, size=k)
    yi = 0.3 + 0.2 * x + rng.normal(0, 0.3, size=n)[cluster] + rng.normal(0, np.sqrt(vi))
    return yi, vi, x, cluster


def _fit(yi, vi, x, fixed: bool = False):
    eff = mp.GenericEffect(yi=yi, vi=vi)
    tau2 = mp.tau2.Fixed(0.0) if fixed else "REML"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.MetaRegression(tau2=tau2).fit(eff, {"x": x})


def _hc2(yi, vi, x, coef):
    X = np.column_stack([np.ones_like(x), x])
    w = 1.0 / vi
    M = np.linalg.inv(X.T @ (w[:, None] * X))
    h = w * np.einsum("ip,pq,iq->i", X, M, X)
    e = yi - X @ coef
    meat = X.T @ ((w**2 * e**2 / (1.0 - h))[:, None] * X)
    return M @ meat @ M


@FAST
@given(data=clustered(min_clusters=5, max_clusters=12))
def test_cr2_with_one_effect_per_cluster_is_hc2(data) -> None:
    yi, vi, x, _ = data
    res = _fit(yi, vi, x, fixed=True)
    rob = mp.robust(res, np.arange(len(yi)), adjust="CR2")
    np.testing.assert_allclose(rob.vcov, _hc2(yi, vi, x, res.coef), rtol=RTOL, atol=1e-15)


@FAST
@given(data=clustered(min_clusters=5, max_clusters=12))
def test_cr2_intercept_only_one_per_cluster_is_hc2(data) -> None:
    yi, vi, _, _ = data
    res = mp.CommonEffect().fit(mp.GenericEffect(yi=yi, vi=vi))
    rob = mp.robust(res, [f"s{i}" for i in range(len(yi))])
    w = 1.0 / vi
    m = 1.0 / w.sum()
    e = yi - res.estimate
    hc2 = m * np.sum(w**2 * e**2 / (1.0 - w * m)) * m
    np.testing.assert_allclose(rob.vcov[0, 0], hc2, rtol=RTOL)


@FAST
@given(data=clustered())
def test_cr1_is_cr0_times_n_over_n_minus_p(data) -> None:
    yi, vi, x, cluster = data
    res = _fit(yi, vi, x)
    cr0 = mp.robust(res, cluster, adjust="CR0")
    cr1 = mp.robust(res, cluster, adjust="CR1")
    n, p = cr0.n_clusters, cr0.p
    np.testing.assert_allclose(cr1.vcov, cr0.vcov * n / (n - p), rtol=1e-14)
    assert np.all(cr1.se >= cr0.se)
    np.testing.assert_array_equal(cr0.df, np.full(p, n - p))


@FAST
@given(data=clustered(), seed=st.integers(0, 2**32 - 1), adjust=st.sampled_from(["CR1", "CR2"]))
def test_relabelling_clusters_changes_nothing(data, seed, adjust) -> None:
    yi, vi, x, cluster = data
    res = _fit(yi, vi, x)
    rng = np.random.default_rng(seed)
    new_names = rng.permutation(1000)[: cluster.max() + 1]
    relabelled = [f"lab{new_names[c]}" for c in cluster]
    a = mp.robust(res, cluster, adjust=adjust)
    b = mp.robust(res, relabelled, adjust=adjust)
    np.testing.assert_allclose(b.vcov, a.vcov, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(b.df, a.df, rtol=RTOL)
    np.testing.assert_allclose(b.wald.statistic, a.wald.statistic, rtol=RTOL)


@FAST
@given(data=clustered(), seed=st.integers(0, 2**32 - 1), adjust=st.sampled_from(["CR0", "CR2"]))
def test_permuting_rows_changes_nothing(data, seed, adjust) -> None:
    yi, vi, x, cluster = data
    order = np.random.default_rng(seed).permutation(len(yi))
    a = mp.robust(_fit(yi, vi, x), cluster, adjust=adjust)
    b = mp.robust(_fit(yi[order], vi[order], x[order]), cluster[order], adjust=adjust)
    np.testing.assert_allclose(b.coef, a.coef, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(b.se, a.se, rtol=RTOL)
    np.testing.assert_allclose(b.df, a.df, rtol=RTOL)
    np.testing.assert_allclose(b.wald.statistic, a.wald.statistic, rtol=RTOL)
    np.testing.assert_allclose(b.wald.df_denom, a.wald.df_denom, rtol=RTOL)


@FAST
@given(data=clustered())
def test_single_constraint_htz_is_the_satterthwaite_t_test(data) -> None:
    yi, vi, x, cluster = data
    rob = mp.robust(_fit(yi, vi, x), cluster)
    for j in range(rob.p):
        test = rob.wald_test(j)
        np.testing.assert_allclose(test.statistic, rob.statistic[j] ** 2, rtol=1e-10)
        np.testing.assert_allclose(test.df_denom, rob.df[j], rtol=1e-10)
        np.testing.assert_allclose(test.pvalue, rob.pvalue[j], rtol=1e-8, atol=1e-300)
