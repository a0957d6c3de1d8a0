"""Worked example: ketamine for neuropathic pain (Guimarães Pereira et al., J Pain Res 2022).

Run from anywhere:  python examples/ketamine_np/run.py [--data DIR] [--output DIR]
                                                        [--cochrane PATH]

The script is driven entirely by the CSV files in ``--data`` (default: ``data/``
beside this file); it is not tailored to the rows shipped with it. With the
review's full extraction sheet in the same format it reproduces the full
analysis. Steps:

1. Summary-level check of the review's published pooled results: each SE is
   back-calculated from the published 95% CI (Wald; log scale for RR) and
   metapool recomputes z, p and the CI.
2. Pain (``pain.csv``): inverse-variance mean difference, random effects with
   RevMan's conventions (DerSimonian-Laird, Wald z), subgrouped by time point;
   forest plot (as the review's Figures 3-4), funnel plot with Egger's test
   (Figure 8), leave-one-out, and a sensitivity table of τ² estimators and of
   HKSJ versus Wald intervals.
3. Adverse events (``adverse_events.csv``): Mantel-Haenszel risk ratios per
   adverse outcome (Figure 7).
4. A summary-of-findings table, a "published vs metapool" table, the pooled
   results as JSON, and ``report.md`` embedding the figures.

With ``--cochrane PATH`` (the Cochrane review CD015373's data export, e.g. the
Pairwise70 collection that holds it) a second part re-analyses the Cochrane
review of ketamine for chronic pain from its own study-level data
(``cochrane.py``): forest plots, risk-of-bias figures, a summary-of-findings
table, checked against its published pooled results.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import metapool as mp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for part 2 (cochrane.py beside this file)
Z975 = 1.959963984540054  # standard normal 97.5% quantile
PAIN_COLUMNS = ("mean1", "sd1", "n1", "mean2", "sd2", "n2")
EVENT_COLUMNS = ("events1", "n1", "events2", "n2")
#: RevMan 5's conventions, as the review most likely used (see README).
PAIN_MODEL = mp.RandomEffects(convention="revman5")
EVENT_MODEL = mp.MantelHaenszel()


# ----------------------------------------------------------------------------- data
def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def label(row: dict[str, str]) -> str:
    return f"{row['study']} {row['year']}".strip()


def split_complete(
    rows: list[dict[str, str]], columns: Sequence[str]
) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    """Rows with every needed number, and the others with the reason they are left out."""
    complete, incomplete = [], []
    for row in rows:
        missing = [c for c in columns if not row.get(c, "").strip()]
        if missing:
            incomplete.append((row, "missing " + ", ".join(missing)))
        else:
            complete.append(row)
    return complete, incomplete


def column(rows: list[dict[str, str]], name: str) -> list[float]:
    return [float(r[name]) for r in rows]


# ----------------------------------------------------------------------------- step 1
def p_matches(p: float, printed: str) -> bool:
    """Does ``p`` agree with a printed p-value such as 'p<0.00001' or 'p=0.03'?"""
    text = printed.replace(" ", "").lower()
    if text.startswith("p<"):
        return p < float(text[2:])
    value = text[2:]
    decimals = len(value.split(".")[1]) if "." in value else 0
    return round(p, decimals) == float(value)


def check_published(row: dict[str, str]) -> dict[str, Any]:
    """Recompute one published result from its estimate and CI."""
    ratio = row["measure"] in ("RR", "OR")
    f: Callable[[float], float] = math.log if ratio else (lambda x: x)
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
        "analysis": row["analysis"],
        "measure": row["measure"],
        "published": f"{est:.2f} [{lo:.2f}, {hi:.2f}], {row['p_value_text']}",
        "recomputed": f"{bt.estimate:.2f} [{bt.ci.low:.2f}, {bt.ci.high:.2f}], "
        f"z = {abs(res.statistic):.2f}, p = {res.pvalue:.2g}",
        "se": se,
        "z": res.statistic,
        "p": res.pvalue,
        "match": bool(ci_ok and p_matches(res.pvalue, row["p_value_text"])),
    }


# ----------------------------------------------------------------------------- steps 2-3
class Analysis:
    """Collects results, figures and notes while the steps run."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.results: dict[str, dict[str, mp.MetaResult]] = {"pain": {}, "adverse": {}}
        self.participants: dict[str, int] = {}
        self.figures: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.sensitivity: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}

    def figure(self, fig: Any, name: str, caption: str) -> None:
        import matplotlib.pyplot as plt

        fig.savefig(self.output / name, dpi=150, bbox_inches="tight")
        plt.close(fig)
        self.figures.append((name, caption))


