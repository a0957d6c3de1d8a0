"""Bad input for meta-regression (fit and predict) and subgroup analysis.

What users pass from spreadsheets, pandas and R exports: mixed-type DataFrames,
blanks (None, NaN, pandas' NA), "NA"/"nan" text, text in numeric columns, dates,
single-level factors, wrong shapes and wrong types. Error cases name the
moderator or parameter, the study as ``study N ('label')`` and the value.

Expected numbers are hand computations (ordinary least squares with equal
variances, written out in the case) or metafor 3.8.1 output pasted with its R
call, never metapool's own output. pandas cases are built only when pandas is
installed (it is an optional extra).
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
    SmallSampleWarning,
)
from tests.bad_input._catalogue import Case

HAS_PANDAS = importlib.util.find_spec("pandas") is not None

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005", "Delta 2008", "Epsilon 2010", "Zeta 2012"]
YI = [0.10, 0.30, 0.20, 0.60, 0.50, 0.90]
V = 0.04  # every study: weighted least squares = ordinary least squares
DOSE = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
ARM = ["drug", "placebo", "drug", "placebo", "drug", "placebo"]


def _effects(yi: list[float] = YI) -> mp.GenericEffect:
    return mp.GenericEffect(yi=yi, vi=[V] * len(yi), labels=LABELS[: len(yi)])


def _fe(**kwargs: Any) -> mp.MetaRegression:
    """Fixed-effects meta-regression: with equal variances its coefficients are OLS."""
    return mp.MetaRegression(mp.tau2.Fixed(0.0), **kwargs)


def _ols(X: list[list[float]], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and fixed-effects standard errors, sqrt(V · diag((X'X)⁻¹))."""
    Xa, ya = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    xtx_inv = np.linalg.inv(Xa.T @ Xa)
    return xtx_inv @ Xa.T @ ya, np.sqrt(V * np.diag(xtx_inv))


# Hand-worked: x̄ = 3.5, ȳ = 2.6/6, Sxy = Σ(x - x̄)y = 2.5, Sxx = 17.5, so the slope is
# 1/7 and the intercept ȳ - 3.5/7 = -1/15; se(slope) = sqrt(V/Sxx).
SLOPE, INTERCEPT = 1.0 / 7.0, 2.6 / 6.0 - 0.5
SE_SLOPE = math.sqrt(V / 17.5)
# Group means: drug (0.1 + 0.2 + 0.5)/3, placebo (0.3 + 0.6 + 0.9)/3.
DRUG, PLACEBO = 0.8 / 3.0, 1.8 / 3.0


def _close(got: Any, expected: Any, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=rtol, atol=1e-14)


# ------------------------------------------------------------------ fit: success


def _check_dose_arm(res: Any) -> None:
    X = [[1.0, d, float(a == "placebo")] for d, a in zip(DOSE, ARM, strict=True)]
    coef, se = _ols(X, YI)
    assert res.names == ("intercept", "dose", "arm[placebo]")
    _close(res.coef, coef)
    _close(res.se, se)
    assert res.qm_df == 2


def _check_slope(res: Any) -> None:
    assert res.names == ("intercept", "dose")
    _close(res.coef, [INTERCEPT, SLOPE])
    _close(res.se[1], SE_SLOPE)


def _check_arm(res: Any) -> None:
    assert res.names == ("intercept", "arm[placebo]")
    _close(res.coef, [DRUG, PLACEBO - DRUG])


def _check_omit(res: Any) -> None:
    # Study 3 (Gamma 2005) left out: OLS on the other five.
    keep = [0, 1, 3, 4, 5]
    coef, se = _ols([[1.0, DOSE[i]] for i in keep], [YI[i] for i in keep])
    assert res.k == 5
    assert [(e.index, e.label) for e in res.excluded] == [(2, "Gamma 2005")]
    assert res.excluded[0].reason == "missing value in moderator 'dose'"
    _close(res.coef, coef)
    _close(res.se, se)


