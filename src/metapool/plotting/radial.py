"""Radial (Galbraith) plots: standardised effects against precision.

:func:`radial_plot` builds the content (:func:`radial_content`: coordinates,
the regression line through the origin, the band, the arc axis of effects;
no matplotlib) and draws it in the :class:`~metapool.PlotStyle` shared with
the forest plot.
"""

from __future__ import annotations

import math
import os
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._validation import check_level
from metapool.exceptions import InvalidDataError
from metapool.plotting._checks import (
    check_ax,
    check_color,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
)
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._numbers import fmt_tick
from metapool.plotting._scatter import check_result, finish_axes, new_axes
from metapool.plotting._style import PlotStyle
from metapool.plotting._ticks import linear_ticks, log_ticks
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["RadialContent", "radial_content", "radial_plot"]

Array = NDArray[np.float64]
_OWNER = "radial_plot"


@attrs.frozen(kw_only=True)
class RadialContent:
    """What a radial plot shows (analysis scale).

    Attributes
    ----------
    x, z : ndarray
        ``x_i = 1/sqrt(v_i + τ̂²)`` and ``z_i = y_i/sqrt(v_i + τ̂²)``.
    estimate, ci_low, ci_high : float
        The pooled estimate (the slope of the line through the origin) and its
        confidence interval.
    zcrit : float
        Half-width of the band ``estimate·x ± zcrit`` (1.96 at 95 %).
    xlim, zlim : (float, float)
        The axis limits, as metafor's ``radial`` chooses them.
    arc_radius, ci_radius : float
        Where the arc axis of effects and the CI arc lie (x units, see notes).
    arc_values, arc_texts : tuple
        The effects ticked on the arc (analysis scale) and their labels (natural
        scale).
    arc_span : (float, float)
        The range of effects the arc covers (analysis scale).
    xlabel, zlabel, title : str
        Axis labels and the title.
    """

    x: Array = array_field()
    z: Array = array_field()
    estimate: float
    ci_low: float
    ci_high: float
    zcrit: float
    xlim: tuple[float, float]
    zlim: tuple[float, float]
    arc_radius: float
    ci_radius: float
    arc_values: tuple[float, ...]
    arc_texts: tuple[str, ...]
    arc_span: tuple[float, float]
    xlabel: str
    zlabel: str
    title: str

    @property
    def aspect(self) -> float:
        """z units per x unit of the square plot area (metafor's ``asp.rat``)."""
        return (self.zlim[1] - self.zlim[0]) / (self.xlim[1] - self.xlim[0])

    def arc_point(self, value: Any, radius: Any) -> tuple[Array, Array]:
        """Where the line of slope ``value`` meets the arc of ``radius`` (data units).

        The arc is a circle on the square plot area: its points are at the same
        distance from the origin once z is divided by :attr:`aspect`.
        """
        b = np.asarray(value, dtype=np.float64)
        x = radius / np.sqrt(1.0 + (b / self.aspect) ** 2)
        return x, x * b


