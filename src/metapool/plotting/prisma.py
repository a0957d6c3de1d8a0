"""The PRISMA 2020 flow diagram of a systematic review, from the counts at each stage.

:func:`prisma_flow` checks the counts (:func:`flow_counts`: every stage that can
be derived from the others must agree with them) and draws the boxes and
arrows of the PRISMA 2020 template for new reviews (databases and registers,
and optionally other methods) with matplotlib.
"""

from __future__ import annotations

import itertools
import os
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
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

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PrismaCounts", "flow_counts", "prisma_flow"]

_KEYS = (
    "databases",
    "registers",
    "duplicates_removed",
    "automation_removed",
    "other_removed",
    "records_screened",
    "records_excluded",
    "reports_sought",
    "reports_not_retrieved",
    "reports_assessed",
    "reports_excluded",
    "studies_included",
    "reports_included",
    "other_sources",
    "other_reports_sought",
    "other_not_retrieved",
    "other_assessed",
    "other_excluded",
)
_BREAKDOWN = ("databases", "registers", "reports_excluded", "other_sources", "other_excluded")
_PHASE_COLOR = "#A8D1EB"  # the light blue of the PRISMA 2020 template's phase bars
_HEAD_COLOR = "#F2C94C"  # and the yellow of its column headers


@attrs.frozen(kw_only=True)
class PrismaCounts:
    """The checked counts of a PRISMA flow: totals, and the breakdowns by source
    or reason (name -> n) where they were given."""

    totals: Mapping[str, int]
    breakdowns: Mapping[str, Mapping[str, int]]
    other_methods: bool


