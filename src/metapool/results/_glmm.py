"""The result of a GLMM meta-analysis: a pooled result with its likelihood extras."""

from __future__ import annotations

import math

import attrs

from metapool.results._intervals import Interval
from metapool.results._pooled import MetaResult
from metapool.results._report import p_text

__all__ = ["GLMMResult"]


@attrs.frozen(kw_only=True, repr=False)  # MetaResult's short repr
class GLMMResult(MetaResult):
    """A :class:`MetaResult` of :class:`~metapool.GLMM`, with the likelihood-based extras.

    ``estimate``, ``se``, ``ci`` and ``pvalue`` are the Wald results (as metafor's
    ``rma.glmm``); ``q``, ``q_df`` and ``q_pvalue`` hold metafor's Wald-type test for
    heterogeneity (``QE.Wld``); ``i2`` and ``h2`` are metafor's (from ``τ²`` and the
    typical within-study variance of the effect-size set). ``weights`` are
    display weights only (``1/(vi + τ²)`` of the effect-size set, 0 for studies
    without information in the model): a GLMM has no study weights.

    Attributes
    ----------
    glmm_model : str
        ``"UM.FS"``, ``"CM.EL"``, ``"CM.AL"`` (two-arm data) or the single-arm
        model (``"binomial-normal"``, ``"Poisson-normal"``).
    n_agq : int
        Nodes of the adaptive Gauss–Hermite quadrature.
    loglik : float
        Maximised marginal log-likelihood (with all constants).
    loglik_common, loglik_saturated : float
        Log-likelihoods of the common-effect model and of the saturated model
        (one effect per study), as metafor's ``ll.FE`` and ``ll.QE``.
    qe_lrt, qe_lrt_pvalue : float
        The likelihood-ratio test for heterogeneity (``-2 (ll.FE - ll.QE)``, df ``q_df``).
    lrt, lrt_pvalue : float
        The likelihood-ratio test of ``estimate = 0`` (NaN with moderators).
    quadrature_change : float
        The change of the maximised log-likelihood with ``2 n_agq + 1`` nodes
        (NaN when not checked).
    boundary : bool
        Whether ``τ² = 0`` is the estimate (the common-effect fit is at least as likely).
    sigma2 : float
        ``"UM.RS"``: the variance of the random study intercepts (NaN otherwise).
    """

    glmm_model: str
    n_agq: int
    loglik: float
    loglik_common: float
    loglik_saturated: float
    qe_lrt: float
    qe_lrt_pvalue: float
    lrt: float
    lrt_pvalue: float
    quadrature_change: float
    boundary: bool
    sigma2: float = math.nan

    def __repr__(self) -> str:
        return "GLMMResult(" + super().__repr__().removeprefix("MetaResult(")

    def summary(self, digits: int = 4) -> str:
        """The pooled report of :meth:`MetaResult.summary` with the likelihood results."""
        lines = [
            super().summary(digits),
            "",
            f"GLMM ({self.glmm_model}; "
            + (
                "Laplace approximation)"
                if self.n_agq == 1
                else f"{self.n_agq}-point adaptive Gauss-Hermite quadrature)"
            ),
            f"  log-likelihood = {self.loglik:.{digits}f}"
            + ("; tau^2 = 0 is the estimate (boundary)" if self.boundary else ""),
        ]
        if not math.isnan(self.lrt):
            lines.append(
                f"  likelihood-ratio test (estimate = 0): {self.lrt:.3f}, {p_text(self.lrt_pvalue)}"
            )
        if self.q_df > 0 and not math.isnan(self.q):
            lines.append(
                f"  heterogeneity: Wald-type QE = {self.q:.{digits}f}, {p_text(self.q_pvalue)}; "
                f"likelihood-ratio QE = {self.qe_lrt:.{digits}f}, {p_text(self.qe_lrt_pvalue)} "
                f"(df = {self.q_df})"
            )
        return "\n".join(lines)

    def profile_ci(self, level: float | None = None) -> Interval:
        """The profile-likelihood CI of the pooled effect (refits the model; see
        :meth:`metapool.GLMM.profile_ci`).

        Examples
        --------
        >>> import metapool as mp
        >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
        >>> res = mp.GLMM().fit(plo)
        >>> res.profile_ci().format(3)
        '0.433 to 2.154'
        """
        interval: Interval = self.model.profile_ci(self, level)
        return interval
