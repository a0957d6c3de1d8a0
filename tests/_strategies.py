"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import metapool as mp

__all__ = ["IV_MODELS", "meta_data"]


@st.composite
def meta_data(
    draw: Any,
    min_k: int = 2,
    max_k: int = 25,
    log_v: tuple[float, float] = (-3.0, 3.0),
    spreads: tuple[float, ...] = (0.0, 0.1, 1.0, 10.0, 1e4),
) -> tuple[np.ndarray, np.ndarray]:
    """``(yi, vi)``: k studies with variances ``10**U(log_v)`` and between-study
    spread drawn from ``spreads`` (up to τ²/v ~ 1e11 with the defaults)."""
    k = draw(st.integers(min_k, max_k))
    vi = 10.0 ** np.array(draw(st.lists(st.floats(*log_v), min_size=k, max_size=k)))
    spread = draw(st.sampled_from(spreads))
    z = np.array(draw(st.lists(st.floats(-3, 3), min_size=k, max_size=k)))
    u = np.array(draw(st.lists(st.floats(-3, 3), min_size=k, max_size=k)))
    return z * np.sqrt(vi) + spread * u, vi


#: every inverse-variance model: random effects with each estimator and CI method,
#: and the common-effect model
IV_MODELS = st.one_of(
    st.builds(
        lambda t, c: mp.RandomEffects(tau2=t, ci=c),
        st.sampled_from(mp.tau2.available()),
        st.sampled_from(["z", "hksj", "hksj-adhoc", "t"]),
    ),
    st.just(mp.CommonEffect()),
)
