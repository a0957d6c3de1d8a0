"""Effect sizes for incidence rates: events over person-time.

One group: the incidence rate :class:`IncidenceRate` on the raw, log, square-root
or Freeman–Tukey scale (metafor's ``IR``, ``IRLN``, ``IRS``, ``IRFT``). Two
groups: the rate ratio :class:`RateRatio` (``IRR``, analysed as a log ratio) and
the rate difference :class:`RateDifference` (``IRD``). The formulas are those
of metafor's ``escalc``, including its continuity correction of studies with
no events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy, prepare_input, warn_excluded
from metapool._validation import (
    check_choice,
    check_estimable,
    check_nonnegative,
    require,
    study_name,
)
from metapool._warnings import warn
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet, corrected_field, study_array
from metapool.effects._escalc import (
    EscalcArgs,
    continuity_options,
    refuse_leftovers,
    register_escalc,
    take,
)
from metapool.effects._measure import MEASURES, FreemanTukeyRate, Measure
from metapool.exceptions import InvalidDataError, InvalidParameterError, ZeroCellWarning

__all__ = ["IncidenceRate", "RateDifference", "RateRatio", "rate_effect"]

Array = NDArray[np.float64]
_R = TypeVar("_R", bound="_RateComparison")

#: the scales of a single-group rate and metafor's code of each
SCALE_CODES = {"raw": "IR", "log": "IRLN", "sqrt": "IRS", "freeman-tukey": "IRFT"}
#: metafor's default ``add`` by code: 0 for the variance-stabilising transforms
_NO_DEFAULT_CORRECTION = ("IRS", "IRFT")


def rate_effect(
    code: str,
    x1: Array,
    t1: Array,
    x2: Array | None = None,
    t2: Array | None = None,
) -> tuple[Array, Array]:
    """Effect sizes and variances of rates (events already corrected), as metafor's
    ``escalc``.

    ``IR``: ``x/t`` with ``x/t²``; ``IRLN``: ``log(x/t)`` with ``1/x``; ``IRS``:
    ``sqrt(x/t)`` with ``1/(4t)``; ``IRFT``: ``(sqrt(x/t) + sqrt(x/t + 1/t))/2`` with
    ``1/(4t)``; ``IRR``: ``log(x1/t1) - log(x2/t2)`` with ``1/x1 + 1/x2``; ``IRD``:
    ``x1/t1 - x2/t2`` with ``x1/t1² + x2/t2²``.
    """
    r1 = x1 / t1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if code == "IR":
            yi, vi = r1, r1 / t1
        elif code == "IRLN":
            yi, vi = np.log(r1), 1.0 / x1
        elif code == "IRS":
            yi, vi = np.sqrt(r1), 1.0 / (4.0 * t1)
        elif code == "IRFT":
            yi, vi = 0.5 * (np.sqrt(r1) + np.sqrt(r1 + 1.0 / t1)), 1.0 / (4.0 * t1)
        elif code in ("IRR", "IRD") and x2 is not None and t2 is not None:
            r2 = x2 / t2
            if code == "IRR":
                yi, vi = np.log(r1) - np.log(r2), 1.0 / x1 + 1.0 / x2
            else:
                yi, vi = r1 - r2, r1 / t1 + r2 / t2
        else:  # pragma: no cover - guarded by the callers
            raise InvalidParameterError(f"unknown rate measure {code!r}")
    return np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64)


def _correction(
    owner: str,
    cc: float,
    to: str,
    zero: NDArray[np.bool_],
    lab: tuple[str, ...],
    idx: Any,
    what: str,
) -> tuple[NDArray[np.float64], tuple[int, ...]]:
    """The value added to each study's events, and the corrected studies (warned)."""
    if to == "all":
        needs = np.ones(zero.size, dtype=bool)
    elif to == "zero":
        needs = zero.copy()
    else:
        needs = np.zeros(zero.size, dtype=bool)
    needs &= cc > 0
    corrected = tuple(int(idx[i]) for i in np.flatnonzero(needs))
    if corrected and to == "zero":
        listed = "; ".join(study_name(int(idx[i]), lab[i]) for i in np.flatnonzero(needs))
        warn(
            f"{owner}: {cc:g} added to the events of {len(corrected)} study(ies) {what}: {listed}.",
            ZeroCellWarning,
        )
    return np.where(needs, cc, 0.0), corrected


