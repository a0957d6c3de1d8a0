"""Effect-size sets: non-default options against metafor, conventions, and bad input."""

from __future__ import annotations

import copy
import inspect
import json
import math
import pickle
import warnings

import attrs
import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import (
    ExcludedStudyWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
    ZeroCellWarning,
)
from tests._reference import ESCALC_OPTIONS, load_reference

OPTIONS = load_reference(ESCALC_OPTIONS)
# Closed-form formulas evaluated by both programs in double precision (see test_models_metafor.py).
RTOL = 1e-10


def _build(case):
    opt, inp = case["option"], case["input"]
    if opt.startswith("MD pooled"):
        return mp.MeanDifference(**inp, variance="pooled")
    if opt.startswith("SMD unbiased"):
        return mp.SMD(**inp, variance="UB")
    cls = {"RR": mp.RiskRatio, "OR": mp.OddsRatio, "RD": mp.RiskDifference}[opt[:2]]
    if "continuity_to='all'" in opt:
        return cls(**inp, continuity_to="all")
    if "continuity=0.25" in opt:
        return cls(**inp, continuity=0.25)
    return cls(**inp, double_zero="drop")


@pytest.mark.parametrize("case", OPTIONS["cases"], ids=lambda c: c["option"])
def test_options_match_escalc(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        warnings.simplefilter("ignore", ExcludedStudyWarning)
        eff = _build(case)
    ref_y = np.array([np.nan if v is None else v for v in case["yi"]])
    ref_v = np.array([np.nan if v is None else v for v in case["vi"]])
    kept = ~np.isnan(ref_y)  # metafor marks dropped studies NA
    np.testing.assert_array_equal(eff.index, np.flatnonzero(kept))
    np.testing.assert_allclose(eff.yi, ref_y[kept], rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(eff.vi, ref_v[kept], rtol=RTOL, atol=1e-14)


def test_smd_revman_convention_formulas():
    """RevMan 5: g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g²/(2 (N - 3.94))."""
    m1, s1, n1, m2, s2, n2 = 10.0, 3.0, 12, 8.0, 4.0, 15
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    big_n = n1 + n2
    g = (m1 - m2) / sp * (1 - 3 / (4 * big_n - 9))
    var = big_n / (n1 * n2) + g**2 / (2 * (big_n - 3.94))
    smd = mp.SMD(mean1=[m1], sd1=[s1], n1=[n1], mean2=[m2], sd2=[s2], n2=[n2], convention="revman5")
    assert smd.correction == "approx"
    assert smd.variance == "revman"
    assert smd.yi[0] == pytest.approx(g, rel=1e-14)
    assert smd.vi[0] == pytest.approx(var, rel=1e-14)


def test_explicit_setting_beats_convention():
    smd = mp.SMD(
        mean1=[1.0],
        sd1=[1.0],
        n1=[10],
        mean2=[0.0],
        sd2=[1.0],
        n2=[10],
        convention="revman5",
        correction="exact",
    )
    assert (smd.correction, smd.variance) == ("exact", "revman")


def test_columns_from_mapping():
    data = {
        "m1": [5.0, 4.0],
        "s1": [2.0, 1.0],
        "k1": [20, 10],
        "m2": [6.0, 4.5],
        "s2": [2.0, 1.5],
        "k2": [20, 12],
        "study": ["A 2001", "B 2005"],
    }
    md = mp.MeanDifference(
        mean1="m1", sd1="s1", n1="k1", mean2="m2", sd2="s2", n2="k2", labels="study", data=data
    )
    direct = mp.MeanDifference(
        mean1=[5.0, 4.0], sd1=[2.0, 1.0], n1=[20, 10], mean2=[6.0, 4.5], sd2=[2.0, 1.5], n2=[20, 12]
    )
    assert md.labels == ("A 2001", "B 2005")
    np.testing.assert_array_equal(md.yi, direct.yi)
    np.testing.assert_array_equal(md.vi, direct.vi)
    assert direct.labels == ("Study 1", "Study 2")


def test_generic_se_and_vi_agree():
    a = mp.GenericEffect(yi=[0.1, 0.2], se=[0.1, 0.3])
    b = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.01, 0.09])
    np.testing.assert_allclose(a.vi, b.vi, rtol=1e-15)
    np.testing.assert_allclose(b.se, [0.1, 0.3], rtol=1e-15)
    assert a.k == 2 and len(a) == 2