def _check_rows(res: Any) -> None:
    assert res.names == ("intercept", "x1", "x2[placebo]")
    X = [[1.0, d, float(a == "placebo")] for d, a in zip(DOSE, ARM, strict=True)]
    _close(res.coef, _ols(X, YI)[0])


def _check_flag(res: Any) -> None:
    # flag = dose > 3: False for the first three studies (mean 0.6/3), True for the rest.
    assert res.names == ("intercept", "flag[True]")
    _close(res.coef, [0.6 / 3.0, 2.0 / 3.0 - 0.6 / 3.0])


def _check_level_means(res: Any) -> None:
    assert res.names == ("arm[drug]", "arm[placebo]")
    _close(res.coef, [DRUG, PLACEBO])
    assert math.isnan(res.r2)  # no intercept: R² not estimable (metafor: NULL)


def _check_degenerate(res: Any) -> None:
    # yi = 0.1 + 0.2 x exactly; metafor 3.8.1, rma(yi, vi, mods = ~ x, test = "knha"):
    # estimates 0.1, 0.2 with se 0, tval Inf, pval 0, ci.lb = ci.ub, QM NA.
    _close(res.coef, [0.1, 0.2], rtol=1e-13)
    assert res.se.tolist() == [0.0, 0.0]
    assert res.pvalue.tolist() == [0.0, 0.0]
    assert math.isnan(res.qm)
    assert "hksj-adhoc" in res.notes[0]


def _check_as_given(res: Any) -> None:
    # The effect set dropped Beta 2003 (yi NaN); dose lists all six studies.
    keep = [0, 2, 3, 4, 5]
    assert res.k == 5 and [e.label for e in res.excluded] == ["Beta 2003"]
    _close(res.coef, _ols([[1.0, DOSE[i]] for i in keep], [YI[i] for i in keep])[0])


def _effects_with_gap() -> mp.GenericEffect:
    yi = list(YI)
    yi[1] = math.nan
    return mp.GenericEffect(yi=yi, vi=[V] * 6, labels=LABELS, nan_policy="omit")


def _with(index: int, value: Any, column: list[Any]) -> list[Any]:
    out = list(column)
    out[index] = value
    return out


