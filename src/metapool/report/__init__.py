"""One-call reports: a self-contained HTML page and a Markdown file of one or several
analyses, with the methods paragraph written from the settings used, the result
tables, every figure and the references.

The content is built in :mod:`._content` and rendered from the Jinja2 templates
in ``templates/`` (:mod:`._render`); Jinja2 is an optional dependency
(``pip install "metapool[report]"``), imported when a report is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.report._content import ReportContent, build_content
from metapool.report._render import render_html, render_markdown

if TYPE_CHECKING:
    from metapool.grade import SummaryOfFindings

__all__ = ["write_report"]


def _require(owner: str) -> None:
    """Fail before any figure is drawn when matplotlib or jinja2 is missing."""
    from metapool.plotting._checks import require_matplotlib
    from metapool.report._render import _environment

    require_matplotlib(owner)
    _environment(True)


def write_report(
    analyses: Any,
    path: str | os.PathLike[str],
    *,
    title: str = "Meta-analysis report",
    sof: SummaryOfFindings | None = None,
    figures: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    markdown: bool | str | os.PathLike[str] = False,
    funnel_min_k: int = 10,
    dpi: float = 150,
) -> Path:
    """Write a report of one or several analyses: HTML (self-contained) or Markdown.

    For each analysis: a methods paragraph generated from the settings the
    result was fitted with (model, τ² estimator, confidence- and
    prediction-interval methods, how I² was computed, with references), the
    pooled result (with each subgroup for a subgroup analysis), the studies
    with their effects and weights, the forest plot and, with at least
    ``funnel_min_k`` studies, the funnel plot. Then any extra figures, a
    summary-of-findings table and the numbered references.

    Parameters
    ----------
    analyses : MetaResult, SubgroupResult, or mapping of str to them
        The analyses, each under its name (a single result is named by its method).
    path : str or path-like
        The file to write: ``.html`` (or ``.htm``) for the HTML page, ``.md`` for
        Markdown, whose figures are written as PNG files into a folder
        ``<name>_figures`` beside it.
    title : str, default "Meta-analysis report"
        The report's title.
    sof : SummaryOfFindings, optional
        A GRADE summary-of-findings table to include.
    figures : mapping of str to matplotlib Figure, optional
        Extra figures (e.g. risk-of-bias plots, a PRISMA diagram), by caption.
        They are closed once saved.
    notes : sequence of str
        Lines shown under the title (e.g. the data source).
    markdown : bool or path-like, default False
        With an HTML ``path``, also write the Markdown report: True for the same
        name with ``.md``, or its path.
    funnel_min_k : int, default 10
        Fewest studies for a funnel plot (Sterne et al. 2011 advise against
        judging asymmetry with fewer than 10).
    dpi : float, default 150
        Resolution of the PNG figures.

    Returns
    -------
    pathlib.Path
        The file written (the HTML file when both are written).

    Raises
    ------
    InvalidParameterError
        For a path whose suffix is not ``.html``, ``.htm`` or ``.md``, no analyses,
        or a bad ``funnel_min_k``.
    MetapoolTypeError
        For an analysis that is not a MetaResult or SubgroupResult, a ``sof`` that
        is not a SummaryOfFindings, or an extra figure that is not a Figure.
    MissingDependencyError
        If jinja2 or matplotlib is not installed (``pip install "metapool[report]"``).

    Examples
    --------
    >>> import metapool as mp
    >>> rr = mp.RiskRatio(events1=[10, 20, 15], n1=[50, 80, 60],
    ...                   events2=[5, 9, 12], n2=[50, 80, 60], labels=["A", "B", "C"])
    >>> res = mp.RandomEffects(tau2="REML").fit(rr)
    >>> import tempfile, pathlib
    >>> out = mp.write_report({"Death": res}, pathlib.Path(tempfile.mkdtemp()) / "r.html")
    >>> "restricted maximum likelihood" in out.read_text(encoding="utf-8")
    True
    """
    owner = "write_report"
    if not isinstance(path, (str, os.PathLike)):
        raise MetapoolTypeError(
            f"The 'path' parameter of {owner} must be a str or path-like, e.g. 'report.html'. "
            f"Got {type(path).__name__}."
        )
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".html", ".htm", ".md"):
        raise InvalidParameterError(
            f"The 'path' parameter of {owner} must end in .html, .htm or .md. Got {str(target)!r}."
        )
    md_path: Path | None = None
    if suffix == ".md":
        md_path, html_path = target, None
    else:
        html_path = target
        if markdown is True:
            md_path = target.with_suffix(".md")
        elif markdown is not False and markdown is not None:
            if not isinstance(markdown, (str, os.PathLike)):
                raise MetapoolTypeError(
                    f"The 'markdown' parameter of {owner} must be a bool or a path. "
                    f"Got {markdown!r}."
                )
            md_path = Path(markdown)
    _require(owner)
    content = build_content(
        analyses,
        title=title,
        sof=sof,
        figures=figures,
        notes=notes,
        funnel_min_k=funnel_min_k,
        dpi=dpi,
    )
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render_html(content), encoding="utf-8")
    if md_path is not None:
        _write_markdown(content, md_path)
    return html_path if html_path is not None else md_path  # type: ignore[return-value]


def _write_markdown(content: ReportContent, path: Path) -> None:
    figdir = path.parent / f"{path.stem}_figures"
    figdir.mkdir(parents=True, exist_ok=True)
    for section in content.sections:
        for fig in section.figures:
            (figdir / fig.name).write_bytes(fig.png)
    for fig in content.figures:
        (figdir / fig.name).write_bytes(fig.png)
    path.write_text(render_markdown(content, figdir.name), encoding="utf-8")
