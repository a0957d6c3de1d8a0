"""Influence plots: the diagnostics of mp.influence in eight panels with metafor's
reference lines, influential studies filled."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.colors import to_rgba

import metapool as mp
from metapool.exceptions import InvalidDataError, MetapoolTypeError
from tests.plotting._diagnostic import bcg_counts, bcg_generic

NAMES = ["rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat", "weight"]


def _line(ax, gid):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return line


def _hlines(ax, style):
    return sorted(
        float(ln.get_ydata()[0])
        for ln in ax.lines
        if ln.get_gid() is None and ln.get_linestyle() == style
    )


def test_panels_show_the_influence_diagnostics():
    res = mp.RandomEffects().fit(bcg_generic())
    inf = mp.influence(res)  # tested against metafor's influence() in tests/test_sensitivity.py
    fig = mp.influence_plot(res)
    axes = {ax.get_gid(): ax for ax in fig.axes}
    assert list(axes) == [f"influence-{n}" for n in NAMES]
    expected = {
        "rstudent": inf.rstudent,
        "dffits": inf.dffits,
        "cook.d": inf.cooks_distance,
        "cov.r": inf.cov_ratio,
        "tau2.del": inf.tau2_deleted,
        "QE.del": inf.q_deleted,
        "hat": inf.hat,
        "weight": inf.weight,
    }
    for name, values in expected.items():
        line = _line(axes[f"influence-{name}"], f"{name}-line")
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, res.k + 1))
        np.testing.assert_array_equal(line.get_ydata(), values)
    k = res.k
    cut = 3 * math.sqrt(1 / (k - 1))
    assert _hlines(axes["influence-rstudent"], ":") == pytest.approx(
        [-1.959963984540054, 1.959963984540054]
    )
    assert _hlines(axes["influence-dffits"], ":") == pytest.approx([-cut, cut])
    assert _hlines(axes["influence-cook.d"], ":") == pytest.approx([0.454936423119572])
    assert _hlines(axes["influence-cov.r"], "--") == [1.0]
    assert axes["influence-cov.r"].get_yscale() == "log"
    assert _hlines(axes["influence-tau2.del"], "--") == pytest.approx([res.tau2])
    assert _hlines(axes["influence-QE.del"], "--") == pytest.approx([res.q])
    assert _hlines(axes["influence-hat"], "--") == pytest.approx([1 / k])
    assert _hlines(axes["influence-hat"], ":") == pytest.approx([3 / k])
    assert _hlines(axes["influence-weight"], "--") == pytest.approx([100 / k])


def test_influential_studies_are_filled():
    res = mp.RandomEffects(tau2="DL").fit(
        mp.GenericEffect(yi=[0.1, 0.2, 0.15, 0.12, 1.5, 0.3, 0.2], vi=[0.01] * 7)
    )
    assert mp.influence(res).is_influential.tolist() == [False] * 4 + [True] + [False] * 2
    fig = res.plot_influence(influential_color="tab:red")
    ax = fig.axes[0]
    marked = _line(ax, "rstudent-influential")
    assert marked.get_xdata().tolist() == [5]
    assert to_rgba(marked.get_markerfacecolor()) == to_rgba("tab:red")
    assert 5 not in _line(ax, "rstudent-points").get_xdata().tolist()


def test_errors():
    with pytest.raises(MetapoolTypeError, match="inverse-variance"):
        mp.influence_plot(mp.MantelHaenszel().fit(bcg_counts()))
    with pytest.raises(InvalidDataError, match="at least three"):
        mp.influence_plot(mp.CommonEffect().fit(bcg_generic(2)))
    with pytest.raises(MetapoolTypeError, match="'result' parameter of influence_plot"):
        mp.influence_plot(mp.leave_one_out(mp.CommonEffect().fit(bcg_generic())))  # type: ignore[arg-type]
