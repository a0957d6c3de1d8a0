"""Scale-out: Dask arrays and DataFrames give the in-memory results, on any scheduler;
progress bars; batched = looped with every option (Hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import InvalidDataError, MetapoolTypeError

dask = pytest.importorskip("dask", reason="the dask extra is part of the test extra")
da = pytest.importorskip("dask.array", reason="the dask extra is part of the test extra")
dd = pytest.importorskip("dask.dataframe", reason="the dask extra is part of the test extra")
pd = pytest.importorskip("pandas")

FIELDS = (
    "estimate",
    "se",
    "statistic",
    "pvalue",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_pvalue",
    "converged",
    "iterations",
)


def _rows(n, k, seed):
    rng = np.random.default_rng(seed)
    vi = 10.0 ** rng.uniform(-2, 1, size=(n, k))
    yi = rng.normal(0.2, 1.0, size=(n, k)) * np.sqrt(vi + rng.choice([0.0, 0.1, 2.0], (n, 1)))
    return yi, vi


def _table(n_analyses, seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=n_analyses)
    key = np.repeat([f"a{i:03d}" for i in range(n_analyses)], sizes)
    vi = rng.uniform(0.01, 0.2, len(key))
    yi = rng.normal(0.1, np.sqrt(vi + 0.05))
    order = rng.permutation(len(key))  # the studies of an analysis are not contiguous
    return pd.DataFrame({"analysis": key[order], "yi": yi[order], "vi": vi[order]})


def _same(a, b, fields=FIELDS):
    for name in fields:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("ci", "pi", "tau2_ci", "i2_ci"):
        for end in ("low", "high"):
            got, ref = getattr(getattr(a, name), end), getattr(getattr(b, name), end)
            assert np.array_equal(got, ref, equal_nan=True), (name, end)


@pytest.mark.parametrize("tau2", ["DL", "REML", "PM"])
def test_dask_array_equals_in_memory_exactly(tau2):
    yi, vi = _rows(900, 7, seed=1)
    model = mp.RandomEffects(tau2=tau2, ci="hksj")
    ref = model.fit_batch(yi, vi)
    # row chunks of unequal sizes, and the study axis split (it is rechunked whole)
    got = model.fit_batch(da.from_array(yi, chunks=(250, 3)), da.from_array(vi, chunks=(400, 7)))
    assert got.shape == (900,)
    _same(got, ref)


def test_dask_single_analysis_and_common_effect():
    yi, vi = _rows(1, 5, seed=2)
    ref = mp.CommonEffect().fit_batch(yi[0], vi[0])
    got = mp.CommonEffect().fit_batch(da.from_array(yi[0]), da.from_array(vi[0]))
    assert got.shape == ()
    _same(got, ref)


def test_dask_errors_name_the_row_in_the_whole_batch():
    yi, vi = _rows(700, 4, seed=3)
    vi[612, 2] = -1.0
    with pytest.raises(InvalidDataError, match=r"element \(612, 2\).*study 3"):
        mp.RandomEffects().fit_batch(da.from_array(yi, chunks=200), da.from_array(vi, chunks=200))
    with pytest.raises(InvalidDataError, match="same shape"):
        mp.RandomEffects().fit_batch(da.from_array(yi), da.from_array(vi[:, :3]))


def test_dask_warnings_are_issued_once_by_the_caller():
    yi, vi = _rows(400, 3, seed=4)
    yi[:, :] = 0.5  # Q = 0 in every row: HKSJ is degenerate everywhere
    with pytest.warns(mp.exceptions.DegenerateDataWarning, match="in 400 row") as record:
        mp.RandomEffects(ci="hksj").fit_batch(
            da.from_array(yi, chunks=100), da.from_array(vi, chunks=100)
        )
    assert sum(issubclass(w.category, mp.exceptions.DegenerateDataWarning) for w in record) == 1


# ------------------------------------------------------------------- compute=False
@pytest.mark.parametrize("tau2", mp.tau2.available())
def test_lazy_fields_and_compute_equal_the_in_memory_fit(tau2):
    yi, vi = _rows(600, 5, seed=11)
    model = mp.RandomEffects(tau2=tau2, ci="hksj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # REML-FS may warn; both paths flag the same rows
        ref = model.fit_batch(yi, vi)
        lazy = model.fit_batch(
            da.from_array(yi, chunks=(170, 5)), da.from_array(vi, chunks=(170, 5)), compute=False
        )
        assert isinstance(lazy, mp.LazyBatchResult) and lazy.shape == (600,)
        assert "not computed" in repr(lazy) and "blocks=4" in repr(lazy)
        for name in ("method", "k", "level", "tau2_method", "ci_method", "df", "q_df", "intervals"):
            assert getattr(lazy, name) == getattr(ref, name), name
        # the fields, computed together on the scheduler (one task per block shared)
        names = [*FIELDS, "ci", "pi", "tau2_ci", "i2_ci", "h2_ci"]
        arrays = [getattr(lazy, f) for f in FIELDS]
        arrays += [
            getattr(getattr(lazy, f), end) for f in names[len(FIELDS) :] for end in ("low", "high")
        ]
        got = dask.compute(*arrays)
        expected = [getattr(ref, f) for f in FIELDS]
        expected += [
            getattr(getattr(ref, f), end) for f in names[len(FIELDS) :] for end in ("low", "high")
        ]
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        assert lazy.compute().to_dict() == ref.to_dict()


def test_lazy_results_reduce_on_the_scheduler_and_warn_only_when_gathered():
    yi, vi = _rows(400, 3, seed=12)
    yi[:100] = 0.5  # Q = 0: HKSJ is degenerate in these rows
    model = mp.RandomEffects(ci="hksj")
    lazy = model.fit_batch(
        da.from_array(yi, chunks=100), da.from_array(vi, chunks=100), compute=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reduction issues no warning
        mean, covered = dask.compute(lazy.estimate.mean(), (lazy.ci.low <= 0.2).sum())
    ref = _quiet_fit(model, yi, vi)
    assert mean == pytest.approx(ref.estimate.mean(), rel=1e-12)
    assert covered == int((ref.ci.low <= 0.2).sum())
    with pytest.warns(mp.exceptions.DegenerateDataWarning, match="in 100 row"):
        lazy.compute()


def test_compute_false_is_refused_where_it_means_nothing():
    yi, vi = _rows(10, 4, seed=13)
    with pytest.raises(mp.exceptions.InvalidParameterError, match=r"compute=False.*Dask arrays"):
        mp.RandomEffects().fit_batch(yi, vi, compute=False)
    with pytest.raises(MetapoolTypeError, match="'compute' parameter"):
        mp.CommonEffect().fit_batch(da.from_array(yi), da.from_array(vi), compute="no")
    with pytest.raises(mp.exceptions.InvalidParameterError, match="progress=True"):
        mp.RandomEffects().fit_batch(
            da.from_array(yi), da.from_array(vi), compute=False, progress=True
        )
    with pytest.raises(InvalidDataError, match="k >= 2"):
        mp.RandomEffects().fit_batch(
            da.from_array(yi[:, :1]), da.from_array(vi[:, :1]), compute=False
        )
    vi[7, 1] = 0.0  # bad input is named when the lazy result is computed
    lazy = mp.CommonEffect().fit_batch(
        da.from_array(yi, chunks=4), da.from_array(vi, chunks=4), compute=False
    )
    with pytest.raises(InvalidDataError, match=r"element \(7, 1\)"):
        lazy.compute()


def _quiet_fit(model, yi, vi):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit_batch(yi, vi)


@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_dask_dataframe_equals_in_memory_fit_grouped(npartitions):
    table = _table(120, seed=5)
    model = mp.RandomEffects(tau2="REML")
    ref = mp.fit_grouped(table, by="analysis", model=model)
    got = mp.fit_grouped(dd.from_pandas(table, npartitions=npartitions), by="analysis", model=model)
    assert got.keys == ref.keys
    assert np.array_equal(got.k, ref.k)
    _same(got, ref, fields=(*FIELDS[:-2], "df", "q_df", "converged", "iterations"))


def test_dask_dataframe_refuses_a_missing_column():
    table = dd.from_pandas(_table(10, seed=6), npartitions=2)
    with pytest.raises(InvalidDataError, match="no column 'effect'"):
        mp.fit_grouped(table, by="analysis", yi="effect")


@pytest.mark.slow
def test_local_cluster_with_two_workers_gives_the_same_results():
    distributed = pytest.importorskip("distributed")
    yi, vi = _rows(3000, 10, seed=7)
    table = _table(200, seed=8)
    model = mp.RandomEffects(tau2="REML")
    ref_batch = model.fit_batch(yi, vi)
    ref_grouped = mp.fit_grouped(table, by="analysis", model=model)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        got = model.fit_batch(
            da.from_array(yi, chunks=(500, 10)), da.from_array(vi, chunks=(500, 10)), progress=True
        )
        grouped = mp.fit_grouped(dd.from_pandas(table, npartitions=4), by="analysis", model=model)
        lazy = model.fit_batch(
            da.from_array(yi, chunks=(500, 10)), da.from_array(vi, chunks=(500, 10)), compute=False
        )
        # a simulation study's summaries, reduced on the workers
        tau2_sum, n_converged = dask.compute(lazy.tau2.sum(), lazy.converged.sum())
    assert tau2_sum == pytest.approx(ref_batch.tau2.sum(), rel=1e-12)
    assert n_converged == 3000
    _same(got, ref_batch)
    assert grouped.keys == ref_grouped.keys
    assert np.array_equal(grouped.tau2, ref_grouped.tau2)


# ----------------------------------------------------------------------------- progress
def test_progress_bar_counts_every_analysis(capsys):
    pytest.importorskip("tqdm")
    yi, vi = _rows(1000, 4, seed=9)
    with_bar = mp.RandomEffects().fit_batch(yi, vi, chunk_size=300, progress=True)
    err = capsys.readouterr().err
    assert "RandomEffects.fit_batch" in err and "1000/1000" in err
    _same(with_bar, mp.RandomEffects().fit_batch(yi, vi))
    table = _table(50, seed=10)
    mp.fit_grouped(table, by="analysis", progress=True)
    assert "50/50" in capsys.readouterr().err


def test_progress_must_be_a_bool():
    yi, vi = _rows(2, 3, seed=11)
    message = r"'progress' parameter of RandomEffects\.fit_batch"
    with pytest.raises(MetapoolTypeError, match=message):
        mp.RandomEffects().fit_batch(yi, vi, progress="yes")
    with pytest.raises(MetapoolTypeError, match="'progress' parameter of fit_grouped"):
        mp.fit_grouped(_table(3, seed=1), by="analysis", progress=1)


# ------------------------------------------------- batched = looped, every option (Hypothesis)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 5),
    k=st.integers(2, 9),
    seed=st.integers(0, 10**6),
    tau2=st.sampled_from(mp.tau2.available()),
    ci=st.sampled_from(["z", "hksj", "hksj-adhoc", "t"]),
    i2=st.sampled_from(["q", "tau2"]),
    intervals=st.booleans(),
    chunk_size=st.sampled_from([None, 1, 2, 3]),
)
def test_batch_equals_loop_for_every_option(n, k, seed, tau2, ci, i2, intervals, chunk_size):
    yi, vi = _rows(n, k, seed)
    model = mp.RandomEffects(tau2=tau2, ci=ci, i2=i2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = model.fit_batch(yi, vi, intervals=intervals, chunk_size=chunk_size)
        ones = [model.fit(mp.GenericEffect(yi=yi[i], vi=vi[i])) for i in range(n)]
    # the batched and single paths differ only where iterative solvers stop (1e-12)
    tol = 1e-8
    for i, one in enumerate(ones):
        for name in ("estimate", "se", "pvalue", "tau2", "i2", "h2", "q"):
            got, ref = getattr(batch, name)[i], getattr(one, name)
            assert np.isclose(got, ref, rtol=tol, atol=tol * vi[i].mean(), equal_nan=True), name
        low, ref_low = batch.tau2_ci.low[i], one.tau2_ci.low
        if intervals:
            assert np.isclose(low, ref_low, rtol=tol, atol=tol * vi[i].mean(), equal_nan=True)
        else:
            assert np.isnan(low) and np.isnan(batch.i2_ci.high[i])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n_analyses=st.integers(1, 25))
def test_ragged_table_equals_per_analysis_fits(seed, n_analyses):
    table = _table(n_analyses, seed)
    model = mp.RandomEffects(tau2="REML", ci="hksj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grouped = mp.fit_grouped(table, by="analysis", model=model)
        for key, est, tau2 in zip(grouped.keys, grouped.estimate, grouped.tau2, strict=True):
            rows = table[table["analysis"] == key]
            one = model.fit(mp.GenericEffect(yi=rows["yi"].to_numpy(), vi=rows["vi"].to_numpy()))
            assert est == pytest.approx(one.estimate, rel=1e-8, abs=1e-10)
            assert tau2 == pytest.approx(one.tau2, rel=1e-8, abs=1e-10)
