"""Meta-regression: mixed-effects (or fixed-effects) weighted regression on moderators.

:class:`MetaRegression` fits the model, :class:`MetaRegressionResult` holds the fit
and :class:`Prediction` its predictions. Reading the moderators and encoding them
as a design matrix (:class:`DesignMatrix`, re-exported here) is the job of
:mod:`metapool._moderators`.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._estimation import estimate_tau2
from metapool._kernels import (
    n_params,
)
from metapool._moderators import DesignMatrix, moderator_design
from metapool._validation import check_choice, check_level
from metapool._warnings import warn
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
)
from metapool.models._engine import fit_iv
from metapool.models._inference import CI_METHODS
from metapool.models._inverse_variance import check_effects
from metapool.results import (
    NOT_ESTIMABLE,
    Interval,
    IntervalArray,
    MetaRegressionResult,
    Prediction,
)
from metapool.tau2 import Fixed, Tau2Estimator
from metapool.tau2 import get as get_tau2

__all__ = ["DesignMatrix", "MetaRegression", "MetaRegressionResult", "Prediction"]

Array = NDArray[np.float64]


def _weighted_adjusted_r2(yi: Array, w: Array, rss: float, p: int) -> float:
    """Adjusted R² (percent, truncated at 0) of a weighted least-squares regression
    with an intercept."""
    k = yi.size
    if np.all(yi == yi[0]):
        return 0.0
    centre = float((w * yi).sum() / w.sum())
    tss, df_tot = float((w * (yi - centre) ** 2).sum()), k - 1
    r2 = 1.0 - rss / tss
    return max(0.0, 100.0 * (1.0 - (1.0 - r2) * df_tot / (k - p)))


@attrs.frozen(init=False)
class MetaRegression:
    """Meta-regression with a pluggable τ² estimator.

    Fits ``y = Xβ + u + ε`` with ``u ~ N(0, τ²)``, ``ε ~ N(0, v)`` by weighted least
    squares with ``w = 1/(v + τ̂²)``, τ² estimated by any estimator that accepts a
    design matrix (all built-in ones do). ``tau2=mp.tau2.Fixed(0)`` gives a
    fixed-effects meta-regression.

    Parameters
    ----------
    tau2 : str or Tau2Estimator, optional
        τ² estimator. Default from the convention (metafor: REML; revman5: DL).
    ci : {"z", "hksj", "hksj-adhoc", "t"}, optional
        Wald z; Knapp–Hartung (t with k - p df and the variance scaled by
        ``Σw r²/(k - p)``); its ad hoc variant (scale at least 1); Wald SEs with t.
        Default from the convention (both: z).
    level : float, default 0.95
        Confidence level.
    nan_policy : {"raise", "omit"}, default "raise"
        What to do with a study whose moderator value is missing (None, NaN, pandas'
        NA or NaT): raise, naming the moderator and the study, or leave the study
        out with an :class:`~metapool.exceptions.ExcludedStudyWarning` and record it
        in the result's ``excluded`` (as metafor's default ``na.action = "na.omit"``).
        Text that reads like a missing-value marker (``""``, ``"NA"``, ``"nan"``,
        ``"None"``, ...) is refused under either policy, never guessed.
    convention : str or Convention, optional
        Source of the defaults of ``tau2`` and ``ci``; default: the session's
        (:func:`metapool.set_config`, ``"metafor"`` unless set).

    Raises
    ------
    InvalidParameterError
        If ``ci``, ``level`` or ``nan_policy`` is not an allowed value.

    Notes
    -----
    Under ``ci="hksj"`` the covariance matrix is multiplied by ``Σ w r²/(k - p)``.
    When the effects lie exactly on the fitted model that sum is 0 (at most machine
    epsilon, as metafor): the standard errors are 0, the intervals are single
    points, the t statistics infinite and the test of moderators not estimable
    (NaN; metafor: NA). The result is returned with a
    :class:`~metapool.exceptions.DegenerateDataWarning` and a note; ``ci="hksj-adhoc"``
    (scale at least 1) is the usual remedy.

    References
    ----------
    .. [1] Berkey CS, Hoaglin DC, Mosteller F, Colditz GA (1995). A random-effects
       regression model for meta-analysis. Stat Med 14(4):395-411.
    .. [2] Knapp G, Hartung J (2003). Improved tests for a random effects
       meta-regression with a single covariate. Stat Med 22(17):2693-2710.
    .. [3] Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
       undertaken and interpreted? Stat Med 21(11):1559-1573.
    .. [4] Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In
       The Handbook of Research Synthesis and Meta-Analysis, 2nd ed.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
    >>> reg = mp.MetaRegression(tau2="REML").fit(eff, {"dose": [1, 2, 3, 4, 5]})
    >>> reg.names, reg.coef.round(3).tolist()
    (('intercept', 'dose'), [-0.11, 0.21])
    """

    tau2: Tau2Estimator
    ci: str
    level: float
    nan_policy: str

    def __init__(
        self,
        tau2: str | Tau2Estimator | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        nan_policy: str = "raise",
        convention: str | Convention | None = None,
    ) -> None:
        owner = "MetaRegression"
        conv = get_convention(convention, owner)
        self.__attrs_init__(
            tau2=get_tau2(tau2 if tau2 is not None else conv.tau2, owner=owner),
            ci=check_choice(owner, "ci", ci or conv.ci, CI_METHODS),
            level=check_level(owner, level),
            nan_policy=check_choice(owner, "nan_policy", nan_policy, ("raise", "omit")),
        )

    @property
    def fixed_effects(self) -> bool:
        """Whether τ² is fixed at 0 (a fixed-effects meta-regression)."""
        return isinstance(self.tau2, Fixed) and self.tau2.value == 0.0

    def fit(
        self, effects: EffectSet, moderators: Any, *, intercept: bool = True
    ) -> MetaRegressionResult:
        """Fit the meta-regression of ``effects`` on ``moderators``.

        Parameters
        ----------
        effects : EffectSet
            The studies.
        moderators : array_like, mapping or DataFrame
            One value per study for each moderator, in the order of the studies.
            A mapping from name to column or a DataFrame (pandas, polars) names the
            moderators by its keys or column names; a pandas Series by its name; an
            array of shape ``(k,)`` or ``(k, p)`` names its columns ``x1``, ``x2``...
            Each column is typed on its own: numeric if every value is a real number
            (``bool`` excluded), categorical if every value is text or every value a
            boolean, or if it is a pandas Categorical (whose category order sets the
            reference level). A column may also have one value per study as given to
            the effect set (rows of studies the effect set excluded are skipped).
            ``{}`` fits the intercept-only model.
        intercept : bool, default True
            Add an intercept column.

        Returns
        -------
        MetaRegressionResult

        Raises
        ------
        MetapoolTypeError
            If ``effects`` is not an effect set, ``moderators`` is None, a string, a
            set or a scalar, or a moderator holds values that are neither numbers, text
            nor booleans (e.g. dates).
        InvalidParameterError
            If ``intercept`` is not a bool.
        InvalidDataError
            If a moderator has the wrong length, mixes numbers and text (or booleans),
            has an infinite value, has a missing value (with ``nan_policy="raise"``),
            is categorical with a single level among the studies analysed, or if the
            design is singular or has as many coefficients as studies. Study-level
            messages name the moderator, the study (``study 2 ('Beta 2003')``, its
            1-based row as given and label) and the value.

        Warns
        -----
        ExcludedStudyWarning
            If ``nan_policy="omit"`` leaves studies out.
        DegenerateDataWarning
            If ``ci="hksj"`` and the weighted residual sum of squares is 0.
        """
        owner = "MetaRegression"
        effects = check_effects(owner, effects)
        if not isinstance(intercept, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'intercept' parameter of {owner}.fit must be True or False. Got "
                f"{intercept!r} instead."
            )
        intercept = bool(intercept)
        n_given = effects.k + len(effects.excluded)
        design, keep, omitted = moderator_design(
            owner,
            moderators,
            effects.index,
            effects.labels,
            n_given,
            intercept=intercept,
            nan_policy=self.nan_policy,
        )
        yi, vi = effects.yi[keep], effects.vi[keep]
        labels = tuple(lab for lab, kept in zip(effects.labels, keep, strict=True) if kept)
        k = int(keep.sum())
        X = design.X
        p = n_params(X)
        if k - p < 1:
            after = f" after leaving out {len(omitted)} with missing moderators" if omitted else ""
            raise InvalidDataError(
                f"MetaRegression: {p} coefficients need more than {p} studies; got k = {k}{after}."
            )
        fit_tau2 = estimate_tau2(self.tau2, yi, vi, X, owner=owner)
        tau2 = float(fit_tau2.tau2)
        converged = bool(np.all(fit_tau2.converged))
        fixed = isinstance(self.tau2, Fixed)  # τ² given in advance: no interval to estimate
        fit = fit_iv(
            yi,
            vi,
            tau2,
            X=X,
            ci=self.ci,
            level=self.level,
            i2="q" if self.fixed_effects else "tau2",
            profile=not fixed,
        )
        coef, vcov, se, df = fit.coef, fit.vcov, fit.se, fit.df

        # Omnibus test of the moderators (all but the intercept).
        btt = np.arange(1, p) if intercept else np.arange(p)
        m = btt.size
        notes: list[str] = []
        qm_df2: int | None = None if df is None else k - p
        degenerate = bool(fit.hksj_zero)
        if degenerate:
            # ci="hksj" with a weighted residual sum of squares of 0: metafor sets the
            # scale to 0 too (se 0, t = ±Inf, p 0) and reports QM as NA.
            note = (
                "ci='hksj': the weighted residual sum of squares is 0 (the effects lie "
                "exactly on the fitted model), so the Knapp-Hartung variance is 0: standard "
                "errors are 0 and the confidence intervals single points"
                + (", and the test of moderators is not estimable" if m else "")
                + " (as metafor). ci='hksj-adhoc' keeps the Wald variance as a floor."
            )
            notes.append(note)
            warn(f"{owner}: {note}", DegenerateDataWarning)
        if not m:
            qm, qm_p, qm_df2 = math.nan, math.nan, None
        elif degenerate:
            qm, qm_p = math.nan, math.nan
        else:
            b = coef[btt]
            qm = float(b @ np.linalg.solve(vcov[np.ix_(btt, btt)], b))
            if df is None:
                qm_p = float(special.chdtrc(m, qm))
            else:
                qm = qm / m
                qm_p = float(special.fdtrc(m, k - p, qm))

        # Residual heterogeneity (QE, with fixed-effect weights) and the pseudo-R².
        qe, i2, h2 = float(fit.q), float(fit.i2), float(fit.h2)
        if self.fixed_effects:
            # As metafor's fixed-effects model: I², H² from QE; R² the adjusted R² of
            # the weighted least-squares regression.
            r2 = _weighted_adjusted_r2(yi, 1.0 / vi, qe, p) if intercept else math.nan
        elif intercept:
            # Pseudo-R² against the intercept-only model with the same estimator
            # (0 when that model has no heterogeneity to explain, as metafor).
            fit_0 = estimate_tau2(self.tau2, yi, vi, owner=owner, where=" for the pseudo-R^2")
            tau2_0 = float(fit_0.tau2)
            r2 = max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0) if tau2_0 > 0 else 0.0
        else:  # no nested intercept-only model to compare with (metafor: none)
            r2 = math.nan

        if fixed:
            tau2_ci = NOT_ESTIMABLE
        else:
            if not bool(fit.profile_converged):
                converged = False
                notes.append("the Q-profile interval of tau^2 did not converge")
                warn(
                    f"{owner}: the Q-profile confidence interval of tau^2 did not converge; "
                    "the result is flagged converged=False.",
                    ConvergenceWarning,
                )
            tau2_ci = Interval(float(fit.tau2_ci_low), float(fit.tau2_ci_high))

        return MetaRegressionResult(
            model=self,
            coef=coef,
            se=se,
            statistic=fit.statistic,
            pvalue=fit.pvalue,
            ci=IntervalArray(fit.ci_low, fit.ci_high),
            names=design.names,
            df=df,
            tau2=tau2,
            tau=math.sqrt(tau2),
            tau2_ci=tau2_ci,
            qm=qm,
            qm_df=m,
            qm_df2=qm_df2,
            qm_pvalue=qm_p,
            qe=qe,
            qe_df=k - p,
            qe_pvalue=float(special.chdtrc(k - p, qe)),
            r2=r2,
            i2=i2,
            h2=h2,
            vcov=vcov,
            k=k,
            p=p,
            converged=converged,
            iterations=int(np.max(fit_tau2.iterations)),
            level=self.level,
            design=design,
            yi=yi,
            vi=vi,
            labels=labels,
            measure=effects.measure,
            excluded=tuple(sorted((*effects.excluded, *omitted), key=lambda e: e.index)),
            notes=tuple(notes),
        )
