"""Inverse-variance models: common effect and random effects."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, overload

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._conditioning import check_finite_effects
from metapool._estimation import estimate_tau2
from metapool._validation import check_choice, check_level
from metapool._warnings import warn
from metapool.batch import BatchResult
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet
from metapool.exceptions import (
    DegenerateDataWarning,
    InvalidDataError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from metapool.models._batched import HKSJ_DEGENERATE as _HKSJ_DEGENERATE
from metapool.models._batched import fit_batch as _batched_fit_batch
from metapool.models._batched import warn_q_profile as _warn_q_profile
from metapool.models._engine import IVFit, fit_iv
from metapool.models._inference import (
    CI_METHODS,
    PI_METHODS,
)
from metapool.results import NOT_ESTIMABLE, Interval, LazyBatchResult, MetaResult
from metapool.tau2 import Fixed, Tau2Estimator, Tau2Fit
from metapool.tau2 import get as get_tau2

__all__ = ["CommonEffect", "RandomEffects", "check_effects", "fit_each_left_out"]


def check_effects(owner: str, effects: object) -> EffectSet:
    """Check that ``effects`` is a non-empty effect-size set whose ``yi`` are finite
    and ``vi`` finite, > 0 and within the range double precision can weight
    (:func:`~metapool._conditioning.check_finite_effects`), naming the study."""
    if not isinstance(effects, EffectSet):
        raise MetapoolTypeError(
            f"{owner}.fit expects an effect-size set (MeanDifference, SMD, RiskRatio, "
            f"OddsRatio, RiskDifference or GenericEffect). Got {type(effects).__name__}."
        )
    if effects.k == 0:
        raise InvalidDataError(f"{owner}.fit: the effect set has no studies (k = 0).")
    yi = np.asarray(effects.yi, dtype=np.float64)
    vi = np.asarray(effects.vi, dtype=np.float64)
    if yi.shape != (effects.k,) or vi.shape != (effects.k,):
        raise InvalidDataError(
            f"{owner}.fit: the effect set's 'yi' and 'vi' must be 1-d of length k; got "
            f"shapes {yi.shape} and {vi.shape}."
        )
    check_finite_effects(owner, yi, vi, effects.labels, effects.index)
    return effects


def _f(x: Any) -> float:
    return float(np.asarray(x))


@attrs.frozen(init=False)
class CommonEffect:
    """Inverse-variance common-effect (fixed-effect) model.

    The pooled effect is ``μ̂ = Σ w y / Σ w`` with ``w = 1/v`` and
    ``Var(μ̂) = 1/Σ w``. Heterogeneity is described by Cochran's Q with I² and
    H² computed from Q (as metafor does for this model); τ² is 0 by assumption.

    Parameters
    ----------
    ci : {"z", "t"}, optional
        Wald z, or the same SE with a t(k-1) distribution. Default from the
        convention (both: z).
    level : float, default 0.95
        Confidence level.
    convention : str or Convention, optional
        Source of the defaults (``"metafor"`` or ``"revman5"``); default: the
        session's (:func:`metapool.set_config`, ``"metafor"`` unless set).

    References
    ----------
    .. [1] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2010). A basic
       introduction to fixed-effect and random-effects models for meta-analysis.
       Res Synth Methods 1(2):97-111.

    Examples
    --------
    >>> import metapool as mp
    >>> res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.2, 0.4], vi=[0.01, 0.01]))
    >>> round(res.estimate, 4), round(res.se, 4)
    (0.3, 0.0707)
    """

    ci: str
    level: float

    #: How the model weights studies (see :class:`~metapool.models.Model`).
    weighting: ClassVar[str] = "inverse-variance"

    def accepts(self, effects: EffectSet) -> bool:
        """Any effect set: the model needs only ``yi`` and ``vi``."""
        return isinstance(effects, EffectSet)

    @property
    def random_effects(self) -> bool:
        """False: τ² is 0 by assumption."""
        return False

    @property
    def tau2(self) -> None:
        """No τ² estimator (τ² = 0)."""
        return None

    def __init__(
        self,
        *,
        ci: str | None = None,
        level: float = 0.95,
        convention: str | Convention | None = None,
    ) -> None:
        owner = "CommonEffect"
        conv = get_convention(convention, owner)
        self.__attrs_init__(
            ci=check_choice(owner, "ci", ci or conv.ci, ("z", "t")),
            level=check_level(owner, level),
        )

    def fit(self, effects: EffectSet) -> MetaResult:
        """Pool ``effects``; returns a :class:`~metapool.results.MetaResult`."""
        effects = check_effects("CommonEffect", effects)
        return _fit(self, effects, tau2_fit=None, ci=self.ci, prediction="metafor", i2="q")

    @overload
    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: Literal[True] = True,
    ) -> BatchResult: ...

    @overload
    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: Literal[False],
    ) -> LazyBatchResult: ...

    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: bool = True,
    ) -> BatchResult | LazyBatchResult:
        """Pool many meta-analyses at once: ``yi``, ``vi`` of shape ``(..., k)``.

        Returns a :class:`~metapool.batch.BatchResult` whose arrays have shape
        ``(...)``; each row equals :meth:`fit` on that row. ``intervals``,
        ``chunk_size``, ``progress`` and ``compute`` mean what they mean for
        :meth:`RandomEffects.fit_batch` (a common-effect model has no τ² interval
        to skip); Dask arrays are accepted as there.

        Examples
        --------
        >>> import numpy as np, metapool as mp
        >>> yi = np.array([[0.1, 0.3], [0.2, 0.2]])
        >>> res = mp.CommonEffect().fit_batch(yi, np.full((2, 2), 0.04))
        >>> res.estimate.round(3).tolist()
        [0.2, 0.2]
        """
        return _batched_fit_batch(
            self,
            yi,
            vi,
            intervals=intervals,
            chunk_size=chunk_size,
            progress=progress,
            compute=compute,
        )

    def fit_each_left_out(self, effects: EffectSet) -> list[tuple[MetaResult, bool]]:
        """The fits with each study left out in turn, as one batched call (k >= 3).

        Equal to ``fit`` on each subset; used by :func:`metapool.leave_one_out`
        and :func:`metapool.influence`. Returns ``(result, degenerate)`` pairs
        (``degenerate``: the refit met HKSJ with Q = 0; its notes say so).
        """
        return fit_each_left_out(self, check_effects(type(self).__name__, effects))


@attrs.frozen(init=False)
class RandomEffects:
    """Inverse-variance random-effects model with a pluggable τ² estimator.

    The pooled effect is ``μ̂ = Σ w y / Σ w`` with ``w = 1/(v + τ̂²)``.

    Parameters
    ----------
    tau2 : str or Tau2Estimator, optional
        Estimator of τ² by name (``"REML"``, ``"DL"``, ``"ML"``, ``"PM"``, ``"EB"``,
        ``"HE"``, ``"SJ"``, ``"HS"``; case-insensitive) or an estimator object.
        Default from the convention (metafor: REML; revman5: DL).
    ci : {"z", "hksj", "hksj-adhoc", "t"}, optional
        Confidence-interval method: Wald z; Hartung–Knapp–Sidik–Jonkman with
        t(k-1); its ad hoc variant that never makes the interval narrower than
        Wald's; the Wald SE with t(k-1). Default from the convention ("z").
    level : float, default 0.95
        Confidence level of every interval.
    prediction : {"metafor", "higgins"}, optional
        Prediction interval ``μ̂ ± crit · sqrt(se² + τ²)`` with ``crit`` = z, or
        t(k-1) under HKSJ/t (metafor); or t(k-2) (Higgins et al. 2009).
    i2 : {"tau2", "q"}, optional
        I² and H² from τ² and the typical within-study variance (metafor,
        RevMan Web) or from Q (RevMan 5). Default from the convention.
    convention : str or Convention, optional
        Source of the defaults (``"revman5"``: DL, z, I² from Q); default: the
        session's (:func:`metapool.set_config`, ``"metafor"`` unless set).

    Notes
    -----
    The Q-profile confidence interval of τ² (Viechtbauer 2007) is computed for
    every fit; I² and H² intervals are derived from its bounds. With one study,
    τ² is set to 0, heterogeneity is not estimable and t-based intervals fall
    back to z, as in metafor; the result's ``notes`` say so.

    References
    ----------
    .. [1] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
       Control Clin Trials 7(3):177-188.
    .. [2] Hartung J, Knapp G (2001). A refined method for the meta-analysis of
       controlled clinical trials with binary outcome. Stat Med 20(24):3875-3889.
    .. [3] Sidik K, Jonkman JN (2002). A simple confidence interval for
       meta-analysis. Stat Med 21(21):3153-3159.
    .. [4] Röver C, Knapp G, Friede T (2015). Hartung-Knapp-Sidik-Jonkman approach
       and its modification for random-effects meta-analysis with few studies.
       BMC Med Res Methodol 15:99.
    .. [5] Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of
       random-effects meta-analysis. J R Stat Soc A 172(1):137-159.
    .. [6] Viechtbauer W (2007). Confidence intervals for the amount of
       heterogeneity in meta-analysis. Stat Med 26(1):37-52.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.5, 0.9, 0.3], vi=[0.01, 0.02, 0.04, 0.02])
    >>> res = mp.RandomEffects(tau2="DL").fit(eff)
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (0.4201, 0.0764)
    >>> mp.RandomEffects(tau2="PM", ci="hksj")
    RandomEffects(tau2=PauleMandel(), ci='hksj', level=0.95, prediction='metafor', i2='tau2')
    """

    tau2: Tau2Estimator
    ci: str
    level: float
    prediction: str
    i2: str

    #: How the model weights studies (see :class:`~metapool.models.Model`).
    weighting: ClassVar[str] = "inverse-variance"

    def accepts(self, effects: EffectSet) -> bool:
        """Any effect set: the model needs only ``yi`` and ``vi``."""
        return isinstance(effects, EffectSet)

    @property
    def random_effects(self) -> bool:
        """True: τ² is estimated by :attr:`tau2`."""
        return True

    def __init__(
        self,
        tau2: str | Tau2Estimator | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        prediction: str | None = None,
        i2: str | None = None,
        convention: str | Convention | None = None,
    ) -> None:
        owner = "RandomEffects"
        conv = get_convention(convention, owner)
        self.__attrs_init__(
            tau2=get_tau2(tau2 if tau2 is not None else conv.tau2, owner=owner),
            ci=check_choice(owner, "ci", ci or conv.ci, CI_METHODS),
            level=check_level(owner, level),
            prediction=check_choice(owner, "prediction", prediction or conv.prediction, PI_METHODS),
            i2=check_choice(owner, "i2", i2 or conv.i2, ("tau2", "q")),
        )

    @overload
    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: Literal[True] = True,
    ) -> BatchResult: ...

    @overload
    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: Literal[False],
    ) -> LazyBatchResult: ...

    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        *,
        intervals: bool = True,
        chunk_size: int | None = None,
        progress: bool = False,
        compute: bool = True,
    ) -> BatchResult | LazyBatchResult:
        """Fit many meta-analyses at once: ``yi``, ``vi`` of shape ``(..., k)``, k >= 2.

        Everything is computed along the last axis without a Python loop (τ², the
        pooled estimate and its interval, heterogeneity, the Q-profile interval);
        returns a :class:`~metapool.batch.BatchResult` whose arrays have shape
        ``(...)``, each row equal to :meth:`fit` on that row. A
        :class:`~metapool.exceptions.ConvergenceWarning` names the rows whose
        τ² estimator did not converge (``converged`` records them).

        Parameters
        ----------
        yi, vi : array_like
            Effects and sampling variances, shape ``(..., k)``.
        intervals : bool, default True
            Compute the Q-profile interval of τ² and the I² and H² intervals. False
            skips them (the costliest part of the fit when τ² is a moment
            estimate); they are then NaN and ``BatchResult.intervals`` is False.
        chunk_size : int, optional
            Rows fitted at a time (the results are concatenated, identical to one
            call). Default: as many as fit a working-memory budget of 256 MB,
            estimated from k.
        progress : bool, default False
            Show a progress bar (tqdm: ``pip install "metapool[progress]"``).
        compute : bool, default True
            Dask input only: False returns a :class:`~metapool.LazyBatchResult`
            whose fields are Dask arrays still on the scheduler, for reducing
            results that need not (or cannot) be gathered into one process.

        Notes
        -----
        ``yi`` and ``vi`` may be Dask arrays (``pip install "metapool[dask]"``;
        Dask is imported only then), chunked along the analyses: each block is
        fitted as a task on the current Dask scheduler (a ``dask.distributed``
        client when one is active) and the per-analysis results are gathered
        into the same :class:`~metapool.batch.BatchResult` as for numpy input
        (or, with ``compute=False``, left distributed).

        Examples
        --------
        >>> import numpy as np, metapool as mp
        >>> rng = np.random.default_rng(1)
        >>> vi = rng.uniform(0.01, 0.1, size=(1000, 10))
        >>> yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        >>> res = mp.RandomEffects(tau2="REML").fit_batch(yi, vi)
        >>> res.shape, bool(res.converged.all())
        ((1000,), True)
        """
        return _batched_fit_batch(
            self,
            yi,
            vi,
            intervals=intervals,
            chunk_size=chunk_size,
            progress=progress,
            compute=compute,
        )

    def fit(self, effects: EffectSet) -> MetaResult:
        """Pool ``effects``; returns a :class:`~metapool.results.MetaResult`."""
        effects = check_effects("RandomEffects", effects)
        tau2_fit: Tau2Fit | None = None
        if effects.k >= 2 or isinstance(self.tau2, Fixed):  # a fixed τ² applies to any k
            tau2_fit = estimate_tau2(self.tau2, effects.yi, effects.vi, owner="RandomEffects")
        return _fit(
            self, effects, tau2_fit=tau2_fit, ci=self.ci, prediction=self.prediction, i2=self.i2
        )

    def fit_each_left_out(self, effects: EffectSet) -> list[tuple[MetaResult, bool]]:
        """The fits with each study left out in turn, as one batched call (k >= 3).

        Equal to ``fit`` on each subset; used by :func:`metapool.leave_one_out`
        and :func:`metapool.influence`. Returns ``(result, degenerate)`` pairs
        (``degenerate``: the refit met HKSJ with Q = 0; its notes say so).
        """
        return fit_each_left_out(self, check_effects(type(self).__name__, effects))


def _warn_degenerate_hksj(owner: str, zero: NDArray[np.bool_], *, rows: bool) -> bool:
    """Warn when HKSJ's variance scale is 0 (Q = 0): a zero-width CI and p = 0.

    Returns whether it warned (so that a single fit can record the note)."""
    if not zero.any():
        return False
    where = ""
    if rows:
        listed = [tuple(int(i) for i in r) for r in np.argwhere(zero)[:5]]
        where = f" in {int(zero.sum())} row(s), e.g. {listed}"
    warn(f"{owner}: {_HKSJ_DEGENERATE}{where}.", DegenerateDataWarning)
    return True


def _fit(
    model: CommonEffect | RandomEffects,
    effects: EffectSet,
    *,
    tau2_fit: Tau2Fit | None,
    ci: str,
    prediction: str,
    i2: str,
) -> MetaResult:
    owner = type(model).__name__
    yi, vi, k = effects.yi, effects.vi, effects.k
    level = model.level
    random = model.random_effects
    notes: list[str] = []
    tau2, converged, iterations = 0.0, True, 0
    if random and tau2_fit is not None:  # already checked() by RandomEffects.fit
        tau2 = _f(tau2_fit.tau2)
        converged = bool(np.all(tau2_fit.converged))
        iterations = int(np.max(tau2_fit.iterations))
    if k == 1:
        zeroed = random and tau2_fit is None  # a fixed τ² (tau2.Fixed) is kept
        notes.append(
            "k = 1: heterogeneity is not estimable" + ("; tau^2 set to 0" if zeroed else "")
        )
        if ci != "z":
            warn(
                f"{owner}: ci={ci!r} needs k >= 2; using 'z' since k = 1 (as metafor does).",
                SmallSampleWarning,
            )
            notes.append(f"ci={ci!r} needs k >= 2; Wald z used instead")
            ci = "z"
    elif k == 2 and random:
        notes.append("k = 2: tau^2 rests on two studies and is very imprecise")

    fit = fit_iv(
        yi,
        vi,
        tau2,
        ci=ci,
        level=level,
        prediction=prediction if random else "metafor",
        i2=i2 if random else "q",
        profile=random,
    )
    return _assemble(
        model,
        effects,
        fit,
        tau2_fit=tau2_fit,
        tau2=tau2,
        converged=converged,
        iterations=iterations,
        ci=ci,
        prediction=prediction,
        i2=i2,
        notes=notes,
        owner=owner,
    )


def _assemble(
    model: CommonEffect | RandomEffects,
    effects: EffectSet,
    fit: IVFit,
    *,
    tau2_fit: Tau2Fit | None,
    tau2: float,
    converged: bool,
    iterations: int,
    ci: str,
    prediction: str,
    i2: str,
    notes: list[str],
    owner: str,
) -> MetaResult:
    """The :class:`MetaResult` of one row of the engine (``fit`` of batch shape ())."""
    k, level, random = effects.k, model.level, model.random_effects
    if _warn_degenerate_hksj(owner, fit.hksj_zero, rows=False):
        notes.append(_HKSJ_DEGENERATE)
    if prediction == "higgins" and random and k < 3:
        notes.append("Higgins prediction interval needs k >= 3: not estimable")
    tau2_ci = tau_ci = i2_ci = h2_ci = NOT_ESTIMABLE
    if k >= 2:
        q_p, i2_v, h2_v = _f(fit.q_pvalue), _f(fit.i2), _f(fit.h2)
        if random:
            if not _warn_q_profile(owner, fit.profile_converged):
                notes.append("the Q-profile interval of tau^2 did not converge")
            converged = converged and bool(fit.profile_converged)
            tau2_ci = Interval(_f(fit.tau2_ci_low), _f(fit.tau2_ci_high))
            tau_ci = Interval(math.sqrt(tau2_ci.low), math.sqrt(tau2_ci.high))
            i2_ci = Interval(_f(fit.i2_ci_low), _f(fit.i2_ci_high))
            h2_ci = Interval(_f(fit.h2_ci_low), _f(fit.h2_ci_high))
    else:
        q_p = i2_v = h2_v = math.nan

    tau2_method: str | None = None
    if model.random_effects and model.tau2 is not None:
        method = "Random-effects model"
        tau2_method = tau2_fit.method if tau2_fit is not None else model.tau2.name
    else:
        method = "Common-effect model"
    df = fit.df
    ci_low, ci_high = _f(fit.ci_low[0]), _f(fit.ci_high[0])
    return MetaResult(
        model=model,
        method=method,
        measure=effects.measure,
        estimate=_f(fit.coef[0]),
        se=_f(fit.se[0]),
        statistic=_f(fit.statistic[0]),
        pvalue=_f(fit.pvalue[0]),
        df=df,
        ci=Interval(ci_low, ci_high),
        pi=Interval(_f(fit.pi_low), _f(fit.pi_high)) if random else Interval(ci_low, ci_high),
        tau2=tau2,
        tau=math.sqrt(tau2),
        tau2_ci=tau2_ci,
        tau_ci=tau_ci,
        i2=i2_v,
        i2_ci=i2_ci,
        h2=h2_v,
        h2_ci=h2_ci,
        q=_f(fit.q),
        q_df=fit.q_df,
        q_pvalue=q_p,
        weights=np.asarray(fit.weights, dtype=np.float64),
        k=k,
        converged=converged,
        iterations=iterations,
        level=level,
        tau2_method=tau2_method,
        ci_method=ci,
        pi_method=prediction if random else "none (common effect: PI = CI)",
        i2_method=i2 if random else "q",
        yi=effects.yi,
        vi=effects.vi,
        labels=effects.labels,
        effects=effects,
        excluded=effects.excluded,
        notes=tuple(notes),
    )


def _row(fit: IVFit, i: int) -> IVFit:
    """Row ``i`` of a batched engine result."""
    return IVFit._make(x[i] if isinstance(x, np.ndarray) else x for x in fit)


def fit_each_left_out(
    model: CommonEffect | RandomEffects, effects: EffectSet
) -> list[tuple[MetaResult, bool]]:
    """The fits of ``model`` with each study left out in turn, in one batched call.

    The ``k`` analyses of ``k - 1`` studies form a ``(k, k - 1)`` array: τ² of all
    of them in one call of the estimator, then one call of the engine; each row
    becomes the same :class:`MetaResult` that ``model.fit`` gives for that subset.
    Returns ``(result, degenerate)`` pairs, ``degenerate`` telling whether the
    refit met HKSJ with Q = 0 (the caller warns once; each result's notes say so).
    Needs ``k >= 3`` (every refit has at least two studies).
    """
    k, owner = effects.k, type(model).__name__
    keep = ~np.eye(k, dtype=bool)
    y = np.broadcast_to(effects.yi, (k, k))[keep].reshape(k, k - 1)
    v = np.broadcast_to(effects.vi, (k, k))[keep].reshape(k, k - 1)
    prediction = getattr(model, "prediction", "metafor")
    i2 = getattr(model, "i2", "q")
    random = model.random_effects
    tau2_fit = estimate_tau2(model.tau2, y, v, owner=owner) if model.tau2 is not None else None
    tau2 = np.zeros(k) if tau2_fit is None else np.asarray(tau2_fit.tau2, dtype=np.float64)
    fit = fit_iv(
        y,
        v,
        tau2,
        ci=model.ci,
        level=model.level,
        prediction=prediction if random else "metafor",
        i2=i2 if random else "q",
        profile=random,
    )
    out: list[tuple[MetaResult, bool]] = []
    for i in range(k):
        row_fit = None
        if tau2_fit is not None:
            row_fit = attrs.evolve(
                tau2_fit,
                tau2=np.asarray(tau2_fit.tau2)[i],
                converged=np.asarray(tau2_fit.converged)[i],
                iterations=np.asarray(tau2_fit.iterations)[i],
            )
        row = _row(fit, i)
        notes: list[str] = []
        if k - 1 == 2 and random:
            notes.append("k = 2: tau^2 rests on two studies and is very imprecise")
        degenerate = bool(row.hksj_zero)
        if degenerate:
            notes.append(_HKSJ_DEGENERATE)
        res = _assemble(
            model,
            effects.subset(np.flatnonzero(keep[i])),
            row._replace(hksj_zero=np.zeros((), dtype=bool)),  # noted here, warned by caller
            tau2_fit=row_fit,
            tau2=float(tau2[i]),
            converged=row_fit is None or bool(row_fit.converged),
            iterations=0 if row_fit is None else int(row_fit.iterations),
            ci=model.ci,
            prediction=prediction,
            i2=i2,
            notes=notes,
            owner=owner,
        )
        out.append((res, degenerate))
    return out
