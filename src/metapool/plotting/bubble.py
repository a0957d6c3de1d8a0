"""Bubble plots of a meta-regression: effects against one moderator, sized by weight.

:func:`bubble_plot` builds the content (:func:`bubble_content`: the points,
their sizes, the fitted line with its bands, or per level of a categorical
moderator its fitted mean; no matplotlib) and draws it in the
:class:`~metapool.PlotStyle` shared with the forest plot.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import t_crit, z_crit
from metapool._validation import check_level
from metapool.exceptions import InvalidParameterError
from metapool.plotting._checks import (
    check_ax,
    check_bool,
    check_color,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
    short_repr,
)
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._numbers import fmt_tick
from metapool.plotting._scatter import check_result, finish_axes, metafor_cex, new_axes
from metapool.plotting._style import PlotStyle
from metapool.plotting._ticks import linear_ticks, log_ticks
from metapool.results import MetaRegressionResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["BubbleContent", "bubble_content", "bubble_plot"]

Array = NDArray[np.float64]
_OWNER = "bubble_plot"


@attrs.frozen(kw_only=True)
class BubbleContent:
    """What a bubble plot shows (effects on the analysis scale).

    Attributes
    ----------
    moderator : str
        The moderator on the x axis.
    levels : tuple of str
        Its levels when categorical (the x positions are 0, 1, ...), else empty.
    x, y, cex : ndarray
        Each study's moderator value (level position), effect, and point size
        (the square root of its weight rescaled to 0.5-3.5, as metafor's ``regplot``).
    line_x, pred, ci_low, ci_high, pi_low, pi_high : ndarray
        The fitted values along the moderator (one per level when categorical)
        with the other moderators held at ``at``, and their confidence and
        prediction intervals.
    at : tuple of (str, float)
        The design-matrix columns held fixed and their values (the means over
        the studies unless given).
    axis : EffectAxis
        The measure's axis (log for ratios).
    xlabel, ylabel, title : str
        Axis labels and the title.
    """

    moderator: str
    levels: tuple[str, ...]
    x: Array = array_field()
    y: Array = array_field()
    cex: Array = array_field()
    line_x: Array = array_field()
    pred: Array = array_field()
    ci_low: Array = array_field()
    ci_high: Array = array_field()
    pi_low: Array = array_field()
    pi_high: Array = array_field()
    at: tuple[tuple[str, float], ...]
    axis: EffectAxis
    labels: tuple[str, ...]
    xlabel: str
    ylabel: str
    title: str

    @property
    def categorical(self) -> bool:
        """Whether the moderator is categorical."""
        return bool(self.levels)


def _columns_of(result: MetaRegressionResult, name: str) -> list[int]:
    names = result.design.names
    return [j for j, col in enumerate(names) if col == name or col.startswith(f"{name}[")]


def _held_row(result: MetaRegressionResult, moderator: str, at: Mapping[str, Any] | None) -> Array:
    """The design row with every column at its mean, then the ``at`` values applied."""
    row: Array = np.asarray(result.design.X, dtype=np.float64).mean(axis=0)
    if at is None:
        return row
    if not isinstance(at, Mapping):
        raise InvalidParameterError(
            f"The 'at' parameter of {_OWNER} must be a mapping of moderator name to value. "
            f"Got {short_repr(at)}."
        )
    encoding = dict(result.design.encoding)
    for name, value in at.items():
        if name not in encoding or name == moderator:
            others = sorted(n for n in encoding if n != moderator)
            raise InvalidParameterError(
                f"The 'at' parameter of {_OWNER} must name the other moderators ({others}). "
                f"Got {name!r}."
            )
        levels = encoding[name]
        cols = _columns_of(result, name)
        if levels is None:
            if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(
                float(value)
            ):
                raise InvalidParameterError(
                    f"The 'at' parameter of {_OWNER} must give moderator {name!r} a finite "
                    f"number. Got {value!r}."
                )
            row[cols[0]] = float(value)
        else:
            if value not in levels:
                raise InvalidParameterError(
                    f"The 'at' parameter of {_OWNER} must give moderator {name!r} one of its "
                    f"levels {list(levels)}. Got {value!r}."
                )
            for j in cols:
                row[j] = 1.0 if result.design.names[j] == f"{name}[{value}]" else 0.0
    return row


def _predict(result: MetaRegressionResult, rows: Array, level: float) -> tuple[Array, ...]:
    pred = rows @ result.coef
    se = np.sqrt(np.einsum("ip,pq,iq->i", rows, result.vcov, rows))
    crit = z_crit(level) if result.df is None else float(t_crit(level, result.df))
    half_pi = crit * np.sqrt(se**2 + result.tau2)
    return pred, pred - crit * se, pred + crit * se, pred - half_pi, pred + half_pi


def bubble_content(
    result: MetaRegressionResult,
    moderator: str,
    *,
    at: Mapping[str, Any] | None = None,
    xvals: Sequence[float] | None = None,
    level: float | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> BubbleContent:
    """The points and fitted values of the bubble plot (see :func:`bubble_plot`)."""
    result = check_result(
        _OWNER, result, MetaRegressionResult, "a MetaRegressionResult (MetaRegression().fit())"
    )
    encoding = dict(result.design.encoding)
    if not isinstance(moderator, str) or moderator not in encoding:
        raise InvalidParameterError(
            f"The 'moderator' parameter of {_OWNER} must be one of the moderators of the fit "
            f"({list(encoding)}). Got {short_repr(moderator)}."
        )
    lv = result.level if level is None else check_level(_OWNER, level)
    X = np.asarray(result.design.X, dtype=np.float64)
    cols = _columns_of(result, moderator)
    held = _held_row(result, moderator, at)
    levels = encoding[moderator]
    if levels is None:
        x = X[:, cols[0]]
        if xvals is None:
            span = float(x.max() - x.min())
            line_x = np.linspace(x.min() - 0.04 * span, x.max() + 0.04 * span, 200)
        else:
            line_x = np.asarray(xvals, dtype=np.float64)
        rows = np.repeat(held[None, :], line_x.size, axis=0)
        rows[:, cols[0]] = line_x
        shown_levels: tuple[str, ...] = ()
    else:
        names = result.design.names
        level_of_col = {j: names[j][len(moderator) + 1 : -1] for j in cols}
        position = {name: p for p, name in enumerate(levels)}
        x = np.zeros(result.k)
        for j, name in level_of_col.items():
            x[X[:, j] == 1.0] = position[name]
        line_x = np.arange(len(levels), dtype=np.float64)
        rows = np.repeat(held[None, :], len(levels), axis=0)
        for p, name in enumerate(levels):
            for j in cols:
                rows[p, j] = 1.0 if level_of_col[j] == name else 0.0
        shown_levels = tuple(levels)
    pred, ci_low, ci_high, pi_low, pi_high = _predict(result, rows, lv)
    weights = 1.0 / (result.vi + result.tau2)
    axis = EffectAxis(result.measure)
    fixed = tuple(
        (result.design.names[j], float(held[j]))
        for j in range(held.size)
        if j not in cols and result.design.names[j] != "intercept"
    )
    return BubbleContent(
        moderator=moderator,
        levels=shown_levels,
        x=x,
        y=result.yi,
        cex=metafor_cex(np.sqrt(weights)),
        line_x=line_x,
        pred=pred,
        ci_low=ci_low,
        ci_high=ci_high,
        pi_low=pi_low,
        pi_high=pi_high,
        at=fixed,
        axis=axis,
        labels=result.labels,
        xlabel=moderator if xlabel is None else xlabel,
        ylabel=axis.title if ylabel is None else ylabel,
        title=title or "",
    )


def bubble_plot(
    result: MetaRegressionResult,
    moderator: str,
    *,
    at: Mapping[str, Any] | None = None,
    ci: bool = True,
    pi: bool = False,
    level: float | None = None,
    xvals: Sequence[float] | None = None,
    color: Any = None,
    fill_color: Any = None,
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
    """Bubble plot of a meta-regression: each study's effect against a moderator.

    Point areas grow with the study's weight in the meta-regression; the
    fitted line (the other moderators held at their means, or at ``at``) is
    drawn with its confidence band and, optionally, its prediction band. For a
    categorical moderator the studies are drawn per level, with each level's
    fitted mean and its confidence interval.

    Parameters
    ----------
    result : MetaRegressionResult
        A fitted meta-regression (:class:`~metapool.MetaRegression`).
    moderator : str
        The moderator on the x axis (a name in ``result.design.encoding``).
    at : mapping, optional
        Values of the other moderators for the line: a number for a numeric
        one, a level name for a categorical one. Others are held at the mean
        of their design-matrix columns (for a categorical moderator: the
        share of each level), as metafor's ``regplot``.
    ci, pi : bool, default True and False
        Draw the confidence band (interval) and the prediction band (interval).
    level : float, optional
        Level of the bands; default ``result.level``.
    xvals : sequence of float, optional
        Values of a numeric moderator at which the line is evaluated (default
        200 points over its range, widened by 4 % on each side).
    color, fill_color : color, optional
        Colour of lines and point edges (default the ``style``'s ``line_color``)
        and of the points' fill (default the ``style``'s ``square_color``).
    xlabel, ylabel, title : str, optional
        Axis labels (default the moderator's and the measure's names) and a title.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 × 3.0 (one journal column).
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
    InvalidParameterError
        For a moderator not in the fit, an ``at`` naming an unknown moderator or
        giving a bad value, a level outside (0, 1), an unknown colour, a size
        that is not positive, or a ``path`` matplotlib cannot write.
    MetapoolTypeError
        If ``result`` is not a MetaRegressionResult or another argument has the
        wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    As metafor's ``regplot``: the weights are ``1/(v_i + τ̂²)`` and the point
    sizes their square roots rescaled linearly to 0.5-3.5 times the style's
    marker size (larger points drawn first); the line is ``x'β̂`` with the
    confidence band ``x'β̂ ± crit·sqrt(x'Vx)`` and the prediction band
    ``x'β̂ ± crit·sqrt(x'Vx + τ̂²)`` (``crit`` from z, or t(k - p) for t-based
    fits). Effects are drawn on the measure's natural scale (ratios on a log
    axis). Gids: ``bubble-study-<i>``, ``bubble-line``, ``bubble-ci``,
    ``bubble-pi``, and for a categorical moderator ``bubble-level-<j>`` (the
    fitted mean) and ``bubble-level-ci-<j>``.

    References
    ----------
    .. [1] Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
       undertaken and interpreted? Stat Med 21(11):1559-1573.
    .. [2] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.6, 0.5], vi=[0.02, 0.03, 0.05, 0.02, 0.04])
    >>> reg = mp.MetaRegression().fit(eff, {"dose": [1.0, 2.0, 1.5, 4.0, 3.0]})
    >>> fig = mp.bubble_plot(reg, moderator="dose", pi=True)
    >>> sorted({str(a.get_gid()) for a in fig.axes[0].collections})
    ['bubble-ci', 'bubble-pi']
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    ax = check_ax(_OWNER, ax)
    check_bool(_OWNER, "ci", ci)
    check_bool(_OWNER, "pi", pi)
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
    fill = (
        style.square_color if fill_color is None else check_color(_OWNER, "fill_color", fill_color)
    )
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    content = bubble_content(
        result,
        moderator,
        at=at,
        xvals=xvals,
        level=level,
        xlabel=xlabel,
        ylabel=ylabel,
        title=title,
    )
    from metapool.plotting._mpl import save

    fig = _draw(
        content,
        style,
        ci=bool(ci),
        pi=bool(pi),
        color=color,
        fill=fill,
        figsize=figsize or (3.35, 3.0),
        ax=ax,
    )
    save(fig, path, style, None)
    return fig


