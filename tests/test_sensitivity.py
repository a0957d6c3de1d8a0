"""Leave-one-out, cumulative and influence diagnostics against metafor 3.8-1, and laws.

Reference: the ``sensitivity`` part of ``tests/reference/regression_sensitivity_subgroups.json``
(``tests/reference/make_regression_sensitivity_subgroups.R``): ``leave1out()`` and
``cumul(order = year)`` of rma.uni fits (REML/z, DL/knha, PM/adhoc, ML/t, EE/z),
rma.mh (RR, OR, RD) and rma.peto on dat.bcg and dat.nielweise2007 (zero cells, one
double-zero study), plus rma.uni on dat.raudenbush1985; ``influence()`` of the
rma.uni fits REML/z, DL/knha, PM/adhoc and EE/z.

Two rows of metafor's lists are not maximum-likelihood fits (a local maximum of
an ML likelihood, and a REML fit whose Fisher scoring did not converge, reported as
NA); there metapool is compared with metafor's best fit over several starting
values, recorded by the R script, and test_metafor_missed_the_maximum_only_where_known
keeps that list from growing unnoticed.

Tolerances: every row is an ordinary fit, so the tolerances of
``tests/test_models_metafor.py`` apply: ``RTOL_CLOSED = 1e-10`` for closed forms (DL,
EE, MH, Peto: same formulas in double precision, measured < 1e-12) and
``RTOL_ITERATIVE = 1e-9`` for REML, ML and PM (metafor's refits inherit the fit's
tight control, 1e-13 × var(yi); metapool stops at 1e-12 × min(vi) + 1e-12 relative). I² is a
percentage computed from τ²: its floor is ``100 * rtol``. The influence
statistics are ratios and differences of those fits (``μ̂ - μ̂₍₋ᵢ₎`` loses at most
a few digits to cancellation; the largest measured difference is 4e-11
relative), so they get the fit's tolerance with a floor of ``rtol`` in absolute
terms (they are O(1) quantities; a value of 1e-12 that differs by 1e-12 is not
an error).
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
from metapool.exceptions import InvalidDataError
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

BINARY = {"RR": mp.RiskRatio, "OR": mp.OddsRatio, "RD": mp.RiskDifference}
#: metafor's k = 1 heterogeneity (Q = 0, p = 1, I² = 0, H² = 1); metapool: p, I², H²
#: not estimable. Compared in the k = 1 tests below, not in the row-by-row ones.
K1_HETEROGENEITY = ("q", "q_pvalue", "i2", "h2")
#: Rows where metafor's Fisher scoring did not give the maximum likelihood (see
#: best_of_starts() in the R script): metapool is compared with metafor's best fit
#: over several starting values instead.
METAFOR_NOT_AT_MAXIMUM = {
    # ML on the first six BCG trials by year: the likelihood has a local maximum
    # at τ² = 0 (log-lik -3.5540), where metafor's Fisher scoring ends from its
    # start of 0.0029; the global maximum is τ² = 0.05965 (log-lik -3.3686).
    ("bcg", "ML", "t", "cumul", 5),
    # REML on the first eight catheter trials by year: Fisher scoring oscillates
    # (0.0509, 0.0529, 0.0507, ...) and stops with "did not converge", so cumul()
    # reports NA; with stepadj = 0.5 it converges to τ² = 0.051895.
    ("nielweise2007", "REML", "z", "cumul", 7),
}


def reference() -> dict[str, Any]:
    return load_reference(REGRESSION_SENSITIVITY_SUBGROUPS)


@pytest.fixture(autouse=True)
def _quiet_zero_cells():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
        yield


def _floats(values: Any) -> np.ndarray:
    return np.array([math.nan if is_missing(v) else v for v in values], dtype=float)


def _mismatch(name: str, got: Any, ref: Any, rtol: float, atol: float = ATOL) -> list[str]:
    got_a = np.atleast_1d(np.asarray(got, dtype=float))
    ref_a = _floats(np.atleast_1d(np.asarray(ref, dtype=object)))
    if got_a.shape != ref_a.shape:
        return [f"{name}: shape {got_a.shape} vs metafor {ref_a.shape}"]
    ok = (np.isnan(got_a) & np.isnan(ref_a)) | (
        np.abs(got_a - ref_a) <= atol + rtol * np.abs(ref_a)
    )
    if ok.all():
        return []
    bad = np.flatnonzero(~ok).tolist()
    return [f"{name} rows {bad}: metapool {got_a[bad].tolist()} vs metafor {ref_a[bad].tolist()}"]


def _dataset(name: str) -> dict[str, Any]:
    return next(d for d in reference()["sensitivity"] if d["name"] == name)


def _effects(ds: dict[str, Any], measure: str) -> mp.EffectSet:
    if "input" in ds:
        return BINARY[measure](**ds["input"], labels=ds["labels"])
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"], labels=ds["labels"])


def _full_fit(ds: dict[str, Any], a: dict[str, Any]) -> mp.MetaResult:
    if a["kind"] == "rma.mh":
        return mp.MantelHaenszel().fit(_effects(ds, a["measure"]))
    if a["kind"] == "rma.peto":
        return mp.Peto().fit(_effects(ds, "OR"))
    effects = _effects(ds, a["measure"])
    if a["method"] == "EE":
        return mp.CommonEffect().fit(effects)
    return mp.RandomEffects(tau2=a["method"], ci=TEST_TO_CI[a["test"]]).fit(effects)


def _rtol(a: dict[str, Any]) -> float:
    return RTOL_ITERATIVE if a["method"] in ITERATIVE else RTOL_CLOSED


def _cases(part: str | None = None) -> list[Any]:
    cases = []
    for ds in reference()["sensitivity"]:
        for a in ds["analyses"]:
            if part is not None and part not in a:
                continue
            name = f"{ds['name']}-{a['kind']}-{a['measure']}-{a['method']}-{a['test']}"
            cases.append(pytest.param(ds["name"], a, id=name))
    return cases


COLUMNS = ("estimate", "se", "statistic", "pvalue", "q", "q_pvalue", "i2", "h2", "tau2")


def _compare_rows(
    got: Any, ref: dict[str, Any], a: dict[str, Any], k_rows: np.ndarray
) -> list[str]:
    """Every column of a leave-one-out / cumulative result against metafor's list.

    Rows with k = 1 (the first cumulative row) leave out Q and the heterogeneity
    columns metafor fills by convention (test_k1_q_is_zero and
    test_k1_heterogeneity_as_metafor have them). Rows where metafor's Fisher
    scoring missed the maximum are compared with its best fit (METAFOR_NOT_AT_MAXIMUM).
    """
    rtol = _rtol(a)
    ref = _with_best_rows(ref)
    failures = []
    for col in COLUMNS:
        if col == "tau2" and ref.get("tau2") is None:
            # rma.mh / rma.peto lists have no tau2: metapool reports 0 for them.
            assert np.all(got.tau2[got.estimable] == 0.0)
            continue
        values = np.asarray(getattr(got, col), dtype=float)
        expected = _floats(ref[col])
        if col in K1_HETEROGENEITY:
            keep = k_rows != 1
            values, expected = values[keep], expected[keep]
        atol = 100 * rtol if col == "i2" else ATOL
        failures += _mismatch(col, values, expected, rtol, atol)
    failures += _mismatch("ci.low", got.ci.low, ref["ci_low"], rtol)
    failures += _mismatch("ci.high", got.ci.high, ref["ci_high"], rtol)
    if list(got.labels) != ref["labels"]:
        failures.append(f"labels: {list(got.labels)} vs {ref['labels']}")
    return failures


def _with_best_rows(ref: dict[str, Any]) -> dict[str, Any]:
    """metafor's list with the rows of ``best_of_starts`` put in."""
    out = {key: list(value) if isinstance(value, list) else value for key, value in ref.items()}
    for best in ref.get("best_of_starts", []):
        for col in (*COLUMNS, "ci_low", "ci_high"):
            out[col][best["row"]] = best[col]
    return out