def test_zero_cell_warning_names_studies_and_is_recorded():
    with pytest.warns(ZeroCellWarning, match=r"study 2 \('Zero trial'\)"):
        rr = mp.RiskRatio(
            events1=[5, 0],
            n1=[20, 20],
            events2=[3, 4],
            n2=[20, 20],
            labels=["Fine trial", "Zero trial"],
        )
    assert rr.corrected == (1,)  # 0-based positions
    # 0.5 added to all four cells of study 1 only
    assert rr.yi[1] == pytest.approx(math.log((0.5 / 21) / (4.5 / 21)))
    assert rr.yi[0] == pytest.approx(math.log(5 / 3))


def test_double_zero_drop_warns_and_records():
    with pytest.warns(ExcludedStudyWarning, match=r"study 3 \('C'\)"):
        or_ = mp.OddsRatio(
            events1=[5, 3, 0],
            n1=[20, 20, 15],
            events2=[3, 4, 0],
            n2=[20, 20, 15],
            labels=["A", "B", "C"],
            double_zero="drop",
        )
    assert or_.k == 2
    assert [e.index for e in or_.excluded] == [2]
    assert "double-zero" in or_.excluded[0].reason


def test_double_zero_kept_for_risk_difference():
    with pytest.warns(ZeroCellWarning):
        rd = mp.RiskDifference(
            events1=[5, 0], n1=[20, 15], events2=[3, 0], n2=[20, 15], double_zero="drop"
        )
    assert rd.k == 2 and rd.double_zero == "keep"
    assert rd.yi[1] == 0.0


def test_revman5_drops_double_zero_ratio_studies():
    with pytest.warns(ExcludedStudyWarning):
        rr = mp.RiskRatio(
            events1=[5, 0], n1=[20, 15], events2=[3, 0], n2=[20, 15], convention="revman5"
        )
    assert rr.k == 1


def test_nan_omit_drops_and_records():
    with pytest.warns(ExcludedStudyWarning, match=r"study 2 \('B'\).*missing value in sd1"):
        md = mp.MeanDifference(
            mean1=[1.0, 2.0, 3.0],
            sd1=[1.0, float("nan"), 1.0],
            n1=[10, 10, 10],
            mean2=[0.0, 0.0, 0.0],
            sd2=[1.0, 1.0, 1.0],
            n2=[10, 10, 10],
            labels=["A", "B", "C"],
            nan_policy="omit",
        )
    assert md.labels == ("A", "C")
    np.testing.assert_array_equal(md.index, [0, 2])
    res = mp.CommonEffect().fit(md)
    assert [e.label for e in res.excluded] == ["B"]


# ---------------------------------------------------------------------------- bad input
CONT = dict(
    mean1=[1.0, 2.0],
    sd1=[1.0, 1.0],
    n1=[10, 10],
    mean2=[0.0, 0.0],
    sd2=[1.0, 1.0],
    n2=[10, 10],
    labels=["Alpha 1999", "Beta 2004"],
)
BIN = dict(
    events1=[3, 4], n1=[10, 10], events2=[2, 5], n2=[10, 10], labels=["Alpha 1999", "Beta 2004"]
)


@pytest.mark.parametrize("cls", [mp.MeanDifference, mp.SMD])
@pytest.mark.parametrize(
    ("param", "value", "pattern"),
    [
        ("sd1", -1.5, r"'sd1' must be > 0; study 2 \('Beta 2004'\) has sd1=-1\.5"),
        ("sd2", 0.0, r"'sd2' must be > 0; study 2 \('Beta 2004'\) has sd2=0"),
        ("n1", 1, r"'n1' must be >= 2.*study 2 \('Beta 2004'\) has n1=1"),
        ("mean2", float("inf"), r"'mean2' must be finite; study 2 \('Beta 2004'\)"),
        ("mean1", float("nan"), r"study 2 \('Beta 2004'\) has a missing value in 'mean1'"),
    ],
)
def test_continuous_bad_values(cls, param, value, pattern):
    args = {k: list(v) for k, v in CONT.items()}
    args[param][1] = value
    with pytest.raises(InvalidDataError, match=pattern):
        cls(**args)


