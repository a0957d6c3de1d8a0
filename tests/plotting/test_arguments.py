"""Bad arguments, saving, and plots without matplotlib."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from tests.plotting._helpers import (
    generic,
)


def test_forest_rejects_other_objects():
    with pytest.raises(MetapoolTypeError, match="MetaResult or a SubgroupResult"):
        mp.forest_plot([0.1, 0.2])  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match="'ax'"):
        mp.forest_plot(generic(3), ax="left")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="long_labels"):
        mp.forest_plot(generic(3), long_labels="hide")


@pytest.mark.parametrize(
    ("kwargs", "error", "fragments"),
    [
        ({"sort_by": "nonsense"}, InvalidParameterError, ("'sort_by'", "'nonsense'")),
        ({"sort_by": [1, "x", 3]}, MetapoolTypeError, ("'sort_by'", "study 1 ('Study 1')", "'x'")),
        ({"xlim": (2, 1)}, InvalidParameterError, ("'xlim'", "(2, 1)")),
        ({"xlim": (0.1, math.nan)}, InvalidParameterError, ("'xlim'", "nan")),
        ({"xticks": ["a"]}, InvalidParameterError, ("'xticks'", "'a'")),
        ({"columns": ["nope"]}, InvalidParameterError, ("'columns'", "'nope'")),
        ({"columns": 3}, MetapoolTypeError, ("'columns'", "3")),
        ({"extra_columns": {"Dose": [1]}}, InvalidParameterError, ("'Dose'", "(3)", "1 values")),
        ({"extra_columns": {1: [1, 2, 3]}}, MetapoolTypeError, ("'extra_columns'", "1")),
        ({"ax": "x"}, MetapoolTypeError, ("'ax'", "'x'")),
        ({"path": "out.xyz"}, InvalidParameterError, ("'path'", "'.xyz'", ".svg")),
        ({"decimals": 11}, InvalidParameterError, ("'decimals'", "11")),
        ({"color": "nocolour"}, InvalidParameterError, ("'color'", "'nocolour'")),
        ({"line_color": 5}, InvalidParameterError, ("'line_color'", "5")),
        ({"fontsize": True}, InvalidParameterError, ("'fontsize'", "True")),
        ({"fontfamily": 3}, MetapoolTypeError, ("'fontfamily'", "3")),
        ({"overall": "no"}, MetapoolTypeError, ("'overall'", "'no'")),
        ({"label_control": 1}, MetapoolTypeError, ("'label_control'", "1")),
        ({"measure_label": 1}, MetapoolTypeError, ("'measure_label'", "1")),
        ({"group_names": "AB"}, InvalidParameterError, ("'group_names'", "'AB'")),
        ({"max_label_width": -1}, InvalidParameterError, ("'max_label_width'", "-1")),
        ({"dpi": 0}, InvalidParameterError, ("'dpi'", "0")),
    ],
)
def test_forest_parameter_errors_name_the_parameter_and_value(kwargs, error, fragments):
    with pytest.raises(error) as info:
        mp.forest_plot(generic(3), **kwargs)
    assert type(info.value) is error
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragments"),
    [
        ({"legend": "middle"}, InvalidParameterError, ("'legend'", "'middle'")),
        ({"legend": 3}, InvalidParameterError, ("'legend'", "3")),
        ({"figsize": (3, -1)}, InvalidParameterError, ("'figsize'", "(3, -1)")),
        ({"xlim": (0, 2)}, InvalidParameterError, ("'xlim'", "(0, 2)")),
        ({"xticks": "abc"}, InvalidParameterError, ("'xticks'", "'abc'")),
        ({"fontsize": "8"}, InvalidParameterError, ("'fontsize'", "'8'")),
        ({"color": "nocolour"}, InvalidParameterError, ("'color'", "'nocolour'")),
        ({"xlabel": 1}, MetapoolTypeError, ("'xlabel'", "1")),
        ({"pseudo_ci": 1}, MetapoolTypeError, ("'pseudo_ci'", "1")),
        ({"path": "f.doc"}, InvalidParameterError, ("'path'", "'.doc'")),
        ({"ax": 1}, MetapoolTypeError, ("'ax'", "1")),
    ],
)
def test_funnel_parameter_errors_name_the_parameter_and_value(kwargs, error, fragments, bcg):
    with pytest.raises(error) as info:
        mp.funnel_plot(bcg, **kwargs)
    assert type(info.value) is error
    for fragment in fragments:
        assert fragment in str(info.value)


def test_the_result_argument_is_named_in_errors():
    with pytest.raises(MetapoolTypeError, match=r"'result' parameter of forest_plot.*int \(5\)"):
        mp.forest_plot(5)  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match=r"'result' parameter of funnel_plot.*str \('x'\)"):
        mp.funnel_plot("x")  # type: ignore[arg-type]


def test_path_without_a_suffix_saves_png(bcg, tmp_path):
    out = tmp_path / "forest"
    mp.forest_plot(bcg, path=out)
    assert (tmp_path / "forest.png").read_bytes().startswith(b"\x89PNG")


def test_without_matplotlib_plots_raise_missing_dependency_error():
    code = """
import json, sys
for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
    del sys.modules[name]
sys.modules["matplotlib"] = None
sys.modules["matplotlib.pyplot"] = None
import metapool as mp
res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1, 0.3], se=[0.1, 0.2]))
out = []
for call in (lambda: mp.forest_plot(res), lambda: mp.funnel_plot(res), res.plot_forest):
    try:
        call()
    except mp.exceptions.MissingDependencyError as exc:
        out.append([type(exc).__name__, isinstance(exc, ImportError), str(exc)])
print(json.dumps(out))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    found = json.loads(out)
    assert len(found) == 3
    for name, is_import_error, message in found:
        assert name == "MissingDependencyError" and is_import_error
        assert "matplotlib" in message and 'pip install "metapool[plot]"' in message


def test_importing_metapool_does_not_import_matplotlib():
    code = "import sys, json, metapool; print(json.dumps('matplotlib' in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) is False