def test_reference_file_records_its_provenance() -> None:
    ref = reference()
    assert ref["metafor_version"] == "3.8.1"
    assert [d["name"] for d in ref["sensitivity"]] == ["bcg", "nielweise2007", "raudenbush1985"]


@pytest.mark.parametrize(("ds_name", "a"), _cases())
def test_full_fit_matches_metafor(ds_name: str, a: dict[str, Any]) -> None:
    ds = _dataset(ds_name)
    res = _full_fit(ds, a)
    if a["kind"] == "rma.uni":  # the effect sizes are the ones metafor pooled
        np.testing.assert_allclose(res.yi, ds["yi"], rtol=RTOL_CLOSED, atol=ATOL)
        np.testing.assert_allclose(res.vi, ds["vi"], rtol=RTOL_CLOSED, atol=ATOL)
    full = a["full"]
    failures = [
        *_mismatch("estimate", res.estimate, full["estimate"], _rtol(a)),
        *_mismatch("se", res.se, full["se"], _rtol(a)),
        *_mismatch("tau2", res.tau2, full["tau2"] or 0.0, _rtol(a)),
        *_mismatch("q", res.q, full["q"], _rtol(a)),
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("ds_name", "a"), _cases())
def test_leave_one_out_matches_leave1out(ds_name: str, a: dict[str, Any]) -> None:
    ds = _dataset(ds_name)
    loo = mp.leave_one_out(_full_fit(ds, a))
    failures = _compare_rows(loo, a["leave1out"], a, np.asarray(loo.k))
    assert not failures, "\n".join(failures)
    assert np.all(loo.k == len(ds["labels"]) - 1)
    assert loo.converged.all()


