"""L'Abbé plots: coordinates and point sizes against metafor's labbe(), and what is drawn."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError
from metapool.plotting.labbe import labbe_content
from tests.plotting._diagnostic import bcg_counts, bcg_generic, ref
from tests.plotting._helpers import by_prefix, plot_ax

CLASSES = {"RR": mp.RiskRatio, "OR": mp.OddsRatio, "RD": mp.RiskDifference}


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_coordinates_and_sizes_match_metafor(measure):
    expected = ref()["labbe"][measure]
    res = mp.RandomEffects().fit(bcg_counts(CLASSES[measure]))
    c = labbe_content(res)
    # closed-form arm risks and sizes: equal to rounding
    np.testing.assert_allclose(c.x, expected["x"], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c.y, expected["y"], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c.cex, expected["cex"], rtol=1e-12)
    # the pooled line: treatment = control + estimate (REML, as the fit recorded)
    assert res.estimate == pytest.approx(expected["estimate"], rel=1e-9)
    np.testing.assert_allclose(c.line_y - c.line_x, res.estimate, rtol=1e-12)


def test_markers_drawn_with_their_sizes_and_lines():
    res = mp.RandomEffects().fit(bcg_counts())
    c = labbe_content(res)
    fig = mp.labbe_plot(res)
    ax = plot_ax(fig)
    style = mp.PlotStyle()
    for i in range(res.k):
        (marker,) = [ln for ln in ax.lines if ln.get_gid() == f"labbe-study-{i}"]
        assert marker.get_xdata()[0] == c.x[i] and marker.get_ydata()[0] == c.y[i]
        assert marker.get_markersize() == pytest.approx(style.marker_size * c.cex[i])
    # larger points first, so that small ones stay visible on top
    order = [str(ln.get_gid()) for ln in ax.lines if str(ln.get_gid()).startswith("labbe-study")]
    sizes = [c.cex[int(g.rsplit("-", 1)[1])] for g in order]
    assert sizes == sorted(sizes, reverse=True)
    (equality,) = by_prefix(ax.lines, "labbe-equality")
    x, y = equality.get_data()
    assert list(x) == list(y)
    assert ax.get_xlim() == ax.get_ylim()
    assert ax.get_xlabel() == "Log risk (Control)" and ax.get_ylabel() == "Log risk (Experimental)"


def test_natural_scale_shows_risks():
    r = ref()["input"]
    res = mp.RandomEffects().fit(bcg_counts(mp.OddsRatio))
    c = labbe_content(res, natural=True)
    np.testing.assert_allclose(c.x, np.divide(r["events2"], r["n2"]), rtol=1e-12)
    np.testing.assert_allclose(c.y, np.divide(r["events1"], r["n1"]), rtol=1e-12)
    # the pooled curve is the odds ratio applied to the control risk
    odds = c.line_x / (1 - c.line_x) * math.exp(res.estimate)
    np.testing.assert_allclose(c.line_y, odds / (1 + odds), rtol=1e-10)
    assert (
        labbe_content(res, natural=True, group_names=("IV", "Placebo")).xlabel == "Risk (Placebo)"
    )


def test_zero_cells_get_metafors_correction():
    with pytest.warns(mp.exceptions.ZeroCellWarning):
        eff = mp.RiskRatio(events1=[0, 3, 5], n1=[10, 10, 20], events2=[2, 3, 9], n2=[10, 10, 20])
    res = mp.CommonEffect().fit(eff)
    c = labbe_content(res)
    assert c.y[0] == pytest.approx(math.log(0.5 / 11))  # 0.5 added to events and non-events


def test_errors():
    with pytest.raises(InvalidParameterError, match="2x2 tables with measure RR, OR or RD"):
        mp.labbe_plot(mp.RandomEffects().fit(bcg_generic()))
    with pytest.warns(mp.exceptions.ZeroCellWarning):
        eff = mp.RiskDifference(
            events1=[3, 0, 5],
            n1=[10, 10, 20],
            events2=[3, 0, 9],
            n2=[10, 10, 20],
            labels=["Alpha", "Beta", "Gamma"],
        )
    with pytest.raises(InvalidDataError, match=r"study 2 \('Beta'\)"):
        mp.labbe_plot(mp.CommonEffect().fit(eff))


def test_result_method():
    res = mp.CommonEffect().fit(bcg_counts(mp.OddsRatio))
    ax = plot_ax(res.plot_labbe(natural=True))
    assert ax.get_xlabel() == "Risk (Control)"