CASES: list[Case] = [
    Case(
        id="regression-dict-numeric-and-text",
        run=lambda: _fe().fit(_effects(), {"dose": DOSE, "arm": ARM}),
        check=_check_dose_arm,
    ),
    Case(
        id="regression-list-of-rows-typed-per-column",
        run=lambda: _fe().fit(_effects(), [[d, a] for d, a in zip(DOSE, ARM, strict=True)]),
        check=_check_rows,
    ),
    Case(
        id="regression-numbers-with-none-stay-numeric-when-omitted",
        run=lambda: _fe(nan_policy="omit").fit(_effects(), {"dose": _with(2, None, DOSE)}),
        warns=ExcludedStudyWarning,
        check=_check_omit,
    ),
    Case(
        id="regression-boolean-moderator-is-a-factor",
        run=lambda: _fe().fit(_effects(), {"flag": np.asarray(DOSE) > 3}),
        check=_check_flag,
    ),
    Case(
        id="regression-no-intercept-level-means",
        run=lambda: _fe().fit(_effects(), {"arm": ARM}, intercept=False),
        check=_check_level_means,
    ),
    Case(
        id="regression-hksj-zero-residuals",
        run=lambda: mp.MetaRegression(ci="hksj").fit(
            mp.GenericEffect(
                yi=[0.1 + 0.2 * x for x in DOSE[:5]], vi=[0.02, 0.03, 0.01, 0.05, 0.04]
            ),
            {"x": DOSE[:5]},
        ),
        warns=DegenerateDataWarning,
        check=_check_degenerate,
    ),
    Case(
        id="regression-moderators-for-the-studies-as-given",
        run=lambda: _fe().fit(_effects_with_gap(), {"dose": DOSE}),
        check=_check_as_given,
    ),
    # ------------------------------------------------------------ fit: errors
    Case(
        id="regression-none-in-text-moderator",
        run=lambda: _fe().fit(_effects(), {"arm": _with(1, None, ARM)}),
        raises=InvalidDataError,
        names=("'arm'", "study 2 ('Beta 2003')", "None", "nan_policy='omit'"),
    ),
    Case(
        id="regression-nan-in-numeric-moderator",
        run=lambda: _fe().fit(_effects(), {"dose": _with(2, math.nan, DOSE)}),
        raises=InvalidDataError,
        names=("'dose'", "study 3 ('Gamma 2005')", "nan"),
    ),
    Case(
        id="regression-na-text-marker",
        run=lambda: _fe(nan_policy="omit").fit(_effects(), {"arm": _with(3, "NA", ARM)}),
        raises=InvalidDataError,
        names=("'arm'", "study 4 ('Delta 2008')", "'NA'", "missing-value marker"),
    ),
    Case(
        id="regression-blank-text",
        run=lambda: _fe().fit(_effects(), {"arm": _with(0, "  ", ARM)}),
        raises=InvalidDataError,
        names=("'arm'", "study 1 ('Alpha 2001')", "'  '"),
    ),
    Case(
        id="regression-numbers-and-text-mixed",
        run=lambda: _fe().fit(_effects(), {"dose": _with(2, "<5", DOSE)}),
        raises=InvalidDataError,
        names=(
            "'dose'",
            "mixes numbers and text",
            "study 1 ('Alpha 2001')",
            "1.0",
            "study 3 ('Gamma 2005')",
            "'<5'",
        ),
    ),
    Case(
        id="regression-numbers-and-booleans-mixed",
        run=lambda: _fe().fit(_effects(), {"dose": _with(1, True, DOSE)}),
        raises=InvalidDataError,
        names=("'dose'", "numbers and booleans", "study 2 ('Beta 2003')", "True"),
    ),
    Case(
        id="regression-infinite-moderator",
        run=lambda: _fe().fit(_effects(), {"dose": _with(1, math.inf, DOSE)}),
        raises=InvalidDataError,
        names=("'dose'", "finite", "study 2 ('Beta 2003')", "inf"),
    ),
    Case(
        id="regression-infinite-in-array-column",
        run=lambda: _fe().fit(_effects(), np.column_stack([DOSE, _with(5, -math.inf, DOSE)])),
        raises=InvalidDataError,
        names=("'x2'", "study 6 ('Zeta 2012')", "-inf"),
    ),
    Case(
        id="regression-object-array-mixed-column",
        run=lambda: _fe().fit(
            _effects(), np.array([[d, "x" if i == 4 else d] for i, d in enumerate(DOSE)], object)
        ),
        raises=InvalidDataError,
        names=("'x2'", "study 5 ('Epsilon 2010')", "'x'"),
    ),
    Case(
        id="regression-wrong-length",
        run=lambda: _fe().fit(_effects(), {"dose": DOSE[:5]}),
        raises=InvalidDataError,
        names=("'dose'", "5 values", "6 studies"),
    ),
    Case(
        id="regression-transposed-array",
        run=lambda: _fe().fit(_effects(), np.array([DOSE, DOSE])),
        raises=InvalidDataError,
        names=("'x1'", "2 values", "shape (2, 6)", "one row per study"),
    ),
    Case(
        id="regression-ragged-rows",
        run=lambda: _fe().fit(_effects(), [[1.0, 2.0], [3.0], [4.0, 5.0]]),
        raises=InvalidDataError,
        names=("'moderators'", "rectangular", "[1, 2]"),
    ),
    Case(
        id="regression-moderators-column-name-string",
        run=lambda: _fe().fit(_effects(), "dose"),
        raises=MetapoolTypeError,
        names=("'moderators'", "'dose'", "{'dose': data['dose']}"),
    ),
    Case(
        id="regression-moderators-none",
        run=lambda: _fe().fit(_effects(), None),
        raises=MetapoolTypeError,
        names=("'moderators'", "None", "{}"),
    ),
    Case(
        id="regression-moderators-scalar",
        run=lambda: _fe().fit(_effects(), 5),
        raises=MetapoolTypeError,
        names=("'moderators'", "int 5"),
    ),
    Case(
        id="regression-moderator-column-is-a-string",
        run=lambda: _fe().fit(_effects(), {"dose": "dose"}),
        raises=MetapoolTypeError,
        names=("moderator 'dose'", "the string 'dose'"),
    ),
    Case(
        id="regression-moderator-column-is-a-set",
        run=lambda: _fe().fit(_effects(), {"dose": set(DOSE)}),
        raises=MetapoolTypeError,
        names=("moderator 'dose'", "set", "no study order"),
    ),
    Case(
        id="regression-moderator-holds-objects",
        run=lambda: _fe().fit(_effects(), {"when": [(2001, 1)] + [(2002, 1)] * 5}),
        raises=InvalidDataError,
        names=("moderator 'when'", "one-dimensional", "shape (6, 2)"),
    ),
    Case(
        id="regression-single-level-factor",
        run=lambda: _fe().fit(_effects(), {"dose": DOSE, "arm": ["drug"] * 6}),
        raises=InvalidDataError,
        names=("'arm'", "only one level", "'drug'"),
    ),
    Case(
        id="regression-single-level-after-omission",
        run=lambda: _fe(nan_policy="omit").fit(
            _effects(), {"arm": ["drug", None, "drug", "drug", "drug", "drug"]}
        ),
        raises=InvalidDataError,
        names=("'arm'", "only one level", "'drug'", "once studies with missing values"),
    ),
    Case(
        id="regression-too-few-studies-after-omission",
        run=lambda: _fe(nan_policy="omit").fit(
            _effects(), {"dose": [1.0, None, 2.0, None, None, None]}
        ),
        raises=InvalidDataError,
        names=("2 coefficients", "k = 2", "4 with missing moderators"),
    ),
    Case(
        id="regression-intercept-not-bool",
        run=lambda: _fe().fit(_effects(), {"dose": DOSE}, intercept="no"),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'intercept'", "MetaRegression.fit", "'no'"),
    ),
    Case(
        id="regression-nothing-to-fit",
        run=lambda: _fe().fit(_effects(), {}, intercept=False),
        raises=InvalidDataError,
        names=("no moderators", "intercept=False"),
    ),
    Case(
        id="regression-moderator-named-intercept",
        run=lambda: _fe().fit(_effects(), {"intercept": DOSE}),
        raises=InvalidDataError,
        names=("'intercept'", "rename"),
    ),
    Case(
        id="regression-level-95",
        run=lambda: mp.MetaRegression(level=95),
        raises=InvalidParameterError,
        names=("'level'", "MetaRegression", "must be in (0, 1). Got 95 instead"),
    ),
    Case(
        id="regression-nan-policy-unknown",
        run=lambda: mp.MetaRegression(nan_policy="drop"),
        raises=InvalidParameterError,
        names=("'nan_policy'", "'raise', 'omit'", "'drop'"),
    ),
    Case(
        id="regression-ci-metafor-name",
        run=lambda: mp.MetaRegression(ci="knha"),
        raises=InvalidParameterError,
        names=("'ci'", "'hksj'", "'knha'"),
    ),
    Case(
        id="regression-effects-not-an-effect-set",
        run=lambda: _fe().fit(YI, {"dose": DOSE}),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("MetaRegression", "effect-size set", "list"),
    ),
]


