"""Validation helpers shared by effect sizes, estimators and models.

Error messages follow one pattern: they name the parameter, what was
expected and what arrived; study-level errors also name the study as users
count it: its 1-based row in the input as given and its label,
``study 2 ('Beta 2003')`` (see :func:`study_name`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metapool.exceptions import InvalidDataError, InvalidParameterError

__all__ = [
    "check_choice",
    "check_level",
    "check_positive_int",
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
