"""The batch engine at scale, against its peers in the same run (issue 14's targets).

Run as ``python benchmarks/bench_scale.py`` (``--quick`` for sizes 10x smaller;
``--skip dask,cochrane`` to leave parts out). Prints figures and a table of the
targets; exits 0 (it reports, it does not gate). Not collected by pytest.

What it measures, each as the median of ``--repeats`` runs (one call each,
timed with ``time.perf_counter``, garbage collector off while timing, cases
interleaved so that drift affects them alike):

1. memory bandwidth: a large ``np.add(a, b, out=c)`` (bytes moved / time);
2. DL at n = 10^6, k = 10: ``RandomEffects("DL").fit_batch`` with and without
   the Q-profile interval, against a ten-line hand-written numpy DL and
   PyMARE's batched ``DerSimonianLaird`` (when installed);
3. REML at n = 10^6, k = 10: ``fit_batch(intervals=False)`` against PyMARE's
   batched ``VarianceBasedLikelihoodEstimator(method="REML")``, with the peak
   resident memory of a fresh process doing only that (``ru_maxrss``);
4. single REML fits, k = 18 and k = 1,000: ``RandomEffects("REML").fit``
   against statsmodels' ``combine_effects(method_re="iterated")``;
5. the Cochrane Library export (``../shared/cochrane/pairwise70.csv``, when
   present): every analysis whose effects metapool can compute, REML random
   effects with full results through ``fit_grouped`` (reading and effect sizes
   are not timed);
6. Dask: DL on 10^7 analyses (k = 10) on a ``LocalCluster`` with one and with
   two single-threaded worker processes (the data generated on the workers).

metafor's ``rma`` is timed on the k = 18 case when ``Rscript`` is present.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import metapool as mp

COCHRANE = Path(__file__).resolve().parents[2] / "shared" / "cochrane" / "pairwise70.csv"


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return out


def interleaved(cases: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each case, the cases run in turn ``repeats`` times."""
    for fn in cases.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name] += timed(fn, 1)
    return {name: statistics.median(t) for name, t in times.items()}


def simulated(n: int, k: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, size=(n, k))
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    return yi, vi