# ------------------------------------------------------------------ predict


def _fitted() -> Any:
    return _fe().fit(_effects(), {"dose": DOSE, "arm": ARM})


CASES += [
    Case(
        id="predict-missing-level",
        run=lambda: _fitted().predict({"dose": [1.0, 2.0], "arm": ["drug", None]}),
        raises=InvalidDataError,
        names=("predict", "'arm'", "missing value", "None", "row 2"),
    ),
    Case(
        id="predict-nan-numeric",
        run=lambda: _fitted().predict({"dose": [math.nan], "arm": ["drug"]}),
        raises=InvalidDataError,
        names=("'dose'", "nan", "row 1"),
    ),
    Case(
        id="predict-text-for-numeric",
        run=lambda: _fitted().predict({"dose": ["high"], "arm": ["drug"]}),
        raises=InvalidDataError,
        names=("'dose'", "numeric", "row 1", "'high'"),
    ),
    Case(
        id="predict-infinite",
        run=lambda: _fitted().predict({"dose": [math.inf], "arm": ["drug"]}),
        raises=InvalidDataError,
        names=("'dose'", "finite", "inf"),
    ),
    Case(
        id="predict-unknown-level",
        run=lambda: _fitted().predict({"dose": [1.0], "arm": ["Placebo"]}),
        raises=InvalidDataError,
        names=("'arm'", "unknown level", "'Placebo'", "'drug', 'placebo'"),
    ),
    Case(
        id="predict-moderator-absent",
        run=lambda: _fitted().predict({"arm": ["drug"]}),
        raises=InvalidDataError,
        names=("'dose'", "missing from the new data", "'arm'"),
    ),
    Case(
        id="predict-unequal-lengths",
        run=lambda: _fitted().predict({"dose": [1.0, 2.0], "arm": ["drug"]}),
        raises=InvalidDataError,
        names=("same number of rows", "dose=2", "arm=1"),
    ),
    Case(
        id="predict-array-wrong-width",
        run=lambda: _fitted().predict(np.ones((2, 3))),
        raises=InvalidDataError,
        names=("2 column(s)", "got 3"),
    ),
    Case(
        id="predict-none",
        run=lambda: _fitted().predict(None),
        raises=MetapoolTypeError,
        names=("'new_moderators'", "None"),
    ),
    Case(
        id="predict-rows-of-raw-values",
        run=lambda: _fitted().predict([[2.0, "placebo"], [4.0, "drug"]]),
        check=lambda p: _close(
            p.pred,
            _ols([[1.0, d, float(a == "placebo")] for d, a in zip(DOSE, ARM, strict=True)], YI)[0]
            @ np.array([[1.0, 1.0], [2.0, 4.0], [1.0, 0.0]]),
        ),
    ),
]


