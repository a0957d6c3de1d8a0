"""Live cross-check: metapool against the installed R/metafor on a generated batch.

A few hundred datasets (yi, vi) are generated from hypothesis strategies (see
``_dataset``), including deliberately hard ones: k = 2, τ² at or near 0,
sampling variances spanning 6 orders of magnitude, heterogeneity 100× the
standard errors, k ≈ 100, and effects on scales of 1e-4 and 1e4. One Rscript
call (``tests/reference/live_metafor.R``) fits all of them with every τ²
estimator (DL, REML, ML, PM, HE, SJ, HS, EB) and every test (z, knha, t,
adhoc) with tight controls, plus REML with metafor's *default* control; the
metapool fits run while R works.

Where metafor answers, every field must agree with metapool (tolerances below).
Where metafor fails (an error, including the default-control REML), metapool
must still give a valid answer. Differences that are metafor's fault (a local
optimum of the likelihood, a search bound) are classified explicitly by a
criterion that metapool's answer must pass, never by a looser tolerance.
``SUMMARY`` keeps the counts; ``pytest -s -k summary`` prints them.

Tolerances
----------
Each field ``f`` must satisfy ``|f_metapool - f_metafor| <= rtol * |f_metafor| + atol_f``.

* ``rtol`` is ``RTOL_CLOSED = 1e-10`` for DL, HE, SJ, HS and ``RTOL_ITERATIVE =
  1e-9`` for REML, ML, PM, EB and for the Q-profile bounds, as in
  tests/test_reference.py: both programs evaluate the same formulas in double
  precision, metafor is run to thresholds of 1e-13 × var(yi) and metapool stops
  at 1e-12 relative, so agreement is ~1e-12; metafor's default threshold
  (1e-5) would be off by ~1e-6, and a wrong formula by far more.
* ``atol_f`` is a floor only for values that can be (close to) 0, where a
  relative error means nothing. It is ``rtol`` times the natural unit of the
  field *for that dataset*, never a fixed number, so it scales with the data:

  - τ² and the Q-profile τ² bounds: ``rtol × s²`` with ``s²`` the typical
    within-study variance (k - 1)/tr(P). τ² enters every weight as
    ``v_i + τ²``, so an error that is 1e-9 of the variances is invisible
    downstream; near τ² = 0 both programs stop at a tolerance of that order
    (metafor's Fisher scoring approaches the boundary 0 geometrically).
  - I² (percent) and H², and their CI bounds: the τ² floor propagated,
    ``100 × atol_τ² / s²`` and ``atol_τ² / s²``.
  - estimate, CI and PI bounds: ``rtol ×`` the half-width of that interval
    (the estimate: ``rtol × se``), i.e. 1e-9 of the field's own uncertainty;
    an estimate at 0 has no relative precision.
  - the z/t statistic: ``rtol × (1 + |statistic|)`` (it is a ratio of two
    quantities each known to ``rtol``), and the p-value: its density at the
    statistic times that statistic tolerance, plus ``rtol × p``.
  - weights (percent, never 0): relative only. se, Q: relative only.
  - the Q p-value (closed form of Q): ``rtol × p`` plus the χ² density at Q
    times ``rtol × Q``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from scipy import stats

import metapool as mp
from metapool.tau2._likelihood import log_likelihood, score
from metapool.tau2._qsolve import generalized_q
from tests._reference import FIELDS, ITERATIVE, TEST_TO_CI, is_missing

pytestmark = pytest.mark.live_r

R_SCRIPT = Path(__file__).parent / "reference" / "live_metafor.R"
METHODS = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
TESTS = ("z", "knha", "t", "adhoc")
RTOL_CLOSED = 1e-10
RTOL_ITERATIVE = 1e-9
#: Slack on a log-likelihood comparison: rounding of a sum of ~k terms of size ~|ll|.
LL_SLACK = 1e-10
BATCH_SEED = 20240611  # the hypothesis seed: the batch is the same on every run
R_TIMEOUT = 600.0


def _r_problem() -> str | None:
    """Why the live cross-check cannot run here, or None when it can."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript is not on PATH"
    try:
        proc = subprocess.run(
            [
                rscript,
                "-e",
                "suppressPackageStartupMessages({library(metafor); library(jsonlite)})",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Rscript could not be run: {exc!r}"
    if proc.returncode != 0:
        return (
            f"R packages metafor and jsonlite are not both loadable: {proc.stderr.strip()[-300:]}"
        )
    return None


_WHY_NOT = _r_problem()
if _WHY_NOT is not None:
    pytest.skip(f"live metafor cross-check skipped: {_WHY_NOT}", allow_module_level=True)


# ---------------------------------------------------------------------------- the batch
@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        return len(self.yi)

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "yi": self.yi.tolist(), "vi": self.vi.tolist()}


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int) -> np.ndarray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


