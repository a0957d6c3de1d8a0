"""Begg and Mazumdar's rank correlation test (metafor's ``ranktest``)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool.bias._common import read_input
from metapool.results import BeggResult

__all__ = ["EXACT_MAX_K", "BeggResult", "begg_test", "kendall_cdf", "kendall_tau"]

Array = NDArray[np.float64]

#: Largest k for which the exact null distribution is computed (about 0.15 s at
#: this k); beyond it the normal approximation is used. R computes the exact
#: p-value for every k but its factorials overflow from k = 171 on (p = NaN).
EXACT_MAX_K = 500


def kendall_tau(x: Array, y: Array) -> tuple[int, float]:
    """Kendall's score ``S`` and tau-b of two 1-d arrays (O(k²) pairs, O(k) memory).

    tau-b is NaN when one of the arrays is constant (as R's ``cor``).
    """
    n = x.size
    score = 0
    for i in range(n - 1):
        score += int(np.sum(np.sign(x[i + 1 :] - x[i]) * np.sign(y[i + 1 :] - y[i])))
    n0 = n * (n - 1) // 2
    n1 = sum(t * (t - 1) // 2 for t in _tie_sizes(x))
    n2 = sum(t * (t - 1) // 2 for t in _tie_sizes(y))
    denominator = (n0 - n1) * (n0 - n2)
    return score, score / math.sqrt(denominator) if denominator > 0 else math.nan


def _tie_sizes(x: Array) -> list[int]:
    _, counts = np.unique(x, return_counts=True)
    return [int(c) for c in counts if c > 1]


def kendall_cdf(c: int, n: int) -> float:
    """``P(T <= c)`` for the number ``T`` of concordant pairs among ``n`` untied pairs.

    Under independence ``T`` has the Mahonian distribution (the number of
    inversions of a random permutation). It is built up one element at a time,
    ``P_m(j) = (1/m) Σ_{i=0}^{m-1} P_{m-1}(j - i)``, keeping only ``j <= c``
    (the lower tail, where the prefix sums used for the window sums lose no
    relative precision), so tiny tail probabilities are accurate.
    """
    if c < 0:
        return 0.0
    if c >= n * (n - 1) // 2:
        return 1.0
    f = np.ones(1)
    for m in range(2, n + 1):
        size = min(f.size + m - 1, c + 1)
        cs = np.concatenate([[0.0], np.cumsum(f)])
        j = np.arange(size)
        f = (cs[np.minimum(j + 1, f.size)] - cs[np.maximum(j - m + 1, 0)]) / m
    return float(min(1.0, f.sum()))


def _normal_pvalue(score: int, x: Array, y: Array) -> float:
    """Two-sided p-value of ``S`` with the tie-corrected variance (Kendall 1970), as R."""
    n = x.size
    tx = np.array(_tie_sizes(x), dtype=np.float64)
    ty = np.array(_tie_sizes(y), dtype=np.float64)
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
    vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
    v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
    v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = score / math.sqrt(var_s)
    return float(2.0 * special.ndtr(-abs(z)))


def begg_test(effects_or_result: object) -> BeggResult:
    """Begg and Mazumdar's rank correlation test for funnel-plot asymmetry (metafor's ``ranktest``).

    Kendall's tau between the standardised deviates
    ``(yi - θ̂) / sqrt(vi - 1/Σw)`` (``θ̂`` the common-effect estimate with
    ``w = 1/vi``) and the sampling variances ``vi``.

    Parameters
    ----------
    effects_or_result : EffectSet or MetaResult
        The studies, or a fitted analysis (only its studies are used: the test
        always standardises around the common-effect estimate, as metafor does).

    Returns
    -------
    BeggResult

    Raises
    ------
    InvalidDataError
        If there are fewer than 3 studies.
    MetapoolTypeError
        If the input is neither an effect-size set nor a result.

    Warns
    -----
    SmallSampleWarning
        If there are fewer than 10 studies (the test has little power).

    Notes
    -----
    The p-value follows R's ``cor.test(method = "kendall", exact = TRUE)``,
    which metafor calls. Without ties it is exact: with ``T`` the number of
    concordant pairs and ``M = k(k-1)/2``, ``p = min(1, 2 P(T <= min(T_obs, M - T_obs)))``
    under the Mahonian null distribution. With ties in either variable it is
    the normal approximation ``z = S / sqrt(Var S)`` with the tie-corrected
    variance and no continuity correction (R warns "Cannot compute exact
    p-value with ties"; metapool records it in ``exact`` and ``notes``).
    R's exact computation overflows for k >= 171 and returns NaN; metapool
    computes the exact p-value up to ``k = 500`` and uses the normal
    approximation beyond.

    References
    ----------
    .. [1] Begg CB, Mazumdar M (1994). Operating characteristics of a rank
       correlation test for publication bias. Biometrics 50(4):1088-1101.
    .. [2] Kendall MG (1970). Rank Correlation Methods, 4th ed. Griffin.
    .. [3] Sterne JAC, Egger M (2005). Regression methods to detect publication
       and other bias in meta-analysis. In: Rothstein HR, Sutton AJ, Borenstein M
       (eds.), Publication Bias in Meta-Analysis, pp. 99-110. Wiley.

    Examples
    --------
    >>> import metapool as mp
    >>> mg = mp.GenericEffect(  # magnesium trials (metafor's dat.egger2001), log odds ratios
    ...     yi=[-0.8303, -1.0561, -1.2783, -0.0435, 0.2231, -2.4075, -1.2809, -1.1917,
    ...         -0.6957, -2.2083, -2.0382, -0.8502, -0.7932, -0.2993, -1.5708, 0.0576],
    ...     vi=[1.5551, 0.1715, 0.6531, 2.0435, 0.2393, 1.1496, 1.4250, 2.7599,
    ...         0.2875, 1.2313, 0.6095, 0.3825, 0.3917, 0.0215, 0.3295, 0.0010])
    >>> bg = mp.begg_test(mg)
    >>> round(bg.statistic, 4), round(bg.pvalue, 4), bg.exact
    (0.15, 0.4503, True)
    """
    owner = "begg_test"
    inp = read_input(owner, effects_or_result, None)
    yi, vi, k = inp.yi, inp.vi, inp.k
    w = 1.0 / vi
    # Correctly rounded sums (math.fsum) do not depend on the order of the studies, so
    # studies with equal yi and vi get exactly equal deviates (ties) in any order.
    sum_w = math.fsum(w.tolist())
    theta = math.fsum((w * yi).tolist()) / sum_w
    deviates = (yi - theta) / np.sqrt(vi - 1.0 / sum_w)
    score, tau = kendall_tau(deviates, vi)
    ties = bool(_tie_sizes(deviates) or _tie_sizes(vi))
    notes = list(inp.notes)
    exact = not ties and k <= EXACT_MAX_K
    if math.isnan(tau):
        pvalue, exact = math.nan, False
        notes.append("all variances (or all deviates) are equal: Kendall's tau is not defined")
    elif exact:
        m = k * (k - 1) // 2
        concordant = (score + m) // 2
        pvalue = min(1.0, 2.0 * kendall_cdf(min(concordant, m - concordant), k))
    else:
        pvalue = _normal_pvalue(score, deviates, vi)
        if ties:
            notes.append("ties in the deviates or the variances: normal approximation, as R")
        else:
            notes.append(f"k > {EXACT_MAX_K}: normal approximation")
    return BeggResult(
        statistic=float(tau),
        pvalue=pvalue,
        score=score,
        exact=exact,
        k=k,
        measure=inp.measure,
        notes=tuple(notes),
    )
