"""Drawing a funnel plot's content on a matplotlib Axes (imports matplotlib)."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon, Rectangle

from metapool.plotting._geometry import clip_polygon
from metapool.plotting._mpl import new_figure, root_figure, set_effect_axis
from metapool.plotting._style import PlotStyle
from metapool.plotting.funnel._content import FunnelContent

__all__ = ["draw_funnel"]

#: Shades of the significance bands from the innermost outwards, as in Peters
#: et al. (2008) and metafor: white where nothing is significant, darkest just
#: outside it, lighter the more significant.
_DARKEST, _LIGHTEST = 0.62, 0.90


def _alpha_text(alpha: float) -> str:
    decimals = max(2, -math.floor(math.log10(alpha) + 1e-9)) if alpha > 0 else 2
    return f"{alpha:.{decimals}f}"


def _shades(n_levels: int) -> list[str]:
    """``n_levels + 1`` band colours, innermost first."""
    greys = [0.78] if n_levels == 1 else np.linspace(_DARKEST, _LIGHTEST, n_levels).tolist()
    return ["white", *(f"{g:.3f}" for g in greys)]


def draw_funnel(
    content: FunnelContent,
    style: PlotStyle,
    *,
    color: Any,
    legend: bool | str,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw ``content`` into ``ax`` (or a new figure); return the figure."""
    if ax is None:
        has_legend = legend is True and (bool(content.levels) or content.trimfill)
        size = figsize or (3.35, 3.6 if has_legend else 3.0)
        fig = new_figure(size, style, layout="constrained")
        ax = fig.add_subplot()
    fig = root_figure(ax)
    axis = content.axis
    xs = axis.x_of_u_array
    se_max = content.se_max
    # The axes first, so that nothing drawn later rescales them (a log axis
    # autoscaled to a point at 1e307 would overflow).
    ax.set_ylim(se_max, 0.0)
    set_effect_axis(
        ax, log_axis=axis.is_log, limits=content.limits, ticks=content.ticks, style=style
    )
    handles: list[Artist] = []
    if content.levels and content.null is not None:
        handles += _contours(ax, content, content.null)
    if content.sunset:
        _sunset(ax, content, style)
    if content.pseudo_ci:
        _region(ax, content, color, style)
    marker = style.marker_size
    studies = ax.plot(
        xs(content.yi),
        content.se,
        linestyle="none",
        marker="o",
        markersize=marker,
        color=color,
        markeredgewidth=0,
        zorder=3,
        clip_on=False,
        gid="funnel-study",
        label="Observed studies" if content.trimfill else "Studies",
    )[0]
    _beyond_markers(
        ax, content, content.yi, content.se, color, style, filled=True, gid="funnel-beyond"
    )
    if content.trimfill:
        fy, fse = content.filled_yi, content.filled_se
        filled = ax.plot(
            xs(fy),
            fse,
            linestyle="none",
            marker="o",
            markersize=marker,
            markerfacecolor="white",
            markeredgecolor=color,
            markeredgewidth=style.ci_width,
            zorder=3,
            clip_on=False,
            gid="funnel-filled",
            label="Filled studies" if fy.size else "Filled studies (none)",
        )[0]
        _beyond_markers(
            ax, content, fy, fse, color, style, filled=False, gid="funnel-filled-beyond"
        )
        handles[:0] = [studies, filled]
        if content.pseudo_ci:
            handles += [
                line
                for gid in ("pooled-line-observed", "pooled-line")
                for line in ax.lines
                if line.get_gid() == gid and not str(line.get_label()).startswith("_")
            ]
    _finish(ax, content, style, handles, legend)
    return fig


