"""Size and power of the tests for small-study effects, with and without selection.

Usage::

    python benchmarks/sim_small_study.py              # 200 replications per scenario, slow
    python benchmarks/sim_small_study.py --reps 500 --seed 7 --k 20

Design (one replication): trials are drawn until ``k`` are "published". Each trial
has 20-400 participants per arm, a control-arm risk uniform on 0.1-0.4 and a true log
odds ratio ``theta + u_i``, ``u_i ~ N(0, tau2)``; events are binomial. Scenarios:

* ``null, no selection``: theta = 0, every trial published (size of the tests);
* ``effect, no selection``: theta = log(0.7) (size under a real effect: Egger's test
  on odds ratios is known to reject too often here, Peters' and Harbord's tests not);
* ``selection``: theta = log(0.85), trials with a one-sided p < 0.025 in favour of
  treatment always published, the others with probability 0.3 (power).

Each data set gets Egger's classic test, Harbord's, Peters', the arcsine test,
Thompson-Sharp, Begg's rank test (all two-sided at 0.10, as usual for asymmetry
tests), the three-parameter selection model's LRT (at 0.10), and the test of excess
significance (at 0.10). The table shows the rejection rates, with the Monte Carlo
standard error; ``[n n/a]`` counts data sets where a method could not be applied
(the 3PSM needs studies on both sides of its cut-point). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import numpy as np

import metapool as mp
from metapool.exceptions import MetapoolError

ALPHA = 0.10


def simulate(
    rng: np.random.Generator, k: int, theta: float, tau2: float, selection: bool
) -> mp.OddsRatio:
    rows: list[tuple[int, int, int, int]] = []
    while len(rows) < k:
        n1, n2 = (int(x) for x in rng.integers(20, 401, 2))
        p2 = rng.uniform(0.1, 0.4)
        lor = theta + rng.normal(0.0, math.sqrt(tau2))
        p1 = 1.0 / (1.0 + math.exp(-(math.log(p2 / (1 - p2)) + lor)))
        a, c = int(rng.binomial(n1, p1)), int(rng.binomial(n2, p2))
        if selection:
            aa, bb, cc, dd = (x + 0.5 for x in (a, n1 - a, c, n2 - c))
            z = math.log(aa * dd / (bb * cc)) / math.sqrt(1 / aa + 1 / bb + 1 / cc + 1 / dd)
            if z > -1.959964 and rng.uniform() > 0.3:  # not significant in favour: dropped
                continue
        rows.append((a, n1, c, n2))
    a_, n1_, c_, n2_ = (np.asarray(col) for col in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.OddsRatio(events1=a_, n1=n1_, events2=c_, n2=n2_)


def _tests() -> dict[str, Callable[[mp.OddsRatio], float]]:
    def selection(eff: mp.OddsRatio) -> float:
        res = mp.RandomEffects().fit(eff)
        return mp.selection_model(res, steps=(0.025, 1), alternative="less").lrt_pvalue

    return {
        "Egger": lambda e: mp.small_study_test(e, "egger").pvalue,
        "Harbord": lambda e: mp.small_study_test(e, "harbord").pvalue,
        "Peters": lambda e: mp.small_study_test(e, "peters").pvalue,
        "arcsine": lambda e: mp.small_study_test(e, "arcsine").pvalue,
        "Thompson-Sharp": lambda e: mp.small_study_test(e, "thompson-sharp").pvalue,
        "Begg": lambda e: mp.begg_test(e).pvalue,
        "3PSM LRT": selection,
        "TES": lambda e: mp.excess_significance(mp.RandomEffects().fit(e)).pvalue,
    }


SCENARIOS = {
    "null, no selection": (0.0, False),
    "effect, no selection": (math.log(0.7), False),
    "selection": (math.log(0.85), True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--tau2", type=float, default=0.02)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    tests = _tests()
    print(
        f"k = {args.k}, tau2 = {args.tau2}, {args.reps} replications, "
        f"rejection rate at alpha = {ALPHA}"
    )
    header = f"{'test':<16}" + "".join(f"{name:>26}" for name in SCENARIOS)
    rates: dict[str, list[str]] = {name: [] for name in tests}
    start = time.time()
    for theta, selection in SCENARIOS.values():
        rejected = dict.fromkeys(tests, 0)
        failed = dict.fromkeys(tests, 0)
        for _ in range(args.reps):
            eff = simulate(rng, args.k, theta, args.tau2, selection)
            for name, test in tests.items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        p = test(eff)
                except MetapoolError:
                    failed[name] += 1
                    continue
                rejected[name] += int(p < ALPHA)
        for name in tests:
            n = args.reps - failed[name]
            rate = rejected[name] / n if n else float("nan")
            se = math.sqrt(rate * (1 - rate) / n) if n else float("nan")
            extra = f" [{failed[name]} n/a]" if failed[name] else ""
            rates[name].append(f"{rate:.3f} ± {se:.3f}{extra}")
    print(header)
    for name, cells in rates.items():
        print(f"{name:<16}" + "".join(f"{cell:>26}" for cell in cells))
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