def _settings(
    owner: str, conv: Convention, continuity: float | None, continuity_to: str | None, code: str
) -> tuple[float, str]:
    default_cc = 0.0 if code in _NO_DEFAULT_CORRECTION else conv.continuity
    cc = check_nonnegative(owner, "continuity", default_cc if continuity is None else continuity)
    to = check_choice(
        owner,
        "continuity_to",
        conv.continuity_to if continuity_to is None else continuity_to,
        ("zero", "all", "none"),
    )
    return cc, to


def _not_estimable(yi: Array, vi: Array, zero: NDArray[np.bool_], add: Array) -> int | None:
    """Position of the first zero-event study left uncorrected whose effect is not estimable."""
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    pos = np.flatnonzero(~ok & zero & (add == 0))
    return int(pos[0]) if pos.size else None


@attrs.frozen(init=False, kw_only=True)
class IncidenceRate(EffectSet):
    """Incidence rate of one group: events per unit of person-time.

    For ``x`` events in person-time ``t`` the rate is ``r = x/t`` [1]_; the four
    scales are metafor's:

    ========================  ======  ===============================  ============
    ``scale``                 code    ``yi``                           ``vi``
    ========================  ======  ===============================  ============
    ``"raw"``                 IR      ``r``                            ``x/t²``
    ``"log"`` (default)       IRLN    ``log r``                        ``1/x``
    ``"sqrt"``                IRS     ``sqrt(r)``                      ``1/(4t)``
    ``"freeman-tukey"``       IRFT    ``(sqrt(r) + sqrt(r + 1/t))/2``  ``1/(4t)``
    ========================  ======  ===============================  ============

    The Freeman–Tukey transform [2]_ is back-transformed with the harmonic mean of
    the person-times (metafor's ``transf.iirft``), stored in the measure's scale
    (:class:`~metapool.effects.FreemanTukeyRate`). Calling the class runs
    :meth:`from_counts`.

    Parameters
    ----------
    events : array_like or column name
        Number of events of each study (need not be integers).
    time : array_like or column name
        Person-time at risk of each study (> 0), in one unit for all studies;
        the rate is per that unit.
    scale : {"log", "raw", "sqrt", "freeman-tukey"}, default "log"
        The analysis scale (see the table).
    labels : sequence or column name, optional
        Study labels. Default ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    continuity : float, optional
        Value added to the events when a correction applies: metafor's ``add``,
        0.5 for the raw and log scales and 0 (none) for the square-root and
        Freeman–Tukey scales, which need none. The correction changes ``yi`` too.
    continuity_to : {"zero", "all", "none"}, optional
        ``"zero"`` (default): only studies without events; ``"all"``: every study;
        ``"none"``: never (a study without events then raises on the raw and log
        scales, where its variance is 0 or its log rate infinite).
    convention : str or Convention, optional
        Source of the defaults of ``continuity`` (raw and log scales) and
        ``continuity_to``; default: the session's.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value, with a warning.

    Raises
    ------
    InvalidDataError
        If events < 0, time <= 0, a value is infinite or missing (with
        ``nan_policy="raise"``), lengths differ, or a study without events has no
        correction on the raw or log scale.
    MetapoolTypeError
        If a value is not a real number, or ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        If ``scale`` or ``continuity_to`` is unknown, or ``continuity`` is not a
        finite number >= 0.

    Warns
    -----
    ZeroCellWarning
        When the correction is added to studies without events (naming them); their
        0-based positions are recorded in :attr:`corrected`.

    References
    ----------
    .. [1] Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed.,
       chapter 14. Lippincott Williams & Wilkins.
    .. [2] Freeman MF, Tukey JW (1950). Transformations related to the angular and
       the square root. Ann Math Stat 21(4):607-611.
    .. [3] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.IncidenceRate(events=[9, 8], time=[413, 263])
    >>> eff.measure.code, eff.yi.round(4).tolist()
    ('IRLN', [-3.8262, -3.4927])
    >>> mp.IncidenceRate(events=[9, 8], time=[413, 263], scale="raw").yi.round(4).tolist()
    [0.0218, 0.0304]
    """

    events: Array = study_array()
    time: Array = study_array()
    continuity: float = 0.5
    continuity_to: str = "zero"
    #: 0-based positions (in the input as given) of the studies whose events were
    #: corrected.
    corrected: tuple[int, ...] = corrected_field()

    _public_constructor: ClassVar[str | None] = "from_counts"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_counts)

        def __init__(
            self,
            *,
            events: Any,
            time: Any,
            scale: str = "log",
            labels: Any = None,
            data: Any = None,
            continuity: float | None = None,
            continuity_to: str | None = None,
            convention: str | Convention | None = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_counts(
        cls,
        *,
        events: Any,
        time: Any,
        scale: str = "log",
        labels: Any = None,
        data: Any = None,
        continuity: float | None = None,
        continuity_to: str | None = None,
        convention: str | Convention | None = None,
        nan_policy: str = "raise",
    ) -> IncidenceRate:
        """The effect set of ``events`` in person-time ``time`` on ``scale``.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Examples
        --------
        >>> import metapool as mp
        >>> mp.IncidenceRate.from_counts(events=[3], time=[100]) == mp.IncidenceRate(
        ...     events=[3], time=[100])
        True
        """
        owner = cls.__name__
        name = check_choice(owner, "scale", scale, tuple(SCALE_CODES))
        code = SCALE_CODES[name]
        conv = get_convention(convention, owner)
        cc, to = _settings(owner, conv, continuity, continuity_to, code)

        values = {"events": events, "time": time}
        prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
        arr, lab, idx = prep.arrays, prep.labels, prep.index
        x, t = arr["events"], arr["time"]
        require(owner, "events", x, x >= 0, ">= 0", lab, idx)
        require(owner, "time", t, t > 0, "> 0 (a person-time)", lab, idx)

        zero = np.asarray(x == 0)
        add, corrected = _correction(owner, cc, to, zero, lab, idx, "with no events")
        yi, vi = rate_effect(code, x + add, t)
        pos = _not_estimable(yi, vi, zero, add)
        if pos is not None:
            raise InvalidDataError(
                f"{owner}: {study_name(int(idx[pos]), lab[pos])} has no events "
                f"(events={x[pos]:g}, time={t[pos]:g}) and no continuity correction "
                f"(continuity={cc:g}, continuity_to={to!r}); its {code} or variance is not "
                "estimable."
            )
        check_estimable(owner, yi, vi, arr, lab, idx)
        measure: Measure = MEASURES[code]
        if code == "IRFT":
            harmonic = float(t.size / np.sum(1.0 / t))
            measure = attrs.evolve(measure, scale=FreemanTukeyRate(harmonic))
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": lab,
            "index": idx,
            "excluded": prep.excluded,
            "measure": measure,
            "events": x,
            "time": t,
            "continuity": cc,
            "continuity_to": to,
            "corrected": corrected,
        }
        return cls(**stored)

    def arm_data(self) -> dict[str, Array]:
        return {"events": self.events, "time": self.time}


