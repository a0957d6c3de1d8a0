"""What a report holds: per analysis, the methods paragraph, the pooled and study
tables and the figures (PNG bytes); then extra figures, a summary-of-findings
table and the references. No template engine here; :mod:`._render` renders it."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from metapool._inference import z_crit
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.report._methods import REFERENCES, methods_text

__all__ = ["ReportContent", "ReportFigure", "Section", "build_content"]


@attrs.frozen(kw_only=True)
class ReportFigure:
    """A figure as PNG bytes, with its caption and a file name."""

    name: str
    caption: str
    png: bytes = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Section:
    """One analysis of the report."""

    name: str
    methods: str
    pooled_header: tuple[str, ...]
    pooled_rows: tuple[tuple[str, ...], ...]
    study_header: tuple[str, ...]
    study_rows: tuple[tuple[str, ...], ...]
    lines: tuple[str, ...]
    figures: tuple[ReportFigure, ...]


@attrs.frozen(kw_only=True)
class ReportContent:
    """Everything a report shows, ready for a template."""

    title: str
    sections: tuple[Section, ...]
    figures: tuple[ReportFigure, ...]
    sof_html: str | None
    sof_markdown: str | None
    references: tuple[str, ...]
    notes: tuple[str, ...]
    version: str


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "analysis"


def _png(fig: Any, dpi: float) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _num(x: float, digits: int = 2) -> str:
    return "NA" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _pooled_row(name: str, res: Any) -> tuple[str, ...]:
    bt = res.back_transform()
    random = res.tau2_method is not None
    pi = f"[{_num(bt.pi.low)}, {_num(bt.pi.high)}]" if random and res.k > 1 else "\u2014"
    i2 = "NA" if math.isnan(res.i2) else f"{res.i2:.1f}%"
    q = f"{res.q:.2f} (df = {res.q_df}, p = {_p(res.q_pvalue)})" if res.q_df > 0 else "NA"
    return (
        name,
        str(res.k),
        f"{_num(bt.estimate)} [{_num(bt.ci.low)}, {_num(bt.ci.high)}]",
        pi,
        _p(res.pvalue),
        _num(res.tau2, 4) if random else "\u2014",
        i2,
        q,
    )


def _study_rows(res: Any, group: str | None) -> list[tuple[str, ...]]:
    inverse = res.measure.scale.inverse
    crit = z_crit(res.level)
    rows: list[tuple[str, ...]] = []
    for label, y, v, w in zip(res.labels, res.yi, res.vi, res.weights, strict=True):
        se = math.sqrt(v)
        low, est, high = (float(inverse(x)) for x in (y - crit * se, y, y + crit * se))
        row = (label, f"{_num(est)} [{_num(low)}, {_num(high)}]", f"{w:.1f}")
        rows.append(row if group is None else (group, *row))
    return rows


def _section(name: str, analysis: Any, cite: list[str], funnel_min_k: int, dpi: float) -> Section:
    from metapool.results import MetaResult
    from metapool.subgroups import SubgroupResult

    pct = None
    figures = []
    slug = _slug(name)
    pooled_header = (
        "Analysis",
        "k",
        "Estimate [CI]",
        "Prediction interval",
        "p",
        "\u03c4\u00b2",
        "I\u00b2",
        "Q",
    )
    if isinstance(analysis, SubgroupResult):
        overall = analysis.overall
        pct = round(100 * overall.level)
        pooled_rows = [_pooled_row(g, r) for g, r in analysis.results.items()]
        pooled_rows.append(_pooled_row("Overall", overall))
        study_rows: list[tuple[str, ...]] = []
        for g, r in analysis.results.items():
            study_rows += _study_rows(r, g)
        study_header: tuple[str, ...] = (
            "Subgroup",
            "Study",
            f"{overall.measure} [{pct}% CI]",
            "Weight (%) in subgroup",
        )
        t = analysis.test
        lines = [
            f"Test for subgroup differences: Q = {t.statistic:.2f}, df = {t.df}, "
            f"p = {_p(t.pvalue)}."
        ]
        main = overall
    elif isinstance(analysis, MetaResult):
        main = analysis
        pct = round(100 * main.level)
        pooled_rows = [_pooled_row(name, main)]
        study_rows = _study_rows(main, None)
        study_header = ("Study", f"{main.measure} [{pct}% CI]", "Weight (%)")
        lines = [main.revman_heterogeneity(), main.revman_overall_effect()]
    else:
        raise MetapoolTypeError(
            f"The 'analyses' parameter of write_report must hold MetaResult or SubgroupResult "
            f"objects; {name!r} is a {type(analysis).__name__}."
        )
    lines += [f"Not analysed: {e.name} ({e.reason})." for e in main.excluded]
    lines += [f"Note: {n}" for n in main.notes]
    if not main.converged:
        lines.append("WARNING: the \u03c4\u00b2 estimator did not converge.")
    methods = methods_text(main, cite)
    figures.append(
        ReportFigure(
            name=f"forest_{slug}.png",
            caption=f"Forest plot: {name}.",
            png=_png(analysis.plot_forest(), dpi),
        )
    )
    if main.k >= funnel_min_k:
        if "Sterne2011" not in cite:
            cite.append("Sterne2011")
        figures.append(
            ReportFigure(
                name=f"funnel_{slug}.png",
                caption=f"Funnel plot: {name} (k = {main.k}).",
                png=_png(main.plot_funnel(), dpi),
            )
        )
    else:
        lines.append(
            f"No funnel plot: {main.k} studies, fewer than the {funnel_min_k} needed to judge "
            "asymmetry."
        )
    pooled_header = (*pooled_header[:2], f"{main.measure} [{pct}% CI]", *pooled_header[3:])
    return Section(
        name=name,
        methods=methods,
        pooled_header=pooled_header,
        pooled_rows=tuple(pooled_rows),
        study_header=study_header,
        study_rows=tuple(study_rows),
        lines=tuple(lines),
        figures=tuple(figures),
    )


def build_content(
    analyses: Any,
    *,
    title: str,
    sof: Any = None,
    figures: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    funnel_min_k: int = 10,
    dpi: float = 150,
) -> ReportContent:
    """The report's content from a result or a mapping of name -> result."""
    from metapool import __version__
    from metapool.grade import SummaryOfFindings

    owner = "write_report"
    if isinstance(analyses, Mapping):
        items = list(analyses.items())
    else:
        items = [(getattr(analyses, "method", "Analysis"), analyses)]
    if not items:
        raise InvalidParameterError(f"The 'analyses' parameter of {owner} holds no analysis.")
    if not isinstance(title, str):
        raise MetapoolTypeError(f"The 'title' parameter of {owner} must be a str. Got {title!r}.")
    if isinstance(funnel_min_k, bool) or not isinstance(funnel_min_k, int) or funnel_min_k < 3:
        raise InvalidParameterError(
            f"The 'funnel_min_k' parameter of {owner} must be an int >= 3. Got {funnel_min_k!r}."
        )
    if sof is not None and not isinstance(sof, SummaryOfFindings):
        raise MetapoolTypeError(
            f"The 'sof' parameter of {owner} must be a metapool.SummaryOfFindings or None. "
            f"Got {type(sof).__name__}."
        )
    cite: list[str] = []
    sections = tuple(
        _section(str(name), analysis, cite, funnel_min_k, dpi) for name, analysis in items
    )
    extra = []
    for i, (caption, fig) in enumerate((figures or {}).items()):
        if not hasattr(fig, "savefig"):
            raise MetapoolTypeError(
                f"The 'figures' parameter of {owner} must map captions to matplotlib Figures; "
                f"{caption!r} is a {type(fig).__name__}."
            )
        extra.append(
            ReportFigure(name=f"figure_{i + 1}.png", caption=str(caption), png=_png(fig, dpi))
        )
    return ReportContent(
        title=title,
        sections=sections,
        figures=tuple(extra),
        sof_html=None if sof is None else sof.to_html(),
        sof_markdown=None if sof is None else sof.to_markdown(),
        references=tuple(REFERENCES[k] for k in cite),
        notes=tuple(notes),
        version=__version__,
    )
