"""Inference for a pooled inverse-variance estimate: CI methods, prediction
intervals and heterogeneity statistics. Pure numpy along the last axis."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._inference import t_crit, two_sided_p, z_crit
from metapool._kernels import (
    heterogeneity_from_q,
    heterogeneity_from_tau2,
    rowsum,
    trace_p,
    wls,
)
from metapool.tau2._qsolve import solve_generalized_q

__all__ = [
    "CI_METHODS",
    "PI_METHODS",
    "Heterogeneity",
    "Pooled",
    "heterogeneity",
    "pool",
    "prediction_interval",
    "q_profile",
    "t_crit",
    "two_sided_p",
    "variance_scale",
    "z_crit",
]

Array = NDArray[np.float64]

#: CI methods for the pooled effect, with their descriptions.
CI_METHODS = {
    "z": "Wald z",
    "hksj": "Hartung-Knapp-Sidik-Jonkman t",
    "hksj-adhoc": "HKSJ t, never narrower than Wald",
    "t": "Wald SE with t(k-1)",
}
PI_METHODS = {"metafor": "metafor: z, or t(k-1) under HKSJ/t", "higgins": "Higgins 2009: t(k-2)"}


def variance_scale(rss: Array | float, df_resid: int, ci: str) -> Array:
    """The factor that multiplies the Wald variance under each CI method.

    1 for ``"z"`` and ``"t"``; ``Σ w r² / (k - p)`` for ``"hksj"`` (Hartung & Knapp
    2001), set to 0 when the weighted residual sum of squares is at most machine
    epsilon (as metafor); ``max(1, ·)`` for ``"hksj-adhoc"`` (Röver et al. 2015).
    """
    rss = np.asarray(rss, dtype=np.float64)
    if ci not in ("hksj", "hksj-adhoc"):
        return np.ones_like(rss)
    scale = np.where(rss <= np.finfo(float).eps, 0.0, rss / df_resid)
    if ci == "hksj-adhoc":
        scale = np.maximum(1.0, scale)
    return np.asarray(scale)


class Pooled(NamedTuple):
    estimate: Array
    se: Array
    statistic: Array
    pvalue: Array
    df: Array | None
    ci_low: Array
    ci_high: Array
    weights: Array  #: percent


def pool(
    yi: Array, vi: Array, tau2: Array | float, ci: str, level: float, *, weights: bool = True
) -> Pooled:
    """Inverse-variance pooled estimate with ``w = 1/(v + τ²)`` and the chosen CI method.

    ``"hksj"`` scales the variance by ``q = Σ w (y - μ̂)² / (k - 1)`` (Hartung & Knapp
    2001; Sidik & Jonkman 2002) and uses t(k-1); ``"hksj-adhoc"`` uses
    ``max(1, q)`` (Röver et al. 2015; metafor's ``test="adhoc"``); ``"t"`` keeps the
    Wald SE with t(k-1). ``weights=False`` skips the studies' percentage weights
    (an empty array then), which batches do not report.
    """
    k = yi.shape[-1]
    w = 1.0 / (vi + np.asarray(tau2)[..., None])
    fit = wls(yi, w)
    estimate = fit.beta[..., 0]
    var = fit.cov[..., 0, 0]
    df: Array | None = None
    var = var * variance_scale(fit.rss, k - 1, ci)
    if ci != "z":
        df = np.asarray(float(k - 1))
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = estimate / se
    crit = z_crit(level) if df is None else t_crit(level, df)
    return Pooled(
        estimate=np.asarray(estimate),
        se=np.asarray(se),
        statistic=np.asarray(statistic),
        pvalue=two_sided_p(statistic, df),
        df=df,
        ci_low=np.asarray(estimate - crit * se),
        ci_high=np.asarray(estimate + crit * se),
        weights=np.asarray(100.0 * w / rowsum(w)[..., None]) if weights else np.empty((0,)),
    )


def prediction_interval(
    pooled: Pooled, tau2: Array | float, k: int, method: str, level: float
) -> tuple[Array, Array]:
    """Prediction interval ``μ̂ ± crit · sqrt(se² + τ²)``.

    ``"metafor"``: ``crit`` is z, or t(k-1) when the CI uses a t distribution
    (metafor's ``predict``). ``"higgins"``: t(k-2) (Higgins, Thompson &
    Spiegelhalter 2009); not estimable (NaN) for k < 3.
    """
    if method == "higgins":
        crit = t_crit(level, k - 2) if k >= 3 else np.asarray(np.nan)
    elif pooled.df is None:
        crit = np.asarray(z_crit(level))
    else:
        crit = t_crit(level, pooled.df)
    half = crit * np.sqrt(pooled.se**2 + np.asarray(tau2))
    return np.asarray(pooled.estimate - half), np.asarray(pooled.estimate + half)


def q_profile(
    yi: Array,
    vi: Array,
    level: float,
    *,
    q_zero: Array | None = None,
    typical: Array | None = None,
) -> tuple[Array, Array, Array, Array]:
    """Q-profile confidence interval of τ² (Viechtbauer 2007).

    The bounds solve ``Q(τ²) = χ²_{k-1}(1 - α/2)`` (lower) and
    ``Q(τ²) = χ²_{k-1}(α/2)`` (upper), each set to 0 when ``Q(0)`` is already
    below the quantile. Returns ``(low, high, converged, iterations)``.
    ``q_zero`` and ``typical`` are Cochran's Q and the typical within-study
    variance when the caller has computed them.
    """
    df = yi.shape[-1] - 1
    alpha = 1.0 - level
    targets = (special.chdtri(df, alpha / 2), special.chdtri(df, 1 - alpha / 2))
    res = solve_generalized_q(yi, vi, None, np.array(targets), q_zero=q_zero, typical=typical)
    return (
        np.asarray(res.root[0]),
        np.asarray(res.root[1]),
        np.asarray(res.converged.all(axis=0)),
        np.asarray(res.iterations.sum(axis=0)),
    )


class Heterogeneity(NamedTuple):
    q: Array
    q_df: int
    q_pvalue: Array
    i2: Array
    h2: Array
    s2: Array  #: typical within-study variance


def heterogeneity(yi: Array, vi: Array, tau2: Array | float, i2_method: str) -> Heterogeneity:
    """Cochran's Q with df and p, and I², H² (from τ² or from Q)."""
    k = yi.shape[-1]
    w = 1.0 / vi
    q = wls(yi, w).rss
    df = k - 1
    with np.errstate(divide="ignore", invalid="ignore"):  # k = 1: 0/0, not estimable
        s2 = np.asarray(df / trace_p(w))
    if i2_method == "q":
        i2, h2 = heterogeneity_from_q(q, df)
    else:
        i2, h2 = heterogeneity_from_tau2(tau2, s2)
    return Heterogeneity(
        q=np.asarray(q),
        q_df=df,
        q_pvalue=np.asarray(special.chdtrc(df, q)),
        i2=i2,
        h2=h2,
        s2=s2,
    )
