"""Forest plot of a multilevel model that shows its level structure.

:func:`multilevel_forest_content` lays the rows out (no matplotlib): one block per
group of the outermost level, headed by the group's id, with one row per effect
size (its label and, for deeper models, its ids at the inner levels); then the
pooled estimate as a diamond and its prediction interval for an intercept-only
model. :func:`multilevel_forest_plot` draws it in the :class:`~metapool.PlotStyle`
of the other plots; :meth:`metapool.MultilevelResult.plot_forest` calls it.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import z_crit
from metapool.plotting._checks import (
    check_ax,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
)
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._scatter import check_result, metafor_cex
from metapool.plotting._style import PlotStyle
from metapool.plotting._ticks import linear_ticks, log_ticks
from metapool.results import MultilevelResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MultilevelForestContent", "multilevel_forest_content", "multilevel_forest_plot"]

Array = NDArray[np.float64]
_OWNER = "multilevel_forest_plot"


@attrs.frozen(kw_only=True)
class MultilevelForestContent:
    """What the plot shows, top to bottom (effects on the analysis scale).

    Attributes
    ----------
    kinds : tuple of str
        Each row's kind: ``"group"`` (a heading: an outer group's id), ``"effect"``
        (an effect size) or ``"pooled"`` (the pooled estimate).
    texts : tuple of str
        Each row's text (group heading, effect label, ``"Pooled estimate"``).
    estimate, ci_low, ci_high : ndarray
        Effect and Wald CI per row (NaN for headings).
    size : ndarray
        Square size of an effect row (metafor's point-size scaling of ``1/se``; NaN
        otherwise).
    pi : tuple of float
        The prediction interval drawn under the diamond, or ``(nan, nan)``.
    axis : EffectAxis
        The measure's axis.
    title : str
        The plot title.
    """

    kinds: tuple[str, ...]
    texts: tuple[str, ...]
    estimate: Array = array_field()
    ci_low: Array = array_field()
    ci_high: Array = array_field()
    size: Array = array_field()
    pi: tuple[float, float]
    axis: EffectAxis
    title: str


def multilevel_forest_content(
    result: MultilevelResult, *, title: str | None = None
) -> MultilevelForestContent:
    """Rows of the forest plot of ``result``, grouped by its outermost level.

    Parameters
    ----------
    result : MultilevelResult
        A fitted multilevel model.
    title : str, optional
        Plot title (default: "Effect sizes by <outermost level>").

    Returns
    -------
    MultilevelForestContent

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.6, 0.5], vi=[0.02, 0.03, 0.02, 0.04, 0.03])
    >>> res = mp.MultilevelModel(profile=False).fit(
    ...     eff, levels={"study": ["A", "A", "B", "B", "C"], "es": [1, 2, 1, 2, 1]}
    ... )
    >>> c = multilevel_forest_content(res)
    >>> c.kinds[:4], c.texts[:4]
    (('group', 'effect', 'effect', 'group'), ('study A', 'Study 1', 'Study 2', 'study B'))
    """
    res = check_result(_OWNER, result, MultilevelResult, "a MultilevelResult")
    title = check_optional_str(_OWNER, "title", title)
    outer = res.level_codes[0]
    crit = z_crit(res.level)
    se = np.sqrt(res.vi)
    size = metafor_cex(1.0 / se)
    kinds: list[str] = []
    texts: list[str] = []
    est: list[float] = []
    low: list[float] = []
    high: list[float] = []
    sizes: list[float] = []
    nan = math.nan
    name = res.level_names[0]
    for g in range(int(outer.max()) + 1):
        rows = np.flatnonzero(outer == g)
        kinds.append("group")
        texts.append(f"{name} {res.group_ids[0][g]}")
        for column in (est, low, high, sizes):
            column.append(nan)
        for i in rows.tolist():
            kinds.append("effect")
            texts.append(res.labels[i])
            y = float(res.yi[i])
            est.append(y)
            low.append(y - crit * float(se[i]))
            high.append(y + crit * float(se[i]))
            sizes.append(float(size[i]))
    pi = (nan, nan)
    if res.p == 1 and res.design_info.intercept:
        kinds.append("pooled")
        texts.append("Pooled estimate")
        est.append(float(res.coef[0]))
        low.append(float(res.ci.low[0]))
        high.append(float(res.ci.high[0]))
        sizes.append(nan)
        pi = (float(res.pi.low), float(res.pi.high))
    return MultilevelForestContent(
        kinds=tuple(kinds),
        texts=tuple(texts),
        estimate=np.array(est),
        ci_low=np.array(low),
        ci_high=np.array(high),
        size=np.array(sizes),
        pi=pi,
        axis=EffectAxis(res.measure),
        title=f"Effect sizes by {name}" if title is None else title,
    )


def multilevel_forest_plot(
    result: MultilevelResult,
    *,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Forest plot of a multilevel model, effect sizes grouped by the outermost level.

    Each outer group (a study, a district) is a block headed by its id; its effect
    sizes follow with their Wald confidence intervals and squares sized by precision.
    An intercept-only model ends with the pooled estimate as a diamond and its
    prediction interval as a line through it. Ratios are drawn on a log axis.

    Parameters
    ----------
    result : MultilevelResult
        A fitted multilevel model.
    title : str, optional
        Plot title (default: "Effect sizes by <outermost level>").
    figsize : tuple of float, optional
        Figure size in inches (default: 6 wide, 0.18 per row).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    path : str or path-like, optional
        Save the figure there (format from the suffix).
    style : PlotStyle, optional
        Fonts, colours and line widths.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    MetapoolTypeError
        If ``result`` is not a MultilevelResult, or another argument has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.
    """
    require_matplotlib(_OWNER)
    content = multilevel_forest_content(result, title=title)
    style = check_style(_OWNER, style)
    ax = check_ax(_OWNER, ax)
    size = check_figsize(_OWNER, figsize)
    out = check_path(_OWNER, path)
    from metapool.plotting._mpl import root_figure, save
    from metapool.plotting._scatter import finish_axes, new_axes

    n = len(content.kinds)
    fig, ax = new_axes(ax, style, size or (6.0, max(2.0, 0.8 + 0.18 * n)))
    axis = content.axis
    y = np.arange(n, 0, -1, dtype=float)
    xs = axis.x_of_u_array([axis.u(v) if math.isfinite(v) else math.nan for v in content.ci_low])
    xe = axis.x_of_u_array([axis.u(v) if math.isfinite(v) else math.nan for v in content.estimate])
    xh = axis.x_of_u_array([axis.u(v) if math.isfinite(v) else math.nan for v in content.ci_high])
    fontsize, family = style.font_size, style.font_family
    labels = []
    for r, kind in enumerate(content.kinds):
        labels.append(content.texts[r] if kind != "effect" else "   " + content.texts[r])
        if kind == "effect":
            ax.plot([xs[r], xh[r]], [y[r], y[r]], color=style.line_color,
                    lw=style.ci_width, gid="ml-ci")  # fmt: skip
            ax.plot([xe[r]], [y[r]], marker="s", ms=style.marker_size * content.size[r] / 2,
                    color=style.square_color, ls="none", gid="ml-square")  # fmt: skip
        elif kind == "pooled":
            if all(math.isfinite(v) for v in content.pi):
                pl, ph = (axis.x(v) for v in content.pi)
                ax.plot([pl, ph], [y[r], y[r]], color=style.diamond_color,
                        lw=style.prediction_width, gid="ml-pi")  # fmt: skip
            ax.fill(
                [xs[r], xe[r], xh[r], xe[r]],
                [y[r], y[r] + 0.35, y[r], y[r] - 0.35],
                color=style.diamond_color,
                gid="ml-diamond",
            )
    if axis.has_null and axis.null is not None:
        ax.axvline(axis.null, color="0.5", lw=0.5, zorder=0.2, gid="ml-null")
    ax.set_yticks(y, labels)
    for label, kind in zip(ax.get_yticklabels(), content.kinds, strict=True):
        label.set_fontfamily(family)
        label.set_fontsize(fontsize)
        if kind != "effect":
            label.set_fontweight("bold")
    ax.set_ylim(0.3, n + 0.7)
    finite = np.concatenate([xs[np.isfinite(xs)], xh[np.isfinite(xh)]])
    if axis.is_log:
        ax.set_xscale("log")
        lo, hi = float(finite.min()), float(finite.max())
        from matplotlib.ticker import FixedLocator, NullLocator

        ax.xaxis.set_major_locator(FixedLocator(list(log_ticks(lo, hi))))
        ax.xaxis.set_minor_locator(NullLocator())
    elif finite.size and finite.max() > finite.min():
        ax.set_xticks(list(linear_ticks(float(finite.min()), float(finite.max()))))
    finish_axes(ax, style, xlabel=axis.title, ylabel="", title=content.title,
                spines=("bottom",))  # fmt: skip
    ax.tick_params(axis="y", length=0)
    save(root_figure(ax), out, style, None)
    return fig
