"""Influence plots: the case-deletion diagnostics of each study in eight panels.

:func:`influence_plot` builds the content (:func:`influence_content`: the
diagnostics of :func:`metapool.influence` and metafor's reference lines; no
matplotlib) and draws one small panel per diagnostic in the
:class:`~metapool.PlotStyle` shared with the forest plot.
"""

from __future__ import annotations

import math
import os
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.plotting._checks import (
    check_color,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
)
from metapool.plotting._numbers import fmt_tick
from metapool.plotting._scatter import check_result
from metapool.plotting._style import PlotStyle
from metapool.plotting._ticks import log_ticks
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["InfluencePanel", "influence_content", "influence_plot"]

Array = NDArray[np.float64]
_OWNER = "influence_plot"


@attrs.frozen(kw_only=True)
class InfluencePanel:
    """One diagnostic: its values per study and metafor's reference lines.

    ``dashed`` and ``dotted`` are the heights of the reference lines (the value
    expected without influence, and the cut-offs of metafor's rule); ``log``
    says whether the panel's y axis is logarithmic (the covariance ratio).
    """

    name: str
    values: tuple[float, ...]
    dashed: tuple[float, ...]
    dotted: tuple[float, ...]
    log: bool = False


def influence_content(result: MetaResult) -> tuple[tuple[InfluencePanel, ...], tuple[bool, ...]]:
    """The eight panels of the influence plot of ``result`` and which studies
    metafor's rule marks as influential (see :func:`influence_plot`)."""
    from metapool.sensitivity import influence

    result = check_result(_OWNER, result, MetaResult, "a MetaResult (a model's fit())")
    inf = influence(result)
    k, p = result.k, 1
    z = NormalDist().inv_cdf(0.975)
    cut = 3 * math.sqrt(p / (k - p))
    tau2 = result.tau2 if result.tau2_method is not None else 0.0
    chi2_median = 0.454936423119572  # qchisq(0.5, df = 1)

    def values(a: Array) -> tuple[float, ...]:
        return tuple(float(v) for v in a)

    panels = (
        InfluencePanel(name="rstudent", values=values(inf.rstudent), dashed=(0.0,), dotted=(-z, z)),
        InfluencePanel(name="dffits", values=values(inf.dffits), dashed=(0.0,), dotted=(-cut, cut)),
        InfluencePanel(
            name="cook.d", values=values(inf.cooks_distance), dashed=(), dotted=(chi2_median,)
        ),
        InfluencePanel(
            name="cov.r", values=values(inf.cov_ratio), dashed=(1.0,), dotted=(), log=True
        ),
        InfluencePanel(name="tau2.del", values=values(inf.tau2_deleted), dashed=(tau2,), dotted=()),
        InfluencePanel(name="QE.del", values=values(inf.q_deleted), dashed=(result.q,), dotted=()),
        InfluencePanel(name="hat", values=values(inf.hat), dashed=(p / k,), dotted=(3 * p / k,)),
        InfluencePanel(name="weight", values=values(inf.weight), dashed=(100 / k,), dotted=()),
    )
    return panels, tuple(bool(b) for b in inf.is_influential)