NOT_ESTIMABLE_FIRST = {"nielweise2007-rma.mh-RR-MH-z", "nielweise2007-rma.mh-OR-MH-z"}


@pytest.mark.parametrize(("ds_name", "a"), _cases())
def test_cumulative_matches_cumul(ds_name: str, a: dict[str, Any]) -> None:
    ds = _dataset(ds_name)
    cum = mp.cumulative(_full_fit(ds, a), order=ds["order"])
    failures = _compare_rows(cum, a["cumul"], a, np.asarray(cum.k))
    assert not failures, "\n".join(failures)
    assert cum.k.tolist() == list(range(1, len(ds["labels"]) + 1))


@pytest.mark.parametrize(("ds_name", "a"), [c for c in _cases() if c.id in NOT_ESTIMABLE_FIRST])
def test_cumulative_rows_after_a_non_estimable_one_match_cumul(
    ds_name: str, a: dict[str, Any]
) -> None:
    """A partial fit that is not estimable is a NaN row, as metafor's NA; later rows go on.

    Here the first row (Bach 1996 alone has no events in group 1, so the MH RR/OR is
    undefined); the later rows are also fitted one by one and compared.
    """
    ds = _dataset(ds_name)
    effects = _effects(ds, a["measure"])
    perm = np.argsort(np.asarray(ds["order"]), kind="stable")
    ref = a["cumul"]
    assert ref["estimate"][0] is None  # metafor: NA for the first row
    cum = mp.cumulative(_full_fit(ds, a), order=ds["order"])
    assert not cum.estimable[0] and cum.estimable[1:].all()
    assert np.isnan(cum.estimate[0]) and cum.results[0] is None
    with pytest.raises(InvalidDataError, match="not estimable"):
        mp.MantelHaenszel().fit(effects.subset(perm[:1]))
    for j in range(2, effects.k + 1):
        res = mp.MantelHaenszel().fit(effects.subset(perm[:j]))
        row = {col: ref[col][j - 1] for col in ("estimate", "se", "q", "q_pvalue", "i2", "h2")}
        got = {col: getattr(res, col) for col in row}
        failures = [m for c in row for m in _mismatch(c, got[c], row[c], RTOL_CLOSED)]
        assert not failures, (j, failures)


