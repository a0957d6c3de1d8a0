"""Checks of the plotting functions' parameters, and of matplotlib being there.

Every message names the function, the parameter, what was expected and what
arrived. matplotlib is imported only inside the checks that need it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from metapool.exceptions import InvalidParameterError, MetapoolTypeError, MissingDependencyError
from metapool.plotting._style import PlotStyle

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from metapool.plotting._effect_axis import EffectAxis

__all__ = [
    "check_ax",
    "check_bool",
    "check_color",
    "check_figsize",
    "check_limits",
    "check_optional_str",
    "check_path",
    "check_positive",
    "check_style",
    "check_ticks",
    "require_matplotlib",
    "short_repr",
]


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require_matplotlib(owner: str) -> None:
    """Raise :class:`MissingDependencyError` if matplotlib cannot be imported."""
    try:
        import matplotlib.pyplot  # noqa: F401  (imported to see that it can be)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{owner} needs matplotlib, which is not installed (or cannot be imported: "
            f'{exc}). Install it with: pip install "metapool[plot]"'
        ) from exc


def check_ax(owner: str, ax: object) -> Axes | None:
    """``ax`` if it is a matplotlib Axes (or None), else a clear error."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise MetapoolTypeError(
            f"The 'ax' parameter of {owner} must be a matplotlib Axes or None. "
            f"Got {type(ax).__name__} ({short_repr(ax)})."
        )
    return ax


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_positive(owner: str, name: str, value: object, *, optional: bool = False) -> float | None:
    """A finite number > 0 (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not (_is_real(value) and math.isfinite(float(value)) and float(value) > 0):  # type: ignore[arg-type]
        extra = " or None" if optional else ""
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a positive number{extra}. "
            f"Got {short_repr(value)}."
        )
    return float(value)  # type: ignore[arg-type]


def check_bool(owner: str, name: str, value: object) -> bool:
    """True or False (numpy's booleans too); not a truthy string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise MetapoolTypeError(
            f"The '{name}' parameter of {owner} must be True or False. "
            f"Got {type(value).__name__} ({short_repr(value)})."
        )
    return bool(value)


def check_optional_str(owner: str, name: str, value: object) -> str | None:
    """A str or None."""
    if value is not None and not isinstance(value, str):
        raise MetapoolTypeError(
            f"The '{name}' parameter of {owner} must be a str or None. "
            f"Got {type(value).__name__} ({short_repr(value)})."
        )
    return value


def check_color(owner: str, name: str, value: object) -> Any:
    """A colour matplotlib understands ("black", "#3a5a80", (0.2, 0.3, 0.5), "tab:red")."""
    from matplotlib.colors import is_color_like

    if not is_color_like(value):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a matplotlib colour, e.g. 'black', "
            f"'#3a5a80' or (0.2, 0.3, 0.5). Got {short_repr(value)}."
        )
    return value


def check_limits(
    owner: str, name: str, value: object, axis: EffectAxis
) -> tuple[float, float] | None:
    """Validate a ``(low, high)`` pair of axis limits given on the natural scale
    (positive on a logarithmic ``axis``)."""
    if value is None:
        return None
    try:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a pair (low, high) of numbers. "
            f"Got {short_repr(value)}."
        ) from exc
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must hold finite numbers. Got {short_repr(value)}."
        )
    if not low < high or (axis.is_log and low <= 0):
        need = "0 < low < high (a ratio axis is logarithmic)" if axis.is_log else "low < high"
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must satisfy {need}. Got {short_repr(value)}."
        )
    return low, high


def check_ticks(owner: str, name: str, value: object, axis: EffectAxis) -> tuple[float, ...] | None:
    """Tick positions on the natural scale: finite numbers, positive on a logarithmic axis."""
    if value is None:
        return None
    try:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError
        ticks = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a sequence of numbers. "
            f"Got {short_repr(value)}."
        ) from exc
    bad = [t for t in ticks if not math.isfinite(t) or (axis.is_log and t <= 0)]
    if bad:
        need = "positive finite numbers (a ratio axis is logarithmic)" if axis.is_log else "finite"
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must hold {need} numbers. "
            f"Got {short_repr(value)}, with {bad[0]!r}."
        )
    return ticks


def check_path(owner: str, path: object) -> str | None:
    """A path whose suffix names a format matplotlib can save (or no suffix: PNG)."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise MetapoolTypeError(
            f"The 'path' parameter of {owner} must be a str or path-like, e.g. 'forest.png'. "
            f"Got {type(path).__name__} ({short_repr(path)})."
        )
    text = os.fspath(path)
    if not isinstance(text, str):  # a bytes path
        text = os.fsdecode(text)
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = os.path.splitext(text)[1]
    supported = sorted(FigureCanvasBase.get_supported_filetypes())
    if suffix and suffix[1:].lower() not in supported:
        raise InvalidParameterError(
            f"The 'path' parameter of {owner} has the extension {suffix!r}, which is not a "
            f"format matplotlib can save; use one of {', '.join('.' + s for s in supported)}. "
            f"Got {text!r}."
        )
    return text


def check_figsize(owner: str, value: object) -> tuple[float, float] | None:
    """A ``(width, height)`` pair in inches."""
    if value is None:
        return None
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(_is_real(v) and 0 < float(v) < math.inf for v in value)
    ):
        raise InvalidParameterError(
            f"The 'figsize' parameter of {owner} must be a pair (width, height) of positive "
            f"numbers in inches. Got {short_repr(value)}."
        )
    return float(value[0]), float(value[1])


def check_style(owner: str, style: object, **overrides: tuple[str, object]) -> PlotStyle:
    """``style`` (default ``PlotStyle()``) with the plot's own keywords applied.

    ``overrides`` maps a field of :class:`PlotStyle` to ``(parameter, value)``;
    values that are None are left to the style. Each value is checked under
    its parameter's name.
    """
    if style is None:
        style = PlotStyle()
    elif not isinstance(style, PlotStyle):
        raise MetapoolTypeError(
            f"The 'style' parameter of {owner} must be a metapool.PlotStyle or None. "
            f"Got {type(style).__name__} ({short_repr(style)})."
        )
    changes: dict[str, object] = {}
    for field, (name, value) in overrides.items():
        if value is None:
            continue
        if field.endswith("color"):
            changes[field] = check_color(owner, name, value)
        elif field == "font_family":
            if not isinstance(value, str):
                raise MetapoolTypeError(
                    f"The '{name}' parameter of {owner} must be a str, e.g. 'sans-serif'. "
                    f"Got {type(value).__name__} ({short_repr(value)})."
                )
            changes[field] = value
        else:
            changes[field] = check_positive(owner, name, value)
    return style.replace(**changes) if changes else style
