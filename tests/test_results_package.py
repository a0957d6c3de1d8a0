"""metapool.results as a package: one home for every result class, re-exported where
users import them; no import of the procedures or the plots; every result has the same
output API (tables, HTML, a short repr, JSON)."""

from __future__ import annotations

import ast
import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metapool as mp
import metapool.batch
import metapool.bias
import metapool.grouped
import metapool.regression
import metapool.results
import metapool.sensitivity
import metapool.subgroups
from tests._results_data import ABLAT, ALLOC, bcg_rr

SRC = Path(metapool.__file__).parent

#: result class -> the procedure modules that re-export it
HOMES = {
    "MetaResult": [mp],
    "BackTransformed": [mp],
    "Interval": [mp],
    "IntervalArray": [mp, metapool.sensitivity],
    "BatchResult": [mp, metapool.batch],
    "LazyBatchResult": [mp],
    "GroupedResult": [mp, metapool.grouped],
    "MetaRegressionResult": [mp, metapool.regression],
    "Prediction": [mp, metapool.regression],
    "SubgroupResult": [mp, metapool.subgroups],
    "SubgroupTest": [mp, metapool.subgroups],
    "LeaveOneOutResult": [mp, metapool.sensitivity],
    "CumulativeResult": [mp, metapool.sensitivity],
    "InfluenceResult": [mp, metapool.sensitivity],
    "EggerResult": [mp, metapool.bias],
    "BeggResult": [mp, metapool.bias],
    "TrimFillResult": [mp, metapool.bias],
    "SelectionModelResult": [mp, metapool.bias],
    "FailSafeNResult": [mp, metapool.bias],
    "ExcessSignificanceResult": [mp, metapool.bias],
    "PetPeeseResult": [mp, metapool.bias],
    "MultilevelResult": [mp],
    "GLMMResult": [mp],
    "GLMMRegressionResult": [mp],
    "MultilevelBatchResult": [mp],
    # the module metapool.robust (its attribute name is taken by the function mp.robust)
    "RobustResult": [mp, importlib.import_module("metapool.robust")],
    "RobustWaldTest": [mp, importlib.import_module("metapool.robust")],
}


@pytest.mark.parametrize("name", list(HOMES))
def test_every_result_class_lives_in_results_and_keeps_its_import_paths(name: str) -> None:
    cls = getattr(metapool.results, name)
    assert cls.__module__.startswith("metapool.results.")
    assert name in metapool.results.__all__
    for module in HOMES[name]:
        assert getattr(module, name) is cls
        if module is not mp:
            assert name in module.__all__


def test_results_all_is_complete() -> None:
    assert set(metapool.results.__all__) == {*HOMES, "NOT_ESTIMABLE"}


