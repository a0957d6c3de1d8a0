"""One serializer behind every ``to_dict()``: JSON-safe values from result fields.

NaN and infinities become ``None`` (JSON has neither), numpy scalars and arrays
become Python numbers and (nested) lists, a :class:`~metapool.effects.Measure`
becomes its code (with its scale beside it), objects with a ``to_dict`` use it,
and anything else (a model, an estimator) its ``repr``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from metapool.effects._measure import Measure

__all__ = ["fields_to_dict", "json_float", "jsonable"]


def json_float(x: float | None) -> float | None:
    """A float for JSON: NaN and infinities become ``None``."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def jsonable(value: Any) -> Any:
    """``value`` in a form ``json.dumps`` accepts (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return json_float(float(value))
    if isinstance(value, Measure):
        return value.code
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist()) if value.ndim else jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


def fields_to_dict(obj: Any, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every attrs field of ``obj`` but ``skip``, made JSON-safe; a Measure field adds
    ``"scale"`` (the analysis scale's name) beside its code."""
    skipped = set(skip)
    out: dict[str, Any] = {}
    for field in attrs.fields(type(obj)):
        if field.name in skipped:
            continue
        value = getattr(obj, field.name)
        out[field.name] = jsonable(value)
        if isinstance(value, Measure):
            out["scale"] = value.scale.name
    return out
