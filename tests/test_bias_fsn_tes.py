"""Fail-safe N (metafor's ``fsn``), the test of excess significance (``tes``) and
PET-PEESE (``regtest(model = "lm", predictor = "sei"/"vi")``) against metafor 3.8-1.

Reference: ``tests/reference/publication_bias.json`` (``make_publication_bias.R``).

Tolerances:

* ``RTOL_CLOSED = 1e-10`` for closed forms (Stouffer/Orwin/Rosenberg, the power of
  each study without τ², the weighted regressions). Measured: below 1e-13.
* The fail-safe N itself is an integer (rounded up) and is compared exactly.
* Power with τ² > 0: metapool uses the closed form (the study's estimate is
  ``N(theta, vi + tau2)``), compared with the same closed form in R at
  ``RTOL_CLOSED``; metafor integrates numerically over ``theta ± 5 tau``, which drops
  ``P(|Z| > 5) = 5.7e-7`` of the mass, so against metafor's own power the tolerance
  is ``6e-7`` absolute (measured: the largest gap is reported below 6e-7).
* Exact p-values of the TES: the Poisson-binomial convolution and metafor's
  enumeration of subsets are the same sum; ``RTOL_CLOSED``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import metapool as mp
from metapool.bias._tes import poisson_binomial
from metapool.exceptions import InvalidDataError, InvalidParameterError, SmallSampleWarning
from tests._reference import PUBLICATION_BIAS, load_reference

RTOL_CLOSED = 1e-10
ATOL = 1e-13
TRUNCATION = 6e-7


def datasets() -> list[dict[str, Any]]:
    return list(load_reference(PUBLICATION_BIAS)["datasets"])


NAMES = [d["name"] for d in datasets()]


def dataset(name: str) -> dict[str, Any]:
    return next(d for d in datasets() if d["name"] == name)


def generic(ds: dict[str, Any]) -> mp.GenericEffect:
    return mp.GenericEffect(yi=ds["yi"], vi=ds["vi"])


def close(actual: float, expected: float | None, rtol: float = RTOL_CLOSED) -> None:
    if expected is None:
        assert np.isnan(actual)
    else:
        assert actual == pytest.approx(expected, rel=rtol, abs=ATOL)


# ---------------------------------------------------------------------------
# Fail-safe N
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fail_safe_n_matches_fsn(name: str) -> None:
    ds = dataset(name)
    ref = ds["fsn"]
    eff = generic(ds)
    cases = {
        "Rosenthal": mp.fail_safe_n(eff),
        "Orwin": mp.fail_safe_n(eff, "Orwin"),
        "Orwin_weighted": mp.fail_safe_n(eff, "Orwin", weighted=True),
        "Orwin_target": mp.fail_safe_n(eff, "orwin", target=0.05),
        "Rosenberg": mp.fail_safe_n(eff, "Rosenberg"),
        "Rosenthal_alpha10": mp.fail_safe_n(eff, alpha=0.1),
    }
    for key, res in cases.items():
        rec = ref[key]
        assert res.n == rec["fsnum"], key
        close(res.pvalue, rec["pval"])
        close(res.mean_effect, rec["meanes"])
        close(res.target, rec["target"])


def test_fail_safe_n_laws_and_errors() -> None:
    eff = mp.GenericEffect(yi=[0.3, 0.5, 0.2, 0.6, 0.4], vi=[0.02, 0.05, 0.04, 0.09, 0.03])
    res = mp.fail_safe_n(eff)
    # adding the fail-safe number of null studies makes Stouffer's test non-significant
    z = np.asarray(eff.yi) / np.sqrt(eff.vi)
    assert z.sum() / np.sqrt(eff.k + res.n) <= scipy.stats.norm.isf(0.05)
    assert z.sum() / np.sqrt(eff.k + res.n - 1) > scipy.stats.norm.isf(0.05)
    assert "Fail-safe N" in res.summary() and res.to_dict()["n"] == res.n
    with pytest.raises(InvalidParameterError, match="'method'"):
        mp.fail_safe_n(eff, "Fisher")
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        mp.fail_safe_n(eff, alpha=5)
    with pytest.raises(InvalidParameterError, match="'target'"):
        mp.fail_safe_n(eff, "Orwin", target=0)
    with pytest.raises(InvalidDataError, match="mean effect is 0"):
        mp.fail_safe_n(mp.GenericEffect(yi=[-1, 1], vi=[1, 1]), "Orwin")


# ---------------------------------------------------------------------------
# Test of excess significance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_excess_significance_matches_tes(name: str) -> None:
    ds = dataset(name)
    eff = generic(ds)
    fits = {"EE": mp.CommonEffect().fit(eff), "REML": mp.RandomEffects(tau2="REML").fit(eff)}
    for rec in ds["tes"]:
        fit = fits[rec["label"]]
        test = "exact" if rec["test"] == "exact" else rec["test"]
        res = mp.excess_significance(fit, test=test)
        assert res.observed == rec["O"]
        close(res.theta, rec["theta"], 1e-9)
        close(res.tau2, rec["tau2"], 1e-8)
        # the closed-form power (same formula in R)
        np.testing.assert_allclose(res.power, rec["power_closed"], rtol=1e-8, atol=ATOL)
        # metafor's numerical integral over theta +- 5 tau
        atol = ATOL if rec["tau2"] == 0 else TRUNCATION
        np.testing.assert_allclose(res.power, rec["power"], rtol=1e-8, atol=atol)
        close(res.expected, rec["E"], 1e-8 if rec["tau2"] == 0 else 1e-5)
        if rec["tau2"] == 0:
            close(res.pvalue, rec["pval"], 1e-8)
            close(res.ratio, rec["OEratio"], 1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_excess_significance_other_tests(name: str) -> None:
    ds = dataset(name)
    fit = mp.CommonEffect().fit(generic(ds))
    ref = ds["tes_tests"]
    chi2 = mp.excess_significance(fit, test="chi2")
    close(chi2.statistic, ref["chi2_X2"], 1e-9)
    close(chi2.pvalue, ref["chi2_pval"], 1e-9)
    close(mp.excess_significance(fit, test="binom").pvalue, ref["binom_pval"], 1e-9)
    if ref["exact_two_sided_pval"] is not None:
        two = mp.excess_significance(fit, tes_alternative="two.sided")
        close(two.pvalue, ref["exact_two_sided_pval"], 1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_poisson_binomial_is_the_sum_over_subsets(power: list[float]) -> None:
    p = np.asarray(power)
    dist = poisson_binomial(p)
    assert dist.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(np.arange(p.size + 1) @ dist) == pytest.approx(p.sum(), abs=1e-10)
    if p.size <= 8:
        import itertools

        brute = np.zeros(p.size + 1)
        for bits in itertools.product((0, 1), repeat=p.size):
            b = np.asarray(bits)
            brute[b.sum()] += np.prod(np.where(b == 1, p, 1 - p))
        np.testing.assert_allclose(dist, brute, atol=1e-14)


def test_excess_significance_errors_and_report() -> None:
    eff = mp.GenericEffect(yi=[0.45, 0.52, 0.38, 0.61, 0.5], vi=[0.04, 0.05, 0.03, 0.08, 0.06])
    res = mp.excess_significance(eff, theta=0.2)
    assert res.theta == 0.2 and "excess significance" in res.summary()
    assert len(res.to_frame()) == 5
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        mp.excess_significance(eff, alpha=1.5)
    with pytest.raises(InvalidParameterError, match="'tau2'"):
        mp.excess_significance(eff, tau2=-1.0)
    with pytest.raises(InvalidParameterError, match="'test'"):
        mp.excess_significance(eff, test="fisher")


# ---------------------------------------------------------------------------
# PET-PEESE
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pet_peese_limit_estimates_are_regtests(name: str) -> None:
    ds = dataset(name)
    k = len(ds["yi"])
    if k < 10:
        with pytest.warns(SmallSampleWarning):
            pp = mp.pet_peese(generic(ds))
    else:
        pp = mp.pet_peese(generic(ds))
    pet = next(r for r in ds["regtest"] if r["predictor"] == "sei")
    peese = next(r for r in ds["regtest"] if r["predictor"] == "vi")
    close(pp.pet.limit_estimate, pet["est"])
    close(pp.peese.limit_estimate, peese["est"])
    close(pp.pet.limit_ci.low, pet["ci_lb"])
    close(pp.peese.limit_ci.high, peese["ci_ub"])
    # the rule: one-sided t test of PET's b0 at 0.05
    t = pet["est"] / pet["se_est"]
    p_one = scipy.stats.t.sf(abs(t), k - 2)
    assert pp.pet_pvalue == pytest.approx(p_one, rel=1e-9)
    expected = "PEESE" if p_one < 0.05 else "PET"
    assert pp.chosen == expected
    assert pp.estimate == (pp.peese if expected == "PEESE" else pp.pet).limit_estimate
    assert expected in pp.summary()
    assert pp.summary_frame()["term"].tolist() == ["PET", "PEESE", "PET-PEESE"]


def test_pet_peese_bad_alpha() -> None:
    eff = mp.GenericEffect(yi=[0.1, 0.4, 0.2, 0.5], vi=[0.01, 0.04, 0.02, 0.08])
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        mp.pet_peese(eff, alpha=0)
