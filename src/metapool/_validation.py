"""Validation helpers shared by effect sizes, estimators and models.

Error messages follow one pattern: they name the parameter, what was
expected and what arrived; study-level errors also name the study as users
count it: its 1-based row in the input as given and its label,
``study 2 ('Beta 2003')`` (see :func:`study_name`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metapool.exceptions import InvalidDataError, InvalidParameterError

__all__ = [
    "check_bool",
    "check_choice",
    "check_estimable",
    "check_level",
    "check_nonnegative",
    "check_positive_int",
    "check_text",
    "study_error",
    "study_name",
]


def study_name(index: int, label: str | None = None) -> str:
    """How every message names a study: ``study 2 ('Beta 2003')``.

    ``index`` is the 0-based position in the input as given; users count rows
    from 1, so the message shows ``index + 1``.
    """
    text = f"study {int(index) + 1}"
    return text if label is None else f"{text} ({label!r})"


def check_choice(owner: str, name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` lower-cased if it is one of ``choices``, else raise."""
    options = tuple(choices)
    if isinstance(value, str):
        lowered = value.lower()
        for option in options:
            if option.lower() == lowered:
                return option
    listed = ", ".join(repr(o) for o in options)
    raise InvalidParameterError(
        f"The '{name}' parameter of {owner} must be one of {listed}. Got {value!r} instead."
    )


def check_level(owner: str, level: object) -> float:
    """Check that a confidence level lies in (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise InvalidParameterError(
            f"The 'level' parameter of {owner} must be a float in (0, 1). Got {level!r} instead."
        )
    value = float(level)
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise InvalidParameterError(
            f"The 'level' parameter of {owner} must be in (0, 1). Got {level!r} instead."
        )
    return value


def check_positive_int(owner: str, name: str, value: object) -> int:
    """Check that ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a positive integer. Got {value!r} instead."
        )
    return int(value)


def check_finite(owner: str, name: str, value: object) -> float:
    """Check that ``value`` is a finite real number (not a bool, not text)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a finite number. Got {value!r} instead."
        )
    return float(value)


def check_nonnegative(owner: str, name: str, value: object) -> float:
    """Check that ``value`` is a finite real number >= 0 (not a bool, not text)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(float(value)) and float(value) >= 0)
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a finite number >= 0. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_bool(owner: str, name: str, value: object) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (a string such as ``"no"`` is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be True or False. Got {value!r} instead."
        )
    return bool(value)


def check_text(owner: str, name: str, value: object) -> str:
    """Check that ``value`` is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a non-empty string. Got {value!r} instead."
        )
    return value


def check_estimable(
    owner: str,
    yi: NDArray[np.float64],
    vi: NDArray[np.float64],
    inputs: Mapping[str, NDArray[np.float64]],
    labels: Sequence[str],
    original_index: NDArray[np.intp],
) -> None:
    """Raise :class:`InvalidDataError` for the first study whose computed ``yi`` is not
    finite, or whose ``vi`` is not finite, not > 0, or so small that its
    inverse-variance weight ``1/vi`` overflows (double precision limits: extreme
    inputs such as an SD of 1e-200). The message shows that study's inputs."""
    with np.errstate(divide="ignore", over="ignore"):
        weight = 1.0 / vi
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0) & np.isfinite(weight)
    pos = first_violation(ok)
    if pos is None:
        return
    y, v = float(yi[pos]), float(vi[pos])
    if not math.isfinite(y):
        problem = (
            f"the effect size cannot be computed (yi={y!r})"
            if math.isnan(y)
            else f"the effect size overflows (yi={y!r})"
        )
    elif math.isnan(v):
        problem = f"the variance cannot be computed (vi={v!r})"
    elif math.isinf(v):
        problem = f"the variance overflows (vi={v!r})"
    elif v <= 0:
        problem = f"the variance underflows to zero (vi={v!r})"
    else:
        problem = f"the variance is too small (vi={v!r}): its weight 1/vi overflows"
    shown = ", ".join(f"{name}={_fmt(arr[pos])}" for name, arr in inputs.items())
    raise InvalidDataError(
        f"{owner}: {study_name(int(original_index[pos]), labels[pos])} has {shown}: {problem}. "
        "These values are beyond double precision; check the data (units, typing errors)."
    )


def study_error(
    owner: str,
    param: str,
    index: int,
    label: str,
    requirement: str,
    value: object,
) -> InvalidDataError:
    """Build the error for one study whose ``param`` breaks ``requirement``."""
    return InvalidDataError(
        f"{owner}: '{param}' must be {requirement}; {study_name(index, label)} has "
        f"{param}={_fmt(value)}."
    )


def first_violation(ok: NDArray[np.bool_]) -> int | None:
    """Position of the first ``False`` in ``ok``, or ``None``."""
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else None


def require(
    owner: str,
    param: str,
    values: NDArray[np.float64],
    ok: NDArray[np.bool_],
    requirement: str,
    labels: Sequence[str],
    original_index: NDArray[np.intp],
) -> None:
    """Raise :class:`InvalidDataError` for the first study where ``ok`` is False."""
    pos = first_violation(ok)
    if pos is not None:
        raise study_error(
            owner, param, int(original_index[pos]), labels[pos], requirement, values[pos]
        )


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return repr(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    return repr(value)
