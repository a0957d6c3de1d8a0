"""Bad-input cases for the ratio-of-means and pre-post family (metapool.effects.change):
:class:`metapool.RatioOfMeans` (ROM), :class:`metapool.SMDH`, :class:`metapool.MeanChange`
(MC) and :class:`metapool.StandardizedMeanChange` (SMCC, SMCR).

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
)
from tests.bad_input._catalogue import Case

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005"]
S1, S2, S3 = "study 1 ('Alpha 2001')", "study 2 ('Beta 2003')", "study 3 ('Gamma 2005')"
TWO: dict[str, list[Any]] = {
    "mean1": [6.0, 5.0, 7.5],
    "sd1": [2.0, 1.0, 2.5],
    "n1": [10, 12, 20],
    "mean2": [4.0, 5.5, 5.0],
    "sd2": [1.0, 1.5, 2.0],
    "n2": [10, 14, 18],
}
PAIRED: dict[str, list[Any]] = {
    "mean_post": [12.0, 8.0, 10.5],
    "mean_pre": [10.0, 9.0, 10.0],
    "sd_post": [3.0, 2.0, 2.5],
    "sd_pre": [2.5, 2.0, 3.0],
    "n": [20, 30, 15],
    "r": [0.6, 0.4, 0.5],
}


def _make(cls: Callable[..., Any], base: dict[str, list[Any]], **changes: Any) -> Callable[[], Any]:
    def run() -> Any:
        args: dict[str, Any] = {k: list(v) for k, v in base.items()}
        args["labels"] = list(LABELS)
        for name, change in changes.items():
            if isinstance(change, tuple) and len(change) == 2 and isinstance(change[0], int):
                args[name][change[0]] = change[1]
            elif change is None:
                del args[name]
            else:
                args[name] = change
        return cls(**args)

    return run


def _rom(**changes: Any) -> Callable[[], Any]:
    return _make(mp.RatioOfMeans, TWO, **changes)


def _smdh(**changes: Any) -> Callable[[], Any]:
    return _make(mp.SMDH, TWO, **changes)


def _mc(**changes: Any) -> Callable[[], Any]:
    return _make(mp.MeanChange, PAIRED, **changes)


def _smc(**changes: Any) -> Callable[[], Any]:
    return _make(mp.StandardizedMeanChange, PAIRED, **changes)


def _check_rom(rows: list[int]) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        t = TWO
        yi = [math.log(t["mean1"][i] / t["mean2"][i]) for i in rows]
        vi = [
            t["sd1"][i] ** 2 / (t["n1"][i] * t["mean1"][i] ** 2)
            + t["sd2"][i] ** 2 / (t["n2"][i] * t["mean2"][i] ** 2)
            for i in rows
        ]
        np.testing.assert_allclose(eff.yi, yi, rtol=1e-12)
        np.testing.assert_allclose(eff.vi, vi, rtol=1e-12)
        assert eff.labels == tuple(LABELS[i] for i in rows)

    return check


def _check_mc(rows: list[int]) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        p = PAIRED
        yi = [p["mean_post"][i] - p["mean_pre"][i] for i in rows]
        vi = [
            (
                p["sd_post"][i] ** 2
                + p["sd_pre"][i] ** 2
                - 2 * p["r"][i] * p["sd_post"][i] * p["sd_pre"][i]
            )
            / p["n"][i]
            for i in rows
        ]
        np.testing.assert_allclose(eff.yi, yi, rtol=1e-12)
        np.testing.assert_allclose(eff.vi, vi, rtol=1e-12)
        assert eff.labels == tuple(LABELS[i] for i in rows)

    return check


CASES = [
    # ratio of means
    Case(
        "rom-mean-zero",
        _rom(mean2=(1, 0)),
        raises=InvalidDataError,
        names=("'mean2'", S2, "0", "> 0"),
    ),
    Case(
        "rom-mean-negative",
        _rom(mean1=(2, -7.5)),
        raises=InvalidDataError,
        names=("'mean1'", S3, "-7.5"),
    ),
    Case(
        "rom-sd-negative",
        _rom(sd1=(0, -2)),
        raises=InvalidDataError,
        names=("'sd1'", S1, "-2", ">= 0"),
    ),
    Case("rom-n-one", _rom(n2=(1, 1)), raises=InvalidDataError, names=("'n2'", S2, "1", ">= 2")),
    Case(
        "rom-both-sds-zero",
        _rom(sd1=(2, 0), sd2=(2, 0)),
        raises=InvalidDataError,
        names=("'sd2'", S3, "sd2=0", "both SDs 0"),
    ),
    Case(
        "rom-mean-text",
        _rom(mean1=(1, "5")),
        raises=MetapoolTypeError,
        names=("'mean1'", S2, "'5'"),
    ),
    Case(
        "rom-mean-missing-raise",
        _rom(mean2=(0, None)),
        raises=InvalidDataError,
        names=("'mean2'", S1, "nan_policy"),
    ),
    Case(
        "rom-mean-missing-omit",
        _rom(mean2=(0, np.nan), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_rom([1, 2]),
    ),
    Case("rom-valid", _rom(), check=_check_rom([0, 1, 2])),
    Case(
        "rom-bad-variance",
        _rom(variance="UB"),
        raises=InvalidParameterError,
        names=("'variance'", "RatioOfMeans", "'UB'"),
    ),
    # SMDH
    Case(
        "smdh-n-infinite",
        _smdh(n1=(0, math.inf)),
        raises=InvalidDataError,
        names=("'n1'", S1, "inf"),
    ),
    Case(
        "smdh-both-sds-zero",
        _smdh(sd1=(1, 0), sd2=(1, 0)),
        raises=InvalidDataError,
        names=("'sd2'", S2, "sd2=0", "both SDs 0"),
    ),
    # mean change
    Case(
        "mc-r-above-one",
        _mc(r=(1, 1.5)),
        raises=InvalidDataError,
        names=("'r'", S2, "1.5", "[-1, 1]"),
    ),
    Case("mc-r-percent", _mc(r=(0, 60)), raises=InvalidDataError, names=("'r'", S1, "60")),
    Case("mc-n-one", _mc(n=(2, 1)), raises=InvalidDataError, names=("'n'", S3, "1", ">= 2")),
    Case(
        "mc-sd-negative", _mc(sd_pre=(1, -2)), raises=InvalidDataError, names=("'sd_pre'", S2, "-2")
    ),
    Case(
        "mc-perfectly-correlated-equal-sds",
        _mc(r=(1, 1.0), sd_post=(1, 2.0), sd_pre=(1, 2.0)),
        raises=InvalidDataError,
        names=("'r'", S2, "r=1", "change scores vary"),
    ),
    Case(
        "mc-missing-omit",
        _mc(r=(2, None), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_mc([0, 1]),
    ),
    Case("mc-valid", _mc(), check=_check_mc([0, 1, 2])),
    # standardised mean change
    Case("smc-n-two", _smc(n=(0, 2)), raises=InvalidDataError, names=("'n'", S1, "2", ">= 3")),
    Case(
        "smcr-sd-pre-zero",
        _smc(sd_pre=(2, 0), standardizer="raw"),
        raises=InvalidDataError,
        names=("'sd_pre'", S3, "0", "> 0"),
    ),
    Case(
        "smcc-without-sd-post",
        _smc(sd_post=None),
        raises=InvalidParameterError,
        names=("'sd_post'", "standardizer='change'", "None"),
    ),
    Case(
        "smc-bad-standardizer",
        _smc(standardizer="pre"),
        raises=InvalidParameterError,
        names=("'standardizer'", "StandardizedMeanChange", "'pre'"),
    ),
    Case(
        "escalc-smcc-bad-vtype",
        lambda: mp.escalc(
            "SMCC", m1i=[5.0], m2i=[4.0], sd1i=[1.0], sd2i=[1.0], ni=[10], ri=[0.5], vtype="HO"
        ),
        raises=InvalidParameterError,
        names=("'vtype'", "escalc('SMCC')", "'HO'"),
    ),
]