@pytest.mark.parametrize(
    ("param", "value", "pattern"),
    [
        ("events1", 11, r"'events1' must be <= n1.*study 2 \('Beta 2004'\) has events1=11"),
        ("events2", -1, r"'events2' must be >= 0; study 2 \('Beta 2004'\) has events2=-1"),
        ("n2", 0, r"'n2' must be >= 1; study 2 \('Beta 2004'\) has n2=0"),
    ],
)
@pytest.mark.parametrize("cls", [mp.RiskRatio, mp.OddsRatio, mp.RiskDifference])
def test_binary_bad_values(cls, param, value, pattern):
    args = {k: list(v) for k, v in BIN.items()}
    args[param][1] = value
    with pytest.raises(InvalidDataError, match=pattern):
        cls(**args)


def test_length_mismatch_names_lengths():
    with pytest.raises(InvalidDataError, match=r"same length.*mean1=2.*n2=3"):
        mp.MeanDifference(
            mean1=[1, 2], sd1=[1, 1], n1=[5, 5], mean2=[1, 2], sd2=[1, 1], n2=[5, 5, 5]
        )


def test_no_studies():
    with pytest.raises(InvalidDataError, match="k = 0"):
        mp.GenericEffect(yi=[], vi=[])


def test_generic_needs_exactly_one_spread():
    with pytest.raises(InvalidDataError, match="exactly one of 'vi' and 'se'"):
        mp.GenericEffect(yi=[1.0], vi=[1.0], se=[1.0])
    with pytest.raises(
        InvalidDataError, match=r"'vi' must be > 0.*study 1 \('Study 1'\) has vi=-0\.1"
    ):
        mp.GenericEffect(yi=[1.0], vi=[-0.1])


def test_column_name_without_data():
    with pytest.raises(MetapoolTypeError, match="column name 'm1' but no 'data'"):
        mp.MeanDifference(mean1="m1", sd1=[1], n1=[5], mean2=[1], sd2=[1], n2=[5])


def test_unknown_column():
    with pytest.raises(InvalidDataError, match="column 'nope' given for 'sd1' is not in 'data'"):
        mp.MeanDifference(
            mean1="m", sd1="nope", n1=[5], mean2=[1], sd2=[1], n2=[5], data={"m": [1]}
        )


def test_unknown_settings():
    with pytest.raises(InvalidParameterError, match=r"'nan_policy'.*Got 'drop'"):
        mp.GenericEffect(yi=[1.0], vi=[1.0], nan_policy="drop")
    with pytest.raises(InvalidParameterError, match=r"'continuity_to' parameter of RiskRatio"):
        mp.RiskRatio(**BIN, continuity_to="sometimes")
    with pytest.raises(InvalidParameterError, match="'convention'"):
        mp.SMD(**CONT, convention="stata")


def test_zero_cell_without_correction_raises():
    with pytest.raises(InvalidDataError, match=r"study 1 \('A'\) has a zero cell.*not estimable"):
        mp.OddsRatio(events1=[0], n1=[10], events2=[3], n2=[10], labels=["A"], continuity_to="none")


def test_effect_sets_are_frozen_value_objects():
    a = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.01, 0.02])
    b = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.01, 0.02])
    assert a == b
    with pytest.raises(AttributeError):
        a.yi = np.zeros(2)  # type: ignore[misc]
    d = a.to_dict()
    assert json.loads(json.dumps(d))["yi"] == [0.1, 0.2]


