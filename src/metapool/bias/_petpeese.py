"""PET-PEESE (Stanley and Doucouliagos 2014): the limit estimates of the regressions
of the effects on their standard errors (PET) and variances (PEESE), and the
conditional choice between them."""

from __future__ import annotations

import numpy as np
import scipy.stats

from metapool.bias._common import read_input
from metapool.bias._regtest import regression_test
from metapool.exceptions import InvalidParameterError
from metapool.results import Interval, PetPeeseResult

__all__ = ["PetPeeseResult", "pet_peese"]


def pet_peese(
    effects: object, *, alpha: float = 0.05, level: float | None = None
) -> PetPeeseResult:
    """PET-PEESE: the effect extrapolated to a perfectly precise study.

    PET (precision-effect test) regresses the effects on their standard
    errors, ``yi = b0 + b1 sei``; PEESE (precision-effect estimate with
    standard error) on their variances, ``yi = b0 + b1 vi``; both by weighted
    least squares with weights ``1/vi`` and a multiplicative dispersion
    (metafor's ``regtest(model="lm", predictor="sei"/"vi")``). ``b0`` is the
    estimate of each.

    The conditional rule (Stanley and Doucouliagos 2014): if PET's ``b0``
    differs from 0 — a one-sided t test (``k - 2`` df) at ``alpha`` in the
    direction of ``b0``, i.e. a two-sided test at ``2 alpha`` — there is an
    effect, and PEESE's ``b0`` (less biased when there is one) is the
    estimate; otherwise PET's ``b0`` is.

    Parameters
    ----------
    effects : EffectSet or MetaResult
        The studies (of a result, its studies and level are used).
    alpha : float, default 0.05
        One-sided significance level of PET's test in the rule.
    level : float, optional
        Confidence level of the intervals (default the result's, or 0.95).

    Returns
    -------
    PetPeeseResult
        ``pet`` and ``peese`` (full regression results, whose
        ``limit_estimate`` are the two estimates), ``estimate`` (the
        conditional choice), ``chosen`` and the p-value the rule used.

    Raises
    ------
    InvalidParameterError
        For an ``alpha`` or ``level`` outside (0, 1).
    InvalidDataError
        If there are fewer than 3 studies or all variances are equal.

    Warns
    -----
    SmallSampleWarning
        If there are fewer than 10 studies (both regressions have little
        precision).

    Notes
    -----
    The conditional estimator is biased when the true effect is small and
    heterogeneity is large, and PET over-corrects with few studies (Stanley
    2017); report both estimates, and a selection model beside them.

    References
    ----------
    .. [1] Stanley TD, Doucouliagos H (2014). Meta-regression approximations to
       reduce publication selection bias. Research Synthesis Methods
       5(1):60-78.
    .. [2] Stanley TD (2017). Limitations of PET-PEESE and other
       meta-analysis methods. Social Psychological and Personality Science
       8(5):581-591.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
    ...                        vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
    >>> pp = mp.pet_peese(eff)
    >>> pp.chosen, round(pp.pet.limit_estimate, 4), round(pp.estimate, 4)
    ('PEESE', -0.0914, 0.0779)
    """
    owner = "pet_peese"
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise InvalidParameterError(
            f"The 'alpha' parameter of {owner} must be in (0, 1). Got {alpha!r} instead."
        )
    inp = read_input(owner, effects, level)
    pet = regression_test(owner, inp, np.sqrt(inp.vi), model="lm", predictor="sei", test="PET")
    peese = regression_test(owner, inp, inp.vi.copy(), model="lm", predictor="vi", test="PEESE")
    # One-sided p-value of PET's b0 in its own direction.
    with np.errstate(divide="ignore", invalid="ignore"):
        t = abs(pet.limit_estimate) / pet.limit_se
    p_one = float(scipy.stats.t.sf(t, inp.k - 2)) if np.isfinite(t) else float("nan")
    use_peese = bool(p_one < alpha)
    chosen = peese if use_peese else pet
    return PetPeeseResult(
        pet=pet,
        peese=peese,
        estimate=chosen.limit_estimate,
        se=chosen.limit_se,
        ci=Interval(chosen.limit_ci.low, chosen.limit_ci.high),
        chosen="PEESE" if use_peese else "PET",
        pet_pvalue=p_one,
        alpha=float(alpha),
        k=inp.k,
        measure=inp.measure,
        notes=inp.notes,
    )
