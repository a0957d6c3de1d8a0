"""Bad-input cases for metapool.convert and GenericEffect.from_ci/from_p/from_statistic.

Summaries copied from papers: intervals typed in the wrong order, ratios on the wrong
scale, P values given as percentages, quartiles without a median range. Expected
numbers are hand formulas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import metapool as mp
from metapool import convert
from metapool.exceptions import (
    AsymmetricIntervalWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from tests.bad_input._catalogue import Case

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005"]
S2, S3 = "study 2 ('Beta 2003')", "study 3 ('Gamma 2005')"
HR: dict[str, Any] = {
    "estimate": [0.75, 0.8, 1.1],
    "low": [0.6, 0.7, 0.9],
    "high": [0.94, 0.91, 1.34],
}


def _ci(**changes: Any) -> Any:
    args = {k: list(v) for k, v in HR.items()}
    for name, (pos, value) in changes.items():
        args[name][pos] = value
    return mp.GenericEffect.from_ci(**args, labels=LABELS)


def _check_log_se(result: Any) -> None:
    expected = (math.log(0.94) - math.log(0.6)) / (2 * 1.959963984540054)
    assert abs(result.se[0] - expected) < 1e-12


CASES = [
    Case(
        "from_ci low above estimate",
        lambda: _ci(low=(1, 0.85)),
        InvalidDataError,
        ("'low'", S2, "low=0.85"),
    ),
    Case(
        "from_ci limits swapped",
        lambda: _ci(low=(2, 1.34), high=(2, 0.9)),
        InvalidDataError,
        ("'low'", S3, "low=1.34"),
    ),
    Case(
        "from_ci negative ratio on log scale",
        lambda: _ci(low=(1, -0.2)),
        InvalidDataError,
        ("'low'", S2, "low=-0.2"),
    ),
    Case(
        "from_ci zero-width interval",
        lambda: _ci(estimate=(1, 0.7), high=(1, 0.7)),
        InvalidDataError,
        ("'high'", S2, "high=0.7"),
    ),
    Case(
        "from_ci level as percent",
        lambda: mp.GenericEffect.from_ci([0.8], [0.7], [0.9], level=95),
        InvalidParameterError,
        ("'level'", "95"),
    ),
    Case(
        "from_ci text cell",
        lambda: _ci(high=(2, "1.34")),
        MetapoolTypeError,
        ("'high'", S3, "'1.34'"),
    ),
    Case(
        "from_ci ratio read on identity scale warns",
        lambda: mp.GenericEffect.from_ci([0.5], [0.3], [0.83], scale="identity", measure="RR"),
        warns=AsymmetricIntervalWarning,
        check=lambda r: None,
    ),
    Case("from_ci valid hazard ratios", lambda: _ci(), check=_check_log_se),
    Case(
        "from_p percent",
        lambda: mp.GenericEffect.from_p([0.8, 0.7], [0.04, 4.0], labels=LABELS[:2]),
        InvalidDataError,
        ("'p'", S2, "p=4"),
    ),
    Case(
        "from_p estimate on the null",
        lambda: mp.GenericEffect.from_p([0.8, 1.0], [0.04, 0.5], labels=LABELS[:2]),
        InvalidDataError,
        ("'estimate'", S2, "estimate=1"),
    ),
    Case(
        "from_p t without df",
        lambda: mp.GenericEffect.from_p([0.8], [0.04], dist="t"),
        InvalidParameterError,
        ("'df'", "dist='t'"),
    ),
    Case(
        "from_statistic zero",
        lambda: mp.GenericEffect.from_statistic([0.8, 0.7], [2.0, 0], labels=LABELS[:2]),
        InvalidDataError,
        ("'statistic'", S2, "statistic=0"),
    ),
    Case(
        "median maximum only",
        lambda: convert.mean_sd_from_median(10.0, maximum=30.0, n=20),
        InvalidParameterError,
        ("maximum", "fits no scenario", "'minimum'"),
    ),
    Case(
        "median quartiles reversed",
        lambda: convert.mean_sd_from_median([10.0, 10.0], q1=[8.0, 12.0], q3=[14.0, 9.0], n=20),
        InvalidDataError,
        ("'q1'", "row 2", "q1=12"),
    ),
    Case(
        "median n fractional",
        lambda: convert.mean_sd_from_median(10.0, q1=8.0, q3=14.0, n=[20, 20.5]),
        InvalidDataError,
        ("'n'", "row 2", "n=20.5"),
    ),
    Case(
        "median hozo with quartiles",
        lambda: convert.mean_sd_from_median(10.0, q1=8.0, q3=14.0, n=20, mean_method="hozo"),
        InvalidParameterError,
        ("'mean_method'", "hozo", "S2"),
    ),
    Case(
        "sd_from_se negative",
        lambda: convert.sd_from_se([0.5, -0.5], 20),
        InvalidDataError,
        ("'se'", "row 2", "se=-0.5"),
    ),
    Case(
        "sd_from_ci limits swapped",
        lambda: convert.sd_from_ci([3.0, 7.0], [7.0, 3.0], 25),
        InvalidDataError,
        ("'low'", "row 2", "low=7"),
    ),
    Case(
        "sd_from_p zero",
        lambda: convert.sd_from_p([0.01, 0.0], 25, 22, 3.8),
        InvalidDataError,
        ("'p'", "row 2", "p=0"),
    ),
    Case(
        "sd_from_t zero",
        lambda: convert.sd_from_t(0.0, 25, 22, 3.8),
        InvalidDataError,
        ("'t'", "t=0"),
    ),
    Case(
        "combine_groups negative sd",
        lambda: convert.combine_groups(10, 1.0, [1.0, -2.0], 10, 2.0, 1.0),
        InvalidDataError,
        ("'sd1'", "row 2", "sd1=-2"),
    ),
    Case(
        "combine_groups infinite mean",
        lambda: convert.combine_groups(10, np.inf, 1.0, 10, 2.0, 1.0),
        InvalidDataError,
        ("'mean1'", "mean1=inf"),
    ),
    Case(
        "correlation impossible sds",
        lambda: convert.correlation_from_sds(4.0, 4.5, 9.0),
        InvalidDataError,
        ("'sd_change'", "sd_change=9"),
    ),
    Case(
        "smd_from_log_or negative variance",
        lambda: convert.smd_from_log_odds_ratio([0.2, 0.3], vi=[0.1, -0.1]),
        InvalidDataError,
        ("'vi'", "row 2", "vi=-0.1"),
    ),
]
