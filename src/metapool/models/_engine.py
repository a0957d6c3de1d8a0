"""The one inverse-variance engine: every inverse-variance fit is a row of it.

Given effects ``y``, sampling variances ``v`` (shape ``(..., k)``, studies along
the last axis), a τ² per row (estimated before, by any estimator, or 0) and an
optional design matrix ``X`` (``(k, p)``), :func:`fit_iv` computes everything an
inverse-variance analysis reports, for every row at once:

* the weighted least-squares coefficients with ``w = 1/(v + τ²)``, their
  covariance (scaled by the HKSJ/Knapp–Hartung factor under ``ci="hksj"``),
  standard errors, tests and confidence intervals;
* the prediction interval (intercept-only models);
* the heterogeneity of the residuals: Q (with ``1/v`` weights), its df and p,
  I² and H² (from τ² or from Q);
* the Q-profile confidence interval of τ² with the I² and H² intervals it
  implies (when asked).

A single analysis is the special case of an empty batch shape; a common-effect
model is τ² = 0; a meta-regression passes ``X``. Rows are rescaled by a power of
two where their variances need it (exact; see :mod:`metapool._conditioning`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._conditioning import power_of_two_scale
from metapool._kernels import (
    heterogeneity_from_q,
    heterogeneity_from_tau2,
    n_params,
    rowsum,
    trace_p,
    wls,
)
from metapool.models._inference import pool as pool_intercept
from metapool.models._inference import (
    prediction_interval,
    q_profile,
    t_crit,
    two_sided_p,
    variance_scale,
    z_crit,
)
from metapool.tau2._qsolve import solve_generalized_q

__all__ = ["IVFit", "fit_iv"]

Array = NDArray[np.float64]


class IVFit(NamedTuple):
    """Everything :func:`fit_iv` computes; batch shape ``B = y.shape[:-1]``."""

    coef: Array  #: (B, p) coefficients (the pooled estimate for p = 1)
    vcov: Array  #: (B, p, p) their covariance (HKSJ-scaled where asked)
    se: Array  #: (B, p)
    statistic: Array  #: (B, p) z or t
    pvalue: Array  #: (B, p)
    df: float | None  #: df of the t tests (k - p), None for z
    ci_low: Array  #: (B, p)
    ci_high: Array  #: (B, p)
    pi_low: Array  #: (B,) prediction interval (NaN with moderators)
    pi_high: Array  #: (B,)
    weights: Array  #: (B, k) percent
    tau2: Array  #: (B,)
    tau2_ci_low: Array  #: (B,) Q-profile bounds (NaN where not profiled)
    tau2_ci_high: Array  #: (B,)
    profile_converged: NDArray[np.bool_]  #: (B,)
    q: Array  #: (B,) Cochran's Q (Q_E with moderators)
    q_df: int
    q_pvalue: Array  #: (B,)
    i2: Array  #: (B,) percent
    h2: Array  #: (B,)
    i2_ci_low: Array  #: (B,)
    i2_ci_high: Array  #: (B,)
    h2_ci_low: Array  #: (B,)
    h2_ci_high: Array  #: (B,)
    hksj_zero: NDArray[np.bool_]  #: (B,) rows whose HKSJ factor is 0 (Q = 0)


def fit_iv(
    yi: Array,
    vi: Array,
    tau2: Array | float,
    *,
    X: Array | None = None,
    ci: str = "z",
    level: float = 0.95,
    prediction: str = "metafor",
    i2: str = "tau2",
    profile: bool = True,
    weights: bool = True,
) -> IVFit:
    """Fit the inverse-variance model along the last axis (see the module docstring).

    Parameters
    ----------
    yi, vi : ndarray
        Effects and sampling variances, shape ``(..., k)``; finite, ``vi > 0``.
    tau2 : ndarray or float
        The between-study variance of each row (0 for a common-effect model).
    X : ndarray, optional
        Design matrix ``(k, p)`` with full column rank; None for the intercept.
    ci : {"z", "hksj", "hksj-adhoc", "t"}
        Method of the coefficients' intervals and tests (t with ``k - p`` df for
        all but ``"z"``).
    level : float
        Confidence level of every interval.
    prediction : {"metafor", "higgins"}
        Critical value of the prediction interval (intercept-only models).
    i2 : {"tau2", "q"}
        I² and H² from τ² and the typical within-study variance, or from Q.
    profile : bool
        Compute the Q-profile interval of τ² (and the I²/H² intervals from it).
    weights : bool
        Compute the studies' percentage weights (``IVFit.weights`` is an empty
        array otherwise; batches do not report them).

    References
    ----------
    .. [1] Hartung J, Knapp G (2001). A refined method for the meta-analysis of
       controlled clinical trials with binary outcome. Stat Med 20(24):3875-3889.
    .. [2] Viechtbauer W (2007). Confidence intervals for the amount of
       heterogeneity in meta-analysis. Stat Med 26(1):37-52.
    .. [3] Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a
       meta-analysis. Stat Med 21(11):1539-1558.
    """
    shape, k = yi.shape[:-1], yi.shape[-1]
    p = n_params(X)
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=np.float64), shape)
    s = power_of_two_scale(vi) if yi.size else np.ones(shape)
    s_k = s[..., None]
    if np.all(s == 1.0):  # ordinary data (the rule): no rescaled copies
        y, v, t = yi, vi, tau2
    else:
        y, v, t = yi / s_k, vi / (s_k * s_k), tau2 / (s * s)

    if X is None:  # the intercept-only path (with its scalar fast path)
        pooled = pool_intercept(y, v, t, ci, level, weights=weights)
        coef = pooled.estimate[..., None]
        vcov = (pooled.se**2)[..., None, None]
        se, statistic = pooled.se[..., None], pooled.statistic[..., None]
        pvalue = pooled.pvalue[..., None]
        lo, hi = pooled.ci_low[..., None], pooled.ci_high[..., None]
        df = None if pooled.df is None else float(pooled.df)
        study_weights = pooled.weights
        pi_low, pi_high = prediction_interval(pooled, t, k, prediction, level)
    else:
        w = 1.0 / (v + t[..., None])
        fit = wls(y, w, X)
        factor = variance_scale(fit.rss, k - p, ci)
        vcov = np.asarray(fit.cov * factor[..., None, None])
        df = None if ci == "z" else float(k - p)
        coef = np.asarray(fit.beta)
        se = np.sqrt(np.einsum("...ii->...i", vcov))
        with np.errstate(divide="ignore", invalid="ignore"):
            statistic = coef / se
        crit = z_crit(level) if df is None else float(t_crit(level, df))
        pvalue = two_sided_p(statistic, df)
        lo, hi = coef - crit * se, coef + crit * se
        study_weights = np.asarray(100.0 * w / rowsum(w)[..., None]) if weights else np.empty((0,))
        pi_low = pi_high = np.full(shape, np.nan)
    hksj_zero = np.asarray((se[..., 0] == 0.0) if ci == "hksj" else np.zeros(shape, bool))

    # Residual heterogeneity with fixed-effect weights.
    w_fe = 1.0 / v
    fit_fe = wls(y, w_fe, X)
    q_df = k - p
    q = np.asarray(fit_fe.rss)
    with np.errstate(divide="ignore", invalid="ignore"):  # k = p: not estimable
        s2 = np.asarray(q_df / trace_p(w_fe, X, None if X is None else fit_fe.cov))
    if i2 == "q":
        i2_v, h2_v = heterogeneity_from_q(q, q_df)
    else:
        i2_v, h2_v = heterogeneity_from_tau2(t, s2)
    q_pvalue = np.asarray(special.chdtrc(q_df, q))

    nan = np.full(shape, np.nan)
    tau2_lo, tau2_hi = nan, nan
    i2_lo = i2_hi = h2_lo = h2_hi = nan
    profile_converged = np.ones(shape, dtype=bool)
    if profile and q_df >= 1 and yi.size:
        if X is None:
            b_lo, b_hi, conv, _ = q_profile(y, v, level, q_zero=q, typical=s2)
        else:
            alpha = 1.0 - level
            targets = (special.chdtri(q_df, alpha / 2), special.chdtri(q_df, 1 - alpha / 2))
            bounds = solve_generalized_q(y, v, X, np.array(targets), q_zero=q, typical=s2)
            b_lo, b_hi = bounds.root[0], bounds.root[1]
            conv = np.asarray(bounds.converged.all(axis=0))
        b_lo, b_hi = np.asarray(b_lo, dtype=np.float64), np.asarray(b_hi, dtype=np.float64)
        profile_converged = np.asarray(conv, dtype=bool)
        i2_b, h2_b = heterogeneity_from_tau2(np.stack([b_lo, b_hi]), s2)
        i2_lo, i2_hi, h2_lo, h2_hi = i2_b[0], i2_b[1], h2_b[0], h2_b[1]
        tau2_lo, tau2_hi = b_lo * s * s, b_hi * s * s

    return IVFit(
        coef=np.asarray(coef) * s_k,
        vcov=np.asarray(vcov) * (s * s)[..., None, None],
        se=np.asarray(se) * s_k,
        statistic=np.asarray(statistic),
        pvalue=np.asarray(pvalue),
        df=df,
        ci_low=np.asarray(lo) * s_k,
        ci_high=np.asarray(hi) * s_k,
        pi_low=np.asarray(pi_low) * s,
        pi_high=np.asarray(pi_high) * s,
        weights=np.asarray(study_weights),
        tau2=np.asarray(tau2, dtype=np.float64),
        tau2_ci_low=np.asarray(tau2_lo),
        tau2_ci_high=np.asarray(tau2_hi),
        profile_converged=profile_converged,
        q=q,
        q_df=q_df,
        q_pvalue=q_pvalue,
        i2=np.asarray(i2_v),
        h2=np.asarray(h2_v),
        i2_ci_low=np.asarray(i2_lo),
        i2_ci_high=np.asarray(i2_hi),
        h2_ci_low=np.asarray(h2_lo),
        h2_ci_high=np.asarray(h2_hi),
        hksj_zero=hksj_zero,
    )
