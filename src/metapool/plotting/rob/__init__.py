"""Risk-of-bias figures: the traffic-light plot of each study's judgements and the
summary bar plot of the share of studies at each judgement, per domain.

:func:`rob_traffic_light` and :func:`rob_summary` read a table of judgements
(:mod:`._content`, checked against a :class:`RobTool`) and draw it
(:mod:`._draw`, which imports matplotlib) in the colours and symbols Cochrane
uses.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._checks import (
    check_ax,
    check_figsize,
    check_optional_str,
    check_path,
    check_style,
    require_matplotlib,
    short_repr,
)
from metapool.plotting._style import PlotStyle
from metapool.plotting.rob._content import RobTable, read_judgements, summary_shares
from metapool.plotting.rob._tools import ROB2, ROBINS_I, RobTool, get_tool

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ROB2", "ROBINS_I", "RobTool", "rob_summary", "rob_traffic_light"]

_COMMON_DOC = """
    judgements : mapping or pandas.DataFrame
        The table of judgements, one row per study: a mapping of column name to
        a sequence (one entry per study) or a DataFrame. One column holds the
        study labels (``study``); the others are the domains, in order, and an
        overall judgement. Judgements are matched ignoring case and a trailing
        "risk" ("Low risk", "low" and "LOW" are all "Low"); an empty cell
        (None, NaN, "", "NA") is "not reported" and drawn as an empty cell.
    tool : {"rob2", "robins-i"} or RobTool, default "rob2"
        The tool whose judgements the table holds: RoB 2 (Low, Some concerns,
        High; "Unclear" is read as Some concerns), ROBINS-I (Low, Moderate,
        Serious, Critical, No information), or a :class:`~metapool.RobTool`.
    study : str, optional
        The column of study labels; default the column named "Study" (in any
        case), or the DataFrame's index when there is none.
    domains : sequence of str, optional
        The domain columns, in order; default every other column except the
        overall one and a "Weight" column.
    overall : str, optional
        The column of the overall judgement; default the column whose name
        contains "overall" (none when no column does).