def _natural(content: BubbleContent, values: Array) -> Array:
    axis = content.axis
    return axis.x_of_u_array([axis.u(float(v)) for v in values])


def _draw(
    c: BubbleContent,
    style: PlotStyle,
    *,
    ci: bool,
    pi: bool,
    color: Any,
    fill: Any,
    figsize: tuple[float, float],
    ax: Axes | None,
) -> Figure:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig, ax = new_axes(ax, style, figsize)
    nat = _natural
    lw = style.ci_width
    if c.categorical:
        for j, x in enumerate(c.line_x):
            if pi:
                ax.plot(
                    [x, x],
                    nat(c, np.array([c.pi_low[j], c.pi_high[j]])),
                    color=color,
                    lw=lw,
                    ls=":",
                    zorder=2,
                    gid=f"bubble-level-pi-{j}",
                )
            if ci:
                ax.plot(
                    [x, x],
                    nat(c, np.array([c.ci_low[j], c.ci_high[j]])),
                    color=color,
                    lw=1.6 * lw,
                    zorder=2,
                    gid=f"bubble-level-ci-{j}",
                )
            ax.plot(
                [x - 0.3, x + 0.3],
                nat(c, np.array([c.pred[j]] * 2)),
                color=color,
                lw=1.6 * lw,
                zorder=2,
                gid=f"bubble-level-{j}",
            )
    else:
        if pi:
            ax.fill_between(
                c.line_x,
                nat(c, c.pi_low),
                nat(c, c.pi_high),
                color="0.93",
                lw=0,
                zorder=0,
                gid="bubble-pi",
            )
            for band in (c.pi_low, c.pi_high):
                ax.plot(c.line_x, nat(c, band), color=color, lw=0.6 * lw, ls=":", zorder=1)
        if ci:
            ax.fill_between(
                c.line_x,
                nat(c, c.ci_low),
                nat(c, c.ci_high),
                color="0.82",
                lw=0,
                zorder=0.5,
                gid="bubble-ci",
            )
            for band in (c.ci_low, c.ci_high):
                ax.plot(c.line_x, nat(c, band), color=color, lw=0.6 * lw, ls="--", zorder=1)
        ax.plot(c.line_x, nat(c, c.pred), color=color, lw=lw, zorder=2, gid="bubble-line")
    y = nat(c, c.y)
    for i in np.argsort(-c.cex, kind="stable"):
        ax.plot(
            [c.x[i]],
            [y[i]],
            linestyle="none",
            marker="o",
            markersize=style.marker_size * float(c.cex[i]),
            markerfacecolor=fill,
            markeredgecolor=color,
            markeredgewidth=0.5,
            alpha=0.85,
            zorder=3,
            gid=f"bubble-study-{i}",
        )
    if c.axis.has_null and c.axis.null is not None:
        ax.axhline(c.axis.null, color="0.5", lw=0.5, zorder=0.2, gid="bubble-null")
    if c.axis.is_log:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        ax.yaxis.set_major_locator(FixedLocator(list(log_ticks(low, high))))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
        ax.yaxis.set_minor_locator(NullLocator())
    if c.categorical:
        ax.set_xticks(c.line_x, list(c.levels))
        ax.set_xlim(-0.6, len(c.levels) - 0.4)
    elif c.line_x.size > 1:
        ax.set_xlim(float(c.line_x.min()), float(c.line_x.max()))
        ax.set_xticks(list(linear_ticks(float(c.line_x.min()), float(c.line_x.max()))))
    finish_axes(ax, style, xlabel=c.xlabel, ylabel=c.ylabel, title=c.title)
    return fig
