"""Bad-input cases for the effect-size constructors and ``EffectSet.subset``.

Input as users bring it: lists typed by hand, dicts of columns, numpy arrays
and (when pandas is installed) DataFrames read from CSV files, spreadsheets and
R exports. Expected numbers are computed here by hand formula (escalc's
formulas), never by metapool.
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

import metapool as mp
from metapool.exceptions import (
    ExcludedStudyWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from tests.bad_input._catalogue import Case

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005"]
S1, S2, S3 = "study 1 ('Alpha 2001')", "study 2 ('Beta 2003')", "study 3 ('Gamma 2005')"

# Arm-level data of three studies (continuous and binary), all valid.
CONT: dict[str, list[Any]] = {
    "mean1": [5.0, 4.0, 6.0],
    "sd1": [2.0, 1.0, 1.5],
    "n1": [20, 10, 15],
    "mean2": [6.0, 4.5, 5.0],
    "sd2": [2.0, 1.5, 1.5],
    "n2": [20, 12, 15],
}
BIN: dict[str, list[Any]] = {
    "events1": [12, 5, 8],
    "n1": [100, 50, 60],
    "events2": [20, 9, 10],
    "n2": [100, 50, 60],
}
GEN: dict[str, list[Any]] = {"yi": [0.1, 0.3, -0.2], "vi": [0.01, 0.04, 0.02]}


def _with(base: dict[str, list[Any]], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` (with labels) where ``param=(position, value)`` replaces one cell
    and ``param=value`` (anything else) replaces the whole argument."""
    args: dict[str, Any] = {k: list(v) for k, v in base.items()}
    args["labels"] = list(LABELS)
    for name, change in changes.items():
        if isinstance(change, tuple) and len(change) == 2 and isinstance(change[0], int):
            args[name][change[0]] = change[1]
        else:
            args[name] = change
    return args


def _md(**changes: Any) -> Callable[[], Any]:
    return lambda: mp.MeanDifference(**_with(CONT, **changes))


def _smd(**changes: Any) -> Callable[[], Any]:
    return lambda: mp.SMD(**_with(CONT, **changes))


def _bin(cls: Any, **changes: Any) -> Callable[[], Any]:
    return lambda: cls(**_with(BIN, **changes))


def _gen(**changes: Any) -> Callable[[], Any]:
    return lambda: mp.GenericEffect(**_with(GEN, **changes))


def _effects3() -> Any:
    return mp.GenericEffect(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.04, 0.02], labels=LABELS)


# ------------------------------------------------------------------ hand formulas
def _md_hand(m1: float, s1: float, n1: float, m2: float, s2: float, n2: float) -> tuple[float, ...]:
    return m1 - m2, s1**2 / n1 + s2**2 / n2


def _smd_hand(
    m1: float, s1: float, n1: float, m2: float, s2: float, n2: float
) -> tuple[float, float]:
    """Hedges' g with the exact J and metafor's large-sample variance."""
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    j = math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))
    g = j * (m1 - m2) / sp
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def _rr_hand(a: float, n1: float, c: float, n2: float) -> tuple[float, float]:
    return math.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2


def _close(got: Any, want: Any) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12, atol=0)


def _check_md_rows(rows: list[int]) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        want = [_md_hand(*(CONT[k][i] for k in CONT)) for i in rows]
        _close(eff.yi, [w[0] for w in want])
        _close(eff.vi, [w[1] for w in want])
        assert eff.labels == tuple(LABELS[i] for i in rows)
        assert eff.index.tolist() == rows

    return check


def _check_excluded(positions: list[int], reason: str) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        assert [e.index for e in eff.excluded] == positions
        assert all(reason in e.reason for e in eff.excluded)
        assert eff.k == 3 - len(positions)

    return check


def _check_gen(yi: list[float], vi: list[float], labels: tuple[str, ...]) -> Callable[[Any], None]:
    def check(eff: Any) -> None:
        _close(eff.yi, yi)
        _close(eff.vi, vi)
        assert eff.labels == labels

    return check


