"""The regression tests for funnel-plot asymmetry: one regression of the effects on a
measure of precision (metafor's ``regtest``), and the effect sizes, predictors and
weights of the named variants (Egger, Harbord, Peters, arcsine, Thompson–Sharp)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from metapool._inference import t_crit, two_sided_p, z_crit
from metapool.bias._common import BiasInput, regress_on
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.models._inference import variance_scale
from metapool.results import EggerResult, Interval
from metapool.tau2 import Tau2Estimator

__all__ = ["PREDICTORS", "predictor_values", "regression_test", "sample_sizes"]

Array = NDArray[np.float64]

#: metafor's ``regtest`` predictors, with what each one is.
PREDICTORS = {
    "sei": "standard error",
    "vi": "sampling variance",
    "ni": "sample size",
    "ninv": "inverse of the sample size",
    "sqrtni": "square root of the sample size",
    "sqrtninv": "inverse square root of the sample size",
}
#: Predictors whose value tends to 0 for an infinitely precise study, so that the
#: intercept is the "limit estimate" (metafor reports it for these only).
LIMIT_PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")

_MODELS = {
    "lm": "weighted regression with multiplicative dispersion",
    "rma-common": "common-effect meta-regression",
    "rma-random": "mixed-effects meta-regression",
}


def sample_sizes(owner: str, inp: BiasInput, ni: object) -> Array:
    """The total sample size of each study: ``ni`` if given, else from the effect set
    (``n1 + n2`` for two-group measures, ``n`` for one-group measures and correlations),
    as metafor's ``escalc`` stores it in the ``ni`` attribute."""
    if ni is not None:
        try:
            values = np.asarray(ni, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The 'ni' parameter of {owner} must be a sequence of sample sizes, one per "
                f"study. Got {ni!r} instead."
            ) from None
        if values.shape != (inp.k,):
            raise InvalidParameterError(
                f"The 'ni' parameter of {owner} must have one sample size per study "
                f"({inp.k}). Got shape {values.shape} instead."
            )
    else:
        arms = {} if inp.effects is None else inp.effects.arm_data()
        if "n1" in arms and "n2" in arms:
            values = np.asarray(arms["n1"] + arms["n2"], dtype=np.float64)
        elif "n" in arms:
            values = np.asarray(arms["n"], dtype=np.float64)
        else:
            raise InvalidParameterError(
                f"{owner}: the studies carry no sample sizes (measure {inp.measure}); give "
                "them with the 'ni' parameter, or use predictor='sei' or 'vi'."
            )
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if bad.size:
        from metapool._validation import study_name

        i = int(bad[0])
        raise InvalidDataError(
            f"{owner}: the sample size of {study_name(i, inp.labels[i])} must be a finite "
            f"number > 0. Got {values[i]!r}."
        )
    return values


def predictor_values(owner: str, inp: BiasInput, predictor: str, ni: object) -> Array:
    """The predictor of metafor's ``regtest`` for each study."""
    if predictor == "sei":
        return np.sqrt(inp.vi)
    if predictor == "vi":
        return np.array(inp.vi, dtype=np.float64)
    n = sample_sizes(owner, inp, ni)
    values: dict[str, Array] = {
        "ni": n,
        "ninv": 1.0 / n,
        "sqrtni": np.sqrt(n),
        "sqrtninv": 1.0 / np.sqrt(n),
    }
    return values[predictor]


def regression_test(
    owner: str,
    inp: BiasInput,
    x: Array,
    *,
    model: str,
    predictor: str,
    test: str,
    tau2: Tau2Estimator | None = None,
    ci: str | None = None,
    weights: Array | None = None,
    notes: tuple[str, ...] = (),
) -> EggerResult:
    """Regress ``inp.yi`` on ``x`` and test its coefficient, as metafor's ``regtest``.

    ``model="lm"``: weighted least squares (weights ``1/vi``, or ``weights``) with a
    multiplicative dispersion parameter and a t test on ``k - 2`` df.
    ``model="rma"``: a meta-regression with the τ² estimator ``tau2`` (``None``:
    common effect) and the test ``ci`` ("z", "t", "hksj", "hksj-adhoc").
    """
    df_resid = inp.k - 2
    what = PREDICTORS[predictor] + "s" if predictor in ("sei", "vi") else PREDICTORS[predictor]
    what = "standard errors" if predictor == "sei" else what
    tau2_value: float | None
    tau2_method: str | None = None
    dispersion: float | None = None
    df: int | None = df_resid
    if model == "lm":
        fit, _, converged = regress_on(owner, inp.yi, inp.vi, x, None, weights=weights, what=what)
        w = 1.0 / inp.vi if weights is None else weights
        # A perfect fit (all effects on one line, e.g. all equal) leaves no residual
        # variance: its rounding residue (~1e-31) would give a noise statistic, so it is
        # set to 0 and the test is not estimable (0/0), whatever the location of yi.
        perfect = float(fit.rss) <= 1e-24 * float((inp.yi**2 * w).sum())
        dispersion = 0.0 if perfect else float(fit.rss) / df_resid
        cov = fit.cov * dispersion
        tau2_value, ci_method, method = None, "t", _MODELS["lm"]
    else:
        ci_method = "z" if ci is None else ci
        fit, tau2_value, converged = regress_on(owner, inp.yi, inp.vi, x, tau2, what=what)
        cov = fit.cov * float(variance_scale(fit.rss, df_resid, ci_method))
        if ci_method == "z":
            df = None
        if tau2 is None:
            method = _MODELS["rma-common"]
        else:
            method = _MODELS["rma-random"]
            tau2_method = tau2.name
    beta = fit.beta
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, beta / np.where(se > 0, se, 1.0), np.nan)
    crit = z_crit(inp.level) if df is None else float(t_crit(inp.level, float(df)))
    pval = two_sided_p(stat, None if df is None else float(df))

    def interval(j: int) -> Interval:
        return Interval(float(beta[j] - crit * se[j]), float(beta[j] + crit * se[j]))

    has_limit = predictor in LIMIT_PREDICTORS
    nan = float("nan")
    return EggerResult(
        model=model,
        method=method,
        intercept=float(beta[1]),
        se=float(se[1]),
        statistic=float(stat[1]),
        df=df,
        pvalue=float(pval[1]),
        ci=interval(1),
        limit_estimate=float(beta[0]) if has_limit else nan,
        limit_se=float(se[0]) if has_limit else nan,
        limit_ci=interval(0) if has_limit else Interval(nan, nan),
        tau2=tau2_value,
        tau2_method=tau2_method,
        dispersion=dispersion,
        ci_method=ci_method,
        level=inp.level,
        k=inp.k,
        converged=converged,
        measure=inp.measure,
        notes=inp.notes + notes,
        test=test,
        predictor=predictor,
    )