# ------------------------------------------------------------------ subgroups


def _check_subgroups_omit(sg: Any) -> None:
    # Beta 2003 left out. Common effect with equal variances: each subgroup's estimate
    # is its mean with se sqrt(V/n); Q_between = Σ (m_g - m̄)² n_g/V, m̄ the weighted mean.
    drug, placebo = DRUG, (0.6 + 0.9) / 2
    mean = (3 * drug + 2 * placebo) / 5
    q = (3 * (drug - mean) ** 2 + 2 * (placebo - mean) ** 2) / V
    assert sg.groups == ("drug", "placebo")
    _close([sg.results["drug"].estimate, sg.results["placebo"].estimate], [drug, placebo])
    _close(sg.results["placebo"].se, math.sqrt(V / 2))
    _close(sg.test.statistic, q)
    assert sg.overall.k == 5
    assert [(e.index, e.label) for e in sg.excluded] == [(1, "Beta 2003")]
    assert sg.to_dict()["excluded"][0]["reason"] == "missing subgroup in 'groups'"


def _check_two_means(sg: Any) -> None:
    # Q_between with equal variances and three studies per group:
    # (3/V)·((D - m)² + (P - m)²), m = (D + P)/2.
    m = (DRUG + PLACEBO) / 2
    _close(sg.test.statistic, 3 / V * ((DRUG - m) ** 2 + (PLACEBO - m) ** 2))