def test_warnings_point_at_the_callers_line():
    with pytest.warns(ExcludedStudyWarning) as record:
        mp.RiskRatio(events1=[0, 1], n1=[10, 10], events2=[0, 2], n2=[10, 10], double_zero="drop")
    assert record[0].filename == __file__
    with pytest.warns(ExcludedStudyWarning) as record:
        mp.SMD(
            mean1=[1.0, np.nan],
            sd1=[1, 1],
            n1=[5, 5],
            mean2=[1, 1],
            sd2=[1, 1],
            n2=[5, 5],
            nan_policy="omit",
        )
    assert record[0].filename == __file__


# ------------------------------------------------------- no silent wrong answers
GEN3 = dict(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.04, 0.02], labels=["Alpha", "Beta", "Gamma"])


def test_every_message_numbers_studies_from_one():
    with pytest.raises(InvalidDataError, match=r"study 3 \('Gamma'\) has a missing value in 'yi'"):
        mp.GenericEffect(**{**GEN3, "yi": [0.1, 0.3, None]})
    with pytest.warns(ExcludedStudyWarning, match=r"study 3 \('Gamma'\): missing value in yi"):
        eff = mp.GenericEffect(**{**GEN3, "yi": [0.1, 0.3, None]}, nan_policy="omit")
    assert eff.excluded[0].index == 2  # ExcludedStudy.index stays a 0-based position
    with pytest.raises(InvalidDataError, match=r"'yi' must be finite; study 2 \('Beta'\)"):
        mp.GenericEffect(**{**GEN3, "yi": [0.1, math.inf, 0.2]})
    with pytest.warns(ZeroCellWarning, match=r"study 1 \('A'\)\.$"):
        mp.RiskRatio(events1=[0, 2], n1=[10, 10], events2=[1, 3], n2=[10, 10], labels=["A", "B"])


def test_integer_column_names_are_looked_up_not_used_as_values():
    data = {0: ["A", "B"], 1: [0.1, 0.3], 2: [0.01, 0.04]}
    eff = mp.GenericEffect(yi=1, vi=2, labels=0, data=data)
    assert eff.labels == ("A", "B")
    np.testing.assert_array_equal(eff.yi, [0.1, 0.3])
    # before: yi=0 was taken as the value 0 for one study
    with pytest.raises(MetapoolTypeError, match=r"'yi' must hold numbers; study 1 .* yi='A'"):
        mp.GenericEffect(yi=0, vi=2, data=data)
    with pytest.raises(
        InvalidDataError, match=r"column 9 given for 'vi' is not in 'data'.*0, 1, 2"
    ):
        mp.GenericEffect(yi=1, vi=9, data=data)


def test_integer_column_names_from_a_headerless_csv():
    pd = pytest.importorskip("pandas")
    import io

    df = pd.read_csv(io.StringIO("A,0.1,0.01\nB,0.3,0.04\n"), header=None)
    eff = mp.GenericEffect(yi=1, vi=2, labels=0, data=df)
    assert eff.labels == ("A", "B")
    np.testing.assert_array_equal(eff.vi, [0.01, 0.04])


def test_data_must_be_a_table_and_missing_columns_are_listed():
    with pytest.raises(MetapoolTypeError, match=r"'data' parameter of GenericEffect.*Got a list"):
        mp.GenericEffect(yi="yi", vi="vi", data=[[0.1, 0.01]])
    with pytest.raises(InvalidDataError, match=r"Available columns: 'yi', 'v'\."):
        mp.GenericEffect(yi="yi", vi="vi", data={"yi": [0.1], "v": [0.01]})


