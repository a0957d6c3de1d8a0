"""Bad-input cases for :class:`metapool.Correlation` (COR, UCOR, ZCOR).

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
COR: dict[str, list[Any]] = {"r": [0.3, -0.1, 0.55], "n": [40, 25, 60]}


def _cor(**changes: Any) -> Callable[[], Any]:
    def run() -> Any:
        args: dict[str, Any] = {k: list(v) for k, v in COR.items()}
        args["labels"] = list(LABELS)
        for name, change in changes.items():
            if isinstance(change, tuple) and len(change) == 2 and isinstance(change[0], int):
                args[name][change[0]] = change[1]
            else:
                args[name] = change
        return mp.Correlation(**args)

    return run


def _check_z(rows: list[int]) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        r, n = COR["r"], COR["n"]
        want_y = [0.5 * math.log((1 + r[i]) / (1 - r[i])) for i in rows]
        np.testing.assert_allclose(eff.yi, want_y, rtol=1e-12)
        np.testing.assert_allclose(eff.vi, [1 / (n[i] - 3) for i in rows], rtol=1e-12)
        assert eff.labels == tuple(LABELS[i] for i in rows)

    return check


CASES = [
    Case("cor-r-one", _cor(r=(1, 1.0)), raises=InvalidDataError, names=("'r'", S2, "1", "(-1, 1)")),
    Case("cor-r-minus-one", _cor(r=(0, -1)), raises=InvalidDataError, names=("'r'", S1, "-1")),
    Case(
        "cor-r-percent",
        _cor(r=(2, 55)),
        raises=InvalidDataError,
        names=("'r'", S3, "55", "(-1, 1)"),
    ),
    Case("cor-r-text", _cor(r=(1, "0.4")), raises=MetapoolTypeError, names=("'r'", S2, "'0.4'")),
    Case(
        "cor-n-too-small-z",
        _cor(n=(2, 3)),
        raises=InvalidDataError,
        names=("'n'", S3, "3", "> 3"),
    ),
    Case(
        "cor-n-too-small-unbiased",
        _cor(n=(0, 4), scale="unbiased"),
        raises=InvalidDataError,
        names=("'n'", S1, "4", "> 4"),
    ),
    Case("cor-n-negative", _cor(n=(1, -25)), raises=InvalidDataError, names=("'n'", S2, "-25")),
    Case(
        "cor-n-infinite", _cor(n=(0, math.inf)), raises=InvalidDataError, names=("'n'", S1, "inf")
    ),
    Case(
        "cor-r-missing-raise",
        _cor(r=(1, None)),
        raises=InvalidDataError,
        names=("'r'", S2, "nan_policy"),
    ),
    Case(
        "cor-r-missing-omit",
        _cor(r=(1, np.nan), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_z([0, 2]),
    ),
    Case(
        "cor-bad-scale",
        _cor(scale="Fisher"),
        raises=InvalidParameterError,
        names=("'scale'", "Correlation", "'Fisher'"),
    ),
    Case(
        "cor-ub-on-raw",
        _cor(scale="raw", variance="UB"),
        raises=InvalidParameterError,
        names=("'variance'", "'UB'", "'raw'"),
    ),
    Case("cor-z-valid", _cor(), check=_check_z([0, 1, 2])),
]