def pool_by(effects: mp.EffectSet, groups: list[str], model: Any) -> tuple[dict[str, Any], Any]:
    """Pool each group; returns the per-group results and the object to plot.

    With several groups this is a subgroup analysis, plotted with subtotals only:
    the groups are time points or outcomes of the same trials, so an overall
    total would count trials twice. With one group, an ordinary fit.
    """
    if len(set(groups)) > 1:
        sg = mp.subgroup_analysis(effects, groups, model)
        return dict(sg.results), sg
    res = model.fit(effects)
    return {groups[0]: res}, res


def subtotals_only(plotted: Any) -> dict[str, bool]:
    return {"overall": False} if isinstance(plotted, mp.SubgroupResult) else {}


def analyse_pain(rows: list[dict[str, str]], out: Analysis) -> None:
    complete, incomplete = split_complete(rows, PAIN_COLUMNS)
    for row, why in incomplete:
        out.notes.append(f"Pain: {label(row)} ({row['timepoint']}) not analysable: {why}.")
    if not complete:
        out.notes.append("Pain: no row has every arm-level number, so no pain analysis is run.")
        return
    md = mp.MeanDifference(
        **{c: column(complete, c) for c in PAIN_COLUMNS}, labels=[label(r) for r in complete]
    )
    timepoints = [r["timepoint"] for r in complete]
    by_time, plotted = pool_by(md, timepoints, PAIN_MODEL)
    for tp, res in by_time.items():
        out.results["pain"][tp] = res
        rows_tp = [r for r in complete if r["timepoint"] == tp]
        out.participants[f"pain|{tp}"] = int(sum(float(r["n1"]) + float(r["n2"]) for r in rows_tp))
    out.figure(
        plotted.plot_forest(
            label_experimental="Favours ketamine",
            label_control="Favours standard treatment",
            group_names=("Ketamine", "Standard treatment"),
            title="Pain intensity by time after the end of treatment (MD, IV, random, DL)",
            **subtotals_only(plotted),
        ),
        "forest_pain.png",
        "Pain intensity, mean difference by time point (cf. the review's Figures 3-4).",
    )
    for tp, res in by_time.items():
        slug = tp.replace(" ", "_")
        if res.k >= 3:
            loo = mp.leave_one_out(res)
            out.extra[f"leave_one_out|{tp}"] = loo.to_dict()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", mp.exceptions.SmallSampleWarning)
                egger = mp.egger_test(res)
            out.extra[f"egger|{tp}"] = egger.to_dict()
            out.figure(
                res.plot_funnel(contours=(0.90, 0.95, 0.99)),
                f"funnel_pain_{slug}.png",
                f"Funnel plot, pain at {tp} (cf. Figure 8); Egger's test p = {egger.pvalue:.3f}.",
            )
        if res.k >= 2:
            for name in ("DL", "REML", "PM", "SJ"):
                for ci in ("z", "hksj"):
                    alt = mp.RandomEffects(tau2=name, ci=ci).fit(res.effects)
                    out.sensitivity.append(
                        {
                            "analysis": f"pain|{tp}",
                            "tau2_estimator": name,
                            "ci": ci,
                            "estimate": alt.estimate,
                            "ci_low": alt.ci.low,
                            "ci_high": alt.ci.high,
                            "tau2": alt.tau2,
                        }
                    )


def analyse_adverse(rows: list[dict[str, str]], out: Analysis) -> None:
    complete, incomplete = split_complete(rows, EVENT_COLUMNS)
    for row, why in incomplete:
        out.notes.append(f"Adverse events: {label(row)} ({row['outcome']}) not analysable: {why}.")
    if not complete:
        out.notes.append("Adverse events: no row has every count; no analysis is run.")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", mp.exceptions.MetapoolWarning)
        rr = mp.RiskRatio(
            **{c: column(complete, c) for c in EVENT_COLUMNS},
            labels=[label(r) for r in complete],
            convention="revman5",
        )
    out.notes.extend(f"Adverse events: {w.message}" for w in caught)
    outcomes = [r["outcome"] for r in complete]
    kept = [outcomes[i] for i in rr.index]
    by_outcome, plotted = pool_by(rr, kept, EVENT_MODEL)
    for outcome, res in by_outcome.items():
        out.results["adverse"][outcome] = res
        rows_o = [r for r in complete if r["outcome"] == outcome]
        out.participants[f"adverse|{outcome}"] = int(
            sum(float(r["n1"]) + float(r["n2"]) for r in rows_o)
        )
    out.figure(
        plotted.plot_forest(
            label_experimental="Favours ketamine",
            label_control="Favours standard treatment",
            group_names=("Ketamine", "Standard treatment"),
            title="Adverse events (RR, M-H, fixed)",
            **subtotals_only(plotted),
        ),
        "forest_adverse_events.png",
        "Adverse events, Mantel-Haenszel risk ratios by outcome (cf. the review's Figure 7).",
    )


