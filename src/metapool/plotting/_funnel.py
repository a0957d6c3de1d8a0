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
from metapool.plotting._axes import (
    clip_polygon,
    clip_segment,
    drawing_band,
    root_figure,
    save,
    set_effect_axis,
)
from metapool.plotting._checks import (
    check_ax,
    check_bool,
    check_color,
    check_figsize,
    check_limits,
    check_optional_str,
    check_path,
    check_positive,
    check_ticks,
    require_matplotlib,
    short_repr,
)
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
#: Largest log ratio whose exponential is a finite float.
_MAX_EXP = 709.0


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
        Save the figure there (PNG, PDF, SVG, … by the suffix; PNG without
        one). A suffix matplotlib cannot write is an error.
    dpi : float, optional
        Resolution used when saving to ``path``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidParameterError
        For contour levels outside (0, 1), invalid limits or ticks, an
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
    Ratio measures are plotted on a log axis labelled on the natural scale;
    the standard errors are those of the log ratios. Contours are
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
    require_matplotlib(owner)
    if not isinstance(result, MetaResult):
        raise MetapoolTypeError(
            "The 'result' parameter of funnel_plot must be a MetaResult (the result of a "
            f"model's fit()). Got {type(result).__name__} ({short_repr(result)})."
        )
    ax = check_ax(owner, ax)
    levels = _check_levels(contours)
    check_bool(owner, "pseudo_ci", pseudo_ci)
    for name, text in (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)):
        check_optional_str(owner, name, text)
    check_color(owner, "color", color)
    legend = _check_legend(legend)
    fontsize = check_positive(owner, "fontsize", fontsize)  # type: ignore[assignment]
    if not isinstance(fontfamily, str):
        raise MetapoolTypeError(
            f"The 'fontfamily' parameter of {owner} must be a str, e.g. 'sans-serif'. "
            f"Got {type(fontfamily).__name__} ({short_repr(fontfamily)})."
        )
    figsize = check_figsize(owner, figsize)
    path = check_path(owner, path)
    dpi = check_positive(owner, "dpi", dpi, optional=True)
    log_scale = result.measure.scale.axis == "log"
    limits = check_limits(owner, "xlim", xlim, log_scale)
    given_ticks = check_ticks(owner, "xticks", xticks, log_scale)

    def to_x(v: Any) -> NDArray[np.float64]:
        """Analysis scale to the axis' natural scale (finite also for huge log ratios)."""
        a = np.asarray(v, dtype=np.float64)
        return np.exp(np.clip(a, -_MAX_EXP, _MAX_EXP)) if log_scale else a

    def to_u(x: float) -> float:
        """The axis' natural scale back to the analysis scale."""
        return math.log(x) if log_scale else x

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
    all_se = all_se[np.isfinite(all_se)]
    se_max = float(all_se.max()) * 1.08 if all_se.size and all_se.max() > 0 else 1.0
    has_centre = math.isfinite(centre)

    if limits is None:
        # Every study, the pseudo-confidence region at its widest and the null
        # with contours; never beyond 10**±300 (ratios) or ±1e300.
        bound = _style.MAX_LOG10 * math.log(10.0) if log_scale else _style.MAX_LINEAR
        xs = [yi, fy]
        if pseudo_ci and has_centre:
            xs.append(np.array([centre - z * se_max, centre + z * se_max]))
        if levels:
            xs.append(np.array([null]))
        values = np.clip(np.concatenate(xs), -bound, bound)
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (-1.0, 1.0)
        pad = 0.04 * (high - low) if high > low else 0.5
        low, high = max(low - pad, -bound), min(high + pad, bound)
        limits = (float(to_x(low)), float(to_x(high)))
    band = (to_u(limits[0]), to_u(limits[1]))  # the axis on the analysis scale
    shapes = drawing_band(band, log_scale)  # shapes are cut to this range before they are drawn
    ticks = (
        given_ticks
        if given_ticks is not None
        else (_style.log_ticks(*limits) if log_scale else _style.linear_ticks(*limits))
    )

    if ax is None:
        import matplotlib.pyplot as plt

        has_legend = legend is True and (bool(levels) or trimfill is not None)
        size = figsize or (3.35, 3.6 if has_legend else 3.0)
        fig = plt.figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
    fig = root_figure(ax)
    # The axes first, so that nothing drawn later rescales them (a log axis
    # autoscaled to a point at 1e307 would overflow).
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
            triangle = [(null - zl * se_max, se_max), (null, 0.0), (null + zl * se_max, se_max)]
            points = clip_polygon(triangle, *shapes)
            if not points:
                continue
            ax.add_patch(
                Polygon(
                    [(float(to_x(x)), y) for x, y in points],
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
    if pseudo_ci and has_centre:
        rx, ry = _region_lines(centre, z, se_max, shapes)
        ax.plot(to_x(rx), ry, color=color, lw=0.7, ls=(0, (4, 3)), zorder=2, gid="pseudo-ci")
        (pooled_line,) = ax.plot(
            [float(to_x(centre))] * 2,
            [0.0, se_max],
            color=color,
            lw=0.8,
            zorder=2,
            gid="pooled-line",
        )
        if trimfill is not None and centre != result.estimate and math.isfinite(result.estimate):
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
    _beyond_markers(ax, yi, se, band, limits, color, filled=True, gid="funnel-beyond")
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
        _beyond_markers(ax, fy, fse, band, limits, color, filled=False, gid="funnel-filled-beyond")
        handles[:0] = [studies, filled]
        if pseudo_ci:
            handles += [
                line
                for gid in ("pooled-line-observed", "pooled-line")
                for line in ax.lines
                if line.get_gid() == gid and not str(line.get_label()).startswith("_")
            ]

    ax.tick_params(axis="y", labelsize=fontsize, length=3.0, width=0.6, pad=2.0)
    for tick_label in ax.get_yticklabels():
        tick_label.set_fontfamily(fontfamily)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_linewidth(0.6)
    name = result.measure.title
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


def _region_lines(
    centre: float, z: float, se_max: float, band: tuple[float, float]
) -> tuple[list[float], list[float]]:
    """The two sides of the pseudo-confidence region cut to the axis (analysis scale).

    Cut on the analysis scale, the sides keep their slope; a side wholly beyond
    the axis is left out (NaN separates the two pieces).
    """
    apex = (centre, 0.0)
    sides = [
        clip_segment(apex, (centre + sign * z * se_max, se_max), *band) for sign in (-1.0, 1.0)
    ]
    left, right = sides
    if left is not None and right is not None and left[0] == apex and right[0] == apex:
        points = [left[1], apex, right[1]]
        return [p[0] for p in points], [p[1] for p in points]
    xs: list[float] = []
    ys: list[float] = []
    for side in sides:
        if side is not None:
            xs += [side[0][0], side[1][0], math.nan]
            ys += [side[0][1], side[1][1], math.nan]
    return xs, ys


def _beyond_markers(
    ax: Axes,
    yi: NDArray[np.float64],
    se: NDArray[np.float64],
    band: tuple[float, float],
    limits: tuple[float, float],
    color: str,
    *,
    filled: bool,
    gid: str,
) -> None:
    """Studies beyond the x axis as arrowheads on its edge, at their standard error."""
    for side, beyond, edge, marker in (
        ("low", yi < band[0], limits[0], "<"),
        ("high", yi > band[1], limits[1], ">"),
    ):
        if not beyond.any():
            continue
        ax.plot(
            [edge] * int(beyond.sum()),
            se[beyond],
            linestyle="none",
            marker=marker,
            markersize=4.5,
            color=color,
            markerfacecolor=color if filled else "white",
            markeredgecolor=color,
            markeredgewidth=0 if filled else 0.8,
            clip_on=False,
            zorder=3,
            gid=f"{gid}-{side}",
        )
