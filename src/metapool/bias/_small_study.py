"""Small-study tests chosen by measure: Egger, Harbord, Peters, arcsine (Rücker) and
Thompson–Sharp, with the recommended test picked by the effect measure, as R's
``meta::metabias`` does."""

from __future__ import annotations

import warnings

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._validation import check_choice, study_name
from metapool.bias._common import BiasInput, read_input
from metapool.bias._regtest import regression_test
from metapool.effects._base import TwoByTwo
from metapool.exceptions import DegenerateDataWarning, InvalidDataError, InvalidParameterError
from metapool.results import EggerResult
from metapool.tau2 import DerSimonianLaird

__all__ = ["SMALL_STUDY_METHODS", "recommended_method", "small_study_test"]

Array = NDArray[np.float64]

#: The tests of :func:`small_study_test` and what each needs.
SMALL_STUDY_METHODS = ("egger", "harbord", "peters", "arcsine", "thompson-sharp")
_COUNT_METHODS = ("harbord", "peters", "arcsine")


def recommended_method(inp: BiasInput) -> tuple[str, str]:
    """The test recommended for the studies' measure, and why.

    Odds ratios with 2×2 tables get Harbord's score test (Egger's test is biased
    for odds ratios because the log odds ratio and its SE are correlated; Harbord
    et al. 2006; Sterne et al. 2011); every other measure gets Egger's test.
    """
    counts = None if inp.effects is None else inp.effects.counts
    if inp.measure.code == "OR" and counts is not None:
        return "harbord", (
            "Harbord's test chosen for odds ratios with 2x2 tables (Egger's test has an "
            "inflated type I error for odds ratios; Sterne et al. 2011)"
        )
    if inp.measure.code == "OR":
        return "egger", (
            "Egger's test chosen: odds ratios without 2x2 tables, so Harbord's and "
            "Peters' tests cannot be computed"
        )
    return "egger", f"Egger's test chosen for measure {inp.measure.code}"


