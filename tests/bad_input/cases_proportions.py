"""Bad-input cases for single-arm proportions (``mp.Proportion`` and its escalc codes).

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
PROP: dict[str, list[Any]] = {"events": [4, 9, 15], "n": [20, 30, 40]}


def _prop(scale: str = "logit", **changes: Any) -> Callable[[], Any]:
    """``mp.Proportion`` on a copy of PROP where ``param=(position, value)`` replaces one
    cell and any other ``param=value`` replaces the argument (or sets an option)."""

    def run() -> Any:
        args: dict[str, Any] = {k: list(v) for k, v in PROP.items()}
        args["labels"] = list(LABELS)
        for name, change in changes.items():
            if isinstance(change, tuple) and len(change) == 2 and isinstance(change[0], int):
                args[name][change[0]] = change[1]
            else:
                args[name] = change
        return mp.Proportion(scale=scale, **args)

    return run


def _close(got: Any, want: Any) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12, atol=0)


def _check_logit(events: list[float], n: list[float], labels: tuple[str, ...]) -> Any:
    def check(eff: Any) -> None:
        x, m = np.asarray(events, float), np.asarray(n, float) - np.asarray(events, float)
        _close(eff.yi, np.log(x / m))
        _close(eff.vi, 1 / x + 1 / m)
        assert eff.labels == labels

    return check


def _check_zero_corrected(eff: Any) -> None:
    # study 2: 0 of 30 -> 0.5 of 31 (logit: log(0.5 / 30.5), 1/0.5 + 1/30.5)
    assert eff.corrected == (1,)
    _close(eff.yi[1], math.log(0.5 / 30.5))
    _close(eff.vi[1], 1 / 0.5 + 1 / 30.5)


def _check_pft_uncorrected(eff: Any) -> None:
    # study 3: 40 of 40, no correction: (asin sqrt(40/41) + asin 1) / 2, 1/(4*40+2)
    _close(eff.yi[2], 0.5 * (math.asin(math.sqrt(40 / 41)) + math.pi / 2))
    _close(eff.vi[2], 1 / 162)
    assert eff.corrected == ()


CASES: list[Case] = [
    Case(
        "proportions-events-above-n",
        _prop(events=(1, 31)),
        raises=InvalidDataError,
        names=("'events'", S2, "31", "<= n"),
    ),
    Case(
        "proportions-negative-events",
        _prop(events=(0, -1)),
        raises=InvalidDataError,
        names=("'events'", S1, "-1", ">= 0"),
    ),
    Case(
        "proportions-zero-n",
        _prop(n=(2, 0), events=(2, 0)),
        raises=InvalidDataError,
        names=("'n'", S3, "0", ">= 1"),
    ),
    Case(
        "proportions-text-events",
        _prop(events=(1, "nine")),
        raises=MetapoolTypeError,
        names=("'events'", S2, "'nine'"),
    ),
    Case(
        "proportions-bool-n",
        _prop(n=(0, True)),
        raises=MetapoolTypeError,
        names=("'n'", S1, "True"),
    ),
    Case(
        "proportions-infinite-n",
        _prop(n=(2, math.inf)),
        raises=InvalidDataError,
        names=("'n'", S3, "inf"),
    ),
    Case(
        "proportions-missing-raises",
        _prop(events=(1, None)),
        raises=InvalidDataError,
        names=("'events'", S2),
    ),
    Case(
        "proportions-logit-all-events-no-correction",
        _prop(events=(2, 40), continuity_to="none"),
        raises=InvalidDataError,
        names=(S3, "only events", "events=40", "n=40", "continuity_to='none'"),
    ),
    Case(
        "proportions-raw-zero-events-continuity-zero",
        _prop("raw", events=(0, 0), continuity=0),
        raises=InvalidDataError,
        names=(S1, "no events", "events=0", "n=20", "continuity=0"),
    ),
    Case(
        "proportions-ub-variance-on-logit",
        _prop(variance="UB"),
        raises=InvalidParameterError,
        names=("'variance'", "'logit'", "'UB'"),
    ),
    Case(
        "proportions-unknown-scale",
        _prop("probit"),
        raises=InvalidParameterError,
        names=("'scale'", "'probit'", "'freeman-tukey'"),
    ),
    Case(
        "proportions-negative-continuity",
        _prop(continuity=-0.5),
        raises=InvalidParameterError,
        names=("'continuity'", "-0.5"),
    ),
    Case(
        "proportions-ub-with-n-one",
        _prop("raw", events=(0, 0.5), n=(0, 1), variance="UB"),
        raises=InvalidDataError,
        names=(S1, "events=0.5", "n=1", "vi=inf"),
    ),
    Case(
        "proportions-escalc-ni-not-xi-plus-mi",
        lambda: mp.escalc("PLO", xi=[4, 9], ni=[20, 30], mi=[16, 20]),
        raises=InvalidParameterError,
        names=("'ni'", "'xi' + 'mi'"),
    ),
    Case(
        "proportions-zero-events-corrected-and-named",
        _prop(events=(1, 0)),
        warns=ZeroCellWarning,
        check=_check_zero_corrected,
    ),
    Case(
        "proportions-freeman-tukey-all-events-needs-no-correction",
        _prop("freeman-tukey", events=(2, 40)),
        check=_check_pft_uncorrected,
    ),
    Case(
        "proportions-missing-omitted",
        _prop(events=(1, float("nan")), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_logit([4, 15], [20, 40], ("Alpha 2001", "Gamma 2005")),
    ),
    Case(
        "proportions-non-integer-counts",
        _prop(events=[4.5, 9, 15.25]),
        check=_check_logit([4.5, 9, 15.25], [20, 30, 40], tuple(LABELS)),
    ),
]