"""


def _doc(func: Any) -> Any:
    func.__doc__ = func.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n"))
    return func


def _prepare(
    owner: str,
    judgements: object,
    tool: object,
    study: object,
    domains: object,
    overall: object,
) -> RobTable:
    for name, value in (("study", study), ("overall", overall)):
        check_optional_str(owner, name, value)
    return read_judgements(
        owner,
        judgements,
        get_tool(owner, tool),
        study=study,  # type: ignore[arg-type]  # checked above
        domains=domains,  # type: ignore[arg-type]  # checked in read_judgements
        overall=overall,  # type: ignore[arg-type]
    )


@_doc
def rob_traffic_light(
    judgements: Any,
    *,
    tool: str | RobTool = "rob2",
    study: str | None = None,
    domains: Sequence[str] | None = None,
    overall: str | None = None,
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Traffic-light plot: each study's risk-of-bias judgement in each domain.

    One row per study and one column per domain (labelled D1, D2, ..., with
    the overall judgement last); each judgement is a circle in the tool's
    colour with its symbol. For RoB 2 these are Cochrane's: green "+" for low
    risk, yellow "!" for some concerns, red "−" for high risk [1]_ [2]_. A key
    below names the domains and the judgements.

    Parameters
    ----------
    {common}
    title : str, optional
        A title above the plot.
    fontsize, fontfamily : optional
        Font size (points) and family; default the ``style``'s.
    figsize : (float, float), optional
        Size in inches of a new figure; default sized to the table.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure (the key is drawn below it).
    path : str or path-like, optional
        Save the figure there (the format follows the suffix).
    dpi : float, optional
        Resolution used when saving to ``path``.
    style : PlotStyle, optional
        Fonts, line colour and widths, file settings.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidDataError
        For a judgement that is not one of the tool's, naming the study (counted
        from 1) and the domain; columns of different lengths; an empty table.
    InvalidParameterError
        For an unknown tool, a ``study``, ``domains`` or ``overall`` that is not a
        column of the table, or a bad size, colour or path.
    MetapoolTypeError
        For a table that is neither a mapping nor a DataFrame, or arguments of
        the wrong type.
    MissingDependencyError
        If matplotlib is not installed (``pip install "metapool[plot]"``).

    Notes
    -----
    The circles are one scatter collection (gid ``rob-lights``) whose face
    colours follow the cells row by row; symbols, study labels and domain labels
    are texts with gids ``rob-symbol``, ``rob-study`` and ``rob-domain``; the
    keys are legends with gids ``rob-domain-key`` and ``rob-judgement-key``.

    References
    ----------
    .. [1] Sterne JAC, Savović J, Page MJ, et al. (2019). RoB 2: a revised tool
       for assessing risk of bias in randomised trials. BMJ 366:l4898.
    .. [2] McGuinness LA, Higgins JPT (2021). Risk-of-bias VISualization (robvis):
       An R package and Shiny web app for visualizing risk-of-bias assessments.
       Res Synth Methods 12(1):55-61.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> table = {"Study": ["Alpha 2001", "Beta 2003"],
    ...          "D1": ["Low", "Some concerns"], "D2": ["Low", "High"],
    ...          "Overall": ["Low", "High"]}
    >>> fig = mp.rob_traffic_light(table)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "rob-symbol"]
    ['+', '+', '+', '!', '−', '−']
    >>> plt.close(fig)
    """
    owner = "rob_traffic_light"
    require_matplotlib(owner)
    ax = check_ax(owner, ax)
    check_optional_str(owner, "title", title)
    table = _prepare(owner, judgements, tool, study, domains, overall)
    style = check_style(
        owner,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    figsize = check_figsize(owner, figsize)
    path = check_path(owner, path)
    from metapool.plotting._mpl import save
    from metapool.plotting.rob._draw import draw_traffic_light

    fig = draw_traffic_light(table, style, figsize=figsize, ax=ax, title=title)
    save(fig, path, style, None)
    return fig


def _weights(owner: str, weights: object, n: int) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    if weights is None:
        return None
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise MetapoolTypeError(
            f"The 'weights' parameter of {owner} must be a sequence of numbers, one per study. "
            f"Got {short_repr(weights)}."
        )
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetapoolTypeError(
            f"The 'weights' parameter of {owner} must be a sequence of numbers, one per study. "
            f"Got {short_repr(weights)}."
        ) from None
    if w.shape != (n,):
        raise InvalidParameterError(
            f"The 'weights' parameter of {owner} must have one weight per study ({n}). "
            f"Got {w.size}."
        )
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise InvalidParameterError(
            f"The 'weights' parameter of {owner} must be finite and non-negative. "
            f"Got {w[bad[0]]!r} for study {bad[0] + 1}."
        )
    if not math.isfinite(float(w.sum())) or w.sum() <= 0:
        raise InvalidParameterError(
            f"The 'weights' parameter of {owner} must not be all zero. Got {short_repr(weights)}."
        )
    return w


@_doc
def rob_summary(
    judgements: Any,
    weights: Sequence[float] | None = None,
    *,
    tool: str | RobTool = "rob2",
    study: str | None = None,
    domains: Sequence[str] | None = None,
    overall: str | None = None,
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Summary plot: per domain, the share of studies at each risk-of-bias judgement.

    One horizontal bar per domain (full titles, the overall judgement last),
    split into the tool's colours from the least to the most concern; with
    ``weights`` the shares are of the studies' total weight in the analysis
    instead of the number of studies, as the Cochrane Handbook suggests for
    summarising risk of bias within an outcome [1]_.

    Parameters
    ----------
    {common}
    weights : sequence of float, optional
        One non-negative weight per study, in the table's order (e.g. a
        result's ``weights`` when the table follows its studies).
    title, fontsize, fontfamily, figsize, ax, path, dpi, style
        As for :func:`rob_traffic_light`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidDataError, InvalidParameterError, MetapoolTypeError, MissingDependencyError
        As :func:`rob_traffic_light`; also for weights that are not one
        finite, non-negative number per study, or that are all zero.

    Notes
    -----
    Cells without a judgement count as "Not reported" (grey), so that every
    bar reaches 100 %. The bars of each judgement are one container with gid
    ``rob-bar-<judgement>``; the key is a legend with gid ``rob-summary-key``.

    References
    ----------
    .. [1] Higgins JPT, Savović J, Page MJ, Elbers RG, Sterne JAC (2023).
       Chapter 8: Assessing risk of bias in a randomized trial. In: Cochrane
       Handbook for Systematic Reviews of Interventions, version 6.4.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> table = {"Study": ["A", "B", "C", "D"], "D1": ["Low", "Low", "High", "Low"]}
    >>> fig = mp.rob_summary(table, weights=[10, 20, 30, 40])
    >>> [round(bar.get_width()) for c in fig.axes[0].containers for bar in c]
    [70, 0, 30]
    >>> plt.close(fig)
    """
    owner = "rob_summary"
    require_matplotlib(owner)
    ax = check_ax(owner, ax)
    check_optional_str(owner, "title", title)
    table = _prepare(owner, judgements, tool, study, domains, overall)
    w = _weights(owner, weights, len(table.studies))
    style = check_style(
        owner,
        style,
        font_size=("fontsize", fontsize),
        font_family=("fontfamily", fontfamily),
        dpi=("dpi", dpi),
    )
    figsize = check_figsize(owner, figsize)
    path = check_path(owner, path)
    categories, shares = summary_shares(table, w)
    from metapool.plotting._mpl import save
    from metapool.plotting.rob._draw import draw_summary

    fig = draw_summary(
        table,
        categories,
        shares,
        style,
        weighted=w is not None,
        figsize=figsize,
        ax=ax,
        title=title,
    )
    save(fig, path, style, None)
    return fig
