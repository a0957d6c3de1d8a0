"""Baujat plots: each study's contribution to heterogeneity against its influence.

:func:`baujat_plot` builds the content (:func:`baujat_content`: the
coordinates, from the result and its leave-one-out refits; no matplotlib) and
draws it (matplotlib is imported then) in the :class:`~metapool.PlotStyle`
shared with the forest plot.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool.exceptions import DegenerateDataWarning, InvalidDataError
from metapool.plotting._checks import (
    check_ax,
    check_color,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
)
from metapool.plotting._scatter import check_result, finish_axes, new_axes, point_texts
from metapool.plotting._style import PlotStyle
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["BaujatContent", "baujat_content", "baujat_plot"]

Array = NDArray[np.float64]
_OWNER = "baujat_plot"


@attrs.frozen(kw_only=True)
class BaujatContent:
    """What a Baujat plot shows.

    Attributes
    ----------
    x : ndarray
        Each study's contribution to the heterogeneity statistic: its squared
        Pearson residual ``(y_i - μ̂)² / (v_i + τ̂²)`` (its term of Q for a
        common-effect model).
    y : ndarray
        Its influence on the pooled estimate: ``(μ̂₍₋ᵢ₎ - μ̂)² / Var(μ̂₍₋ᵢ₎)``,
        from the refit without it (NaN where that refit is not estimable).
    texts : tuple of str
        The text beside each point (study numbers, labels, or blanks).
    labels : tuple of str
        The study labels.
    xlabel, ylabel, title : str
        Axis labels and the title ("" for none).
    """

    x: Array = array_field()
    y: Array = array_field()
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    xlabel: str
    ylabel: str
    title: str


def baujat_content(
    result: MetaResult,
    *,
    point_labels: str = "ids",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> BaujatContent:
    """The coordinates of the Baujat plot of ``result`` (see :func:`baujat_plot`)."""
    from metapool.sensitivity import leave_one_out

    result = check_result(_OWNER, result, MetaResult, "a MetaResult (a model's fit())")
    if result.k < 2:
        raise InvalidDataError(
            f"{_OWNER} needs at least two studies (a study's influence is measured by "
            f"leaving it out). Got k = {result.k}."
        )
    texts = point_texts(_OWNER, point_labels, result.labels)
    tau2 = result.tau2 if result.tau2_method is not None and np.isfinite(result.tau2) else 0.0
    x = (result.yi - result.estimate) ** 2 / (result.vi + tau2)
    with warnings.catch_warnings():
        # A refit with a zero-width HKSJ interval still has an estimate and a variance.
        warnings.simplefilter("ignore", DegenerateDataWarning)
        loo = leave_one_out(result)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (loo.estimate - result.estimate) ** 2 / loo.se**2
    common = result.tau2_method is None
    default_x = "Contribution to overall heterogeneity" if common else "Squared Pearson residual"
    return BaujatContent(
        x=x,
        y=y,
        texts=texts,
        labels=result.labels,
        xlabel=default_x if xlabel is None else xlabel,
        ylabel="Influence on overall result" if ylabel is None else ylabel,
        title=title or "",
    )


def baujat_plot(
    result: MetaResult,
    *,
    point_labels: str = "ids",
    color: Any = None,
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
    """Baujat plot: each study's contribution to heterogeneity against its influence.

    Studies in the upper right both add much to the heterogeneity and move the
    pooled estimate when left out [1]_.

    Parameters
    ----------
    result : MetaResult
        A fitted analysis (any model) with at least two studies.
    point_labels : {"ids", "labels", "none"}, default "ids"
        What marks each study: its number (1 to k, in the order of
        ``result.labels``, as metafor), its label, or a dot without text.
    color : color, optional
        Colour of the points and texts; default the ``style``'s ``line_color``.
    xlabel, ylabel, title : str, optional
        Axis labels (default as metafor) and a title.
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
    InvalidDataError
        If ``result`` has fewer than two studies.
    InvalidParameterError
        For an unknown ``point_labels`` choice or colour, a size that is not
        positive, or a ``path`` matplotlib cannot write.
    MetapoolTypeError
        If ``result`` is not a MetaResult or another argument has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    As metafor's ``baujat``: ``x_i = (y_i - μ̂)² / (v_i + τ̂²)`` with the
    full-data τ̂² (0 for a common-effect, Mantel–Haenszel or Peto model), and
    ``y_i = (μ̂₍₋ᵢ₎ - μ̂)² / Var(μ̂₍₋ᵢ₎)`` with the estimate and its variance
    from :func:`~metapool.leave_one_out` (the same model refitted without
    study i). A study whose refit is not estimable is not drawn. The points
    carry the gid ``baujat-study`` and the texts ``baujat-label-<i>``.

    References
    ----------
    .. [1] Baujat B, Mahé C, Pignon JP, Hill C (2002). A graphical method for
       exploring heterogeneity in meta-analyses: application to a meta-analysis
       of 65 trials. Stat Med 21(18):2641-2652.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> res = mp.RandomEffects().fit(
    ...     mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.9], vi=[0.02, 0.03, 0.05, 0.02]))
    >>> fig = mp.baujat_plot(res)
    >>> (points,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "baujat-study"]
    >>> len(points.get_xdata())
    4
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    ax = check_ax(_OWNER, ax)
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
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    content = baujat_content(
        result, point_labels=point_labels, xlabel=xlabel, ylabel=ylabel, title=title
    )
    from metapool.plotting._mpl import save

    fig = _draw(content, style, color=color, figsize=figsize or (3.35, 3.0), ax=ax)
    save(fig, path, style, None)
    return fig


def _draw(
    content: BaujatContent,
    style: PlotStyle,
    *,
    color: Any,
    figsize: tuple[float, float],
    ax: Axes | None,
) -> Figure:
    fig, ax = new_axes(ax, style, figsize)
    ok = np.isfinite(content.x) & np.isfinite(content.y)
    ax.plot(
        content.x[ok],
        content.y[ok],
        linestyle="none",
        marker="o",
        markersize=style.marker_size * 0.75,
        color=color,
        markeredgewidth=0,
        zorder=3,
        gid="baujat-study",
    )
    for i in np.flatnonzero(ok):
        if content.texts[i]:
            ax.annotate(
                content.texts[i],
                (content.x[i], content.y[i]),
                xytext=(3.0, 3.0),
                textcoords="offset points",
                fontsize=style.font_size,
                fontfamily=style.font_family,
                color=color,
                gid=f"baujat-label-{i}",
                annotation_clip=False,
            )
    ax.grid(True, color="0.88", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)
    ax.margins(0.08)
    finish_axes(ax, style, xlabel=content.xlabel, ylabel=content.ylabel, title=content.title)
    return fig
