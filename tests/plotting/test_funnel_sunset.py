"""Sunset (power-enhanced) funnel plots (Kossmeier et al. 2020), and markers that are
not clipped at the axes' edges."""

from __future__ import annotations

import math
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting.funnel._content import POWER_LEVELS, power_se, study_power
from tests.plotting._helpers import by_prefix, plot_ax

Z975 = NormalDist().inv_cdf(0.975)


def _power(se: float, delta: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z test, written out independently of the code."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    nd = NormalDist()
    return nd.cdf(delta / se - z) + nd.cdf(-delta / se - z)


def test_study_power_is_the_two_sided_z_test_power() -> None:
    for se, delta in [(0.1, 0.3), (0.5, 0.2), (0.05, -0.1), (2.0, 1.0)]:
        got = float(study_power(np.array([se]), abs(delta), 0.05)[0])
        assert got == pytest.approx(_power(se, abs(delta)), rel=1e-12)
    # no effect: power is alpha whatever the SE
    assert study_power(np.array([0.1, 1.0]), 0.0, 0.05) == pytest.approx([0.05, 0.05])
    # the SE at a power level gives that power back
    for level in POWER_LEVELS:
        se = power_se(level, 0.4, 0.05)
        assert _power(se, 0.4) == pytest.approx(level, abs=1e-12)
    assert math.isinf(power_se(0.04, 0.4, 0.05))


def test_sunset_funnel_draws_power_bands_and_axis(bcg: mp.MetaResult) -> None:
    fig = mp.funnel_plot(bcg, sunset=True)
    ax = plot_ax(fig)
    bands = by_prefix(ax.patches, "sunset-band-")
    se_max = ax.get_ylim()[0]
    effect = abs(bcg.estimate)
    edges = [power_se(lv, effect, 0.05) for lv in POWER_LEVELS]
    inside = sorted(se for se in edges if se < se_max)
    assert len(bands) == len(inside) + 1
    # bands tile the y axis from 0 to se_max, their edges at the power levels' SEs
    tops = sorted(b.get_y() for b in bands)
    assert tops == pytest.approx([0.0, *inside])
    assert sum(b.get_height() for b in bands) == pytest.approx(se_max)
    # brighter (higher in plasma) for more power: the top band is the most powerful
    colors = [b.get_facecolor() for b in sorted(bands, key=lambda b: b.get_y())]
    assert colors[0] != colors[-1]
    (right,) = [a for a in fig.axes if a.get_gid() == "sunset-power-axis"]
    assert right.get_ylim() == ax.get_ylim()
    assert list(right.get_yticks()) == pytest.approx(inside)
    (text,) = [t for t in ax.texts if t.get_gid() == "sunset-median-power"]
    median = float(np.median([_power(s, effect) for s in np.sqrt(bcg.vi)]))
    assert text.get_text() == f"Median power {100 * median:.0f}%"


def test_sunset_effect_is_given_on_the_natural_scale(bcg: mp.MetaResult) -> None:
    fig = mp.funnel_plot(bcg, sunset=True, sunset_effect=0.5, sunset_alpha=0.1)
    ax = plot_ax(fig)
    (text,) = [t for t in ax.texts if t.get_gid() == "sunset-median-power"]
    median = float(np.median([_power(s, abs(math.log(0.5)), 0.1) for s in np.sqrt(bcg.vi)]))
    assert text.get_text() == f"Median power {100 * median:.0f}%"
    (right,) = [a for a in fig.axes if a.get_gid() == "sunset-power-axis"]
    assert "alpha = 0.1" in right.get_ylabel()


def test_sunset_bad_input(bcg: mp.MetaResult) -> None:
    with pytest.raises(InvalidParameterError, match=r"'sunset'.*contours"):
        mp.funnel_plot(bcg, sunset=True, contours=(0.95,))
    with pytest.raises(InvalidParameterError, match="'sunset_alpha'"):
        mp.funnel_plot(bcg, sunset=True, sunset_alpha=1.5)
    with pytest.raises(InvalidParameterError, match="'sunset_effect'"):
        mp.funnel_plot(bcg, sunset=True, sunset_effect="big")
    with pytest.raises(MetapoolTypeError, match="'sunset'"):
        mp.funnel_plot(bcg, sunset="yes")
    prop = mp.RandomEffects().fit(mp.Proportion(events=[3, 5, 8], n=[20, 30, 40]))
    with pytest.raises(InvalidParameterError, match="null value"):
        mp.funnel_plot(prop, sunset=True)


def test_study_markers_are_not_clipped_at_the_edges(bcg: mp.MetaResult) -> None:
    fig = mp.funnel_plot(bcg)
    (studies,) = by_prefix(plot_ax(fig).lines, "funnel-study")
    assert studies.get_clip_on() is False


def test_legend_stays_a_fixed_distance_below_the_axes(bcg: mp.MetaResult) -> None:
    """The legend sits just under the axis label, the same distance (in points)
    whatever the size of the figure, instead of a fraction of the axes' height."""
    gaps = []
    for size in ((3.35, 3.6), (5.0, 8.0)):
        fig = mp.funnel_plot(bcg, contours=(0.90, 0.95), figsize=size)
        fig.canvas.draw()
        ax = plot_ax(fig)
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        legend_top = ax.get_legend().get_window_extent(renderer).y1
        label_bottom = ax.xaxis.label.get_window_extent(renderer).y0
        gap_points = (label_bottom - legend_top) * 72.0 / fig.dpi
        assert 0.0 <= gap_points <= 12.0  # below the axis label, within a line
        gaps.append(gap_points)
    assert gaps[0] == pytest.approx(gaps[1], abs=1.0)
