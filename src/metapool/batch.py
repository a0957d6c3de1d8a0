"""Many meta-analyses in one call: the batched core behind the models, made public.

Simulation studies and methods research fit thousands of meta-analyses of the
same size. ``CommonEffect().fit_batch(yi, vi)`` and ``RandomEffects().fit_batch(yi,
vi)`` take arrays of shape ``(..., k)`` (one meta-analysis per row, studies along
the last axis) and return a :class:`BatchResult` of arrays of shape ``(...)``,
computed without a Python loop. Each row equals what ``fit`` gives for that row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from metapool._conditioning import LIMIT, SAFE, plainly_in_range, power_of_two_scale
from metapool.exceptions import InvalidDataError, MetapoolTypeError
from metapool.results import BatchResult

__all__ = ["BatchResult", "check_batch", "out_of_range"]

Array = NDArray[np.float64]


def _batch_array(owner: str, name: str, value: Any) -> Array:
    """``value`` as a float array, refusing ragged, text and boolean input by name."""
    if isinstance(value, (str, bytes)):
        raise MetapoolTypeError(
            f"{owner}.fit_batch: '{name}' must be a numeric array of shape (..., k). "
            f"Got the string {value!r:.60}."
        )
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # numpy refuses ragged nested lists
        raise InvalidDataError(
            f"{owner}.fit_batch: '{name}' is ragged (its rows have different lengths); "
            "every analysis in a batch needs the same number of studies k. Pad with NaN "
            "and fit the groups of equal k separately."
        ) from exc
    if raw.dtype.kind == "b":
        raise MetapoolTypeError(f"{owner}.fit_batch: '{name}' must be numeric; got booleans.")
    if raw.dtype.kind not in "iuf":
        # numpy turns a list mixing numbers and text into all text: look at the cells
        # as they were given
        raw = np.asarray(value, dtype=object) if raw.dtype.kind in "US" else raw
        flat = raw.reshape(-1)
        for pos, cell in enumerate(flat.tolist()):
            if isinstance(cell, (bool, str, bytes)) or not isinstance(cell, (int, float)):
                where = tuple(int(i) for i in np.unravel_index(pos, raw.shape))
                kind = "ragged" if isinstance(cell, (list, tuple)) else "not a number"
                raise MetapoolTypeError(
                    f"{owner}.fit_batch: '{name}' must be a numeric array; element {where} "
                    f"(batch index {where[:-1]}, study {where[-1] + 1}) is {cell!r:.60} "
                    f"({kind})."
                )
    return np.asarray(raw, dtype=np.float64)


#: What :func:`out_of_range` flags, for error messages.
OUT_OF_RANGE = (
    "outside the range double precision can weight: variances spanning more than ~1e90 "
    "times the row's median, or an effect ~1e45 standard errors from the median effect. "
    "Check the units of that row"
)


def out_of_range(y: Array, v: Array) -> NDArray[np.bool_]:
    """The studies (finite, ``v > 0``) that a row cannot weight in double precision,
    after its power-of-two rescaling (see :mod:`metapool._conditioning`)."""
    if not y.size:
        return np.zeros(y.shape, dtype=bool)
    # Ordinary rows (every variance in [1/SAFE, SAFE], so s = 1, and effects
    # spread less than sqrt(LIMIT * v_min)) pass without the medians below; when
    # the whole batch is ordinary, four whole-array reductions show it.
    if plainly_in_range(y, v):
        return np.zeros(y.shape, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        spread = (y.max(axis=-1) - y.min(axis=-1)) ** 2 / v.min(axis=-1)
    plain = (v.min(axis=-1) >= 1 / SAFE) & (v.max(axis=-1) <= SAFE) & (spread < LIMIT)
    if np.all(plain):
        return np.zeros(y.shape, dtype=bool)
    if y.ndim > 1:
        out = np.zeros(y.shape, dtype=bool)
        out[~plain] = _out_of_range(y[~plain], v[~plain])
        return out
    return _out_of_range(y, v)


def _out_of_range(y: Array, v: Array) -> NDArray[np.bool_]:
    s = power_of_two_scale(v)[..., None]
    v_s = v / (s * s)
    with np.errstate(over="ignore", invalid="ignore"):
        z2 = ((y - np.median(y, axis=-1, keepdims=True)) / s) ** 2 / v_s
    return np.asarray((v_s < 1 / LIMIT) | (v_s > LIMIT) | ~(z2 < LIMIT))


def check_batch(owner: str, yi: Any, vi: Any, *, offset: int = 0) -> tuple[Array, Array]:
    """Validate batch input: numeric, same shape, at least one axis, k >= 2, finite,
    vi > 0, and within the range double precision can weight (per row, after a
    power-of-two rescaling; see :mod:`metapool._conditioning`).

    ``offset`` is added to the first batch index in messages (a block of a larger
    batch names its rows by their place in the whole batch).
    """
    y = _batch_array(owner, "yi", yi)
    v = _batch_array(owner, "vi", vi)
    if y.shape != v.shape or y.ndim < 1:
        raise InvalidDataError(
            f"{owner}.fit_batch: 'yi' and 'vi' must have the same shape (..., k); "
            f"got {y.shape} and {v.shape}."
        )
    if y.shape[-1] < 2:
        raise InvalidDataError(
            f"{owner}.fit_batch: needs k >= 2 studies per analysis; got k = {y.shape[-1]}."
        )
    for name, arr, ok in (("yi", y, np.isfinite(y)), ("vi", v, np.isfinite(v) & (v > 0))):
        if not ok.all():
            where = tuple(int(i) for i in np.argwhere(~ok)[0])
            need = "finite" if name == "yi" else "finite and > 0"
            at = _shifted(where, offset)
            raise InvalidDataError(
                f"{owner}.fit_batch: '{name}' must be {need}; element {at} is "
                f"{arr[where]!r} (batch index {at[:-1]}, study {where[-1] + 1})."
            )
    bad = out_of_range(y, v)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = _shifted(where, offset)
        raise InvalidDataError(
            f"{owner}.fit_batch: element {at} (batch index {at[:-1]}, study "
            f"{where[-1] + 1}) with yi={y[where]!r}, vi={v[where]!r} is {OUT_OF_RANGE}."
        )
    return y, v


def _shifted(where: tuple[int, ...], offset: int) -> tuple[int, ...]:
    """An element's index with ``offset`` added to its first batch index."""
    if len(where) < 2 or not offset:
        return where
    return (where[0] + offset, *where[1:])
