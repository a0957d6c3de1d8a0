"""Drawing the risk-of-bias figures with matplotlib (imported here, when a plot is drawn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, PercentFormatter

from metapool.plotting._mpl import new_figure, root_figure
from metapool.plotting._style import PlotStyle
from metapool.plotting.rob._content import RobTable

__all__ = ["draw_summary", "draw_traffic_light"]

_NOT_REPORTED = "#D9D9D9"
_CHAR = 0.55  # average glyph width of a sans-serif font, in em (for sizing only)


def _text_width(text: str, style: PlotStyle) -> float:
    """An estimate of the width of ``text`` in inches (for the figure's size)."""
    return len(text) * _CHAR * style.font_size / 72.0


def _domain_key(table: RobTable) -> list[str]:
    return [f"{s}: {t}" for s, t in zip(table.short, table.domains, strict=True) if s != "Overall"]


def draw_traffic_light(
    table: RobTable,
    style: PlotStyle,
    *,
    figsize: tuple[float, float] | None,
    ax: Axes | None,
    title: str | None,
) -> Figure:
    """One coloured circle with its symbol per study and domain; a key below."""
    n, m = len(table.studies), len(table.domains)
    fs = style.font_size
    cell = 2.8 * fs / 72.0  # inches per row and column
    key = _domain_key(table)
    categories = [j for j in table.tool.judgements if any(j in row for row in table.cells)]
    legend_rows = len(key) + 3
    own = ax is None
    if ax is None:
        label_w = max(_text_width(s, style) for s in table.studies) + 0.15
        legend_h = legend_rows * 1.45 * fs / 72.0 + 0.1
        head_h = 1.6 * cell + (0.3 if title else 0.0)
        grid_w = m * cell + (0.25 * cell if table.has_overall else 0.0)
        width = max(
            label_w + grid_w + 0.1, max((_text_width(t, style) for t in key), default=0) + 0.4
        )
        height = head_h + n * cell + legend_h
        if figsize is not None:
            width, height = figsize
        fig = new_figure((width, height), style, layout="none")
        ax = fig.add_axes((label_w / width, legend_h / height, grid_w / width, n * cell / height))
    else:
        fig = root_figure(ax)
    xs = np.arange(m, dtype=np.float64)
    if table.has_overall:
        xs[-1] += 0.25  # a small gap before the overall judgement
    ax.set_xlim(-0.5, xs[-1] + 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_xticks([])
    ax.set_yticks([])
    size = (0.82 * 2.8 * fs) ** 2  # marker area in points^2: a circle 82 % of a cell wide
    px, py, colors = [], [], []
    for i, row in enumerate(table.cells):
        for j, judgement in enumerate(row):
            if judgement is None:
                continue
            px.append(xs[j])
            py.append(float(i))
            colors.append(table.tool.color(judgement))
            ax.text(
                xs[j],
                i,
                table.tool.symbol(judgement),
                ha="center",
                va="center",
                fontsize=fs * 1.15,
                fontweight="bold",
                color="black",
                fontfamily=style.font_family,
                gid="rob-symbol",
            )
    ax.scatter(
        px,
        py,
        s=size,
        c=colors,
        edgecolors=style.line_color,
        linewidths=style.rule_width * 0.6,
        gid="rob-lights",
        zorder=2,
        clip_on=False,
    )
    for i, study in enumerate(table.studies):
        ax.text(
            -0.75,
            i,
            study,
            ha="right",
            va="center",
            fontsize=fs,
            fontfamily=style.font_family,
            color=style.line_color,
            gid="rob-study",
            clip_on=False,
        )
    for j, short in enumerate(table.short):
        ax.text(
            xs[j],
            -0.85,
            short,
            ha="center",
            va="bottom",
            fontsize=fs,
            fontweight="bold",
            fontfamily=style.font_family,
            color=style.line_color,
            gid="rob-domain",
            clip_on=False,
        )
    if title:
        ax.set_title(title, fontsize=fs * 1.1, fontfamily=style.font_family, pad=2.8 * fs)
    handles: list[Any] = [Line2D([], [], linestyle="none") for _ in key]
    first = ax.legend(
        handles,
        key,
        title=f"Domains ({table.tool.name})",
        loc="upper left",
        bbox_to_anchor=(-0.0, 0.0),
        bbox_transform=ax.transAxes,
        frameon=False,
        handlelength=0,
        handletextpad=0,
        fontsize=fs,
        title_fontsize=fs,
        alignment="left",
        borderaxespad=0.4,
        labelspacing=0.3,
    )
    first.set_gid("rob-domain-key")
    if key:
        ax.add_artist(first)
        first.set_clip_on(False)  # else a tight bounding box cuts it to the axes
    marks = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=fs * 1.2,
            markerfacecolor=table.tool.color(j),
            markeredgecolor=style.line_color,
            markeredgewidth=style.rule_width * 0.6,
        )
        for j in categories
    ]
    labels = [f"{table.tool.symbol(j)}  {j}" for j in categories]
    if key:
        # under the domain key: its height in axes units, measured after drawing
        fig.draw_without_rendering()
        box = first.get_window_extent().transformed(ax.transAxes.inverted())
        anchor = (0.0, box.y0)
    else:
        anchor = (0.0, 0.0)
    second = ax.legend(
        marks,
        labels,
        title="Judgement",
        loc="upper left",
        bbox_to_anchor=anchor,
        bbox_transform=ax.transAxes,
        frameon=False,
        fontsize=fs,
        title_fontsize=fs,
        ncol=max(1, len(categories)),
        alignment="left",
        borderaxespad=0.4,
        columnspacing=1.2,
        handletextpad=0.3,
    )
    second.set_gid("rob-judgement-key")
    if own and figsize is None:
        _fit_to_contents(fig, ax)
    return fig


