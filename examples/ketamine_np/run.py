"""Worked example: the ketamine neuropathic-pain review (J Pain Res 2022;15:1011-1037).

Step 1 (this script, now): a summary-level check of the review's four headline
pooled results. Each standard error is back-calculated from the published 95%
CI (a Wald interval; log scale for risk ratios), and metapool recomputes z, the
p-value and the CI, which must match the published figures to their printed
precision.

Run from the repository root:  python examples/ketamine_np/run.py
"""

from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

import metapool as mp

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUTPUT = HERE / "output"
Z975 = 1.959963984540054  # standard normal 97.5% quantile


def read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def p_matches(p: float, printed: str) -> bool:
    """Does ``p`` agree with a printed p-value such as 'p<0.00001' or 'p=0.03'?"""
    text = printed.replace(" ", "").lower()
    if text.startswith("p<"):
        return p < float(text[2:])
    value = text[2:]
    decimals = len(value.split(".")[1]) if "." in value else 0
    return round(p, decimals) == float(value)


def check_published(row: dict[str, str]) -> dict[str, object]:
    """Recompute one published result from its estimate and CI."""
    ratio = row["measure"] in ("RR", "OR")
    f = math.log if ratio else (lambda x: x)
    est, lo, hi = (float(row[c]) for c in ("estimate", "ci_low", "ci_high"))
    se = (f(hi) - f(lo)) / (2 * Z975)
    effect = mp.GenericEffect(
        yi=[f(est)], se=[se], labels=[row["outcome"]], measure=row["measure"], log_scale=ratio
    )
    res = mp.CommonEffect().fit(effect)
    bt = res.back_transform()
    # The published numbers are rounded to 2 decimals; a recomputed bound must
    # agree to within one unit of that last printed digit.
    ci_ok = abs(bt.ci.low - lo) <= 0.01 + 1e-9 and abs(bt.ci.high - hi) <= 0.01 + 1e-9
    return {
        "outcome": row["outcome"],
        "measure": row["measure"],
        "published": f"{est:.2f} [{lo:.2f}, {hi:.2f}] {row['p_value_text']}",
        "metapool": f"{bt.estimate:.2f} [{bt.ci.low:.2f}, {bt.ci.high:.2f}] "
        f"z = {abs(res.statistic):.2f}, p = {res.pvalue:.2g}",
        "se": se,
        "z": res.statistic,
        "p": res.pvalue,
        "match": ci_ok and p_matches(res.pvalue, row["p_value_text"]),
    }


def main() -> int:
    start = time.perf_counter()
    OUTPUT.mkdir(exist_ok=True)
    print("[1/1] Summary-level check of the review's published pooled results")
    rows = [check_published(r) for r in read_csv("published_results.csv")]
    lines = [
        "| outcome | published | metapool (from the published CI) | match |",
        "|---|---|---|---|",
    ]
    for r in rows:
        print(
            f"  {r['outcome']}\n    published: {r['published']}\n"
            f"    metapool:  {r['metapool']}  -> {'OK' if r['match'] else 'MISMATCH'}"
        )
        lines.append(
            f"| {r['outcome']} | {r['published']} | {r['metapool']} | "
            f"{'yes' if r['match'] else 'NO'} |"
        )
    (OUTPUT / "published_check.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Wrote {OUTPUT / 'published_check.md'} in {time.perf_counter() - start:.2f} s")
    return 0 if all(r["match"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