_ARMS = ("events1", "time1", "events2", "time2")


@attrs.frozen(init=False, kw_only=True)
class _RateComparison(EffectSet):
    """Shared machinery of IRR and IRD."""

    events1: Array = study_array()
    time1: Array = study_array()
    events2: Array = study_array()
    time2: Array = study_array()
    continuity: float = 0.5
    continuity_to: str = "zero"
    double_zero: str = "keep"
    #: 0-based positions (in the input as given) of the studies whose events were
    #: corrected.
    corrected: tuple[int, ...] = corrected_field()

    _measure_name: ClassVar[str] = "IRR"
    _public_constructor: ClassVar[str | None] = "from_counts"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_counts)

        def __init__(
            self,
            *,
            events1: Any,
            time1: Any,
            events2: Any,
            time2: Any,
            labels: Any = None,
            data: Any = None,
            continuity: float | None = None,
            continuity_to: str | None = None,
            double_zero: str | None = None,
            convention: str | Convention | None = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_counts(
        cls: type[_R],
        *,
        events1: Any,
        time1: Any,
        events2: Any,
        time2: Any,
        labels: Any = None,
        data: Any = None,
        continuity: float | None = None,
        continuity_to: str | None = None,
        double_zero: str | None = None,
        convention: str | Convention | None = None,
        nan_policy: str = "raise",
    ) -> _R:
        """The effect set of ``events1`` in ``time1`` vs ``events2`` in ``time2``.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Examples
        --------
        >>> import metapool as mp
        >>> a = mp.RateRatio.from_counts(events1=[9], time1=[413], events2=[19], time2=[398])
        >>> a == mp.RateRatio(events1=[9], time1=[413], events2=[19], time2=[398])
        True
        """
        owner = cls.__name__
        code = cls._measure_name
        conv = get_convention(convention, owner)
        cc, to = _settings(owner, conv, continuity, continuity_to, code)
        if double_zero is None:
            # a rate difference is estimable without events in both groups: only an
            # explicit request drops such studies (metafor's drop00)
            double_zero = conv.double_zero if code == "IRR" else "keep"
        dz = check_choice(owner, "double_zero", double_zero, ("keep", "drop"))

        values = dict(zip(_ARMS, (events1, time1, events2, time2), strict=True))
        prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
        arr, lab, idx = prep.arrays, prep.labels, prep.index
        for arm in ("1", "2"):
            e, t = arr["events" + arm], arr["time" + arm]
            require(owner, "events" + arm, e, e >= 0, ">= 0", lab, idx)
            require(owner, "time" + arm, t, t > 0, "> 0 (a person-time)", lab, idx)

        excluded = list(prep.excluded)
        dzm = np.asarray((arr["events1"] == 0) & (arr["events2"] == 0))
        if dz == "drop" and dzm.any():
            dropped = tuple(
                ExcludedStudy(
                    index=int(idx[i]),
                    label=lab[i],
                    reason=f"double-zero study (no events in either group): {code} not estimable",
                    values={name: arr[name][i] for name in _ARMS},
                )
                for i in np.flatnonzero(dzm)
            )
            warn_excluded(owner, dropped)
            excluded.extend(dropped)
            keep = ~dzm
            if not keep.any():
                raise InvalidDataError(f"{owner}: every study is a double-zero study.")
            arr = {name: v[keep] for name, v in arr.items()}
            lab = tuple(x for x, kept in zip(lab, keep, strict=True) if kept)
            idx = idx[keep]

        x1, t1, x2, t2 = (arr[name] for name in _ARMS)
        zero = np.asarray((x1 == 0) | (x2 == 0))
        add, corrected = _correction(owner, cc, to, zero, lab, idx, "with a group without events")
        yi, vi = rate_effect(code, x1 + add, t1, x2 + add, t2)
        pos = _not_estimable(yi, vi, zero, add)
        if pos is not None:
            raise InvalidDataError(
                f"{owner}: {study_name(int(idx[pos]), lab[pos])} has a group without events "
                f"(events1={x1[pos]:g}/time1={t1[pos]:g}, events2={x2[pos]:g}/time2="
                f"{t2[pos]:g}) and no continuity correction (continuity={cc:g}, "
                f"continuity_to={to!r}); its {code} or variance is not estimable."
            )
        check_estimable(owner, yi, vi, arr, lab, idx)
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": lab,
            "index": idx,
            "excluded": tuple(excluded),
            "measure": MEASURES[code],
            "events1": x1,
            "time1": t1,
            "events2": x2,
            "time2": t2,
            "continuity": cc,
            "continuity_to": to,
            "double_zero": dz,
            "corrected": corrected,
        }
        return cls(**stored)

    def arm_data(self) -> dict[str, Array]:
        return {name: getattr(self, name) for name in _ARMS}


