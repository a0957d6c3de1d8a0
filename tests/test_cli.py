"""The ``metapool`` command line, end to end (``python -m metapool`` in a subprocess) on
a CSV file, an Excel sheet and a Cochrane export, and its error messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import metapool as mp
from metapool.cli import main

ROOT = Path(__file__).resolve().parents[1]
COCHRANE = ROOT / ".." / "shared" / "cochrane" / "pairwise70.csv"
needs_cochrane = pytest.mark.skipif(
    not COCHRANE.exists(), reason="../shared/cochrane/pairwise70.csv is absent"
)

ROWS = [
    ("A 2001", 10, 50, 5, 50, "north"),
    ("B 2003", 20, 80, 9, 80, "north"),
    ("C 2005", 15, 60, 12, 60, "south"),
    ("D 2008", 3, 30, 4, 30, "south"),
]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "metapool", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def write_csv(path: Path, header: str = "study,events1,n1,events2,n2,region") -> Path:
    lines = [header] + [",".join(map(str, r)) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_help_explains_the_data_and_options(tmp_path):
    proc = cli("run", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    for text in (
        "events1, n1, events2, n2",
        "--measure",
        "--model",
        "--tau2",
        "--cochrane",
        "--analysis",
        "report.html",
        "examples:",
        "Excel",
    ):
        assert text in proc.stdout, text
    top = cli("--help", cwd=tmp_path)
    assert top.returncode == 0 and "run" in top.stdout
    assert cli("--version", cwd=tmp_path).stdout.strip() == f"metapool {mp.__version__}"


def test_csv_end_to_end(tmp_path):
    data = write_csv(tmp_path / "trials.csv")
    proc = cli("run", str(data), "--measure", "RR", "--tau2", "DL", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    for name in ("report.html", "report.md", "forest.png", "results.json", "summary.txt"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "funnel.png").exists()  # k = 4 < 10
    got = json.loads((out / "results.json").read_text())["result"]
    ref = mp.RandomEffects(tau2="DL").fit(
        mp.RiskRatio(
            events1=[r[1] for r in ROWS],
            n1=[r[2] for r in ROWS],
            events2=[r[3] for r in ROWS],
            n2=[r[4] for r in ROWS],
        )
    )
    assert got["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert got["ci"]["low"] == pytest.approx(ref.ci.low, rel=1e-12)
    assert got["labels"] == [r[0] for r in ROWS]
    assert "Random-effects model (k = 4; tau^2 estimator: DL" in proc.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "DerSimonian-Laird" in html and "trials.csv" in html


def test_column_mapping_model_and_subgroups(tmp_path):
    data = write_csv(tmp_path / "d.csv", header="Trial,dead_t,all_t,dead_c,all_c,Region")
    proc = cli(
        "run",
        str(data),
        "--measure",
        "OR",
        "--model",
        "mh",
        "--study",
        "Trial",
        "--events1",
        "dead_t",
        "--n1",
        "all_t",
        "--events2",
        "dead_c",
        "--n2",
        "all_c",
        "--subgroup",
        "Region",
        "--out",
        "o",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((tmp_path / "o" / "results.json").read_text())
    assert set(payload["subgroups"]) == {"north", "south"}
    north = mp.MantelHaenszel().fit(
        mp.OddsRatio(events1=[10, 20], n1=[50, 80], events2=[5, 9], n2=[50, 80])
    )
    assert payload["subgroups"]["north"]["estimate"] == pytest.approx(north.estimate, rel=1e-12)
    assert "Test for subgroup differences" in proc.stdout


def test_excel_sheet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    frame = pd.DataFrame(ROWS, columns=["study", "events1", "n1", "events2", "n2", "region"])
    with pd.ExcelWriter(tmp_path / "d.xlsx") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        frame.to_excel(writer, sheet_name="Mortality", index=False)
    proc = cli(
        "run",
        "d.xlsx",
        "--sheet",
        "Mortality",
        "--model",
        "common",
        "--no-report",
        "--out",
        "x",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads((tmp_path / "x" / "results.json").read_text())["result"]
    assert got["measure"] == "RR" and got["k"] == 4
    assert not (tmp_path / "x" / "report.html").exists()


@pytest.mark.parametrize(
    ("header", "rows", "args", "message"),
    [
        (
            "study,events1,n1,events2,n2",
            [("A", 1, 10, "", 10)],
            [],
            "study 1 ('A'): column 'events2' is empty",
        ),
        (
            "study,events1,n1,events2,n2",
            [("A", 1, 10, "x", 10)],
            [],
            "study 1 ('A'): column 'events2' holds 'x'",
        ),
        ("study,a,b", [("A", 1, 2)], [], "cannot tell the kind of data"),
        (
            "study,events1,n1,events2,n2",
            [("A", 1, 10, 2, 10)],
            ["--measure", "MD"],
            "--measure MD needs the column(s) mean1, sd1, mean2, sd2",
        ),
        (
            "study,events1,n1,events2,n2",
            [("A", 1, 10, 2, 10)],
            ["--study", "Name"],
            "there is no column 'Name'",
        ),
        (
            "study,mean1,sd1,n1,mean2,sd2,n2",
            [("A", 1, 1, 10, 2, 1, 10)],
            ["--model", "mh"],
            "--model mh needs events",
        ),
        ("study,events1,n1,events2,n2", [("A", 12, 10, 2, 10)], [], "events1"),
    ],
)
def test_data_errors_are_explained(tmp_path, capsys, header, rows, args, message):
    lines = [header] + [",".join(map(str, r)) for r in rows]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(["run", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("metapool: error: ") and message in err
    assert "Traceback" not in err


def test_usage_errors(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path)]) == 1
    assert "give a data file" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main([]) == 2
    with pytest.raises(SystemExit):
        main(["run", "x.csv", "--model", "bayes"])


@pytest.fixture(scope="module")
def ketamine_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows of review CD015373 from the shared collection, in a temporary file (the
    command then reads a small file; the data stay outside the repository)."""
    path = tmp_path_factory.mktemp("cochrane") / "CD015373.csv"
    with COCHRANE.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as dst:
        dst.write(next(src))
        dst.writelines(line for line in src if line.startswith('"CD015373'))
    return path


@needs_cochrane
def test_cochrane_export_end_to_end(tmp_path, ketamine_export):
    """Review CD015373 (doi:10.1002/14651858.CD015373.pub2): published DL/Wald results."""
    listing = cli("run", "--cochrane", str(ketamine_export), "--list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "1.9  Adverse events (total)" in listing.stdout
    for analysis, published in (("1.9", (3.26, 1.05, 10.09)), ("1.1", (-15.79, -32.09, 0.51))):
        out = tmp_path / analysis
        proc = cli(
            "run",
            "--cochrane",
            str(ketamine_export),
            "--review",
            "CD015373",
            "--analysis",
            analysis,
            "--out",
            str(out),
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        bt = json.loads((out / "results.json").read_text())["result"]["back_transformed"]
        # the review prints two decimals: agree to half a unit of the last digit
        assert bt["estimate"] == pytest.approx(published[0], abs=0.005)
        assert bt["ci"]["low"] == pytest.approx(published[1], abs=0.005)
        assert bt["ci"]["high"] == pytest.approx(published[2], abs=0.005)
        assert (out / "rob_traffic_light.png").exists() and (out / "report.html").exists()
        html = (out / "report.html").read_text(encoding="utf-8")
        assert "10.1002/14651858.CD015373.pub2" in html and "Risk of bias (RoB 2)" in html
    assert "DerSimonian-Laird" in html  # revman5 conventions by default for exports
