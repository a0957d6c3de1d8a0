"""GOSH plots: every subset against metafor's gosh(), random samples, what is drawn."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from metapool.plotting.gosh import gosh_content, gosh_subsets
from tests.plotting._diagnostic import MODELS, bcg_counts, bcg_generic, ref
from tests.plotting._helpers import plot_ax


@pytest.mark.parametrize("method", ["CE", "DL", "REML"])
def test_all_subsets_match_metafor(method):
    expected = ref()["gosh"][method]
    c = gosh_content(MODELS[method].fit(bcg_generic(6)))
    assert c.exact and c.masks.shape == (63, 6)
    # the same subsets in the same order (R's expand.grid, sorted by size)
    np.testing.assert_array_equal(c.masks.astype(int), expected["incl"])
    np.testing.assert_array_equal(c.k, expected["k"])
    # estimates: closed form or REML to ~1e-13; I^2 in percent from tau^2 (REML): 1e-10
    np.testing.assert_allclose(c.estimate, expected["estimate"], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(c.i2, expected["i2"], rtol=1e-10, atol=1e-9)
    assert c.converged.all()


def test_each_subset_equals_a_fit_of_that_subset():
    res = mp.RandomEffects(tau2="PM").fit(bcg_generic())
    c = gosh_content(res, max_subsets=200, seed=3)
    rng = np.random.default_rng(0)
    for row in rng.choice(len(c.k), size=6, replace=False):
        keep = np.flatnonzero(c.masks[row])
        fit = res.model.fit(bcg_generic().subset(keep)) if keep.size > 1 else None
        if fit is None:
            assert c.estimate[row] == bcg_generic().yi[keep[0]] and c.i2[row] == 0
        else:
            assert c.estimate[row] == pytest.approx(fit.estimate, rel=1e-9, abs=1e-12)
            assert c.i2[row] == pytest.approx(fit.i2, rel=1e-9, abs=1e-9)


def test_random_sample_sizes_follow_the_binomial_weights():
    masks, exact = gosh_subsets(20, 20_000, seed=11)
    assert not exact and masks.shape == (20_000, 20)
    sizes = masks.sum(axis=1)
    assert sizes.min() >= 1 and np.all(np.diff(sizes) >= 0)  # sorted by size
    # chi-square goodness of fit against binomial(20, 1/2) restricted to 1..20
    m = np.arange(1, 21)
    p = stats.binom.pmf(m, 20, 0.5)
    p /= p.sum()
    observed = np.bincount(sizes, minlength=21)[1:]
    keep = p * 20_000 >= 5
    expected = p[keep] * 20_000
    chi2 = (((observed[keep] - expected) ** 2) / expected).sum()
    # pooled tails aside, df = bins - 1; a correct sampler fails this 1 time in 10^6
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-6
    # every study equally often in subsets of each size (uniform within a size)
    share = masks[sizes == 10].mean(axis=0)
    assert np.all(np.abs(share - 0.5) < 0.05)
    again, _ = gosh_subsets(20, 20_000, seed=11)
    np.testing.assert_array_equal(masks, again)


def test_exact_up_to_the_limit():
    assert gosh_subsets(5, 31)[1] is True
    assert gosh_subsets(5, 30, seed=1)[1] is False
    masks, _ = gosh_subsets(4, 100)
    assert len({tuple(r) for r in masks}) == 15


def test_drawn_points_and_full_analysis():
    res = MODELS["DL"].fit(bcg_generic(8))
    c = gosh_content(res)
    fig = mp.gosh_plot(res)
    ax = plot_ax(fig)
    (pts,) = [ln for ln in ax.lines if ln.get_gid() == "gosh-subsets"]
    assert len(pts.get_xdata()) == 255
    np.testing.assert_allclose(pts.get_xdata(), np.exp(c.estimate), rtol=1e-12)
    np.testing.assert_allclose(pts.get_ydata(), c.i2)
    (full,) = [ln for ln in ax.lines if ln.get_gid() == "gosh-full"]
    assert full.get_xdata()[0] == pytest.approx(math.exp(res.estimate))
    assert full.get_ydata()[0] == pytest.approx(res.i2)
    # the subset of all studies is the full analysis
    assert c.estimate[-1] == pytest.approx(res.estimate) and c.i2[-1] == pytest.approx(res.i2)
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "I² (%)"
    gids = {a.get_gid() for a in ax.child_axes}
    assert gids == {"gosh-hist-x", "gosh-hist-y"}
    hx = next(a for a in ax.child_axes if a.get_gid() == "gosh-hist-x")
    assert sum(p.get_height() for p in hx.patches) == 255


def test_errors():
    with pytest.raises(MetapoolTypeError, match="inverse-variance"):
        mp.gosh_plot(mp.MantelHaenszel().fit(bcg_counts()))
    res = MODELS["DL"].fit(bcg_generic())
    with pytest.raises(InvalidParameterError, match="'max_subsets'"):
        mp.gosh_plot(res, max_subsets=1)
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        mp.gosh_plot(res, alpha=2)
    with pytest.raises(InvalidDataError, match="at least two studies"):
        mp.gosh_plot(mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1], vi=[0.1])))


def test_result_method():
    res = MODELS["CE"].fit(bcg_generic(4))
    ax = plot_ax(res.plot_gosh())
    (pts,) = [ln for ln in ax.lines if ln.get_gid() == "gosh-subsets"]
    assert len(pts.get_xdata()) == 15


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 10))
def test_exact_subsets_are_every_nonempty_subset_once(k):
    masks, exact = gosh_subsets(k, 2**k)
    assert exact and masks.shape == (2**k - 1, k)
    assert len({tuple(row) for row in masks}) == 2**k - 1 and masks.any(axis=1).all()
    assert np.all(np.diff(masks.sum(axis=1)) >= 0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.01, 1e3), min_size=2, max_size=30))
def test_point_sizes_span_metafors_range(values):
    from metapool.plotting._scatter import metafor_cex

    cex = metafor_cex(values)
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(cex[order]) >= -1e-12)  # larger weight, larger point
    if np.ptp(values) > 1e-6:
        assert cex.min() == pytest.approx(0.5) and cex.max() == pytest.approx(3.5)
    else:
        assert np.all(cex == 1.0)
