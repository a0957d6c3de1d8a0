"""Laws of the batch machinery: stacked Q solves and the whole-batch range check."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metapool.batch import out_of_range
from metapool.tau2._qsolve import generalized_q, solve_generalized_q


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    k=st.integers(2, 9),
    seed=st.integers(0, 2**32 - 1),
    moderators=st.booleans(),
)
def test_stacked_targets_equal_separate_solves(n, k, seed, moderators):
    """Solving Q(τ²) = t for several targets at once gives, bit for bit, the roots
    of one solve per target (each element iterates on its own), and each root
    meets its equation."""
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-2, 1, (n, k))
    yi = rng.normal(0, 1, (n, k)) * np.sqrt(vi + rng.choice([0.0, 0.3, 5.0], (n, 1)))
    X = np.column_stack([np.ones(k), np.arange(k)]) if moderators and k > 2 else None
    targets = np.sort(rng.uniform(0.5, 3 * k, 3))
    both = solve_generalized_q(yi, vi, X, targets)
    assert both.root.shape == (3, n)
    for j, target in enumerate(targets):
        alone = solve_generalized_q(yi, vi, X, float(target))
        assert np.array_equal(both.root[j], alone.root)
        assert np.array_equal(both.converged[j], alone.converged)
        interior = both.root[j] > 0
        q = generalized_q(both.root[j], yi, vi, X)
        # Q is decreasing: an interior root meets the target to the solver's
        # 1e-12 relative step (times |Q'| τ², at most Q itself), a boundary 0 has Q(0) <= t
        assert np.allclose(q[interior], target, rtol=1e-9)
        assert np.all(q[~interior] <= target * (1 + 1e-12))
    # the roots decrease as the target grows (Q is strictly decreasing)
    assert np.all(np.diff(both.root, axis=0) <= 0)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 6),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
    scales=st.lists(st.sampled_from([1.0, 1e-70, 1e70, 1e-100, 1e100]), min_size=1, max_size=6),
    spread=st.sampled_from([1.0, 1e20, 1e44, 1e46, 1e200]),
)
def test_range_check_is_row_by_row(n, k, seed, scales, spread):
    """A row's out-of-range flags do not depend on the other rows of its batch (the
    whole-batch shortcut must agree with checking each row alone)."""
    rng = np.random.default_rng(seed)
    scale = np.resize(np.asarray(scales), n)[:, None]
    vi = rng.uniform(0.5, 2.0, (n, k)) * scale
    vi[:, 0] *= rng.choice([1.0, 1e-95, 1e95], n)
    yi = rng.normal(0, 1, (n, k)) * np.sqrt(scale)
    yi[:, -1] += spread * rng.choice([0.0, 1.0], n) * np.sqrt(scale[:, 0])
    whole = out_of_range(yi, vi)
    for i in range(n):
        assert np.array_equal(whole[i], out_of_range(yi[i : i + 1], vi[i : i + 1])[0])
        assert np.array_equal(whole[i], out_of_range(yi[i], vi[i]))
