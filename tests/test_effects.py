"""Effect-size sets: non-default options against metafor, conventions, and bad input."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

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

OPTIONS = json.loads((Path(__file__).parent / "reference" / "escalc_options.json").read_text())
# Closed-form formulas evaluated by both programs in double precision (see test_reference.py).
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
    with pytest.warns(ZeroCellWarning, match=r"study 1 \('Zero trial'\)"):
        rr = mp.RiskRatio(
            events1=[5, 0],
            n1=[20, 20],
            events2=[3, 4],
            n2=[20, 20],
            labels=["Fine trial", "Zero trial"],
        )
    assert rr.corrected == (1,)
    # 0.5 added to all four cells of study 1 only
    assert rr.yi[1] == pytest.approx(math.log((0.5 / 21) / (4.5 / 21)))
    assert rr.yi[0] == pytest.approx(math.log(5 / 3))


def test_double_zero_drop_warns_and_records():
    with pytest.warns(ExcludedStudyWarning, match=r"study 2 \('C'\)"):
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
    with pytest.warns(ExcludedStudyWarning, match=r"study 1 \('B'\).*missing value in sd1"):
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
        ("sd1", -1.5, r"'sd1' must be > 0; study 1 \('Beta 2004'\) has sd1=-1\.5"),
        ("sd2", 0.0, r"'sd2' must be > 0; study 1 \('Beta 2004'\) has sd2=0"),
        ("n1", 1, r"'n1' must be >= 2.*study 1 \('Beta 2004'\) has n1=1"),
        ("mean2", float("inf"), r"'mean2' must be finite; study 1 \('Beta 2004'\)"),
        ("mean1", float("nan"), r"study 1 \('Beta 2004'\) has a missing value \(NaN\) in 'mean1'"),
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
        ("events1", 11, r"'events1' must be <= n1.*study 1 \('Beta 2004'\) has events1=11"),
        ("events2", -1, r"'events2' must be >= 0; study 1 \('Beta 2004'\) has events2=-1"),
        ("n2", 0, r"'n2' must be >= 1; study 1 \('Beta 2004'\) has n2=0"),
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
        InvalidDataError, match=r"'vi' must be > 0.*study 0 \('Study 1'\) has vi=-0\.1"
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
    with pytest.raises(InvalidDataError, match=r"study 0 \('A'\) has a zero cell.*not estimable"):
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
