"""A metafor-compatible front end: ``escalc(measure, **kwargs)``.

metafor's ``escalc()`` takes a measure code and the study data under fixed
argument names (``ai, bi, ci, di, n1i, n2i, x1i, x2i, t1i, t2i, m1i, m2i, sd1i,
sd2i, xi, mi, ri, ti, sdi, ni``) plus options (``add``, ``to``, ``vtype``,
``data``, ``slab``). :func:`escalc` accepts the same, so that an R script can be
ported line by line, and returns the matching metapool effect set.

Each family of measures registers one *adapter* per code with
:func:`register_escalc`: a function that receives metafor's arguments (column
names already looked up in ``data``) and calls the family's own constructor.
Adding a measure to ``escalc`` is one decorated function next to its class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from metapool._data import is_frame
from metapool.effects._base import EffectSet
from metapool.exceptions import InvalidParameterError, MetapoolTypeError

__all__ = ["EscalcArgs", "escalc", "register_escalc", "registered_measures"]

#: what an adapter receives: metafor's arguments (values, not column names), and the
#: options every adapter may use
EscalcArgs = dict[str, Any]
Adapter = Callable[[str, EscalcArgs], EffectSet]

_ADAPTERS: dict[str, Adapter] = {}

#: metafor's study-data argument names (looked up in ``data`` when given as a name)
DATA_ARGUMENTS = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "x1i", "x2i", "t1i", "t2i", "m1i", "m2i",
    "sd1i", "sd2i", "xi", "mi", "ri", "ti", "sdi", "ni", "yi", "vi", "sei", "pi",
)  # fmt: skip


def register_escalc(*codes: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter for the metafor measure codes ``codes``.

    The adapter is called as ``adapter(code, args)`` with ``args`` the keyword
    arguments of :func:`escalc` (study data as values; ``labels`` from ``slab``;
    ``add``, ``to``, ``vtype``, ``nan_policy`` as given) and returns an effect set.
    """

    def decorate(adapter: Adapter) -> Adapter:
        for code in codes:
            _ADAPTERS[code] = adapter
        return adapter

    return decorate


def registered_measures() -> tuple[str, ...]:
    """The measure codes :func:`escalc` knows, sorted."""
    return tuple(sorted(_ADAPTERS))


def _lookup(name: str, value: Any, data: Any) -> Any:
    if data is None or not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    columns = list(data.columns) if is_frame(data) else list(data)
    if value not in columns:
        shown = ", ".join(repr(c) for c in columns[:8])
        raise InvalidParameterError(
            f"escalc: column {value!r} given for '{name}' is not in 'data'. "
            f"Available columns: {shown}."
        )
    return data[value]


def escalc(measure: str, *, data: Any = None, slab: Any = None, **kwargs: Any) -> EffectSet:
    """Effect sizes as metafor's ``escalc``: a measure code and metafor's argument names.

    Parameters
    ----------
    measure : str
        metafor's measure code (``"RR"``, ``"OR"``, ``"RD"``, ``"MD"``, ``"SMD"``, and
        the codes of the other families; :func:`registered_measures` lists them).
    data : mapping or DataFrame, optional
        Where string arguments are looked up as column names.
    slab : sequence or str, optional
        Study labels (or a column name), metafor's ``slab``.
    **kwargs
        metafor's study-data arguments (``ai, bi, ci, di, n1i, n2i, m1i, sd1i, ...``)
        and options (``add``, ``to``, ``vtype``, ``drop00``); metapool's
        ``nan_policy`` is accepted too.

    Returns
    -------
    EffectSet
        The effect set of the measure, whose ``yi`` and ``vi`` equal metafor's.

    Raises
    ------
    InvalidParameterError
        For an unknown measure code, an option metapool does not support, or a
        column not in ``data``.

    Examples
    --------
    >>> import metapool as mp
    >>> bcg = {"tpos": [4, 6, 3], "tneg": [119, 300, 228], "cpos": [11, 29, 11],
    ...        "cneg": [128, 274, 209], "trial": ["Aronson", "Ferguson", "Rosenthal"]}
    >>> rr = mp.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg,
    ...                slab="trial")
    >>> rr.yi.round(4).tolist()
    [-0.8893, -1.5854, -1.3481]
    """
    if not isinstance(measure, str):
        raise MetapoolTypeError(f"escalc: 'measure' must be a measure code. Got {measure!r}.")
    adapter = _ADAPTERS.get(measure)
    if adapter is None:
        known = ", ".join(repr(c) for c in registered_measures())
        raise InvalidParameterError(
            f"The 'measure' parameter of escalc must be one of {known}. Got {measure!r}."
        )
    if data is not None and not (isinstance(data, Mapping) or is_frame(data)):
        raise MetapoolTypeError(
            f"escalc: 'data' must be a mapping or a DataFrame. Got a {type(data).__name__}."
        )
    args: EscalcArgs = {}
    for name, value in kwargs.items():
        args[name] = _lookup(name, value, data) if name in DATA_ARGUMENTS else value
    if slab is not None:
        args["labels"] = _lookup("slab", slab, data)
    return adapter(measure, args)


# ------------------------------------------------------------------ shared option handling
def take(args: EscalcArgs, code: str, *names: str) -> list[Any]:
    """Pop the study-data arguments ``names`` (None where absent)."""
    return [args.pop(name, None) for name in names]


def arms_total(
    code: str, events: Any, non_events: Any, total: Any, arm: str
) -> Any:  # pragma: no cover - trivial
    """``n = a + b`` when the non-events are given, else the total (metafor's rule)."""
    if total is not None:
        return total
    if events is None or non_events is None:
        raise InvalidParameterError(
            f"escalc({code!r}): give the non-events or the total of group {arm} "
            f"({'bi' if arm == '1' else 'di'} or n{arm}i)."
        )
    return np.asarray(events, dtype=float) + np.asarray(non_events, dtype=float)


_TO = {"only0": "zero", "all": "all", "none": "none"}


def continuity_options(code: str, args: EscalcArgs, cells: list[Any]) -> dict[str, Any]:
    """metafor's ``add``/``to``/``drop00`` as metapool's ``continuity`` options.

    ``to="if0all"`` adds ``add`` to every study when any study has a zero cell.
    """
    add = args.pop("add", 0.5)
    to = args.pop("to", "only0")
    drop00 = args.pop("drop00", False)
    if to == "if0all":
        arrays = [np.asarray(c, dtype=float) for c in cells]
        any_zero = any(bool(np.any(a == 0)) for a in arrays)
        mapped = "all" if any_zero else "none"
    elif to in _TO:
        mapped = _TO[to]
    else:
        raise InvalidParameterError(
            f"The 'to' parameter of escalc({code!r}) must be one of 'only0', 'all', "
            f"'if0all', 'none'. Got {to!r}."
        )
    return {"continuity": add, "continuity_to": mapped, "double_zero": "drop" if drop00 else "keep"}


def refuse_leftovers(code: str, args: EscalcArgs, allowed: tuple[str, ...] = ()) -> None:
    """Refuse arguments the measure does not use (a typo must not be ignored)."""
    left = sorted(set(args) - set(allowed) - {"labels", "nan_policy"})
    if left:
        raise InvalidParameterError(
            f"escalc({code!r}) does not use the argument(s) {', '.join(map(repr, left))}."
        )
