"""matplotlib's side of the plots: text columns, styled figures, effect axes, saving.

This module imports matplotlib; the drawing modules import it when a plot is
drawn, never at ``import metapool``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.artist import allow_rasterization
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from matplotlib.transforms import Bbox

from metapool.plotting._numbers import fmt_tick
from metapool.plotting._style import PlotStyle
from metapool.plotting._text import TextCell

__all__ = [
    "StyledFigure",
    "TextColumn",
    "new_figure",
    "root_figure",
    "save",
    "set_effect_axis",
]

#: (cell, [(line, x, baseline, bold)]) in display coordinates (pixels, y upwards).
_Placed = tuple[TextCell, list[tuple[str, float, float, bool]]]


def _pixels(renderer: RendererBase, points: float) -> float:
    """``points`` in the renderer's pixels (its stub types the answer as an array)."""
    r: Any = renderer
    return float(r.points_to_pixels(points))


class TextColumn(Text):
    """The texts of one table column, drawn by one artist.

    Each :class:`~metapool.plotting._text.TextCell` is centred on its own ``y``
    (in the units of ``transform``), so rows of any height line up with the
    marks drawn beside them; the lines of a multi-line cell are ``pitch``
    points apart. Every line is aligned on the column's anchor (``x``) as
    ``ha`` says, shifted by its cell's ``dx`` inches; bold cells are drawn in
    the bold weight of the artist's font. ``get_text()`` returns the texts of
    all cells, one per line.

    One artist instead of one :class:`~matplotlib.text.Text` per cell makes
    large tables quick to build and draw; :meth:`get_cells` and
    :meth:`cell_extents` give the cells back. In SVG files each cell is a
    group whose id is the cell's ``gid``.
    """

    def __init__(
        self,
        x: float,
        cells: Sequence[TextCell],
        *,
        pitch: float,
        ha: str = "left",
        **kwargs: Any,
    ) -> None:
        self._cells = tuple(cells)
        super().__init__(
            x,
            0.0,
            "\n".join(cell.text for cell in self._cells),
            ha=ha,
            va="center",
            clip_on=False,
            parse_math=False,
            **kwargs,
        )
        self._pitch = float(pitch)
        self._metrics: dict[tuple[Any, ...], tuple[float, float, float]] = {}

    def get_cells(self) -> tuple[TextCell, ...]:
        """The cells, top to bottom as given."""
        return self._cells

    # ------------------------------------------------------------- measuring
    def _props(self, bold: bool) -> FontProperties:
        props = self.get_fontproperties()
        if not bold:
            return props
        heavy = props.copy()
        heavy.set_weight("bold")
        return heavy

    def _measure(self, renderer: RendererBase, text: str, bold: bool) -> tuple[float, float, float]:
        """Width, height and descent of ``text`` in pixels, as ``renderer`` draws it."""
        props = self._props(bold)
        key = (type(renderer), _pixels(renderer, 1.0), hash(props), text)
        found = self._metrics.get(key)
        if found is None:
            w, h, d = renderer.get_text_width_height_descent(text, props, ismath=False)
            found = self._metrics[key] = (float(w), float(h), float(d))
        return found

    def _digit_height(self, renderer: RendererBase, bold: bool) -> float:
        _, height, descent = self._measure(renderer, "0", bold)
        return height - descent

    def _placed(self, renderer: RendererBase) -> Iterator[_Placed]:
        """Every cell with its lines' left ends and baselines (display pixels)."""
        x0 = float(self.get_unitless_position()[0])
        points = self.get_transform().transform([(x0, cell.y) for cell in self._cells])
        per_inch = _pixels(renderer, 72.0)
        pitch = _pixels(renderer, self._pitch)
        # Lines are centred on the height of the digits, so that numbers and
        # labels sit in the middle of their row whatever their descenders.
        half_digit = {bold: self._digit_height(renderer, bold) / 2 for bold in (False, True)}
        ha = self.get_horizontalalignment()
        for cell, (px, py) in zip(self._cells, points, strict=True):
            lines = cell.text.split("\n")
            middle = (len(lines) - 1) / 2
            x = float(px) + cell.dx * per_inch
            out: list[tuple[str, float, float, bool]] = []
            for i, line in enumerate(lines):
                if not line:
                    continue
                left = x
                if ha != "left":
                    width = self._measure(renderer, line, cell.bold)[0]
                    left -= width if ha == "right" else width / 2
                baseline = float(py) + (middle - i) * pitch - half_digit[cell.bold]
                out.append((line, left, baseline, cell.bold))
            yield cell, out

    def cell_extents(self, renderer: RendererBase) -> list[tuple[TextCell, Bbox]]:
        """Each non-empty cell with the box (display pixels) of its lines."""
        found = []
        for cell, lines in self._placed(renderer):
            boxes = []
            for line, left, baseline, bold in lines:
                w, h, d = self._measure(renderer, line, bold)
                boxes.append(Bbox.from_extents(left, baseline - d, left + w, baseline - d + h))
            if boxes:
                found.append((cell, Bbox.union(boxes)))
        return found

    def get_window_extent(self, renderer: Any = None, dpi: float | None = None) -> Bbox:
        """The box around every cell, in display pixels."""
        if not self.get_visible() or not self._cells:
            return Bbox.unit()
        fig: Any = root_figure(self)
        old_dpi = fig.dpi
        if dpi is not None:
            fig.dpi = dpi
        try:
            if renderer is None:
                renderer = getattr(self, "_renderer", None) or fig._get_renderer()
            boxes = [box for _, box in self.cell_extents(renderer)]
        finally:
            fig.dpi = old_dpi
        return Bbox.union(boxes) if boxes else Bbox.unit()

    def contains(self, mouseevent: Any) -> tuple[bool, dict[Any, Any]]:
        """Whether the mouse is over one of the cells (``{"cell": gid}`` if so)."""
        renderer = getattr(self, "_renderer", None)
        if not self.get_visible() or renderer is None:
            return False, {}
        for cell, box in self.cell_extents(renderer):
            if box.contains(mouseevent.x, mouseevent.y):
                return True, {"cell": cell.gid}
        return False, {}

    # --------------------------------------------------------------- drawing
    @allow_rasterization  # type: ignore[untyped-decorator]  # matplotlib's own, untyped
    def draw(self, renderer: RendererBase) -> None:
        """Draw every line of every cell with the renderer's own text call."""
        self._renderer = renderer
        if not self.get_visible() or not self._cells:
            return
        renderer.open_group("text", self.get_gid())
        gc: Any = renderer.new_gc()
        gc.set_foreground(self.get_color())
        gc.set_alpha(self.get_alpha())
        gc.set_url(self.get_url())
        getter = getattr(self, "get_antialiased", None)
        if getter is not None:
            gc.set_antialiased(getter())
        artist: Any = self
        artist._set_gc_clip(gc)
        height = renderer.get_canvas_width_height()[1]
        flip = renderer.flipy()
        props = {False: self._props(False), True: self._props(True)}
        for cell, lines in self._placed(renderer):
            renderer.open_group("cell", gid=cell.gid)
            for line, left, baseline, bold in lines:
                y = height - baseline if flip else baseline
                renderer.draw_text(gc, left, y, line, props[bold], 0.0, ismath=False, mtext=None)
            renderer.close_group("cell")
        gc.restore()
        renderer.close_group("text")
        self.stale = False


