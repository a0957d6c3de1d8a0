"""Funnel plots: markers, axes, the pseudo-confidence region, contours, trim and fill."""

from __future__ import annotations

import math
from statistics import NormalDist
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from tests._reference import dataset, effects_of
from tests.plotting._helpers import (
    Z95,
    by_prefix,
    huge_or,
    plain,
    plot_ax,
)


def test_funnel_markers_axes_and_pseudo_ci(bcg):
    fig = mp.funnel_plot(bcg)
    ax = plot_ax(fig)
    (studies,) = by_prefix(ax.lines, "funnel-study")
    assert len(studies.get_xdata()) == bcg.k == 13
    assert list(studies.get_xdata()) == pytest.approx(np.exp(bcg.yi))
    assert list(studies.get_ydata()) == pytest.approx(np.sqrt(bcg.vi))
    assert ax.get_xscale() == "log" and ax.yaxis_inverted()
    assert ax.get_ylim()[1] == 0.0
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels and all(not lab.startswith("−") for lab in labels)  # natural scale
    (region,) = by_prefix(ax.lines, "pseudo-ci")
    se_max = ax.get_ylim()[0]
    expected = np.exp([bcg.estimate - Z95 * se_max, bcg.estimate, bcg.estimate + Z95 * se_max])
    assert list(region.get_xdata()) == pytest.approx(expected)
    assert list(region.get_ydata()) == pytest.approx([se_max, 0.0, se_max])
    assert ax.get_legend() is None  # nothing to explain


def test_contour_enhanced_funnel(bcg):
    fig = mp.funnel_plot(bcg, contours=(0.99, 0.90, 0.95))
    ax = plot_ax(fig)
    contours = {p.get_gid(): p for p in by_prefix(ax.patches, "contour-")}
    assert set(contours) == {"contour-0.9", "contour-0.95", "contour-0.99", "contour-background"}
    se_max = ax.get_ylim()[0]
    for level in (0.9, 0.95, 0.99):
        z = NormalDist().inv_cdf(0.5 + level / 2)
        xs = sorted(x for x, _ in contours[f"contour-{level:g}"].get_xy()[:3])
        assert xs == pytest.approx([math.exp(-z * se_max), 1.0, math.exp(z * se_max)])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == sorted(["p > 0.10", "0.05 < p ≤ 0.10", "0.01 < p ≤ 0.05", "p ≤ 0.01"])
    # Darker just outside the non-significant region, lighter further out.
    grey = {g: matplotlib.colors.to_rgb(p.get_facecolor())[0] for g, p in contours.items()}
    assert grey["contour-0.9"] == 1.0
    assert grey["contour-0.95"] < grey["contour-0.99"] < grey["contour-background"]
    with pytest.raises(InvalidParameterError, match="contours"):
        mp.funnel_plot(bcg, contours=(95,))


def test_funnel_with_trim_and_fill():
    res = mp.RandomEffects(tau2="REML").fit(effects_of(dataset("bangertdrowns2004")))
    tf = mp.trim_and_fill(res)
    assert tf.k0 > 0
    fig = mp.funnel_plot(res, trimfill=tf)
    ax = plot_ax(fig)
    (studies,) = by_prefix(ax.lines, "funnel-study")
    (filled,) = by_prefix(ax.lines, "funnel-filled")
    assert len(studies.get_xdata()) == res.k
    assert len(filled.get_xdata()) == tf.k0
    assert list(filled.get_xdata()) == pytest.approx(tf.filled.yi)
    assert matplotlib.colors.same_color(filled.get_markerfacecolor(), "white")  # open markers
    (centre,) = by_prefix(ax.lines, "pooled-line-observed")
    assert centre.get_xdata()[0] == pytest.approx(res.estimate)
    (adjusted,) = [line for line in ax.lines if line.get_gid() == "pooled-line"]
    assert adjusted.get_xdata()[0] == pytest.approx(tf.adjusted.estimate)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Filled studies" in legend and "Observed studies" in legend


def test_funnel_accepts_any_trim_and_fill_like_object(bcg):
    stand_in = SimpleNamespace(
        filled=SimpleNamespace(yi=np.array([0.4, 0.9]), vi=np.array([0.1, 0.2]), labels=("a", "b")),
        adjusted=SimpleNamespace(estimate=-0.3),
    )
    ax = plot_ax(mp.funnel_plot(bcg, trimfill=stand_in))
    (filled,) = by_prefix(ax.lines, "funnel-filled")
    assert list(filled.get_xdata()) == pytest.approx(np.exp([0.4, 0.9]))
    assert list(filled.get_ydata()) == pytest.approx(np.sqrt([0.1, 0.2]))
    with pytest.raises(MetapoolTypeError, match="trimfill"):
        mp.funnel_plot(bcg, trimfill=object())


def test_funnel_into_an_existing_axes_and_path(bcg, tmp_path):
    fig, ax = plt.subplots()
    out = tmp_path / "funnel.pdf"
    assert mp.funnel_plot(bcg, ax=ax, path=out, legend="upper right", contours=(0.95,)) is fig
    assert out.read_bytes().startswith(b"%PDF")
    assert ax.get_legend() is not None
    with pytest.raises(MetapoolTypeError, match="MetaResult"):
        mp.funnel_plot(object())  # type: ignore[arg-type]


def test_funnel_with_extreme_standard_errors_stays_finite():
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2], se=[1000.0, 0.1, 0.2], measure="OR", log_scale=True)
    res = mp.RandomEffects(tau2="DL").fit(eff)
    fig = mp.funnel_plot(res, contours=(0.9, 0.95))
    ax = plot_ax(fig)
    low, high = ax.get_xlim()
    assert 1e-301 < low < high < 1e301
    for patch in by_prefix(ax.patches, "contour-0"):
        assert np.isfinite(patch.get_xy()).all()
    # The sides of the pseudo-CI region are cut where they leave the drawing
    # range, keeping their slope: x = estimate ± z·SE on the log scale.
    (region,) = by_prefix(ax.lines, "pseudo-ci")
    x, y = np.asarray(region.get_xdata()), np.asarray(region.get_ydata())
    ok = np.isfinite(x)
    assert ok.all()
    assert np.abs(np.log(x) - res.estimate) == pytest.approx(Z95 * y, rel=1e-9, abs=1e-9)
    assert plain(ax.get_xticklabels()[0].get_text()).startswith("1e-")


def test_funnel_marks_studies_beyond_the_axis(bcg):
    fig = mp.funnel_plot(huge_or(800.0))
    (beyond,) = by_prefix(plot_ax(fig).lines, "funnel-beyond-high")
    assert list(beyond.get_ydata()) == pytest.approx([0.1])
    fig = mp.funnel_plot(bcg, xlim=(0.3, 3))
    outside = np.exp(bcg.yi)
    n_low = int((outside < 0.3).sum())
    (low,) = by_prefix(plot_ax(fig).lines, "funnel-beyond-low")
    assert len(low.get_xdata()) == n_low > 0
    assert set(low.get_xdata()) == {0.3}