def influence_plot(
    result: MetaResult,
    *,
    color: Any = None,
    influential_color: Any = "#c0392b",
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Influence plot: eight panels of case-deletion diagnostics, one point per study.

    The panels show, against the study number, the externally studentised
    residual, DFFITS, Cook's distance, the covariance ratio, τ² and Q with the
    study deleted, the leverage (hat value) and the weight [1]_, each with
    metafor's reference lines: dashed where a study without influence lies,
    dotted at the cut-offs of the rule that marks a study as influential.
    Influential studies are filled in ``influential_color``.

    Parameters
    ----------
    result : MetaResult
        A :class:`~metapool.CommonEffect` or :class:`~metapool.RandomEffects`
        fit with at least three studies (as :func:`~metapool.influence`).
    color : color, optional
        Colour of lines and points; default the ``style``'s ``line_color``.
    influential_color : color, default "#c0392b"
        Fill of the points of influential studies.
    title : str, optional
        A title above the panels.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches; default 6.89 × 7.0 (17.5 cm, two journal columns).
    path : str or path-like, optional
        Save the figure there (format by the suffix; PNG without one).
    dpi : float, optional
        Resolution used when saving to ``path``; default the ``style``'s.
    style : PlotStyle, optional
        Fonts, colours, line widths and file settings (default ``PlotStyle()``).

    Returns
    -------
    matplotlib.figure.Figure
        Eight Axes, in the order above (gids ``influence-<name>``).

    Raises
    ------
    InvalidDataError
        With fewer than three studies.
    InvalidParameterError
        For an unknown colour, a size that is not positive or a bad ``path``.
    MetapoolTypeError
        If ``result`` is not an inverse-variance MetaResult, or another argument
        has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    As metafor's ``plot(influence(res))``: reference lines at 0 and ±1.96
    (rstudent), 0 and ±3·sqrt(p/(k-p)) (DFFITS), the median of χ²₁ (Cook's
    distance), 1 on a log axis (covariance ratio), the full-data τ̂² and Q,
    p/k and 3p/k (hat) and 100/k (weight, percent); p = 1. The values are
    those of :func:`~metapool.influence`, tested against metafor's.

    References
    ----------
    .. [1] Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for
       meta-analysis. Res Synth Methods 1(2):112-125.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> res = mp.RandomEffects(tau2="DL").fit(
    ...     mp.GenericEffect(yi=[0.1, 0.2, 0.15, 0.12, 1.5], vi=[0.01] * 5))
    >>> fig = mp.influence_plot(res)
    >>> [ax.get_gid() for ax in fig.axes][:3]
    ['influence-rstudent', 'influence-dffits', 'influence-cook.d']
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    check_optional_str(_OWNER, "title", title)
    style = check_style(
        _OWNER,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    color = style.line_color if color is None else check_color(_OWNER, "color", color)
    influential_color = check_color(_OWNER, "influential_color", influential_color)
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    panels, influential = influence_content(result)
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from metapool.plotting._mpl import new_figure, save

    fig = new_figure(figsize or (6.89, 7.0), style, layout="constrained")
    axes = fig.subplots(4, 2, sharex=True)
    k = len(influential)
    x = np.arange(1, k + 1)
    marked = np.asarray(influential)
    fs, family = style.font_size, style.font_family
    for ax, panel in zip(axes.ravel(), panels, strict=True):
        ax.set_gid(f"influence-{panel.name}")
        y = np.asarray(panel.values)
        if panel.log:
            ax.set_yscale("log")
        for h in panel.dashed:
            ax.axhline(h, color=color, lw=style.rule_width, ls="--", zorder=1)
        for h in panel.dotted:
            ax.axhline(h, color=color, lw=style.rule_width, ls=":", zorder=1)
        ax.plot(x, y, color=color, lw=style.rule_width, zorder=2, gid=f"{panel.name}-line")
        ax.plot(
            x[~marked],
            y[~marked],
            linestyle="none",
            marker="o",
            markersize=style.marker_size,
            markerfacecolor="white",
            markeredgecolor=color,
            markeredgewidth=style.rule_width,
            zorder=3,
            gid=f"{panel.name}-points",
        )
        ax.plot(
            x[marked],
            y[marked],
            linestyle="none",
            marker="o",
            markersize=style.marker_size,
            markerfacecolor=influential_color,
            markeredgecolor=color,
            markeredgewidth=style.rule_width,
            zorder=3,
            gid=f"{panel.name}-influential",
        )
        if panel.log:  # round ticks on the ratio's range, written plainly
            low, high = ax.get_ylim()
            ax.yaxis.set_major_locator(FixedLocator(list(log_ticks(low, high))))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_ylim(low, high)
        ax.set_title(panel.name, fontsize=fs, fontfamily=family, fontweight="bold")
        ax.tick_params(labelsize=fs, length=2.5, width=style.rule_width, pad=2.0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_xlim(0.5, k + 0.5)
        ax.set_xticks(x if k <= 20 else x[:: math.ceil(k / 20)])
    for ax in axes[-1]:
        ax.set_xlabel("Study", fontsize=fs, fontfamily=family)
    if title:
        fig.suptitle(title, fontsize=fs + 1, fontfamily=family, fontweight="bold")
    save(fig, path, style, None)
    return fig
