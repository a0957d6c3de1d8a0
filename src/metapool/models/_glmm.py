"""Generalised linear mixed models for sparse counts (metafor's ``rma.glmm``)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, overload

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from metapool._inference import z_crit
from metapool._moderators import moderator_design
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
from metapool.models._glmm_regression import glmm_regression_result, standardising
from metapool.models._glmm_umrs import fit_random_study
from metapool.models._glmm_umrs_het import arm1_edges, fit_saturated
from metapool.models._inference import two_sided_p
from metapool.results import NOT_ESTIMABLE, Interval
from metapool.results._glmm import GLMMResult
from metapool.results._glmm_regression import GLMMRegressionResult

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
      result. Its tests for heterogeneity compare the saturated model (an effect
      per study, random study intercepts) with the common-effect one, both by the
      Laplace approximation, as metafor; a study without events (or with only
      events) in arm 1 has an infinite saturated effect and weight 0 in the
      Wald-type test.
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
    nan_policy : {"raise", "omit"}, default "raise"
        With moderators: what to do with a study whose moderator value is missing
        (as :class:`~metapool.MetaRegression`).

    Notes
    -----
    With ``moderators`` (meta-regression, metafor's ``mods``), the effect of study
    ``i`` is ``x_i'β`` in place of ``θ`` (in two-arm models ``x_i`` multiplies the
    indicator of arm 1, as metafor's ``group1 * X``); the moderators are read and
    encoded as by :class:`~metapool.MetaRegression`. The numeric columns are
    centred and scaled for the optimiser (as metafor's ``scaleX``) and the
    coefficients and their covariance transformed back. The result
    (:class:`~metapool.GLMMRegressionResult`) has the Wald tests of the
    coefficients, the omnibus Wald test of the moderators (``QM``), the residual
    ``τ²`` and metafor's tests for residual heterogeneity (saturated model vs the
    common-effect meta-regression).

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

    A moderator (meta-regression):

    >>> reg = mp.GLMM().fit(plo, {"dose": [1.0, 0.5, 0.0, 0.4, 1.2, 0.3]})
    >>> reg.names, reg.coef.round(3).tolist(), round(reg.qm, 3)
    (('intercept', 'dose'), [-0.137, 2.615], 7.892)
    """

    model: str
    method: str
    n_agq: int
    level: float
    check_quadrature: bool
    nan_policy: str
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
        nan_policy: str = "raise",
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
            nan_policy=check_choice("GLMM", "nan_policy", nan_policy, ("raise", "omit")),
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

    @overload
    def fit(self, effects: EffectSet, moderators: None = None) -> GLMMResult: ...

    @overload
    def fit(
        self, effects: EffectSet, moderators: Any, *, intercept: bool = True
    ) -> GLMMRegressionResult: ...

    def fit(
        self, effects: EffectSet, moderators: Any = None, *, intercept: bool = True
    ) -> GLMMResult | GLMMRegressionResult:
        """Fit the GLMM to an odds-ratio, rate-ratio, PLO or IRLN effect set.

        Parameters
        ----------
        effects : EffectSet
            The studies (see the class for the measures accepted).
        moderators : array_like, mapping or DataFrame, optional
            Moderators of the effect, one value per study, in any form
            :meth:`metapool.MetaRegression.fit` takes; then a meta-regression
            (:class:`~metapool.GLMMRegressionResult`) is fitted.
        intercept : bool, default True
            With moderators: add an intercept column.

        Returns
        -------
        GLMMResult or GLMMRegressionResult
            Without or with moderators.
        """
        if not self.accepts(effects):
            raise MetapoolTypeError(
                "GLMM.fit expects OddsRatio effects (with their 2x2 tables), rate ratios "
                "(escalc('IRR')), or single-arm escalc('PLO') / escalc('IRLN') sets. "
                f"Got {type(effects).__name__}"
                + (f" ({effects.measure.code})" if isinstance(effects, EffectSet) else "")
                + "."
            )
        if moderators is not None:
            return self._fit_moderators(effects, moderators, intercept)
        if self.model == "UM.RS" and effects.measure.code in ("OR", "IRR"):
            return self._fit_random_study(effects)
        prep = prepare(effects, self.model, self.n_agq)
        fit, common, converged, quad_change, notes = self._fit_prepared(effects, prep)
        return self._result(effects, prep, fit, common, converged, quad_change, notes)

    def _fit_prepared(
        self, effects: EffectSet, prep: Prepared
    ) -> tuple[Fit, Fit, bool, float, tuple[str, ...]]:
        """The random- and common-effect fits of a prepared design, with the checks."""
        design = prep.design
        assert design is not None
        ki = int(prep.informative.sum())
        random = self.random_effects
        needed = design.p + 1 if random else design.p
        if ki < needed:
            what = "the effect" if design.p == 1 else f"the {design.p} coefficients"
            raise InvalidDataError(
                f"GLMM: {ki} study(ies) with information about {what} (studies without "
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
        return fit, common, converged, quad_change, tuple(notes)

    def _fit_moderators(
        self, effects: EffectSet, moderators: Any, intercept: bool
    ) -> GLMMRegressionResult:
        """The meta-regression: the model with ``x_i'β`` as the effect of study ``i``."""
        owner = "GLMM"
        if not isinstance(intercept, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'intercept' parameter of {owner}.fit must be True or False. Got "
                f"{intercept!r} instead."
            )
        dm, keep, omitted = moderator_design(
            owner,
            moderators,
            effects.index,
            effects.labels,
            effects.k + len(effects.excluded),
            intercept=bool(intercept),
            nan_policy=self.nan_policy,
        )
        if not keep.all():
            effects = effects.subset(keep)
        X = dm.X
        to_original = standardising(X, dm.intercept)
        sigma2, n_agq, qe_wald = math.nan, self.n_agq, None
        if self.model == "UM.RS" and effects.measure.code in ("OR", "IRR"):
            prep, fit, common, sigma2, converged, notes, qe_wald = self._random_study_fits(
                effects, X @ to_original
            )
            quad_change, n_agq = math.nan, 1
        else:
            prep = prepare(effects, self.model, self.n_agq, X @ to_original)
            fit, common, converged, quad_change, notes = self._fit_prepared(effects, prep)
        return glmm_regression_result(
            self,
            effects,
            prep,
            X,
            to_original,
            fit,
            common,
            converged=converged,
            quad_change=quad_change,
            notes=notes,
            design=dm,
            omitted=omitted,
            sigma2=sigma2,
            n_agq=n_agq,
            qe_wald=qe_wald,
        )

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
        qe_wald: float | None = None,
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
        ones = np.ones((prep.theta.size, 1))
        if qe_wald is None:
            qe_wald = wald_heterogeneity(prep.theta, prep.var, ones) if q_df > 0 else math.nan
        qe_w = qe_wald if q_df > 0 else math.nan
        has_saturated = q_df > 0 and math.isfinite(prep.saturated)
        qe_lrt = max(0.0, -2.0 * (common.loglik - prep.saturated)) if has_saturated else math.nan
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
        prep, fit, common, sigma2, converged, notes, qe_wald = self._random_study_fits(
            effects, None
        )
        family, offset = _random_study_data(effects)
        null = fit_random_study(family, offset, random=self.random_effects, theta_fixed=0.0)
        if not null.converged:
            converged = False
            warn(
                "GLMM: the likelihood maximisation with the effect fixed at 0 did not "
                f"converge ({null.message}).",
                ConvergenceWarning,
            )
        res = self._result(
            effects,
            prep,
            attrs.evolve(fit, converged=converged),
            common,
            converged,
            math.nan,
            notes,
            ll0=null.loglik,
            sigma2=sigma2,
            qe_wald=qe_wald,
        )
        return attrs.evolve(res, n_agq=1)

    def _random_study_fits(
        self, effects: EffectSet, X: Array | None
    ) -> tuple[Prepared, Fit, Fit, float, bool, tuple[str, ...], float]:
        """The UM.RS fits with and without the random effect (moderators ``X``), and the
        saturated fit of the tests for heterogeneity (its Wald-type statistic last)."""
        k = effects.k
        family, offset = _random_study_data(effects)
        random = self.random_effects
        p = 1 if X is None else X.shape[1]
        needed = p + 1 if random else p
        if k < needed:
            raise InvalidDataError(
                f"GLMM: model='UM.RS' with method={self.method!r} and {p} coefficient(s) "
                f"needs at least {needed} studies; got {k}."
            )
        fit = fit_random_study(family, offset, random=random, X=X)
        common = fit if not random else fit_random_study(family, offset, random=False, X=X)
        notes = ["UM.RS: Laplace approximation (as metafor)"]
        design = np.ones((k, 1)) if X is None else X
        saturated, qe_wald = math.nan, math.nan
        if k > p:
            sat = fit_saturated(
                family, offset, design, gamma0=common.gamma, sigma0=math.sqrt(common.sigma2)
            )
            saturated, qe_wald = sat.loglik, sat.qe_wald
            if not sat.converged:
                message = (
                    "the saturated model of the tests for heterogeneity did not converge: "
                    "they are not reported (NaN)"
                )
                warn(f"GLMM: {message}.", ConvergenceWarning)
                notes.append(message)
                saturated, qe_wald = math.nan, math.nan
            edges = np.flatnonzero(arm1_edges(family))
            if edges.size:
                listed = ", ".join(
                    study_name(int(effects.index[i]), effects.labels[i]) for i in edges
                )
                notes.append(
                    "Wald-type test for heterogeneity: weight 0 for the studies without "
                    f"events, or with only events, in arm 1 (their effect is infinite): {listed}"
                )
        converged = fit.converged and common.converged
        if not converged:
            warn(
                "GLMM: the likelihood maximisation did not converge "
                f"({fit.message or common.message}).",
                ConvergenceWarning,
            )
        if fit.boundary:
            notes.append("tau^2 = 0: the model without a random effect is at least as likely")
        as_fit = Fit(
            beta=fit.beta,
            tau=math.sqrt(fit.tau2),
            loglik=fit.loglik,
            vcov=fit.vcov,
            converged=converged,
            boundary=fit.boundary,
            gradient=0.0,
            message=fit.message,
        )
        common_fit = attrs.evolve(as_fit, loglik=common.loglik)
        prep = Prepared(
            design=None,
            informative=np.ones(k, dtype=bool),
            saturated=saturated,
            theta=np.full(k, np.nan),
            var=np.full(k, np.nan),
            label="UM.RS",
        )
        return prep, as_fit, common_fit, fit.sigma2, converged, tuple(notes), qe_wald


def _random_study_data(effects: EffectSet) -> tuple[Binomial | Poisson, Array]:
    """UM.RS: the counts of both arms as a family, and the offsets (log person-time)."""
    k = effects.k
    if effects.measure.code == "OR":
        counts = effects.counts
        assert counts is not None
        a, n1, c, n2 = (np.asarray(v, dtype=np.float64) for v in counts)
        return Binomial(np.stack([a, c], -1), np.stack([n1, n2], -1)), np.zeros((k, 2))
    arms = effects.arm_data()
    x1, t1, x2, t2 = (
        np.asarray(arms[n], dtype=np.float64) for n in ("events1", "time1", "events2", "time2")
    )
    return Poisson(np.stack([x1, x2], -1)), np.log(np.stack([t1, t2], -1))


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