def _contours(ax: Axes, content: FunnelContent, null: float) -> list[Artist]:
    """Significance bands about the null (drawn first, underneath everything)."""
    levels, se_max, x = content.levels, content.se_max, content.axis.x_of_u
    shades = _shades(len(levels))
    alphas = [1 - lv for lv in levels]  # innermost (largest alpha) first
    background = Rectangle(
        (0.0, 0.0),
        1.0,
        1.0,
        transform=ax.transAxes,
        facecolor=shades[-1],
        edgecolor="none",
        zorder=0,
        gid="contour-background",
    )
    ax.add_patch(background)
    for i, lv in reversed(list(enumerate(levels))):
        zl = NormalDist().inv_cdf(0.5 + lv / 2)
        triangle = [(null - zl * se_max, se_max), (null, 0.0), (null + zl * se_max, se_max)]
        points = clip_polygon(triangle, *content.shapes)
        if not points:
            continue
        ax.add_patch(
            Polygon(
                [(x(u), y) for u, y in points],
                closed=True,
                facecolor=shades[i],
                edgecolor="none",
                zorder=0.5,
                gid=f"contour-{lv:g}",
            )
        )
    labels = [f"p > {_alpha_text(alphas[0])}"]
    labels += [
        f"{_alpha_text(alphas[j])} < p ≤ {_alpha_text(alphas[j - 1])}"
        for j in range(1, len(alphas))
    ]
    labels.append(f"p ≤ {_alpha_text(alphas[-1])}")
    return [
        Patch(facecolor=shade, edgecolor="0.45", linewidth=0.5, label=label)
        for shade, label in zip(shades, labels, strict=True)
    ]


def _sunset(ax: Axes, content: FunnelContent, style: PlotStyle) -> None:
    """The power bands of a sunset funnel plot (Kossmeier et al. 2020): horizontal
    bands, one colour per power range, a power axis on the right and the studies'
    median power."""
    from matplotlib import colormaps
    from matplotlib.transforms import blended_transform_factory

    cmap = colormaps["plasma"]
    se_max = content.se_max
    shown = [
        (lv, se)
        for lv, se in zip(content.power_levels, content.power_se, strict=True)
        if se < se_max
    ]
    # Bands from the top (SE 0, power 1) down: edges at the SEs of the power levels.
    edges = [0.0, *(se for _, se in reversed(shown)), se_max]
    transform = blended_transform_factory(ax.transAxes, ax.transData)
    for j in range(len(edges) - 1):
        top, bottom = edges[j], edges[j + 1]
        middle = max((top + bottom) / 2, 1e-300)
        power_mid = float(content.power(np.array([middle]))[0])
        ax.add_patch(
            Rectangle(
                (0.0, top),
                1.0,
                bottom - top,
                transform=transform,
                facecolor=cmap(0.15 + 0.8 * power_mid),
                edgecolor="none",
                alpha=0.55,
                zorder=0,
                gid=f"sunset-band-{j}",
            )
        )
    right = ax.twinx()
    right.set_gid("sunset-power-axis")
    right.set_ylim(ax.get_ylim())
    # Every band edge gets a tick; labels are thinned where edges crowd (under 5 % of
    # the axis apart), keeping the lowest power levels.
    labels, last = [], -math.inf
    for lv, se in reversed(shown):
        keep = abs(last - se) >= 0.05 * se_max
        labels.append(f"{round(100 * lv)}%" if keep else "")
        last = se if keep else last
    right.set_yticks([se for _, se in reversed(shown)])
    right.set_yticklabels(labels)
    right.tick_params(axis="y", labelsize=style.font_size, length=3.0, width=style.rule_width)
    right.set_ylabel(
        f"Power (two-sided, alpha = {content.power_alpha:g})",
        fontsize=style.font_size,
        fontfamily=style.font_family,
    )
    for side in ("top", "left", "bottom"):
        right.spines[side].set_visible(False)
    right.spines["right"].set_linewidth(style.rule_width)
    ax.text(
        0.02,
        0.02,
        f"Median power {100 * content.median_power():.0f}%",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=style.font_size,
        fontfamily=style.font_family,
        gid="sunset-median-power",
        zorder=4,
    )


