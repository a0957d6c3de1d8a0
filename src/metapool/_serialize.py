"""One serializer behind every ``to_dict()``: JSON-safe values from result fields.

NaN and infinities become ``None`` (JSON has neither), numpy scalars and arrays
become Python numbers and (nested) lists, objects with a ``to_dict`` use it,
mappings and sequences are converted item by item, and anything else (a model,
an estimator) becomes its ``repr``.

It imports nothing from metapool, so that every layer (effect sets, results)
can use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

__all__ = ["fields_to_dict", "json_float", "jsonable", "measure_entries"]


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
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist()) if value.ndim else jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


def measure_entries(measure: Any) -> dict[str, str]:
    """A measure as results record it: its code, with the analysis scale's name beside
    it (``{"measure": "RR", "scale": "log"}``)."""
    return {"measure": str(measure.code), "scale": str(measure.scale.name)}


def fields_to_dict(
    obj: Any, *, skip: Iterable[str] = (), replace: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Every attrs field of ``obj`` but ``skip``, in field order, made JSON-safe.

    A field named in ``replace`` is written as the entries given for it, in its
    place (e.g. ``{"measure": measure_entries(m)}``, or a field recorded under
    another key); their values are made JSON-safe too.
    """
    skipped = set(skip)
    replaced = replace or {}
    out: dict[str, Any] = {}
    for field in attrs.fields(type(obj)):
        if field.name in skipped:
            continue
        if field.name in replaced:
            out.update({key: jsonable(v) for key, v in replaced[field.name].items()})
        else:
            out[field.name] = jsonable(getattr(obj, field.name))
    return out
