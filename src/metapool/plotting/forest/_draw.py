"""Drawing a laid-out forest plot on a matplotlib Axes.

The drawing step (content, then layout, then drawing): every size and place
comes from the :class:`~._layout.ForestLayout`; this module only turns them
into artists. Texts are placed in inches from the graphic's left edge (or its
right edge, for columns right of it), so that they keep their places beside
an Axes of any size. This module imports matplotlib: it is imported when a
plot is drawn.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Polygon
from matplotlib.path import Path
from matplotlib.transforms import ScaledTranslation, Transform, blended_transform_factory

from metapool.plotting._geometry import clip_polygon, drawing_band
from metapool.plotting._mpl import TextColumn, new_figure, root_figure, set_effect_axis
from metapool.plotting.forest._layout import LEADING, ForestLayout, Mark, favours_fraction

__all__ = ["draw_forest"]

_MAX_SQUARE = 0.85  # side of the largest square, as a fraction of a row
_DIAMOND = 0.36  # half-height of a diamond, as a fraction of a row


def draw_forest(layout: ForestLayout, ax: Axes | None = None) -> Figure:
    """Draw ``layout`` into ``ax``, or into a new figure of its size; return the figure."""
    if ax is None:
        fig = new_figure(layout.figsize, layout.style, layout="none")
        ax = fig.add_axes(layout.axes_rect)
    _Drawer(ax, layout).draw()
    return root_figure(ax)


class _Drawer:
    def __init__(self, ax: Axes, layout: ForestLayout) -> None:
        self.ax, self.layout, self.style = ax, layout, layout.style
        self.axis = layout.axis
        self.fig = root_figure(ax)
        self._base = blended_transform_factory(ax.transAxes, ax.transData)
        self._cache: dict[float, Transform] = {}
        self.plot_right = layout.plot_left + layout.plot_width
        self.text_kw: dict[str, Any] = {
            "fontsize": self.style.font_size,
            "fontfamily": self.style.font_family,
            "color": self.style.line_color,
        }

    def at(self, dx: float) -> Transform:
        """x in Axes fraction shifted by ``dx`` inches; y in rows."""
        if dx not in self._cache:
            self._cache[dx] = self._base + ScaledTranslation(dx, 0.0, self.fig.dpi_scale_trans)
        return self._cache[dx]

    def anchor(self, x_table: float) -> tuple[float, Transform]:
        """A table position (inches from its left edge) as (Axes fraction, transform)."""
        if x_table > self.plot_right - 1e-9:  # right of the graphic: follow its right edge
            return 1.0, self.at(x_table - self.plot_right)
        return 0.0, self.at(x_table - self.layout.plot_left)

    def draw(self) -> None:
        layout, ax = self.layout, self.ax
        content = layout.content
        set_effect_axis(
            ax,
            log_axis=self.axis.is_log,
            limits=content.limits,
            ticks=content.ticks,
            style=self.style,
        )
        ax.set_ylim(layout.body, 0.0)
        ax.set_yticks([])
        for side in ("top", "left", "right"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_linewidth(self.style.rule_width)
        ax.spines["bottom"].set_color(self.style.line_color)
        ax.patch.set_visible(False)
        self.headers()
        if self.axis.null is not None:
            ax.axvline(
                self.axis.null,
                color=self.style.line_color,
                lw=self.style.rule_width,
                zorder=1,
                gid="null-line",
            )
        if content.reference is not None:
            ax.axvline(
                self.axis.x(content.reference),
                color=self.style.line_color,
                lw=self.style.rule_width,
                ls=(0, (4, 3)),
                zorder=1,
                gid="reference-line",
            )
        # Squares: area proportional to weight, the largest filling most of a row.
        unit_pt = ax.get_window_extent().height / layout.body * 72.0 / self.fig.dpi
        for mark in layout.marks:
            if mark.kind == "study":
                if mark.weight is None:  # a refit (leave-one-out, cumulative): no weight
                    self.study(mark, self.style.marker_size * 1.25)
                    continue
                weight = mark.weight if math.isfinite(mark.weight) else 0.0
                square = _MAX_SQUARE * unit_pt * math.sqrt(max(weight, 0.0) / layout.max_weight)
                self.study(mark, max(self.style.min_square, square))
            elif mark.kind == "pooled":
                self.diamond(mark)
            else:
                self.prediction(mark)
        for spec in layout.columns:
            if not spec.cells:
                continue
            x, transform = self.anchor(spec.x)
            ax.add_artist(
                TextColumn(
                    x,
                    spec.cells,
                    pitch=layout.pitch,
                    ha=spec.align,
                    transform=transform,
                    gid=spec.gid,
                    **self.text_kw,
                )
            )
        self.favours()
        ax.set_xlim(*content.limits)
        ax.set_ylim(layout.body, 0.0)
        ax.set_autoscale_on(False)

    # ------------------------------------------------------------------ parts
    def headers(self) -> None:
        layout = self.layout
        for header in layout.headers:
            x, transform = (0.5, self.at(0.0)) if header.x is None else self.anchor(header.x)
            self.ax.text(
                x,
                header.y,
                header.text,
                transform=transform,
                ha=header.align,
                va="center",
                gid=header.gid,
                fontweight="bold" if header.bold else "normal",
                clip_on=False,
                parse_math=False,
                linespacing=LEADING,
                **{**self.text_kw, "fontsize": header.size},
            )
        self.ax.annotate(
            "",
            xy=(0.0, 0.0),
            xycoords=self.at(-layout.plot_left),
            xytext=(1.0, 0.0),
            textcoords=self.at(layout.table_right - self.plot_right),
            arrowprops={
                "arrowstyle": "-",
                "color": self.style.line_color,
                "lw": self.style.rule_width,
                "shrinkA": 0.0,
                "shrinkB": 0.0,
            },
            annotation_clip=False,
            gid="header-rule",
        )

    def study(self, mark: Mark, side: float) -> None:
        x = self.axis.x
        est, low, high = x(mark.estimate), x(mark.low), x(mark.high)
        lo_lim, hi_lim = self.layout.content.limits
        index = mark.gid.removeprefix("study-")
        ink = self.style.line_color
        a, b = max(low, lo_lim), min(high, hi_lim)
        if a < b:
            self.ax.add_line(
                Line2D(
                    [a, b],
                    [mark.y, mark.y],
                    color=ink,
                    lw=self.style.ci_width,
                    zorder=2,
                    solid_capstyle="butt",
                    gid=f"study-ci-{index}",
                )
            )
        # Arrowheads with their tip on the axis limit where an interval leaves the axis.
        for beyond, edge, sign, end in (
            (low < lo_lim, lo_lim, 1.0, "low"),
            (high > hi_lim, hi_lim, -1.0, "high"),
        ):
            if beyond:
                self.arrow(edge, mark.y, sign, ink, f"ci-arrow-{index}-{end}")
        if not lo_lim <= est <= hi_lim:
            return  # the estimate is off the axis: only its arrowheads show the interval
        self.ax.add_line(
            Line2D(
                [est],
                [mark.y],
                marker="s",
                markersize=side,
                color=self.style.square_color,
                markeredgewidth=0,
                linestyle="none",
                zorder=3,
                gid=f"study-square-{index}",
            )
        )

    def arrow(self, x: float, y: float, sign: float, color: Any, gid: str) -> None:
        """An arrowhead with its tip at ``x`` pointing left (``sign`` 1) or right (-1),
        ``arrow_length`` by ``arrow_width`` points."""
        length, width = self.style.arrow_length, self.style.arrow_width
        head = Path(
            [(0.0, 0.0), (length * sign, width / 2), (length * sign, -width / 2), (0.0, 0.0)]
        )
        # matplotlib scales a path marker so that its largest coordinate is half
        # the marker size: at this size, the path's coordinates are points.
        size = 2.0 * max(length, width / 2)
        self.ax.add_line(
            Line2D(
                [x],
                [y],
                marker=MarkerStyle(head),
                markersize=size,
                color=color,
                markeredgewidth=0,
                linestyle="none",
                clip_on=False,
                zorder=2,
                gid=gid,
            )
        )

    def diamond(self, mark: Mark) -> None:
        axis, limits = self.axis, self.layout.content.limits
        y, h = mark.y, _DIAMOND * mark.height
        name = "total" if mark.gid == "total" else mark.gid.removesuffix("-pooled")
        # Cut in axis units (a diamond has straight edges there), so that no
        # vertex lies beyond the range of floats.
        est, low, high = axis.u(mark.estimate), axis.u(mark.low), axis.u(mark.high)
        band = (axis.u_of_x(limits[0]), axis.u_of_x(limits[1]))
        if high < band[0] or low > band[1]:  # wholly beyond the axis: an arrowhead
            outside_low = high < band[0]
            self.arrow(
                limits[0] if outside_low else limits[1],
                y,
                1.0 if outside_low else -1.0,
                self.style.diamond_color,
                f"pooled-arrow-{name}",
            )
            return
        points = clip_polygon(
            [(low, y), (est, y - h), (high, y), (est, y + h)],
            *drawing_band(band, axis.is_log),
        )
        self.ax.add_patch(
            Polygon(
                [(axis.x_of_u(u), yy) for u, yy in points],
                closed=True,
                facecolor=self.style.diamond_color,
                edgecolor="none",
                zorder=3,
                gid=f"pooled-diamond-{name}",
            )
        )

    def prediction(self, mark: Mark) -> None:
        low, high = self.axis.x(mark.low), self.axis.x(mark.high)
        width = self.style.prediction_width
        self.ax.add_line(
            Line2D(
                [low, high],
                [mark.y, mark.y],
                color=self.style.diamond_color,
                lw=width,
                marker="|",
                markersize=5.0,
                markeredgewidth=width,
                solid_capstyle="butt",
                zorder=3,
                gid="prediction-interval",
            )
        )

    def favours(self) -> None:
        layout, axis = self.layout, self.axis
        lo_lim, hi_lim = layout.content.limits
        if axis.null is None:
            return
        u, x_of = axis.u_of_x, axis.x_of_u
        frac = favours_fraction(layout.content.limits, axis)
        span = u(hi_lim) - u(lo_lim)
        centres = (x_of(u(lo_lim) + span * frac / 2), x_of(u(lo_lim) + span * (1 + frac) / 2))
        null_x = x_of(u(lo_lim) + span * frac)
        small = 0.6 * self.style.font_size
        for side, (label, flush, gid) in enumerate(
            zip(layout.favours, layout.favours_flush, layout.content.favours_gids, strict=True)
        ):
            if not label:
                continue
            if flush:
                x, dx, ha = null_x, (-small if side == 0 else small), ("right", "left")[side]
            else:
                x, dx, ha = centres[side], 0.0, "center"
            self.ax.annotate(
                label,
                xy=(x, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(dx, -layout.axis_gap),
                textcoords="offset points",
                ha=ha,
                va="top",
                multialignment="center",
                linespacing=LEADING,
                annotation_clip=False,
                gid=gid,
                **self.text_kw,
            )
