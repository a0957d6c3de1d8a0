"""The worked example (examples/ketamine_np): runs end to end and agrees with metafor.

``examples/ketamine_np/reference/metafor_check.R`` ran the same pooled analyses
with metafor 3.8-1 on the shipped CSV files and on a fixture in the same format
(tests/fixtures/ketamine_format, published metadat datasets reshaped, not ketamine
data) and wrote the JSON files compared here. Tolerance: 1e-10 relative, as for
every closed-form comparison (DerSimonian-Laird and Mantel-Haenszel are closed
forms; see tests/test_models_metafor.py).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ketamine_np"
FIXTURE = ROOT / "tests" / "fixtures" / "ketamine_format"
RTOL = 1e-10
FIELDS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "tau2", "q", "k")


def run_example(data: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "run.py"),
            "--data",
            str(data),
            "--output",
            str(output),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def shipped(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("ketamine_output")
    return out, run_example(EXAMPLE / "data", out)


@pytest.fixture(scope="module")
def fixture_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("fixture_output")
    return out, run_example(FIXTURE, out)


def test_example_runs_and_writes_every_output(shipped):
    out, proc = shipped
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in (
        "report.md",
        "results.json",
        "summary_of_findings.md",
        "summary_of_findings.csv",
        "published_vs_metapool.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    for step in range(1, 6):
        assert f"[{step}/5]" in proc.stdout
    # the steps without public study-level data say so in one line
    assert proc.stdout.count("skipped: no public study-level pain data") == 1
    assert proc.stdout.count("no published outcome has public study-level data") == 1
    assert "not estimable (k = 0)" not in proc.stdout
    assert "[Cochrane]" not in proc.stdout


def test_published_results_are_reproduced_to_their_printed_precision(shipped):
    out, _proc = shipped
    checks = json.loads((out / "results.json").read_text())["published_check"]
    assert len(checks) == 4
    assert all(c["match"] for c in checks)
    by_key = {c["analysis"]: c for c in checks}
    assert by_key["adverse|discomfort"]["recomputed"].startswith("4.06 [1.18, 13.9")
    assert round(by_key["adverse|discomfort"]["p"], 2) == 0.03
    for key in ("pain|1 week", "pain|30 days", "adverse|psychedelic effects"):
        assert by_key[key]["p"] < 0.00001


def _compare(ours: dict, ref: dict) -> list[str]:
    failures = []
    for kind in ("pain", "adverse"):
        ref_kind = ref.get(kind) or {}
        assert set(ours.get(kind, {})) == set(ref_kind), kind
        for name, r in ref_kind.items():
            got = ours[kind][name]
            values = {
                "estimate": got["estimate"],
                "se": got["se"],
                "statistic": got["statistic"],
                "pvalue": got["pvalue"],
                "ci_low": got["ci"]["low"],
                "ci_high": got["ci"]["high"],
                "tau2": got["tau2"],
                "q": got["q"],
                "k": got["k"],
            }
            for field in FIELDS:
                if abs(values[field] - r[field]) > 1e-13 + RTOL * abs(r[field]):
                    failures.append(f"{kind}/{name}/{field}: {values[field]!r} vs {r[field]!r}")
    return failures


def test_shipped_data_pooled_results_equal_metafor(shipped):
    out, _ = shipped
    ours = json.loads((out / "results.json").read_text())["pooled"]
    ref = json.loads((EXAMPLE / "reference" / "metafor_results.json").read_text())
    assert ref["metafor_version"] == "3.8.1"
    assert not _compare(ours, ref)


def test_every_analysis_path_on_a_fixture_equals_metafor(fixture_run):
    out, proc = fixture_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    ref = json.loads((FIXTURE / "metafor_results.json").read_text())
    assert set(results["pooled"]["pain"]) == {"1 week", "30 days"}
    assert set(results["pooled"]["adverse"]) == {"pre-eclampsia", "stillbirth", "neonatal death"}
    failures = _compare(results["pooled"], ref)
    assert not failures, "\n".join(failures)
    # the row without SDs is reported, not dropped silently
    assert any("not analysable: missing sd1, sd2" in n for n in results["notes"])
    # sensitivity table and leave-one-out/Egger for the time point with k >= 3
    assert {row["tau2_estimator"] for row in results["sensitivity"]} == {"DL", "REML", "PM", "SJ"}
    assert "leave_one_out|1 week" in results["extra"] and "egger|1 week" in results["extra"]
    figures = sorted(p.name for p in out.glob("*.png"))
    assert figures == [
        "forest_adverse_events.png",
        "forest_pain.png",
        "funnel_pain_1_week.png",
        "funnel_pain_30_days.png",
    ]
    report = (out / "report.md").read_text()
    for name in figures:
        assert f"]({name})" in report


def test_every_example_data_row_cites_a_source():
    for path in sorted((EXAMPLE / "data").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows, path
        for i, row in enumerate(rows):
            assert row.get("source", "").strip(), f"{path.name} row {i} has no source"


@pytest.mark.live_r
def test_reference_script_reproduces_the_pinned_json(tmp_path):
    """The committed R script still writes the committed numbers (needs R + metafor)."""
    import shutil

    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    out = tmp_path / "check.json"
    subprocess.run(
        ["Rscript", str(EXAMPLE / "reference" / "metafor_check.R"), str(FIXTURE), str(out)],
        check=True,
        capture_output=True,
    )
    assert json.loads(out.read_text()) == json.loads((FIXTURE / "metafor_results.json").read_text())


COCHRANE = ROOT / ".." / "shared" / "cochrane" / "pairwise70.csv"


@pytest.mark.skipif(not COCHRANE.exists(), reason="../shared/cochrane/pairwise70.csv is absent")
def test_cochrane_part_reproduces_the_published_results(tmp_path):
    """Part 2 on the export of CD015373 (doi:10.1002/14651858.CD015373.pub2): the review's
    published DL / Wald results, printed to two decimals, are reproduced."""
    export = tmp_path / "CD015373.csv"  # the review's rows, so that the run reads a small file
    with COCHRANE.open(encoding="utf-8") as src, export.open("w", encoding="utf-8") as dst:
        dst.write(next(src))
        dst.writelines(line for line in src if line.startswith('"CD015373'))
    out = tmp_path / "out"
    proc = run_example(EXAMPLE / "data", out, "--cochrane", str(export))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "published MD -15.79 [-32.09, 0.51]; metapool MD -15.79 [-32.09, 0.51] -> OK" in (
        proc.stdout
    )
    assert "published RR 3.26 [1.05, 10.09]; metapool RR 3.26 [1.05, 10.09] -> OK" in proc.stdout
    part = out / "cochrane"
    figures = {p.name for p in part.glob("*.png")}
    assert {
        "forest_1_1.png",
        "forest_1_2.png",
        "forest_1_9.png",
        "rob_1_1.png",
        "rob_summary_1_9.png",
    } <= figures
    assert "No funnel plot: no analysis has 10 or more studies" in proc.stdout
    sof = (part / "summary_of_findings.md").read_text(encoding="utf-8")
    assert "| Adverse events (total) |" in sof and "RR 3.26 (1.05 to 10.09)" in sof
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Part 2: the Cochrane review CD015373_pub2" in report
    assert "](cochrane/forest_1_9.png)" in report
