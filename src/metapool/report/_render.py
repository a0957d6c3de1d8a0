"""Rendering a report's content with Jinja2 (imported here, when a report is written)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from metapool.exceptions import MissingDependencyError
from metapool.report._content import ReportContent

__all__ = ["render_html", "render_markdown"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment(autoescape: bool) -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing a report needs jinja2, which is not installed (or cannot be imported: "
            f'{exc}). Install it with: pip install "metapool[report]"'
        ) from exc
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    env.filters["md"] = _md
    env.globals["md_table"] = _md_table
    return env


def _md(text: object) -> str:
    """A text for a Markdown line or table cell: pipes, angle brackets and line breaks
    made harmless."""
    return (
        str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    )


def _md_table(header: Any, rows: Any) -> str:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_html(content: ReportContent) -> str:
    """The self-contained HTML page (figures embedded as base64 PNG; texts escaped)."""
    return str(_environment(True).get_template("report.html.j2").render(c=content))


def render_markdown(content: ReportContent, figdir: str) -> str:
    """The Markdown report; figures are linked as ``figdir/<name>``."""
    return str(_environment(False).get_template("report.md.j2").render(c=content, figdir=figdir))
