"""Forest-plot benchmark: this tree against an earlier revision, in one run.

Run as ``python benchmarks/bench_plots.py [--baseline REV]`` from anywhere in
the repository (needs matplotlib and git). It prints the median time to draw a
forest plot of 20 and of 200 studies and render it to a PNG in memory (Agg),
for the working tree and for ``REV``, with their ratio; it reports and always
exits 0.

How: ``git archive REV src`` is extracted into a temporary directory, and each
implementation runs in its own Python process with ``PYTHONPATH`` pointing at
its ``src`` (the process prints which ``metapool`` it imported). A process
builds the data once, draws one warm-up plot of each size, then times
``forest_plot(result)`` followed by ``fig.savefig(BytesIO(), format="png")``,
one call per sample, with the garbage collector off while timing. The two
implementations take turns, process by process (A B A B ...), so that a
drifting machine affects both alike. The data are 2x2 tables of simulated
trials (fixed seed), pooled as odds ratios by a DerSimonian-Laird
random-effects model: every plot has the arm-level columns, weights, the
effect column, squares, a diamond and the footnotes.

The default ``REV`` is the commit before the plots were split into content,
layout and drawing (one text artist per table column instead of one per cell).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

#: The last commit with one matplotlib Text per table cell.
DEFAULT_BASELINE = "83a8adbe7bf2c4c4776fe53b8837bede508d26be"
SIZES = (20, 200)
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------- worker
def _trials(k: int, seed: int = 20240611) -> dict[str, object]:
    import numpy as np

    rng = np.random.default_rng(seed + k)
    n1 = rng.integers(40, 900, size=k)
    n2 = n1 + rng.integers(-20, 21, size=k)
    p2 = rng.uniform(0.08, 0.35, size=k)
    odds1 = p2 / (1 - p2) * np.exp(rng.normal(-0.25, 0.2, size=k))
    p1 = odds1 / (1 + odds1)
    authors = ["Smith", "Garcia", "Nakamura", "Okafor", "Lindqvist", "Moreau", "Rossi", "Chen"]
    return {
        "events1": rng.binomial(n1, p1),
        "n1": n1,
        "events2": rng.binomial(n2, p2),
        "n2": n2,
        "labels": [f"{authors[i % len(authors)]} et al. {1985 + i % 39}" for i in range(k)],
    }


def worker(samples: int) -> None:
    """Time the plots in this process; print one JSON line with the times (seconds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import metapool as mp

    results = {k: mp.RandomEffects(tau2="DL").fit(mp.OddsRatio(**_trials(k))) for k in SIZES}

    def once(k: int) -> float:
        start = time.perf_counter()
        fig = mp.forest_plot(results[k])
        fig.savefig(io.BytesIO(), format="png")
        elapsed = time.perf_counter() - start
        plt.close(fig)
        return elapsed

    for k in SIZES:  # warm-up: imports, font caches
        once(k)
    times: dict[int, list[float]] = {k: [] for k in SIZES}
    for _ in range(samples):
        for k in SIZES:
            gc.collect()
            gc.disable()
            try:
                times[k].append(once(k))
            finally:
                gc.enable()
    print(json.dumps({"module": mp.__file__, "times": times}))


# --------------------------------------------------------------------- main
def _extract(rev: str, into: Path) -> Path:
    """``git archive rev src`` extracted into ``into``; the path of its ``src``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(src: Path, samples: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "--samples", str(samples)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare")
    parser.add_argument("--rounds", type=int, default=4, help="processes per implementation")
    parser.add_argument("--samples", type=int, default=3, help="timed plots per size per process")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.samples)
        return

    import matplotlib
    import numpy as np

    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, matplotlib "
          f"{matplotlib.__version__}, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"forest_plot + savefig(PNG, in memory), Agg; {args.rounds} processes x "
          f"{args.samples} samples per implementation and size")  # fmt: skip
    times: dict[str, dict[int, list[float]]] = {
        "baseline": {k: [] for k in SIZES},
        "current": {k: [] for k in SIZES},
    }
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"baseline": _extract(args.baseline, Path(tmp)), "current": ROOT / "src"}
        for name, src in sources.items():
            print(f"  {name:8s} {rev if name == 'baseline' else 'working tree'}: {src}")
        for i in range(args.rounds):
            order = ("baseline", "current") if i % 2 == 0 else ("current", "baseline")
            for name in order:
                found = _run(sources[name], args.samples)
                module = str(found["module"])
                if not module.startswith(str(sources[name])):
                    raise SystemExit(f"{name}: imported {module}, not from {sources[name]}")
                for k, values in found["times"].items():  # type: ignore[attr-defined]
                    times[name][int(k)].extend(values)
    print()
    print(f"{'studies':>8} {'baseline ' + rev:>18} {'current':>12} {'baseline/current':>17}")
    for k in SIZES:
        base = statistics.median(times["baseline"][k])
        cur = statistics.median(times["current"][k])
        print(f"{k:8d} {base * 1e3:15.0f} ms {cur * 1e3:9.0f} ms {base / cur:16.2f}x")
    print("\nMedians over all samples; the ratio is how many times faster the working tree is.")


if __name__ == "__main__":
    main()
