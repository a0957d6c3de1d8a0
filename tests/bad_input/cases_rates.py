"""Bad-input cases for the incidence-rate effect sets (IncidenceRate, RateRatio,
RateDifference) and their ``escalc`` codes.

Expected numbers are computed here by hand formula (escalc's), never by metapool.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import metapool as mp
from metapool.exceptions import (
    ExcludedStudyWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
    ZeroCellWarning,
)
from tests.bad_input._catalogue import Case

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005"]
S1, S2, S3 = "study 1 ('Alpha 2001')", "study 2 ('Beta 2003')", "study 3 ('Gamma 2005')"

ONE: dict[str, list[Any]] = {"events": [9, 8, 3], "time": [413.0, 263.0, 487.0]}
TWO: dict[str, list[Any]] = {
    "events1": [9, 8, 3],
    "time1": [413.0, 263.0, 487.0],
    "events2": [19, 19, 13],
    "time2": [398.0, 245.0, 435.0],
}


def _with(base: dict[str, list[Any]], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` (with labels); ``param=(position, value)`` replaces one cell."""
    args: dict[str, Any] = {k: list(v) for k, v in base.items()}
    args["labels"] = list(LABELS)
    for name, change in changes.items():
        if isinstance(change, tuple) and len(change) == 2 and isinstance(change[0], int):
            args[name][change[0]] = change[1]
        else:
            args[name] = change
    return args


def _rate(**changes: Any) -> Callable[[], Any]:
    options = {k: changes.pop(k) for k in ("scale", "continuity", "continuity_to") if k in changes}
    return lambda: mp.IncidenceRate(**_with(ONE, **changes), **options)


def _pair(cls: Any, **changes: Any) -> Callable[[], Any]:
    options = {k: changes.pop(k) for k in ("continuity_to", "double_zero") if k in changes}
    return lambda: cls(**_with(TWO, **changes), **options)


def _check_log_rate_corrected(eff: Any) -> None:
    assert eff.corrected == (1,)
    assert math.isclose(eff.yi[1], math.log(0.5 / 263.0), rel_tol=1e-14)
    assert math.isclose(eff.vi[1], 1 / 0.5, rel_tol=1e-14)


def _check_double_zero_dropped(eff: Any) -> None:
    assert eff.labels == ("Alpha 2001", "Gamma 2005")
    assert [e.index for e in eff.excluded] == [1]


def _check_sqrt_zero(eff: Any) -> None:
    assert eff.yi[0] == 0.0 and math.isclose(eff.vi[0], 1 / (4 * 413.0), rel_tol=1e-15)


CASES = [
    Case(
        "rates-negative-events",
        _rate(events=(1, -2)),
        raises=InvalidDataError,
        names=("'events'", S2, "events=-2", ">= 0"),
    ),
    Case(
        "rates-zero-time",
        _rate(time=(2, 0)),
        raises=InvalidDataError,
        names=("'time'", S3, "time=0", "> 0"),
    ),
    Case(
        "rates-negative-time2",
        _pair(mp.RateRatio, time2=(1, -2.5)),
        raises=InvalidDataError,
        names=("'time2'", S2, "time2=-2.5"),
    ),
    Case(
        "rates-text-events1",
        _pair(mp.RateDifference, events1=(0, "nine")),
        raises=MetapoolTypeError,
        names=("'events1'", S1, "'nine'"),
    ),
    Case(
        "rates-infinite-time",
        _rate(time=(0, math.inf)),
        raises=InvalidDataError,
        names=("'time'", S1, "inf"),
    ),
    Case(
        "rates-missing-events-raise",
        _rate(events=(2, None)),
        raises=InvalidDataError,
        names=("'events'", S3),
    ),
    Case(
        "rates-bool-time1",
        _pair(mp.RateRatio, time1=(2, True)),
        raises=MetapoolTypeError,
        names=("'time1'", S3, "True"),
    ),
    Case(
        "rates-unknown-scale",
        _rate(scale="logit"),
        raises=InvalidParameterError,
        names=("'scale'", "IncidenceRate", "'logit'"),
    ),
    Case(
        "rates-zero-events-without-correction",
        _rate(events=(1, 0), continuity_to="none"),
        raises=InvalidDataError,
        names=(S2, "events=0", "continuity_to='none'", "IRLN"),
    ),
    Case(
        "rates-ratio-zero-group-without-correction",
        _pair(mp.RateRatio, events2=(0, 0), continuity_to="none"),
        raises=InvalidDataError,
        names=(S1, "events2=0", "IRR"),
    ),
    Case(
        "rates-negative-continuity",
        _rate(continuity=-0.5),
        raises=InvalidParameterError,
        names=("'continuity'", "IncidenceRate", "-0.5"),
    ),
    Case(
        "rates-escalc-unused-argument",
        lambda: mp.escalc("IRFT", xi=[1, 2], ti=[3, 4], n1i=[5, 6]),
        raises=InvalidParameterError,
        names=("'n1i'", "IRFT"),
    ),
    Case(
        "rates-zero-events-corrected",
        _rate(events=(1, 0)),
        warns=ZeroCellWarning,
        check=_check_log_rate_corrected,
    ),
    Case(
        "rates-double-zero-dropped",
        _pair(mp.RateRatio, events1=(1, 0), events2=(1, 0), double_zero="drop"),
        warns=ExcludedStudyWarning,
        check=_check_double_zero_dropped,
    ),
    Case(
        "rates-sqrt-zero-events-numpy",
        lambda: mp.IncidenceRate(
            events=np.array([0, 8, 3]), time=np.array([413.0, 263.0, 487.0]), scale="sqrt"
        ),
        check=_check_sqrt_zero,
    ),
]
