"""The meta-regression results of :class:`~metapool.GLMM` (metafor's ``rma.glmm(mods=)``).

The fit itself is the GLMM engine's (:mod:`metapool.models._glmm_fit`) with a
design of ``p`` columns; this module standardises the moderators for the
optimiser, maps the coefficients back, and computes what metafor reports: Wald
tests of the coefficients, the omnibus test of the moderators ``QM``, and the
Wald-type and likelihood-ratio tests for residual heterogeneity.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._data import ExcludedStudy
from metapool._inference import z_crit
from metapool._moderators import DesignMatrix
from metapool.effects._base import EffectSet
from metapool.models._glmm_data import Prepared, wald_heterogeneity
from metapool.models._glmm_fit import Fit
from metapool.models._inference import two_sided_p
from metapool.results._glmm_regression import GLMMRegressionResult
from metapool.results._intervals import IntervalArray

__all__ = ["glmm_regression_result", "standardising"]

Array = NDArray[np.float64]


def standardising(X: Array, intercept: bool) -> Array:
    """The matrix ``T`` with ``X T`` centred and scaled, so that ``β = T β_s``.

    With an intercept (column 0), every other column that is not a 0/1 indicator is
    centred at its mean and divided by its standard deviation (as metafor's
    ``scaleX``); without one, nothing is changed. The maximum likelihood is the same
    in either parametrisation; the optimiser's steps are better scaled in ``X T``.
    """
    p = X.shape[1]
    T = np.eye(p)
    if not intercept:
        return T
    for j in range(1, p):
        col = X[:, j]
        sd = float(np.std(col, ddof=1)) if col.size > 1 else 0.0
        if np.all((col == 0) | (col == 1)) or not sd > 0:
            continue
        T[j, j] = 1.0 / sd
        T[0, j] = -float(col.mean()) / sd
    return T


def _typical_variance(vi: Array, X: Array) -> float:
    """metafor's ``vt``: ``(k - p) / tr(P)`` with the within-study weights ``1/vi``."""
    k, p = X.shape
    if k <= p:
        return math.nan
    w = 1.0 / vi
    xw = X * w[:, None]
    hat = xw @ np.linalg.solve(X.T @ xw, xw.T)
    trace_p = float(w.sum() - np.trace(hat))
    return float((k - p) / trace_p)


def glmm_regression_result(
    model: Any,
    effects: EffectSet,
    prep: Prepared,
    X: Array,
    to_original: Array,
    fit: Fit,
    common: Fit,
    *,
    converged: bool,
    quad_change: float,
    notes: tuple[str, ...],
    design: DesignMatrix,
    omitted: tuple[ExcludedStudy, ...],
    sigma2: float = math.nan,
    n_agq: int,
    qe_wald: float | None = None,
) -> GLMMRegressionResult:
    """Assemble the result of a GLMM meta-regression from its fits (``X``: the design
    as given; the fits are in the standardised parametrisation ``X @ to_original``)."""
    random = bool(model.random_effects)
    coef = to_original @ fit.beta
    vcov = to_original @ fit.vcov @ to_original.T
    se = np.sqrt(np.diag(vcov))
    crit = z_crit(model.level)
    stat = coef / se
    p = coef.size
    tau2 = fit.tau**2 if random else 0.0

    btt = np.arange(1, p) if design.intercept else np.arange(p)
    m = int(btt.size)
    if m:
        b = coef[btt]
        qm = float(b @ np.linalg.solve(vcov[np.ix_(btt, btt)], b))
        qm_p = float(special.chdtrc(m, qm))
    else:
        qm, qm_p = math.nan, math.nan

    informative = prep.informative
    ki = int(informative.sum())
    xi = X[informative]
    qe_df = ki - p
    chi = special.chdtrc
    if qe_df > 0 and math.isfinite(prep.saturated):
        qe_w = wald_heterogeneity(prep.theta, prep.var, xi) if qe_wald is None else qe_wald
        qe_lrt = max(0.0, -2.0 * (common.loglik - prep.saturated))
        qe_p, qe_lrt_p = float(chi(qe_df, qe_w)), float(chi(qe_df, qe_lrt))
    else:
        qe_w = qe_lrt = qe_p = qe_lrt_p = math.nan

    vi = np.asarray(effects.vi, dtype=np.float64)[informative]
    vt = _typical_variance(vi, xi)
    i2 = 100.0 * tau2 / (vt + tau2) if random and math.isfinite(vt) else math.nan
    h2 = tau2 / vt + 1.0 if random and math.isfinite(vt) else math.nan

    return GLMMRegressionResult(
        model=model,
        method=f"GLMM ({prep.label}, {'random' if random else 'common'} effect, ML)",
        glmm_model=prep.label,
        coef=coef,
        se=se,
        statistic=stat,
        pvalue=np.asarray(two_sided_p(stat, None), dtype=np.float64),
        ci=IntervalArray(coef - crit * se, coef + crit * se),
        names=design.names,
        vcov=vcov,
        tau2=tau2,
        tau=math.sqrt(tau2),
        qm=qm,
        qm_df=m,
        qm_pvalue=qm_p,
        qe=qe_w,
        qe_df=max(qe_df, 0),
        qe_pvalue=qe_p,
        qe_lrt=qe_lrt,
        qe_lrt_pvalue=qe_lrt_p,
        i2=i2,
        h2=h2,
        loglik=fit.loglik,
        loglik_common=common.loglik,
        loglik_saturated=prep.saturated,
        n_agq=n_agq,
        sigma2=sigma2,
        quadrature_change=quad_change,
        boundary=fit.boundary,
        k=effects.k,
        p=p,
        converged=converged,
        level=model.level,
        design=design,
        informative=informative,
        yi=effects.yi,
        vi=effects.vi,
        labels=effects.labels,
        measure=effects.measure,
        excluded=tuple(sorted((*effects.excluded, *omitted), key=lambda e: e.index)),
        notes=notes,
    )