def test_series_with_different_indexes_are_not_paired_by_position():
    pd = pytest.importorskip("pandas")
    yi = pd.Series([0.1, 0.3, -0.2])
    vi = pd.Series([0.01, 0.04, 0.02], index=[2, 0, 1])
    with pytest.raises(InvalidDataError, match=r"'yi' and 'vi'.*row 1.*reset_index\(drop=True\)"):
        mp.GenericEffect(yi=yi, vi=vi)
    labels = pd.Series(["a", "b", "c"], index=[0, 1, 3])
    with pytest.raises(InvalidDataError, match=r"'yi' and 'labels'.*row 3.*2 in 'yi' but 3"):
        mp.GenericEffect(yi=yi, vi=vi.sort_index(), labels=labels)
    # equal indexes (e.g. columns of one filtered DataFrame) are fine
    df = pd.DataFrame({"yi": [0.1, 0.3, -0.2], "vi": [0.01, 0.04, 0.02]}).iloc[[0, 2]]
    eff = mp.GenericEffect(yi=df["yi"], vi=df["vi"])
    np.testing.assert_array_equal(eff.yi, [0.1, -0.2])


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "yi=True"),
        ("20 ", "yi='20 '"),
        ("1e3", "yi='1e3'"),
        (b"2", "yi=b'2'"),
        (1 + 1j, r"yi=\(1\+1j\)"),
        ([0.2], r"yi=\[0\.2\]"),
    ],
)
def test_booleans_text_and_objects_are_not_numbers(value, shown):
    with pytest.raises(
        MetapoolTypeError, match=rf"'yi' must hold numbers; study 2 \('Beta'\) has {shown}"
    ):
        mp.GenericEffect(**{**GEN3, "yi": [0.1, value, -0.2]})


def test_a_boolean_array_is_refused_showing_one_cell():
    with pytest.raises(MetapoolTypeError, match=r"study 1 \('Study 1'\) has n1=True \(a boolean"):
        mp.RiskRatio(events1=[1, 2], n1=np.array([True, True]), events2=[1, 1], n2=[10, 10])


def test_missing_values_of_every_kind_are_omitted_or_named():
    pd = pytest.importorskip("pandas")
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        yi = np.array([0.1, missing, -0.2], dtype=object)
        with pytest.warns(ExcludedStudyWarning, match=r"study 2 \('Beta'\)"):
            eff = mp.GenericEffect(**{**GEN3, "yi": yi}, nan_policy="omit")
        assert [e.index for e in eff.excluded] == [1]
        np.testing.assert_array_equal(eff.yi, [0.1, -0.2])
        with pytest.raises(InvalidDataError, match=r"study 2 \('Beta'\) .*missing value in 'yi'"):
            mp.GenericEffect(**{**GEN3, "yi": yi})


def test_pandas_nullable_and_object_columns_work():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "e1": pd.Series([12, 5], dtype="Int64"),
            "n1": pd.Series([100, 50], dtype=object),
            "e2": pd.Series([20.0, 9.0], dtype="Float64"),
            "n2": [100, 50],
        }
    )
    rr = mp.RiskRatio(events1="e1", n1="n1", events2="e2", n2="n2", data=df)
    np.testing.assert_allclose(rr.yi, [math.log(0.12 / 0.20), math.log(0.10 / 0.18)], rtol=1e-14)


@pytest.mark.parametrize(
    "container", [{0.1, 0.3, -0.2}, frozenset({0.1, 0.3, -0.2}), {"a": 0.1, "b": 0.3, "c": -0.2}]
)
def test_unordered_containers_are_refused(container):
    with pytest.raises(MetapoolTypeError, match=r"'yi' was given a \w+, but a \w+ has no order"):
        mp.GenericEffect(**{**GEN3, "yi": container})
    with pytest.raises(MetapoolTypeError, match=r"'labels' was given"):
        mp.GenericEffect(**{**GEN3, "labels": container})
    with pytest.raises(MetapoolTypeError, match=r"'vi' was given a dict_values"):
        mp.GenericEffect(**{**GEN3, "vi": {"a": 0.01, "b": 0.04, "c": 0.02}.values()})


def test_labels_must_be_a_sequence_and_missing_labels_are_missing():
    with pytest.raises(MetapoolTypeError, match=r"'labels' must be a sequence.*Got 5"):
        mp.GenericEffect(yi=[0.1], vi=[0.01], labels=5)
    with pytest.raises(InvalidDataError, match=r"study 2 has a missing label \(labels=None\)"):
        mp.GenericEffect(**{**GEN3, "labels": ["Alpha", None, "Gamma"]})
    with pytest.warns(ExcludedStudyWarning, match=r"study 2: missing study label"):
        eff = mp.GenericEffect(
            **{**GEN3, "labels": ["Alpha", math.nan, "Gamma"]}, nan_policy="omit"
        )
    assert eff.labels == ("Alpha", "Gamma")
    assert (eff.excluded[0].index, eff.excluded[0].label) == (1, "")
    assert eff.excluded[0].reason == "missing study label"
    # numbers are fine as labels, converted with str(); duplicates are allowed
    eff = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.01, 0.01], labels=[2001, 2001])
    assert eff.labels == ("2001", "2001")