class StyledFigure(Figure):
    """A Figure that is saved with its plot style's file settings.

    ``savefig`` applies ``output_rc`` (TrueType fonts in PDF and PostScript
    files) and, unless a ``dpi`` is given, ``output_dpi``; so a figure that a
    plot function returned saves alike with ``path=`` and ``fig.savefig()``.
    """

    def __init__(
        self,
        *args: Any,
        output_rc: Mapping[str, Any] | None = None,
        output_dpi: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.output_rc = dict(output_rc or {})
        self.output_dpi = output_dpi

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        """:meth:`matplotlib.figure.Figure.savefig` with the plot style's settings."""
        if self.output_dpi is not None:
            kwargs.setdefault("dpi", self.output_dpi)
        rc: Any = self.output_rc  # rcParams keys are typed as literals
        with matplotlib.rc_context(rc):
            super().savefig(fname, *args, **kwargs)


def new_figure(figsize: tuple[float, float], style: PlotStyle, layout: str) -> Figure:
    """A new pyplot figure that saves with ``style``'s file settings."""
    import matplotlib.pyplot as plt

    return plt.figure(
        figsize=figsize,
        layout=layout,
        FigureClass=StyledFigure,
        output_rc=style.output_rc(),
        output_dpi=style.dpi,
    )


def _tick_label(x: float, pos: int | None) -> str:
    """A tick label on the natural scale (a function, so that figures can be pickled)."""
    return fmt_tick(x)


def set_effect_axis(
    ax: Axes,
    *,
    log_axis: bool,
    limits: tuple[float, float],
    ticks: Sequence[float],
    style: PlotStyle,
) -> None:
    """An x axis on the natural scale: log for ratios, labels such as 0.1, 1, 10."""
    if log_axis:
        ax.set_xscale("log")
    ax.set_xlim(*limits)
    low, high = limits
    tol = 1e-9 * (high - low)
    shown = [t for t in ticks if low - tol <= t <= high + tol]
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_label))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(
        axis="x",
        which="major",
        direction="out",
        length=3.0,
        width=style.rule_width,
        pad=2.0,
        labelsize=style.font_size,
        color=style.line_color,
        labelcolor=style.line_color,
    )
    for label in ax.get_xticklabels():
        label.set_fontfamily(style.font_family)


def save(
    fig: Figure,
    path: str | os.PathLike[str] | None,
    style: PlotStyle,
    dpi: float | None,
) -> None:
    """``fig.savefig(path)`` with the style's file settings, when a path was given
    (the format follows the suffix)."""
    if path is None:
        return
    kwargs: dict[str, Any] = {}
    if dpi is not None or style.dpi is not None:
        kwargs["dpi"] = dpi if dpi is not None else style.dpi
    rc: Any = style.output_rc()  # rcParams keys are typed as literals
    with matplotlib.rc_context(rc):
        fig.savefig(os.fspath(path), **kwargs)


def root_figure(artist: Any) -> Figure:
    """The Figure that ``artist`` (an Axes, a text) is drawn on, also in a SubFigure."""
    fig: Any = artist.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig
