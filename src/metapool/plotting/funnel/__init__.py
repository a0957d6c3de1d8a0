"""Funnel plots, optionally contour-enhanced and with trim-and-fill's studies.

:func:`funnel_plot` checks its arguments, builds the content (:mod:`._content`:
points, lines and axis range from the result) and draws it (:mod:`._draw`,
which imports matplotlib) in the :class:`~metapool.PlotStyle` shared with the
forest plot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

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
from metapool.plotting._style import PlotStyle
from metapool.plotting.funnel._content import funnel_content

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from metapool.results import MetaResult

__all__ = ["funnel_plot"]


def funnel_plot(
    result: MetaResult,
    *,
    contours: Sequence[float] | None = None,
    trimfill: Any = None,
    pseudo_ci: bool = True,
    sunset: bool = False,
    sunset_effect: float | None = None,
    sunset_alpha: float = 0.05,
    level: float | None = None,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    color: Any = None,
    legend: bool | str = True,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Funnel plot: each study's effect against its standard error.

    The standard error runs down the y axis from 0 at the top, so that the
    largest studies are at the top, and the pseudo-confidence region (the
    triangle ``estimate ± z·SE``) shows where 95 % of the studies would lie
    without heterogeneity or small-study effects.

    Parameters
    ----------
    result : MetaResult
        A fitted analysis.
    contours : sequence of float, optional
        Confidence levels of significance contours around the null (0, or 1
        for ratios), e.g. ``(0.90, 0.95, 0.99)``: a contour-enhanced funnel
        plot whose shaded bands show where a study's own test of no effect
        would have p between the levels' alphas (Peters et al. 2008), with a
        legend.
    trimfill : trim-and-fill result, optional
        The result of :func:`metapool.bias.trim_and_fill` (any object with
        ``.filled``, the imputed studies with ``yi`` and ``vi``, and
        ``.adjusted``, the MetaResult after filling). The imputed studies are
        drawn as open circles, and the funnel is centred on the adjusted
        estimate, with the observed estimate as a dotted line.
    pseudo_ci : bool, default True
        Draw the pseudo-confidence region (dashed lines) and the pooled estimate.
    sunset : bool, default False
        A "sunset" (power-enhanced) funnel plot (Kossmeier et al. 2020 [4]_):
        the background is shaded in horizontal bands by the power of a study
        with that standard error to detect the true effect ``sunset_effect``
        with a two-sided z test at ``sunset_alpha`` (bands change colour at
        10 %, 20 %, ..., 90 % power; brighter is more power); a power axis on the
        right labels the band edges and the studies' median power is shown.
        Cannot be combined with ``contours``.
    sunset_effect : float, optional
        The true effect assumed for the power, on the natural scale (a ratio
        for ratio measures); default the pooled estimate.
    sunset_alpha : float, default 0.05
        Two-sided significance level of the studies' tests.
    level : float, optional
        Level of the pseudo-confidence region; default ``result.level``.
    xlim, xticks : sequence of float, optional
        Axis limits and ticks on the natural scale (ratios, not log ratios).
    xlabel, ylabel : str, optional
        Axis labels; default the measure's name and "Standard error".
    color : color, optional
        Colour of the study markers and lines; default the ``style``'s
        ``line_color`` (black).
    legend : bool or str, default True
        Show a legend when there is something to explain (contours, filled
        studies): below the plot when True, inside it at this matplotlib
        location when a string (e.g. ``"upper right"``), not at all when False.
    fontsize : float, optional
        Font size in points; default the ``style``'s (8).
    fontfamily : str, optional
        Font family; default the ``style``'s (``"sans-serif"``).
    title : str, optional
        Axes title.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 inches (8.5 cm, one
        journal column) wide.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    path : str or path-like, optional
        Save the figure there (PNG, PDF, SVG, … by the suffix; PNG without
        one). A suffix matplotlib cannot write is an error.
    dpi : float, optional
        Resolution used when saving to ``path``; default the ``style``'s.
    style : PlotStyle, optional
        Fonts, colours, line widths, marker sizes and file settings
        (:class:`~metapool.PlotStyle`; default ``PlotStyle()``), as for
        :func:`~metapool.forest_plot`; the keywords above override it.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidParameterError
        For contour levels outside (0, 1) or contours for a measure without a
        null value, invalid limits or ticks, an
        unknown colour or legend location, a size that is not positive, or a
        ``path`` whose suffix matplotlib cannot write. The message names the
        parameter and the value.
    MetapoolTypeError
        If ``result`` is not a MetaResult, ``trimfill`` lacks ``.filled``, or
        another argument has the wrong type (``ax``, flags, texts).
    MissingDependencyError
        If matplotlib is not installed (``pip install "metapool[plot]"``).

    Notes
    -----
    The plot is drawn on the analysis scale of the result's measure, where
    the pseudo-confidence region has straight sides: ratios on a log axis
    labelled on the natural scale (the standard errors are those of the log
    ratios), other transformed measures (logit, Fisher's z) in the units of
    their scale, named in the axis label. Contours need the measure's null
    value (none for a proportion or a correlation). Contours are
    ``null ± z_(1+L)/2 · SE`` for each level ``L``; they are about the null,
    not the pooled estimate, so that one can see whether missing studies lie
    in areas of non-significance (which suggests publication bias) or not
    (which suggests other causes of asymmetry) [3]_. Sterne et al. [2]_
    recommend not to test or interpret funnel asymmetry with fewer than 10
    studies.

    The default axis holds every study and the pseudo-confidence region,
    but never reaches beyond 10^±300 (ratios) or ±1e300; studies beyond the
    axis (there, or outside a given ``xlim``) are drawn as arrowheads on its
    edge at their standard error (``funnel-beyond-low``/``-high``). Lines and
    contours are cut where they leave the axis, keeping their slope.

    Artists carry gids: ``funnel-study`` (one Line2D with a marker per study),
    ``funnel-filled``, ``pooled-line``, ``pooled-line-observed``,
    ``pseudo-ci``, ``contour-<level>`` (one polygon per level),
    ``contour-background``, and for a sunset plot ``sunset-band-<j>`` (from
    the top), ``sunset-power-axis`` (the right axis) and
    ``sunset-median-power`` (the text). Study markers are not clipped at the
    axes' edges, so that a study on the edge is drawn whole.

    References
    ----------
    .. [1] Light RJ, Pillemer DB (1984). Summing Up: The Science of Reviewing
       Research. Harvard University Press.
    .. [2] Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations
       for examining and interpreting funnel plot asymmetry in meta-analyses of
       randomised controlled trials. BMJ 343:d4002.
    .. [3] Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008).
       Contour-enhanced meta-analysis funnel plots help distinguish publication
       bias from other causes of asymmetry. J Clin Epidemiol 61(10):991-996.
    .. [4] Kossmeier M, Tran US, Voracek M (2020). Power-enhanced funnel plots
       for meta-analysis: the sunset funnel plot. Zeitschrift für Psychologie
       228(1):43-49.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> gen = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.5, 0.05], se=[0.1, 0.2, 0.15, 0.3, 0.08])
    >>> fig = mp.funnel_plot(mp.CommonEffect().fit(gen), contours=(0.90, 0.95, 0.99))
    >>> ax = fig.axes[0]
    >>> (studies,) = [line for line in ax.lines if line.get_gid() == "funnel-study"]
    >>> len(studies.get_xdata()), bool(ax.yaxis_inverted())
    (5, True)
    >>> plt.close(fig)
    """
    owner = "funnel_plot"
    require_matplotlib(owner)
    ax = check_ax(owner, ax)
    check_bool(owner, "pseudo_ci", pseudo_ci)
    for name, text in (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)):
        check_optional_str(owner, name, text)
    legend = _check_legend(legend)
    style = check_style(
        owner,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    color = style.line_color if color is None else check_color(owner, "color", color)
    figsize = check_figsize(owner, figsize)
    path = check_path(owner, path)
    content = funnel_content(
        result,
        contours=contours,
        trimfill=trimfill,
        pseudo_ci=bool(pseudo_ci),
        level=level,
        xlim=xlim,
        xticks=xticks,
        xlabel=xlabel,
        ylabel=ylabel,
        title=title,
        sunset=check_bool(owner, "sunset", sunset),
        sunset_effect=sunset_effect,
        sunset_alpha=sunset_alpha,
    )
    from metapool.plotting._mpl import save
    from metapool.plotting.funnel._draw import draw_funnel

    fig = draw_funnel(content, style, color=color, legend=legend, figsize=figsize, ax=ax)
    save(fig, path, style, None)
    return fig


def _check_legend(legend: object) -> bool | str:
    """True, False or a matplotlib legend location such as "upper right"."""
    if isinstance(legend, (bool, np.bool_)):
        return bool(legend)
    from matplotlib.legend import Legend

    locations = list(Legend.codes)
    if not isinstance(legend, str) or legend not in locations:
        raise InvalidParameterError(
            "The 'legend' parameter of funnel_plot must be True, False or a legend location "
            f"({', '.join(map(repr, locations))}). Got {short_repr(legend)}."
        )
    return legend