def _arc_ticks(axis: EffectAxis, low: float, high: float) -> tuple[float, ...]:
    """Round natural-scale values between two analysis-scale effects (analysis scale)."""
    scale = axis.measure.scale
    a, b = sorted((float(scale.inverse(low)), float(scale.inverse(high))))
    if not a < b:
        return (low,)
    natural = log_ticks(a, b) if axis.is_log and a > 0 else linear_ticks(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = [float(scale.forward(v)) for v in natural]
    return tuple(v for v in values if math.isfinite(v))


def radial_content(
    result: MetaResult,
    *,
    level: float | None = None,
    xlabel: str | None = None,
    zlabel: str | None = None,
    title: str | None = None,
) -> RadialContent:
    """The coordinates of the radial plot of ``result`` (see :func:`radial_plot`)."""
    result = check_result(_OWNER, result, MetaResult, "a MetaResult (a model's fit())")
    if result.k < 1 or not math.isfinite(result.estimate):
        raise InvalidDataError(f"{_OWNER} needs a finite pooled estimate. Got {result.estimate}.")
    lv = result.level if level is None else check_level(_OWNER, level)
    zcrit = NormalDist().inv_cdf(0.5 + lv / 2)
    tau2 = result.tau2 if result.tau2_method is not None and math.isfinite(result.tau2) else 0.0
    yi, vi = result.yi, result.vi
    x = 1.0 / np.sqrt(vi + tau2)
    z = yi * x
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z))):
        raise InvalidDataError(
            f"{_OWNER}: a study with zero variance has infinite precision (x = 1/sqrt(v + tau2)); "
            "it cannot be placed on a radial plot."
        )
    beta, lo, hi = float(result.estimate), float(result.ci.low), float(result.ci.high)
    xmax = 1.3 * float(x.max())
    width = xmax
    ci_pos = xmax + 0.12 * width
    arc_pos = xmax + 0.14 * width
    low = min(float(yi.min()), lo)
    high = max(float(yi.max()), hi)
    zlim = (
        min(
            -5.0,
            1.1 * float(z.min()),
            1.1 * lo * ci_pos,
            1.1 * low * arc_pos,
            -1.1 * zcrit + xmax * beta,
        ),
        max(
            5.0,
            1.1 * float(z.max()),
            1.1 * hi * ci_pos,
            1.1 * high * arc_pos,
            1.1 * zcrit + xmax * beta,
        ),
    )
    axis = EffectAxis(result.measure)
    ticks = _arc_ticks(axis, float(yi.min()), float(yi.max()))
    common = result.tau2_method is None
    default_x = "x = 1/√v" if common else "x = 1/√(v + τ²)"
    default_z = "z = y/√v" if common else "z = y/√(v + τ²)"
    return RadialContent(
        x=x,
        z=z,
        estimate=beta,
        ci_low=lo,
        ci_high=hi,
        zcrit=zcrit,
        xlim=(0.0, xmax),
        zlim=zlim,
        arc_radius=arc_pos,
        ci_radius=ci_pos,
        arc_values=ticks,
        arc_texts=tuple(fmt_tick(axis.x(t)) for t in ticks),
        arc_span=(float(yi.min()), float(yi.max())),
        xlabel=default_x if xlabel is None else xlabel,
        zlabel=default_z if zlabel is None else zlabel,
        title=title or "",
    )