def test_metafor_missed_the_maximum_only_where_known() -> None:
    found = set()
    for ds in reference()["sensitivity"]:
        for a in ds["analyses"]:
            for part in ("leave1out", "cumul"):
                for best in a[part].get("best_of_starts", []):
                    found.add((ds["name"], a["method"], a["test"], part, best["row"]))
                    if best["loglik_metafor_row"] is not None:  # a local maximum
                        assert best["loglik"] > best["loglik_metafor_row"] + 0.1
                    else:  # metafor's row is NA
                        assert a[part]["estimate"][best["row"]] is None
    assert found == METAFOR_NOT_AT_MAXIMUM


def _k1_cases() -> list[Any]:
    return [case for case in _cases() if case.id not in NOT_ESTIMABLE_FIRST]


MH_RD_ONE_STUDY = "nielweise2007-rma.mh-RD-MH-z"


@pytest.mark.parametrize(
    ("ds_name", "a"),
    [pytest.param(*case.values, id=case.id) for case in _k1_cases()],
)
def test_k1_q_is_zero(ds_name: str, a: dict[str, Any]) -> None:
    ds = _dataset(ds_name)
    cum = mp.cumulative(_full_fit(ds, a), order=ds["order"])
    assert a["cumul"]["q"][0] == 0
    assert cum.k[0] == 1
    assert abs(cum.q[0]) <= ATOL  # a rounding residue of y - y is fine


@pytest.mark.parametrize(("ds_name", "a"), _k1_cases())
def test_k1_heterogeneity_is_not_estimable(ds_name: str, a: dict[str, Any]) -> None:
    """A deliberate difference (docs/choices.rst): for the first cumulative row
    (k = 1) metafor prints Q = 0, p = 1, I² = 0, H² = 1; metapool reports the
    p-value, I² and H² as not estimable (NaN)."""
    ds = _dataset(ds_name)
    cum = mp.cumulative(_full_fit(ds, a), order=ds["order"])
    ref = a["cumul"]
    assert (ref["q"][0], ref["q_pvalue"][0], ref["i2"][0], ref["h2"][0]) == (0, 1, 0, 1)
    if cum.estimable[0]:
        assert np.isnan(cum.q_pvalue[0]) and np.isnan(cum.i2[0]) and np.isnan(cum.h2[0])


@pytest.mark.parametrize(("ds_name", "a"), _cases("influence"))
def test_influence_matches_metafor(ds_name: str, a: dict[str, Any]) -> None:
    ds = _dataset(ds_name)
    inf = mp.influence(_full_fit(ds, a))
    ref = a["influence"]
    rtol = _rtol(a)
    pairs = {
        "rstudent": (inf.rstudent, ref["rstudent"]),
        "dffits": (inf.dffits, ref["dffits"]),
        "cook.d": (inf.cooks_distance, ref["cook_d"]),
        "cov.r": (inf.cov_ratio, ref["cov_r"]),
        "tau2.del": (inf.tau2_deleted, ref["tau2_del"]),
        "QE.del": (inf.q_deleted, ref["qe_del"]),
        "hat": (inf.hat, ref["hat"]),
        "weight": (inf.weight, ref["weight"]),
        "dfbs": (inf.dfbetas, ref["dfbs"]),
    }
    failures = [
        m for name, (got, exp) in pairs.items() for m in _mismatch(name, got, exp, rtol, rtol)
    ]
    assert not failures, "\n".join(failures)
    assert inf.is_influential.tolist() == ref["inf"]
    assert list(inf.labels) == ds["labels"]


