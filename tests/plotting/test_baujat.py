"""Baujat plots: coordinates against metafor's baujat(), and what is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from metapool.plotting.baujat import baujat_content
from tests.plotting._diagnostic import MODELS, bcg_counts, bcg_generic, ref
from tests.plotting._helpers import by_prefix, plot_ax


@pytest.mark.parametrize("method", ["CE", "DL", "REML"])
def test_coordinates_match_metafor(method):
    expected = ref()["baujat"][method]
    content = baujat_content(MODELS[method].fit(bcg_generic()))
    # x needs only the full fit (DL closed form; REML to 1e-13 relative); y divides a
    # squared difference of two estimates by a variance, both from refits: 1e-9
    # relative leaves room for REML's convergence in 13 refits, far below any
    # visible difference.
    np.testing.assert_allclose(content.x, expected["x"], rtol=1e-10)
    np.testing.assert_allclose(content.y, expected["y"], rtol=1e-9)


def test_points_and_labels_are_drawn_where_the_content_says():
    res = MODELS["REML"].fit(bcg_generic())
    content = baujat_content(res)
    fig = mp.baujat_plot(res)
    ax = plot_ax(fig)
    (points,) = by_prefix(ax.lines, "baujat-study")
    np.testing.assert_array_equal(points.get_xdata(), content.x)
    np.testing.assert_array_equal(points.get_ydata(), content.y)
    texts = {t.get_gid(): t for t in ax.texts}
    assert [texts[f"baujat-label-{i}"].get_text() for i in range(res.k)] == [
        str(i + 1) for i in range(res.k)
    ]
    assert texts["baujat-label-3"].xy == pytest.approx((content.x[3], content.y[3]))
    assert ax.get_xlabel() == "Squared Pearson residual"
    assert ax.get_ylabel() == "Influence on overall result"
    # every point inside the axes
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < content.x.min() and content.x.max() < x1
    assert y0 < content.y.min() and content.y.max() < y1


def test_point_labels_options_and_common_effect_label():
    res = MODELS["CE"].fit(bcg_generic())
    ax = plot_ax(mp.baujat_plot(res, point_labels="labels"))
    assert {t.get_text() for t in ax.texts} == set(res.labels)
    assert ax.get_xlabel() == "Contribution to overall heterogeneity"
    ax = plot_ax(mp.baujat_plot(res, point_labels="none"))
    assert not ax.texts


def test_common_effect_x_sums_to_q():
    """For a common-effect model the x coordinates are the terms of Cochran's Q."""
    res = mp.CommonEffect().fit(bcg_generic())
    assert baujat_content(res).x.sum() == pytest.approx(res.q, rel=1e-12)


def test_mantel_haenszel_uses_its_leave_one_out():
    res = mp.MantelHaenszel().fit(bcg_counts())
    content = baujat_content(res)
    loo = mp.leave_one_out(res)
    np.testing.assert_allclose(content.x, (res.yi - res.estimate) ** 2 / res.vi, rtol=1e-12)
    np.testing.assert_allclose(
        content.y, (loo.estimate - res.estimate) ** 2 / loo.se**2, rtol=1e-12
    )


def test_into_given_axes_and_saved(tmp_path):
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    out = mp.baujat_plot(MODELS["DL"].fit(bcg_generic()), ax=b, path=tmp_path / "b.svg")
    assert out is fig and by_prefix(b.lines, "baujat-study") and not a.lines
    assert (tmp_path / "b.svg").read_text().count("baujat-study") == 1


def test_errors_name_the_parameter():
    res = MODELS["DL"].fit(bcg_generic())
    with pytest.raises(MetapoolTypeError, match="'result' parameter of baujat_plot"):
        mp.baujat_plot(res.to_dict())  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"'point_labels'.*'ids'"):
        mp.baujat_plot(res, point_labels="numbers")
    with pytest.raises(InvalidDataError, match="at least two studies"):
        mp.baujat_plot(mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1], vi=[0.1])))


def test_result_method():
    res = MODELS["DL"].fit(bcg_generic())
    ax = plot_ax(res.plot_baujat(point_labels="none"))
    (points,) = by_prefix(ax.lines, "baujat-study")
    np.testing.assert_array_equal(points.get_xdata(), baujat_content(res).x)