# ----------------------------------------------------------------------------- tables
def effect_text(res: mp.MetaResult) -> str:
    bt = res.back_transform()
    return f"{res.measure} {bt.estimate:.2f} [{bt.ci.low:.2f}, {bt.ci.high:.2f}]"


def heterogeneity_text(res: mp.MetaResult) -> str:
    if res.q_df < 1:
        return "not estimable (1 study)"
    return f"I² = {res.i2:.0f}%, Tau² = {res.tau2:.2f}, P(Q) = {res.q_pvalue:.2g}"


def lookup(out: Analysis, key: str) -> mp.MetaResult | None:
    kind, name = key.split("|", 1)
    return out.results.get(kind, {}).get(name)


def summary_of_findings(published: list[dict[str, str]], out: Analysis) -> list[dict[str, str]]:
    rows = []
    keys = [p["analysis"] for p in published]
    keys += [f"{kind}|{name}" for kind in out.results for name in out.results[kind]]
    for key in dict.fromkeys(keys):
        pub = next((p for p in published if p["analysis"] == key), None)
        res = lookup(out, key)
        rows.append(
            {
                "outcome": pub["outcome"] if pub else key.split("|", 1)[1],
                "source": "review (published)" if pub else "metapool (public data only)",
                "studies": (pub["k"] or "not reported") if pub else str(res.k if res else 0),
                "participants": (pub["participants"] or "not reported")
                if pub
                else str(out.participants.get(key, 0)),
                "effect (95% CI)": (
                    f"{pub['measure']} {float(pub['estimate']):.2f} "
                    f"[{float(pub['ci_low']):.2f}, {float(pub['ci_high']):.2f}]"
                )
                if pub
                else effect_text(res)
                if res
                else "-",
                "heterogeneity": "not reported" if pub else heterogeneity_text(res) if res else "-",
                "certainty (GRADE)": pub["certainty"] if pub else "not assessed",
            }
        )
    return rows


def published_vs_metapool(published: list[dict[str, str]], out: Analysis) -> list[dict[str, str]]:
    rows = []
    for pub in published:
        res = lookup(out, pub["analysis"])
        k_pub = pub["k"] or "18 trials in the review; k per outcome not reported"
        if res is None:
            ours, k_ours = "not estimable", "0"
            why = "no public study-level data with every number for this outcome"
        else:
            ours, k_ours = effect_text(res), str(res.k)
            why = "fewer studies are publicly available than the review pooled"
        rows.append(
            {
                "outcome": pub["outcome"],
                "published (review)": f"{pub['measure']} {float(pub['estimate']):.2f} "
                f"[{float(pub['ci_low']):.2f}, {float(pub['ci_high']):.2f}]",
                "studies (review)": k_pub,
                "metapool (public data)": ours,
                "studies (metapool)": k_ours,
                "why they differ": why,
            }
        )
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_none_\n"
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if rows:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


