"""Subgroup analysis against metafor 3.8-1 (RevMan/meta's test for subgroup differences).

Reference: the ``subgroups`` part of ``tests/reference/regression_sensitivity_subgroups.json``
(``tests/reference/make_regression_sensitivity_subgroups.R``) for dat.bcg by alloc (log RR;
random 7, alternate 2, systematic 4) and dat.raudenbush1985 by weeks of prior
contact banded as 0, 1, 2, 3, >3 (the "3" subgroup has one study):

* each subgroup: ``rma(yi, vi, method = M, test = T, subset = g == level)``;
  overall: the same on all studies; Mantel-Haenszel (RR) and Peto subgroups for
  dat.bcg with ``rma.mh`` / ``rma.peto``;
* the test for subgroup differences as RevMan and meta compute it:
  ``rma(est, sei = se, method = "FE")`` over the subgroup estimates, whose QE is
  Q_between (df = G - 1, p, and I² = 100 (Q - df)/Q);
* a common τ²: ``rma(yi, vi, mods = ~ factor(g), method = M)`` gives τ²; each
  subgroup is ``rma(yi, vi, tau2 = <that τ²>, test = T, subset = ...)``; with Wald
  z, the QM of the mods model equals Q_between (the model is saturated in the
  subgroup means, so its Wald test of the contrasts is the Q of the means).

Tolerances as in tests/test_models_metafor.py: ``RTOL_CLOSED = 1e-10`` for closed
forms (DL, EE, fixed τ², MH, Peto) and ``RTOL_ITERATIVE = 1e-9`` for REML and PM
(metafor run with stop rules at 1e-13 × var(yi)); I² (percent) has a floor of
``100 * rtol``. Q_between is a weighted sum of squared differences of subgroup
estimates that agree to rtol, so it gets the same rtol (measured: < 1e-11).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from tests._reference import (
    ITERATIVE,
    REGRESSION_SENSITIVITY_SUBGROUPS,
    TEST_TO_CI,
    is_missing,
    load_reference,
)
from tests._strategies import IV_MODELS
from tests._strategies import meta_data as shared_meta_data

RTOL_CLOSED = 1e-10
RTOL_ITERATIVE = 1e-9
ATOL = 1e-13
FIELDS = ("estimate", "se", "statistic", "pvalue", "tau2", "i2", "h2", "q", "q_pvalue")
#: Compared for subgroups with one study in test_single_study_heterogeneity_as_metafor.
K1_HETEROGENEITY = ("q_pvalue", "i2", "h2")


def reference() -> dict[str, Any]:
    return load_reference(REGRESSION_SENSITIVITY_SUBGROUPS)


def _dataset(name: str) -> dict[str, Any]:
    return next(d for d in reference()["subgroups"] if d["name"] == name)


def _model(a: dict[str, Any]) -> Any:
    if a["kind"] == "rma.mh":
        return mp.MantelHaenszel()
    if a["kind"] == "rma.peto":
        return mp.Peto()
    if a["method"] == "EE":
        return mp.CommonEffect()
    return mp.RandomEffects(tau2=a["method"], ci=TEST_TO_CI[a["test"]])


def _effects(ds: dict[str, Any], a: dict[str, Any]) -> mp.EffectSet:
    if a["kind"] == "rma.mh":
        return mp.RiskRatio(**ds["input"], labels=ds["labels"])
    if a["kind"] == "rma.peto":
        return mp.OddsRatio(**ds["input"], labels=ds["labels"])
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])


def _analyse(ds_name: str, a: dict[str, Any]) -> mp.SubgroupResult:
    ds = _dataset(ds_name)
    with warnings.catch_warnings():
        # knha on the one-study subgroup falls back to z, with a warning (metafor too).
        warnings.simplefilter("ignore", mp.exceptions.SmallSampleWarning)
        return mp.subgroup_analysis(
            _effects(ds, a), ds["groups"], _model(a), common_tau2=a["common_tau2"]
        )


def _rtol(a: dict[str, Any]) -> float:
    return RTOL_ITERATIVE if a["method"] in ITERATIVE else RTOL_CLOSED


def _close(got: float, ref: Any, rtol: float, atol: float = ATOL) -> bool:
    if is_missing(ref):
        return math.isnan(got)
    return abs(got - ref) <= atol + rtol * abs(ref)


def _fit_failures(res: mp.MetaResult, ref: dict[str, Any], rtol: float) -> list[str]:
    failures = []
    for name in FIELDS:
        if res.k == 1 and name in K1_HETEROGENEITY:
            continue
        got = getattr(res, name)
        if not _close(got, ref[name], rtol, 100 * rtol if name == "i2" else ATOL):
            failures.append(f"{name}: metapool {got!r} vs metafor {ref[name]!r}")
    for name, got in (("ci_low", res.ci.low), ("ci_high", res.ci.high)):
        if not _close(got, ref[name], rtol):
            failures.append(f"{name}: metapool {got!r} vs metafor {ref[name]!r}")
    if res.k != ref["k"]:
        failures.append(f"k: {res.k} vs {ref['k']}")
    return failures


def _id(ds: dict[str, Any], a: dict[str, Any]) -> str:
    tau = "common" if a["common_tau2"] else "separate"
    return f"{ds['name']}-{a['kind']}-{a['method']}-{a['test']}-{tau}"


#: A subgroup with one study (under a common τ² it is pooled with that τ², as metafor).
SINGLE_STUDY = {("raudenbush1985_weeks", "3")}


def _group_cases() -> list[Any]:
    cases = []
    for ds in reference()["subgroups"]:
        for a in ds["analyses"]:
            for group in a["groups"]:
                cases.append(pytest.param(ds["name"], a, group, id=f"{_id(ds, a)}-{group}"))
    return cases


def _analysis_cases(common_only: bool = False) -> list[Any]:
    cases = []
    for ds in reference()["subgroups"]:
        for a in ds["analyses"]:
            if common_only and not a["common_tau2"]:
                continue
            cases.append(pytest.param(ds["name"], a, id=_id(ds, a)))
    return cases


# ------------------------------------------------------------------ reference tests


def test_reference_covers_a_single_study_subgroup() -> None:
    ds = _dataset("raudenbush1985_weeks")
    assert ds["groups"].count("3") == 1
    assert all(a["groups"]["3"]["k"] == 1 for a in ds["analyses"])


@pytest.mark.parametrize(("ds_name", "a", "group"), _group_cases())
def test_subgroup_fit_matches_rma_subset(ds_name: str, a: dict[str, Any], group: str) -> None:
    sg = _analyse(ds_name, a)
    assert list(sg.groups) == list(a["groups"])  # order of first appearance
    failures = _fit_failures(sg.results[group], a["groups"][group], _rtol(a))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("ds_name", "a"), _analysis_cases())
def test_overall_fit_matches_rma(ds_name: str, a: dict[str, Any]) -> None:
    sg = _analyse(ds_name, a)
    failures = _fit_failures(sg.overall, a["overall"], _rtol(a))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("ds_name", "a"), _analysis_cases())
def test_subgroup_differences_match_fixed_effect_q(ds_name: str, a: dict[str, Any]) -> None:
    sg = _analyse(ds_name, a)
    ref = a["between"]
    rtol = _rtol(a)
    assert sg.test.df == ref["df"]
    failures = [
        f"{name}: metapool {got!r} vs metafor {ref[name]!r}"
        for name, got in (
            ("statistic", sg.test.statistic),
            ("pvalue", sg.test.pvalue),
            ("i2", sg.test.i2),
        )
        if not _close(got, ref[name], rtol, 100 * rtol if name == "i2" else ATOL)
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("ds_name", "a"), _analysis_cases(common_only=True))
def test_common_tau2_matches_mixed_effects_model(ds_name: str, a: dict[str, Any]) -> None:
    sg = _analyse(ds_name, a)
    assert sg.common_tau2
    assert sg.tau2 is not None
    assert _close(sg.tau2, a["tau2"], _rtol(a)), (sg.tau2, a["tau2"])


@pytest.mark.parametrize(
    ("ds_name", "a"),
    [c for c in _analysis_cases(common_only=True) if c.values[1]["test"] == "z"],
)
def test_q_between_equals_qm_with_common_tau2(ds_name: str, a: dict[str, Any]) -> None:
    sg = _analyse(ds_name, a)
    qm = a["qm"]
    # metafor's own identity first (to ~1e-15), then metapool against it.
    assert _close(a["between"]["statistic"], qm["statistic"], 1e-12)
    assert sg.test.df == qm["df"]
    assert _close(sg.test.statistic, qm["statistic"], _rtol(a)), (sg.test.statistic, qm)
    assert _close(sg.test.pvalue, qm["pvalue"], _rtol(a))


@pytest.mark.parametrize(
    ("ds_name", "a"), _analysis_cases()[-8:]
)  # the eight raudenbush1985_weeks analyses
def test_single_study_heterogeneity_is_not_estimable(ds_name: str, a: dict[str, Any]) -> None:
    """A deliberate difference (docs/choices.rst): with one study metafor prints
    Q = 0, p = 1, I² = 0 and H² = 1; metapool reports Q = 0 with df = 0 and the
    p-value, I² and H² as not estimable (NaN), as the issue asks."""
    assert ds_name == "raudenbush1985_weeks"
    single = _analyse(ds_name, a).results["3"]
    ref = a["groups"]["3"]
    assert (ref["q"], ref["q_pvalue"], ref["i2"], ref["h2"]) == (0, 1, 0, 1)
    assert single.q == 0.0 and single.q_df == 0
    assert np.isnan(single.q_pvalue) and np.isnan(single.i2) and np.isnan(single.h2)


def test_single_study_subgroup_keeps_the_common_tau2() -> None:
    """A one-study subgroup is pooled with the common τ² (metafor:
    ``rma(0.4, 0.04, tau2 = τ²)`` has se = sqrt(0.04 + τ²))."""
    eff = mp.GenericEffect(
        yi=[0.1, 0.3, 0.5, 0.9, 0.2, 0.4], vi=[0.02, 0.03, 0.01, 0.05, 0.02, 0.04]
    )
    sg = mp.subgroup_analysis(
        eff, ["a", "a", "a", "b", "b", "c"], mp.RandomEffects(tau2="DL"), common_tau2=True
    )
    assert sg.tau2 is not None and sg.tau2 > 0
    assert sg.results["b"].tau2 == sg.tau2
    assert sg.results["c"].tau2 == sg.tau2
    assert sg.results["c"].se == pytest.approx(math.sqrt(0.04 + sg.tau2), rel=1e-14)


# ------------------------------------------------------------------ properties and errors

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def meta_data(min_k: int = 2, max_k: int = 15) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return shared_meta_data(min_k, max_k, log_v=(-2.0, 1.0), spreads=(0.0, 0.3, 2.0))


@FAST
@given(data=meta_data(), model=IV_MODELS)
def test_one_subgroup_equals_the_overall_fit(data, model) -> None:
    yi, vi = data
    eff = mp.GenericEffect(yi=yi, vi=vi)
    with pytest.warns(mp.exceptions.SmallSampleWarning, match="only one subgroup"):
        sg = mp.subgroup_analysis(eff, ["all"] * yi.size, model)
    overall = model.fit(eff)
    (only,) = sg.results.values()
    assert only.to_dict() == overall.to_dict() == sg.overall.to_dict()
    assert sg.test.df == 0 and math.isnan(sg.test.statistic)


def test_bad_input_raises() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8], vi=[0.02] * 4)
    with pytest.raises(InvalidDataError, match="'groups' has 3 entries"):
        mp.subgroup_analysis(eff, ["a", "a", "b"])
    with pytest.raises(InvalidParameterError, match=r"'common_tau2'.*RandomEffects"):
        mp.subgroup_analysis(eff, ["a", "a", "b", "b"], mp.CommonEffect(), common_tau2=True)
    with pytest.raises(InvalidDataError, match="more studies"):
        mp.subgroup_analysis(
            eff, ["a", "b", "c", "d"], mp.RandomEffects(tau2="DL"), common_tau2=True
        )
    with pytest.raises(mp.exceptions.MetapoolTypeError, match="no 'data'"):
        mp.subgroup_analysis(eff, "alloc")


def test_common_tau2_non_convergence_is_warned_and_recorded() -> None:
    class Stuck:
        name = "stuck"

        def estimate(self, yi, vi, X=None):
            shape = np.shape(yi)[:-1]
            return mp.tau2.Tau2Fit(
                tau2=np.full(shape, 0.05),
                converged=np.zeros(shape, bool),
                iterations=np.full(shape, 9, np.int64),
                method=self.name,
            )

    eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.9, 0.2, 0.4], vi=[0.02] * 6)
    with pytest.warns(mp.exceptions.ConvergenceWarning) as record:
        sg = mp.subgroup_analysis(
            eff, list("aaabbb"), mp.RandomEffects(tau2=Stuck()), common_tau2=True
        )
    messages = [str(w.message) for w in record]
    assert any("for the common tau^2" in m for m in messages)
    assert any(m.startswith("RandomEffects:") for m in messages)  # the overall fit
    assert sg.converged is False
    assert sg.to_dict()["converged"] is False
    assert mp.subgroup_analysis(eff, list("aaabbb")).converged is True


# ------------------------------------------------------------- messy input (issue)


def _bcg() -> tuple[mp.GenericEffect, list[Any]]:
    ds = _dataset("bcg_alloc")
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"]), list(ds["groups"])


@pytest.mark.parametrize("blank", [None, math.nan, "pd.NA"])
def test_missing_subgroup_raises_naming_the_study(blank: Any) -> None:
    """Before: the study became a subgroup called 'None' or 'nan'."""
    effects, groups = _bcg()
    if blank == "pd.NA":
        blank = pytest.importorskip("pandas").NA
    groups[6] = blank
    with pytest.raises(
        InvalidDataError,
        match=r"'groups' has a missing value \(.*\) for study 7 \('Vandiviere et al 1973'\)"
        r".*nan_policy='omit'",
    ):
        mp.subgroup_analysis(effects, groups)


def test_nan_policy_omit_matches_metafor() -> None:
    """metafor 3.8-1 (R 4; packageVersion("metafor") == "3.8.1"), with
    dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg,
    data = dat.bcg); d2 <- dat; d2$alloc[7] <- NA:
    each subgroup rma(yi, vi, method = "DL", data = d2, subset = !is.na(alloc) &
    alloc == g); overall rma(yi, vi, method = "DL", data = d2, subset = !is.na(alloc));
    Q_between = rma(est, sei = se, method = "EE")$QE over the three subgroups."""
    effects, groups = _bcg()
    groups[6] = None
    with pytest.warns(mp.exceptions.ExcludedStudyWarning, match="Vandiviere et al 1973"):
        sg = mp.subgroup_analysis(effects, groups, nan_policy="omit")
    expected = {
        "random": (6, -0.90898459757493277, 0.38621716364597886, 0.75097319643915705),
        "alternate": (2, -0.54079296184934533, 0.28160161310388798, 0.13257703987809291),
        "systematic": (4, -0.43934657999800086, 0.31333791363802971, 0.28497068180746316),
    }
    assert sg.groups == tuple(expected)
    for name, (k, est, se, tau2) in expected.items():
        res = sg.results[name]
        assert res.k == k
        assert (res.estimate, res.se, res.tau2) == (
            pytest.approx(est, rel=RTOL_CLOSED),
            pytest.approx(se, rel=RTOL_CLOSED),
            pytest.approx(tau2, rel=RTOL_CLOSED),
        )
    assert sg.overall.k == 12
    assert sg.overall.estimate == pytest.approx(-0.65569394935532210, rel=RTOL_CLOSED)
    assert sg.overall.se == pytest.approx(0.18235266476785417, rel=RTOL_CLOSED)
    assert sg.overall.tau2 == pytest.approx(0.30057127632259167, rel=RTOL_CLOSED)
    assert sg.overall.q == pytest.approx(145.82963814506516087, rel=RTOL_CLOSED)
    assert sg.test.statistic == pytest.approx(0.94383950128541638, rel=RTOL_CLOSED)
    assert sg.test.pvalue == pytest.approx(0.62380357074479964, rel=RTOL_CLOSED)
    # Recorded on the result, on the overall fit, in to_dict and in the summary.
    assert [(e.index, e.label) for e in sg.excluded] == [(6, "Vandiviere et al 1973")]
    assert sg.overall.excluded == sg.excluded
    assert sg.to_dict()["excluded"] == [
        {"index": 6, "label": "Vandiviere et al 1973", "reason": "missing subgroup in 'groups'"}
    ]
    assert "study 7 ('Vandiviere et al 1973'): missing subgroup" in sg.summary()
    assert len(sg.membership) == 12


def test_missing_value_markers_are_refused() -> None:
    effects, groups = _bcg()
    for marker in ("nan", "None", "NA", " "):
        bad = list(groups)
        bad[1] = marker
        with pytest.raises(
            InvalidDataError, match=rf"'groups' has {marker!r} for study 2 .*missing-value marker"
        ):
            mp.subgroup_analysis(effects, bad, nan_policy="omit")


def test_groups_column_lookup_errors() -> None:
    effects, groups = _bcg()
    data = {"alloc": groups, "year": list(range(13))}
    sg = mp.subgroup_analysis(effects, "alloc", data=data)
    assert sg.groups == ("random", "alternate", "systematic")
    with pytest.raises(
        InvalidDataError, match=r"column 'allocation' given for 'groups' is not in 'data'.*'alloc'"
    ):
        mp.subgroup_analysis(effects, "allocation", data=data)
    with pytest.raises(MetapoolTypeError, match=r"'data' parameter .* Got a list"):
        mp.subgroup_analysis(effects, "alloc", data=[groups])


def test_groups_column_of_a_dataframe() -> None:
    pandas = pytest.importorskip("pandas")
    effects, groups = _bcg()
    df = pandas.DataFrame({"alloc": pandas.Categorical(groups)})
    sg = mp.subgroup_analysis(effects, "alloc", data=df)
    assert sg.to_dict() == mp.subgroup_analysis(effects, groups).to_dict()
    with pytest.raises(InvalidDataError, match=r"'alloc_type' .* not in 'data'.*\['alloc'\]"):
        mp.subgroup_analysis(effects, "alloc_type", data=df)


def test_groups_of_the_wrong_type_are_refused() -> None:
    effects, groups = _bcg()
    with pytest.raises(MetapoolTypeError, match=r"'groups' must be a column .* Got int 5"):
        mp.subgroup_analysis(effects, 5)  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match=r"'groups' must be an ordered column.*set"):
        mp.subgroup_analysis(effects, set(groups))  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match=r"'groups' must be a column"):
        mp.subgroup_analysis(effects, (g for g in groups))  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match=r"'groups' must be one-dimensional"):
        mp.subgroup_analysis(effects, [groups, groups])
    with pytest.raises(InvalidDataError, match=r"'groups' has 12 entries .* 13 studies"):
        mp.subgroup_analysis(effects, groups[:12])


def test_model_and_settings_are_checked() -> None:
    effects, groups = _bcg()
    with pytest.raises(MetapoolTypeError, match=r"Got the class RandomEffects; pass RandomEffects"):
        mp.subgroup_analysis(effects, groups, mp.RandomEffects)  # type: ignore[arg-type]
    with pytest.raises(
        MetapoolTypeError, match=r"'model' must be a metapool model.*MetaRegression"
    ):
        mp.subgroup_analysis(effects, groups, mp.MetaRegression())  # type: ignore[arg-type]
    with pytest.raises(MetapoolTypeError, match=r"'effects' must be an effect-size set"):
        mp.subgroup_analysis([0.1, 0.2], ["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"'common_tau2' parameter .* Got 'yes'"):
        mp.subgroup_analysis(effects, groups, common_tau2="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"'nan_policy' parameter .* Got 'drop'"):
        mp.subgroup_analysis(effects, groups, nan_policy="drop")


def test_groups_for_the_studies_as_given() -> None:
    """Groups may list every study as given; those the effect set left out are skipped,
    missing or not."""
    with pytest.warns(mp.exceptions.ExcludedStudyWarning):
        effects = mp.GenericEffect(
            yi=[0.1, math.nan, 0.3, 0.8, 0.9, 0.7],
            vi=[0.02] * 6,
            labels=list("ABCDEF"),
            nan_policy="omit",
        )
    sg = mp.subgroup_analysis(effects, ["a", None, "a", "b", "b", "b"])
    assert sg.groups == ("a", "b") and sg.overall.k == 5
    assert [e.label for e in sg.excluded] == ["B"]
    with pytest.raises(InvalidDataError, match=r"4 entries .* 5 studies \(6 as given, 1 excluded"):
        mp.subgroup_analysis(effects, ["a", "a", "b", "b"])
