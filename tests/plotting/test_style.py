"""PlotStyle: one style for every plot, its checks, its file settings, its sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.markers import MarkerStyle

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting import PlotStyle
from tests.plotting._helpers import by_prefix, diamonds, plot_ax, squares

#: Width of a double journal column, in inches.
DOUBLE_COLUMN = 17.5 / 2.54


def test_plot_style_is_public_frozen_and_checked():
    assert mp.PlotStyle is PlotStyle
    style = PlotStyle()
    assert (style.font_family, style.font_size, style.pdf_fonttype) == ("sans-serif", 8.0, 42)
    with pytest.raises(AttributeError):
        style.font_size = 9  # type: ignore[misc]
    assert style.replace(font_size=9).font_size == 9 and style.font_size == 8.0
    for field, value, error in (
        ("font_size", 0, InvalidParameterError),
        ("font_size", True, InvalidParameterError),
        ("arrow_length", "big", InvalidParameterError),
        ("dpi", -1, InvalidParameterError),
        ("square_color", "nocolour", InvalidParameterError),
        ("pdf_fonttype", 1, InvalidParameterError),
        ("font_family", 3, MetapoolTypeError),
    ):
        with pytest.raises(error) as info:
            PlotStyle(**{field: value})
        assert f"'{field}' field of PlotStyle" in str(info.value)
        assert repr(value) in str(info.value)
    with pytest.raises(MetapoolTypeError, match="'style' parameter of forest_plot"):
        mp.forest_plot(mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1], se=[0.1])), style={})


def test_one_style_for_forest_and_funnel(bcg):
    style = PlotStyle(font_size=7, font_family="serif", square_color="tab:green")
    fig = mp.forest_plot(bcg, style=style)
    assert matplotlib.colors.same_color(squares(fig)[0].get_color(), "tab:green")
    for text in plot_ax(fig).texts:
        assert text.get_fontsize() == 7 or not text.get_text()  # (the header rule)
    # The plot's own keywords override the style.
    fig = mp.forest_plot(bcg, style=style, color="tab:red", diamond_color="tab:blue")
    assert matplotlib.colors.same_color(squares(fig)[0].get_color(), "tab:red")
    assert matplotlib.colors.same_color(diamonds(fig)["total"].get_facecolor(), "tab:blue")
    ax = plot_ax(mp.funnel_plot(bcg, style=style))
    assert ax.xaxis.label.get_fontsize() == 7
    assert ax.get_xticklabels()[0].get_fontfamily() == ["serif"]


@pytest.mark.parametrize("plot", ["forest", "funnel"])
def test_pdf_and_postscript_embed_truetype_fonts(bcg, tmp_path, plot):
    draw = mp.forest_plot if plot == "forest" else mp.funnel_plot
    fig = draw(bcg, path=tmp_path / "direct.pdf")
    for pdf in (tmp_path / "direct.pdf", tmp_path / "again.pdf"):
        if not pdf.exists():
            fig.savefig(pdf)  # the returned figure saves alike
        data = pdf.read_bytes()
        assert b"/FontFile2" in data  # an embedded TrueType font program
        assert b"/Type3" not in data
    fig.savefig(tmp_path / "plot.ps")
    assert b"/FontType 42" in (tmp_path / "plot.ps").read_bytes()
    # Type 3 on request, and only for that figure.
    draw(bcg, path=tmp_path / "type3.pdf", style=PlotStyle(pdf_fonttype=3))
    assert b"/Type3" in (tmp_path / "type3.pdf").read_bytes()
    assert matplotlib.rcParams["pdf.fonttype"] == 3  # matplotlib's own default, untouched


def test_style_dpi_is_used_when_saving(bcg, tmp_path):
    from PIL import Image

    fig = mp.forest_plot(bcg, style=PlotStyle(dpi=50), path=tmp_path / "a.png")
    fig.savefig(tmp_path / "b.png")
    width = fig.get_size_inches()[0]
    for name in ("a.png", "b.png"):
        with Image.open(tmp_path / name) as im:
            assert im.size[0] == pytest.approx(50 * width, abs=1)


def _marker_size_pt(line) -> tuple[float, float]:
    """Length and width (points) of a path marker as drawn."""
    marker = MarkerStyle(line.get_marker())
    box = marker.get_path().transformed(marker.get_transform()).get_extents()
    size = line.get_markersize()
    return box.width * size, box.height * size


def test_arrowheads_are_visible_in_print(bcg):
    fig = mp.forest_plot(bcg, xlim=(0.2, 5))
    arrows = by_prefix(plot_ax(fig).lines, "ci-arrow-")
    assert arrows
    style = PlotStyle()
    # Printed across a double column (or at full size if narrower).
    scale = min(1.0, DOUBLE_COLUMN / fig.get_size_inches()[0])
    for arrow in arrows:
        length, width = _marker_size_pt(arrow)
        assert length == pytest.approx(style.arrow_length)
        assert width == pytest.approx(style.arrow_width)
        assert length * scale >= 3.5 and width * scale >= 3.0
    # Wider than the CI line they end, so that the head reads as one.
    assert style.arrow_width > 3 * style.ci_width
    big = mp.forest_plot(bcg, xlim=(0.2, 5), style=PlotStyle(arrow_length=8, arrow_width=6))
    length, width = _marker_size_pt(by_prefix(plot_ax(big).lines, "ci-arrow-")[0])
    assert (length, width) == pytest.approx((8.0, 6.0))


def test_a_figure_pickles_with_its_file_settings(bcg, tmp_path):
    import pickle

    fig = pickle.loads(pickle.dumps(mp.forest_plot(bcg)))
    fig.savefig(tmp_path / "copy.pdf")
    assert b"/FontFile2" in (tmp_path / "copy.pdf").read_bytes()