def _check_single_study_common(sg: Any) -> None:
    # τ² fixed at 0.01 for every subgroup: the one-study subgroup has se sqrt(V + 0.01).
    assert sg.tau2 == 0.01
    _close(sg.results["c"].se, math.sqrt(V + 0.01))
    _close(sg.results["c"].estimate, YI[5])


CASES += [
    Case(
        id="subgroups-missing-group-omitted",
        run=lambda: mp.subgroup_analysis(
            _effects(), _with(1, None, ARM), mp.CommonEffect(), nan_policy="omit"
        ),
        warns=ExcludedStudyWarning,
        check=_check_subgroups_omit,
    ),
    Case(
        id="subgroups-column-name-in-dict",
        run=lambda: mp.subgroup_analysis(
            _effects(), "arm", mp.CommonEffect(), data={"arm": ARM, "dose": DOSE}
        ),
        check=_check_two_means,
    ),
    Case(
        id="subgroups-one-study-subgroup-common-tau2",
        run=lambda: mp.subgroup_analysis(
            _effects(),
            ["a", "a", "b", "b", "b", "c"],
            mp.RandomEffects(tau2=mp.tau2.Fixed(0.01)),
            common_tau2=True,
        ),
        check=_check_single_study_common,
    ),
    Case(
        id="subgroups-only-one-group",
        run=lambda: mp.subgroup_analysis(_effects(), ["all"] * 6, mp.CommonEffect()),
        warns=SmallSampleWarning,
        check=lambda sg: (_close(sg.overall.estimate, sum(YI) / 6), math.isnan(sg.test.statistic)),
    ),
    Case(
        id="subgroups-none-group",
        run=lambda: mp.subgroup_analysis(_effects(), _with(1, None, ARM)),
        raises=InvalidDataError,
        names=("'groups'", "missing value", "None", "study 2 ('Beta 2003')", "nan_policy='omit'"),
    ),
    Case(
        id="subgroups-nan-group",
        run=lambda: mp.subgroup_analysis(_effects(), _with(4, math.nan, ARM)),
        raises=InvalidDataError,
        names=("'groups'", "nan", "study 5 ('Epsilon 2010')"),
    ),
    Case(
        id="subgroups-nan-text-group",
        run=lambda: mp.subgroup_analysis(_effects(), _with(0, "nan", ARM), nan_policy="omit"),
        raises=InvalidDataError,
        names=("'groups'", "'nan'", "study 1 ('Alpha 2001')", "missing-value marker"),
    ),
    Case(
        id="subgroups-column-not-in-data",
        run=lambda: mp.subgroup_analysis(_effects(), "group", data={"arm": ARM, "dose": DOSE}),
        raises=InvalidDataError,
        names=("'group'", "'groups'", "not in 'data'", "['arm', 'dose']"),
    ),
    Case(
        id="subgroups-column-name-without-data",
        run=lambda: mp.subgroup_analysis(_effects(), "arm"),
        raises=MetapoolTypeError,
        names=("'groups'", "'arm'", "no 'data'"),
    ),
    Case(
        id="subgroups-data-not-a-mapping",
        run=lambda: mp.subgroup_analysis(_effects(), "arm", data=[ARM]),
        raises=MetapoolTypeError,
        names=("'data'", "list"),
    ),
    Case(
        id="subgroups-groups-is-a-number",
        run=lambda: mp.subgroup_analysis(_effects(), 5),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'groups'", "int 5"),
    ),
    Case(
        id="subgroups-groups-is-a-set",
        run=lambda: mp.subgroup_analysis(_effects(), set(ARM)),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'groups'", "set", "no study order"),
    ),
    Case(
        id="subgroups-groups-is-a-dict",
        run=lambda: mp.subgroup_analysis(_effects(), dict(zip(LABELS, ARM, strict=True))),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'groups'", "dict"),
    ),
    Case(
        id="subgroups-wrong-length",
        run=lambda: mp.subgroup_analysis(_effects(), ARM[:4]),
        raises=InvalidDataError,
        names=("'groups'", "4 entries", "6 studies"),
    ),
    Case(
        id="subgroups-model-not-metapool",
        run=lambda: mp.subgroup_analysis(_effects(), ARM, mp.MetaRegression()),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'model'", "MetaRegression"),
    ),
    Case(
        id="subgroups-model-class-not-instance",
        run=lambda: mp.subgroup_analysis(_effects(), ARM, mp.RandomEffects),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'model'", "class RandomEffects", "RandomEffects()"),
    ),
    Case(
        id="subgroups-common-tau2-all-single-study",
        run=lambda: mp.subgroup_analysis(
            _effects(), list("abcdef"), mp.RandomEffects(), common_tau2=True
        ),
        raises=InvalidDataError,
        names=("common tau^2", "(6)", "subgroups (6)"),
    ),
    Case(
        id="subgroups-common-tau2-common-effect",
        run=lambda: mp.subgroup_analysis(_effects(), ARM, mp.CommonEffect(), common_tau2=True),
        raises=InvalidParameterError,
        names=("'common_tau2'", "RandomEffects", "CommonEffect"),
    ),
    Case(
        id="subgroups-common-tau2-not-bool",
        run=lambda: mp.subgroup_analysis(_effects(), ARM, common_tau2="yes"),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'common_tau2'", "'yes'"),
    ),
    Case(
        id="subgroups-nan-policy-unknown",
        run=lambda: mp.subgroup_analysis(_effects(), ARM, nan_policy="skip"),
        raises=InvalidParameterError,
        names=("'nan_policy'", "subgroup_analysis", "'skip'"),
    ),
]


