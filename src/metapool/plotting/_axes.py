"""Shared matplotlib helpers: effect axes, saving, and cutting shapes to the axis."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from metapool.plotting._style import fmt_tick

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Largest log ratio whose exponential is a finite float.
_MAX_EXP = 709.0

__all__ = [
    "clip_polygon",
    "clip_segment",
    "drawing_band",
    "root_figure",
    "save",
    "set_effect_axis",
]


def clip_polygon(
    points: Sequence[tuple[float, float]], low: float, high: float
) -> list[tuple[float, float]]:
    """The convex polygon ``points`` cut to the band ``low <= x <= high``."""

    def cut(
        pts: Sequence[tuple[float, float]], edge: float, inside: Callable[[float], bool]
    ) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i, p in enumerate(pts):
            q = pts[i - 1]
            if inside(p[0]) != inside(q[0]):
                t = (edge - q[0]) / (p[0] - q[0])
                out.append((edge, q[1] + t * (p[1] - q[1])))
            if inside(p[0]):
                out.append(p)
        return out

    clipped = cut(points, low, lambda x: x >= low)
    return cut(clipped, high, lambda x: x <= high) if clipped else []


def drawing_band(band: tuple[float, float], log_scale: bool) -> tuple[float, float]:
    """The x range (analysis scale) that shapes are cut to before they are drawn.

    The axis ``band`` widened by its own width on each side: shapes that leave
    the axis keep their true geometry (matplotlib hides what lies beyond), yet
    no vertex is so far out that the renderer's fixed-point coordinates
    overflow; on a log axis, never beyond ±709, whose exponential is the
    largest finite float.
    """
    width = band[1] - band[0]
    low, high = band[0] - width, band[1] + width
    if log_scale:
        low, high = max(low, -_MAX_EXP), min(high, _MAX_EXP)
    return low, high


def clip_segment(
    p: tuple[float, float], q: tuple[float, float], low: float, high: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the segment ``p``-``q`` with ``low <= x <= high`` (None if empty)."""
    (x0, y0), (x1, y1) = p, q
    t0, t1 = 0.0, 1.0
    dx = x1 - x0
    if dx == 0:
        return (p, q) if low <= x0 <= high else None
    for edge in (low, high):
        t = (edge - x0) / dx
        if (edge == low) == (dx > 0):  # entering through this edge
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
    if t0 > t1:
        return None
    return (x0 + t0 * dx, y0 + t0 * (y1 - y0)), (x0 + t1 * dx, y0 + t1 * (y1 - y0))


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
