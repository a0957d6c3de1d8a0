"""Duval and Tweedie's trim and fill (metafor's ``trimfill``)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from metapool._estimation import estimate_tau2
from metapool._validation import check_choice, check_positive_int
from metapool.bias._common import read_input, regress_on_se
from metapool.effects.generic import GenericEffect
from metapool.exceptions import (
    InvalidDataError,
    MetapoolError,
    MetapoolTypeError,
)
from metapool.models._engine import fit_iv
from metapool.results import MetaResult, TrimFillResult
from metapool.tau2 import Tau2Estimator

__all__ = ["TrimFillResult", "trim_and_fill"]

Array = NDArray[np.float64]

ESTIMATORS = ("L0", "R0", "Q0")


def _pooled(y: Array, v: Array, tau2: Tau2Estimator | None) -> tuple[float, bool]:
    """Inverse-variance estimate of ``y`` with τ² from ``tau2`` (0 if None or one study)."""
    tau2_value, converged = 0.0, True
    if tau2 is not None and y.size >= 2:
        fit = estimate_tau2(tau2, y, v, owner="trim_and_fill", where=" on the trimmed studies")
        tau2_value = float(np.asarray(fit.tau2))
        converged = bool(np.all(fit.converged))
    return float(fit_iv(y, v, tau2_value, profile=False).coef[0]), converged


def _var_sr(k: int, k0: float) -> float:
    """Variance of the Wilcoxon statistic given k0 (Duval & Tweedie 2000, JASA)."""
    return (
        k * (k + 1) * (2 * k + 1)
        + 10 * k0**3
        + 27 * k0**2
        + 17 * k0
        - 18 * k * k0**2
        - 18 * k * k0
        + 6 * k**2 * k0
    ) / 24


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


def _estimate_k0(estimator: str, signed_ranks: Array, k: int) -> tuple[float, float]:
    """Unrounded k0 and its standard error from the signed ranks of ``y - estimate``."""
    if estimator == "R0":
        # R0 + 1 is the length of the run of positive ranks at the top. Zero deviations
        # take the lowest ranks (1..n_zero), so the run starts above the highest negative
        # rank (metafor's formula) or, when no study lies below the estimate (trimmed
        # effects all equal; metafor's formula is undefined there), above the zeros.
        negative = signed_ranks[signed_ranks < 0]
        n_zero = int(np.count_nonzero(signed_ranks == 0))
        gamma = float(-negative.min()) if negative.size else float(n_zero)
        k0 = k - gamma - 1
        return k0, math.sqrt(2 * max(0.0, k0) + 2)
    sr = float(signed_ranks[signed_ranks > 0].sum())
    if estimator == "L0":
        k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
        return k0, 4 * _sqrt(_var_sr(k, k0)) / (2 * k - 1)
    disc = 2 * k**2 - 4 * sr + 0.25
    if disc < 0:
        raise InvalidDataError(
            f"trim_and_fill: Q0 is not defined for these data (2k^2 - 4 S_r + 1/4 = {disc:g} "
            "< 0; metafor stops with an error here); use estimator='L0' or 'R0'."
        )
    k0 = k - 0.5 - math.sqrt(disc)
    return k0, 2 * _sqrt(_var_sr(k, k0)) / _sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))


def trim_and_fill(
    result: MetaResult,
    estimator: str = "L0",
    side: str | None = None,
    *,
    maxiter: int = 100,
) -> TrimFillResult:
    """Duval and Tweedie's trim and fill, as metafor's ``trimfill``.

    Estimates how many studies are missing from one side of the funnel plot,
    imputes them as mirror images of the most extreme studies on the other
    side, and refits the model to the observed and the filled studies.

    Parameters
    ----------
    result : MetaResult
        A :class:`~metapool.CommonEffect` or :class:`~metapool.RandomEffects`
        fit with at least 3 studies.
    estimator : {"L0", "R0", "Q0"}, default "L0"
        Estimator of the number of missing studies ``k0``.
    side : {"left", "right"}, optional
        Side on which studies are missing. Default (as metafor): from the sign
        of the slope of the regression of ``yi`` on ``sqrt(vi)`` fitted with
        the result's model (τ² re-estimated with ``sei`` as moderator): a
        negative slope means studies are missing on the right, otherwise on
        the left.
    maxiter : int, default 100
        Largest number of trim-and-fill iterations.

    Returns
    -------
    TrimFillResult

    Raises
    ------
    MetapoolTypeError
        For a Mantel–Haenszel or Peto result (filled studies have no 2×2
        tables to pool; metafor's ``trimfill`` does not accept these fits
        either): fit :class:`~metapool.CommonEffect` to the same effects and
        pass that result.
    InvalidDataError
        With fewer than 3 studies; when ``side`` is not given and all studies
        have the same variance (the regression on the SE is undefined); or when
        Q0 is undefined for the data
        (``2k² - 4 S_r + 1/4 < 0``; metafor stops with an error there too).
    InvalidParameterError
        For an unknown ``estimator`` or ``side``.
    MetapoolError
        If ``k0`` has not settled after ``maxiter`` iterations.

    Warns
    -----
    SmallSampleWarning
        If there are fewer than 10 studies.
    ConvergenceWarning
        If a τ² estimate along the way does not converge.

    Notes
    -----
    With the effects flipped (``-yi``) when studies are missing on the right
    and sorted in increasing order, each iteration fits the model to the
    ``k - k0`` smallest effects, ranks ``|yi - μ̂|`` over all ``k`` studies
    (ties in order of the sorted effects, R's ``ties.method = "first"``) and,
    with ``S_r`` the sum of the ranks of the studies above ``μ̂`` and
    ``γ`` the highest rank of a study below it, updates

    * ``L0 = (4 S_r - k(k+1)) / (2k - 1)``,
    * ``R0 = k - γ - 1`` (``γ`` = the number of studies equal to ``μ̂`` if none
      lies below it, where metafor's formula is undefined),
    * ``Q0 = k - 1/2 - sqrt(2k² - 4 S_r + 1/4)``,

    rounded (half to even, as R) and truncated at 0, until ``k0`` repeats.
    The ``k0`` most extreme studies are then mirrored around the final
    trimmed estimate, ``2 μ̂ - yi``, with the same ``vi``. Standard errors of
    ``k0`` are those of metafor.

    The adjusted fit uses the result's model unchanged (τ² estimator, CI
    method, level). metafor's ``trimfill`` refits the filled data with its own
    defaults ``test = "z"`` and ``level = 95`` unless they are passed again
    (``trimfill(fit, test = fit$test, level = ...)``), but returns the original
    fit, with its settings, when ``k0 = 0``; metapool keeps the settings in
    both cases.

    On data with exactly tied ``|yi - μ̂|`` (e.g. a perfectly mirrored funnel),
    the tie order decides the ranks, and L0 can find missing studies where
    there are none: ``yi = (-1, -0.25, 0.25, 1)``, ``vi = (0.5, 1, 1, 0.5)`` gives
    ``k0 = 2`` with a common-effect model, in metafor as in metapool. R0 is 0 on
    such data.

    References
    ----------
    .. [1] Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based
       method of testing and adjusting for publication bias in meta-analysis.
       Biometrics 56(2):455-463.
    .. [2] Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of
       accounting for publication bias in meta-analysis. J Am Stat Assoc
       95(449):89-98.
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
    >>> res = mp.RandomEffects(tau2="REML").fit(mg)
    >>> tf = mp.trim_and_fill(res)
    >>> tf.k0, tf.side
    (7, 'right')
    >>> round(res.estimate, 4), round(tf.adjusted.estimate, 4)
    (-0.7666, -0.3915)
    >>> tf.filled.yi.round(4).tolist()
    [0.5106, 0.5972, 0.5998, 0.8897, 1.3571, 1.5272, 1.7264]
    """
    owner = "trim_and_fill"
    if not isinstance(result, MetaResult):
        raise MetapoolTypeError(f"{owner} expects a MetaResult. Got {type(result).__name__}.")
    if result.model.weighting != "inverse-variance":
        raise MetapoolTypeError(
            f"{owner} needs an inverse-variance fit (CommonEffect or RandomEffects); got a "
            f"{result.method}. Filled studies have no 2x2 tables to pool (metafor's trimfill "
            "does not accept rma.mh/rma.peto fits either): fit mp.CommonEffect() to the same "
            "effects and pass that result."
        )
    estimator = check_choice(owner, "estimator", estimator, ESTIMATORS)
    side_estimated = side is None
    if side is not None:
        side = check_choice(owner, "side", side, ("left", "right"))
    maxiter = check_positive_int(owner, "maxiter", maxiter)
    inp = read_input(owner, result, None)
    yi, vi, k = inp.yi, inp.vi, inp.k
    notes = list(inp.notes)
    converged = True

    if side is None:
        fit, _, converged = regress_on_se(
            owner, yi, vi, inp.tau2, hint=" Give side='left' or side='right'."
        )
        slope = float(fit.beta[1])
        side = "right" if slope < 0 else "left"
        notes.append(f"side chosen from the slope of yi on sqrt(vi): {slope:.4g}")
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * yi, kind="stable")
    y, v = flip * yi[order], vi[order]

    k0, previous, iterations = 0, -1, 0
    beta, se_k0 = math.nan, math.nan
    while k0 != previous:
        if iterations == maxiter:
            raise MetapoolError(
                f"{owner}: k0 did not settle within maxiter={maxiter} iterations (last values "
                f"{previous} and {k0}); metafor stops here too. Try a larger maxiter or "
                "another estimator."
            )
        previous = k0
        iterations += 1
        beta, ok = _pooled(y[: k - k0], v[: k - k0], inp.tau2)
        converged = converged and ok
        centred = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        k0_raw, se = _estimate_k0(estimator, np.sign(centred) * ranks, k)
        k0 = max(0, round(k0_raw))
        se_k0 = se if math.isnan(se) else max(0.0, se)
    # (a tau^2 estimate that did not converge was warned about by estimate_tau2(); the
    # flag is kept on the result)

    centre = flip * beta
    source = order[k - k0 :]
    combined = GenericEffect(
        yi=np.concatenate([yi, 2 * centre - yi[source]]),
        vi=np.concatenate([vi, vi[source]]),
        labels=[*result.labels, *(f"Filled {i + 1}" for i in range(k0))],
        measure=result.measure,
    )
    adjusted = result.model.fit(combined) if k0 > 0 else result
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        pvalue_k0=0.5 ** (k0 + 1) if estimator == "R0" else None,
        side=side,
        side_estimated=side_estimated,
        estimator=estimator,
        trimmed_estimate=centre,
        adjusted=adjusted,
        filled=combined.subset(np.arange(k, k + k0), allow_empty=True),
        filled_from=tuple(int(i) for i in source),
        original=result,
        iterations=iterations,
        converged=converged,
        notes=tuple(notes),
    )