def hand_dl(yi: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ten-line numpy DerSimonian–Laird a methodologist would write."""
    w = 1.0 / vi
    sw = w.sum(axis=1)
    mu = (w * yi).sum(axis=1) / sw
    q = (w * (yi - mu[:, None]) ** 2).sum(axis=1)
    c = sw - (w * w).sum(axis=1) / sw
    tau2 = np.maximum(0.0, (q - (yi.shape[1] - 1)) / c)
    ws = 1.0 / (vi + tau2[:, None])
    est = (ws * yi).sum(axis=1) / ws.sum(axis=1)
    return est, np.sqrt(1.0 / ws.sum(axis=1))


def bandwidth() -> float:
    """GB/s of a streaming add over 3 x 400 MB arrays."""
    n = 50_000_000
    a, b, c = np.ones(n), np.ones(n), np.empty(n)
    t = statistics.median(timed(lambda: np.add(a, b, out=c), 5))
    return 3 * 8 * n / t / 1e9


def pymare_estimators() -> tuple[Any, Any] | None:
    try:
        from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    return DerSimonianLaird, VarianceBasedLikelihoodEstimator


def peak_memory_child(code: str) -> float:
    """Peak resident memory (GB) of a fresh interpreter running ``code``."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    return int(out) / 2**20  # ru_maxrss is in KB on Linux


def part_dl(n: int, repeats: int, rows: list[tuple[str, str, str]]) -> None:
    yi, vi = simulated(n, 10)
    model = mp.RandomEffects(tau2="DL")
    cases: dict[str, Callable[[], Any]] = {
        "hand numpy DL": lambda: hand_dl(yi, vi),
        "fit_batch DL, intervals=False": lambda: model.fit_batch(yi, vi, intervals=False),
        "fit_batch DL, Q-profile interval": lambda: model.fit_batch(yi, vi),
    }
    pm = pymare_estimators()
    if pm is not None:
        X = np.ones((10, 1))
        cases["PyMARE DerSimonianLaird"] = lambda: pm[0]().fit(y=yi.T, v=vi.T, X=X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        med = interleaved(cases, repeats)
    print(f"\n== DL, n = {n:,}, k = 10 (median of {repeats})")
    for name, t in med.items():
        print(f"  {name:<36} {t:8.3f} s  {t / n * 1e9:8.0f} ns/analysis")
    hand = med["hand numpy DL"]
    r0 = med["fit_batch DL, intervals=False"] / hand
    r1 = med["fit_batch DL, Q-profile interval"] / hand
    rows.append(("DL, no intervals, vs hand numpy", f"{r0:.1f}x", "<= 3x"))
    rows.append(("DL with Q-profile vs hand numpy", f"{r1:.1f}x", "<= 10x"))
    if pm is not None:
        print(
            f"  fit_batch (no intervals) / PyMARE DL: "
            f"{med['fit_batch DL, intervals=False'] / med['PyMARE DerSimonianLaird']:.2f}"
        )


def part_reml(n: int, repeats: int, rows: list[tuple[str, str, str]]) -> None:
    yi, vi = simulated(n, 10)
    model = mp.RandomEffects(tau2="REML")
    cases: dict[str, Callable[[], Any]] = {
        "fit_batch REML, intervals=False": lambda: model.fit_batch(yi, vi, intervals=False),
    }
    pm = pymare_estimators()
    if pm is not None:
        X = np.ones((10, 1))
        cases["PyMARE REML"] = lambda: pm[1](method="REML").fit(y=yi.T, v=vi.T, X=X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        med = interleaved(cases, repeats)
    print(f"\n== REML, n = {n:,}, k = 10 (median of {repeats})")
    for name, t in med.items():
        print(f"  {name:<36} {t:8.3f} s  {t / n * 1e6:8.2f} us/analysis")
    if pm is not None:
        ratio = med["PyMARE REML"] / med["fit_batch REML, intervals=False"]
        rows.append(("REML batch: PyMARE time / metapool", f"{ratio:.2f}", ">= 2"))
    code = (
        "import numpy as np, warnings, metapool as mp\n"
        f"rng = np.random.default_rng(2024); vi = rng.uniform(0.01, 0.1, size=({n}, 10))\n"
        "yi = rng.normal(0.3, np.sqrt(vi + 0.05))\n"
        "warnings.simplefilter('ignore')\n"
        "mp.RandomEffects(tau2='REML').fit_batch(yi, vi, intervals=False)"
    )
    peak = peak_memory_child(code)
    inputs = 2 * 8 * 10 * n / 2**30
    print(
        f"  peak resident memory of a process doing only this: {peak:.2f} GB "
        f"(inputs {inputs:.2f} GB)"
    )
    rows.append(("REML batch peak memory (GB)", f"{peak:.2f}", "< 2"))


def part_single(repeats: int, rows: list[tuple[str, str, str]]) -> None:
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        combine_effects = None
    print("\n== single REML fits (median per call)")
    for k in (18, 1000):
        rng = np.random.default_rng(k)
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        g = mp.GenericEffect(yi=yi, vi=vi)
        model = mp.RandomEffects(tau2="REML")
        calls = 300 if k == 18 else 60
        cases = {"metapool fit": lambda g=g, model=model: model.fit(g)}
        if combine_effects is not None:
            cases["statsmodels combine_effects"] = lambda yi=yi, vi=vi: combine_effects(
                yi, vi, method_re="iterated"
            )
        med = interleaved(
            {name: (lambda fn=fn, m=calls: [fn() for _ in range(m)]) for name, fn in cases.items()},
            repeats,
        )
        for name, t in med.items():
            print(f"  k = {k:<5} {name:<30} {t / calls * 1e6:9.0f} us")
        if combine_effects is not None:
            ratio = med["metapool fit"] / med["statsmodels combine_effects"]
            rows.append(
                (
                    f"single REML k = {k}: metapool / statsmodels",
                    f"{ratio:.1f}x",
                    "<= 2x" if k == 1000 else "(no slower than before)",
                )
            )
    if shutil.which("Rscript"):
        script = (
            "suppressMessages(library(metafor)); set.seed(18); vi <- runif(18, .01, .1); "
            "yi <- rnorm(18, .3, sqrt(vi + .05)); invisible(rma(yi, vi)); "
            "t <- system.time(for (i in 1:300) rma(yi, vi, method='REML'))[['elapsed']]; "
            "cat(t / 300 * 1e6)"
        )
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
        if out.returncode == 0:
            print(f"  k = 18    metafor rma(method='REML')       {float(out.stdout):9.0f} us")


def part_cochrane(rows: list[tuple[str, str, str]]) -> None:
    if not COCHRANE.exists():
        print(f"\n== Cochrane: skipped ({COCHRANE} is absent)")
        return
    from metapool.io import read_cochrane_csv

    t0 = time.perf_counter()
    reviews = read_cochrane_csv(COCHRANE)
    keys: list[str] = []
    ys: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    analyses = skipped = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for review in reviews:
            for an in review.analyses:
                analyses += 1
                try:
                    eff = an.effects(an.infer_measure())
                except (mp.exceptions.MetapoolError, ValueError):
                    skipped += 1
                    continue
                keys += [f"{an.review_id} {an.group}.{an.number}"] * eff.k
                ys.append(np.asarray(eff.yi))
                vs.append(np.asarray(eff.vi))
    table = {"analysis": np.asarray(keys), "yi": np.concatenate(ys), "vi": np.concatenate(vs)}
    prep = time.perf_counter() - t0
    n = analyses - skipped
    print(
        f"\n== Cochrane export: {analyses:,} analyses read, {n:,} with computable effects "
        f"({len(keys):,} study rows; reading and effect sizes {prep:.1f} s, not timed)"
    )
    model = mp.RandomEffects(tau2="REML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = statistics.median(timed(lambda: mp.fit_grouped(table, by="analysis", model=model), 3))
        res = mp.fit_grouped(table, by="analysis", model=model)
    ks = res.k
    print(
        f"  fit_grouped REML, full results: {t:.2f} s for {len(res.keys):,} analyses "
        f"(k from {ks.min()} to {ks.max()}, {len(np.unique(ks))} distinct k)"
    )
    rows.append(("Cochrane analyses, REML full results (s)", f"{t:.2f}", "< 10"))


_DASK_CHILD = r"""
import sys, time, json, numpy as np, dask, dask.array as da, warnings
from distributed import LocalCluster, Client
import metapool as mp
n, workers = int(sys.argv[1]), int(sys.argv[2])
def main():
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        chunk = 250_000
        rs = da.random.RandomState(1)
        vi = rs.uniform(0.01, 0.1, size=(n, 10), chunks=(chunk, 10))
        yi = 0.3 + rs.normal(0.0, 1.0, size=(n, 10), chunks=(chunk, 10)) * da.sqrt(vi + 0.05)
        model = mp.RandomEffects(tau2="DL")
        warnings.simplefilter("ignore")
        model.fit_batch(yi[:chunk], vi[:chunk], intervals=False)  # warm-up
        t0 = time.perf_counter()
        res = model.fit_batch(yi, vi, intervals=False)
        t = time.perf_counter() - t0
        # a simulation study's summaries reduced on the workers (compute=False):
        # bias, coverage of the CI, mean tau^2, non-converged rows
        t0 = time.perf_counter()
        lazy = model.fit_batch(yi, vi, intervals=False, compute=False)
        summary = dask.compute(
            lazy.estimate.mean() - 0.3,
            ((lazy.ci.low <= 0.3) & (lazy.ci.high >= 0.3)).mean(),
            lazy.tau2.mean(),
            (~lazy.converged).sum(),
        )
        t_lazy = time.perf_counter() - t0
        print(json.dumps({"t": t, "sum": float(np.sum(res.estimate)), "t_lazy": t_lazy,
                          "summary": [float(x) for x in summary]}))
if __name__ == "__main__":
    main()
"""


def part_dask(n: int, rows: list[tuple[str, str, str]]) -> None:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        print("\n== Dask: skipped (dask/distributed not installed)")
        return
    path = Path("/tmp") / f"metapool_bench_dask_{os.getpid()}.py"
    path.write_text(_DASK_CHILD)
    out = {}
    try:
        for workers in (1, 2):
            res = subprocess.run(
                [sys.executable, str(path), str(n), str(workers)],
                capture_output=True,
                text=True,
                check=True,
            )
            out[workers] = json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        path.unlink()
    speedup = out[1]["t"] / out[2]["t"]
    same = out[1]["sum"] == out[2]["sum"]
    lazy_speedup = out[1]["t_lazy"] / out[2]["t_lazy"]
    lazy_same = out[1]["summary"] == out[2]["summary"]
    print(f"\n== Dask LocalCluster, DL on {n:,} analyses (k = 10, no intervals)")
    print(
        f"  gathered (BatchResult): 1 worker {out[1]['t']:.2f} s, 2 workers {out[2]['t']:.2f} s: "
        f"speed-up {speedup:.2f}; same results: {same} (cores on this machine: {os.cpu_count()})"
    )
    print(
        f"  reduced on the workers (compute=False; bias, coverage, mean tau2, non-converged): "
        f"1 worker {out[1]['t_lazy']:.2f} s, 2 workers {out[2]['t_lazy']:.2f} s: speed-up "
        f"{lazy_speedup:.2f}; same summaries: {lazy_same} {out[1]['summary']}"
    )
    rows.append(("Dask speed-up, 1 -> 2 workers, gathered", f"{speedup:.2f}", "~2 (near-linear)"))
    rows.append(("Dask speed-up, 1 -> 2 workers, reduced", f"{lazy_speedup:.2f}", "~2"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 10x smaller")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated: dl,reml,single,cochrane,dask")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    scale = 10 if args.quick else 1
    rows: list[tuple[str, str, str]] = []
    print(
        f"metapool {mp.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores"
    )
    print(f"memory bandwidth (streaming add): {bandwidth():.1f} GB/s")
    if "dl" not in skip:
        part_dl(1_000_000 // scale, args.repeats, rows)
    if "reml" not in skip:
        part_reml(1_000_000 // scale, max(1, args.repeats // 2), rows)
    if "single" not in skip:
        part_single(args.repeats, rows)
    if "cochrane" not in skip:
        part_cochrane(rows)
    if "dask" not in skip:
        part_dask(10_000_000 // scale, rows)
    print("\n== targets")
    for what, got, target in rows:
        print(f"  {what:<46} {got:>8}   target {target}")
    print(
        f"  (peak memory of this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB)"
    )


if __name__ == "__main__":
    main()