def _fit_to_contents(fig: Figure, ax: Axes, pad: float = 0.06) -> None:
    """Resize ``fig`` to what is drawn (labels, keys) keeping the grid's size in inches."""
    from matplotlib.legend import Legend
    from matplotlib.transforms import Bbox

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    # the figure's tight box leaves out a legend added with add_artist: join them
    boxes = [fig.get_tightbbox(renderer)]
    boxes += [
        a.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
        for a in ax.get_children()
        if isinstance(a, Legend)
    ]
    box = Bbox.union([b for b in boxes if b is not None])
    width, height = box.width + 2 * pad, box.height + 2 * pad
    old_w, old_h = fig.get_size_inches()
    pos = ax.get_position()
    x0, y0 = pos.x0 * old_w - box.x0 + pad, pos.y0 * old_h - box.y0 + pad
    fig.set_size_inches(width, height)
    ax.set_position(
        (x0 / width, y0 / height, pos.width * old_w / width, pos.height * old_h / height)
    )


def draw_summary(
    table: RobTable,
    categories: tuple[str, ...],
    shares: np.ndarray[Any, np.dtype[np.float64]],
    style: PlotStyle,
    *,
    weighted: bool,
    figsize: tuple[float, float] | None,
    ax: Axes | None,
    title: str | None,
) -> Figure:
    """One horizontal bar per domain, split by the share of each judgement."""
    fs = style.font_size
    m = len(table.domains)
    own = ax is None
    if ax is None:
        label_w = max(_text_width(t, style) for t in table.domains) + 0.15
        width, height = label_w + 3.4, (m * 1.9 + 5.5) * fs / 72.0 + (0.3 if title else 0.0)
        if figsize is not None:
            width, height = figsize
        fig = new_figure((width, height), style, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = root_figure(ax)
    y = np.arange(m, dtype=np.float64)
    left = np.zeros(m)
    for c, category in enumerate(categories):
        color = _NOT_REPORTED if category == "Not reported" else table.tool.color(category)
        bars = ax.barh(
            y,
            shares[:, c],
            left=left,
            height=0.7,
            color=color,
            edgecolor=style.line_color,
            linewidth=style.rule_width * 0.6,
            label=category,
        )
        for bar in bars:
            bar.set_gid(f"rob-bar-{category}")
        left += shares[:, c]
    ax.set_ylim(m - 0.4, -0.6)
    ax.set_xlim(0, 100)
    ax.yaxis.set_major_locator(FixedLocator(list(y)))
    ax.set_yticklabels(list(table.domains), fontsize=fs, fontfamily=style.font_family)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.tick_params(axis="x", labelsize=fs, width=style.rule_width, length=3)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(style.rule_width)
    ax.set_xlabel(
        "Share of the weight of the studies" if weighted else "Share of studies",
        fontsize=fs,
        fontfamily=style.font_family,
    )
    if title:
        ax.set_title(title, fontsize=fs * 1.1, fontfamily=style.font_family)
    handles = [
        Patch(
            facecolor=_NOT_REPORTED if c == "Not reported" else table.tool.color(c),
            edgecolor=style.line_color,
            linewidth=style.rule_width * 0.6,
        )
        for c in categories
    ]
    options: dict[str, Any] = {
        "ncol": len(categories),
        "frameon": False,
        "fontsize": fs,
        "handlelength": 1.0,
        "columnspacing": 1.0,
        "handletextpad": 0.4,
    }
    if own:
        legend = fig.legend(handles, list(categories), loc="outside lower center", **options)
    else:
        legend = ax.legend(
            handles, list(categories), loc="upper center", bbox_to_anchor=(0.5, -0.25), **options
        )
    legend.set_gid("rob-summary-key")
    return fig
