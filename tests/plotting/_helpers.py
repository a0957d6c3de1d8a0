"""Finding and reading what a plot drew: artists by gid, text cells, layout checks.

The plots are inspected through the artists they create (found by the ``gid``
that every mark, text and text cell carries), not only by writing a file.
"""

from __future__ import annotations

import math
import re
from statistics import NormalDist
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.text import Text

import metapool as mp
from metapool.plotting import _numbers
from metapool.plotting._mpl import TextColumn

__all__ = [
    "BCG_ALLOCATION",
    "Z95",
    "all_texts",
    "assert_clean_layout",
    "by_prefix",
    "cell_places",
    "diamonds",
    "effect_text",
    "generic",
    "huge_or",
    "plain",
    "plot_ax",
    "row_order",
    "squares",
    "texts",
    "wide_rr",
]

Z95 = NormalDist().inv_cdf(0.975)

BCG_ALLOCATION = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4


def generic(k: int, seed: int = 1, **kwargs: object) -> mp.MetaResult:
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.05, 0.5, k)
    eff = mp.GenericEffect(yi=rng.normal(0.2, 0.3, k), se=se, **kwargs)  # type: ignore[arg-type]
    return mp.RandomEffects(tau2="DL").fit(eff)


def wide_rr() -> mp.MetaResult:
    """Three risk ratios, the first with a 95 % CI from 1e-30 to 1e+40."""
    low, high = math.log(1e-30), math.log(1e40)
    eff = mp.GenericEffect(
        yi=[(low + high) / 2, 0.1, 0.2],
        se=[(high - low) / (2 * Z95), 0.1, 0.2],
        measure="RR",
        log_scale=True,
    )
    return mp.RandomEffects(tau2="DL").fit(eff)


def huge_or(log_or: float = 800.0) -> mp.MetaResult:
    eff = mp.GenericEffect(yi=[log_or, 0.3, 0.2], se=[0.1, 0.1, 0.2], measure="OR", log_scale=True)
    return mp.RandomEffects(tau2="DL").fit(eff)


def plot_ax(fig: Figure) -> Axes:
    return fig.axes[0]


def by_prefix(artists: list, prefix: str) -> list:
    return [a for a in artists if str(a.get_gid() or "").startswith(prefix)]


def squares(fig: Figure) -> dict[int, Line2D]:
    lines = by_prefix(plot_ax(fig).lines, "study-square-")
    return {int(line.get_gid().rsplit("-", 1)[1]): line for line in lines}


def diamonds(fig: Figure) -> dict[str, Polygon]:
    patches = by_prefix(plot_ax(fig).patches, "pooled-diamond-")
    return {p.get_gid().removeprefix("pooled-diamond-"): p for p in patches}


def texts(fig: Figure) -> dict[str, str]:
    """Text of every artist with a gid and of every cell of a text column (by the
    cell's gid); an effect cell's estimate and interval joined by a space."""
    out: dict[str, str] = {}
    parts: dict[str, dict[str, str]] = {}
    for t in plot_ax(fig).texts:
        out[str(t.get_gid() or "")] = t.get_text()
        if not isinstance(t, TextColumn):
            continue
        for cell in t.get_cells():
            out[cell.gid] = cell.text
            match = re.fullmatch(r"(cell-effect-.*)-(estimate|interval)", cell.gid)
            if match:
                parts.setdefault(match[1], {})[match[2]] = cell.text
    for row, found in parts.items():
        out[row] = " ".join(found[k] for k in ("estimate", "interval") if k in found)
    return out


def cell_places(fig: Figure) -> dict[str, SimpleNamespace]:
    """Anchor x (display pixels), y (rows) and alignment of every text cell."""
    out = {}
    for t in plot_ax(fig).texts:
        if isinstance(t, TextColumn):
            x = t.get_transform().transform((t.get_position()[0], 0.0))[0]
            for cell in t.get_cells():
                out[cell.gid] = SimpleNamespace(
                    x=x + cell.dx * fig.dpi, y=cell.y, ha=t.get_horizontalalignment()
                )
    return out


def plain(text: str) -> str:
    """Typographic minus signs and line breaks as in the library's plain strings."""
    return text.replace(_numbers.MINUS, "-").replace("\n", " ")


def effect_text(est: float, low: float, high: float, d: int = 2) -> str:
    return f"{est:.{d}f} [{low:.{d}f}, {high:.{d}f}]"


def all_texts(fig: Figure) -> list[Text]:
    """Every visible text artist with text (a text column counts once)."""
    found = [t for ax in fig.axes for t in ax.texts]
    for ax in fig.axes:
        found += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible()]
        found += [ax.xaxis.label, ax.yaxis.label, ax.title]
        legend = ax.get_legend()
        if legend is not None:
            found += legend.get_texts()
    return [t for t in found if t.get_text().strip()]


def assert_clean_layout(fig: Figure) -> None:
    """No two texts overlap and every text lies inside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = []
    for t in all_texts(fig):  # a text column: each of its cells on its own
        if isinstance(t, TextColumn):
            boxes += [
                (SimpleNamespace(get_text=lambda c=c: c.text), b)
                for c, b in t.cell_extents(renderer)
            ]
        else:
            boxes.append((t, t.get_window_extent(renderer)))
    frame = fig.bbox
    for t, box in boxes:
        assert box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5, t.get_text()
        assert box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5, t.get_text()
    for i, (t1, b1) in enumerate(boxes):
        for t2, b2 in boxes[i + 1 :]:
            overlap_x = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
            overlap_y = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
            assert overlap_x <= 0.5 or overlap_y <= 0.5, (t1.get_text(), t2.get_text())


def row_order(fig: Figure) -> list[int]:
    sq = squares(fig)
    return sorted(sq, key=lambda i: sq[i].get_ydata()[0])
