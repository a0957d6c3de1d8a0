"""Part 2 of the worked example: the Cochrane review's own data export.

Ketamine and other NMDA receptor antagonists for chronic pain. Cochrane Database
Syst Rev 2025; CD015373.pub2 (doi:10.1002/14651858.CD015373.pub2). Its "Data and
analyses" export is read from the path given with ``--cochrane`` (a file holding
that review's rows, such as the Pairwise70 collection); the rows are not copied
into this repository.

Comparison 1 of the export (intravenous ketamine versus placebo): every pain and
adverse-event analysis is pooled as the review did (DerSimonian-Laird random
effects with a Wald interval, RevMan 5 conventions), with its subgroups; forest
plots, risk-of-bias figures from the export's RoB 2 judgements, a funnel plot
where an analysis has at least 10 studies, and a summary-of-findings table. The
two headline results are checked against the review's published numbers.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import metapool as mp

REVIEW = "CD015373"
DOI = "10.1002/14651858.CD015373.pub2"
COMPARISON = 1
MODEL = mp.RandomEffects(convention="revman5")  # DerSimonian-Laird, Wald z
#: The review's published pooled results (abstract / summary of findings), natural scale.
PUBLISHED = {
    (1, 1): ("Pain intensity (0-100), immediate term", "MD", -15.79, -32.09, 0.51),
    (1, 9): ("Adverse events (total)", "RR", 3.26, 1.05, 10.09),
}
#: The outcomes of the summary-of-findings table (analysis number -> row name).
SOF_ROWS = {
    (1, 1): "Pain intensity (0-100 scale), immediate term",
    (1, 4): "Pain intensity (0-100 scale), short term",
    (1, 9): "Adverse events (total)",
    (1, 12): "Psychotomimetic effects",
    (1, 15): "Nausea",
}
FUNNEL_MIN_K = 10


def _review(path: Path) -> Any:
    reviews = mp.io.read_cochrane_csv(path)
    found = [r for r in reviews if (r.id or "").upper().startswith(REVIEW)]
    if not found and len(reviews) == 1 and reviews[0].id is None:
        found = list(reviews)  # the Cochrane Library's export of this one review
    if not found:
        raise SystemExit(f"{path} holds no rows of review {REVIEW}.")
    return found[0]


def _fit(analysis: Any) -> tuple[Any, Any]:
    """(overall MetaResult, what to plot: the SubgroupResult when there are subgroups)."""
    measure = analysis.infer_measure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        effects = analysis.effects(measure, convention="revman5")
        rows = [a != "SUBGROUP_ONLY" for a in analysis.applicability]
        groups = [s for s, keep in zip(analysis.subgroup, rows, strict=True) if keep]
        if analysis.subgroups and None not in groups and len(set(groups)) > 1:
            sg = mp.subgroup_analysis(effects, groups, MODEL)
            return sg.overall, sg
        res = MODEL.fit(effects)
    return res, res


def _rob_table(analysis: Any) -> dict[str, list[Any]]:
    return {
        "Study": list(analysis.labels),
        **{k: list(v) for k, v in analysis.risk_of_bias.items()},
    }


def run(path: Path, output: Path, figure: Any, markdown_table: Any) -> tuple[bool, list[str]]:
    """Run part 2; returns (all published checks agree, lines for the report)."""
    out = output / "cochrane"
    out.mkdir(parents=True, exist_ok=True)
    review = _review(path)
    analyses = [a for a in review.analyses if a.group == COMPARISON]
    print(f"      {review.id}: {len(analyses)} analyses in comparison {COMPARISON} (doi:{DOI})")
    results: dict[tuple[int, int], Any] = {}
    plotted: dict[str, Any] = {}
    lines = [f"## Part 2: the Cochrane review {review.id} (doi:{DOI})", ""]
    table = []
    for a in analyses:
        if a.k < 2:
            table.append(
                {
                    "analysis": f"{a.group}.{a.number}",
                    "outcome": a.name,
                    "k": a.k,
                    "result": "one study: not pooled",
                }
            )
            continue
        try:
            res, plot = _fit(a)
        except mp.exceptions.MetapoolError as exc:
            table.append(
                {
                    "analysis": f"{a.group}.{a.number}",
                    "outcome": a.name,
                    "k": a.k,
                    "result": f"not pooled: {exc}",
                }
            )
            continue
        results[(a.group, a.number)] = res
        bt = res.back_transform()
        table.append(
            {
                "analysis": f"{a.group}.{a.number}",
                "outcome": a.name,
                "k": res.k,
                "result": f"{res.measure} {bt.estimate:.2f} [{bt.ci.low:.2f}, {bt.ci.high:.2f}]; "
                f"I² = {res.i2:.0f}%",
            }
        )
        name = f"forest_{a.group}_{a.number}.png"
        figure(
            plot.plot_forest(
                label_experimental="Favours ketamine",
                label_control="Favours placebo",
                title=f"{a.group}.{a.number} {a.name}",
            ),
            f"cochrane/{name}",
            f"Analysis {a.group}.{a.number}: {a.name} (DL random effects, Wald z).",
        )
        plotted[f"{a.group}.{a.number} {a.name}"] = plot
    largest = max((r.k for r in results.values()), default=0)
    for key, res in results.items():
        if res.k >= FUNNEL_MIN_K:
            figure(
                res.plot_funnel(),
                f"cochrane/funnel_{key[0]}_{key[1]}.png",
                f"Funnel plot, analysis {key[0]}.{key[1]}.",
            )
    if largest < FUNNEL_MIN_K:
        note = (
            f"No funnel plot: no analysis has {FUNNEL_MIN_K} or more studies "
            f"(the largest has {largest})."
        )
        print(f"      {note}")
        lines += [note, ""]
    # risk of bias: RoB 2 is judged per outcome, so one figure per headline outcome
    for key in PUBLISHED:
        a = review.analysis(*key)
        if not a.risk_of_bias:
            continue
        rob = _rob_table(a)
        weights = results[key].weights if key in results and results[key].k == a.k else None
        figure(
            mp.rob_traffic_light(rob, title=f"Risk of bias, analysis {key[0]}.{key[1]}"),
            f"cochrane/rob_{key[0]}_{key[1]}.png",
            f"RoB 2 judgements for analysis {key[0]}.{key[1]} ({a.name}).",
        )
        figure(
            mp.rob_summary(rob, weights=weights),
            f"cochrane/rob_summary_{key[0]}_{key[1]}.png",
            f"RoB 2 summary for analysis {key[0]}.{key[1]}, weighted by the studies' "
            "weights in the analysis.",
        )
        if len(a.risk_of_bias) < 6:
            note = (
                f"Analysis {key[0]}.{key[1]}: the export fills {len(a.risk_of_bias)} of the "
                "six RoB 2 columns; the others are empty in it."
            )
            print(f"      {note}")
            lines += [note, ""]
    # the published results
    ok = True
    checks = []
    for key, (outcome, measure, est, lo, hi) in PUBLISHED.items():
        res = results.get(key)
        if res is None:
            ok = False
            checks.append(
                {
                    "outcome": outcome,
                    "published": f"{measure} {est} [{lo}, {hi}]",
                    "metapool": "not computed",
                    "match": "NO",
                }
            )
            continue
        bt = res.back_transform()
        got = (bt.estimate, bt.ci.low, bt.ci.high)
        # printed to two decimals: agree to half a unit of the last digit
        match = all(abs(g - p) <= 0.005 + 1e-9 for g, p in zip(got, (est, lo, hi), strict=True))
        ok &= match
        checks.append(
            {
                "outcome": outcome,
                "published": f"{measure} {est:.2f} [{lo:.2f}, {hi:.2f}]",
                "metapool": f"{res.measure} {got[0]:.2f} [{got[1]:.2f}, {got[2]:.2f}]",
                "match": "yes" if match else "NO",
            }
        )
        print(
            f"      {outcome}: published {checks[-1]['published']}; metapool "
            f"{checks[-1]['metapool']} -> {'OK' if match else 'MISMATCH'}"
        )
    # summary of findings: the numbers are metapool's; the certainty is the review authors'
    rows = []
    for key, name in SOF_ROWS.items():
        if key in results:
            rows.append(
                mp.SofOutcome.from_result(
                    name,
                    results[key],
                    comments="Certainty: see the review's summary of findings (GRADE judgements "
                    "are the review authors').",
                )
            )
    sof = mp.SummaryOfFindings(
        title="Intravenous ketamine compared with placebo for chronic pain",
        population="adults with chronic pain",
        intervention="ketamine (intravenous)",
        comparison="placebo",
        outcomes=rows,
    )
    (out / "summary_of_findings.md").write_text(sof.to_markdown(), encoding="utf-8")
    (out / "summary_of_findings.html").write_text(sof.to_html(), encoding="utf-8")
    sof.to_csv(out / "summary_of_findings.csv")
    lines += [
        "### Published vs metapool",
        "",
        markdown_table(checks),
        "### Every analysis of comparison 1",
        "",
        markdown_table(table),
        "### Summary of findings",
        "",
        sof.to_markdown(),
    ]
    try:
        mp.write_report(
            dict(plotted.items()),
            out / "report.html",
            title=f"{review.id}: intravenous ketamine vs placebo (comparison 1)",
            sof=sof,
            notes=[f"Data: the Cochrane export of {review.id} (doi:{DOI}), read from {path.name}."],
            funnel_min_k=FUNNEL_MIN_K,
        )
        print(f"      HTML report: {out / 'report.html'}")
    except mp.exceptions.MissingDependencyError:
        print(
            '      HTML report skipped: jinja2 is not installed (pip install "metapool[report]").'
        )
    return ok, lines
