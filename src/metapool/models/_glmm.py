"""Generalised linear mixed models for sparse counts (metafor's ``rma.glmm``)."""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from metapool._inference import z_crit
from metapool._validation import check_choice, check_level, check_positive_int, study_name
from metapool._warnings import warn
from metapool.effects._base import EffectSet
from metapool.exceptions import (
    ConvergenceWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._glmm_data import Prepared, prepare, wald_heterogeneity
from metapool.models._glmm_families import Binomial, Poisson
from metapool.models._glmm_fit import Design, Fit, fit_ml, loglik_at, profile_loglik
from metapool.models._glmm_umrs import fit_random_study
from metapool.models._inference import two_sided_p
from metapool.results import NOT_ESTIMABLE, Interval
from metapool.results._glmm import GLMMResult

__all__ = ["GLMM"]

Array = NDArray[np.float64]

_TWO_ARM = ("UM.FS", "UM.RS", "CM.EL", "CM.AL")


@attrs.frozen(init=False)
class GLMM:
    """Generalised linear mixed models for counts: metafor's ``rma.glmm``.

    Pools the counts themselves instead of effect sizes with normal
    approximations and continuity corrections: exact likelihoods for sparse data
    and rare events [1]_ [2]_. The between-study random effect is normal
    (``τ²``) and is integrated out by adaptive Gauss–Hermite quadrature
    (``n_agq`` nodes, 7 by default as metafor; lme4's ``glmer(nAGQ = 7)``).

    Odds ratios (:class:`~metapool.OddsRatio`, from the 2×2 tables):

    * ``"UM.FS"`` (default): unconditional model with fixed study intercepts;
      the log odds of arm 1 is ``α_i + θ + u_i/2`` and of arm 2 ``α_i - u_i/2``,
      ``u_i ~ N(0, τ²)`` (metafor's ``coding = 1/2``); ``α_i`` are profiled out.
    * ``"UM.RS"``: random study intercepts instead, ``γ + v_i`` with
      ``v_i ~ N(0, σ²)`` independent of ``u_i`` (metafor's ``cor = FALSE``); by the
      Laplace approximation, as metafor (``n_agq`` is not used); ``sigma2`` on the
      result. Its heterogeneity tests are not computed (NaN).
    * ``"CM.EL"``: conditional on the table margins: Fisher's non-central
      hypergeometric likelihood of ``a`` with log OR ``θ + u_i`` (exact).
    * ``"CM.AL"``: its binomial–normal approximation: ``a`` out of ``a + c`` with
      logit ``log(n1/n2) + θ + u_i``.

    Rate ratios (``escalc("IRR", ...)``): ``"UM.FS"`` or ``"UM.RS"`` (Poisson–normal
    with fixed or random study intercepts and the log person-time as offset) or ``"CM.EL"`` (``x1``
    out of ``x1 + x2`` with logit ``log(t1/t2) + θ + u_i``; exact for Poisson
    counts; ``"CM.AL"`` is the same model, as in metafor). Single-arm
    proportions (``escalc("PLO", ...)``, binomial–normal, logit) and rates
    (``escalc("IRLN", ...)``, Poisson–normal, log), as ``meta::metaprop`` and
    ``metarate`` with ``method = "GLMM"``; ``model`` is then not used.

    Studies with no events (or only events) in both arms are kept. In UM.RS they
    inform the distribution of the study intercepts; in the other models they
    carry no information about ``θ`` or ``τ²`` (their conditional
    likelihood is 1; a free study intercept fits them exactly), so they add
    nothing to the log-likelihood and are not counted in the degrees of freedom
    of the heterogeneity tests; they are listed in ``notes`` and have weight 0.

    With ``method="ML"`` the log-likelihood is maximised over ``(θ, τ)`` (BFGS
    from several starts, polished by Newton steps); the common-effect fit
    (``τ = 0``) is compared explicitly and is the estimate when it is at least as
    likely (``boundary``). The covariance of ``θ`` is the inverse observed
    information in ``(θ, τ)`` (as lme4's ``vcov``). ``method="EE"`` fits the
    common-effect model. Also reported: the Wald and likelihood-ratio tests and
    the Wald and profile-likelihood CIs of ``θ``; metafor's heterogeneity tests
    (Wald-type and likelihood-ratio, saturated vs common-effect model).

    Parameters
    ----------
    model : {"UM.FS", "UM.RS", "CM.EL", "CM.AL"}, default "UM.FS"
        The model for two-arm data (see above).
    method : {"ML", "EE"}, default "ML"
        Random effects (maximum likelihood) or a common effect.
    n_agq : int, default 7
        Quadrature nodes (1: the Laplace approximation).
    level : float, default 0.95
        Confidence level.
    check_quadrature : bool, default True
        Re-evaluate the maximised log-likelihood with ``2 n_agq + 1`` nodes and
        warn (:class:`~metapool.exceptions.ConvergenceWarning`) when it changes by
        more than 1e-4.

    References
    ----------
    .. [1] Stijnen T, Hamza TH, Özdemir P (2010). Random effects meta-analysis of
       event outcome in the framework of the generalized linear mixed model with
       applications in sparse data. Stat Med 29(29):3046-3067.
    .. [2] Jackson D, Law M, Stijnen T, Viechtbauer W, White IR (2018). A comparison
       of seven random-effects models for meta-analyses that estimate the summary
       odds ratio. Stat Med 37(7):1059-1085.
    .. [3] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
    >>> res = mp.GLMM().fit(plo)
    >>> round(res.estimate, 4), round(res.tau2, 4), res.converged
    (1.1502, 0.3185, True)
    >>> str(res.back_transform())
    'PLO 0.76 [0.61, 0.86]'
    """

    model: str
    method: str
    n_agq: int
    level: float
    check_quadrature: bool
    #: How the model weights studies: by the likelihood of the counts.
    weighting: ClassVar[str] = "likelihood"
    #: The CI of the pooled effect: Wald z (the profile-likelihood CI is on the result).
    ci: ClassVar[str] = "z"
    #: No τ² estimator object: τ² is estimated jointly with the effect by ML.
    tau2: ClassVar[None] = None

    def __init__(
        self,
        model: str = "UM.FS",
        *,
        method: str = "ML",
        n_agq: int = 7,
        level: float = 0.95,
        check_quadrature: bool = True,
    ) -> None:
        if not isinstance(check_quadrature, bool):
            raise MetapoolTypeError(
                "The 'check_quadrature' parameter of GLMM must be a bool. "
                f"Got {type(check_quadrature).__name__} instead."
            )
        self.__attrs_init__(
            model=check_choice("GLMM", "model", model, _TWO_ARM),
            method=check_choice("GLMM", "method", method, ("ML", "EE")),
            n_agq=check_positive_int("GLMM", "n_agq", n_agq),
            level=check_level("GLMM", level),
            check_quadrature=check_quadrature,
        )

    @property
    def random_effects(self) -> bool:
        """Whether the model has a between-study variance (``method="ML"``)."""
        return self.method == "ML"

    def accepts(self, effects: object) -> bool:
        """Odds ratios with their 2×2 tables, rate ratios, single-arm PLO and IRLN sets."""
        if not isinstance(effects, EffectSet):
            return False
        code = effects.measure.code
        if code == "OR":
            return effects.counts is not None
        arms = effects.arm_data()
        if code == "IRR":
            return all(n in arms for n in ("events1", "time1", "events2", "time2"))
        if code == "PLO":
            return "events" in arms and "n" in arms
        if code == "IRLN":
            return "events" in arms and "time" in arms
        return False

    def profile_ci(self, result: GLMMResult, level: float | None = None) -> Interval:
        """The profile-likelihood CI of the pooled effect of ``result`` (a fit of this model).

        Where twice the drop of the profile log-likelihood (maximised over ``τ`` and
        any study intercepts) equals the χ²₁ quantile at ``level`` (default: the
        result's); found by bracketing from the Wald interval and Brent's method.
        Refits the model a few dozen times, so it is computed only when asked
        (:meth:`GLMMResult.profile_ci`).
        """
        lev = result.level if level is None else check_level("GLMM.profile_ci", level)
        if result.glmm_model == "UM.RS":
            raise InvalidParameterError(
                "GLMM.profile_ci: the profile-likelihood CI is not available for "
                "model='UM.RS' (the Wald CI and the likelihood-ratio test are)."
            )
        prep = prepare(result.effects, self.model, self.n_agq)
        assert prep.design is not None  # every model but UM.RS has one
        return _profile_ci(
            prep.design,
            self.random_effects,
            result.loglik,
            result.estimate,
            result.se,
            z_crit(lev),
        )

    def fit(self, effects: EffectSet) -> GLMMResult:
        """Fit the GLMM to an odds-ratio, rate-ratio, PLO or IRLN effect set."""
        if not self.accepts(effects):
            raise MetapoolTypeError(
                "GLMM.fit expects OddsRatio effects (with their 2x2 tables), rate ratios "
                "(escalc('IRR')), or single-arm escalc('PLO') / escalc('IRLN') sets. "
                f"Got {type(effects).__name__}"
                + (f" ({effects.measure.code})" if isinstance(effects, EffectSet) else "")
                + "."
            )
        if self.model == "UM.RS" and effects.measure.code in ("OR", "IRR"):
            return self._fit_random_study(effects)
        prep = prepare(effects, self.model, self.n_agq)
        design = prep.design
        assert design is not None
        ki = int(prep.informative.sum())
        random = self.random_effects
        needed = 2 if random else 1
        if ki < needed:
            raise InvalidDataError(
                f"GLMM: {ki} study(ies) with information about the effect (studies without "
                f"events, or only events, in both arms carry none); method={self.method!r} "
                f"needs at least {needed}."
            )
        notes: list[str] = []
        if ki < effects.k:
            listed = ", ".join(
                study_name(int(effects.index[i]), effects.labels[i])
                for i in np.flatnonzero(~prep.informative)
            )
            notes.append(
                f"kept with no information in this model (no events, or only events, in both "
                f"arms): {listed}"
            )
        common = fit_ml(design, random=False)
        fit = fit_ml(design, random=True) if random else common
        converged = fit.converged and common.converged
        if not converged:
            reason = fit.message or common.message
            warn(
                f"GLMM: the likelihood maximisation did not converge ({reason}).",
                ConvergenceWarning,
            )
        if fit.boundary:
            notes.append("tau^2 = 0: the common-effect fit is at least as likely (boundary)")
        quad_change = math.nan
        if self.check_quadrature and random and not fit.boundary:
            finer = attrs.evolve(design, n_agq=2 * self.n_agq + 1)
            theta = np.append(fit.beta, fit.tau)
            quad_change = loglik_at(finer, theta) - fit.loglik
            if abs(quad_change) > 1e-4:
                message = (
                    f"the log-likelihood changes by {quad_change:.3g} with {2 * self.n_agq + 1} "
                    f"instead of {self.n_agq} quadrature nodes: increase n_agq"
                )
                warn(f"GLMM: {message}.", ConvergenceWarning)
                notes.append(message)
        return self._result(effects, prep, fit, common, converged, quad_change, tuple(notes))

    def _result(
        self,
        effects: EffectSet,
        prep: Prepared,
        fit: Fit,
        common: Fit,
        converged: bool,
        quad_change: float,
        notes: tuple[str, ...],
        *,
        ll0: float | None = None,
        sigma2: float = math.nan,
    ) -> GLMMResult:
        random = self.random_effects
        estimate = float(fit.beta[0])
        se = float(math.sqrt(fit.vcov[0, 0]))
        crit = z_crit(self.level)
        stat = estimate / se
        tau2 = fit.tau**2 if random else 0.0
        p = int(fit.beta.size)
        ki = int(prep.informative.sum())
        q_df = ki - p
        qe_w = wald_heterogeneity(prep.theta, prep.var, p) if q_df > 0 else math.nan
        qe_lrt = max(0.0, -2.0 * (common.loglik - prep.saturated)) if q_df > 0 else math.nan
        chi = special.chdtrc
        # the likelihood-ratio test of θ = 0
        if ll0 is None:
            assert prep.design is not None
            ll0 = profile_loglik(prep.design, random=random, j=0, value=0.0)
        lrt = max(0.0, 2.0 * (fit.loglik - ll0))
        # I², H² as metafor: τ² over τ² + the typical within-study variance of the set
        vi = np.asarray(effects.vi, dtype=np.float64)[prep.informative]
        w = 1.0 / vi
        trace_p = float(w.sum() - (w**2).sum() / w.sum())
        vt = (ki - p) / trace_p if ki > p else math.nan
        i2 = 100.0 * tau2 / (vt + tau2) if random and ki > p else math.nan
        h2 = tau2 / vt + 1.0 if random and ki > p else math.nan
        display = np.zeros(effects.k)
        display[prep.informative] = 1.0 / (vi + tau2)
        pi_half = crit * math.sqrt(se**2 + tau2)
        return GLMMResult(
            model=self,
            method=f"GLMM ({prep.label}, {'random' if random else 'common'} effect, ML)",
            measure=effects.measure,
            estimate=estimate,
            se=se,
            statistic=stat,
            pvalue=float(two_sided_p(np.asarray(stat), None)),
            df=None,
            ci=Interval(estimate - crit * se, estimate + crit * se),
            pi=Interval(estimate - pi_half, estimate + pi_half),
            tau2=tau2,
            tau=math.sqrt(tau2),
            tau2_ci=NOT_ESTIMABLE,
            tau_ci=NOT_ESTIMABLE,
            i2=i2,
            i2_ci=NOT_ESTIMABLE,
            h2=h2,
            h2_ci=NOT_ESTIMABLE,
            q=qe_w,
            q_df=max(q_df, 0),
            q_pvalue=float(chi(q_df, qe_w)) if q_df > 0 else math.nan,
            weights=100.0 * display / display.sum(),
            k=effects.k,
            converged=converged,
            iterations=0,
            level=self.level,
            tau2_method="ML (GLMM)" if random else None,
            ci_method="z",
            pi_method="metafor" if random else "none (common effect: PI = CI)",
            i2_method="tau^2",
            yi=effects.yi,
            vi=effects.vi,
            labels=effects.labels,
            effects=effects,
            excluded=effects.excluded,
            notes=notes,
            glmm_model=prep.label,
            n_agq=self.n_agq,
            loglik=fit.loglik,
            loglik_common=common.loglik,
            loglik_saturated=prep.saturated,
            qe_lrt=qe_lrt,
            qe_lrt_pvalue=float(chi(q_df, qe_lrt)) if q_df > 0 else math.nan,
            lrt=lrt,
            lrt_pvalue=float(chi(1, lrt)),
            quadrature_change=quad_change,
            boundary=fit.boundary,
            sigma2=sigma2,
        )

    def _fit_random_study(self, effects: EffectSet) -> GLMMResult:
        """metafor's UM.RS (Laplace, as metafor); every study carries information."""
        arms = effects.arm_data()
        k = effects.k
        if effects.measure.code == "OR":
            counts = effects.counts
            assert counts is not None
            a, n1, c, n2 = (np.asarray(v, dtype=np.float64) for v in counts)
            family: Binomial | Poisson = Binomial(np.stack([a, c], -1), np.stack([n1, n2], -1))
            offset = np.zeros((k, 2))
        else:
            x1, t1, x2, t2 = (
                np.asarray(arms[n], dtype=np.float64)
                for n in ("events1", "time1", "events2", "time2")
            )
            family = Poisson(np.stack([x1, x2], -1))
            offset = np.log(np.stack([t1, t2], -1))
        random = self.random_effects
        if k < (2 if random else 1):
            raise InvalidDataError(
                f"GLMM: model='UM.RS' with method={self.method!r} needs at least "
                f"{2 if random else 1} studies; got {k}."
            )
        fit = fit_random_study(family, offset, random=random)
        null = fit_random_study(family, offset, random=random, theta_fixed=0.0)
        common = fit if not random else fit_random_study(family, offset, random=False)
        notes = [
            "UM.RS: Laplace approximation (as metafor); the heterogeneity tests are not "
            "computed for this model",
        ]
        converged = fit.converged and null.converged
        if not converged:
            warn(
                f"GLMM: the likelihood maximisation did not converge ({fit.message}).",
                ConvergenceWarning,
            )
        if fit.boundary:
            notes.append("tau^2 = 0: the model without a random effect is at least as likely")
        as_fit = Fit(
            beta=np.array([fit.theta]),
            tau=math.sqrt(fit.tau2),
            loglik=fit.loglik,
            vcov=np.array([[fit.var_theta]]),
            converged=converged,
            boundary=fit.boundary,
            gradient=0.0,
            message=fit.message,
        )
        common_fit = attrs.evolve(as_fit, loglik=common.loglik)
        prep = Prepared(
            design=None,
            informative=np.ones(k, dtype=bool),
            saturated=math.nan,
            theta=np.full(k, np.nan),
            var=np.full(k, np.nan),
            label="UM.RS",
        )
        res = self._result(
            effects,
            prep,
            as_fit,
            common_fit,
            converged,
            math.nan,
            tuple(notes),
            ll0=null.loglik,
            sigma2=fit.sigma2,
        )
        return attrs.evolve(
            res, q=math.nan, q_pvalue=math.nan, qe_lrt=math.nan, qe_lrt_pvalue=math.nan, n_agq=1
        )


def _profile_ci(
    design: Design, random: bool, loglik: float, estimate: float, se: float, crit: float
) -> Interval:
    """Where the profile log-likelihood falls ``crit²/2`` below its maximum (``crit``: the
    normal quantile, so ``crit²`` is the χ²₁ quantile)."""

    def drop(b: float) -> float:
        return 2.0 * (loglik - profile_loglik(design, random=random, j=0, value=b)) - crit**2

    bounds = []
    for sign in (-1.0, 1.0):
        inner, outer = estimate, estimate + sign * crit * se
        found = False
        for _ in range(12):
            if drop(outer) > 0:
                found = True
                break
            inner, outer = outer, estimate + 2 * (outer - estimate)
        if not found:
            bounds.append(sign * math.inf)
            continue
        bounds.append(
            float(
                optimize.brentq(drop, min(inner, outer), max(inner, outer), xtol=1e-9, rtol=1e-12)
            )
        )
    if not all(math.isfinite(b) for b in bounds):
        warn(
            "GLMM: the profile log-likelihood does not fall below the cut-off within "
            "2^12 Wald half-widths of the estimate: the profile-likelihood CI is unbounded.",
            ConvergenceWarning,
        )
    return Interval(bounds[0], bounds[1])
