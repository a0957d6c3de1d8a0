"""Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``)."""

from __future__ import annotations

from metapool._validation import check_choice
from metapool.bias._common import read_input
from metapool.bias._regtest import PREDICTORS, predictor_values, regression_test
from metapool.results import EggerResult

__all__ = ["EggerResult", "egger_test"]


def egger_test(
    effects_or_result: object,
    model: str = "lm",
    *,
    predictor: str = "sei",
    level: float | None = None,
    ni: object = None,
) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry, as metafor's ``regtest``.

    Regresses the effects on their standard errors, ``yi = b0 + b1 · sei``,
    and tests ``b1 = 0``. ``b1`` is Egger's intercept (see :class:`EggerResult`
    for the mapping to Egger's original regression of ``yi/sei`` on ``1/sei``)
    and ``b0`` is the limit estimate, the effect of an infinitely precise study.
    With another ``predictor`` the effects are regressed on it instead
    (``yi = b0 + b1 · x``), as ``regtest(predictor=...)``; the test is then of
    ``b1``, stored in the same fields.

    Parameters
    ----------
    effects_or_result : EffectSet or MetaResult
        The studies, or a fitted analysis whose studies and settings are used.
    model : {"lm", "rma"}, default "lm"
        ``"lm"``: the classic test (Egger et al. 1997), weighted least squares
        with weights ``1/vi`` and a multiplicative dispersion parameter, t test
        with ``k - 2`` df (metafor's ``regtest(model = "lm")``).
        ``"rma"``: a meta-regression on ``sei`` with the settings of the fit
        (metafor's default ``regtest``, which refits ``rma(yi, vi, mods = ~ sei)``
        with the fit's ``method``, ``test`` and ``level``): for a
        :class:`~metapool.RandomEffects` result, the same τ² estimator
        (re-estimated with ``sei`` as moderator) and the same CI method (Wald
        z; HKSJ, ad hoc HKSJ or t with ``k - 2`` df); for a
        :class:`~metapool.CommonEffect`, Mantel–Haenszel or Peto result, a
        common-effect regression with weights ``1/vi``; for an effect-size set,
        metafor's defaults for vectors: REML and z.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}, default "sei"
        The measure of precision regressed on (metafor's ``predictor``): the
        standard error (Egger's test), the sampling variance (Moreno et al.
        2009), the total sample size, its inverse (Peters et al. 2006 use
        ``1/n``), its square root, or its inverse square root. The limit
        estimate (the intercept) is reported for ``"sei"``, ``"vi"``, ``"ninv"``
        and ``"sqrtninv"``, which tend to 0 for an infinitely large study; it
        is NaN for ``"ni"`` and ``"sqrtni"`` (metafor reports none either).
    level : float, optional
        Confidence level of the intervals; default the result's level (0.95
        for an effect-size set).
    ni : array_like, optional
        Total sample size of each study, for the predictors based on ``n``;
        by default taken from the effect set (``n1 + n2`` for two-group
        measures, ``n`` for one-group measures), as metafor's ``escalc``.

    Returns
    -------
    EggerResult

    Raises
    ------
    InvalidDataError
        If there are fewer than 3 studies, or all have the same value of the
        predictor (then it is collinear with the intercept; metafor stops too),
        or a sample size is not positive.
    InvalidParameterError
        For an unknown ``model`` or ``predictor``, a ``level`` outside (0, 1), or
        a predictor based on ``n`` without sample sizes.
    MetapoolTypeError
        If the input is neither an effect-size set nor a result.

    Warns
    -----
    SmallSampleWarning
        If there are fewer than 10 studies (the test has little power).
    ConvergenceWarning
        If the τ² estimator of the meta-regression does not converge.

    Notes
    -----
    With ``X = [1, sei]`` and weights ``w = 1/(vi + τ²)`` (τ² = 0 for ``"lm"``
    and common-effect fits), ``b = (X'WX)⁻¹ X'Wy``. Its covariance is
    ``σ² (X'WX)⁻¹`` with ``σ² = Σ w (y - Xb)² / (k - 2)`` for ``"lm"`` and for
    HKSJ (``max(1, σ²)`` for ad hoc HKSJ), and ``(X'WX)⁻¹`` otherwise. A
    positive intercept means that small studies show larger effects.

    Mantel–Haenszel and Peto results are treated as metafor treats them: the
    studies' ``yi``/``vi`` in a common-effect (``"rma"``) or classic
    (``"lm"``) regression.

    References
    ----------
    .. [1] Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in
       meta-analysis detected by a simple, graphical test. BMJ 315(7109):629-634.
    .. [2] Sterne JAC, Egger M (2005). Regression methods to detect publication
       and other bias in meta-analysis. In: Rothstein HR, Sutton AJ, Borenstein M
       (eds.), Publication Bias in Meta-Analysis, pp. 99-110. Wiley.
    .. [3] Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations
       for examining and interpreting funnel plot asymmetry in meta-analyses of
       randomised controlled trials. BMJ 343:d4002.
    .. [4] Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2006).
       Comparison of two methods to detect publication bias in meta-analysis.
       JAMA 295(6):676-680.
    .. [5] Moreno SG, Sutton AJ, Ades AE, et al. (2009). Assessment of
       regression-based methods to adjust for publication bias through a
       comprehensive simulation study. BMC Med Res Methodol 9:2.

    Examples
    --------
    >>> import metapool as mp
    >>> mg = mp.GenericEffect(  # magnesium trials (metafor's dat.egger2001), log odds ratios
    ...     yi=[-0.8303, -1.0561, -1.2783, -0.0435, 0.2231, -2.4075, -1.2809, -1.1917,
    ...         -0.6957, -2.2083, -2.0382, -0.8502, -0.7932, -0.2993, -1.5708, 0.0576],
    ...     vi=[1.5551, 0.1715, 0.6531, 2.0435, 0.2393, 1.1496, 1.4250, 2.7599,
    ...         0.2875, 1.2313, 0.6095, 0.3825, 0.3917, 0.0215, 0.3295, 0.0010])
    >>> eg = mp.egger_test(mg)  # classic Egger test (model="lm")
    >>> round(eg.intercept, 4), round(eg.statistic, 4), eg.df, round(eg.pvalue, 6)
    (-1.599, -5.7855, 14, 4.7e-05)
    >>> round(eg.limit_estimate, 4)
    0.0996
    >>> eg_rma = mp.egger_test(mp.RandomEffects(tau2="REML").fit(mg), model="rma")
    >>> round(eg_rma.intercept, 4), round(eg_rma.statistic, 4), round(eg_rma.tau2, 4)
    (-1.4868, -4.6711, 0.0116)
    """
    owner = "egger_test"
    model = check_choice(owner, "model", model, ("lm", "rma"))
    predictor = check_choice(owner, "predictor", predictor, tuple(PREDICTORS))
    inp = read_input(owner, effects_or_result, level)
    x = predictor_values(owner, inp, predictor, ni)
    return regression_test(
        owner,
        inp,
        x,
        model=model,
        predictor=predictor,
        test="Egger" if predictor == "sei" else f"regression on the {PREDICTORS[predictor]}",
        tau2=inp.tau2,
        ci=inp.ci,
    )