def _check_smd_missing(eff: Any) -> None:
    g0, v0 = _smd_hand(5.0, 2.0, 20, 6.0, 2.0, 20)
    g2, v2 = _smd_hand(6.0, 1.5, 15, 5.0, 1.5, 15)
    _close(eff.yi, [g0, g2])
    _close(eff.vi, [v0, v2])
    assert [(e.index, e.label) for e in eff.excluded] == [(1, "Beta 2003")]


def _check_rr_rows(eff: Any) -> None:
    want = [_rr_hand(*(BIN[k][i] for k in BIN)) for i in range(3)]
    _close(eff.yi, [w[0] for w in want])
    _close(eff.vi, [w[1] for w in want])


def _check_negative_zero(eff: Any) -> None:
    assert eff.yi[0] == 0.0 and not np.signbit(eff.yi[0])
    _close(eff.vi, [4 / 20 + 4 / 20, 1 / 10 + 2.25 / 12, 2.25 / 15 + 2.25 / 15])


def _check_one_study(eff: Any) -> None:
    assert eff.k == 1 and eff.labels == ("Study 1",)
    _close(eff.yi, [0.2])
    _close(eff.vi, [0.04])


def _check_subset(eff: Any) -> None:
    assert eff.labels == ("Gamma 2005", "Alpha 2001")
    _close(eff.yi, [-0.2, 0.1])
    _close(eff.vi, [0.02, 0.01])
    assert eff.index.tolist() == [2, 0]


