"""The interval bounds of the REML/ML score that let the grid search skip [0, 0.01 v_min]."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metapool.tau2._likelihood import score, score_bounds_from_zero


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(2, 12),
    seed=st.integers(0, 2**32 - 1),
    width=st.floats(1e-4, 10.0),
    reml=st.booleans(),
)
def test_bounds_enclose_the_score_on_the_cell(k, seed, width, reml):
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-3, 1, k)
    yi = rng.normal(0, 1, k) * np.sqrt(vi + rng.choice([0.0, 0.1, 3.0]))
    b = width * vi.min()
    s_lo, s_hi = score_bounds_from_zero(np.asarray(b), yi, vi, reml=reml)
    t = np.concatenate([[0.0, b], rng.uniform(0, b, 20)])
    s = score(t, np.broadcast_to(yi, (t.size, k)), np.broadcast_to(vi, (t.size, k)), reml=reml)
    slack = 1e-9 * (1.0 / vi).sum()  # rounding of sums of weights of this size
    assert np.all(s >= s_lo - slack) and np.all(s <= s_hi + slack)


@given(k=st.integers(2, 8), seed=st.integers(0, 2**32 - 1), reml=st.booleans())
def test_bounds_close_on_the_score_at_zero_as_the_cell_shrinks(k, seed, reml):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 1.0, k)
    yi = rng.normal(0, 1, k)
    at_zero = float(score(np.asarray(0.0), yi, vi, reml=reml))
    gaps = []
    for width in (1e-2, 1e-4, 1e-6):
        s_lo, s_hi = score_bounds_from_zero(np.asarray(width * vi.min()), yi, vi, reml=reml)
        assert s_lo <= at_zero <= s_hi
        gaps.append(float(s_hi - s_lo))
    scale = (1.0 / vi).sum() + (yi**2 / vi**2).sum()
    assert gaps[2] < gaps[0] and gaps[2] <= 1e-4 * scale


@settings(max_examples=300, deadline=None)
@given(
    k=st.integers(2, 40),
    seed=st.integers(0, 2**32 - 1),
    moderators=st.integers(0, 2),
    reml=st.booleans(),
    beyond=st.floats(1.0, 1e6),
)
def test_both_scores_are_negative_beyond_the_upper_bound(k, seed, moderators, reml, beyond):
    """The grid's upper end U = max(v_max, 2 RSS_OLS/(k - p)): the score is < 0 for
    every τ² > U, so no maximum lies beyond it (docs/methods.rst has the proof)."""
    from metapool.tau2._likelihood import score_negative_beyond

    p = 1 + moderators
    if k <= p:
        k = p + 1
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-3, 2, k)
    # outlying effects and large heterogeneity make RSS_OLS, not v_max, the binding term
    yi = rng.standard_t(2, k) * np.sqrt(vi + rng.choice([0.0, 0.1, 10.0, 1e3]))
    X = None if p == 1 else np.column_stack([np.ones(k), rng.normal(size=(k, p - 1))])
    u = float(score_negative_beyond(yi, vi, X))
    t = u * (1 + 1e-9) * beyond
    assert float(score(np.asarray(t), yi, vi, X, reml=reml)) < 0


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 4),
    k=st.integers(2, 12),
    seed=st.integers(0, 2**32 - 1),
    reml=st.booleans(),
    size=st.integers(9, 80),
)
def test_coarse_to_fine_grid_has_the_fine_grids_signs(n, k, seed, reml, size):
    """The grid evaluated coarse to fine (cells certified by the monotone parts of the
    score) gives, at every point, the value the full grid gives or, where it skipped
    the point, its sign; so the candidate cells are the same."""
    from metapool.tau2._likelihood import _grid_score, _grid_score_refined

    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-3, 1, (n, k))
    # outliers with small variances make several local maxima likely
    yi = rng.normal(0, 1, (n, k)) * np.sqrt(vi + rng.choice([0.0, 0.05, 1.0], (n, 1)))
    yi[:, 0] += rng.choice([0.0, 3.0, 30.0], n)
    top = rng.uniform(0.5, 50.0, (n, 1))
    grid = np.concatenate([np.zeros((n, 1)), np.geomspace(1e-6, 1, size - 1) * top], axis=1)
    full = _grid_score(grid, yi[:, None, :], vi[:, None, :], None, reml=reml)
    fine = _grid_score_refined(grid, yi, vi, reml=reml)
    filled = np.isin(fine, (-1.0, 1.0)) & (fine != full)
    assert np.array_equal(fine[~filled], full[~filled])
    assert np.all(np.sign(full[filled]) == fine[filled])
    cells = lambda s: (s[:, :-1] > 0) & (s[:, 1:] <= 0)  # noqa: E731
    assert np.array_equal(cells(fine), cells(full))
