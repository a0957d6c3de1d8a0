"""Closed-form (moment) estimators of τ²: DL, HE, SJ, HS."""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._kernels import n_params, ols_rss, rowsum, trace_p, wls
from metapool.exceptions import InvalidParameterError
from metapool.tau2._base import Tau2Fit, closed_form, register

__all__ = ["DerSimonianLaird", "Fixed", "HedgesOlkin", "HunterSchmidt", "SidikJonkman"]

Array = NDArray[np.float64]


@register("DerSimonianLaird", "DerSimonian-Laird")
@attrs.frozen
class DerSimonianLaird:
    """DerSimonian–Laird method-of-moments estimator, truncated at 0.

    ``τ² = max(0, (Q - (k - p)) / tr(P))`` with Cochran's Q (Q_E under
    moderators) and ``tr(P) = Σw - Σw²/Σw`` for the intercept-only model,
    ``w = 1/v``.

    References
    ----------
    .. [1] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
       Control Clin Trials 7(3):177-188.

    Examples
    --------
    >>> import numpy as np
    >>> from metapool.tau2 import DerSimonianLaird
    >>> fit = DerSimonianLaird().estimate(np.array([0.1, 0.5, 0.9]), np.array([0.01, 0.02, 0.04]))
    >>> round(float(fit.tau2), 6)
    0.128571
    """

    name: ClassVar[str] = "DL"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        w = 1.0 / vi
        fit = wls(yi, w, X)
        df = yi.shape[-1] - n_params(X)
        tau2 = (fit.rss - df) / trace_p(w, X, fit.cov)
        return closed_form(np.maximum(0.0, tau2), self.name)


@register("HedgesOlkin", "Hedges")
@attrs.frozen
class HedgesOlkin:
    """Hedges' (Hedges–Olkin) unweighted moment estimator, truncated at 0.

    ``τ² = max(0, (RSS - tr((I - H) V)) / (k - p))`` with the unweighted
    residual sum of squares ``RSS`` and hat matrix ``H``; for the intercept-only
    model ``Σ(y - ȳ)²/(k-1) - Σv/k``.

    References
    ----------
    .. [1] Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis.
       Academic Press.
    """

    name: ClassVar[str] = "HE"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        k = yi.shape[-1]
        df = k - n_params(X)
        rss = ols_rss(yi, X)
        if X is None:
            tr_pv = rowsum(vi) * (k - 1) / k
        else:
            hat_diag = np.einsum("...kp,pq,...kq->...k", X, np.linalg.inv(X.T @ X), X)
            tr_pv = rowsum(vi * (1.0 - hat_diag))
        return closed_form(np.maximum(0.0, (rss - tr_pv) / df), self.name)


@register("SidikJonkman", "Sidik-Jonkman")
@attrs.frozen
class SidikJonkman:
    """Sidik–Jonkman estimator (non-negative by construction).

    With the initial value ``τ₀² = Σ(y - ȳ)²/k`` and weights ``w = 1/(v + τ₀²)``,
    ``τ² = τ₀² Q_w / (k - p)`` where ``Q_w`` is the weighted residual sum of squares
    (metafor's definition, which keeps ``τ₀²`` unconditional under moderators).

    References
    ----------
    .. [1] Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation
       for meta-analysis. J R Stat Soc C 54(2):367-384.
    """

    name: ClassVar[str] = "SJ"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        k = yi.shape[-1]
        tau2_0 = rowsum((yi - yi.mean(axis=-1, keepdims=True)) ** 2) / k
        fit = wls(yi, 1.0 / (vi + tau2_0[..., None]), X)
        return closed_form(tau2_0 * fit.rss / (k - n_params(X)), self.name)


@register("HunterSchmidt", "Hunter-Schmidt")
@attrs.frozen
class HunterSchmidt:
    """Hunter–Schmidt estimator, truncated at 0: ``τ² = max(0, (Q - k) / Σw)``, ``w = 1/v``.

    References
    ----------
    .. [1] Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.
    .. [2] Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
       estimators in the random-effects model. J Educ Behav Stat 30(3):261-293.
    """

    name: ClassVar[str] = "HS"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        w = 1.0 / vi
        q = wls(yi, w, X).rss
        tau2 = (q - yi.shape[-1]) / rowsum(w)
        return closed_form(np.maximum(0.0, tau2), self.name)


def _fixed_value(value: object) -> float:
    """Convert and check the value of :class:`Fixed` (a real number, finite, >= 0)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    number = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not (ok and math.isfinite(number) and number >= 0):
        raise InvalidParameterError(
            f"The 'value' parameter of Fixed must be a finite number >= 0. Got {value!r} instead."
        )
    return number


@attrs.frozen
class Fixed:
    """τ² fixed at a value chosen in advance (metafor's ``rma(..., tau2=value)``).

    Used for sensitivity analyses and, internally, to pool subgroups with a
    common τ². Not in the registry (it needs a value).

    Parameters
    ----------
    value : float
        The between-study variance, >= 0.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.5, 0.9], vi=[0.01, 0.02, 0.04])
    >>> mp.RandomEffects(tau2=mp.tau2.Fixed(0.05)).fit(eff).tau2
    0.05
    """

    value: float = attrs.field(converter=_fixed_value)
    name: ClassVar[str] = "fixed"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        return closed_form(np.full(np.shape(yi)[:-1], self.value), self.name)
