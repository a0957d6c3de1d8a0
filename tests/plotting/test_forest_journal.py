"""Forest plots at journal widths: exactly 8.5 or 17.5 cm wide, legible, nothing overlapping."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import InvalidParameterError
from metapool.plotting.forest._journal import JOURNAL_WIDTHS
from tests.plotting._helpers import (
    all_texts,
    assert_clean_layout,
    generic,
    plot_ax,
    squares,
    texts,
)

CM = {"single": 8.5, "double": 17.5}


def _check(fig, width):
    w, _ = fig.get_size_inches()
    assert w * 2.54 == pytest.approx(CM[width], abs=1e-9)  # exactly the column width
    assert w == JOURNAL_WIDTHS[width]
    assert_clean_layout(fig)  # no two texts overlap, all inside the figure
    sizes = {t.get_fontsize() for t in all_texts(fig)}
    assert min(sizes) >= 6.0  # legible in print


@pytest.mark.parametrize("width", ["single", "double"])
def test_binary_analysis(bcg, width):
    fig = mp.forest_plot(bcg, width=width)
    _check(fig, width)
    t = texts(fig)
    assert len(squares(fig)) == bcg.k
    if width == "double":  # room for the arm-level data and the weights
        assert "cell-events1-study-0" in t and "cell-weight-study-0" in t
    else:  # a single column keeps the study, the effect and the graphic
        assert "cell-events1-study-0" not in t
        assert "cell-effect-study-0" in t and "cell-study-study-0" in t


@pytest.mark.parametrize("width", ["single", "double"])
def test_series(bcg, width):
    _check(mp.forest_plot(mp.leave_one_out(bcg), width=width), width)
    _check(mp.forest_plot(mp.cumulative(bcg), width=width), width)


def test_subgroups_fit_two_columns_not_one(bcg_subgroups):
    _check(mp.forest_plot(bcg_subgroups, width="double"), "double")
    # the heterogeneity statement under each subtotal needs ~1.6 in even at 6 pt, which
    # leaves no room for the graphic and the effects in 8.5 cm: a clear error
    with pytest.raises(InvalidParameterError, match=r"single-column figure.*width='double'"):
        mp.forest_plot(bcg_subgroups, width="single")


def test_many_long_labels_and_continuous_data(normand):
    labels = [f"A very long study label number {i} with several words" for i in range(normand.k)]
    for width in ("single", "double"):
        fig = mp.forest_plot(normand, labels=labels, width=width)
        _check(fig, width)


def test_tick_labels_are_thinned_not_overlapping():
    res = generic(6, seed=4)
    fig = mp.forest_plot(res, width="single", xlim=(-10, 10), xticks=np.arange(-10, 11, 1.0))
    _check(fig, "single")
    shown = [t.get_text() for t in plot_ax(fig).get_xticklabels() if t.get_text()]
    assert 2 < len(shown) < 21 and "0" in shown


def test_given_columns_and_font_are_kept(bcg):
    fig = mp.forest_plot(
        bcg, width="double", columns=["study", "weight", "effect", "plot"], fontsize=7
    )
    _check(fig, "double")
    assert {t.get_fontsize() for t in all_texts(fig)} <= {7.0, 8.0}  # 8: the title size
    assert "cell-weight-study-0" in texts(fig)
    with pytest.raises(InvalidParameterError, match="single-column figure"):
        mp.forest_plot(
            bcg,
            width="single",
            columns=["study", "experimental", "control", "weight", "effect", "plot"],
        )


def test_errors(bcg):
    import matplotlib.pyplot as plt

    with pytest.raises(InvalidParameterError, match=r"'width'.*'single', 'double'"):
        mp.forest_plot(bcg, width="A4")
    _, ax = plt.subplots()
    with pytest.raises(InvalidParameterError, match=r"'width'.*'ax'"):
        mp.forest_plot(bcg, width="single", ax=ax)


def test_saved_at_the_width(bcg, tmp_path):
    from PIL import Image

    mp.forest_plot(bcg, width="single", path=tmp_path / "f.png", dpi=300)
    with Image.open(tmp_path / "f.png") as img:
        assert abs(img.size[0] - 8.5 / 2.54 * 300) < 1  # matplotlib truncates to pixels


_WORDS = ["Trial", "Smith", "et", "al.", "Multicentre", "Study", "Group", "2003", "(pilot)", "B"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(2, 12),
    seed=st.integers(0, 10_000),
    width=st.sampled_from(["single", "double"]),
    words=st.integers(1, 7),
)
def test_any_analysis_fits_exactly_or_says_so(k, seed, width, words):
    """Law: a journal-width forest plot is exactly the column wide with no overlapping
    text, or an InvalidParameterError says that it does not fit; never anything else."""
    rng = np.random.default_rng(seed)
    labels = [" ".join(rng.choice(_WORDS, size=words)) for _ in range(k)]
    res = generic(k, seed=seed)
    error: InvalidParameterError | None = None
    try:
        fig = mp.forest_plot(res, labels=labels, width=width)
    except InvalidParameterError as exc:
        error = exc
    if error is not None:
        assert "no layout of this plot fits it" in str(error)
        assert width == "single"  # two columns always hold a plain analysis
        return
    _check(fig, width)
