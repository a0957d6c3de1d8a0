"""L'Abbé plots: the event risk of the treatment arm against that of the control arm.

:func:`labbe_plot` builds the content (:func:`labbe_content`: each arm on the
measure's arm scale, point sizes, the lines; no matplotlib) and draws it in
the :class:`~metapool.PlotStyle` shared with the forest plot.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._validation import study_name
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.plotting._checks import (
    check_ax,
    check_bool,
    check_color,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
)
from metapool.plotting._scatter import check_result, finish_axes, metafor_cex, new_axes
from metapool.plotting._style import PlotStyle
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LabbeContent", "labbe_content", "labbe_plot"]

Array = NDArray[np.float64]
_OWNER = "labbe_plot"

#: measure code -> (arm scale as metafor's escalc names it, axis title, natural title)
_ARM_SCALES = {
    "RR": ("PLN", "Log risk", "Risk"),
    "OR": ("PLO", "Log odds", "Risk"),
    "RD": ("PR", "Risk", "Risk"),
}


@attrs.frozen(kw_only=True)
class LabbeContent:
    """What a L'Abbé plot shows.

    Attributes
    ----------
    x, y : ndarray
        The control arm's (group 2) and the treatment arm's (group 1) event
        risk on the arm scale of the measure: log risk (RR), log odds (OR) or
        risk (RD); on the risk scale when ``natural``.
    cex : ndarray
        Point sizes as metafor's ``labbe``: ``1/sqrt(v_t + v_c)`` rescaled to
        0.5-3.5 (multiples of the style's marker size).
    line_x, line_y : ndarray
        The pooled effect as a line: ``y = x + estimate`` on the arm scale
        (both on the risk scale when ``natural``).
    natural : bool
        Whether the axes show risks rather than the arm scale.
    limits : (float, float)
        The common range of both axes.
    labels : tuple of str
        The studies drawn.
    xlabel, ylabel, title : str
        Axis labels and the title.
    """

    x: Array = array_field()
    y: Array = array_field()
    cex: Array = array_field()
    line_x: Array = array_field()
    line_y: Array = array_field()
    natural: bool
    limits: tuple[float, float]
    labels: tuple[str, ...]
    xlabel: str
    ylabel: str
    title: str


def _arm(code: str, events: Array, n: Array) -> tuple[Array, Array]:
    """An arm's event risk on ``code``'s scale and its variance, as metafor's escalc
    (0.5 added to the events and non-events of an arm with none of either, for the
    log scales)."""
    non = n - events
    if code == "PR":
        p = events / n
        return p, p * (1 - p) / n
    zero = (events == 0) | (non == 0)
    a = np.where(zero, events + 0.5, events)
    b = np.where(zero, non + 0.5, non)
    if code == "PLN":
        return np.log(a / (a + b)), 1 / a - 1 / (a + b)
    return np.log(a / b), 1 / a + 1 / b


def labbe_content(
    result: MetaResult,
    *,
    natural: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    group_names: tuple[str, str] = ("Experimental", "Control"),
) -> LabbeContent:
    """The coordinates of the L'Abbé plot of ``result`` (see :func:`labbe_plot`)."""
    result = check_result(_OWNER, result, MetaResult, "a MetaResult (a model's fit())")
    code = result.measure.code
    arms = result.effects.arm_data()
    if code not in _ARM_SCALES or not {"events1", "n1", "events2", "n2"} <= set(arms):
        raise InvalidParameterError(
            f"The 'result' parameter of {_OWNER} must be an analysis of 2x2 tables with "
            f"measure RR, OR or RD (events and totals per arm). Got measure {code!r}"
            + ("" if {"events1", "n1"} <= set(arms) else " without arm-level counts")
            + "."
        )
    scale, title_arm, title_natural = _ARM_SCALES[code]
    e1, n1, e2, n2 = (
        np.asarray(arms[key], dtype=np.float64) for key in ("events1", "n1", "events2", "n2")
    )
    y, v1 = _arm(scale, e1, n1)
    x, v2 = _arm(scale, e2, n2)
    with np.errstate(divide="ignore"):
        size = np.sqrt(1.0 / (v1 + v2))
    bad = ~np.isfinite(size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidDataError(
            f"{_OWNER}: {study_name(int(result.effects.index[i]), result.labels[i])} has arm "
            f"risks with zero variance (events {e1[i]:g}/{n1[i]:g} and {e2[i]:g}/{n2[i]:g}); "
            "its point size (1/sqrt(v_t + v_c)) is not defined. Use measure RR or OR."
        )
    cex = metafor_cex(size)
    b = float(result.estimate)
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    line_x = np.linspace(low - (high - low), high + (high - low), 400)
    if scale == "PR":  # risks stay within [0, 1]
        line_x = np.linspace(max(0.0, -b), min(1.0, 1.0 - b), 400)
    elif scale == "PLN":  # log risks stay at or below 0
        line_x = line_x[line_x + b <= 0.0] if b > 0 else line_x[line_x <= 0.0]
    line_y = line_x + b
    if natural and scale != "PR":
        inverse = np.exp if scale == "PLN" else (lambda u: 1.0 / (1.0 + np.exp(-u)))
        x, y, line_x, line_y = (inverse(a) for a in (x, y, line_x, line_y))
        low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    pad = 0.05 * (high - low) if high > low else 0.1
    limits = (low - pad, high + pad)
    name = title_natural if natural else title_arm
    return LabbeContent(
        x=x,
        y=y,
        cex=cex,
        line_x=line_x,
        line_y=line_y,
        natural=bool(natural) or scale == "PR",
        limits=limits,
        labels=result.labels,
        xlabel=f"{name} ({group_names[1]})" if xlabel is None else xlabel,
        ylabel=f"{name} ({group_names[0]})" if ylabel is None else ylabel,
        title=title or "",
    )


def labbe_plot(
    result: MetaResult,
    *,
    natural: bool = False,
    group_names: tuple[str, str] = ("Experimental", "Control"),
    color: Any = None,
    fill_color: Any = "0.6",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """L'Abbé plot: each study's treatment-arm event risk against its control arm's.

    Studies on the solid diagonal show no effect; the dashed line is the
    pooled effect, ``treatment = control + estimate`` on the measure's arm
    scale (log risks for a risk ratio, log odds for an odds ratio, risks for a
    risk difference) [1]_. Point areas grow with the study's precision.

    Parameters
    ----------
    result : MetaResult
        An analysis of 2×2 tables (measure RR, OR or RD), any model.
    natural : bool, default False
        Show risks on both axes (the pooled line becomes a curve) instead of
        the arm scale of the measure (metafor's ``transf``).
    group_names : (str, str), default ("Experimental", "Control")
        The arms' names in the axis labels (group 1 on y, group 2 on x).
    color : color, optional
        Colour of the lines and point edges; default the ``style``'s ``line_color``.
    fill_color : color, default "0.6"
        Fill of the points (metafor: grey).
    xlabel, ylabel, title : str, optional
        Axis labels and a title.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 × 3.2 (one journal column).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
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
        For a risk difference with an arm of no events or all events (zero
        variance: no point size), naming the study.
    InvalidParameterError
        If the result is not of 2×2 tables with measure RR, OR or RD; for an
        unknown colour, a size that is not positive, or a bad ``path``.
    MetapoolTypeError
        If ``result`` is not a MetaResult or another argument has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    As metafor's ``labbe``: each arm's risk is computed as ``escalc`` does
    (measures PLN, PLO, PR; 0.5 added to the events and non-events of an arm
    with none of either on the log scales), the point sizes are
    ``1/sqrt(v_t + v_c)`` rescaled linearly to 0.5-3.5 times the style's marker
    size, larger points drawn first. Gids: ``labbe-study`` (one marker per
    study, ``labbe-study-<i>``), ``labbe-equality`` and ``labbe-pooled``.

    References
    ----------
    .. [1] L'Abbé KA, Detsky AS, O'Rourke K (1987). Meta-analysis in clinical
       research. Ann Intern Med 107(2):224-233.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> rr = mp.RiskRatio(events1=[4, 6, 3], n1=[123, 306, 231],
    ...                   events2=[11, 29, 11], n2=[139, 303, 220])
    >>> fig = mp.labbe_plot(mp.RandomEffects().fit(rr), natural=True)
    >>> (study_1,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "labbe-study-0"]
    >>> round(float(study_1.get_xdata()[0]), 4)  # its control-arm risk, 11/139
    0.0791
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    ax = check_ax(_OWNER, ax)
    check_bool(_OWNER, "natural", natural)
    for name, text in (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)):
        check_optional_str(_OWNER, name, text)
    style = check_style(
        _OWNER,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    color = style.line_color if color is None else check_color(_OWNER, "color", color)
    fill_color = check_color(_OWNER, "fill_color", fill_color)
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    content = labbe_content(
        result,
        natural=bool(natural),
        xlabel=xlabel,
        ylabel=ylabel,
        title=title,
        group_names=group_names,
    )
    from metapool.plotting._mpl import save

    fig = _draw(content, style, color=color, fill=fill_color, figsize=figsize or (3.35, 3.2), ax=ax)
    save(fig, path, style, None)
    return fig


def _draw(
    c: LabbeContent,
    style: PlotStyle,
    *,
    color: Any,
    fill: Any,
    figsize: tuple[float, float],
    ax: Axes | None,
) -> Figure:
    fig, ax = new_axes(ax, style, figsize)
    for i in np.argsort(-c.cex, kind="stable"):  # large points first, small ones on top
        ax.plot(
            [c.x[i]],
            [c.y[i]],
            linestyle="none",
            marker="o",
            markersize=style.marker_size * float(c.cex[i]),
            markerfacecolor=fill,
            markeredgecolor=color,
            markeredgewidth=0.5,
            zorder=3,
            clip_on=False,
            gid=f"labbe-study-{i}",
        )
    lo, hi = c.limits
    ax.plot([lo, hi], [lo, hi], color=color, lw=style.ci_width, zorder=2, gid="labbe-equality")
    ax.plot(
        c.line_x, c.line_y, color=color, lw=style.ci_width, ls="--", zorder=2, gid="labbe-pooled"
    )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    if not math.isfinite(lo + hi):  # pragma: no cover - limits are finite by construction
        raise InvalidDataError(f"{_OWNER}: the axis range is not finite.")
    finish_axes(ax, style, xlabel=c.xlabel, ylabel=c.ylabel, title=c.title)
    return fig
