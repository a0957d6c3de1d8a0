"""GOSH plots: the pooled estimate and I² of every subset of the studies.

:func:`gosh_plot` builds the content (:func:`gosh_content`: the subsets, all
of them up to a limit, else a random sample, fitted through the batched
inverse-variance engine, one call per subset size; no matplotlib) and draws
it as a scatter with marginal histograms in the :class:`~metapool.PlotStyle`
shared with the forest plot.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._warnings import warn
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.plotting._checks import (
    check_ax,
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
from metapool.plotting._scatter import check_result, finish_axes, new_axes
from metapool.plotting._style import PlotStyle
from metapool.plotting._ticks import log_ticks
from metapool.results import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["GoshContent", "gosh_content", "gosh_plot", "gosh_subsets"]

Array = NDArray[np.float64]
_OWNER = "gosh_plot"
#: Default most subsets fitted (all 2^k - 1 of them up to k = 16).
MAX_SUBSETS = 100_000


@attrs.frozen(kw_only=True)
class GoshContent:
    """The fitted subsets of a GOSH plot.

    Attributes
    ----------
    masks : ndarray of bool, shape (n_subsets, k)
        Which studies each subset holds, ordered by subset size.
    k : ndarray of int
        The size of each subset.
    estimate, i2 : ndarray
        Each subset's pooled estimate (analysis scale) and I² (percent), from
        the model of the result (I² of one study is 0).
    converged : ndarray of bool
        Whether each subset's τ² estimator converged.
    exact : bool
        True when every subset was fitted, False for a random sample.
    full_estimate, full_i2 : float
        The full analysis' estimate and I², marked on the plot.
    axis : EffectAxis
        The measure's axis (log for ratios).
    xlabel, ylabel, title : str
        Axis labels and the title.
    """

    masks: NDArray[np.bool_] = array_field()
    k: NDArray[np.int64] = array_field()
    estimate: Array = array_field()
    i2: Array = array_field()
    converged: NDArray[np.bool_] = array_field()
    exact: bool
    full_estimate: float
    full_i2: float
    axis: EffectAxis
    xlabel: str
    ylabel: str
    title: str


def gosh_subsets(k: int, max_subsets: int, seed: Any = None) -> tuple[NDArray[np.bool_], bool]:
    """The subsets of ``k`` studies a GOSH plot fits, as an ``(n, k)`` boolean array.

    Every non-empty subset (``2**k - 1``) when there are at most
    ``max_subsets``, in the order of R's ``expand.grid`` (study 1 varying
    fastest) sorted stably by size; otherwise ``max_subsets`` random subsets
    drawn as metafor's ``gosh`` draws them: a size m from 1 to k with
    probability proportional to the binomial(k, 1/2) probability of m, then m
    distinct studies uniformly. The second value says whether all were taken.

    Examples
    --------
    >>> masks, exact = gosh_subsets(3, 100)
    >>> masks.astype(int).tolist(), exact
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], True)
    >>> gosh_subsets(30, 1000, seed=1)[0].shape
    (1000, 30)
    """
    total = 2**k - 1
    if total <= max_subsets:
        rows = np.arange(1, total + 1, dtype=np.int64)
        masks = ((rows[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)
        order = np.argsort(masks.sum(axis=1), kind="stable")
        return masks[order], True
    from scipy import stats

    rng = np.random.default_rng(seed)
    sizes = np.arange(1, k + 1)
    p = stats.binom.pmf(sizes, k, 0.5)
    m = rng.choice(sizes, size=max_subsets, p=p / p.sum())
    ranks = np.argsort(np.argsort(rng.random((max_subsets, k)), axis=1), axis=1)
    masks = ranks < m[:, None]
    order = np.argsort(m, kind="stable")
    return masks[order], False


def _check_max(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < 2
        or value > 10**8
    ):
        raise InvalidParameterError(
            f"The 'max_subsets' parameter of {_OWNER} must be an integer from 2 to 10**8. "
            f"Got {short_repr(value)}."
        )
    return int(value)


def gosh_content(
    result: MetaResult,
    *,
    max_subsets: int = MAX_SUBSETS,
    seed: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> GoshContent:
    """Fit the subsets of the GOSH plot of ``result`` (see :func:`gosh_plot`)."""
    from metapool.models import CommonEffect, RandomEffects

    result = check_result(_OWNER, result, MetaResult, "a MetaResult (a model's fit())")
    model = result.model
    if not isinstance(model, (CommonEffect, RandomEffects)):
        raise MetapoolTypeError(
            f"{_OWNER} needs an inverse-variance fit (CommonEffect or RandomEffects), whose "
            f"subsets the batched engine fits; got a {result.method}."
        )
    if result.k < 2:
        raise InvalidDataError(f"{_OWNER} needs at least two studies. Got k = {result.k}.")
    max_subsets = _check_max(max_subsets)
    masks, exact = gosh_subsets(result.k, max_subsets, seed)
    sizes = masks.sum(axis=1)
    n = masks.shape[0]
    estimate, i2 = np.empty(n), np.empty(n)
    converged = np.ones(n, dtype=bool)
    yi, vi = result.yi, result.vi
    for m in np.unique(sizes):
        rows = np.flatnonzero(sizes == m)
        cols = np.nonzero(masks[rows])[1].reshape(rows.size, int(m))
        if m == 1:  # one study: its own effect, no heterogeneity (as metafor)
            estimate[rows], i2[rows] = yi[cols[:, 0]], 0.0
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # recorded, warned once below
            # only the estimate and I^2 are used: a zero-width HKSJ interval does not matter
            warnings.simplefilter("ignore", DegenerateDataWarning)
            fit = model.fit_batch(yi[cols], vi[cols], intervals=False)
        estimate[rows], i2[rows], converged[rows] = fit.estimate, fit.i2, fit.converged
    if not converged.all():
        warn(
            f"{_OWNER}: the tau^2 estimator did not converge for {int((~converged).sum())} of "
            f"{n} subsets (GoshContent.converged records which).",
            ConvergenceWarning,
        )
    axis = EffectAxis(result.measure)
    return GoshContent(
        masks=masks,
        k=sizes.astype(np.int64),
        estimate=estimate,
        i2=i2,
        converged=converged,
        exact=exact,
        full_estimate=float(result.estimate),
        full_i2=float(result.i2),
        axis=axis,
        xlabel=axis.title if xlabel is None else xlabel,
        ylabel="I² (%)" if ylabel is None else ylabel,
        title=title or "",
    )


def gosh_plot(
    result: MetaResult,
    *,
    max_subsets: int = MAX_SUBSETS,
    seed: Any = None,
    color: Any = None,
    alpha: float | None = None,
    bins: int = 40,
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
    """GOSH plot: the pooled estimate and I² of subsets of the studies.

    Every non-empty subset of the k studies is pooled with the model of the
    result, up to ``max_subsets`` subsets; beyond that a random sample of them
    [1]_. Clusters in the scatter (estimate on x, I² on y, with their
    histograms in the margins) point to studies that drive heterogeneity.

    Parameters
    ----------
    result : MetaResult
        A :class:`~metapool.CommonEffect` or :class:`~metapool.RandomEffects`
        fit with at least two studies.
    max_subsets : int, default 100000
        Most subsets fitted: all ``2**k - 1`` of them when that is not more
        (k ≤ 16 by default), else this many drawn at random.
    seed : int or numpy Generator, optional
        Seed of the random sample (:func:`numpy.random.default_rng`).
    color : color, optional
        Colour of the points and histograms; default the ``style``'s ``square_color``.
    alpha : float, optional
        Opacity of the points; default from the number of subsets (1 for a few
        hundred, down to 0.1 for 100,000).
    bins : int, default 40
        Bins of the marginal histograms.
    xlabel, ylabel, title : str, optional
        Axis labels (default the measure's name and "I² (%)") and a title.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches of a new figure; default 3.35 × 3.35 (one journal column).
    ax : matplotlib Axes, optional
        Draw the scatter into this Axes (the histograms go into inset axes
        above and to its right).
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
        For ``max_subsets`` not an integer from 2 to 10**8, a bad ``alpha`` or
        ``bins``, an unknown colour, a size that is not positive, or a
        ``path`` matplotlib cannot write.
    MetapoolTypeError
        If ``result`` is not an inverse-variance MetaResult or another argument
        has the wrong type.
    MissingDependencyError
        If matplotlib is not installed.

    Warns
    -----
    ConvergenceWarning
        Once, with the number of subsets whose τ² estimator did not converge.

    Notes
    -----
    The subsets are an ``(n, k)`` boolean array (:func:`gosh_subsets`); those of
    each size m are gathered into an ``(n_m, m)`` batch and fitted by the
    model's ``fit_batch`` (without the τ² intervals), so there is one call per
    subset size and none per subset. The sampling follows metafor's ``gosh``
    (which fits all subsets up to 10^6 by default; metapool's default limit is
    lower because every point is drawn). Gids: ``gosh-subsets`` (one Line2D
    with a marker per subset), ``gosh-full`` (the full analysis),
    ``gosh-hist-x`` and ``gosh-hist-y`` (the marginal axes).

    References
    ----------
    .. [1] Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display
       of study heterogeneity. Res Synth Methods 3(3):214-223.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> res = mp.RandomEffects(tau2="DL").fit(
    ...     mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.9, 0.4], vi=[0.02, 0.03, 0.05, 0.02, 0.04]))
    >>> fig = mp.gosh_plot(res)
    >>> (pts,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "gosh-subsets"]
    >>> len(pts.get_xdata())  # 2**5 - 1 subsets
    31
    >>> plt.close(fig)
    """
    require_matplotlib(_OWNER)
    ax = check_ax(_OWNER, ax)
    for name, text in (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)):
        check_optional_str(_OWNER, name, text)
    if alpha is not None and not (
        isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and 0 < alpha <= 1
    ):
        raise InvalidParameterError(
            f"The 'alpha' parameter of {_OWNER} must be a number in (0, 1] or None. "
            f"Got {short_repr(alpha)}."
        )
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InvalidParameterError(
            f"The 'bins' parameter of {_OWNER} must be a positive integer. Got {short_repr(bins)}."
        )
    style = check_style(
        _OWNER,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    color = style.square_color if color is None else check_color(_OWNER, "color", color)
    figsize = check_figsize(_OWNER, figsize)
    path = check_path(_OWNER, path)
    content = gosh_content(
        result, max_subsets=max_subsets, seed=seed, xlabel=xlabel, ylabel=ylabel, title=title
    )
    from metapool.plotting._mpl import save

    fig = _draw(
        content,
        style,
        color=color,
        alpha=alpha,
        bins=int(bins),
        figsize=figsize or (3.35, 3.35),
        ax=ax,
    )
    save(fig, path, style, None)
    return fig


def _draw(
    c: GoshContent,
    style: PlotStyle,
    *,
    color: Any,
    alpha: float | None,
    bins: int,
    figsize: tuple[float, float],
    ax: Axes | None,
) -> Figure:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig, ax = new_axes(ax, style, figsize)
    n = c.estimate.size
    if alpha is None:
        alpha = float(min(1.0, max(0.1, 30.0 / math.sqrt(n))))
    x = c.axis.x_of_u_array([c.axis.u(float(v)) for v in c.estimate])
    ax.plot(
        x,
        c.i2,
        linestyle="none",
        marker="o",
        markersize=max(1.0, style.marker_size * (0.7 if n < 1000 else 0.35)),
        markeredgewidth=0,
        color=color,
        alpha=alpha,
        rasterized=n > 5000,
        zorder=2,
        gid="gosh-subsets",
    )
    full_x = c.axis.x(c.full_estimate)
    ax.plot(
        [full_x],
        [c.full_i2],
        linestyle="none",
        marker="D",
        markersize=style.marker_size * 1.2,
        markerfacecolor="white",
        markeredgecolor=style.line_color,
        markeredgewidth=style.ci_width,
        zorder=4,
        gid="gosh-full",
    )
    top = ax.inset_axes((0.0, 1.03, 1.0, 0.22), sharex=ax)
    right = ax.inset_axes((1.03, 0.0, 0.22, 1.0), sharey=ax)
    finite = np.isfinite(x) & np.isfinite(c.i2)
    xb: Any = bins
    if c.axis.is_log and finite.any():
        low, high = float(x[finite].min()), float(x[finite].max())
        if 0 < low < high:
            xb = np.geomspace(low, high, bins + 1)
    top.hist(x[finite], bins=xb, color=color, alpha=0.8, lw=0)
    right.hist(c.i2[finite], bins=bins, color=color, alpha=0.8, lw=0, orientation="horizontal")
    top.set_gid("gosh-hist-x")
    right.set_gid("gosh-hist-y")
    for marginal in (top, right):
        marginal.set_axis_off()
    if c.axis.is_log:
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        ax.xaxis.set_major_locator(FixedLocator(list(log_ticks(low, high))))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
        ax.xaxis.set_minor_locator(NullLocator())
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -2.0), min(high, 102.0))
    finish_axes(ax, style, xlabel=c.xlabel, ylabel=c.ylabel, title=c.title)
    return fig