def _region(ax: Axes, content: FunnelContent, color: Any, style: PlotStyle) -> None:
    """The pseudo-confidence region about the pooled estimate, and the estimate(s)."""
    x = content.axis.x_of_u
    rx, ry = content.region()
    ax.plot(
        content.axis.x_of_u_array(rx),
        ry,
        color=color,
        lw=0.7,
        ls=(0, (4, 3)),
        zorder=2,
        gid="pseudo-ci",
    )
    (pooled_line,) = ax.plot(
        [x(content.centre)] * 2,
        [0.0, content.se_max],
        color=color,
        lw=style.ci_width,
        zorder=2,
        gid="pooled-line",
    )
    if content.trimfill and content.observed is not None:
        pooled_line.set_label("Adjusted estimate")
        ax.plot(
            [x(content.observed)] * 2,
            [0.0, content.se_max],
            color=color,
            lw=style.ci_width,
            ls=":",
            zorder=2,
            gid="pooled-line-observed",
            label="Observed estimate",
        )


def _beyond_markers(
    ax: Axes,
    content: FunnelContent,
    yi: np.ndarray,
    se: np.ndarray,
    color: Any,
    style: PlotStyle,
    *,
    filled: bool,
    gid: str,
) -> None:
    """Studies beyond the x axis as arrowheads on its edge, at their standard error."""
    band, limits = content.band, content.limits
    for side, beyond, edge, marker in (
        ("low", yi < band[0], limits[0], "<"),
        ("high", yi > band[1], limits[1], ">"),
    ):
        if not beyond.any():
            continue
        ax.plot(
            [edge] * int(beyond.sum()),
            se[beyond],
            linestyle="none",
            marker=marker,
            markersize=style.arrow_length,
            color=color,
            markerfacecolor=color if filled else "white",
            markeredgecolor=color,
            markeredgewidth=0 if filled else style.ci_width,
            clip_on=False,
            zorder=3,
            gid=f"{gid}-{side}",
        )


def _finish(
    ax: Axes,
    content: FunnelContent,
    style: PlotStyle,
    handles: list[Artist],
    legend: bool | str,
) -> None:
    """Ticks, spines, labels, title and legend."""
    fontsize, fontfamily = style.font_size, style.font_family
    ax.tick_params(axis="y", labelsize=fontsize, length=3.0, width=style.rule_width, pad=2.0)
    for tick_label in ax.get_yticklabels():
        tick_label.set_fontfamily(fontfamily)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_linewidth(style.rule_width)
    text_kw: dict[str, Any] = {"fontsize": fontsize, "fontfamily": fontfamily}
    ax.set_xlabel(content.xlabel, **text_kw)
    ax.set_ylabel(content.ylabel, **text_kw)
    if content.title:
        ax.set_title(content.title, fontweight="bold", **text_kw)
    if handles and legend is not False:
        kw: dict[str, Any] = {
            "prop": {"size": fontsize, "family": fontfamily},
            "handlelength": 1.4,
            "handletextpad": 0.5,
            "columnspacing": 1.2,
            "borderaxespad": 0.3,
        }
        if legend is True:
            # Below the axes, in two columns read row by row (matplotlib fills
            # columns first, hence the reordering).
            # Anchored a fixed distance in points below the axes, just under the
            # tick labels and the axis label (not a fraction of the axes' height,
            # which leaves a gap that grows with the figure).
            from matplotlib.transforms import ScaledTranslation

            below = (3.0 + 2.0 + 1.25 * fontsize + 4.0 + 1.25 * fontsize + 2.0) / 72.0
            fig = root_figure(ax)
            kw.update(
                loc="upper center",
                bbox_to_anchor=(0.5, 0.0),
                bbox_transform=ax.transAxes + ScaledTranslation(0.0, -below, fig.dpi_scale_trans),
                ncol=2,
                frameon=False,
            )
            ax.legend(handles=handles[0::2] + handles[1::2], **kw)
        else:
            kw.update(loc=str(legend), frameon=True, framealpha=0.9, edgecolor="0.7")
            ax.legend(handles=handles, **kw)