def small_study_test(
    effects_or_result: object, method: str | None = None, *, level: float | None = None
) -> EggerResult:
    """A test for small-study effects, by name or chosen for the measure.

    One call for the regression tests of funnel-plot asymmetry; with
    ``method=None`` the test recommended for the measure is used (as
    ``meta::metabias`` chooses its default), and the result says which
    (``result.test`` and a note).

    Parameters
    ----------
    effects_or_result : EffectSet or MetaResult
        The studies, or a fitted analysis (whose studies and level are used).
    method : {"egger", "harbord", "peters", "arcsine", "thompson-sharp"}, optional
        * ``"egger"``: Egger's test, the classic weighted regression of ``yi`` on
          ``sei`` (:func:`~metapool.egger_test` with ``model="lm"``).
        * ``"harbord"``: Harbord's modified test for odds ratios: with
          ``Z = a - n1 (a + c)/N`` (the efficient score of the log odds ratio)
          and ``V = n1 n2 (a + c)(b + d) / (N² (N - 1))`` (its variance),
          ``Z/√V`` is regressed on ``√V`` and the intercept is tested (t test on
          ``k - 2`` df). That is Egger's classic test applied to ``Z/V`` with
          variance ``1/V``, which is how it is computed.
        * ``"peters"``: Peters' test for odds ratios: the log odds ratio regressed
          on ``1/N`` (``N`` the total sample size) with weights
          ``1/(1/(a + c) + 1/(b + d))`` (the variance of the log odds ratio from
          the margins), t test of the slope on ``k - 2`` df.
        * ``"arcsine"``: the arcsine test of Rücker et al. (2008) for binary
          outcomes: Egger's classic test on the arcsine difference
          ``asin(√(a/n1)) - asin(√(c/n2))`` with variance
          ``1/(4 n1) + 1/(4 n2)``, which, unlike the log odds ratio, is not
          correlated with its variance.
        * ``"thompson-sharp"``: Thompson and Sharp's (1999) test: a
          random-effects meta-regression of ``yi`` on ``sei`` with τ² by the
          method of moments (DerSimonian–Laird) and a Wald z test of the slope.
        * ``None`` (default): Harbord's test for odds ratios with 2×2 tables,
          Egger's test otherwise.
    level : float, optional
        Confidence level of the intervals; default the result's level (0.95 for
        an effect-size set).

    Returns
    -------
    EggerResult
        ``test`` names the test that was run; ``intercept`` is the tested
        coefficient (the regression's coefficient of ``sei``, of ``√V`` in
        Harbord's form, or of ``1/N`` for Peters' test) and ``limit_estimate``
        the effect extrapolated to an infinitely large study.

    Raises
    ------
    InvalidParameterError
        For an unknown ``method``, or a test that needs 2×2 tables
        (``"harbord"``, ``"peters"``, ``"arcsine"``) on studies without them, or
        Harbord's or Peters' test on a measure other than the odds ratio.
    InvalidDataError
        If fewer than 3 studies remain, or the predictor is constant.

    Warns
    -----
    SmallSampleWarning
        If there are fewer than 10 studies.
    DegenerateDataWarning
        If a study without events (or without non-events) in both arms is left
        out of Harbord's or Peters' test, where it carries no information (its
        score variance, or its Peters weight, is 0); the result notes it.

    Notes
    -----
    The references for Harbord's, Peters' and the arcsine test are their
    published formulas evaluated in R with ``lm`` (``meta`` is not used), see
    ``tests/reference/make_publication_bias.R``.

    References
    ----------
    .. [1] Harbord RM, Egger M, Sterne JAC (2006). A modified test for
       small-study effects in meta-analyses of controlled trials with binary
       endpoints. Statistics in Medicine 25(20):3443-3457.
    .. [2] Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006).
       Comparison of two methods to detect publication bias in meta-analysis.
       JAMA 295(6):676-680.
    .. [3] Rücker G, Schwarzer G, Carpenter J (2008). Arcsine test for
       publication bias in meta-analyses with binary outcomes. Statistics in
       Medicine 27(5):746-763.
    .. [4] Thompson SG, Sharp SJ (1999). Explaining heterogeneity in
       meta-analysis: a comparison of methods. Statistics in Medicine
       18(20):2693-2708.
    .. [5] Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations
       for examining and interpreting funnel plot asymmetry in meta-analyses of
       randomised controlled trials. BMJ 343:d4002.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.OddsRatio(events1=[4, 6, 3, 12, 5, 9, 2, 20, 7, 11],
    ...                    n1=[40, 60, 25, 120, 50, 80, 20, 300, 70, 150],
    ...                    events2=[8, 10, 9, 20, 7, 15, 6, 30, 10, 14],
    ...                    n2=[41, 59, 26, 118, 52, 79, 21, 305, 69, 148])
    >>> res = mp.small_study_test(eff)
    >>> res.test
    'Harbord'
    >>> round(res.statistic, 4), res.df
    (-2.2148, 8)
    >>> round(mp.small_study_test(eff, "peters").pvalue, 4)
    0.002
    """
    owner = "small_study_test"
    if method is not None:
        method = check_choice(owner, "method", method, SMALL_STUDY_METHODS)
    inp = read_input(owner, effects_or_result, level)
    notes: tuple[str, ...] = ()
    if method is None:
        method, why = recommended_method(inp)
        notes = (why,)
    if method == "egger":
        return regression_test(
            owner, inp, np.sqrt(inp.vi), model="lm", predictor="sei", test="Egger", notes=notes
        )
    if method == "thompson-sharp":
        return regression_test(
            owner,
            inp,
            np.sqrt(inp.vi),
            model="rma",
            predictor="sei",
            test="Thompson-Sharp",
            tau2=DerSimonianLaird(),
            ci="z",
            notes=notes,
        )
    counts = _counts(owner, inp, method)
    a, n1, c, n2 = counts.events1, counts.n1, counts.events2, counts.n2
    b, d, n = n1 - a, n2 - c, n1 + n2
    if method == "arcsine":
        yi = np.arcsin(np.sqrt(a / n1)) - np.arcsin(np.sqrt(c / n2))
        vi = 1.0 / (4.0 * n1) + 1.0 / (4.0 * n2)
        arc = attrs.evolve(inp, yi=yi, vi=vi)
        return regression_test(
            owner,
            arc,
            np.sqrt(vi),
            model="lm",
            predictor="sei",
            test="arcsine",
            notes=(*notes, "effects and variances on the arcsine-difference scale"),
        )
    if method == "harbord":
        score = a - n1 * (a + c) / n
        var = n1 * n2 * (a + c) * (b + d) / (n * n * (n - 1.0))
        keep, dropped = _informative(owner, inp, var > 0, "Harbord's score variance is 0")
        yi, vi = score[keep] / var[keep], 1.0 / var[keep]
        sub = _subset(owner, inp, keep, yi, vi)
        return regression_test(
            owner,
            sub,
            np.sqrt(vi),
            model="lm",
            predictor="sei",
            test="Harbord",
            notes=(*notes, "score Z/V and variance 1/V of the log odds ratio", *dropped),
        )
    # Peters
    with np.errstate(divide="ignore"):
        w = 1.0 / (1.0 / (a + c) + 1.0 / (b + d))
    keep, dropped = _informative(owner, inp, w > 0, "its Peters weight is 0")
    sub = _subset(owner, inp, keep, inp.yi[keep], inp.vi[keep])
    return regression_test(
        owner,
        sub,
        1.0 / n[keep],
        model="lm",
        predictor="ninv",
        test="Peters",
        weights=w[keep],
        notes=(*notes, "weights 1/(1/(a+c) + 1/(b+d))", *dropped),
    )


