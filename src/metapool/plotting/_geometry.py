"""Cutting shapes to the axis before they are drawn (no matplotlib here).

Shapes are cut in axis units (see :mod:`metapool.plotting._effect_axis`), where
their edges are straight lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from metapool.plotting._numbers import MAX_EXP

__all__ = ["clip_polygon", "clip_segment", "drawing_band"]


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


def drawing_band(band: tuple[float, float], log_axis: bool) -> tuple[float, float]:
    """The x range (axis units) that shapes are cut to before they are drawn.

    The axis ``band`` widened by its own width on each side: shapes that leave
    the axis keep their true geometry (matplotlib hides what lies beyond), yet
    no vertex is so far out that the renderer's fixed-point coordinates
    overflow; on a log axis, never beyond ±709, whose exponential is the
    largest finite float.
    """
    width = band[1] - band[0]
    low, high = band[0] - width, band[1] + width
    if log_axis:
        low, high = max(low, -MAX_EXP), min(high, MAX_EXP)
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
