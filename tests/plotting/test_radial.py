"""Radial (Galbraith) plots: coordinates against metafor's radial(), and what is drawn."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting.radial import radial_content
from tests.plotting._diagnostic import MODELS, bcg_generic, ref
from tests.plotting._helpers import by_prefix, plot_ax


@pytest.mark.parametrize("method", ["CE", "DL", "REML"])
def test_coordinates_match_metafor(method):
    expected = ref()["radial"][method]
    res = MODELS[method].fit(bcg_generic())
    content = radial_content(res)
    # x and z need tau^2 only: exact for CE and DL, REML's tau^2 agrees to ~1e-13.
    np.testing.assert_allclose(content.x, expected["x"], rtol=1e-11)
    np.testing.assert_allclose(content.z, expected["z"], rtol=1e-11)
    assert content.estimate == pytest.approx(expected["estimate"], rel=1e-10)
    ax = plot_ax(mp.radial_plot(res))
    (points,) = by_prefix(ax.lines, "radial-study")
    np.testing.assert_allclose(points.get_xdata(), expected["x"], rtol=1e-11)
    np.testing.assert_allclose(points.get_ydata(), expected["z"], rtol=1e-11)


def test_line_band_and_limits_follow_metafor():
    res = MODELS["REML"].fit(bcg_generic())
    c = radial_content(res)
    ax = plot_ax(mp.radial_plot(res))
    xmax = 1.3 * c.x.max()
    assert ax.get_xlim() == pytest.approx((0.0, xmax))
    assert ax.get_ylim() == pytest.approx(c.zlim)
    assert c.zlim[0] <= -5 and c.zlim[1] >= 5
    (line,) = by_prefix(ax.lines, "radial-line")
    assert list(line.get_xdata()) == pytest.approx([0.0, xmax])
    assert list(line.get_ydata()) == pytest.approx([0.0, xmax * res.estimate])
    (band,) = by_prefix(ax.patches, "radial-band")
    z = 1.959963984540054
    corners = [(0, z), (xmax, z + xmax * res.estimate), (xmax, -z + xmax * res.estimate), (0, -z)]
    np.testing.assert_allclose(band.get_xy()[:4], corners, rtol=1e-12)
    assert ax.get_xlabel() == "x = 1/√(v + τ²)"
    assert plot_ax(mp.radial_plot(MODELS["CE"].fit(bcg_generic()))).get_xlabel() == "x = 1/√v"


def test_arc_is_a_circle_on_screen_labelled_on_the_natural_scale():
    res = MODELS["REML"].fit(bcg_generic())
    fig = mp.radial_plot(res)
    ax = plot_ax(fig)
    fig.canvas.draw()
    (arc,) = [ln for ln in ax.lines if ln.get_gid() == "radial-arc"]
    pixels = ax.transData.transform(np.column_stack([arc.get_xdata(), arc.get_ydata()]))
    origin = ax.transData.transform((0.0, 0.0))
    radii = np.hypot(*(pixels - origin).T)
    assert radii.std() < 1e-9 * radii.mean()  # one radius: a circle on the square plot area
    labels = {t.get_gid(): t for t in ax.texts if str(t.get_gid()).startswith("radial-arc-label")}
    assert [t.get_text() for t in labels.values()] == ["0.2", "0.5", "1"]
    for t in labels.values():  # each label on the line through the origin of slope log(RR)
        x, z = t.get_position()
        assert z / x == pytest.approx(math.log(float(t.get_text())), abs=1e-12)
    (ci,) = by_prefix(ax.lines, "radial-ci-arc")
    slopes = ci.get_ydata() / ci.get_xdata()
    assert (slopes[0], slopes[-1]) == pytest.approx((res.ci.low, res.ci.high))


def test_level_and_errors():
    res = MODELS["DL"].fit(bcg_generic())
    c = radial_content(res, level=0.99)
    assert c.zcrit == pytest.approx(2.5758293035489004)
    with pytest.raises(InvalidParameterError, match="'level'"):
        mp.radial_plot(res, level=95)
    with pytest.raises(MetapoolTypeError, match="'result' parameter of radial_plot"):
        mp.radial_plot("res")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'band_color'"):
        mp.radial_plot(res, band_color="nocolour")


def test_result_method():
    res = MODELS["DL"].fit(bcg_generic())
    (points,) = by_prefix(plot_ax(res.plot_radial()).lines, "radial-study")
    np.testing.assert_allclose(points.get_xdata(), radial_content(res).x)