def _module_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` runs (not under TYPE_CHECKING, not in functions)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


RESULT_MODULES = sorted((SRC / "results").glob("*.py"))
#: what the results may import from metapool: the shared private modules and exceptions
ALLOWED = {
    "metapool._fields",
    "metapool._format",
    "metapool._inference",
    "metapool._serialize",
    "metapool._validation",
    "metapool.exceptions",
}


@pytest.mark.parametrize("path", RESULT_MODULES, ids=lambda p: p.name)
def test_results_import_no_procedure_model_effect_or_plot_module(path: Path) -> None:
    mine = {m for m in _module_level_imports(path) if m.startswith("metapool")}
    outside = {m for m in mine if not m.startswith("metapool.results")}
    assert outside <= ALLOWED, sorted(outside - ALLOWED)


def test_the_shared_private_modules_import_nothing_above_them() -> None:
    assert not {m for m in _module_level_imports(SRC / "_serialize.py") if "metapool" in m}
    assert not {m for m in _module_level_imports(SRC / "_inference.py") if "metapool" in m}
    assert not {m for m in _module_level_imports(SRC / "_fields.py") if "metapool" in m}


def _every_result() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rr = bcg_rr()
        res = mp.RandomEffects().fit(rr)
        reg = mp.MetaRegression().fit(rr, {"ablat": ABLAT})
        sg = mp.subgroup_analysis(rr, ALLOC)
        return {
            "MetaResult": res,
            "BackTransformed": res.back_transform(),
            "BatchResult": mp.RandomEffects().fit_batch(
                np.tile(res.yi, (2, 1)), np.tile(res.vi, (2, 1))
            ),
            "GroupedResult": mp.fit_grouped(
                {"g": [1, 1, 2], "yi": [0.1, 0.3, 0.2], "vi": [0.1, 0.1, 0.1]}, by="g"
            ),
            "MetaRegressionResult": reg,
            "Prediction": reg.predict({"ablat": [10, 50]}),
            "SubgroupResult": sg,
            "SubgroupTest": sg.test,
            "LeaveOneOutResult": mp.leave_one_out(res),
            "CumulativeResult": mp.cumulative(res),
            "InfluenceResult": mp.influence(res),
            "EggerResult": mp.egger_test(res),
            "BeggResult": mp.begg_test(res),
            "TrimFillResult": mp.trim_and_fill(res),
            "SelectionModelResult": mp.selection_model(res, alternative="less"),
            "FailSafeNResult": mp.fail_safe_n(res),
            "ExcessSignificanceResult": mp.excess_significance(res),
            "PetPeeseResult": mp.pet_peese(res),
            "MultilevelResult": mp.MultilevelModel(profile=False).fit(
                rr, levels={"alloc": ALLOC, "trial": list(range(rr.k))}
            ),
            "MultilevelBatchResult": mp.MultilevelModel().fit_batch(
                np.tile(rr.yi, (2, 1)), rr.vi, levels={"alloc": ALLOC, "trial": list(range(rr.k))}
            ),
            "RobustResult": mp.robust(reg, ALLOC),
            "RobustWaldTest": mp.robust(reg, ALLOC).wald_test(["ablat"]),
            "GLMMResult": mp.GLMM("CM.AL").fit(mp.OddsRatio(**rr.counts._asdict())),
            "GLMMRegressionResult": mp.GLMM("CM.AL").fit(
                mp.OddsRatio(**rr.counts._asdict()), {"ablat": ABLAT}
            ),
        }


@pytest.fixture(scope="module")
def every_result() -> dict[str, Any]:
    return _every_result()


# A LazyBatchResult is a handle on arrays still on a Dask scheduler; its tables are
# those of the BatchResult its compute() returns (tests/test_batch_dask.py).
TABULAR = [
    name
    for name in HOMES
    if name not in ("BackTransformed", "Interval", "IntervalArray", "LazyBatchResult")
]


@pytest.mark.parametrize("name", TABULAR)
def test_every_result_has_tables_html_and_a_short_repr(name: str, every_result) -> None:
    result = every_result[name]
    frame, summary = result.to_frame(), result.summary_frame()
    assert frame.shape[0] >= 1 and summary.shape[0] >= 1
    assert "</table>" in result._repr_html_()
    text = repr(result)
    assert text.startswith(f"{name}(") and "\n" not in text and len(text) < 160
    assert type(result).__repr__ is not object.__repr__


@pytest.mark.parametrize("name", [*TABULAR, "BackTransformed"])
def test_every_to_dict_is_json(name: str, every_result) -> None:
    data = every_result[name].to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_the_serializer_replaces_fields_in_place() -> None:
    from metapool._serialize import fields_to_dict, measure_entries

    res = mp.CommonEffect().fit(bcg_rr())
    out = fields_to_dict(res.back_transform(), replace={"pi": {"pi_low": -np.inf, "x": (1, 2)}})
    assert list(out) == ["measure", "estimate", "ci", "pi_low", "x"]
    assert out["measure"] == res.measure.to_dict() and out["pi_low"] is None and out["x"] == [1, 2]
    assert measure_entries(res.measure) == {"measure": "RR", "scale": "log"}