@pytest.mark.parametrize(
    ("studies", "error", "pattern"),
    [
        ([0, 3], InvalidDataError, r"position 3 in 'studies' is out of range.*k = 3"),
        ([-1], InvalidDataError, r"position -1 in 'studies' is out of range"),
        ([True, False], InvalidDataError, r"boolean mask of length 2.*k = 3"),
        ([], InvalidDataError, r"no studies selected \(k = 0\)"),
        ([False, False, False], InvalidDataError, r"no studies selected \(k = 0\)"),
        ([1, 1], InvalidDataError, r"position 1 appears more than once"),
        ([0.0, 1.0], MetapoolTypeError, r"integer positions or booleans; got 0\.0"),
        (["Alpha"], MetapoolTypeError, r"got 'Alpha'"),
        ([True, 1], MetapoolTypeError, r"mixes booleans and positions"),
        (1, MetapoolTypeError, r"e\.g\. \[1\]"),
        ({0, 1}, MetapoolTypeError, r"has no order"),
        ([[0, 1]], InvalidDataError, r"one-dimensional"),
    ],
)
def test_subset_refuses_bad_selections(studies, error, pattern):
    eff = mp.GenericEffect(**GEN3)
    with pytest.raises(error, match=pattern):
        eff.subset(studies)


def test_subset_keeps_order_and_allows_empty_only_when_asked():
    eff = mp.GenericEffect(**GEN3)
    sub = eff.subset(np.array([2, 0], dtype=np.uint8))
    assert sub.labels == ("Gamma", "Alpha")
    np.testing.assert_array_equal(sub.index, [2, 0])
    assert eff.subset([False, True, False]).labels == ("Beta",)
    assert eff.subset([], allow_empty=True).k == 0


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (
            lambda: mp.SMD(**{**CONT, "sd1": [1.0, 1e-200], "sd2": [1.0, 1e-200]}),
            r"SMD: study 2 \('Beta 2004'\) has mean1=2, sd1=1e-200, .*sd2=1e-200.*overflows "
            r"\(yi=inf\)",
        ),
        (
            lambda: mp.MeanDifference(**{**CONT, "sd1": [1.0, 1e-170], "sd2": [1.0, 1e-170]}),
            r"study 2 \('Beta 2004'\) has .*sd1=1e-170.*underflows to zero \(vi=0\.0\)",
        ),
        (
            lambda: mp.GenericEffect(yi=[0.1], vi=[1e-320]),
            r"study 1 \('Study 1'\) has yi=0\.1, vi=1e-320: .*1/vi overflows",
        ),
        (
            lambda: mp.GenericEffect(yi=[0.1], se=[1e200]),
            r"se=1e\+200: the variance overflows \(vi=inf\)",
        ),
    ],
)
def test_overflow_and_underflow_are_refused(build, pattern):
    with pytest.raises(InvalidDataError, match=pattern):
        build()


def test_smallest_safe_variance_is_accepted():
    eff = mp.GenericEffect(yi=[0.1], vi=[1e-300])
    assert eff.vi[0] == 1e-300


def test_a_single_value_is_not_recycled():
    with pytest.raises(InvalidDataError, match=r"'n1' is a single value \(n1=50\).*2 studies"):
        mp.MeanDifference(**{**CONT, "n1": 50})
    one = mp.MeanDifference(mean1=5.0, sd1=2.0, n1=20, mean2=6.0, sd2=2.0, n2=20)
    assert one.k == 1 and one.vi[0] == pytest.approx(0.4, rel=1e-15)


