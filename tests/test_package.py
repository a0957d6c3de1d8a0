"""Package-level contracts: a light import, the public names, the README and the example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import metapool as mp
from tests._reference import dataset

ROOT = Path(__file__).resolve().parents[1]


def test_import_does_not_load_matplotlib_or_pandas():
    code = (
        "import sys, metapool; "
        "print(json.dumps([m in sys.modules for m in ('matplotlib', 'pandas')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [False, False]


def test_public_names_are_importable_and_typed():
    for name in mp.__all__:
        assert hasattr(mp, name), name
    assert len(set(mp.__all__)) == len(mp.__all__)
    assert (ROOT / "src" / "metapool" / "py.typed").exists()


def _readme_blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_readme_tour_runs_and_matches_metafor(capsys):
    (tour,) = _readme_blocks("python")
    namespace: dict[str, object] = {}
    exec(compile(tour, "README.md", "exec"), namespace)  # the README's own code
    res = namespace["res"]
    ref = next(
        f for f in dataset("bcg_rr")["fits"] if f["method"] == "REML" and f["test"] == "knha"
    )
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-9)
    assert res.ci.low == pytest.approx(ref["ci_low"], rel=1e-9)
    assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-9)
    printed = capsys.readouterr().out.splitlines()
    # The comments in the tour show what it prints; they must stay true.
    for line, shown in zip(printed, re.findall(r"# prints: (.*)\nprint", tour), strict=True):
        assert line.strip() == shown.strip()
    json.dumps(namespace["data"], allow_nan=False)


def test_readme_states_the_two_fresh_machine_commands():
    (block,) = _readme_blocks("bash")
    lines = block.strip().splitlines()
    assert lines[0] == "# 1. the worked example" and "examples/ketamine_np/run.py" in lines[1]
    assert lines[2] == "# 2. the tests" and "pytest" in lines[3]
    assert "grep -A1 '^# 2\\. the tests' README.md" in (ROOT / ".ci" / "run").read_text()
