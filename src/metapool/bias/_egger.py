"""Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``)."""

from __future__ import annotations

import numpy as np

from metapool._inference import t_crit, two_sided_p, z_crit
from metapool._validation import check_choice
from metapool.bias._common import read_input, regress_on_se
from metapool.models._inference import variance_scale
from metapool.results import EggerResult, Interval

__all__ = ["EggerResult", "egger_test"]

_MODELS = {
    "lm": "weighted regression with multiplicative dispersion",
    "rma-common": "common-effect meta-regression",
    "rma-random": "mixed-effects meta-regression",
}


def egger_test(
    effects_or_result: object, model: str = "lm", *, level: float | None = None
) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry, as metafor's ``regtest``.

    Regresses the effects on their standard errors, ``yi = b0 + b1 · sei``,
    and tests ``b1 = 0``. ``b1`` is Egger's intercept (see :class:`EggerResult`
    for the mapping to Egger's original regression of ``yi/sei`` on ``1/sei``)
    and ``b0`` is the limit estimate, the effect of an infinitely precise study.

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
    level : float, optional
        Confidence level of the intervals; default the result's level (0.95
        for an effect-size set).

    Returns
    -------
    EggerResult

    Raises
    ------
    InvalidDataError
        If there are fewer than 3 studies, or all have the same variance (then
        ``sei`` is collinear with the intercept; metafor stops too).
    InvalidParameterError
        For an unknown ``model`` or a ``level`` outside (0, 1).
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
    inp = read_input(owner, effects_or_result, level)
    df_resid = inp.k - 2
    tau2: float | None
    tau2_method: str | None = None
    dispersion: float | None = None
    df: int | None = df_resid
    if model == "lm":
        fit, _, converged = regress_on_se(owner, inp.yi, inp.vi, None)
        # A perfect fit (all effects on one line, e.g. all equal) leaves no residual
        # variance: its rounding residue (~1e-31) would give a noise statistic, so it is
        # set to 0 and the test is not estimable (0/0), whatever the location of yi.
        perfect = float(fit.rss) <= 1e-24 * float((inp.yi**2 / inp.vi).sum())
        dispersion = 0.0 if perfect else float(fit.rss) / df_resid
        cov = fit.cov * dispersion
        tau2, ci_method, method = None, "t", _MODELS["lm"]
    else:
        fit, tau2, converged = regress_on_se(owner, inp.yi, inp.vi, inp.tau2)
        ci_method = inp.ci
        cov = fit.cov * float(variance_scale(fit.rss, df_resid, ci_method))
        if ci_method == "z":
            df = None
        if inp.tau2 is None:
            method = _MODELS["rma-common"]
        else:
            method = _MODELS["rma-random"]
            tau2_method = inp.tau2.name
    beta = fit.beta
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, beta / np.where(se > 0, se, 1.0), np.nan)
    crit = z_crit(inp.level) if df is None else float(t_crit(inp.level, float(df)))
    pval = two_sided_p(stat, None if df is None else float(df))

    def interval(j: int) -> Interval:
        return Interval(float(beta[j] - crit * se[j]), float(beta[j] + crit * se[j]))

    return EggerResult(
        model=model,
        method=method,
        intercept=float(beta[1]),
        se=float(se[1]),
        statistic=float(stat[1]),
        df=df,
        pvalue=float(pval[1]),
        ci=interval(1),
        limit_estimate=float(beta[0]),
        limit_se=float(se[0]),
        limit_ci=interval(0),
        tau2=tau2,
        tau2_method=tau2_method,
        dispersion=dispersion,
        ci_method=ci_method,
        level=inp.level,
        k=inp.k,
        converged=converged,
        measure=inp.measure,
        notes=inp.notes,
    )
