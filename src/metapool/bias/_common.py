"""What the small-study-effect methods share: reading their input, the k checks,
and the (meta-)regression of the effects on their standard errors."""

from __future__ import annotations

import warnings

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._conditioning import check_finite_effects
from metapool._estimation import estimate_tau2
from metapool._kernels import WLS, wls
from metapool._validation import check_level
from metapool.effects._base import EffectSet
from metapool.effects._measure import Measure
from metapool.exceptions import (
    InvalidDataError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from metapool.models._protocol import Model
from metapool.results import MetaResult
from metapool.tau2 import REML, Tau2Estimator

__all__ = [
    "MIN_K",
    "RECOMMENDED_K",
    "BiasInput",
    "read_input",
    "regress_on",
    "regress_on_se",
]

Array = NDArray[np.float64]

#: Fewest studies accepted: the regression on the SE has k - 2 residual df.
MIN_K = 3
#: Below this many studies the tests have little power (Sterne et al. 2011).
RECOMMENDED_K = 10


@attrs.frozen(kw_only=True)
class BiasInput:
    """The studies and the model settings a small-study-effect method works with.

    ``tau2`` is ``None`` for a common-effect fit (τ² = 0); ``ci`` is metapool's
    name of the test of a coefficient ("z", "t", "hksj", "hksj-adhoc").
    """

    yi: Array
    vi: Array
    labels: tuple[str, ...]
    measure: Measure
    tau2: Tau2Estimator | None
    ci: str
    level: float
    source: str
    notes: tuple[str, ...]
    effects: EffectSet | None = None

    @property
    def k(self) -> int:
        return int(self.yi.size)


def read_input(
    owner: str,
    effects_or_result: object,
    level: float | None,
    *,
    min_k: int = MIN_K,
    asymmetry_test: bool = True,
) -> BiasInput:
    """Read an effect-size set or a fitted result, check k, and warn when k is small.

    An :class:`EffectSet` gets metafor's defaults for vectors (REML, z, 95%);
    a :class:`MetaResult` contributes its studies and its model's settings.
    Mantel–Haenszel and Peto results count as common-effect fits, as in metafor
    (whose ``rma.mh``/``rma.peto`` objects carry ``method = "FE"``).
    ``min_k`` is the fewest studies accepted; ``asymmetry_test=False`` skips the
    small-k warning, which is about the power of tests for asymmetry.
    """
    notes: list[str] = []
    if isinstance(effects_or_result, EffectSet):
        eff = effects_or_result
        yi, vi, labels = eff.yi, eff.vi, eff.labels
        measure = eff.measure
        tau2: Tau2Estimator | None = REML()
        ci, fit_level, source = "z", 0.95, type(eff).__name__
    elif isinstance(effects_or_result, MetaResult):
        res = effects_or_result
        yi, vi, labels = res.yi, res.vi, res.labels
        measure = res.measure
        fit_level, model = res.level, res.model
        source = type(model).__name__
        if not isinstance(model, Model):
            raise MetapoolTypeError(
                f"{owner} does not know the model {source!r} of this result (it does not "
                "declare the metapool.models.Model attributes); give the effect-size set or "
                "a CommonEffect, RandomEffects, MantelHaenszel or Peto fit."
            )
        tau2, ci = (model.tau2 if model.random_effects else None), model.ci
        if model.weighting != "inverse-variance":
            notes.append(
                f"{source} fit: the study effects (yi, vi) are analysed with inverse-variance "
                "weights (a common-effect model), as metafor does"
            )
    else:
        raise MetapoolTypeError(
            f"{owner} expects an effect-size set (e.g. GenericEffect) or a MetaResult. "
            f"Got {type(effects_or_result).__name__}."
        )
    k = int(np.size(yi))
    if k:
        index = eff.index if isinstance(effects_or_result, EffectSet) else res.effects.index
        check_finite_effects(
            owner, np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64), labels, index
        )
    if k < min_k:
        why = (
            " (the regression on the standard error leaves k - 2 degrees of freedom)"
            if min_k == MIN_K
            else ""
        )
        raise InvalidDataError(f"{owner} needs at least {min_k} studies{why}; got k = {k}.")
    if asymmetry_test and k < RECOMMENDED_K:
        warnings.warn(
            f"{owner}: only k = {k} studies; tests for funnel-plot asymmetry have little power "
            f"with fewer than {RECOMMENDED_K} studies (Sterne et al. 2011). The result is "
            "computed and carries a note.",
            SmallSampleWarning,
            stacklevel=3,
        )
        notes.append(f"k = {k} < {RECOMMENDED_K}: little power to detect asymmetry")
    return BiasInput(
        yi=np.asarray(yi, dtype=np.float64),
        vi=np.asarray(vi, dtype=np.float64),
        labels=tuple(labels),
        measure=measure,
        tau2=tau2,
        ci=ci,
        level=fit_level if level is None else check_level(owner, level),
        source=source,
        notes=tuple(notes),
        effects=eff if isinstance(effects_or_result, EffectSet) else res.effects,
    )


def regress_on_se(
    owner: str, yi: Array, vi: Array, tau2: Tau2Estimator | None, *, hint: str = ""
) -> tuple[WLS, float, bool]:
    """Meta-regression of ``yi`` on ``sqrt(vi)``: :func:`regress_on` with the
    standard error as predictor."""
    return regress_on(owner, yi, vi, np.sqrt(vi), tau2, hint=hint)


def regress_on(
    owner: str,
    yi: Array,
    vi: Array,
    x: Array,
    tau2: Tau2Estimator | None,
    *,
    weights: Array | None = None,
    what: str = "standard errors",
    hint: str = "",
) -> tuple[WLS, float, bool]:
    """Meta-regression of ``yi`` on the predictor ``x`` (with intercept).

    τ² is estimated by ``tau2`` with the design matrix ``[1, x]`` (0 for a
    common-effect model). Returns the WLS fit with weights ``1/(vi + τ²)``
    (or ``weights``, for a classic regression with other weights, such as
    Peters' test), τ² and whether its estimator converged (a ConvergenceWarning
    is raised if not).

    Raises :class:`InvalidDataError` when ``x`` is (nearly) constant, with the
    rank criterion of R's ``lm`` (the part of ``x`` not explained by the
    intercept is below 1e-7 of its norm), where metafor stops too.
    """
    if np.linalg.norm(x - x.mean()) <= 1e-7 * np.linalg.norm(x):
        same = "variance" if what == "standard errors" else f"value of the predictor ({what})"
        raise InvalidDataError(
            f"{owner}: all studies have the same {same}, so the effects cannot be regressed "
            f"on their {what} (metafor: 'Model matrix no longer of full rank')." + hint
        )
    X = np.column_stack([np.ones_like(yi), x])
    tau2_value, converged = 0.0, True
    if tau2 is not None:
        fit = estimate_tau2(tau2, yi, vi, X, owner=owner, where=f" in the regression on the {what}")
        tau2_value = float(np.asarray(fit.tau2))
        converged = bool(np.all(fit.converged))
    w = 1.0 / (vi + tau2_value) if weights is None else weights
    return wls(yi, w, X), tau2_value, converged