def test_influence_flags_are_exercised() -> None:
    flags = [
        a["influence"]["inf"]
        for ds in reference()["sensitivity"]
        for a in ds["analyses"]
        if "influence" in a
    ]
    # Some fits flag some studies, and no fit flags all of them.
    assert any(any(f) for f in flags)
    assert not any(all(f) for f in flags)


# ------------------------------------------------------------------ properties

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-8  # as tests/properties/test_laws.py: stop 1e-12 x min(vi) + 1e-12 rel., summation order


def meta_data(min_k: int = 3, max_k: int = 15) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return shared_meta_data(min_k, max_k, log_v=(-2.0, 1.0), spreads=(0.0, 0.3, 2.0))


def _same_fit(a: mp.MetaResult, b: mp.MetaResult, scale: float) -> None:
    for name in ("estimate", "se", "statistic", "tau2", "q", "i2", "h2"):
        x, y = getattr(a, name), getattr(b, name)
        assert np.allclose(x, y, rtol=TOL, atol=TOL * max(scale, 1.0), equal_nan=True), name
    assert np.allclose(list(a.ci), list(b.ci), rtol=TOL, atol=TOL * max(scale, 1.0))


@FAST
@given(data=meta_data(), model=IV_MODELS)
def test_leave_one_out_equals_fitting_the_rest(data, model) -> None:
    yi, vi = data
    labels = [f"s{i}" for i in range(yi.size)]
    result = model.fit(mp.GenericEffect(yi=yi, vi=vi, labels=labels))
    loo = mp.leave_one_out(result)
    assert len(loo.results) == yi.size
    for i in range(yi.size):
        keep = np.arange(yi.size) != i
        direct = model.fit(
            mp.GenericEffect(yi=yi[keep], vi=vi[keep], labels=np.asarray(labels)[keep])
        )
        _same_fit(loo.results[i], direct, float(np.mean(vi)))
        assert loo.estimate[i] == loo.results[i].estimate
        assert loo.results[i].labels == direct.labels


@FAST
@given(data=meta_data(), model=IV_MODELS, seed=st.integers(0, 2**32 - 1))
def test_cumulative_last_row_equals_the_full_fit(data, model, seed) -> None:
    yi, vi = data
    result = model.fit(mp.GenericEffect(yi=yi, vi=vi))
    order = np.random.default_rng(seed).integers(1990, 2000, size=yi.size)
    cum = mp.cumulative(result, order=order)
    # Same studies in another order: equal up to summation order.
    _same_fit(cum.results[-1], result, float(np.mean(vi)))
    assert sorted(cum.order.tolist()) == list(range(yi.size))
    assert np.all(np.diff(order[cum.order]) >= 0)


def test_cumulative_ties_keep_the_given_order() -> None:
    res = mp.CommonEffect().fit(
        mp.GenericEffect(yi=[0.1, 0.2, 0.3, 0.4], vi=[0.1] * 4, labels=list("abcd"))
    )
    cum = mp.cumulative(res, order=[2001, 2000, 2001, 2000])
    assert cum.labels == ("b", "d", "a", "c")  # as R's order() (stable)


def test_bad_input_raises() -> None:
    res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1, 0.2, 0.3], vi=[0.1] * 3))
    with pytest.raises(InvalidDataError, match="one key per study"):
        mp.cumulative(res, order=[1, 2])
    with pytest.raises(mp.exceptions.MetapoolTypeError, match="MetaResult"):
        mp.leave_one_out("not a result")  # type: ignore[arg-type]
    two = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1, 0.2], vi=[0.1] * 2))
    with pytest.raises(InvalidDataError, match="at least three"):
        mp.influence(two)
    mh = mp.MantelHaenszel().fit(
        mp.RiskRatio(events1=[1, 2, 3], n1=[10] * 3, events2=[2, 3, 4], n2=[10] * 3)
    )
    with pytest.raises(mp.exceptions.MetapoolTypeError, match="inverse-variance"):
        mp.influence(mh)
