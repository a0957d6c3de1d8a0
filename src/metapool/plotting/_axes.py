"""Shared matplotlib helpers: creating figures, effect axes, saving."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._style import fmt_tick

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["check_ax", "check_limits", "root_figure", "save", "set_effect_axis"]


def check_ax(owner: str, ax: object) -> Axes | None:
    """``ax`` if it is a matplotlib Axes (or None), else a clear error."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise MetapoolTypeError(
            f"The 'ax' parameter of {owner} must be a matplotlib Axes. Got {type(ax).__name__}."
        )
    return ax


def check_limits(
    owner: str, name: str, value: Sequence[float] | None, log_scale: bool
) -> tuple[float, float] | None:
    """Validate a ``(low, high)`` pair of axis limits given on the natural scale."""
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a pair (low, high). Got {value!r}."
        ) from exc
    if not low < high or (log_scale and low <= 0):
        need = "0 < low < high (a ratio axis is logarithmic)" if log_scale else "low < high"
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must satisfy {need}. Got {value!r}."
        )
    return low, high


def set_effect_axis(
    ax: Axes,
    *,
    log_scale: bool,
    limits: tuple[float, float],
    ticks: Sequence[float],
    fontsize: float,
    fontfamily: str,
    color: str,
) -> None:
    """An x axis on the natural scale: log for ratios, labels such as 0.1, 1, 10."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if log_scale:
        ax.set_xscale("log")
    ax.set_xlim(*limits)
    low, high = limits
    tol = 1e-9 * (high - low)
    shown = [t for t in ticks if low - tol <= t <= high + tol]
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_tick(x)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(
        axis="x",
        which="major",
        direction="out",
        length=3.0,
        width=0.6,
        pad=2.0,
        labelsize=fontsize,
        color=color,
        labelcolor=color,
    )
    for label in ax.get_xticklabels():
        label.set_fontfamily(fontfamily)


def save(
    fig: Figure, path: str | os.PathLike[str] | None, dpi: float | None, **kwargs: Any
) -> None:
    """``fig.savefig(path)`` when a path was given (the format follows the suffix)."""
    if path is None:
        return
    if dpi is not None:
        kwargs["dpi"] = dpi
    fig.savefig(os.fspath(path), **kwargs)


def root_figure(ax: Axes) -> Figure:
    """The Figure that ``ax`` is drawn on (also when it sits in a SubFigure)."""
    from matplotlib.figure import Figure

    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig
