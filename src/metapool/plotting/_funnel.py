"""Funnel plots, optionally contour-enhanced and with trim-and-fill's studies."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from metapool._validation import check_level
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting import _style
from metapool.plotting._axes import check_ax, check_limits, root_figure, save, set_effect_axis
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["funnel_plot"]

#: Shades of the significance bands from the innermost outwards, as in Peters
#: et al. (2008) and metafor: white where nothing is significant, darkest just
#: outside it, lighter the more significant.
_DARKEST, _LIGHTEST = 0.62, 0.90


def _alpha_text(alpha: float) -> str:
    decimals = max(2, -math.floor(math.log10(alpha) + 1e-9)) if alpha > 0 else 2
    return f"{alpha:.{decimals}f}"


def _check_levels(contours: Sequence[float] | None) -> list[float]:
    if contours is None:
        return []
    if isinstance(contours, (int, float)):
        contours = [contours]
    try:
        levels = sorted(float(c) for c in contours)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "The 'contours' parameter of funnel_plot must be a sequence of confidence levels "
            f"in (0, 1), e.g. (0.90, 0.95, 0.99). Got {contours!r}."
        ) from exc
    if not levels or any(not 0 < c < 1 for c in levels) or len(set(levels)) != len(levels):
        raise InvalidParameterError(
            "The 'contours' parameter of funnel_plot must be distinct confidence levels in "
            f"(0, 1), e.g. (0.90, 0.95, 0.99). Got {contours!r}."
        )
    return levels


def _shades(n_levels: int) -> list[str]:
    """``n_levels + 1`` band colours, innermost first."""
    greys = [0.78] if n_levels == 1 else np.linspace(_DARKEST, _LIGHTEST, n_levels).tolist()
    return ["white", *(f"{g:.3f}" for g in greys)]


def _trimfill_parts(trimfill: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], float | None]:
    filled = getattr(trimfill, "filled", None)
    if filled is None or not hasattr(filled, "yi") or not hasattr(filled, "vi"):
        raise MetapoolTypeError(
            "The 'trimfill' parameter of funnel_plot must be a trim-and-fill result with "
            "'.filled' (the imputed studies: yi, vi) and '.adjusted' (a MetaResult), as "
            f"returned by metapool.bias.trim_and_fill. Got {type(trimfill).__name__}."
        )
    yi = np.atleast_1d(np.asarray(filled.yi, dtype=np.float64))
    vi = np.atleast_1d(np.asarray(filled.vi, dtype=np.float64))
    adjusted = getattr(trimfill, "adjusted", None)
    estimate = getattr(adjusted, "estimate", None)
    return yi, vi, None if estimate is None else float(estimate)


def funnel_plot(
    result: MetaResult,
    *,
    contours: Sequence[float] | None = None,
    trimfill: Any = None,
    pseudo_ci: bool = True,
    level: float | None = None,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    color: str = "black",
    legend: bool | str = True,
    fontsize: float = _style.FONT_SIZE,
    fontfamily: str = _style.FONT_FAMILY,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
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
    level : float, optional
        Level of the pseudo-confidence region; default ``result.level``.
    xlim, xticks : sequence of float, optional
        Axis limits and ticks on the natural scale (ratios, not log ratios).
    xlabel, ylabel : str, optional
        Axis labels; default the measure's name and "Standard error".
    color : color, default "black"
        Colour of the study markers and lines.
    legend : bool or str, default True
        Show a legend when there is something to explain (contours, filled
        studies): below the plot when True, inside it at this matplotlib
        location when a string (e.g. ``"upper right"``), not at all when False.
    fontsize : float, default 8
        Font size in points.
    fontfamily : str, default "sans-serif"
        Font family.
    title : str, optional
        Axes title.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 inches (8.5 cm, one
        journal column) wide.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    path : str or path-like, optional
        Save the figure there (PNG, PDF, SVG, … by the suffix).
    dpi : float, optional
        Resolution used when saving to ``path``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidParameterError
        For contour levels outside (0, 1) or invalid limits.
    MetapoolTypeError
        If ``result`` is not a MetaResult or ``trimfill`` lacks ``.filled``.

    Notes
    -----
    Ratio measures are plotted on a log axis labelled on the natural scale;
    the standard errors are those of the log ratios. Contours are
    ``null ± z_(1+L)/2 · SE`` for each level ``L``; they are about the null,
    not the pooled estimate, so that one can see whether missing studies lie
    in areas of non-significance (which suggests publication bias) or not
    (which suggests other causes of asymmetry) [3]_. Sterne et al. [2]_
    recommend not to test or interpret funnel asymmetry with fewer than 10
    studies.

    Artists carry gids: ``funnel-study`` (one Line2D with a marker per study),
    ``funnel-filled``, ``pooled-line``, ``pooled-line-observed``,
    ``pseudo-ci``, ``contour-<level>`` (one polygon per level) and
    ``contour-background``.

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
    if not isinstance(result, MetaResult):
        raise MetapoolTypeError(
            f"funnel_plot needs a MetaResult (the result of a model's fit()). "
            f"Got {type(result).__name__}."
        )
    ax = check_ax(owner, ax)
    levels = _check_levels(contours)
    log_scale = result.log_scale
    to_x = np.exp if log_scale else (lambda v: np.asarray(v, dtype=np.float64))
    null = 0.0  # on the analysis scale
    z = NormalDist().inv_cdf(
        0.5 + (result.level if level is None else check_level(owner, level)) / 2
    )

    yi, se = np.asarray(result.yi, dtype=np.float64), np.sqrt(result.vi)
    fy, fse = np.zeros(0), np.zeros(0)
    centre = result.estimate
    if trimfill is not None:
        fy, fvi, adjusted = _trimfill_parts(trimfill)
        fse = np.sqrt(fvi)
        if adjusted is not None:
            centre = adjusted
    all_se = np.concatenate([se, fse])
    se_max = float(all_se.max()) * 1.08 if all_se.size and all_se.max() > 0 else 1.0

    limits = check_limits(owner, "xlim", xlim, log_scale)
    if limits is None:
        xs = [yi, fy]
        if pseudo_ci:
            xs.append(np.array([centre - z * se_max, centre + z * se_max]))
        if levels:
            xs.append(np.array([null]))
        values = np.concatenate(xs)
        low, high = float(values.min()), float(values.max())
        pad = 0.04 * (high - low) if high > low else 0.5
        limits = (float(to_x(low - pad)), float(to_x(high + pad)))
    ticks = (
        tuple(float(t) for t in xticks)
        if xticks is not None
        else (_style.log_ticks(*limits) if log_scale else _style.linear_ticks(*limits))
    )

    if ax is None:
        import matplotlib.pyplot as plt

        has_legend = legend is True and (bool(levels) or trimfill is not None)
        size = figsize or (3.35, 3.6 if has_legend else 3.0)
        fig = plt.figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
    fig = root_figure(ax)

    handles: list[Artist] = []
    text_kw: dict[str, Any] = {"fontsize": fontsize, "fontfamily": fontfamily}

    # ---- contours about the null (drawn first, underneath everything)
    if levels:
        from matplotlib.patches import Patch, Polygon, Rectangle

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
            apex, base = float(to_x(null)), to_x(np.array([null - zl * se_max, null + zl * se_max]))
            ax.add_patch(
                Polygon(
                    [(float(base[0]), se_max), (apex, 0.0), (float(base[1]), se_max)],
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
        for shade, label in zip(shades, labels, strict=True):
            handles.append(Patch(facecolor=shade, edgecolor="0.45", linewidth=0.5, label=label))

    # ---- pseudo-confidence region about the pooled estimate
    if pseudo_ci:
        ys = [se_max, 0.0, se_max]
        region = to_x(np.array([centre - z * se_max, centre, centre + z * se_max]))
        ax.plot(region, ys, color=color, lw=0.7, ls=(0, (4, 3)), zorder=2, gid="pseudo-ci")
        (pooled_line,) = ax.plot(
            [float(to_x(centre))] * 2,
            [0.0, se_max],
            color=color,
            lw=0.8,
            zorder=2,
            gid="pooled-line",
        )
        if trimfill is not None and centre != result.estimate:
            pooled_line.set_label("Adjusted estimate")
            ax.plot(
                [float(to_x(result.estimate))] * 2,
                [0.0, se_max],
                color=color,
                lw=0.8,
                ls=":",
                zorder=2,
                gid="pooled-line-observed",
                label="Observed estimate",
            )

    # ---- the studies
    studies = ax.plot(
        to_x(yi),
        se,
        linestyle="none",
        marker="o",
        markersize=4.0,
        color=color,
        markeredgewidth=0,
        zorder=3,
        gid="funnel-study",
        label="Observed studies" if trimfill is not None else "Studies",
    )[0]
    if trimfill is not None:
        filled = ax.plot(
            to_x(fy),
            fse,
            linestyle="none",
            marker="o",
            markersize=4.0,
            markerfacecolor="white",
            markeredgecolor=color,
            markeredgewidth=0.8,
            zorder=3,
            gid="funnel-filled",
            label="Filled studies" if fy.size else "Filled studies (none)",
        )[0]
        handles[:0] = [studies, filled]
        if pseudo_ci:
            handles += [
                line
                for gid in ("pooled-line-observed", "pooled-line")
                for line in ax.lines
                if line.get_gid() == gid and not str(line.get_label()).startswith("_")
            ]

    ax.set_ylim(se_max, 0.0)
    set_effect_axis(
        ax,
        log_scale=log_scale,
        limits=limits,
        ticks=ticks,
        fontsize=fontsize,
        fontfamily=fontfamily,
        color="black",
    )
    ax.tick_params(axis="y", labelsize=fontsize, length=3.0, width=0.6, pad=2.0)
    for tick_label in ax.get_yticklabels():
        tick_label.set_fontfamily(fontfamily)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_linewidth(0.6)
    name = _style.measure_title(result.measure, log_scale)
    ax.set_xlabel(
        xlabel if xlabel is not None else name + (" (log scale)" if log_scale else ""), **text_kw
    )
    default_y = "Standard error" + (f" of log {result.measure}" if log_scale else "")
    ax.set_ylabel(ylabel if ylabel is not None else default_y, **text_kw)
    if title:
        ax.set_title(title, fontweight="bold", **text_kw)
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
            kw.update(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
            ax.legend(handles=handles[0::2] + handles[1::2], **kw)
        else:
            kw.update(loc=str(legend), frameon=True, framealpha=0.9, edgecolor="0.7")
            ax.legend(handles=handles, **kw)
    save(fig, path, dpi)
    return fig