def _count(owner: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise MetapoolTypeError(
                f"The 'counts' parameter of {owner}: stage {key!r} must be a whole number. "
                f"Got {short_repr(value)}."
            )
    n = int(value)
    if n < 0:
        raise InvalidDataError(
            f"The 'counts' parameter of {owner}: stage {key!r} must not be negative. Got {n}."
        )
    return n


def flow_counts(owner: str, counts: object) -> PrismaCounts:
    """Check the counts of :func:`prisma_flow` and fill the stages that follow from others."""
    if not isinstance(counts, Mapping):
        raise MetapoolTypeError(
            f"The 'counts' parameter of {owner} must be a mapping of stage to number, e.g. "
            f"{{'databases': 120, 'duplicates_removed': 20, ...}}. Got {short_repr(counts)}."
        )
    unknown = [k for k in counts if k not in _KEYS]
    if unknown:
        raise InvalidParameterError(
            f"The 'counts' parameter of {owner} has the unknown stage {unknown[0]!r}; the "
            f"stages are {', '.join(map(repr, _KEYS))}."
        )
    totals: dict[str, int] = {}
    breakdowns: dict[str, dict[str, int]] = {}
    for key, value in counts.items():
        if key in _BREAKDOWN and isinstance(value, Mapping):
            parts = {str(name): _count(owner, f"{key}: {name}", n) for name, n in value.items()}
            breakdowns[key] = parts
            totals[key] = sum(parts.values())
        else:
            totals[key] = _count(owner, key, value)
    for key in ("databases", "studies_included"):
        if key not in totals:
            raise InvalidParameterError(
                f"The 'counts' parameter of {owner} needs the stage {key!r}."
            )

    def derive(key: str, value: int, how: str) -> None:
        if value < 0:
            raise InvalidDataError(
                f"The 'counts' parameter of {owner}: stage {key!r} would be {value} ({how}); "
                "check the counts."
            )
        given = totals.get(key)
        if given is None:
            totals[key] = value
        elif given != value:
            raise InvalidDataError(
                f"The 'counts' parameter of {owner}: stage {key!r} is {given}, but {how} "
                f"gives {value}."
            )

    get = totals.get
    identified = get("databases", 0) + get("registers", 0)
    removed = get("duplicates_removed", 0) + get("automation_removed", 0) + get("other_removed", 0)
    derive("records_screened", identified - removed, "records identified minus records removed")
    if "records_excluded" in totals or "reports_sought" in totals:
        derive(
            "reports_sought",
            totals["records_screened"] - get("records_excluded", 0),
            "records screened minus records excluded",
        )
        derive(
            "reports_assessed",
            totals["reports_sought"] - get("reports_not_retrieved", 0),
            "reports sought minus reports not retrieved",
        )
    other = any(k.startswith("other_") and k != "other_removed" for k in totals)
    if other:
        derive(
            "other_assessed",
            get("other_reports_sought", get("other_sources", 0)) - get("other_not_retrieved", 0),
            "other reports sought minus not retrieved",
        )
    if "reports_assessed" in totals and "reports_excluded" in totals:
        available = totals["reports_assessed"] - totals["reports_excluded"]
        if other:
            available += totals["other_assessed"] - get("other_excluded", 0)
        if "reports_included" in totals and totals["reports_included"] > available:
            raise InvalidDataError(
                f"The 'counts' parameter of {owner}: stage 'reports_included' is "
                f"{totals['reports_included']}, more than the {available} reports assessed "
                "and not excluded."
            )
        totals.setdefault("reports_included", available)
    return PrismaCounts(totals=totals, breakdowns=breakdowns, other_methods=other)


def _lines(title: str, n: int | None, parts: Mapping[str, int] | None = None) -> str:
    if parts:
        return title + ":\n" + "\n".join(f"{name} (n = {k:,})" for name, k in parts.items())
    return f"{title}\n(n = {n:,})" if n is not None else title


def _boxes(c: PrismaCounts) -> list[tuple[str, int, int, str]]:
    """(stage, row, column, text): row 0 identification, 1-3 screening, 4 included;
    columns 0 main, 1 exclusions, 2 other methods, 3 its exclusions."""
    t, b = c.totals, c.breakdowns
    ident = b.get("databases") or {"Databases": t["databases"]}
    ident = dict(ident)
    if "registers" in b:
        ident.update(b["registers"])
    elif "registers" in t:
        ident["Registers"] = t["registers"]
    removed = {
        name: t[key]
        for key, name in (
            ("duplicates_removed", "Duplicate records removed"),
            ("automation_removed", "Records marked as ineligible by automation tools"),
            ("other_removed", "Records removed for other reasons"),
        )
        if key in t
    }
    out = [("identified", 0, 0, _lines("Records identified from", None, ident))]
    if removed:
        out.append(("removed", 0, 1, _lines("Records removed before screening", None, removed)))
    out.append(("screened", 1, 0, _lines("Records screened", t["records_screened"])))
    if "records_excluded" in t:
        out.append(("records_excluded", 1, 1, _lines("Records excluded", t["records_excluded"])))
    if "reports_sought" in t:
        out.append(("sought", 2, 0, _lines("Reports sought for retrieval", t["reports_sought"])))
        out.append(
            (
                "not_retrieved",
                2,
                1,
                _lines("Reports not retrieved", t.get("reports_not_retrieved", 0)),
            )
        )
        out.append(
            ("assessed", 3, 0, _lines("Reports assessed for eligibility", t["reports_assessed"]))
        )
        if "reports_excluded" in t:
            out.append(
                (
                    "reports_excluded",
                    3,
                    1,
                    _lines("Reports excluded", t["reports_excluded"], b.get("reports_excluded")),
                )
            )
    included = f"Studies included in review\n(n = {t['studies_included']:,})"
    if "reports_included" in t:
        included += f"\nReports of included studies\n(n = {t['reports_included']:,})"
    out.append(("included", 4, 0, included))
    if c.other_methods:
        sources = b.get("other_sources") or {"Other sources": t.get("other_sources", 0)}
        out.append(("other_identified", 0, 2, _lines("Records identified from", None, sources)))
        sought = t.get("other_reports_sought", t.get("other_sources", 0))
        out.append(("other_sought", 2, 2, _lines("Reports sought for retrieval", sought)))
        out.append(
            (
                "other_not_retrieved",
                2,
                3,
                _lines("Reports not retrieved", t.get("other_not_retrieved", 0)),
            )
        )
        out.append(
            (
                "other_assessed",
                3,
                2,
                _lines("Reports assessed for eligibility", t["other_assessed"]),
            )
        )
        if "other_excluded" in t:
            out.append(
                (
                    "other_excluded",
                    3,
                    3,
                    _lines("Reports excluded", t["other_excluded"], b.get("other_excluded")),
                )
            )
    return out


def prisma_flow(
    counts: Mapping[str, Any],
    *,
    title: str | None = None,
    fontsize: float | None = None,
    fontfamily: str | None = None,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    dpi: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """PRISMA 2020 flow diagram of the identification, screening and inclusion of studies.

    The boxes and arrows of the PRISMA 2020 template for new systematic reviews
    [1]_: records identified from databases and registers, records removed
    before screening, records screened and excluded, reports sought, not
    retrieved, assessed and excluded (with reasons), and the studies and
    reports included; a second column for studies identified by other methods
    (websites, organisations, citation searching) when such counts are given.

    Parameters
    ----------
    counts : mapping of str to int (or to a mapping of name to int)
        The number at each stage. Needed: ``databases`` and ``studies_included``.
        Optional: ``registers``, ``duplicates_removed``, ``automation_removed``,
        ``other_removed``, ``records_screened``, ``records_excluded``,
        ``reports_sought``, ``reports_not_retrieved``, ``reports_assessed``,
        ``reports_excluded``, ``reports_included``; for other methods
        ``other_sources``, ``other_reports_sought``, ``other_not_retrieved``,
        ``other_assessed``, ``other_excluded``. ``databases``, ``registers``,
        ``other_sources``, ``reports_excluded`` and ``other_excluded`` may be
        a mapping of source or reason to number, shown one line each. Stages
        that follow from others (records screened = identified − removed,
        reports sought = screened − excluded, reports assessed = sought − not
        retrieved) are computed when missing and checked when given.
    title : str, optional
        A title above the diagram.
    fontsize, fontfamily, figsize, ax, path, dpi, style
        As for :func:`~metapool.funnel_plot`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidDataError
        For a negative count, or counts that contradict each other (the message
        names the stage, the number given and the number the others imply).
    InvalidParameterError
        For an unknown stage, a missing needed stage, or a bad size or path.
    MetapoolTypeError
        For counts that are not a mapping of whole numbers.
    MissingDependencyError
        If matplotlib is not installed.

    Notes
    -----
    Each box is a patch with gid ``prisma-box-<stage>`` and its text a Text with
    gid ``prisma-text-<stage>`` (stages ``identified``, ``removed``, ``screened``,
    ``records_excluded``, ``sought``, ``not_retrieved``, ``assessed``,
    ``reports_excluded``, ``included`` and ``other_...``); the arrows have gid
    ``prisma-arrow``, the phase labels ``prisma-phase``.

    References
    ----------
    .. [1] Page MJ, McKenzie JE, Bossuyt PM, et al. (2021). The PRISMA 2020
       statement: an updated guideline for reporting systematic reviews. BMJ
       372:n71.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import metapool as mp
    >>> fig = mp.prisma_flow({"databases": {"MEDLINE": 412, "Embase": 388}, "registers": 35,
    ...     "duplicates_removed": 310, "records_excluded": 455, "reports_not_retrieved": 4,
    ...     "reports_excluded": {"Wrong population": 22, "Not randomised": 20},
    ...     "studies_included": 18, "reports_included": 22})
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "prisma-text-screened"]
    ['Records screened\\n(n = 525)']
    >>> plt.close(fig)
    """
    owner = "prisma_flow"
    require_matplotlib(owner)
    ax = check_ax(owner, ax)
    check_optional_str(owner, "title", title)
    flow = flow_counts(owner, counts)
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

    fig = _draw(flow, style, title=title, figsize=figsize, ax=ax)
    save(fig, path, style, None)
    return fig


def _draw(
    flow: PrismaCounts,
    style: PlotStyle,
    *,
    title: str | None,
    figsize: tuple[float, float] | None,
    ax: Axes | None,
) -> Figure:
    from matplotlib.patches import FancyBboxPatch

    from metapool.plotting._mpl import new_figure, root_figure

    fs = style.font_size
    line = 1.3 * fs / 72.0  # inches per text line
    box_w = 2.3 * fs / 8.0
    gap_x, gap_y, phase_w = 0.35 * fs / 8.0, 0.32 * fs / 8.0, 0.3 * fs / 8.0
    chars = int(box_w * 72.0 / (0.52 * fs))
    boxes = [
        (
            stage,
            row,
            col,
            "\n".join(
                textwrap.fill(part, chars, subsequent_indent="  ") for part in text.split("\n")
            ),
        )
        for stage, row, col, text in _boxes(flow)
    ]
    columns = 4 if flow.other_methods else 2
    heights = [0.0] * 5
    for _, row, _, text in boxes:
        heights[row] = max(heights[row], (text.count("\n") + 1) * line + 0.7 * line)
    # the rotated phase labels fit their bars
    heights[0] = max(heights[0], len("Identification") * 0.62 * fs / 72.0 + 0.1)
    heights[4] = max(heights[4], len("Included") * 0.62 * fs / 72.0 + 0.1)
    head_h = 1.6 * line
    tops, y = [], head_h + gap_y
    for h in heights:
        tops.append(y)
        y += h + gap_y
    total_h = y
    x0 = phase_w + gap_x
    lefts = [x0 + c * (box_w + gap_x) + (gap_x if c >= 2 else 0.0) for c in range(columns)]
    total_w = lefts[-1] + box_w + 0.05
    if ax is None:
        size = figsize or (total_w, total_h + (0.3 if title else 0.0))
        fig = new_figure(size, style, layout="none")
        ax = fig.add_axes((0.0, 0.0, 1.0, total_h / size[1]))
    else:
        fig = root_figure(ax)
    ax.set_xlim(0, total_w)
    ax.set_ylim(total_h, 0)
    ax.set_axis_off()
    ax.set_xticks([])
    ax.set_yticks([])
    text_kw: dict[str, Any] = {
        "fontsize": fs,
        "fontfamily": style.font_family,
        "color": style.line_color,
    }
    placed: dict[str, tuple[float, float, float, float]] = {}
    for stage, row, col, text in boxes:
        left, top, h = lefts[col], tops[row], heights[row]
        if col in (1, 3) or (row == 0 and col in (0, 2)):
            h = (text.count("\n") + 1) * line + 0.7 * line if col in (1, 3) else h
        patch = FancyBboxPatch(
            (left, top),
            box_w,
            h,
            boxstyle="square,pad=0",
            facecolor="white",
            edgecolor=style.line_color,
            linewidth=style.rule_width * 1.2,
            gid=f"prisma-box-{stage}",
        )
        ax.add_patch(patch)
        ax.text(
            left + 0.08,
            top + h / 2,
            text,
            ha="left",
            va="center",
            linespacing=1.15,
            gid=f"prisma-text-{stage}",
            **text_kw,
        )
        placed[stage] = (left, top, box_w, h)

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            gid="prisma-arrow",
            arrowprops={
                "arrowstyle": "-|>",
                "color": style.line_color,
                "lw": style.rule_width * 1.2,
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": fs * 1.1,
            },
        )

    def below(a: str, b: str) -> None:
        la, ta, wa, ha = placed[a]
        lb, tb, _, _ = placed[b]
        arrow((la + wa / 2, ta + ha), (lb + wa / 2, tb))

    def beside(a: str, b: str) -> None:
        la, _, wa, _ = placed[a]
        lb, tb, _, hb = placed[b]
        arrow((la + wa, tb + hb / 2), (lb, tb + hb / 2))

    stages: tuple[str, ...] = ("identified", "screened", "sought", "assessed", "included")
    main = [s for s in stages if s in placed]
    for a, b in itertools.pairwise(main):
        below(a, b)
    for a, b in (
        ("identified", "removed"),
        ("screened", "records_excluded"),
        ("sought", "not_retrieved"),
        ("assessed", "reports_excluded"),
        ("other_sought", "other_not_retrieved"),
        ("other_assessed", "other_excluded"),
    ):
        if a in placed and b in placed:
            beside(a, b)
    if flow.other_methods:
        below("other_identified", "other_sought")
        below("other_sought", "other_assessed")
        la, ta, wa, ha = placed["other_assessed"]
        li, ti, wi, hi = placed["included"]
        ax.annotate(
            "",
            xy=(li + wi, ti + hi / 2),
            xytext=(la + wa / 2, ta + ha),
            gid="prisma-arrow",
            arrowprops={
                "arrowstyle": "-|>",
                "color": style.line_color,
                "lw": style.rule_width * 1.2,
                "connectionstyle": "angle,angleA=-90,angleB=180,rad=0",
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": fs * 1.1,
            },
        )
    # column headers and phase bars
    span = lefts[1] + box_w - lefts[0]
    heads = [(lefts[0], span, "Identification of studies via databases and registers")]
    if flow.other_methods:
        heads.append(
            (lefts[2], lefts[3] + box_w - lefts[2], "Identification of studies via other methods")
        )
    for left, width, text in heads:
        ax.add_patch(
            FancyBboxPatch(
                (left, 0.1 * line),
                width,
                head_h - 0.1 * line,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=_HEAD_COLOR,
                edgecolor="none",
                gid="prisma-header",
            )
        )
        ax.text(
            left + width / 2,
            (head_h + 0.1 * line) / 2,
            text,
            ha="center",
            va="center",
            fontweight="bold",
            gid="prisma-header-text",
            **text_kw,
        )
    phases = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    for name, first, last in phases:
        top, bottom = tops[first], tops[last] + heights[last]
        ax.add_patch(
            FancyBboxPatch(
                (0.02, top),
                phase_w,
                bottom - top,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=_PHASE_COLOR,
                edgecolor="none",
                gid="prisma-phase-bar",
            )
        )
        ax.text(
            0.02 + phase_w / 2,
            (top + bottom) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontweight="bold",
            gid="prisma-phase",
            **text_kw,
        )
    if title:
        fig.suptitle(title, fontsize=fs * 1.2, fontfamily=style.font_family, y=0.995)
    return fig