@st.composite
def _dataset(draw: st.DrawFn, kind: str) -> tuple[str, np.ndarray, np.ndarray]:
    """One dataset of the given kind.

    hypothesis draws the design (k, which variant, a numpy seed); numpy draws
    the continuous values from that seed, so the data are realistic (hypothesis
    alone would mostly give 0, 1 and subnormal floats) yet reproducible, and
    hypothesis still favours the extremes of the design (k = 3, k = 40, ...).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mu = rng.uniform(-2.0, 2.0)

    def variances(k: int) -> np.ndarray:
        return _log_uniform(rng, 0.005, 0.5, k)

    def tau2_typical() -> float:
        return 0.0 if draw(st.booleans()) else float(rng.uniform(0.0, 0.5))

    def typical(k: int) -> tuple[np.ndarray, np.ndarray]:
        vi = variances(k)
        return rng.normal(mu, np.sqrt(vi + tau2_typical())), vi

    if kind == "typical":
        yi, vi = typical(draw(st.integers(3, 40)))
    elif kind == "k2":
        # Q = (y1 - y2)² / (v1 + v2) is drawn directly (0.01 to 30, or exactly 0):
        # around its df of 1 the moment estimators switch between 0 and > 0.
        vi = variances(1) * np.array([1.0, 10.0 ** rng.uniform(-3.0, 3.0)])
        q = 0.0 if draw(st.integers(0, 9)) == 9 else 10.0 ** rng.uniform(-2.0, 1.5)
        yi = mu + np.array([0.0, math.sqrt(q * vi.sum()) * rng.choice([-1.0, 1.0])])
    elif kind == "tau2_near_0":
        # Homogeneous data or τ² far below the sampling variances, with the
        # effects shrunk towards their mean so that Q is around or below its df;
        # occasionally all effects identical (Q = 0).
        k = draw(st.integers(3, 30))
        vi = variances(k)
        tau2 = draw(st.sampled_from([0.0, 1e-8, 1e-6, 1e-4, 1e-2])) * vi.mean()
        shrink = 0.0 if draw(st.integers(0, 9)) == 9 else rng.uniform(0.05, 1.3)
        yi = mu + shrink * np.sqrt(vi + tau2) * rng.standard_normal(k)
    elif kind == "wide_vi":
        # Sampling variances spanning exactly 6 orders of magnitude.
        k = draw(st.integers(3, 40))
        logv = rng.uniform(-3.0, 3.0, k)
        logv[:2] = (-3.0, 3.0)
        vi = 10.0 ** rng.permutation(logv)
        tau2 = 0.0 if draw(st.booleans()) else 10.0 ** rng.uniform(-4.0, 3.0)
        yi = rng.normal(mu, np.sqrt(vi + tau2))
    elif kind == "huge_heterogeneity":
        # Effects spread 30-300 times the standard errors: I² close to 100%.
        k = draw(st.integers(3, 40))
        vi = variances(k)
        yi = mu + rng.uniform(30.0, 300.0) * math.sqrt(vi.mean()) * rng.standard_normal(k)
    elif kind == "large_k":
        yi, vi = typical(draw(st.integers(80, 120)))
    elif kind in ("tiny_scale", "huge_scale"):
        # yi ~ c and vi ~ c²: every estimator must scale as c².
        c = (1e-4 if kind == "tiny_scale" else 1e4) * 10.0 ** rng.uniform(-0.5, 0.5)
        yi, vi = typical(draw(st.integers(2, 40)))
        yi, vi = yi * c, vi * c * c
    elif kind == "clusters":
        # Precise studies around one value and imprecise ones around another:
        # the (restricted) likelihood of τ² can have two local maxima, and
        # metafor's Fisher scoring may stop at the lower one.
        k1, k2 = draw(st.integers(2, 15)), draw(st.integers(2, 15))
        v_small = _log_uniform(rng, 0.001, 0.01, k1)
        v_big = _log_uniform(rng, 0.5, 5.0, k2)
        gap = rng.uniform(0.5, 8.0)
        yi = np.concatenate(
            [
                rng.normal(mu, np.sqrt(v_small + tau2_typical() / 10)),
                rng.normal(mu + gap, np.sqrt(v_big)),
            ]
        )
        vi = np.concatenate([v_small, v_big])
    elif kind == "outlier":
        k = draw(st.integers(3, 30))
        vi = variances(k)
        yi = rng.normal(mu, np.sqrt(vi))
        yi[0] = mu + rng.uniform(5.0, 60.0) * math.sqrt(vi[0])
    else:  # pragma: no cover
        raise ValueError(kind)
    return kind, np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64)


#: kind -> number of datasets drawn
BATCH = {
    "typical": 35,
    "k2": 25,
    "tau2_near_0": 30,
    "wide_vi": 25,
    "huge_heterogeneity": 20,
    "large_k": 12,
    "tiny_scale": 15,
    "huge_scale": 15,
    "clusters": 25,
    "outlier": 10,
}


def draw_batch() -> list[Case]:
    """Materialise the batch: each kind's strategy run for its count under a fixed seed."""
    cases: list[Case] = []
    seen: set[bytes] = set()
    for kind, n in BATCH.items():
        drawn: list[tuple[str, np.ndarray, np.ndarray]] = []

        @hypothesis_seed(BATCH_SEED)
        @settings(
            max_examples=2 * n,  # hypothesis may repeat a design: keep the first n distinct
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(_dataset(kind))
        def collect(example: tuple[str, np.ndarray, np.ndarray]) -> None:
            drawn.append(example)

        collect()
        kept = 0
        for kind_, yi, vi in drawn:
            key = yi.tobytes() + vi.tobytes()
            if kept == n or key in seen or not (np.all(np.isfinite(yi)) and np.all(vi > 0)):
                continue
            seen.add(key)
            kept += 1
            cases.append(Case(f"{kind_}-{len(cases):03d}", kind_, yi, vi))
    return cases


# ---------------------------------------------------------------------------- running
@dataclass
class Ours:
    """metapool's answer for one case × method × test."""

    res: mp.MetaResult | None
    higgins: mp.MetaResult | None
    error: str | None
    warnings: tuple[str, ...]

    def problem(self) -> str | None:
        """Why this is not a valid answer, or None."""
        if self.error is not None:
            return f"raised {self.error}"
        r = self.res
        assert r is not None
        if not (math.isfinite(r.estimate) and math.isfinite(r.se)):
            return f"estimate {r.estimate!r}, se {r.se!r}"
        if not (math.isfinite(r.tau2) and r.tau2 >= 0):
            return f"tau2 {r.tau2!r}"
        if not r.converged:
            return "converged=False"
        if not (0 <= r.tau2_ci.low <= r.tau2_ci.high and math.isfinite(r.tau2_ci.high)):
            return f"tau2 CI {r.tau2_ci!r}"
        if self.warnings:
            return f"warned {self.warnings}"
        return None


def fit_metapool(case: Case, method: str, test: str) -> Ours:
    eff = mp.GenericEffect(yi=case.yi, vi=case.vi)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = mp.RandomEffects(tau2=method, ci=TEST_TO_CI[test]).fit(eff)
            higgins = None
            if case.k >= 3:
                higgins = mp.RandomEffects(
                    tau2=method, ci=TEST_TO_CI[test], prediction="higgins"
                ).fit(eff)
        except Exception as exc:
            return Ours(None, None, repr(exc), tuple(str(w.message) for w in caught))
    return Ours(res, higgins, None, tuple(str(w.message) for w in caught))


@dataclass
class Live:
    cases: list[Case]
    meta: dict[str, Any]
    ref: dict[tuple[str, str, str], dict[str, Any]]  # (case id, method, test) -> metafor fit
    ours: dict[tuple[str, str, str], Ours]  # (case id, method, test) -> metapool
    seconds: dict[str, float]


def run_live(workdir: Path) -> Live:
    t0 = time.perf_counter()
    cases = draw_batch()
    t_draw = time.perf_counter()
    in_file, out_file = workdir / "in.json", workdir / "out.json"
    in_file.write_text(
        json.dumps(
            {"cases": [c.data() for c in cases], "methods": METHODS, "tests": TESTS, "level": 0.95}
        )
    )
    cmd = [shutil.which("Rscript") or "Rscript", str(R_SCRIPT), str(in_file), str(out_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # metapool runs while R works.
        ours = {(c.id, m, t): fit_metapool(c, m, t) for c in cases for m in METHODS for t in TESTS}
        t_ours = time.perf_counter()
        stdout, stderr = proc.communicate(timeout=R_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    t_r = time.perf_counter()
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{stderr[-3000:]}"
    out = json.loads(out_file.read_text())
    ref: dict[tuple[str, str, str], dict[str, Any]] = {}
    for result in out["results"]:
        for fit in result["fits"]:
            ref[(result["id"], fit["method"], fit["test"])] = fit
    meta = {k: v for k, v in out.items() if k != "results"}
    meta["result_ids"] = [r["id"] for r in out["results"]]
    seconds = {
        "draw": t_draw - t0,
        "metapool": t_ours - t_draw,
        "metafor (wall, incl. overlap)": t_r - t_draw,
    }
    return Live(cases, meta, ref, ours, seconds)


# ---------------------------------------------------------------------------- comparing
@dataclass(frozen=True)
class Finding:
    case: str
    method: str
    test: str
    what: str

    def __str__(self) -> str:
        return f"{self.case} {self.method}/{self.test}: {self.what}"


def _typical_variance(vi: np.ndarray) -> float:
    w = 1.0 / vi
    return float((len(vi) - 1) / (w.sum() - (w * w).sum() / w.sum()))


TAU2_FIELDS = ("tau2", "tau2_ci_low", "tau2_ci_high")
#: Fields that do not depend on the estimate of τ² (Q and the Q-profile interval).
TAU2_FREE = (
    "q",
    "q_pvalue",
    *TAU2_FIELDS[1:],
    "i2_ci_low",
    "i2_ci_high",
    "h2_ci_low",
    "h2_ci_high",
)


def tolerance(name: str, ref: float, fit: dict[str, Any], case: Case, rtol: float) -> float:
    """``rtol × |ref|`` plus the floor of the module docstring (the field's natural unit)."""
    base = rtol * abs(ref)
    if name in TAU2_FIELDS:
        return base + rtol * float(case.vi.min())
    if name.startswith("i2"):
        return base + rtol * 100.0
    y_range = float(np.ptp(case.yi))
    if name == "estimate":
        return base + rtol * (y_range + fit["se"])
    for interval in ("ci", "pi_higgins", "pi"):
        if name.startswith(interval + "_"):
            half = 0.5 * abs(fit[f"{interval}_high"] - fit[f"{interval}_low"])
            return base + rtol * (y_range + half)
    if name in ("statistic", "pvalue"):
        if is_missing(fit["statistic"]):  # ±Inf (se = 0): the p-value is exactly 0
            return base
        z, se = abs(fit["statistic"]), fit["se"]
        tol_z = rtol * (2 * z + 1 + (y_range / se if se > 0 else 0.0))
        if name == "statistic":
            return tol_z
        dist = stats.norm if fit["df"] is None else stats.t(fit["df"])
        return base + 2 * float(dist.pdf(z)) * tol_z
    if name == "q":
        return base + rtol
    if name == "q_pvalue":
        q = fit["q"]
        return base + float(stats.chi2(fit["q_df"]).pdf(q)) * rtol * (q + 1)
    return base  # se, h2 and its bounds, weights: relative only


def _got(name: str, ours: Ours) -> float:
    if name.startswith("pi_higgins_"):
        assert ours.higgins is not None
        return ours.higgins.pi.low if name.endswith("low") else ours.higgins.pi.high
    assert ours.res is not None
    return float(FIELDS[name](ours.res))


def _residual(
    method: str, tau2: float, case: Case, target: float | None = None
) -> tuple[float, float]:
    """How far τ² is from solving its estimating equation, and the rounding noise of that.

    REML/ML: the score, PM/EB and Q-profile bounds: ``Q(τ²) - target``. At the
    boundary τ² = 0 only a residual pointing into τ² > 0 counts (a
    projected gradient), since 0 is then the constrained solution.
    """
    yi, vi = case.yi, case.vi
    w = 1.0 / (vi + tau2)
    if method in ("REML", "ML"):
        g = float(score(tau2, yi, vi, reml=method == "REML"))
        mu = (w * yi).sum() / w.sum()
        scale = float((w * w * (yi - mu) ** 2).sum() + w.sum())
    else:
        q = float(generalized_q(np.asarray(tau2), yi, vi))
        target = case.k - 1 if target is None else target
        g, scale = q - target, q + target
    g = max(g, 0.0) if tau2 == 0 else abs(g)
    return g, 1e-11 * scale


def _ll(method: str, tau2: float, case: Case) -> tuple[float, float]:
    ll = float(log_likelihood(tau2, case.yi, case.vi, reml=method == "REML"))
    return ll, 1e-11 * (case.k + abs(ll))


def explain_tau2(
    method: str, ours: float, ref: float, case: Case, target: float | None = None
) -> str | None:
    """Why metapool's τ² (or Q-profile bound) may legitimately differ from metafor's.

    Returns a classification when metapool's value is demonstrably the better
    one, else None (an unexplained discrepancy). For REML/ML metapool must never
    have a lower (restricted) log-likelihood.
    """
    if method in ("REML", "ML") and target is None:
        ll_ours, slack = _ll(method, ours, case)
        ll_ref, _ = _ll(method, ref, case)
        if ll_ours < ll_ref - slack:
            return None
        if ll_ours > ll_ref + slack:
            where = "the boundary 0" if ref == 0 else f"tau2 = {ref:.6g}"
            return (
                f"metafor at a lower local maximum ({where}, log-lik {ll_ref:.12g}) "
                f"than metapool (tau2 = {ours:.6g}, log-lik {ll_ours:.12g})"
            )
    elif method not in ("PM", "EB") and target is None:
        return None  # closed forms: nothing can excuse a difference
    g_ours, noise = _residual(method, ours, case, target)
    g_ref, _ = _residual(method, ref, case, target)
    if g_ours + noise < g_ref:
        eq = "score" if target is None and method in ("REML", "ML") else "Q(tau2) - target"
        return (
            f"metafor stopped short (its thresholds are absolute, 1e-13 x var(yi)): "
            f"{eq} is {g_ref:.3g} at metafor's {ref!r} but {g_ours:.3g} at metapool's {ours!r}"
        )
    return None


def compare_fit(
    case: Case, method: str, test: str, fit: dict[str, Any], ours: Ours
) -> tuple[list[str], list[str]]:
    """Compare one metafor fit with metapool's: (unexplained mismatches, explained ones)."""
    res = ours.res
    if res is None:
        return [f"metapool raised {ours.error}"], []
    rtol = RTOL_ITERATIVE if method in ITERATIVE else RTOL_CLOSED
    bad: list[str] = []
    explained: list[str] = []
    skip: set[str] = set()

    def mismatch(name: str, got: float, ref: float, tol: float) -> str:
        return f"{name}: metapool {got!r} vs metafor {ref!r} (|diff| {abs(got - ref):.3g} > tol {tol:.3g})"

    # τ² first: if it differs for a reason that is metafor's, everything that
    # depends on it differs too, and only the τ²-free fields are compared.
    tol = tolerance("tau2", fit["tau2"], fit, case, rtol)
    if abs(res.tau2 - fit["tau2"]) > tol:
        why = explain_tau2(method, res.tau2, fit["tau2"], case)
        if why is None:
            bad.append(mismatch("tau2", res.tau2, fit["tau2"], tol))
        else:
            explained.append(why)
        skip = set(FIELDS) - set(TAU2_FREE) | {"weights", "pi_higgins_low", "pi_higgins_high"}
    # Q-profile bounds: iterative for every estimator.
    alpha = 1 - fit["level"]
    targets = {
        "tau2_ci_low": stats.chi2(res.q_df).ppf(1 - alpha / 2),
        "tau2_ci_high": stats.chi2(res.q_df).ppf(alpha / 2),
    }
    for name, target in targets.items():
        ref = fit.get(name)
        if is_missing(ref):
            continue
        got = _got(name, ours)
        tol = tolerance(name, ref, fit, case, RTOL_ITERATIVE)
        if abs(got - ref) > tol:
            why = explain_tau2("PM", got, ref, case, target=float(target))
            if why is None:
                bad.append(mismatch(name, got, ref, tol))
            else:
                explained.append(f"{name}: {why}")
                bound = name.rsplit("_", 1)[1]
                skip |= {name, f"i2_ci_{bound}", f"h2_ci_{bound}"}

    for name in [*FIELDS, "pi_higgins_low", "pi_higgins_high"]:
        if name == "tau2" or name in skip or name in targets:
            continue
        ref = fit.get(name)
        if name.startswith("pi_higgins_") and (ref is None or ours.higgins is None):
            continue  # k = 2: no Higgins interval
        got = _got(name, ours)
        if is_missing(ref):
            # Not computed by metafor (a failed confint()), or ±Inf/NaN, which
            # JSON cannot hold (a statistic with se = 0).
            if name.startswith(("tau2_ci", "i2_ci", "h2_ci", "pi_")):
                continue
            if not (math.isnan(got) or math.isinf(got)):
                bad.append(f"{name}: metapool {got!r} vs metafor NA/Inf")
            continue
        if name.startswith(("tau2_ci", "i2_ci", "h2_ci")):
            field_rtol = RTOL_ITERATIVE  # Q-profile: iterative for every estimator
        elif name in ("q", "q_pvalue"):
            field_rtol = RTOL_CLOSED  # Q uses w = 1/v: closed form for every estimator
        else:
            field_rtol = rtol
        tol = tolerance(name, ref, fit, case, field_rtol)
        if not abs(got - ref) <= tol:
            bad.append(mismatch(name, got, ref, tol))
    if "weights" not in skip and fit.get("weights") is not None:
        ref_w = np.asarray(fit["weights"], dtype=np.float64)
        err = np.abs(res.weights - ref_w) - rtol * ref_w
        if np.any(err > 0):
            i = int(np.argmax(err))
            bad.append(mismatch(f"weights[{i}]", res.weights[i], ref_w[i], rtol * ref_w[i]))
    if res.q_df != fit["q_df"]:
        bad.append(f"q_df: metapool {res.q_df} vs metafor {fit['q_df']}")
    if res.df != fit["df"]:
        bad.append(f"df: metapool {res.df} vs metafor {fit['df']}")
    return bad, explained


# ---------------------------------------------------------------------------- analysis
#: Counts of the last run (filled by the ``live`` fixture; printed by test_summary).
SUMMARY: dict[str, Any] = {}


def _warning_kind(message: str) -> str:
    m = message.lower()
    for key, label in (
        ("local maximum", "Fisher scoring stuck at a local maximum, tau2 set to 0"),
        ("tau2.max", "a Q-profile bound at tau2.max"),
        ("confint error", "confint() failed"),
        ("ratio of largest to smallest", "ratio of largest to smallest vi extremely large"),
        ("predict", "predict() failed"),
    ):
        if key in m:
            return label
    return message[:80]


@dataclass
class Analysis:
    compared: Counter[str] = field(default_factory=Counter)
    mismatches: list[Finding] = field(default_factory=list)
    explained: list[Finding] = field(default_factory=list)
    metafor_errors: list[Finding] = field(default_factory=list)
    metafor_warnings: list[Finding] = field(default_factory=list)
    metapool_failures: list[Finding] = field(default_factory=list)
    rescue_failures: list[Finding] = field(default_factory=list)
    default_errors: list[Finding] = field(default_factory=list)
    default_warnings: list[Finding] = field(default_factory=list)
    default_worse: list[Finding] = field(default_factory=list)
    default_below_metapool: list[Finding] = field(default_factory=list)
    default_tau2_rel_err: list[float] = field(default_factory=list)


def analyse(live: Live) -> Analysis:
    a = Analysis()
    for case in live.cases:
        for method in METHODS:
            for test in TESTS:
                ours = live.ours[(case.id, method, test)]
                fit = live.ref[(case.id, method, test)]
                problem = ours.problem()
                if problem is not None:
                    a.metapool_failures.append(Finding(case.id, method, test, problem))
                for w in fit["warnings"]:
                    a.metafor_warnings.append(Finding(case.id, method, test, _warning_kind(w)))
                if fit["error"] is not None:
                    a.metafor_errors.append(Finding(case.id, method, test, fit["error"]))
                    if problem is not None:
                        a.rescue_failures.append(Finding(case.id, method, test, problem))
                    continue
                a.compared[method] += 1
                bad, explained = compare_fit(case, method, test, fit, ours)
                a.mismatches += [Finding(case.id, method, test, b) for b in bad]
                a.explained += [Finding(case.id, method, test, e) for e in explained]
                if explained and problem is not None:
                    a.rescue_failures.append(Finding(case.id, method, test, problem))

        # metafor's default control (REML; tau2 and errors do not depend on the test)
        default = [live.ref[(case.id, "REML_default", t)] for t in TESTS]
        ours = live.ours[(case.id, "REML", "z")]
        for w in {w for fit in default for w in fit["warnings"]}:
            a.default_warnings.append(Finding(case.id, "REML_default", "*", _warning_kind(w)))
        errors = {fit["error"] for fit in default if fit["error"] is not None}
        if errors:
            a.default_errors.append(Finding(case.id, "REML_default", "*", "; ".join(errors)))
            if ours.problem() is not None:
                a.rescue_failures.append(Finding(case.id, "REML_default", "z", ours.problem()))
            continue
        assert ours.res is not None
        ref_tau2 = default[0]["tau2"]
        ll_ours, slack = _ll("REML", ours.res.tau2, case)
        ll_ref, _ = _ll("REML", ref_tau2, case)
        if ll_ours < ll_ref - slack:
            a.default_worse.append(
                Finding(
                    case.id,
                    "REML_default",
                    "z",
                    f"restricted log-lik {ll_ours!r} at metapool's tau2 {ours.res.tau2!r} "
                    f"< {ll_ref!r} at metafor-default's {ref_tau2!r}",
                )
            )
        elif ll_ours > ll_ref + slack:
            a.default_below_metapool.append(
                Finding(
                    case.id, "REML_default", "z", f"tau2 {ref_tau2!r} vs metapool {ours.res.tau2!r}"
                )
            )
        tight = live.ref[(case.id, "REML", "z")]
        if tight["error"] is None and tight["tau2"] > 0:
            a.default_tau2_rel_err.append(abs(ref_tau2 - tight["tau2"]) / tight["tau2"])
    return a


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Live:
    return run_live(tmp_path_factory.mktemp("live_metafor"))


@pytest.fixture(scope="session")
def analysis(live: Live) -> Analysis:
    a = analyse(live)
    per_method = Counter(f.method for f in a.metafor_errors)
    SUMMARY.clear()
    SUMMARY.update(
        {
            "cases": len(live.cases),
            "cases_by_kind": dict(Counter(c.kind for c in live.cases)),
            "fits_compared": sum(a.compared.values()),
            "metafor_errors_by_method": {m: per_method.get(m, 0) for m in METHODS},
            "metafor_warnings": dict(Counter((f.method, f.what) for f in a.metafor_warnings)),
            "reml_default_errors": len(a.default_errors),
            "reml_default_local_max_warnings": len(
                {f.case for f in a.default_warnings if "local maximum" in f.what}
            ),
            "reml_default_below_metapool_loglik": len(a.default_below_metapool),
            "reml_default_max_rel_tau2_err_vs_tight": max(a.default_tau2_rel_err, default=0.0),
            "explained_discrepancies": dict(
                Counter(
                    (
                        f.method,
                        f.what.split(":")[0] if ":" in f.what[:12] else f.what.split(" (")[0],
                    )
                    for f in a.explained
                )
            ),
            "unexplained_mismatches": len(a.mismatches),
            "metapool_failures": len(a.metapool_failures) + len(a.rescue_failures),
            "seconds": live.seconds,
        }
    )
    return a


def _fmt(findings: list[Finding], limit: int = 25) -> str:
    lines = [str(f) for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- tests
def test_batch_contains_the_hard_cases(live: Live) -> None:
    cases = live.cases
    assert 150 <= len(cases) <= 250
    assert sum(c.k == 2 for c in cases) >= 20
    assert sum(c.k >= 80 for c in cases) >= 10
    assert sum(c.vi.max() / c.vi.min() >= 0.999e6 for c in cases) >= 20
    assert sum(np.ptp(c.yi) >= 30 * np.sqrt(c.vi.mean()) for c in cases) >= 15
    assert sum(np.abs(c.yi).max() < 1e-2 and c.vi.max() < 1e-6 for c in cases) >= 10
    assert sum(np.abs(c.yi).max() > 1e2 and c.vi.min() > 1e5 for c in cases) >= 10
    # τ² at or near 0: the DL estimate is exactly 0 in many cases
    dl_zero = sum(live.ours[(c.id, "DL", "z")].res.tau2 == 0 for c in cases)  # type: ignore[union-attr]
    assert dl_zero >= 30


def test_metafor_answered_for_every_case(live: Live) -> None:
    assert live.meta["metafor_version"] == "3.8.1"
    assert live.meta["result_ids"] == [c.id for c in live.cases]
    expected = {(c.id, m, t) for c in live.cases for m in (*METHODS, "REML_default") for t in TESTS}
    assert set(live.ref) == expected


@pytest.mark.parametrize("method", METHODS)
def test_metapool_matches_metafor(analysis: Analysis, method: str) -> None:
    assert analysis.compared[method] > 0.9 * SUMMARY["cases"] * len(TESTS)
    bad = [f for f in analysis.mismatches if f.method == method]
    assert not bad, f"{len(bad)} unexplained differences from metafor ({method}):\n{_fmt(bad)}"


def test_metapool_answers_where_metafor_fails(analysis: Analysis) -> None:
    """Where metafor errs, or gives a worse answer, metapool must give a valid one."""
    assert not analysis.rescue_failures, _fmt(analysis.rescue_failures)


def test_reml_at_least_as_good_as_metafor_default(analysis: Analysis) -> None:
    """metapool's REML attains a restricted log-likelihood >= metafor-default's."""
    assert not analysis.default_worse, _fmt(analysis.default_worse)


def test_metapool_failed_on_none(analysis: Analysis) -> None:
    assert SUMMARY["metapool_failures"] == 0, _fmt(
        analysis.metapool_failures + analysis.rescue_failures
    )


def test_summary(live: Live, analysis: Analysis) -> None:
    """Prints the counts (run pytest with -s to see them)."""
    assert SUMMARY["cases"] == len(live.cases)
    assert SUMMARY["fits_compared"] + sum(SUMMARY["metafor_errors_by_method"].values()) == (
        len(live.cases) * len(METHODS) * len(TESTS)
    )
    lines = ["", "live metafor cross-check summary", json.dumps(SUMMARY, indent=2, default=str)]
    if analysis.explained:
        lines.append("explained discrepancies (first of each case x method):")
        seen = set()
        for f in analysis.explained:
            if (f.case, f.method) not in seen:
                seen.add((f.case, f.method))
                lines.append(f"  {f}")
    for title, items in (
        ("metafor errors (tight control)", analysis.metafor_errors),
        ("metafor default-control REML errors", analysis.default_errors),
        ("metafor default-control REML warnings", analysis.default_warnings),
    ):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {f}" for f in items)
    print("\n".join(lines))
