"""Models that pool 2×2 tables directly: Mantel–Haenszel and Peto."""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._kernels import heterogeneity_from_q
from metapool._validation import check_level, study_name
from metapool._warnings import warn
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet, TwoByTwo
from metapool.effects.binary import double_zero_mask
from metapool.exceptions import DegenerateDataWarning, InvalidDataError, MetapoolTypeError
from metapool.models._inference import two_sided_p, z_crit
from metapool.results import NOT_ESTIMABLE, Interval, MetaResult
from metapool.tau2 import DerSimonianLaird

__all__ = ["MantelHaenszel", "Peto", "mh_random_tau2"]


def _tables(effects: EffectSet) -> TwoByTwo:
    counts = effects.counts
    assert counts is not None  # guaranteed by accepts()
    return counts


Array = NDArray[np.float64]


def _mh_estimate(
    measure: str, a: Array, n1: Array, c: Array, n2: Array, null: Array | None = None
) -> tuple[float, float, Array]:
    """MH estimate (log scale for RR/OR), its SE, and each study's MH weight.

    ``null`` marks RR/OR studies given the null effect (RevMan Web's all-events
    rule): their ``R`` term is set to their ``S`` term (RR = OR = 1, with the MH
    weight of their corrected table) in the estimate; the variance keeps the tables.
    """
    b, d = n1 - a, n2 - c
    n = n1 + n2
    if measure == "OR":
        r, s = a * d / n, b * c / n
        if null is not None:
            r = np.where(null, s, r)
        sr, ss = r.sum(), s.sum()
        p, q = (a + d) / n, (b + c) / n
        var = (
            (p * r).sum() / (2 * sr**2)
            + (p * s + q * r).sum() / (2 * sr * ss)
            + (q * s).sum() / (2 * ss**2)
        )
        return math.log(sr / ss), math.sqrt(var), s
    if measure == "RR":
        r, s = a * n2 / n, c * n1 / n
        if null is not None:
            r = np.where(null, s, r)
        sr, ss = r.sum(), s.sum()
        var = ((n1 * n2 * (a + c) - a * c * n) / n**2).sum() / (sr * ss)
        return math.log(sr / ss), math.sqrt(var), s
    w = n1 * n2 / n
    sw = w.sum()
    rd = float(((a * n2 - c * n1) / n).sum() / sw)
    num = rd * (c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum()
    num += (a * (n2 - c) / n + c * (n1 - a) / n).sum() / 2
    return rd, math.sqrt(num / sw**2), w


def _two_by_two_result(
    model: MantelHaenszel | Peto,
    effects: EffectSet,
    *,
    method: str,
    estimate: float,
    se: float,
    q: float,
    q_df: int,
    weights: Array,
    notes: tuple[str, ...],
    tau2: float = 0.0,
) -> MetaResult:
    crit = z_crit(model.level)
    random = model.random_effects
    if se > 0:
        stat = estimate / se
    else:
        # e.g. an RD with no events in any study, or an RR/RD where every participant
        # had the event: metafor's rma.mh gives the estimate with SE 0 and no test.
        stat = math.nan
        message = (
            f"the {effects.measure} has standard error 0 (no variation in any 2x2 table: "
            "e.g. no events, or only events, in every study): the estimate is reported "
            "with a zero-width CI and no test statistic (NaN), as metafor's rma.mh"
        )
        warn(f"{type(model).__name__}: {message}.", DegenerateDataWarning)
        notes = (*notes, message)
    ci = Interval(estimate - crit * se, estimate + crit * se)
    if q_df >= 1:
        i2, h2 = (float(x) for x in heterogeneity_from_q(q, q_df))
        q_p = float(special.chdtrc(q_df, q))
    else:
        i2 = h2 = q_p = math.nan
    return MetaResult(
        model=model,
        method=method,
        measure=effects.measure,
        estimate=estimate,
        se=se,
        statistic=stat,
        pvalue=float(two_sided_p(np.asarray(stat), None)) if se > 0 else math.nan,
        df=None,
        ci=ci,
        pi=(
            Interval(
                estimate - crit * math.sqrt(se**2 + tau2), estimate + crit * math.sqrt(se**2 + tau2)
            )
            if random
            else ci
        ),
        tau2=tau2,
        tau=math.sqrt(tau2),
        tau2_ci=NOT_ESTIMABLE,
        tau_ci=NOT_ESTIMABLE,
        i2=i2,
        i2_ci=NOT_ESTIMABLE,
        h2=h2,
        h2_ci=NOT_ESTIMABLE,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        weights=100.0 * weights / weights.sum(),
        k=effects.k,
        converged=True,
        iterations=0,
        level=model.level,
        tau2_method="DL" if random else None,
        ci_method="z",
        pi_method="metafor" if random else "none (common effect: PI = CI)",
        i2_method="q",
        yi=effects.yi,
        vi=effects.vi,
        labels=effects.labels,
        effects=effects,
        excluded=effects.excluded,
        notes=notes,
    )


@attrs.frozen(init=False)
class MantelHaenszel:
    """Mantel–Haenszel model for RR, OR and RD: common effect, or RevMan's "M-H, Random".

    Pools the 2×2 tables. Variances: Robins, Breslow & Greenland (1986) for
    log OR, Greenland & Robins (1985) for log RR, and Sato, Greenland & Robins
    (1989) for RD, as in metafor's ``rma.mh`` and RevMan. Heterogeneity:
    Cochran's Q of the study effects (``yi``, ``vi`` of the effect-size set, i.e.
    with its continuity correction) around the MH estimate; I² and H² from Q.

    Which tables enter the sums is set by the convention (``mh_tables``):

    * ``"metafor"``: the tables as given (no continuity correction, as
      ``rma.mh``); double-zero studies are left out of Q.
    * ``"revman5"``, ``"revman-web"``: for RR and OR the 0.5-corrected tables of
      the zero-cell studies (those the effect set corrected: ``a + ½``,
      ``n1 + 1``, ``c + ½``, ``n2 + 1``, so ``N + 2``) enter the weights, the
      pooled estimate and its variance, as RevMan 5 computes them; for RD the
      raw counts (weights ``n1 n2 / N``, also for studies without events).
      Every study of the effect set is in Q, for the RD including studies
      without events (RD = 0, with the SE from the corrected cells).

    With ``random=True`` (RevMan's "M-H, Random"), τ² is DerSimonian and
    Laird's moment estimate from that Q,
    ``τ² = max(0, (Q - (k - 1)) / (Σw - Σw²/Σw))`` with ``w = 1/vi``, and the
    studies are pooled by inverse variance with weights ``1/(vi + τ²)``:
    ``θ = Σ w* yi / Σ w*``, ``SE = 1/sqrt(Σ w*)``, Wald z CI, prediction interval
    ``θ ± z sqrt(SE² + τ²)``. Studies left out of Q get weight 0.

    Parameters
    ----------
    random : bool, default False
        RevMan's "M-H, Random" (see above) instead of the common-effect MH model.
    level : float, default 0.95
        Confidence level.
    convention : str or Convention, optional
        ``"metafor"``, ``"revman5"`` or ``"revman-web"`` (see above); default: the
        session's (:func:`metapool.set_config`).

    Raises
    ------
    InvalidDataError
        From ``fit``, when the pooled RR or OR is not estimable (one arm without
        events, or only events, in every table that enters the sums).

    References
    ----------
    .. [1] Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data
       from retrospective studies of disease. J Natl Cancer Inst 22(4):719-748.
    .. [2] Greenland S, Robins JM (1985). Estimation of a common effect parameter
       from sparse follow-up data. Biometrics 41(1):55-68.
    .. [3] Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel
       variance consistent in both sparse data and large-strata limiting models.
       Biometrics 42(2):311-323.
    .. [4] Sato T, Greenland S, Robins JM (1989). On the variance estimator for the
       Mantel-Haenszel risk difference. Biometrics 45(4):1323-1324.
    .. [5] Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.
       Cochrane Statistical Methods Group.

    Examples
    --------
    >>> import metapool as mp
    >>> rr = mp.RiskRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
    >>> str(mp.MantelHaenszel().fit(rr).back_transform())
    'RR 2.14 [1.19, 3.85]'
    >>> mp.MantelHaenszel(random=True, convention="revman5").fit(rr).tau2
    0.0
    """

    level: float
    random_effects: bool
    #: The τ² estimator: DerSimonian–Laird (from the Q around the MH estimate)
    #: when ``random_effects``, None otherwise.
    tau2: DerSimonianLaird | None
    #: The tables of zero-cell studies in the MH sums of RR and OR: ``"raw"`` or
    #: ``"corrected"`` (from the convention).
    tables: str
    #: How the model weights studies (see :class:`~metapool.models.Model`).
    weighting: ClassVar[str] = "mantel-haenszel"
    #: The CI of the pooled effect: Wald z.
    ci: ClassVar[str] = "z"

    def __init__(
        self,
        *,
        random: bool = False,
        level: float = 0.95,
        convention: str | Convention | None = None,
    ) -> None:
        if not isinstance(random, bool):
            raise MetapoolTypeError(
                "The 'random' parameter of MantelHaenszel must be a bool. "
                f"Got {type(random).__name__} instead."
            )
        conv = get_convention(convention, "MantelHaenszel")
        self.__attrs_init__(
            level=check_level("MantelHaenszel", level),
            random_effects=random,
            tau2=DerSimonianLaird() if random else None,
            tables=conv.mh_tables,
        )

    def accepts(self, effects: EffectSet) -> bool:
        """Risk ratios, odds ratios and risk differences with their 2×2 tables."""
        return effects.counts is not None and effects.measure.code in ("RR", "OR", "RD")

    def fit(self, effects: EffectSet) -> MetaResult:
        """Pool a :class:`RiskRatio`, :class:`OddsRatio` or :class:`RiskDifference` set."""
        if not (isinstance(effects, EffectSet) and self.accepts(effects)):
            raise MetapoolTypeError(
                "MantelHaenszel.fit expects RiskRatio, OddsRatio or RiskDifference effects. "
                f"Got {type(effects).__name__}."
            )
        a, n1, c, n2 = _tables(effects)
        measure = effects.measure.code
        revman = self.tables == "corrected"
        if revman and measure in ("RR", "OR"):
            positions = np.asarray(getattr(effects, "corrected", ()), dtype=np.int64)
            corrected = np.isin(effects.index, positions)
            add = np.where(corrected, float(getattr(effects, "continuity", 0.5)), 0.0)
            a, c, n1, n2 = a + add, c + add, n1 + 2 * add, n2 + 2 * add
        if measure in ("RR", "OR") and (
            a.sum() == 0
            or c.sum() == 0
            or (measure == "OR" and ((n1 - a).sum() == 0 or (n2 - c).sum() == 0))
        ):
            raise InvalidDataError(
                f"MantelHaenszel: the pooled {measure} is not estimable because one arm has "
                "no events (or only events) in every study."
            )
        null = None
        if revman and measure in ("RR", "OR") and getattr(effects, "all_events", "") == "null":
            ra, rn1, rc, rn2 = _tables(effects)
            null = (ra == rn1) & (rc == rn2)  # RevMan Web: RR = OR = 1 in the MH sums too
        estimate, se, mh_w = _mh_estimate(measure, a, n1, c, n2, null)
        notes: tuple[str, ...] = ()
        if revman:
            out = np.zeros(effects.k, dtype=bool)  # RevMan: every study shown is in Q
            if measure in ("RR", "OR") and np.any(add > 0):
                notes = ("the 0.5-corrected tables of zero-cell studies enter the MH sums",)
        else:
            ra, rn1, rc, rn2 = _tables(effects)
            out = double_zero_mask(ra, rn1, rc, rn2)
            if out.any():
                listed = ", ".join(
                    study_name(int(effects.index[i]), effects.labels[i])
                    for i in np.flatnonzero(out)
                )
                notes = (f"double-zero studies ({listed}) are left out of Q (as metafor)",)
        y, v = effects.yi[~out], effects.vi[~out]
        # With fewer than two studies in Q there is no heterogeneity to measure (as metafor).
        q = float(max(0.0, (((y - estimate) ** 2) / v).sum())) if y.size > 1 else 0.0
        q_df = max(0, int(y.size) - 1)
        if not self.random_effects:
            return _two_by_two_result(
                self,
                effects,
                method="Mantel-Haenszel common-effect model",
                estimate=estimate,
                se=se,
                q=q,
                q_df=q_df,
                weights=mh_w,
                notes=notes,
            )
        tau2 = mh_random_tau2(q, v)
        w = np.zeros(effects.k)
        w[~out] = 1.0 / (v + tau2)
        return _two_by_two_result(
            self,
            effects,
            method="Mantel-Haenszel random-effects model (DerSimonian-Laird tau^2 from the MH Q)",
            estimate=float((w * np.where(out, 0.0, effects.yi)).sum() / w.sum()),
            se=float(1.0 / math.sqrt(w.sum())),
            q=q,
            q_df=q_df,
            weights=w,
            notes=notes,
            tau2=tau2,
        )


def mh_random_tau2(q: float, vi: Array) -> float:
    """DerSimonian–Laird τ² from Cochran's Q around the MH estimate (RevMan's "M-H, Random").

    ``τ² = max(0, (Q - (k - 1)) / (Σw - Σw²/Σw))`` with ``w = 1/vi``; 0 for ``k < 2``.

    Examples
    --------
    >>> import numpy as np
    >>> round(mh_random_tau2(5.0, np.array([0.1, 0.2, 0.4])), 6)
    0.3
    """
    w = 1.0 / np.asarray(vi, dtype=np.float64)
    if w.size < 2:
        return 0.0
    denom = float(w.sum() - (w**2).sum() / w.sum())
    return max(0.0, (q - (w.size - 1)) / denom) if denom > 0 else 0.0


@attrs.frozen(init=False)
class Peto:
    """Peto's one-step odds ratio (common effect).

    With ``E = n1 (a + c)/N`` and ``V = n1 n2 (a + c)(b + d) / (N² (N - 1))``,
    ``log OR = Σ(a - E) / Σ V`` with ``SE = 1/sqrt(Σ V)``; Q is
    ``Σ (a - E)²/V - (Σ(a - E))² / Σ V``. Studies with ``V = 0`` (no events or only
    events in both arms) carry no information and are left out of Q.

    Parameters
    ----------
    level : float, default 0.95
        Confidence level.
    convention : str or Convention, optional
        Accepted for a uniform interface (``"metafor"`` and ``"revman5"`` pool the
        same way); default: the session's (:func:`metapool.set_config`).

    References
    ----------
    .. [1] Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during
       and after myocardial infarction: an overview of the randomized trials.
       Prog Cardiovasc Dis 27(5):335-371.

    Examples
    --------
    >>> import metapool as mp
    >>> or_ = mp.OddsRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
    >>> str(mp.Peto().fit(or_).back_transform())
    'OR 2.39 [1.25, 4.56]'
    """

    level: float
    #: How the model weights studies (see :class:`~metapool.models.Model`).
    weighting: ClassVar[str] = "peto"
    #: The CI of the pooled effect: Wald z.
    ci: ClassVar[str] = "z"
    #: A common-effect model: no τ².
    random_effects: ClassVar[bool] = False
    tau2: ClassVar[None] = None

    def __init__(self, *, level: float = 0.95, convention: str | Convention | None = None) -> None:
        get_convention(convention, "Peto")  # checked; no setting differs yet
        self.__attrs_init__(level=check_level("Peto", level))

    def accepts(self, effects: EffectSet) -> bool:
        """Odds ratios with their 2×2 tables."""
        return effects.counts is not None and effects.measure.code == "OR"

    def fit(self, effects: EffectSet) -> MetaResult:
        """Pool an :class:`OddsRatio` set."""
        if not (isinstance(effects, EffectSet) and self.accepts(effects)):
            raise MetapoolTypeError(
                f"Peto.fit expects OddsRatio effects. Got {type(effects).__name__}."
            )
        a, n1, c, n2 = _tables(effects)
        n = n1 + n2
        m1 = a + c
        e = n1 * m1 / n
        v = n1 * n2 * m1 * (n - m1) / (n**2 * (n - 1))
        informative = v > 0
        if not informative.any():
            raise InvalidDataError(
                "Peto: no study has events in one arm but not both; not estimable."
            )
        o_e, v_i = (a - e)[informative], v[informative]
        estimate = float(o_e.sum() / v_i.sum())
        se = float(1.0 / math.sqrt(v_i.sum()))
        q = float(max(0.0, (o_e**2 / v_i).sum() - o_e.sum() ** 2 / v_i.sum()))
        notes: tuple[str, ...] = ()
        if not informative.all():
            listed = ", ".join(
                study_name(int(effects.index[i]), effects.labels[i])
                for i in np.flatnonzero(~informative)
            )
            notes = (f"studies without information (V = 0: {listed}) are left out of Q",)
        return _two_by_two_result(
            self,
            effects,
            method="Peto common-effect model",
            estimate=estimate,
            se=se,
            q=q,
            q_df=int(informative.sum()) - 1,
            weights=v,
            notes=notes,
        )