_COMPARISON_DOC = """{title}

    Group 1 is the experimental group: ``x1`` events in person-time ``t1``
    against ``x2`` in ``t2``, rates ``r1 = x1/t1`` and ``r2 = x2/t2``.
    {formula} Calling the class runs :meth:`from_counts`.

    Parameters
    ----------
    events1, time1 : array_like or column name
        Events and person-time (> 0) of the experimental group (or column names in
        ``data``). Events need not be integers.
    events2, time2 : array_like or column name
        Events and person-time of the control group.
    labels : sequence or column name, optional
        Study labels. Default ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    continuity : float, optional
        Value added to the events of both groups when a correction applies
        (metafor's ``add``, default 0.5).
    continuity_to : {{"zero", "all", "none"}}, optional
        ``"zero"`` (default): only to studies with a group without events;
        ``"all"``: every study; ``"none"``: never (such a study then raises when
        its effect or variance is not estimable).
    double_zero : {{"keep", "drop"}}, optional
        Studies without events in either group: ``"keep"`` (metafor) analyses
        them with the correction; ``"drop"`` (metafor's ``drop00=TRUE``) excludes
        them with a warning and records them in :attr:`excluded`. {dz_note}
    convention : str or Convention, optional
        Source of the defaults above; default: the session's.
    nan_policy : {{"raise", "omit"}}, default "raise"
        ``"omit"`` leaves out studies with a missing value, with a warning.

    Raises
    ------
    InvalidDataError
        If events < 0, time <= 0, a value is infinite or missing (with
        ``nan_policy="raise"``), lengths differ, or a study is not estimable
        without a correction.
    MetapoolTypeError
        If a value is not a real number, or ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        If ``continuity`` is not a finite number >= 0, or a setting is unknown.

    Warns
    -----
    ZeroCellWarning
        When the correction is added to studies with a group without events
        (naming them); their 0-based positions are recorded in :attr:`corrected`.
    ExcludedStudyWarning
        When studies are dropped (double zero, or missing values with
        ``nan_policy="omit"``).

    References
    ----------
    .. [1] Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed.,
       chapter 14. Lippincott Williams & Wilkins.
    .. [2] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.{name}(events1=[9, 8], time1=[413, 263], events2=[19, 19], time2=[398, 245])
    >>> eff.yi.round(4).tolist()
    {example}
"""


