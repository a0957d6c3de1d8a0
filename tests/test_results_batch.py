"""metapool.results._batch: BatchResult's tables (one row per analysis), repr, HTML, JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import metapool as mp
from tests._results_data import assert_json_round_trip, assert_needs_pandas, parse_html


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    return rng.normal(size=(2, 3, 6)), rng.uniform(0.05, 0.5, size=(2, 3, 6))


def test_summary_frame_has_one_row_per_analysis_in_c_order(data) -> None:
    yi, vi = data
    batch = mp.RandomEffects(ci="hksj").fit_batch(yi, vi)
    frame = batch.summary_frame()
    assert list(frame.columns) == [
        "index_0", "index_1", "estimate", "se", "statistic", "df", "pvalue",
        "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2",
    ]  # fmt: skip
    assert frame.shape[0] == 6
    assert frame[["index_0", "index_1"]].values.tolist() == [
        [i, j] for i in range(2) for j in range(3)
    ]
    for row, (i, j) in enumerate((i, j) for i in range(2) for j in range(3)):
        single = mp.RandomEffects(ci="hksj").fit(mp.GenericEffect(yi=yi[i, j], vi=vi[i, j]))
        assert frame["estimate"][row] == pytest.approx(single.estimate, rel=1e-10)
        assert frame["ci_low"][row] == pytest.approx(single.ci.low, rel=1e-10)
        assert frame["pi_high"][row] == pytest.approx(single.pi.high, rel=1e-10)
        assert frame["df"][row] == 5


def test_to_frame_adds_every_other_field(data) -> None:
    yi, vi = data
    batch = mp.RandomEffects().fit_batch(yi[0], vi[0])
    frame = batch.to_frame()
    assert frame.columns[0] == "row" and frame["row"].tolist() == [0, 1, 2]
    assert frame.columns[-12:].tolist() == [
        "tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high", "h2", "h2_ci_low",
        "h2_ci_high", "q", "q_df", "q_pvalue", "converged", "iterations",
    ]  # fmt: skip
    np.testing.assert_array_equal(frame["tau2_ci_high"], batch.tau2_ci.high)
    np.testing.assert_array_equal(frame["converged"], batch.converged)
    assert frame["q_df"].tolist() == [5, 5, 5] and math.isnan(frame["df"][0])


def test_a_single_analysis_is_one_row_without_position(data) -> None:
    yi, vi = data
    frame = mp.CommonEffect().fit_batch(yi[0, 0], vi[0, 0]).to_frame()
    assert frame.shape[0] == 1 and "row" not in frame.columns


def test_repr_and_html(data) -> None:
    yi, vi = data
    batch = mp.RandomEffects(tau2="DL").fit_batch(yi, vi)
    assert repr(batch) == "BatchResult(shape=(2, 3), k=6, DL/z)"
    assert repr(mp.CommonEffect().fit_batch(yi, vi)) == "BatchResult(shape=(2, 3), k=6, common/z)"
    root = parse_html(batch._repr_html_())
    assert [th.text for th in root.iter("th")][1:] == ["min", "median", "max"]
    assert "6 analyses of k = 6 studies" in "".join(p.text or "" for p in root.iter("p"))


def test_to_dict_keeps_its_nested_lists(data) -> None:
    yi, vi = data
    batch = mp.RandomEffects().fit_batch(yi, vi)
    out = assert_json_round_trip(batch)
    assert np.shape(out["estimate"]) == (2, 3) and np.shape(out["ci"]["low"]) == (2, 3)
    assert out["converged"] == batch.converged.tolist()
    assert out["iterations"] == batch.iterations.tolist()
    assert out["df"] is None and out["q_df"] == 5
    single = mp.CommonEffect().fit_batch(yi[0, 0], vi[0, 0]).to_dict()
    assert isinstance(single["estimate"], float) and isinstance(single["ci"]["low"], float)
    json.dumps(single, allow_nan=False)


def test_frames_need_pandas(data, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = mp.CommonEffect().fit_batch(*data)
    assert_needs_pandas(monkeypatch, batch.to_frame, batch.summary_frame)