def test_settings_are_checked_not_coerced():
    with pytest.raises(InvalidParameterError, match=r"'continuity' parameter of RiskRatio.*'abc'"):
        mp.RiskRatio(**BIN, continuity="abc")
    with pytest.raises(InvalidParameterError, match=r"'continuity'.*Got True"):
        mp.OddsRatio(**BIN, continuity=True)
    with pytest.raises(InvalidParameterError, match=r"'continuity_to'.*Got ''"):
        mp.OddsRatio(**BIN, continuity_to="")
    with pytest.raises(InvalidParameterError, match=r"'correction'.*Got ''"):
        mp.SMD(**CONT, correction="")
    with pytest.raises(InvalidParameterError, match=r"'convention'.*Got 5"):
        mp.RiskRatio(**BIN, convention=5)
    with pytest.raises(InvalidParameterError, match=r"'log_scale'.*Got 'no'"):
        mp.GenericEffect(yi=[0.1], vi=[0.01], log_scale="no")
    with pytest.raises(InvalidParameterError, match=r"'measure'.*Got 5"):
        mp.GenericEffect(yi=[0.1], vi=[0.01], measure=5)


def test_two_dimensional_and_iterator_inputs_are_refused():
    with pytest.raises(InvalidDataError, match=r"'yi' must be one-dimensional.*\(1, 2\)"):
        mp.GenericEffect(yi=[[0.1, 0.2]], vi=[0.01, 0.02])
    with pytest.raises(MetapoolTypeError, match=r"'yi' was given an iterator \(generator\)"):
        mp.GenericEffect(yi=(y for y in [0.1]), vi=[0.01])


def test_negative_zero_and_masked_entries():
    md = mp.MeanDifference(**{**CONT, "mean1": [-0.0, 2.0], "mean2": [0.0, 0.0]})
    assert md.yi[0] == 0.0 and not np.signbit(md.yi[0])
    with pytest.warns(ExcludedStudyWarning, match=r"study 1 \('Alpha'\)"):
        eff = mp.GenericEffect(
            **{**GEN3, "vi": np.ma.array([0.01, 0.04, 0.02], mask=[True, False, False])},
            nan_policy="omit",
        )
    assert eff.labels == ("Beta", "Gamma")


# ------------------------------------------------ stored init and named constructors
_COUNTS = {"events1": [12, 0, 7], "n1": [100, 50, 40], "events2": [20, 9, 7], "n2": [100, 50, 40]}
_MEANS = {
    "mean1": [5.0, 4.0, 6.1],
    "sd1": [2.0, 1.0, 1.5],
    "n1": [20, 10, 30],
    "mean2": [6.0, 4.5, 6.0],
    "sd2": [2.0, 1.5, 1.2],
    "n2": [20, 12, 28],
}
_LABELS = ["A", "B", "C"]
# (class, named constructor, public arguments): every built-in effect set
_BUILT_INS = [
    (mp.RiskRatio, "from_counts", {**_COUNTS, "labels": _LABELS}),
    (mp.OddsRatio, "from_counts", {**_COUNTS, "labels": _LABELS, "continuity_to": "all"}),
    (mp.RiskDifference, "from_counts", {**_COUNTS, "labels": _LABELS}),
    (mp.MeanDifference, "from_means", {**_MEANS, "labels": _LABELS, "variance": "pooled"}),
    (mp.SMD, "from_means", {**_MEANS, "labels": _LABELS, "correction": "approx"}),
    (
        mp.GenericEffect,
        "from_values",
        {"yi": [0.1, 0.3, -0.2], "se": [0.1, 0.2, 0.15], "labels": _LABELS, "measure": "HR"},
    ),
]
_IDS = [cls.__name__ for cls, _, _ in _BUILT_INS]


def _fields_equal(a: mp.EffectSet, b: mp.EffectSet, skip: tuple[str, ...] = ()) -> None:
    assert type(a) is type(b)
    for field in attrs.fields(type(a)):
        if field.name in skip:
            continue
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), field.name
        else:
            assert x == y, field.name


