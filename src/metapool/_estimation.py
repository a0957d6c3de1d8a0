"""Estimating τ² for a model: the estimator's output checked, extreme scales rescaled.

Every model, meta-regression, subgroup analysis and small-study-effect method
estimates τ² through :func:`estimate_tau2`, so that a plug-in's output is checked
in one place (:func:`checked`) and data far outside the range of double
precision are handled in one place (power-of-two rescaling, see
:mod:`metapool._conditioning`).
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._conditioning import power_of_two_scale
from metapool._warnings import warn
from metapool.exceptions import ConvergenceWarning, MetapoolError, MetapoolTypeError
from metapool.tau2._base import Tau2Estimator, Tau2Fit
from metapool.tau2._moment import Fixed

__all__ = ["checked", "estimate_tau2", "warn_not_converged"]

Array = NDArray[np.float64]


def estimate_tau2(
    estimator: Tau2Estimator,
    yi: Array,
    vi: Array,
    X: Array | None = None,
    *,
    owner: str,
    where: str = "",
    warn_stuck: bool = True,
) -> Tau2Fit:
    """τ² along the last axis, checked (:func:`checked`).

    ``warn_stuck=False`` leaves the ConvergenceWarning to the caller (a chunked or
    bucketed batch warns once, naming its own rows: :func:`warn_not_converged`).

    Rows whose variances need it are estimated on power-of-two rescaled data and
    the estimate scaled back (every estimator is scale-equivariant; the contract
    kit checks it); a τ² fixed in advance (:class:`~metapool.tau2.Fixed`) is on
    the original scale and is used as it is.
    """
    shape = yi.shape[:-1]
    scale = power_of_two_scale(vi) if yi.size else np.ones(shape)
    if isinstance(estimator, Fixed) or bool(np.all(scale == 1.0)):
        fit = estimator.estimate(yi, vi) if X is None else estimator.estimate(yi, vi, X)
        return checked(fit, owner, where, shape=shape, warn_stuck=warn_stuck)
    unit = scale[..., None]
    y, v = yi / unit, vi / unit**2
    fit = estimator.estimate(y, v) if X is None else estimator.estimate(y, v, X)
    fit = checked(fit, owner, where, shape=shape, warn_stuck=warn_stuck)
    return attrs.evolve(fit, tau2=np.asarray(fit.tau2) * scale**2)


def checked(
    fit: object,
    owner: str,
    where: str = "",
    *,
    shape: tuple[int, ...] = (),
    warn_stuck: bool = True,
) -> Tau2Fit:
    """Check an estimator's output before a model uses it.

    Raises :class:`~metapool.exceptions.MetapoolTypeError` when ``estimate()``
    did not return a :class:`Tau2Fit` or its arrays do not have the batch
    ``shape`` (``()`` for one analysis); :class:`~metapool.exceptions.MetapoolError`
    when a τ² is negative or not finite (a broken plug-in must not be silently
    truncated). Warns with a :class:`~metapool.exceptions.ConvergenceWarning`
    naming the analyses whose estimate did not converge (the flag stays on the
    result). ``where`` says in which part of a computation the estimator ran.
    """
    if not isinstance(fit, Tau2Fit):
        raise MetapoolTypeError(
            f"{owner}: the tau^2 estimator's estimate(){where} must return a "
            f"metapool.tau2.Tau2Fit. Got {type(fit).__name__} ({fit!r:.60}) instead."
        )
    for name in ("tau2", "converged", "iterations"):
        got = np.shape(getattr(fit, name))
        if got != shape:
            raise MetapoolTypeError(
                f"{owner}: the tau^2 estimator {fit.method!r}{where} returned '{name}' of shape "
                f"{got}; expected the batch shape {shape} (yi.shape[:-1])."
            )
    tau2 = np.asarray(fit.tau2, dtype=np.float64)
    ok = np.isfinite(tau2) & (tau2 >= 0)
    if not ok.all():
        if tau2.ndim == 0:
            got_value = f"{float(tau2)!r}"
        else:
            idx = tuple(int(i) for i in np.argwhere(~ok)[0])
            got_value = f"{float(tau2[idx])!r} (row {idx})"
        raise MetapoolError(
            f"{owner}: the tau^2 estimator {fit.method!r} returned {got_value}{where}; "
            "an estimate must be finite and >= 0."
        )
    if warn_stuck:
        warn_not_converged(owner, fit.method, np.asarray(fit.converged), fit.iterations, where)
    return fit


def warn_not_converged(
    owner: str,
    method: str,
    converged: NDArray[np.bool_],
    iterations: object = 0,
    where: str = "",
    *,
    names: list[object] | None = None,
) -> None:
    """Warn (ConvergenceWarning) about the analyses whose τ² did not converge.

    A batch names its rows by their index in ``converged`` (the first five), or by
    ``names`` (one per flagged analysis, in order) when given.
    """
    stuck = ~np.asarray(converged, dtype=bool)
    if not stuck.any():
        return
    if stuck.ndim == 0:
        detail = f"after {int(np.asarray(iterations))} iterations"
    else:
        rows: list[object] = (
            list(names[:5])
            if names is not None
            else [tuple(int(i) for i in r) for r in np.argwhere(stuck)[:5]]
        )
        what = "analysis(es)" if names is not None else "row(s)"
        detail = f"for {int(stuck.sum())} {what}, e.g. {rows}"
    warn(
        f"{owner}: the tau^2 estimator {method!r} did not converge {detail}{where}; "
        "the result is flagged converged=False.",
        ConvergenceWarning,
    )
