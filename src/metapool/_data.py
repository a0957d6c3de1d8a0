"""Turning user input (arrays, or column names plus a mapping) into clean study arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._validation import check_choice
from metapool._warnings import warn
from metapool.exceptions import ExcludedStudyWarning, InvalidDataError, MetapoolTypeError

__all__ = ["ExcludedStudy", "PreparedInput", "is_missing", "prepare_input", "warn_excluded"]


@attrs.frozen(kw_only=True)
class ExcludedStudy:
    """A study left out of an analysis, and why.

    Attributes
    ----------
    index : int
        0-based position of the study in the input as given.
    label : str
        The study's label.
    reason : str
        Why it was excluded.
    """

    index: int
    label: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-safe representation."""
        return {"index": self.index, "label": self.label, "reason": self.reason}


@attrs.frozen(kw_only=True)
class PreparedInput:
    """Validated float arrays of the studies kept, with their labels and original indices."""

    arrays: dict[str, NDArray[np.float64]]
    labels: tuple[str, ...]
    index: NDArray[np.intp]
    excluded: tuple[ExcludedStudy, ...]


def _lookup(owner: str, name: str, value: Any, data: Mapping[str, Any] | None) -> Any:
    if isinstance(value, str):
        if data is None:
            raise MetapoolTypeError(
                f"{owner}: '{name}' was given the column name {value!r} but no 'data' "
                "mapping to look it up in. Pass data=... or give the values themselves."
            )
        try:
            return data[value]
        except (KeyError, IndexError) as exc:
            raise InvalidDataError(
                f"{owner}: column {value!r} given for '{name}' is not in 'data'."
            ) from exc
    return value


def _to_float(owner: str, name: str, value: Any) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetapoolTypeError(
            f"{owner}: '{name}' must be numeric (a sequence of numbers). Got {value!r}."
        ) from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InvalidDataError(
            f"{owner}: '{name}' must be one-dimensional (one value per study). "
            f"Got an array of shape {arr.shape}."
        )
    return arr


def prepare_input(
    owner: str,
    columns: Mapping[str, Any],
    *,
    data: Mapping[str, Any] | None,
    labels: Any,
    nan_policy: str,
) -> PreparedInput:
    """Resolve column names, check lengths, and apply the NaN policy.

    Parameters
    ----------
    owner : str
        Class name used in messages.
    columns : mapping
        Parameter name to values or column name.
    data : mapping, optional
        A DataFrame or any mapping from column name to values.
    labels : sequence of str, str or None
        Study labels (or a column name); ``None`` gives ``"Study 1"`` ... ``"Study k"``.
    nan_policy : {"raise", "omit"}
        What to do with studies that have a missing (NaN) value.
    """
    policy = check_choice(owner, "nan_policy", nan_policy, ("raise", "omit"))
    arrays = {
        name: _to_float(owner, name, _lookup(owner, name, value, data))
        for name, value in columns.items()
    }
    lengths = {name: arr.size for name, arr in arrays.items()}
    k = next(iter(lengths.values()))
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{n}={m}" for n, m in lengths.items())
        raise InvalidDataError(f"{owner}: all inputs must have the same length; got {shown}.")
    if k == 0:
        raise InvalidDataError(f"{owner}: no studies given (k = 0).")

    raw_labels = _lookup(owner, "labels", labels, data) if labels is not None else None
    if raw_labels is None:
        label_tuple = tuple(f"Study {i + 1}" for i in range(k))
    else:
        label_tuple = tuple(str(x) for x in raw_labels)
        if len(label_tuple) != k:
            raise InvalidDataError(
                f"{owner}: 'labels' has {len(label_tuple)} entries but there are {k} studies."
            )

    index = np.arange(k, dtype=np.intp)
    missing = np.zeros(k, dtype=bool)
    for arr in arrays.values():
        missing |= np.isnan(arr)
    excluded: tuple[ExcludedStudy, ...] = ()
    if missing.any():
        if policy == "raise":
            i = int(np.flatnonzero(missing)[0])
            names = [n for n, a in arrays.items() if np.isnan(a[i])]
            raise InvalidDataError(
                f"{owner}: study {i} ({label_tuple[i]!r}) has a missing value (NaN) in "
                f"{', '.join(repr(n) for n in names)}. Fix the data or pass nan_policy='omit' "
                "to leave such studies out."
            )
        excluded = tuple(
            ExcludedStudy(
                index=int(i),
                label=label_tuple[i],
                reason="missing value in "
                + ", ".join(n for n, a in arrays.items() if np.isnan(a[i])),
            )
            for i in np.flatnonzero(missing)
        )
        warn_excluded(owner, excluded)
        keep = ~missing
        if not keep.any():
            raise InvalidDataError(f"{owner}: every study has a missing value; nothing is left.")
        arrays = {name: arr[keep] for name, arr in arrays.items()}
        label_tuple = tuple(lab for lab, kept in zip(label_tuple, keep, strict=True) if kept)
        index = index[keep]

    for name, arr in arrays.items():
        infinite = np.isinf(arr)
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise InvalidDataError(
                f"{owner}: '{name}' must be finite; study {int(index[i])} "
                f"({label_tuple[i]!r}) has {name}={arr[i]!r}."
            )
    return PreparedInput(arrays=arrays, labels=label_tuple, index=index, excluded=excluded)


def warn_excluded(owner: str, excluded: tuple[ExcludedStudy, ...]) -> None:
    """Warn that studies were excluded, naming each one."""
    if not excluded:
        return
    listed = "; ".join(f"study {e.index} ({e.label!r}): {e.reason}" for e in excluded)
    warn(f"{owner}: {len(excluded)} study(ies) excluded: {listed}.", ExcludedStudyWarning)


def is_missing(value: Any) -> bool:
    """Whether one cell is a missing value: None, a float NaN, pandas' ``NA`` or ``NaT``,
    or numpy's ``NaT`` — without importing pandas."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ in ("NAType", "NaTType")
