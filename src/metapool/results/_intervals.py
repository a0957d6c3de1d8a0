"""Intervals: one (:class:`Interval`) or one per row (:class:`IntervalArray`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._serialize import json_float, jsonable

__all__ = ["NOT_ESTIMABLE", "Interval", "IntervalArray"]


@attrs.frozen
class Interval:
    """A closed interval ``[low, high]``; NaN bounds mean "not estimable".

    Unpacks like a tuple: ``low, high = result.ci``.
    """

    low: float
    high: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.low, self.high))

    @property
    def estimable(self) -> bool:
        """Whether both bounds are numbers."""
        return not (math.isnan(self.low) or math.isnan(self.high))

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe representation (NaN becomes ``None``)."""
        return {"low": json_float(self.low), "high": json_float(self.high)}

    def format(self, digits: int = 4, sep: str = " to ") -> str:
        """``"low to high"`` with ``digits`` decimals, or ``"not estimable"``."""
        if not self.estimable:
            return "not estimable"
        return f"{self.low:.{digits}f}{sep}{self.high:.{digits}f}"


#: The interval of a quantity that cannot be estimated (both bounds NaN).
NOT_ESTIMABLE = Interval(math.nan, math.nan)


@attrs.frozen
class IntervalArray:
    """Lower and upper bounds of one interval per row (any shape, the same for both)."""

    low: NDArray[np.float64] = array_field(repr=True)
    high: NDArray[np.float64] = array_field(repr=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation: the bounds as (nested) lists, NaN as ``None``."""
        return {
            "low": jsonable(np.asarray(self.low, dtype=float)),
            "high": jsonable(np.asarray(self.high, dtype=float)),
        }
