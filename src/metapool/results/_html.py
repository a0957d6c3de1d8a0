"""The compact HTML tables that notebooks show for a result (``_repr_html_``).

Every piece of text is escaped (``html.escape``), so study labels, subgroup and
moderator names are shown as written, never interpreted as markup. The output
is well-formed XML, so tests can parse it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["html_table"]


def html_table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    footer: Sequence[str] = (),
) -> str:
    """A ``<table>`` with a caption, a header row, body rows and footer lines."""
    esc = html.escape
    parts = [
        '<div class="metapool-result">',
        "<table>",
        f'<caption style="text-align: left">{esc(title)}</caption>',
    ]
    if header:
        parts.append(
            "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>"
        )
    parts.append("<tbody>")
    parts.extend("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    parts.append("</tbody>")
    parts.append("</table>")
    parts.extend(f"<p>{esc(line)}</p>" for line in footer)
    parts.append("</div>")
    return "\n".join(parts)
