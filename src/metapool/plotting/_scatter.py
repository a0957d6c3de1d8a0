"""What the diagnostic scatter plots share: point sizes, a figure, finished axes.

The Baujat, radial, L'Abbé, bubble and GOSH plots are scatter plots drawn in
the :class:`~metapool.PlotStyle` of the forest plot. :func:`metafor_cex` is
pure numpy (the content steps use it); the drawing helpers import matplotlib
and are only called by the drawing steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metapool.exceptions import MetapoolTypeError
from metapool.plotting._checks import short_repr

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from metapool.plotting._style import PlotStyle

__all__ = ["check_result", "finish_axes", "metafor_cex", "new_axes", "point_texts"]

#: metafor's default range of point sizes (``plim``) as multiples of the base size.
PLIM = (0.5, 3.5)


def metafor_cex(size: ArrayLike, plim: tuple[float, float] = PLIM) -> NDArray[np.float64]:
    """Point sizes as metafor's ``labbe`` and ``regplot`` scale them.

    ``size`` (e.g. the square root of the weights) is rescaled linearly so that
    the smallest becomes ``plim[0]`` and the largest ``plim[1]``; when all are
    equal (range below ``sqrt(eps)``) every size is 1. NaN stays NaN.

    Examples
    --------
    >>> metafor_cex([1.0, 2.0, 3.0]).tolist()
    [0.5, 2.0, 3.5]
    >>> metafor_cex([2.0, 2.0]).tolist()
    [1.0, 1.0]
    """
    w = np.asarray(size, dtype=np.float64)
    finite = w[np.isfinite(w)]
    if finite.size == 0:
        return np.full(w.shape, np.nan)
    low, high = float(finite.min()), float(finite.max())
    if high - low <= np.sqrt(np.finfo(float).eps):
        return np.where(np.isnan(w), np.nan, 1.0)
    return (w - low) / (high - low) * (plim[1] - plim[0]) + plim[0]


def check_result(owner: str, result: object, kind: type, what: str) -> Any:
    """``result`` if it is a ``kind``, else an error naming the parameter."""
    if not isinstance(result, kind):
        raise MetapoolTypeError(
            f"The 'result' parameter of {owner} must be {what}. "
            f"Got {type(result).__name__} ({short_repr(result)})."
        )
    return result


def point_texts(owner: str, value: object, labels: tuple[str, ...]) -> tuple[str, ...]:
    """The texts written beside the points: study numbers, labels, or none."""
    from metapool._validation import check_choice

    choice = check_choice(owner, "point_labels", value, ("ids", "labels", "none"))
    if choice == "ids":
        return tuple(str(i + 1) for i in range(len(labels)))
    if choice == "labels":
        return labels
    return ("",) * len(labels)


def new_axes(
    ax: Axes | None, style: PlotStyle, figsize: tuple[float, float]
) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new constrained-layout figure with one Axes."""
    from metapool.plotting._mpl import new_figure, root_figure

    if ax is None:
        fig = new_figure(figsize, style, layout="constrained")
        ax = fig.add_subplot()
    return root_figure(ax), ax


def finish_axes(
    ax: Axes,
    style: PlotStyle,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    spines: tuple[str, ...] = ("bottom", "left"),
) -> None:
    """Fonts, ticks, spines, axis labels and title in the plot style."""
    fontsize, family = style.font_size, style.font_family
    ax.tick_params(
        axis="both",
        labelsize=fontsize,
        length=3.0,
        width=style.rule_width,
        pad=2.0,
        color=style.line_color,
        labelcolor=style.line_color,
    )
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_fontfamily(family)
    for side, spine in ax.spines.items():
        spine.set_visible(side in spines)
        spine.set_linewidth(style.rule_width)
        spine.set_color(style.line_color)
    kw: dict[str, Any] = {"fontsize": fontsize, "fontfamily": family, "color": style.line_color}
    ax.set_xlabel(xlabel, **kw)
    ax.set_ylabel(ylabel, **kw)
    if title:
        ax.set_title(title, fontweight="bold", **kw)
