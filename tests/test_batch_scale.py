"""Batches at scale: intervals on demand, chunked fits, and ragged tables (fit_grouped)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, MetapoolTypeError
from metapool.models._batched import default_chunk_size

# As tests/test_batch.py: the batched and the single paths differ only in where the
# iterative solvers stop (1e-12 relative), so 1e-8 leaves four orders of magnitude.
TOL = 1e-8


def _rows(n, k, seed):
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-2, 1, size=(n, k))
    tau2 = rng.choice([0.0, 0.1, 2.0], size=(n, 1))
    yi = rng.normal(0.2, 1.0, size=(n, k)) * np.sqrt(vi + tau2)
    return yi, vi


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------- intervals=False
@pytest.mark.parametrize("tau2", ["DL", "REML"])
def test_intervals_false_skips_only_the_heterogeneity_intervals(tau2):
    yi, vi = _rows(50, 6, seed=1)
    model = mp.RandomEffects(tau2=tau2, ci="hksj")
    full = model.fit_batch(yi, vi)
    lean = model.fit_batch(yi, vi, intervals=False)
    assert full.intervals and not lean.intervals
    for name in ("tau2_ci", "i2_ci", "h2_ci"):
        assert np.isnan(getattr(lean, name).low).all() and np.isnan(getattr(lean, name).high).all()
        assert np.isfinite(getattr(full, name).high).all()
    for name in ("estimate", "se", "pvalue", "tau2", "i2", "h2", "q", "q_pvalue", "iterations"):
        assert np.array_equal(getattr(lean, name), getattr(full, name)), name
    assert np.array_equal(lean.ci.low, full.ci.low) and np.array_equal(lean.pi.high, full.pi.high)
    assert lean.to_dict()["intervals"] is False
    assert "not computed" in lean._repr_html_()


def test_intervals_and_chunk_size_are_validated():
    yi, vi = _rows(3, 4, seed=2)
    with pytest.raises(MetapoolTypeError, match=r"'intervals' parameter"):
        mp.RandomEffects().fit_batch(yi, vi, intervals="no")
    with pytest.raises(mp.exceptions.InvalidParameterError, match=r"'chunk_size'.*Got 0"):
        mp.RandomEffects().fit_batch(yi, vi, chunk_size=0)
    with pytest.raises(MetapoolTypeError, match=r"'chunk_size'"):
        mp.CommonEffect().fit_batch(yi, vi, chunk_size=2.5)


# ------------------------------------------------------------------------- chunking
@pytest.mark.parametrize("tau2", mp.tau2.available())
def test_chunked_equals_unchunked_exactly(tau2):
    yi, vi = _rows(60, 7, seed=3)
    yi = yi.reshape(4, 15, 7)  # a 2-d batch shape, chunked across its rows
    vi = vi.reshape(4, 15, 7)
    model = mp.RandomEffects(tau2=tau2, ci="hksj")
    whole = _quiet(model.fit_batch, yi, vi).to_dict()  # NaN as None: exact equality
    for size in (1, 7, 59):
        assert _quiet(model.fit_batch, yi, vi, chunk_size=size).to_dict() == whole, size


def test_chunked_common_effect_and_empty_batch():
    yi, vi = _rows(20, 3, seed=4)
    model = mp.CommonEffect(ci="t")
    assert model.fit_batch(yi, vi, chunk_size=3).to_dict() == model.fit_batch(yi, vi).to_dict()
    empty = mp.RandomEffects().fit_batch(np.zeros((0, 5)), np.ones((0, 5)), chunk_size=2)
    assert empty.shape == (0,) and empty.tau2_method == "REML"


def test_default_chunk_size_follows_the_memory_budget():
    assert default_chunk_size(10) > default_chunk_size(100) >= 1
    assert default_chunk_size(10) * 8 * 64 * 10 <= 256 * 2**20
    assert default_chunk_size(10, budget=1) == 1


def test_convergence_warning_names_rows_across_chunks():
    class Stuck:
        name = "stuck"

        def estimate(self, yi, vi, X=None):
            shape = np.shape(yi)[:-1]
            return mp.tau2.Tau2Fit(
                tau2=np.zeros(shape),
                converged=np.asarray(yi)[..., 0] > 1e3,  # the rows flagged below
                iterations=np.zeros(shape, np.int64),
                method="stuck",
            )

    yi, vi = _rows(10, 4, seed=5)
    yi[:, 0] = 0.0
    yi[[0, 3, 4, 8], 0] = 2e3  # converged rows; the other six are stuck
    with pytest.warns(mp.exceptions.ConvergenceWarning) as record:
        res = mp.RandomEffects(tau2=Stuck()).fit_batch(yi, vi * 1e4, chunk_size=3)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert "6 row(s), e.g. [(1,), (2,), (5,), (6,), (7,)]" in messages[0]
    assert np.flatnonzero(~res.converged).tolist() == [1, 2, 5, 6, 7, 9]


# ----------------------------------------------------------------------- fit_grouped
def _ragged(seed, n_analyses=40):
    rng = np.random.default_rng(seed)
    ks = rng.integers(1, 31, size=n_analyses)
    ks[:3] = [1, 2, 30]
    analysis = np.repeat([f"m{i:02d}" for i in range(n_analyses)], ks)
    vi = 10.0 ** rng.uniform(-2, 0.5, size=analysis.size)
    tau2 = np.repeat(rng.choice([0.0, 0.05, 0.5], size=n_analyses), ks)
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    perm = rng.permutation(analysis.size)  # studies of an analysis need not be adjacent
    return {"analysis": analysis[perm], "yi": yi[perm], "vi": vi[perm]}


GROUPED_FIELDS = ("estimate", "se", "statistic", "pvalue", "tau2", "i2", "h2", "q", "q_pvalue")


@pytest.mark.parametrize("tau2", ["DL", "REML"])
@pytest.mark.parametrize("ci", ["z", "hksj"])
def test_fit_grouped_equals_fit_per_analysis(tau2, ci):
    data = _ragged(seed=7)
    model = mp.RandomEffects(tau2=tau2, ci=ci)
    res = _quiet(mp.fit_grouped, data, by="analysis", model=model, chunk_size=5)
    assert res.keys == tuple(sorted(set(data["analysis"].tolist())))
    for i, key in enumerate(res.keys):
        keep = data["analysis"] == key
        one = _quiet(model.fit, mp.GenericEffect(yi=data["yi"][keep], vi=data["vi"][keep]))
        assert res.k[i] == one.k
        atol = TOL * data["vi"][keep].mean()
        for name in GROUPED_FIELDS:
            got, ref = getattr(res, name)[i], getattr(one, name)
            assert np.isclose(got, ref, rtol=TOL, atol=atol, equal_nan=True), (key, name)
        for name in ("ci", "pi", "tau2_ci", "i2_ci", "h2_ci"):
            b, r = getattr(res, name), getattr(one, name)
            assert np.isclose(b.low[i], r.low, rtol=TOL, atol=atol, equal_nan=True), (key, name)
            assert np.isclose(b.high[i], r.high, rtol=TOL, atol=atol, equal_nan=True), (key, name)
        assert (np.nan if one.df is None else one.df) == pytest.approx(res.df[i], nan_ok=True)
        assert res.q_df[i] == one.q_df
        assert bool(res.converged[i]) == one.converged
    frame = res.to_frame()
    assert frame.shape[0] == len(res) and list(frame.columns[:3]) == ["analysis", "k", "estimate"]


def test_fit_grouped_single_study_analyses_and_common_effect():
    data = {"g": [3, 1, 1, 2], "yi": [0.5, 0.1, 0.3, 0.2], "vi": [0.1, 0.04, 0.04, 0.02]}
    with pytest.warns(mp.exceptions.SmallSampleWarning, match=r"2 analysis\(es\) with k = 1"):
        res = mp.fit_grouped(data, by="g", model=mp.RandomEffects(ci="hksj"), intervals=False)
    assert res.keys == (1, 2, 3) and res.k.tolist() == [2, 1, 1]
    assert res.tau2[1:].tolist() == [0.0, 0.0] and np.isnan(res.i2[1:]).all()
    assert np.isnan(res.df[1:]).all() and res.df[0] == 1.0
    assert not res.intervals and np.isnan(res.tau2_ci.high).all()
    ce = mp.fit_grouped(data, by="g", model=mp.CommonEffect())
    assert ce.estimate[0] == pytest.approx(0.2) and ce.tau2_method is None
    assert "3 analyses" in repr(ce)


def test_fit_grouped_accepts_a_dataframe_and_names_bad_rows():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"study": ["x", "y", "z"], "yi": [0.1, 0.2, 0.3], "vi": [0.1, -0.1, 0.1]},
        index=["r1", "r2", "r3"],
    )
    with pytest.raises(InvalidDataError, match=r"'vi'.*row 2 \(index 'r2'\) of analysis 'y'"):
        mp.fit_grouped(frame, by="study")
    frame.loc["r2", "vi"] = 0.1
    assert mp.fit_grouped(frame, by="study").keys == ("x", "y", "z")
    with pytest.raises(InvalidDataError, match=r"no column 'trial'"):
        mp.fit_grouped(frame, by="trial")
    with pytest.raises(MetapoolTypeError, match=r"'yi' must be numeric; row 1 of analysis 'a'"):
        mp.fit_grouped({"a": ["a"], "yi": ["oops"], "vi": [1.0]}, by="a")
    with pytest.raises(InvalidDataError, match=r"missing value at row 2"):
        mp.fit_grouped({"a": ["a", None], "yi": [0.1, 0.2], "vi": [1.0, 1.0]}, by="a")
    with pytest.raises(MetapoolTypeError, match=r"inverse-variance"):
        mp.fit_grouped(frame, by="study", model=mp.Peto())


def test_fit_grouped_convergence_warning_names_analyses():
    class Stuck:
        name = "stuck"

        def estimate(self, yi, vi, X=None):
            shape = np.shape(yi)[:-1]
            return mp.tau2.Tau2Fit(
                tau2=np.zeros(shape),
                converged=np.asarray(yi)[..., 0] < 1.0,
                iterations=np.zeros(shape, np.int64),
                method="stuck",
            )

    data = {"g": ["a", "a", "b", "b", "c", "c", "c"], "yi": [0, 0, 5, 0, 0, 0, 0], "vi": [1] * 7}
    with pytest.warns(mp.exceptions.ConvergenceWarning, match=r"1 analysis\(es\), e.g. \['b'\]"):
        res = mp.fit_grouped(data, by="g", model=mp.RandomEffects(tau2=Stuck()))
    assert res.converged.tolist() == [True, False, True]