# ----------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--output", type=Path, default=HERE / "output")
    parser.add_argument(
        "--cochrane",
        type=Path,
        help="the data export of Cochrane review CD015373 (a CSV holding its rows)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.output.mkdir(parents=True, exist_ok=True)
    out = Analysis(args.output)

    print("[1/5] Summary-level check of the review's published pooled results")
    published = read_csv(args.data / "published_results.csv")
    checks = [check_published(r) for r in published]
    for c in checks:
        print(
            f"      {c['outcome']}: published {c['published']}; metapool {c['recomputed']} "
            f"-> {'OK' if c['match'] else 'MISMATCH'}"
        )

    print("[2/5] Pain intensity (MD, inverse variance, random effects, by time point)")
    analyse_pain(read_csv(args.data / "pain.csv"), out)
    for tp, res in out.results["pain"].items():
        print(f"      {tp}: k = {res.k}, {effect_text(res)}")
    if not out.results["pain"]:
        print("      skipped: no public study-level pain data with every number (DATA_NOTES.md)")

    print("[3/5] Adverse events (RR, Mantel-Haenszel, by outcome)")
    analyse_adverse(read_csv(args.data / "adverse_events.csv"), out)
    for name, res in out.results["adverse"].items():
        print(f"      {name}: k = {res.k}, {effect_text(res)}")
    if not out.results["adverse"]:
        print("      skipped: no public study-level adverse-event counts (DATA_NOTES.md)")

    print("[4/5] Summary of findings and published vs metapool")
    sof = summary_of_findings(published, out)
    comparison = published_vs_metapool(published, out)
    write_csv(args.output / "summary_of_findings.csv", sof)
    (args.output / "summary_of_findings.md").write_text(markdown_table(sof), encoding="utf-8")
    write_csv(args.output / "published_vs_metapool.csv", comparison)
    if all(row["studies (metapool)"] == "0" for row in comparison):
        print(
            "      no published outcome has public study-level data: "
            "published_vs_metapool.csv says so per outcome"
        )
    for row in comparison if any(r["studies (metapool)"] != "0" for r in comparison) else []:
        print(
            f"      {row['outcome']}: review {row['published (review)']} "
            f"| metapool {row['metapool (public data)']} (k = {row['studies (metapool)']}) "
            f"| {row['why they differ']}"
        )

    print("[5/5] Writing results.json and report.md")
    results_json = {
        "published_check": checks,
        "pooled": {
            kind: {name: res.to_dict() for name, res in group.items()}
            for kind, group in out.results.items()
        },
        "sensitivity": out.sensitivity,
        "extra": out.extra,
        "notes": out.notes,
    }
    (args.output / "results.json").write_text(
        json.dumps(results_json, indent=2, allow_nan=False), encoding="utf-8"
    )
    cochrane_ok, cochrane_lines = True, []
    if args.cochrane is not None:
        print("[Cochrane] Part 2: the Cochrane review CD015373 from its data export")
        if not args.cochrane.exists():
            print(f"      {args.cochrane} does not exist", file=sys.stderr)
            return 2
        import cochrane

        cochrane_ok, cochrane_lines = cochrane.run(
            args.cochrane, args.output, out.figure, markdown_table
        )
    (args.output / "report.md").write_text(
        report(checks, sof, comparison, out, cochrane_lines), encoding="utf-8"
    )
    print(
        f"Wrote {len(out.figures)} figure(s) and the tables to {args.output} "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0 if all(c["match"] for c in checks) and cochrane_ok else 1


def report(
    checks: list[dict[str, Any]],
    sof: list[dict[str, str]],
    comparison: list[dict[str, str]],
    out: Analysis,
    cochrane_lines: Sequence[str] = (),
) -> str:
    parts = [
        "# Ketamine for neuropathic pain: metapool re-analysis",
        "",
        "Guimarães Pereira JE et al. J Pain Res 2022;15:1011-1037 (doi:10.2147/JPR.S358070).",
        "",
        "## 1. The published pooled results, recomputed from their CIs",
        "",
        markdown_table(
            [
                {
                    "outcome": c["outcome"],
                    "published": c["published"],
                    "metapool": c["recomputed"],
                    "match": "yes" if c["match"] else "NO",
                }
                for c in checks
            ]
        ),
        "## 2. Published vs metapool on the public study-level data",
        "",
        markdown_table(comparison)
        if any(row["studies (metapool)"] != "0" for row in comparison)
        else "No published outcome has public study-level data (see DATA_NOTES.md).\n",
        "## 3. Summary of findings",
        "",
        markdown_table(sof),
    ]
    if out.sensitivity:
        parts += [
            "## 4. Sensitivity: τ² estimator and CI method",
            "",
            markdown_table(
                [
                    {k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in row.items()}
                    for row in out.sensitivity
                ]
            ),
        ]
    parts += list(cochrane_lines)
    parts += ["## Figures", ""]
    if out.figures:
        parts += [f"![{cap}]({name})\n\n*{cap}*\n" for name, cap in out.figures]
    else:
        parts.append("_No study-level analysis was possible, so there are no figures._\n")
    parts += ["## Notes on the data", ""]
    parts += [f"- {n}" for n in out.notes] or ["- none"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
