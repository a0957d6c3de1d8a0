"""What the Q-profile interval costs a batch: ``fit_batch`` with and without intervals.

Run as ``python benchmarks/bench_batch.py`` (``--rows`` and ``--repeats`` to
change the size). It prints figures and exits 0; it is not a test.

Cases: ``RandomEffects(tau2=...).fit_batch(yi, vi, intervals=...)`` on a
``(100_000, 10)`` batch of simulated analyses (τ² = 0.05, vi uniform on
[0.01, 0.1]), for DL and REML, with ``intervals=True`` (the default: Q-profile
interval of τ² and the I²/H² intervals) and ``intervals=False``. Each figure is
the median (and the range) of the repeats, one call each, timed with
``time.perf_counter``, after one warm-up call, with the garbage collector
disabled while timing; the cases are interleaved so that drifts affect them alike.
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings

import numpy as np

import metapool as mp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(2024)
    vi = rng.uniform(0.01, 0.1, size=(args.rows, args.k))
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    cases = {
        (tau2, intervals): mp.RandomEffects(tau2=tau2)
        for tau2 in ("DL", "REML")
        for intervals in (True, False)
    }
    times: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (_, intervals), model in cases.items():  # warm-up
            model.fit_batch(yi[:1000], vi[:1000], intervals=intervals)
        for _ in range(args.repeats):
            for case, model in cases.items():
                gc.collect()
                gc.disable()
                try:
                    t0 = time.perf_counter()
                    model.fit_batch(yi, vi, intervals=case[1])
                    times[case].append(time.perf_counter() - t0)
                finally:
                    gc.enable()

    print(f"fit_batch on ({args.rows}, {args.k}); median [min-max] of {args.repeats} runs")
    for tau2 in ("DL", "REML"):
        with_ci, without = np.median(times[tau2, True]), np.median(times[tau2, False])
        for intervals in (True, False):
            t = np.asarray(times[tau2, intervals])
            print(
                f"  {tau2:<5} intervals={intervals!s:<5}  {np.median(t):7.3f} s  "
                f"[{t.min():.3f}-{t.max():.3f}]"
            )
        print(f"  {tau2:<5} speed-up without intervals: {with_ci / without:.1f}x")


if __name__ == "__main__":
    main()