# ------------------------------------------------------------------ pandas

if HAS_PANDAS:
    import pandas as pd

    def _frame() -> Any:
        return pd.DataFrame({"dose": DOSE, "arm": ARM, "label": LABELS})

    def _frame_with(column: str, index: int, value: Any) -> Any:
        df = _frame()
        df[column] = df[column].astype(object)
        df.loc[index, column] = value
        return df

    def _check_categorical(res: Any) -> None:
        # Categories ordered placebo, drug: placebo is the reference level.
        assert res.names == ("intercept", "arm[drug]")
        _close(res.coef, [PLACEBO, DRUG - PLACEBO])

    def _nullable_dose(index: int) -> Any:
        dose = pd.array([1, 2, 3, 4, 5, 6], dtype="Int64")
        dose[index] = pd.NA
        return pd.DataFrame({"dose": dose})

    CASES += [
        Case(
            id="regression-pandas-mixed-dataframe",
            run=lambda: _fe().fit(_effects(), _frame()[["dose", "arm"]]),
            check=_check_dose_arm,
        ),
        Case(
            id="regression-pandas-series-uses-its-name",
            run=lambda: _fe().fit(_effects(), _frame()["dose"]),
            check=_check_slope,
        ),
        Case(
            id="regression-pandas-categorical-order",
            run=lambda: _fe().fit(
                _effects(),
                pd.DataFrame({"arm": pd.Categorical(ARM, categories=["placebo", "drug"])}),
            ),
            check=_check_categorical,
        ),
        Case(
            id="regression-pandas-string-dtype",
            run=lambda: _fe().fit(_effects(), pd.DataFrame({"arm": pd.array(ARM, dtype="string")})),
            check=_check_arm,
        ),
        Case(
            id="regression-pandas-nan-in-float-column-omitted",
            run=lambda: _fe(nan_policy="omit").fit(
                _effects(), _frame_with("dose", 2, np.nan)[["dose"]]
            ),
            warns=ExcludedStudyWarning,
            check=_check_omit,
        ),
        Case(
            id="regression-pandas-na-in-int64",
            run=lambda: _fe().fit(_effects(), _nullable_dose(1)),
            raises=InvalidDataError,
            names=("'dose'", "<NA>", "study 2 ('Beta 2003')"),
        ),
        Case(
            id="regression-pandas-nan-in-categorical",
            run=lambda: _fe().fit(
                _effects(), pd.DataFrame({"arm": pd.Categorical(_with(3, None, ARM))})
            ),
            raises=InvalidDataError,
            names=("'arm'", "nan", "study 4 ('Delta 2008')"),
        ),
        Case(
            id="regression-pandas-nan-text",
            run=lambda: _fe().fit(_effects(), pd.DataFrame({"arm": _with(5, "nan", ARM)})),
            raises=InvalidDataError,
            names=("'arm'", "'nan'", "study 6 ('Zeta 2012')", "missing-value marker"),
        ),
        Case(
            id="regression-pandas-text-in-numeric-column",
            run=lambda: _fe().fit(_effects(), _frame_with("dose", 4, "n/a")[["dose"]]),
            raises=InvalidDataError,
            names=("'dose'", "'n/a'", "study 5 ('Epsilon 2010')"),
        ),
        Case(
            id="regression-pandas-dates",
            run=lambda: _fe().fit(
                _effects(),
                pd.DataFrame({"when": pd.to_datetime([f"{y}-01-01" for y in range(2001, 2007)])}),
            ),
            raises=MetapoolTypeError,
            names=("'when'", "study 1 ('Alpha 2001')", "Timestamp", "year"),
        ),
        Case(
            id="regression-pandas-duplicate-columns",
            run=lambda: _fe().fit(
                _effects(), pd.DataFrame([[d, d] for d in DOSE], columns=["dose", "dose"])
            ),
            raises=InvalidDataError,
            names=("'moderators'", "'dose'"),
        ),
        Case(
            id="predict-pandas-dataframe",
            run=lambda: _fitted().predict(
                pd.DataFrame({"arm": ["placebo"], "dose": [2.0], "x": [0]})
            ),
            check=lambda p: _close(
                p.pred[0],
                _ols([[1.0, d, float(a == "placebo")] for d, a in zip(DOSE, ARM, strict=True)], YI)[
                    0
                ]
                @ [1.0, 2.0, 1.0],
            ),
        ),
        Case(
            id="predict-pandas-na",
            run=lambda: _fitted().predict(
                pd.DataFrame({"arm": pd.array(["drug", pd.NA], dtype="string"), "dose": [1.0, 2.0]})
            ),
            raises=InvalidDataError,
            names=("'arm'", "<NA>", "row 2"),
        ),
        Case(
            id="subgroups-pandas-column-missing",
            run=lambda: mp.subgroup_analysis(_effects(), "Arm", data=_frame()),
            raises=InvalidDataError,
            names=("'Arm'", "'groups'", "['dose', 'arm', 'label']"),
        ),
        Case(
            id="subgroups-pandas-na-group-omitted",
            run=lambda: mp.subgroup_analysis(
                _effects(),
                pd.Series(_with(1, None, ARM), dtype="string"),
                mp.CommonEffect(),
                nan_policy="omit",
            ),
            warns=ExcludedStudyWarning,
            check=_check_subgroups_omit,
        ),
        Case(
            id="subgroups-pandas-nan-group",
            run=lambda: mp.subgroup_analysis(_effects(), "arm", data=_frame_with("arm", 2, np.nan)),
            raises=InvalidDataError,
            names=("'groups'", "nan", "study 3 ('Gamma 2005')"),
        ),
        Case(
            id="subgroups-pandas-dataframe-as-groups",
            run=lambda: mp.subgroup_analysis(_effects(), _frame()[["arm", "dose"]]),
            raises=InvalidDataError,
            names=("'groups'", "one-dimensional", "(6, 2)"),
        ),
    ]