CASES: list[Case] = [
    # ----------------------------------------------------------- text and booleans
    Case(
        "effects-md-text-sd",
        _md(sd1=(1, "five")),
        raises=MetapoolTypeError,
        names=("'sd1'", S2, "'five'"),
    ),
    Case(
        "effects-smd-numeric-string-n",
        _smd(n1=(1, "20 ")),
        raises=MetapoolTypeError,
        names=("'n1'", S2, "'20 '"),
    ),
    Case(
        "effects-generic-scientific-string",
        _gen(yi=(0, "1e3")),
        raises=MetapoolTypeError,
        names=("'yi'", S1, "'1e3'"),
    ),
    Case(
        "effects-rr-bool-cell",
        _bin(mp.RiskRatio, events1=(0, True)),
        raises=MetapoolTypeError,
        names=("'events1'", S1, "True"),
    ),
    Case(
        "effects-or-bool-array",
        _bin(mp.OddsRatio, n2=np.array([True, True, False])),
        raises=MetapoolTypeError,
        names=("'n2'", S1, "True", "boolean"),
    ),
    Case(
        "effects-rd-bytes",
        _bin(mp.RiskDifference, events2=(2, b"10")),
        raises=MetapoolTypeError,
        names=("'events2'", S3, "b'10'"),
    ),
    Case(
        "effects-generic-complex",
        _gen(yi=(1, 0.3 + 2j)),
        raises=MetapoolTypeError,
        names=("'yi'", S2, "(0.3+2j)"),
    ),
    Case(
        "effects-generic-date-cell",
        _gen(vi=(0, datetime.date(2001, 5, 1))),
        raises=MetapoolTypeError,
        names=("'vi'", S1, "datetime.date(2001, 5, 1)"),
    ),
    Case(
        "effects-md-nested-list-cell",
        _md(mean1=[[5.0, 5.5], 4.0, 6.0]),
        raises=MetapoolTypeError,
        names=("'mean1'", S1, "[5.0, 5.5]"),
    ),
    Case(
        "effects-generic-na-text",
        _gen(yi=(2, "NA")),
        raises=MetapoolTypeError,
        names=("'yi'", S3, "'NA'", "missing value"),
    ),
    Case(
        "effects-smd-text-array",
        _smd(sd2=np.array(["2", "1.5", "1.5"])),
        raises=MetapoolTypeError,
        names=("'sd2'", S1, "'2'"),
    ),
    # ------------------------------------------------------------- missing values
    Case(
        "effects-md-none-raise",
        _md(mean2=(1, None)),
        raises=InvalidDataError,
        names=("'mean2'", S2, "mean2=None", "nan_policy='omit'"),
    ),
    Case(
        "effects-rr-nan-raise",
        _bin(mp.RiskRatio, events1=(0, float("nan"))),
        raises=InvalidDataError,
        names=("'events1'", S1, "events1=nan"),
    ),
    Case(
        "effects-md-none-omit",
        lambda: mp.MeanDifference(**_with(CONT, sd1=(1, None)), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_md_rows([0, 2]),
    ),
    Case(
        "effects-smd-nan-omit",
        lambda: mp.SMD(**_with(CONT, n2=(1, float("nan"))), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_smd_missing,
    ),
    Case(
        "effects-generic-masked-omit",
        lambda: mp.GenericEffect(
            yi=np.ma.array([0.1, 0.3, -0.2], mask=[False, True, False]),
            vi=GEN["vi"],
            labels=LABELS,
            nan_policy="omit",
        ),
        warns=ExcludedStudyWarning,
        check=_check_gen([0.1, -0.2], [0.01, 0.02], ("Alpha 2001", "Gamma 2005")),
    ),
    Case(
        "effects-generic-all-missing",
        lambda: mp.GenericEffect(yi=[None, None], vi=[0.1, 0.1], nan_policy="omit"),
        raises=InvalidDataError,
        names=("every study has a missing value",),
    ),
    # -------------------------------------------------------------------- labels
    Case(
        "effects-labels-int",
        lambda: mp.GenericEffect(yi=[0.1], vi=[0.01], labels=5),
        raises=MetapoolTypeError,
        names=("'labels'", "5"),
    ),
    Case(
        "effects-labels-set",
        _gen(labels={"a", "b", "c"}),
        raises=MetapoolTypeError,
        names=("'labels'", "a set has no order"),
    ),
    Case(
        "effects-label-none-raise",
        _gen(labels=["Alpha 2001", None, "Gamma 2005"]),
        raises=InvalidDataError,
        names=("study 2", "missing label", "labels=None"),
    ),
    Case(
        "effects-label-nan-omit",
        lambda: mp.GenericEffect(**_with(GEN, labels=["A", float("nan"), "C"]), nan_policy="omit"),
        warns=ExcludedStudyWarning,
        check=_check_excluded([1], "missing study label"),
    ),
    Case(
        "effects-labels-wrong-length",
        _gen(labels=["A", "B"]),
        raises=InvalidDataError,
        names=("'labels'", "2 entries", "3 studies"),
    ),
    Case(
        "effects-duplicate-labels-allowed",
        _gen(labels=["Smith 2001", "Smith 2001", "Jones 2004"]),
        check=_check_gen(GEN["yi"], GEN["vi"], ("Smith 2001", "Smith 2001", "Jones 2004")),
    ),
    Case(
        "effects-year-labels",
        _gen(labels=[2001, 2003, 2005]),
        check=_check_gen(GEN["yi"], GEN["vi"], ("2001", "2003", "2005")),
    ),
    # ----------------------------------------------------- containers and shapes
    Case(
        "effects-generic-set-values",
        _gen(yi={0.1, 0.3, -0.2}),
        raises=MetapoolTypeError,
        names=("'yi'", "a set has no order"),
    ),
    Case(
        "effects-md-frozenset",
        _md(n2=frozenset({20, 12, 15})),
        raises=MetapoolTypeError,
        names=("'n2'", "a frozenset has no order"),
    ),
    Case(
        "effects-rr-dict-values",
        _bin(mp.RiskRatio, events1={"a": 12, "b": 5, "c": 8}.values()),
        raises=MetapoolTypeError,
        names=("'events1'", "dict_values"),
    ),
    Case(
        "effects-generic-dict-values-arg",
        _gen(vi={"Alpha 2001": 0.01, "Beta 2003": 0.04, "Gamma 2005": 0.02}),
        raises=MetapoolTypeError,
        names=("'vi'", "a dict has no order"),
    ),
    Case(
        "effects-generic-generator",
        _gen(yi=(y for y in (0.1, 0.3, -0.2))),
        raises=MetapoolTypeError,
        names=("'yi'", "generator"),
    ),
    Case(
        "effects-generic-none-arg",
        lambda: mp.GenericEffect(yi=None, vi=[0.01]),
        raises=MetapoolTypeError,
        names=("'yi'", "None"),
    ),
    Case(
        "effects-generic-2d",
        _gen(yi=[[0.1, 0.3, -0.2], [0.1, 0.3, -0.2]]),
        raises=InvalidDataError,
        names=("'yi'", "(2, 3)"),
    ),
    Case(
        "effects-md-length-mismatch",
        _md(n2=[20, 12]),
        raises=InvalidDataError,
        names=("same length", "mean1=3", "n2=2"),
    ),
    Case(
        "effects-md-scalar-among-arrays",
        _md(n1=50),
        raises=InvalidDataError,
        names=("'n1'", "n1=50", "3 studies", "not recycled"),
    ),
    Case(
        "effects-generic-all-scalars",
        lambda: mp.GenericEffect(yi=0.2, vi=0.04),
        check=_check_one_study,
    ),
    Case(
        "effects-generic-empty",
        lambda: mp.GenericEffect(yi=[], vi=[]),
        raises=InvalidDataError,
        names=("k = 0",),
    ),
    # ------------------------------------------------------ data= and column names
    Case(
        "effects-data-list",
        lambda: mp.GenericEffect(yi="yi", vi="vi", data=[[0.1, 0.01]]),
        raises=MetapoolTypeError,
        names=("'data'", "list"),
    ),
    Case(
        "effects-column-name-without-data",
        _md(mean1="m1"),
        raises=MetapoolTypeError,
        names=("'mean1'", "'m1'", "no 'data'"),
    ),
    Case(
        "effects-dict-missing-column",
        lambda: mp.MeanDifference(
            mean1="m1",
            sd1="nope",
            n1="n1",
            mean2="m2",
            sd2="s2",
            n2="n2",
            data={"m1": [5.0], "s1": [2.0], "n1": [20], "m2": [6.0], "s2": [2.0], "n2": [20]},
        ),
        raises=InvalidDataError,
        names=("'sd1'", "'nope'", "'s1'"),
    ),
    Case(
        "effects-dict-int-keys",
        lambda: mp.GenericEffect(
            yi=1, vi=2, labels=0, data={0: ["A", "B"], 1: [0.1, 0.3], 2: [0.01, 0.04]}
        ),
        check=_check_gen([0.1, 0.3], [0.01, 0.04], ("A", "B")),
    ),
    Case(
        "effects-dict-int-key-missing",
        lambda: mp.GenericEffect(yi=1, vi=7, data={0: ["A"], 1: [0.1], 2: [0.01]}),
        raises=InvalidDataError,
        names=("'vi'", "column 7", "0, 1, 2"),
    ),
    Case(
        "effects-dict-scalar-is-a-column-name",
        lambda: mp.GenericEffect(yi=0, vi=1, data={"yi": [0.1], "vi": [0.01]}),
        raises=InvalidDataError,
        names=("'yi'", "column 0", "'yi', 'vi'"),
    ),
    Case(
        "effects-dict-bool-argument",
        lambda: mp.GenericEffect(yi=True, vi="vi", data={"yi": [0.1], "vi": [0.01]}),
        raises=MetapoolTypeError,
        names=("'yi'", "True", "boolean"),
    ),
    Case(
        "effects-structured-array",
        lambda: mp.GenericEffect(
            yi="y",
            vi="v",
            data=np.array([(0.1, 0.01), (0.3, 0.04)], dtype=[("y", "f8"), ("v", "f8")]),
        ),
        check=_check_gen([0.1, 0.3], [0.01, 0.04], ("Study 1", "Study 2")),
    ),
    # ---------------------------------------------------- spreadsheet-typed cells
    Case(
        "effects-rr-object-ints",
        lambda: mp.RiskRatio(
            events1=np.array([12, 5, 8], dtype=object),
            n1=np.array([100.0, 50.0, 60.0], dtype=object),
            events2=[20, 9, 10],
            n2=[100, 50, 60],
        ),
        check=_check_rr_rows,
    ),
    Case(
        "effects-md-integers-as-floats",
        _md(n1=[20.0, 10.0, 15.0], n2=[np.float32(20), np.int64(12), 15]),
        check=_check_md_rows([0, 1, 2]),
    ),
    Case(
        "effects-md-negative-zero",
        _md(mean1=(0, -0.0), mean2=(0, 0.0)),
        check=_check_negative_zero,
    ),
    Case(
        "effects-generic-decimal",
        _gen(yi=[Decimal("0.1"), Decimal("0.3"), Decimal("-0.2")]),
        check=_check_gen([0.1, 0.3, -0.2], GEN["vi"], tuple(LABELS)),
    ),
    # -------------------------------------------------------- ranges and overflow
    Case(
        "effects-generic-inf",
        _gen(yi=(1, float("inf"))),
        raises=InvalidDataError,
        names=("'yi'", S2, "yi=inf"),
    ),
    Case(
        "effects-md-negative-sd",
        _md(sd1=(1, -1.5)),
        raises=InvalidDataError,
        names=("'sd1'", S2, "sd1=-1.5"),
    ),
    Case(
        "effects-or-events-exceed-n",
        _bin(mp.OddsRatio, events1=(2, 61)),
        raises=InvalidDataError,
        names=("'events1'", S3, "events1=61"),
    ),
    Case(
        "effects-smd-sd-overflow",
        _smd(sd1=(1, 1e-200), sd2=(1, 1e-200)),
        raises=InvalidDataError,
        names=(S2, "sd1=1e-200", "sd2=1e-200", "yi=-inf"),
    ),
    Case(
        "effects-md-variance-underflow",
        _md(sd1=(1, 1e-170), sd2=(1, 1e-170)),
        raises=InvalidDataError,
        names=(S2, "sd1=1e-170", "vi=0.0", "underflows"),
    ),
    Case(
        "effects-md-mean-overflow",
        _md(mean1=(2, 1.5e308), mean2=(2, -1.5e308)),
        raises=InvalidDataError,
        names=(S3, "mean1=1.5e+308", "yi=inf"),
    ),
    Case(
        "effects-generic-subnormal-vi",
        _gen(vi=(0, 1e-320)),
        raises=InvalidDataError,
        names=(S1, "vi=1e-320", "1/vi overflows"),
    ),
    Case(
        "effects-generic-se-underflow",
        lambda: mp.GenericEffect(yi=[0.1, 0.2], se=[0.1, 1e-170], labels=LABELS[:2]),
        raises=InvalidDataError,
        names=(S2, "se=1e-170", "vi=0.0"),
    ),
    Case(
        "effects-generic-huge-int",
        _gen(yi=(0, 10**400)),
        raises=InvalidDataError,
        names=("'yi'", S1, "yi=inf"),
    ),
    # ------------------------------------------------------------------ settings
    Case(
        "effects-rr-continuity-text",
        _bin(mp.RiskRatio, continuity="abc"),
        raises=InvalidParameterError,
        names=("'continuity'", "RiskRatio", "'abc'"),
    ),
    Case(
        "effects-or-continuity-bool",
        _bin(mp.OddsRatio, continuity=True),
        raises=InvalidParameterError,
        names=("'continuity'", "True"),
    ),
    Case(
        "effects-rd-continuity-negative",
        _bin(mp.RiskDifference, continuity=-0.5),
        raises=InvalidParameterError,
        names=("'continuity'", "-0.5"),
    ),
    Case(
        "effects-rr-convention-int",
        _bin(mp.RiskRatio, convention=5),
        raises=InvalidParameterError,
        names=("'convention'", "5"),
    ),
    Case(
        "effects-or-continuity-to-empty",
        _bin(mp.OddsRatio, continuity_to=""),
        raises=InvalidParameterError,
        names=("'continuity_to'", "''"),
    ),
    Case(
        "effects-smd-correction-empty",
        _smd(correction=""),
        raises=InvalidParameterError,
        names=("'correction'", "''"),
    ),
    Case(
        "effects-md-nan-policy-drop",
        _md(nan_policy="drop"),
        raises=InvalidParameterError,
        names=("'nan_policy'", "'drop'"),
    ),
    Case(
        "effects-generic-log-scale-text",
        _gen(log_scale="no"),
        raises=InvalidParameterError,
        names=("'log_scale'", "'no'"),
    ),
    Case(
        "effects-generic-measure-int",
        _gen(measure=5),
        raises=InvalidParameterError,
        names=("'measure'", "5"),
    ),
    # -------------------------------------------------------------------- subset
    Case(
        "effects-subset-out-of-range",
        lambda: _effects3().subset([0, 3]),
        raises=InvalidDataError,
        names=("'studies'", "position 3", "k = 3"),
    ),
    Case(
        "effects-subset-negative",
        lambda: _effects3().subset([-1]),
        raises=InvalidDataError,
        names=("'studies'", "position -1", "k = 3"),
    ),
    Case(
        "effects-subset-short-mask",
        lambda: _effects3().subset([True, False]),
        raises=InvalidDataError,
        names=("'studies'", "length 2", "k = 3"),
    ),
    Case(
        "effects-subset-empty",
        lambda: _effects3().subset([]),
        raises=InvalidDataError,
        names=("no studies selected (k = 0)",),
    ),
    Case(
        "effects-subset-all-false",
        lambda: _effects3().subset(np.zeros(3, dtype=bool)),
        raises=InvalidDataError,
        names=("no studies selected (k = 0)",),
    ),
    Case(
        "effects-subset-float-positions",
        lambda: _effects3().subset([0.0, 1.0]),
        raises=MetapoolTypeError,
        names=("'studies'", "0.0"),
    ),
    Case(
        "effects-subset-labels",
        lambda: _effects3().subset(["Alpha 2001"]),
        raises=MetapoolTypeError,
        names=("'studies'", "'Alpha 2001'"),
    ),
    Case(
        "effects-subset-duplicate",
        lambda: _effects3().subset([1, 1]),
        raises=InvalidDataError,
        names=("'studies'", "position 1", "more than once"),
    ),
    Case(
        "effects-subset-scalar",
        lambda: _effects3().subset(2),
        raises=MetapoolTypeError,
        names=("'studies'", "[2]"),
    ),
    Case(
        "effects-subset-set",
        lambda: _effects3().subset({0, 2}),
        raises=MetapoolTypeError,
        names=("'studies'", "set"),
    ),
    Case(
        "effects-subset-reorders",
        lambda: _effects3().subset(np.array([2, 0])),
        check=_check_subset,
    ),
]


# ------------------------------------------------------------------------ pandas
def _pandas_cases() -> list[Case]:
    import pandas as pd

    csv = "Alpha 2001,0.1,0.01\nBeta 2003,0.3,0.04\nGamma 2005,-0.2,0.02\n"

    def headerless() -> Any:
        return pd.read_csv(io.StringIO(csv), header=None)

    def frame(**changes: Any) -> Any:
        df = pd.DataFrame({**CONT, "study": LABELS})
        for name, (pos, value) in changes.items():
            df[name] = df[name].astype(object)
            df.loc[pos, name] = value
        return df

    def md_df(df: Any, **kwargs: Any) -> Callable[[], Any]:
        cols = {k: k for k in CONT}
        return lambda: mp.MeanDifference(**cols, labels="study", data=df, **kwargs)

    def check_na_int(eff: Any) -> None:
        _check_gen([0.1, -0.2], [0.01, 0.02], ("Alpha 2001", "Gamma 2005"))(eff)
        assert [(e.index, e.reason) for e in eff.excluded] == [(1, "missing value in yi")]

    shuffled = pd.Series([0.01, 0.04, 0.02], index=[2, 0, 1])
    filtered = pd.DataFrame({**GEN, "x": [1, 0, 1]}).query("x == 1")

    return [
        Case(
            "effects-pandas-header-none-int-columns",
            lambda: mp.GenericEffect(yi=1, vi=2, labels=0, data=headerless()),
            check=_check_gen(GEN["yi"], GEN["vi"], tuple(LABELS)),
        ),
        Case(
            "effects-pandas-int-column-missing",
            lambda: mp.GenericEffect(yi=1, vi=5, data=headerless()),
            raises=InvalidDataError,
            names=("'vi'", "column 5", "0, 1, 2"),
        ),
        Case(
            "effects-pandas-int-column-is-text",
            lambda: mp.GenericEffect(yi=0, vi=2, data=headerless()),
            raises=MetapoolTypeError,
            names=("'yi'", "study 1 ('Study 1')", "'Alpha 2001'"),
        ),
        Case(
            "effects-pandas-data-is-series",
            lambda: mp.GenericEffect(yi="yi", vi="vi", data=pd.Series({"yi": 0.1, "vi": 0.01})),
            raises=MetapoolTypeError,
            names=("'data'", "Series"),
        ),
        Case(
            "effects-pandas-index-mismatch",
            lambda: mp.GenericEffect(yi=pd.Series(GEN["yi"]), vi=shuffled),
            raises=InvalidDataError,
            names=("'yi'", "'vi'", "row 1", "reset_index(drop=True)"),
        ),
        Case(
            "effects-pandas-labels-index-mismatch",
            lambda: mp.GenericEffect(
                yi="yi",
                vi="vi",
                labels=pd.Series(LABELS, index=[5, 6, 7]),
                data=pd.DataFrame(GEN),
            ),
            raises=InvalidDataError,
            names=("'yi'", "'labels'", "row 1", "index label is 0"),
        ),
        Case(
            "effects-pandas-filtered-frame",
            lambda: mp.GenericEffect(yi=filtered["yi"], vi=filtered["vi"]),
            check=_check_gen([0.1, -0.2], [0.01, 0.02], ("Study 1", "Study 2")),
        ),
        Case(
            "effects-pandas-nullable-int-omit",
            lambda: mp.GenericEffect(
                yi=pd.array([0.1, None, -0.2], dtype="Float64"),
                vi=pd.Series([0.01, 0.04, 0.02]),
                labels=LABELS,
                nan_policy="omit",
            ),
            warns=ExcludedStudyWarning,
            check=check_na_int,
        ),
        Case(
            "effects-pandas-int64-with-na-raise",
            lambda: mp.RiskRatio(
                events1=pd.Series([12, pd.NA, 8], dtype="Int64"),
                n1=pd.Series(BIN["n1"], dtype="Int64"),
                events2=pd.Series(BIN["events2"], dtype="Int64"),
                n2=pd.Series(BIN["n2"], dtype="Int64"),
                labels=pd.Series(LABELS),
            ),
            raises=InvalidDataError,
            names=("'events1'", S2, "missing value"),
        ),
        Case(
            "effects-pandas-int64-counts",
            lambda: mp.RiskRatio(**{k: pd.Series(v, dtype="Int64") for k, v in BIN.items()}),
            check=_check_rr_rows,
        ),
        Case(
            "effects-pandas-pd-na-object-raise",
            md_df(frame(sd2=(1, pd.NA))),
            raises=InvalidDataError,
            names=("'sd2'", S2, "sd2=<NA>"),
        ),
        Case(
            "effects-pandas-nat-omit",
            md_df(frame(mean1=(1, pd.NaT)), nan_policy="omit"),
            warns=ExcludedStudyWarning,
            check=_check_md_rows([0, 2]),
        ),
        Case(
            "effects-pandas-text-cell",
            md_df(frame(n1=(2, "15 patients"))),
            raises=MetapoolTypeError,
            names=("'n1'", S3, "'15 patients'"),
        ),
        Case(
            "effects-pandas-decimal-comma",
            lambda: mp.GenericEffect(
                yi="yi",
                vi="vi",
                labels="study",
                data=pd.read_csv(
                    io.StringIO("study;yi;vi\nAlpha 2001;0,1;0,01\nBeta 2003;0,3;0,04\n"), sep=";"
                ),
            ),
            raises=MetapoolTypeError,
            names=("'yi'", S1, "'0,1'"),
        ),
        Case(
            "effects-pandas-bool-column",
            lambda: mp.OddsRatio(
                events1="e1",
                n1="n1",
                events2="e2",
                n2="n2",
                labels="study",
                data=pd.DataFrame(
                    {
                        "e1": [True, False, True],
                        "n1": BIN["n1"],
                        "e2": BIN["events2"],
                        "n2": BIN["n2"],
                        "study": LABELS,
                    }
                ),
            ),
            raises=MetapoolTypeError,
            names=("'events1'", S1, "True"),
        ),
        Case(
            "effects-pandas-nullable-boolean",
            lambda: mp.GenericEffect(
                yi=pd.Series([pd.NA, True, False], dtype="boolean"), vi=GEN["vi"], labels=LABELS
            ),
            raises=MetapoolTypeError,
            names=("'yi'", S2, "True"),
        ),
        Case(
            "effects-pandas-category-text",
            lambda: mp.GenericEffect(
                yi=pd.Series(["0.1", "0.3", "-0.2"], dtype="category"),
                vi=GEN["vi"],
                labels=LABELS,
            ),
            raises=MetapoolTypeError,
            names=("'yi'", S1, "'0.1'"),
        ),
        Case(
            "effects-pandas-datetime-column",
            lambda: mp.GenericEffect(
                yi=pd.Series(pd.to_datetime([None, "2003-01-01", "2005-01-01"])),
                vi=GEN["vi"],
                labels=LABELS,
            ),
            raises=MetapoolTypeError,
            names=("'yi'", S2, "2003-01-01"),
        ),
        Case(
            "effects-pandas-label-nan-raise",
            lambda: mp.GenericEffect(
                yi="yi",
                vi="vi",
                labels="study",
                data=pd.DataFrame({**GEN, "study": ["Alpha 2001", None, "Gamma 2005"]}),
            ),
            raises=InvalidDataError,
            names=("study 2", "missing label"),
        ),
        Case(
            "effects-pandas-float-year-labels",
            lambda: mp.GenericEffect(
                yi="yi",
                vi="vi",
                labels="year",
                data=pd.DataFrame({**GEN, "year": [2001.0, 2003.0, 2005.0]}),
            ),
            check=_check_gen(GEN["yi"], GEN["vi"], ("2001.0", "2003.0", "2005.0")),
        ),
        Case(
            "effects-pandas-one-column-frame",
            lambda: mp.GenericEffect(yi=pd.DataFrame(GEN)[["yi"]], vi=GEN["vi"]),
            raises=InvalidDataError,
            names=("'yi'", "(3, 1)", "df['x']"),
        ),
        Case(
            "effects-pandas-object-spreadsheet",
            md_df(
                pd.DataFrame(
                    {**{k: pd.Series(v, dtype=object) for k, v in CONT.items()}, "study": LABELS}
                )
            ),
            check=_check_md_rows([0, 1, 2]),
        ),
        Case(
            "effects-pandas-subset-mask",
            lambda: _effects3().subset(pd.Series([True, False, True])),
            check=_check_gen([0.1, -0.2], [0.01, 0.02], ("Alpha 2001", "Gamma 2005")),
        ),
    ]


if importlib.util.find_spec("pandas") is not None:
    CASES.extend(_pandas_cases())
