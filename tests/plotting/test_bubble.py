"""Bubble plots of meta-regressions: the line and bands against metafor's predict() along
a moderator (as regplot draws them), level means of a categorical moderator, point sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._scatter import metafor_cex
from metapool.plotting.bubble import bubble_content
from tests.plotting._diagnostic import bcg_generic, ref
from tests.plotting._helpers import by_prefix, plot_ax


def _numeric() -> mp.MetaRegressionResult:
    r = ref()["regplot"]
    return mp.MetaRegression().fit(bcg_generic(), {"ablat": r["ablat"], "year": r["year"]})


def _categorical() -> mp.MetaRegressionResult:
    return mp.MetaRegression().fit(bcg_generic(), {"alloc": ref()["regplot"]["alloc"]})


def test_line_and_bands_match_metafor():
    r = ref()["regplot"]
    reg = _numeric()
    c = bubble_content(reg, "ablat", xvals=r["grid"])
    assert dict(c.at) == pytest.approx({"year": r["year_mean"]})
    # predict() with year at its mean; REML tau^2 of a two-moderator fit agrees with
    # metafor's to ~1e-12, and year ~ 1966 multiplies that: 1e-9 absolute on log RRs.
    for name in ("pred", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose(getattr(c, name), r[name], rtol=0, atol=1e-9)
    np.testing.assert_allclose(c.cex, metafor_cex(np.sqrt(r["weights"])), rtol=1e-9)


def test_drawn_line_bands_and_points():
    reg = _numeric()
    c = bubble_content(reg, "ablat")
    ax = plot_ax(mp.bubble_plot(reg, moderator="ablat", pi=True))
    (line,) = by_prefix(ax.lines, "bubble-line")
    np.testing.assert_allclose(line.get_xdata(), c.line_x)
    np.testing.assert_allclose(line.get_ydata(), np.exp(c.pred), rtol=1e-12)  # RR, log axis
    assert ax.get_yscale() == "log"
    assert {str(p.get_gid()) for p in ax.collections} == {"bubble-ci", "bubble-pi"}
    span = np.ptp(reg.design.X[:, 1])
    assert c.line_x[0] == pytest.approx(reg.design.X[:, 1].min() - 0.04 * span)
    for i in range(reg.k):
        (pt,) = [ln for ln in ax.lines if ln.get_gid() == f"bubble-study-{i}"]
        assert pt.get_xdata()[0] == reg.design.X[i, 1]
        assert pt.get_ydata()[0] == pytest.approx(np.exp(reg.yi[i]))
        assert pt.get_markersize() == pytest.approx(mp.PlotStyle().marker_size * c.cex[i])
    assert ax.get_xlabel() == "ablat" and ax.get_ylabel() == "Risk Ratio"
    ax = plot_ax(mp.bubble_plot(reg, moderator="ablat", ci=False))
    assert not ax.collections


def test_at_holds_other_moderators():
    reg = _numeric()
    c = bubble_content(reg, "ablat", at={"year": 1950}, xvals=[30.0])
    expected = reg.predict({"ablat": [30.0], "year": [1950.0]})
    assert c.pred[0] == pytest.approx(expected.pred[0], rel=1e-12)
    assert c.ci_low[0] == pytest.approx(expected.ci.low[0], rel=1e-12)
    assert c.pi_high[0] == pytest.approx(expected.pi.high[0], rel=1e-12)


def test_categorical_level_means_match_metafor():
    r = ref()["regplot"]
    reg = _categorical()
    c = bubble_content(reg, "alloc")
    assert c.levels == tuple(r["levels"])
    np.testing.assert_allclose(c.pred, r["level_pred"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(c.ci_low, r["level_ci_low"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(c.ci_high, r["level_ci_high"], rtol=0, atol=1e-9)
    # each study at its level's position
    positions = {name: p for p, name in enumerate(c.levels)}
    assert c.x.tolist() == [positions[a] for a in r["alloc"]]
    ax = plot_ax(mp.bubble_plot(reg, moderator="alloc"))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(r["levels"])
    for j in range(3):
        (mean,) = [ln for ln in ax.lines if ln.get_gid() == f"bubble-level-{j}"]
        assert mean.get_ydata()[0] == pytest.approx(np.exp(c.pred[j]))


def test_errors_name_the_parameter():
    reg = _numeric()
    with pytest.raises(InvalidParameterError, match=r"'moderator'.*'ablat', 'year'"):
        mp.bubble_plot(reg, moderator="dose")
    with pytest.raises(InvalidParameterError, match=r"'at'.*other moderators"):
        mp.bubble_plot(reg, moderator="ablat", at={"ablat": 3})
    with pytest.raises(InvalidParameterError, match=r"'at'.*finite number"):
        mp.bubble_plot(reg, moderator="ablat", at={"year": "late"})
    with pytest.raises(InvalidParameterError, match="one of its levels"):
        bubble_content(
            mp.MetaRegression().fit(
                bcg_generic(),
                {"alloc": ref()["regplot"]["alloc"], "ablat": ref()["regplot"]["ablat"]},
            ),
            "ablat",
            at={"alloc": "other"},
        )
    with pytest.raises(MetapoolTypeError, match="MetaRegressionResult"):
        mp.bubble_plot(mp.RandomEffects().fit(bcg_generic()), moderator="x")  # type: ignore[arg-type]


def test_result_method():
    reg = _numeric()
    ax = plot_ax(reg.plot_bubble("year", at={"ablat": 30}))
    assert ax.get_xlabel() == "year"
