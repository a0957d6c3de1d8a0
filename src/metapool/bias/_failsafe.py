"""Fail-safe N (Rosenthal 1979; Orwin 1983; Rosenberg 2005), as metafor's ``fsn``."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from metapool._inference import two_sided_p
from metapool._validation import check_bool, check_choice, check_finite
from metapool.bias._common import read_input
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.results import FailSafeNResult

__all__ = ["FailSafeNResult", "fail_safe_n"]

_METHODS = ("Rosenthal", "Orwin", "Rosenberg")


def fail_safe_n(
    effects: object,
    method: str = "Rosenthal",
    *,
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FailSafeNResult:
    """Fail-safe N: how many unpublished null studies would overturn the result.

    As metafor's ``fsn``.

    Parameters
    ----------
    effects : EffectSet or MetaResult
        The studies (of a result, its studies are used; the model is not).
    method : {"Rosenthal", "Orwin", "Rosenberg"}, default "Rosenthal"
        * ``"Rosenthal"`` (1979): the number of studies with ``z = 0`` that
          would make Stouffer's combined one-sided test ``sum(z_i)/sqrt(k)``,
          ``z_i = yi/sei``, non-significant at ``alpha``:
          ``N = k (Z/z_alpha)² - k`` with ``Z = |sum z_i|/sqrt(k)``.
        * ``"Orwin"`` (1983): the number of studies with effect 0 that would
          bring the (unweighted, or with ``weighted=True`` inverse-variance
          weighted) mean effect down to ``target`` (default half the mean):
          ``N = k (mean - target)/target``.
        * ``"Rosenberg"`` (2005): the number of studies with effect 0 and the
          average weight that would make the fixed-effect two-sided z test
          non-significant at ``alpha``.
    alpha : float, default 0.05
        Significance level (Rosenthal: one-sided; Rosenberg: two-sided).
    target : float, optional
        Orwin's target mean effect (default half the observed mean; given
        with the opposite sign it is flipped, as metafor does).
    weighted : bool, default False
        Orwin only: weight the mean by ``1/vi``.

    Returns
    -------
    FailSafeNResult
        ``n`` (rounded up to an integer, as metafor), the combined p-value,
        the mean effect and the target.

    Raises
    ------
    InvalidParameterError
        For an unknown ``method``, an ``alpha`` outside (0, 1), or a
        ``target`` that is not finite or is 0 (metafor returns infinity).
    InvalidDataError
        For non-finite effects or variances, or Orwin's N with a mean effect
        of 0 and no ``target``.

    Notes
    -----
    Caveats (Becker 2005; Higgins et al. 2023, Cochrane Handbook section 13.3.5):
    the fail-safe N is not a test for publication bias and is not
    recommended for judging it. It assumes that the missing studies
    average exactly a null effect (missing studies are more likely to show
    effects in the opposite direction); Rosenthal's version ignores the
    studies' sizes and heterogeneity and looks only at statistical (not
    practical) significance; different methods give very different numbers,
    and there is no accepted threshold for a "large" N (Rosenthal's
    ``5k + 10`` is a rule of thumb). Report it, if at all, beside a funnel
    plot, a small-study test and a selection model.

    References
    ----------
    .. [1] Rosenthal R (1979). The "file drawer problem" and tolerance for null
       results. Psychological Bulletin 86(3):638-641.
    .. [2] Orwin RG (1983). A fail-safe N for effect size in meta-analysis.
       Journal of Educational Statistics 8(2):157-159.
    .. [3] Rosenberg MS (2005). The file-drawer problem revisited: a general
       weighted method for calculating fail-safe numbers in meta-analysis.
       Evolution 59(2):464-468.
    .. [4] Becker BJ (2005). Failsafe N or file-drawer number. In: Rothstein HR,
       Sutton AJ, Borenstein M (eds.), Publication Bias in Meta-Analysis,
       pp. 111-125. Wiley.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.3, 0.5, 0.2, 0.6, 0.4], vi=[0.02, 0.05, 0.04, 0.09, 0.03])
    >>> mp.fail_safe_n(eff).n
    30
    >>> mp.fail_safe_n(eff, "Orwin").n
    5
    """
    owner = "fail_safe_n"
    method = check_choice(owner, "method", method, _METHODS)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise InvalidParameterError(
            f"The 'alpha' parameter of {owner} must be in (0, 1). Got {alpha!r} instead."
        )
    weighted = check_bool(owner, "weighted", weighted)
    inp = read_input(owner, effects, None, min_k=1, asymmetry_test=False)
    yi, vi, k = inp.yi, inp.vi, inp.k
    nan = float("nan")
    pvalue = mean_effect = goal = nan
    notes: list[str] = list(inp.notes)
    if method == "Rosenthal":
        z = yi / np.sqrt(vi)
        z_avg = abs(float(np.sum(z)) / math.sqrt(k))
        pvalue = float(scipy.stats.norm.sf(z_avg))
        n = max(0.0, k * (z_avg / float(scipy.stats.norm.isf(alpha))) ** 2 - k)
    elif method == "Orwin":
        if weighted:
            w = 1.0 / vi
            mean_effect = float(np.sum(w * yi) / np.sum(w))
        else:
            mean_effect = float(np.mean(yi))
        if target is None:
            goal = mean_effect / 2.0
        else:
            goal = check_finite(owner, "target", target)
            if goal == 0.0:
                raise InvalidParameterError(
                    f"The 'target' parameter of {owner} must be finite and not 0 (no number "
                    f"of null studies brings the mean to 0). Got {target!r} instead."
                )
        if goal == 0.0:
            raise InvalidDataError(
                f"{owner}: the mean effect is 0, so Orwin's fail-safe N (to half of it) is "
                "not defined; give a 'target'."
            )
        if np.sign(goal) != np.sign(mean_effect):
            goal = -goal
            notes.append("target given with the opposite sign of the mean effect: flipped")
        n = max(0.0, k * (mean_effect - goal) / goal)
    else:  # Rosenberg
        wr = 1.0 / vi
        sw = float(np.sum(wr))
        mean_effect = float(np.sum(wr * yi) / sw)
        zval = mean_effect * math.sqrt(sw)
        pvalue = float(two_sided_p(np.asarray(zval), None))
        wp = (float(np.sum(wr * yi)) / float(scipy.stats.norm.isf(alpha / 2.0))) ** 2 - sw
        n = max(0.0, k * wp / sw)
    count = math.ceil(n) if abs(n - round(n)) >= math.sqrt(np.finfo(float).eps) else round(n)
    return FailSafeNResult(
        method=method,
        n=int(count),
        alpha=float(alpha),
        pvalue=pvalue,
        mean_effect=mean_effect,
        target=goal,
        k=k,
        measure=inp.measure,
        notes=tuple(notes),
    )
