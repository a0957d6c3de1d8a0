"""Bad input for cluster-robust inference (mp.robust and RobustResult.wald_test).

What users pass as the cluster variable: spreadsheet columns with blanks and "NA"
text, pandas Series (categorical, with pd.NA), numpy arrays, mixed ids, columns of
the rows as given when the effect set dropped one, wrong lengths and types. Error
cases name the parameter, the study as ``study N ('label')`` and the value.

Expected numbers are a hand computation: six effects with equal variances in three
clusters of two, intercept only. The estimate is the mean 13/30; the residuals
summed per cluster are -7/15, -1/15 and 8/15, so the CR0 variance is
``(49 + 1 + 64)/225 / 36 = 114/8100`` (se = sqrt(114)/90) and CR1 multiplies it by
n/(n - p) = 3/2.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np

import metapool as mp
from metapool.exceptions import (
    DegenerateDataWarning,
    ExcludedStudyWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from tests.bad_input._catalogue import Case

HAS_PANDAS = importlib.util.find_spec("pandas") is not None

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005", "Delta 2008", "Epsilon 2010", "Zeta 2012"]
YI = [0.10, 0.30, 0.20, 0.60, 0.50, 0.90]
V = 0.04
CLUSTER = ["a", "a", "b", "b", "c", "c"]
CR0_SE = math.sqrt(114.0) / 90.0
CR1_SE = math.sqrt(114.0 * 1.5) / 90.0


def _fit() -> mp.MetaResult:
    return mp.CommonEffect().fit(mp.GenericEffect(yi=YI, vi=[V] * 6, labels=LABELS))


def _robust(cluster: Any, **kwargs: Any) -> mp.RobustResult:
    return mp.robust(_fit(), cluster, **kwargs)


def _with(pos: int, value: Any) -> list[Any]:
    cells: list[Any] = list(CLUSTER)
    cells[pos] = value
    return cells


def _se_is(expected: float) -> Any:
    def check(rob: mp.RobustResult) -> None:
        assert math.isclose(float(rob.se[0]), expected, rel_tol=1e-12), rob.se
        assert rob.n_clusters == 3

    return check


def _zero_residuals(rob: mp.RobustResult) -> None:
    """Identical effects: residuals, robust SE and the Wald statistic are 0 or NaN,
    with a note (never a crash on the singular covariance)."""
    assert rob.se.tolist() == [0.0]
    assert math.isnan(rob.wald.statistic) and math.isnan(rob.pvalue[0])
    assert any("lie on the fitted model" in n for n in rob.notes)


def _omitted_row() -> mp.RobustResult:
    """A blank effect in row 3: the effect set drops it; the cluster column of the
    rows as given (seven cells, the dropped row's cell even blank) still lines up."""
    yi = [*YI[:2], None, *YI[2:]]
    vi = [V, V, V, V, V, V, V]
    labels = [*LABELS[:2], "Blank 2004", *LABELS[2:]]
    eff = mp.GenericEffect(yi=yi, vi=vi, labels=labels, nan_policy="omit")
    res = mp.CommonEffect().fit(eff)
    return mp.robust(res, ["a", "a", None, "b", "b", "c", "c"], adjust="CR0")


def _wrong_model(model: Any) -> Any:
    counts = {
        "events1": [4, 6, 3, 9],
        "n1": [50, 60, 40, 70],
        "events2": [8, 9, 7, 12],
        "n2": [50, 60, 40, 70],
    }
    res = model.fit(mp.OddsRatio(**counts))
    return mp.robust(res, [1, 1, 2, 2])


def _regression() -> mp.MetaRegressionResult:
    return mp.MetaRegression(mp.tau2.Fixed(0.0)).fit(
        mp.GenericEffect(yi=YI, vi=[V] * 6, labels=LABELS), {"dose": [1, 2, 3, 4, 5, 6]}
    )


CASES: list[Case] = [
    # ---------------------------------------------------------------- correct results
    Case("robust-cr0-hand", lambda: _robust(CLUSTER, adjust="CR0"), check=_se_is(CR0_SE)),
    Case("robust-cr1-hand", lambda: _robust(CLUSTER, adjust="CR1"), check=_se_is(CR1_SE)),
    Case(
        "robust-numpy-int-clusters",
        lambda: _robust(np.array([7, 7, 3, 3, 9, 9]), adjust="CR0"),
        check=_se_is(CR0_SE),
    ),
    Case(
        "robust-mixed-id-types",
        lambda: _robust([1, 1, "b", "b", 3.5, 3.5], adjust="CR0"),
        check=_se_is(CR0_SE),
    ),
    Case(
        "robust-rows-as-given-with-omitted-study",
        _omitted_row,
        warns=ExcludedStudyWarning,
        check=_se_is(CR0_SE),
    ),
    Case(
        "robust-identical-effects",
        lambda: mp.robust(
            mp.CommonEffect().fit(mp.GenericEffect(yi=[0.0] * 6, vi=[V] * 6)), CLUSTER
        ),
        warns=DegenerateDataWarning,
        check=lambda rob: _zero_residuals(rob),
    ),
    # ---------------------------------------------------------------- missing cells
    Case(
        "robust-cluster-none",
        lambda: _robust(_with(1, None)),
        raises=InvalidDataError,
        names=("'cluster'", "study 2 ('Beta 2003')", "None"),
    ),
    Case(
        "robust-cluster-nan",
        lambda: _robust(_with(1, math.nan)),
        raises=InvalidDataError,
        names=("'cluster'", "study 2 ('Beta 2003')", "nan"),
    ),
    Case(
        "robust-cluster-na-text",
        lambda: _robust(_with(4, "NA")),
        raises=InvalidDataError,
        names=("'cluster'", "study 5 ('Epsilon 2010')", "'NA'", "missing-value marker"),
    ),
    Case(
        "robust-cluster-blank-text",
        lambda: _robust(_with(0, "")),
        raises=InvalidDataError,
        names=("'cluster'", "study 1 ('Alpha 2001')", "''"),
    ),
    Case(
        "robust-cluster-unhashable-cell",
        lambda: _robust(np.array(_with(2, ["b"]), dtype=object)),
        raises=InvalidDataError,
        names=("'cluster'", "study 3 ('Gamma 2005')", "['b']"),
    ),
    # ---------------------------------------------------------------- shapes and types
    Case(
        "robust-cluster-too-short",
        lambda: _robust(CLUSTER[:5]),
        raises=InvalidDataError,
        names=("'cluster'", "length 6", "length 5"),
    ),
    Case(
        "robust-cluster-2d",
        lambda: _robust(np.array([CLUSTER, CLUSTER])),
        raises=InvalidDataError,
        names=("'cluster'", "one-dimensional", "(2, 6)"),
    ),
    Case(
        "robust-cluster-column-name",
        lambda: _robust("study"),
        raises=MetapoolTypeError,
        names=("'cluster'", "'study'"),
    ),
    Case(
        "robust-cluster-set",
        lambda: _robust(set(CLUSTER)),
        raises=MetapoolTypeError,
        names=("'cluster'", "set"),
    ),
    Case(
        "robust-cluster-iterator",
        lambda: _robust(iter(CLUSTER)),
        raises=MetapoolTypeError,
        names=("'cluster'", "iterator"),
    ),
    Case(
        "robust-cluster-none-argument",
        lambda: _robust(None),
        raises=MetapoolTypeError,
        names=("'cluster'", "None"),
    ),
    # ---------------------------------------------------------------- too few clusters
    Case(
        "robust-single-cluster",
        lambda: _robust(["s"] * 6),
        raises=InvalidDataError,
        names=("'cluster'", "at least 2 clusters", "'s'"),
    ),
    Case(
        "robust-clusters-not-more-than-coefficients",
        lambda: mp.robust(_regression(), ["a", "a", "a", "b", "b", "b"]),
        raises=InvalidDataError,
        names=("number of clusters (2)", "number of coefficients (2)"),
    ),
    # ---------------------------------------------------------------- settings and models
    Case(
        "robust-adjust-unknown",
        lambda: _robust(CLUSTER, adjust="HC2"),
        raises=InvalidParameterError,
        names=("'adjust'", "'HC2'", "'CR2'"),
    ),
    Case(
        "robust-adjust-not-text",
        lambda: _robust(CLUSTER, adjust=2),
        raises=InvalidParameterError,
        names=("'adjust'", "2"),
    ),
    Case(
        "robust-level-percent",
        lambda: _robust(CLUSTER, level=95),
        raises=InvalidParameterError,
        names=("'level'", "95"),
    ),
    Case(
        "robust-mantel-haenszel",
        lambda: _wrong_model(mp.MantelHaenszel()),
        raises=MetapoolTypeError,
        names=("inverse-variance", "mantel-haenszel"),
    ),
    Case(
        "robust-peto",
        lambda: _wrong_model(mp.Peto()),
        raises=MetapoolTypeError,
        names=("inverse-variance", "peto"),
    ),
    Case(
        "robust-not-a-result",
        lambda: mp.robust([0.1, 0.2], CLUSTER),
        raises=MetapoolTypeError,
        names=("'result'", "list"),
    ),
    Case(
        "robust-wald-unknown-name",
        lambda: mp.robust(_regression(), CLUSTER).wald_test(["age"]),
        raises=InvalidParameterError,
        names=("'constraints'", "'age'", "'dose'"),
    ),
    Case(
        "robust-wald-matrix-width",
        lambda: mp.robust(_regression(), CLUSTER).wald_test([[0, 1, 0]]),
        raises=InvalidParameterError,
        names=("'constraints'", "q x 2", "(1, 3)"),
    ),
]

if HAS_PANDAS:
    import pandas as pd

    CASES += [
        Case(
            "robust-pandas-categorical",
            lambda: _robust(
                pd.Series(pd.Categorical(CLUSTER, categories=["c", "b", "a"])), adjust="CR0"
            ),
            check=_se_is(CR0_SE),
        ),
        Case(
            "robust-pandas-na",
            lambda: _robust(pd.Series(_with(3, pd.NA), dtype="string")),
            raises=InvalidDataError,
            names=("'cluster'", "study 4 ('Delta 2008')", "<NA>"),
        ),
    ]