@attrs.frozen(init=False, kw_only=True)
class RateRatio(_RateComparison):
    _measure_name = "IRR"


@attrs.frozen(init=False, kw_only=True)
class RateDifference(_RateComparison):
    _measure_name = "IRD"


RateRatio.__doc__ = _COMPARISON_DOC.format(
    title="Incidence rate ratio, analysed as log(IRR).",
    formula="``yi = log(r1/r2)``, ``vi = 1/x1 + 1/x2``.",
    dz_note='Default: the convention\'s (``"keep"`` for metafor).',
    name="RateRatio",
    example="[-0.7842, -0.9359]",
)
RateDifference.__doc__ = _COMPARISON_DOC.format(
    title="Incidence rate difference.",
    formula="``yi = r1 - r2``, ``vi = x1/t1² + x2/t2²``.",
    dz_note='Default ``"keep"`` whatever the convention: the difference is estimable.',
    name="RateDifference",
    example="[-0.0259, -0.0471]",
)


@register_escalc("IR", "IRLN", "IRS", "IRFT")
def _escalc_rate(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("IR"|"IRLN"|"IRS"|"IRFT", xi, ti, add, to)``."""
    xi, ti = take(args, code, "xi", "ti")
    if code in _NO_DEFAULT_CORRECTION:
        args.setdefault("add", 0.0)  # metafor: add = 0 unless given
    if "drop00" in args:
        raise InvalidParameterError(f"escalc({code!r}) does not use the argument(s) 'drop00'.")
    options = continuity_options(code, args, [xi])
    del options["double_zero"]
    refuse_leftovers(code, args)
    scale = {c: s for s, c in SCALE_CODES.items()}[code]
    return IncidenceRate.from_counts(events=xi, time=ti, scale=scale, **options, **args)


@register_escalc("IRR", "IRD")
def _escalc_rate_comparison(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("IRR"|"IRD", x1i, t1i, x2i, t2i, add, to, drop00)``."""
    x1i, t1i, x2i, t2i = take(args, code, "x1i", "t1i", "x2i", "t2i")
    options = continuity_options(code, args, [x1i, x2i])
    refuse_leftovers(code, args)
    cls = RateRatio if code == "IRR" else RateDifference
    return cls.from_counts(events1=x1i, time1=t1i, events2=x2i, time2=t2i, **options, **args)
