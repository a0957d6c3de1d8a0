"""The test of excess significance (Ioannidis and Trikalinos 2007), as metafor's ``tes``."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
from numpy.typing import NDArray

from metapool._validation import check_choice, check_finite
from metapool.bias._common import read_input
from metapool.exceptions import InvalidParameterError
from metapool.results import ExcessSignificanceResult, MetaResult

__all__ = ["ExcessSignificanceResult", "excess_significance", "poisson_binomial"]

Array = NDArray[np.float64]
_SIDES = ("two.sided", "greater", "less")


def poisson_binomial(power: Array) -> Array:
    """``P(S = j)``, ``j = 0..k``, for ``S`` the number of successes of independent
    trials with success probabilities ``power`` (by convolution, exact up to rounding)."""
    dist = np.zeros(power.size + 1)
    dist[0] = 1.0
    for i, p in enumerate(power):
        dist[1 : i + 2] = dist[1 : i + 2] * (1.0 - p) + dist[: i + 1] * p
        dist[0] *= 1.0 - p
    return dist


def excess_significance(
    result: object,
    *,
    alpha: float = 0.05,
    alternative: str = "two.sided",
    theta: float | None = None,
    tau2: float | None = None,
    null: float = 0.0,
    tes_alternative: str = "greater",
    test: str = "exact",
) -> ExcessSignificanceResult:
    """Test of excess significance: are more studies significant than their power predicts?

    As metafor's ``tes``. Each study's power to reject ``yi = null`` at
    ``alpha`` is computed at the true effect ``theta`` (by default the pooled
    estimate of the result, or the inverse-variance mean of an effect-size set);
    the expected number of significant studies ``E`` is the sum of the powers,
    and the observed number ``O`` is compared with the distribution of the
    number of significant studies.

    Parameters
    ----------
    result : MetaResult or EffectSet
        A fitted analysis (its estimate is ``theta`` and, for a random-effects
        fit, its τ² is ``tau2``) or the studies.
    alpha : float, default 0.05
        Significance level of each study's test.
    alternative : {"two.sided", "greater", "less"}, default "two.sided"
        The studies' tests.
    theta : float, optional
        The true effect at which power is computed (overrides the result's).
    tau2 : float, optional
        Between-study variance: power is averaged over true effects
        ``N(theta, tau2)`` (default: the random-effects fit's τ², 0 otherwise).
    null : float, default 0
        The value tested by each study (metafor's ``H0``).
    tes_alternative : {"greater", "two.sided", "less"}, default "greater"
        The test of excess significance: more significant studies than
        expected (the usual one-sided test), either direction, or fewer.
    test : {"exact", "binom", "chi2"}, default "exact"
        ``"exact"``: the exact distribution of ``O`` (Poisson-binomial with the
        studies' powers, by convolution); ``"binom"``: binomial with
        probability ``E/k`` (R's ``binom.test``); ``"chi2"``: the one-sample
        chi-squared test of a proportion without continuity correction (R's
        ``prop.test``). metafor picks ``"exact"`` unless it would enumerate
        more than 10⁶ subsets, then ``"chi2"``; the convolution needs no such
        switch.

    Returns
    -------
    ExcessSignificanceResult
        ``observed``, ``expected``, ``ratio``, each study's ``power`` and the
        ``pvalue``.

    Raises
    ------
    InvalidParameterError
        For an ``alpha`` outside (0, 1), an unknown side or test, a non-finite
        ``theta`` or ``null``, or a negative ``tau2``.
    MetapoolTypeError
        If ``result`` is neither a result nor an effect-size set.

    Notes
    -----
    With ``c`` the critical value and ``se_i = sqrt(vi)``, the power of a
    two-sided test is ``Φ̄(c - (θ - null)/se_i) + Φ(-c - (θ - null)/se_i)``.
    With ``tau2 > 0`` the study's estimate is ``N(θ, vi + tau2)`` across true
    effects, so its power is the same expression with ``(c se_i - (θ - null))
    / sqrt(vi + tau2)``; metafor integrates numerically over ``θ ± 5τ``, which
    leaves out up to 5.7e-7 of the mass (see ``docs/choices.rst``).

    The test has low power with few studies, and an excess of significant
    studies may stem from publication bias, selective reporting or
    heterogeneity (Ioannidis and Trikalinos 2007).

    References
    ----------
    .. [1] Ioannidis JPA, Trikalinos TA (2007). An exploratory test for an excess
       of significant findings. Clinical Trials 4(3):245-253.
    .. [2] Francis G (2013). Replication, statistical consistency, and
       publication bias. Journal of Mathematical Psychology 57(5):153-169.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.45, 0.52, 0.38, 0.61, 0.50, 0.12, 0.70, 0.44],
    ...                        vi=[0.04, 0.05, 0.03, 0.08, 0.06, 0.01, 0.10, 0.04])
    >>> tes = mp.excess_significance(mp.CommonEffect().fit(eff))
    >>> tes.observed, round(tes.expected, 4), round(tes.pvalue, 4)
    (7, 3.1386, 0.0039)
    """
    owner = "excess_significance"
    alpha = check_finite(owner, "alpha", alpha)
    if not 0.0 < alpha < 1.0:
        raise InvalidParameterError(
            f"The 'alpha' parameter of {owner} must be in (0, 1). Got {alpha!r} instead."
        )
    alternative = check_choice(owner, "alternative", alternative, _SIDES)
    tes_alternative = check_choice(owner, "tes_alternative", tes_alternative, _SIDES)
    test = check_choice(owner, "test", test, ("exact", "binom", "chi2"))
    null = check_finite(owner, "null", null)
    inp = read_input(owner, result, None, min_k=1, asymmetry_test=False)
    yi, vi, k = inp.yi, inp.vi, inp.k
    if tau2 is None:
        tau2_value = 0.0
        if isinstance(result, MetaResult) and inp.tau2 is not None:
            tau2_value = float(result.tau2)
    else:
        tau2_value = check_finite(owner, "tau2", tau2)
        if tau2_value < 0:
            raise InvalidParameterError(
                f"The 'tau2' parameter of {owner} must be >= 0. Got {tau2!r} instead."
            )
    if theta is None:
        if isinstance(result, MetaResult):
            theta_value = float(result.estimate)
        else:
            w = 1.0 / (vi + tau2_value)
            theta_value = float(np.sum(w * yi) / np.sum(w))
    else:
        theta_value = check_finite(owner, "theta", theta)

    se = np.sqrt(vi)
    z = (yi - null) / se
    if alternative == "two.sided":
        crit = float(scipy.stats.norm.isf(alpha / 2.0))
        sig = np.abs(z) >= crit
    elif alternative == "greater":
        crit = float(scipy.stats.norm.isf(alpha))
        sig = z >= crit
    else:
        crit = float(scipy.stats.norm.ppf(alpha))
        sig = z <= crit
    sd = np.sqrt(vi + tau2_value)
    shift = theta_value - null
    upper = scipy.stats.norm.sf((crit * se - shift) / sd)
    lower = scipy.stats.norm.cdf((-crit * se - shift) / sd)
    if alternative == "two.sided":
        power = np.asarray(upper + lower)
    elif alternative == "greater":
        power = np.asarray(upper)
    else:
        power = np.asarray(scipy.stats.norm.cdf((crit * se - shift) / sd))
    observed = int(np.sum(sig))
    expected = float(np.sum(power))
    statistic = float("nan")
    if test == "exact":
        dist = poisson_binomial(power)
        if tes_alternative == "greater":
            pvalue = float(np.sum(dist[observed:]))
        elif tes_alternative == "less":
            pvalue = float(np.sum(dist[: observed + 1]))
        else:
            tol = math.sqrt(np.finfo(float).eps)  # metafor's tolerance for ties
            pvalue = float(np.sum(dist[dist <= dist[observed] + tol]))
        pvalue = min(pvalue, 1.0)
    elif test == "binom":
        side = {"two.sided": "two-sided", "greater": "greater", "less": "less"}[tes_alternative]
        pvalue = float(scipy.stats.binomtest(observed, k, expected / k, alternative=side).pvalue)
    else:
        prob = expected / k
        statistic = (observed - expected) ** 2 / (expected * (1.0 - prob))
        if tes_alternative == "two.sided":
            pvalue = float(scipy.stats.chi2.sf(statistic, 1))
        else:
            zs = math.copysign(math.sqrt(statistic), observed / k - prob)
            pvalue = float(
                scipy.stats.norm.sf(zs)
                if tes_alternative == "greater"
                else scipy.stats.norm.cdf(zs)
            )
    return ExcessSignificanceResult(
        observed=observed,
        expected=expected,
        ratio=observed / expected if expected > 0 else float("nan"),
        power=tuple(float(x) for x in power),
        theta=theta_value,
        tau2=tau2_value,
        pvalue=pvalue,
        statistic=statistic,
        test=test,
        alpha=alpha,
        alternative=alternative,
        tes_alternative=tes_alternative,
        k=k,
        measure=inp.measure,
        notes=inp.notes,
    )