@pytest.mark.filterwarnings("ignore::metapool.exceptions.ZeroCellWarning")
@pytest.mark.parametrize(("cls", "named", "kwargs"), _BUILT_INS, ids=_IDS)
def test_the_public_call_is_the_named_constructor(cls, named, kwargs):
    public = cls(**kwargs)
    _fields_equal(public, getattr(cls, named)(**kwargs))
    assert cls._public_constructor == named
    assert isinstance(public, cls) and isinstance(public, mp.EffectSet)
    # help(), inspect and Sphinx show the public arguments, not the stored fields
    assert inspect.signature(cls) == inspect.signature(getattr(cls, named)).replace(
        return_annotation=inspect.Signature.empty
    )
    assert "index" not in inspect.signature(cls).parameters


def test_the_signature_shows_the_public_arguments():
    params = inspect.signature(mp.RiskRatio).parameters
    assert list(params)[:4] == ["events1", "n1", "events2", "n2"]
    assert "yi" in inspect.signature(mp.GenericEffect).parameters
    assert "index" in inspect.signature(mp.EffectSet).parameters  # no public constructor


@pytest.mark.filterwarnings("ignore::metapool.exceptions.ZeroCellWarning")
@pytest.mark.parametrize(("cls", "named", "kwargs"), _BUILT_INS, ids=_IDS)
def test_evolve_subset_and_pickle_only_store(cls, named, kwargs):
    eff = cls(**kwargs)
    renamed = attrs.evolve(eff, labels=["x", "y", "z"])
    assert renamed.labels == ("x", "y", "z")
    _fields_equal(renamed, eff, skip=("labels",))

    pos = [2, 0]
    sliced = {
        f.name: getattr(eff, f.name)[pos]
        for f in attrs.fields(cls)
        if isinstance(getattr(eff, f.name), np.ndarray)
    }
    expected = attrs.evolve(eff, labels=[eff.labels[i] for i in pos], **sliced)
    _fields_equal(eff.subset(pos), expected)
    assert eff.subset(pos) == expected

    assert pickle.loads(pickle.dumps(eff)) == eff
    assert copy.deepcopy(eff) == eff


@pytest.mark.filterwarnings("ignore::metapool.exceptions.ZeroCellWarning")
def test_stored_init_converts_and_refuses_unequal_lengths():
    eff = mp.GenericEffect(yi=[0.1, 0.2], vi=[1, 2], labels=["a", "b"], index=[0, 1])
    assert eff.vi.dtype == np.float64 and eff.index.dtype == np.intp
    assert eff.labels == ("a", "b") and eff.excluded == ()
    with pytest.raises(InvalidDataError, match=r"GenericEffect: 'vi' must have one entry per"):
        mp.GenericEffect(yi=[0.1, 0.2], vi=[1.0], labels=["a", "b"], index=[0, 1])
    with pytest.raises(InvalidDataError, match=r"'labels' must have .* got shape \(3,\)"):
        mp.GenericEffect(yi=[0.1, 0.2], vi=[1, 2], labels=["a", "b", "c"], index=[0, 1])
    rr = mp.RiskRatio(**_COUNTS)
    with pytest.raises(InvalidDataError, match=r"RiskRatio: 'events1' must have"):
        attrs.evolve(rr, events1=[1, 2])
    with pytest.raises(InvalidDataError, match=r"'yi' must have a 1-d array"):
        attrs.evolve(rr, yi=np.zeros((3, 1)))


def test_subclasses_of_effect_sets_store_their_own_fields():
    @attrs.frozen(kw_only=True)
    class NotedRiskRatio(mp.RiskRatio):
        note: str = "none"

    counts = {"events1": [1, 2], "n1": [10, 10], "events2": [2, 3], "n2": [10, 10]}
    noted = NotedRiskRatio(**counts)
    _fields_equal(attrs.evolve(noted, note="x"), NotedRiskRatio.from_counts(**counts), ("note",))
    assert attrs.evolve(noted, note="x").subset([1]).note == "x"

    @attrs.frozen(kw_only=True)
    class Weighted(mp.EffectSet):
        w: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))

    weighted = Weighted(
        yi=[0.1, 0.2], vi=[1, 1], labels=["a", "b"], index=[0, 1], w=np.array([5, 6])
    )
    assert weighted.subset([1]).w.tolist() == [6] and weighted.subset([1]).labels == ("b",)