def _counts(owner: str, inp: BiasInput, method: str) -> TwoByTwo:
    counts = None if inp.effects is None else inp.effects.counts
    if counts is None:
        raise InvalidParameterError(
            f"The 'method' parameter of {owner}: {method!r} needs the 2x2 tables of the studies "
            f"(an OddsRatio, RiskRatio or RiskDifference effect set); measure {inp.measure} "
            "has none. Use method='egger' or 'thompson-sharp'."
        )
    if method in ("harbord", "peters") and inp.measure.code != "OR":
        raise InvalidParameterError(
            f"The 'method' parameter of {owner}: {method!r} is a test for odds ratios; the "
            f"studies' measure is {inp.measure}. Use method='arcsine' or 'egger'."
        )
    return TwoByTwo(*(np.asarray(x, dtype=np.float64) for x in counts))


def _informative(
    owner: str, inp: BiasInput, ok: NDArray[np.bool_], why: str
) -> tuple[NDArray[np.bool_], tuple[str, ...]]:
    """Studies kept, and a note (with a warning) naming those left out."""
    bad = np.flatnonzero(~ok)
    if not bad.size:
        return ok, ()
    index = (
        np.arange(inp.k) if inp.effects is None else np.asarray(inp.effects.index, dtype=np.intp)
    )
    names = ", ".join(study_name(int(index[i]), inp.labels[i]) for i in bad)
    text = f"left out (no events or no non-events in both arms; {why}): {names}"
    warnings.warn(f"{owner}: {text}", DegenerateDataWarning, stacklevel=3)
    return ok, (text,)


def _subset(owner: str, inp: BiasInput, keep: NDArray[np.bool_], yi: Array, vi: Array) -> BiasInput:
    k = int(keep.sum())
    if k < 3:
        raise InvalidDataError(
            f"{owner} needs at least 3 informative studies; {k} remain after leaving out "
            "studies without events or non-events."
        )
    labels = tuple(label for label, kept in zip(inp.labels, keep, strict=True) if kept)
    return attrs.evolve(inp, yi=yi, vi=vi, labels=labels)