def radial_plot(
    result: MetaResult,
    *,
    level: float | None = None,
    color: Any = None,
    band_color: Any = "0.88",
    xlabel: str | None = None,
    zlabel: str | None = None,
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Radial (Galbraith) plot: standardised effects against precision.

    Each study is at ``(1/sqrt(v_i + τ̂²), y_i/sqrt(v_i + τ̂²))``; the line
    through the origin has the pooled estimate as its slope, and without
    heterogeneity about 95 % of the studies lie in the shaded band of ±1.96
    around it [1]_. The slope of the line from the origin through a point is
    that study's effect, read on the arc on the right (on the measure's natural
    scale: ratios, not log ratios), where the pooled estimate's confidence
    interval is drawn as a thick arc.

    Parameters
    ----------
    result : MetaResult
        A fitted analysis.
    level : float, optional
        Level of the band; default ``result.level``.
    color : color, optional
        Colour of points, lines and texts; default the ``style``'s ``line_color``.
    band_color : color, default "0.88"
        Colour of the band.
    xlabel, zlabel, title : str, optional
        The axis labels (default as metafor's) and a title.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 × 3.0 (one journal column).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure (its box is made square).
    path : str or path-like, optional
        Save the figure there (format by the suffix; PNG without one).
    dpi : float, optional
        Resolution used when saving to ``path``; default the ``style``'s.
    style : PlotStyle, optional
        Fonts, colours, line widths and file settings (default ``PlotStyle()``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidDataError
        If a study has zero variance (infinite precision) or the estimate is not finite.
    InvalidParameterError
        For a level outside (0, 1), an unknown colour, a size that is not
        positive, or a ``path`` matplotlib cannot write.
    MetapoolTypeError
        If ``result`` is not a MetaResult or another argument has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    As metafor's ``radial``: the x axis runs from 0 to 1.3 times the largest
    precision, the CI arc lies 12 % and the effect arc 14 % of that beyond it,
    and the z limits hold ±5, every point, the band and both arcs; the plot
    area is square and the arc is a circle on it. metafor ticks the arc at
    seven evenly spaced effects between the smallest and the largest study;
    metapool ticks it at round values of the natural scale in that range (e.g.
    risk ratios 0.2, 0.5, 1, 2). For a common-effect model τ̂² is 0. Gids:
    ``radial-study`` (the points), ``radial-line``, ``radial-band``,
    ``radial-arc``, ``radial-ci-arc``, ``radial-arc-tick-<j>``,
    ``radial-arc-label-<j>``.

    References
    ----------
    .. [1] Galbraith RF (1988). A note on graphical presentation of estimated
       odds ratios from several clinical trials. Stat Med 7(8):889-894.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> res = mp.CommonEffect().fit(
    ...     mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.9], vi=[0.02, 0.03, 0.05, 0.02]))
    >>> fig = mp.radial_plot(res)
    >>> (pts,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "radial-study"]
    >>> [round(float(v), 3) for v in pts.get_xdata()[:2]]
    [7.071, 5.774]
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    ax = check_ax(_OWNER, ax)
    for name, text in (("xlabel", xlabel), ("zlabel", zlabel), ("title", title)):
        check_optional_str(_OWNER, name, text)
    style = check_style(
        _OWNER,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    color = style.line_color if color is None else check_color(_OWNER, "color", color)
    band_color = check_color(_OWNER, "band_color", band_color)
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    content = radial_content(result, level=level, xlabel=xlabel, zlabel=zlabel, title=title)
    from metapool.plotting._mpl import save

    fig = _draw(
        content, style, color=color, band_color=band_color, figsize=figsize or (3.35, 3.0), ax=ax
    )
    save(fig, path, style, None)
    return fig


def _draw(
    c: RadialContent,
    style: PlotStyle,
    *,
    color: Any,
    band_color: Any,
    figsize: tuple[float, float],
    ax: Axes | None,
) -> Figure:
    from matplotlib.patches import Polygon

    fig, ax = new_axes(ax, style, figsize)
    ax.set_box_aspect(1.0)
    ax.set_xlim(*c.xlim)
    ax.set_ylim(*c.zlim)
    xmax, b, zc = c.xlim[1], c.estimate, c.zcrit
    ax.add_patch(
        Polygon(
            [(0.0, zc), (xmax, zc + xmax * b), (xmax, -zc + xmax * b), (0.0, -zc)],
            closed=True,
            facecolor=band_color,
            edgecolor="none",
            zorder=0,
            gid="radial-band",
        )
    )
    line_kw: dict[str, Any] = {"color": color, "lw": style.ci_width, "zorder": 2}
    ax.plot([0.0, xmax], [0.0, xmax * b], gid="radial-line", **line_kw)
    for sign in (-1.0, 1.0):
        ax.plot(
            [0.0, xmax], [sign * zc, sign * zc + xmax * b], ls=":", gid="radial-bound", **line_kw
        )
    ax.plot(
        c.x,
        c.z,
        linestyle="none",
        marker="o",
        markersize=style.marker_size,
        color=color,
        markeredgewidth=0,
        zorder=3,
        gid="radial-study",
    )
    # The arc axis of effects, outside the plot area on the right.
    span = np.linspace(c.arc_span[0], c.arc_span[1], 200)
    ax_, az = c.arc_point(span, c.arc_radius)
    inside = (az > c.zlim[0]) & (az < c.zlim[1])
    ax.plot(ax_[inside], az[inside], clip_on=False, gid="radial-arc", **line_kw)
    tick = 0.015 * xmax
    for j, (value, text) in enumerate(zip(c.arc_values, c.arc_texts, strict=True)):
        (x0, x1), (z0, z1) = c.arc_point(
            [value, value], np.array([c.arc_radius, c.arc_radius + tick])
        )
        if not c.zlim[0] < z0 < c.zlim[1]:
            continue
        ax.plot([x0, x1], [z0, z1], clip_on=False, gid=f"radial-arc-tick-{j}", **line_kw)
        tx, tz = c.arc_point(value, c.arc_radius + 2.5 * tick)
        ax.text(
            float(tx),
            float(tz),
            text,
            ha="left",
            va="center",
            fontsize=style.font_size,
            fontfamily=style.font_family,
            color=color,
            clip_on=False,
            gid=f"radial-arc-label-{j}",
        )
    ci = np.linspace(c.ci_low, c.ci_high, 50)
    cx, cz = c.arc_point(ci, c.ci_radius)
    ax.plot(cx, cz, clip_on=False, color=color, lw=2.2, solid_capstyle="butt", gid="radial-ci-arc")
    ax.set_yticks([-2.0, 0.0, 2.0])
    finish_axes(ax, style, xlabel=c.xlabel, ylabel=c.zlabel, title=c.title)
    return fig
