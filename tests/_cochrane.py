"""Reproduce what RevMan printed for every analysis of ``shared/cochrane/pairwise70.csv``.

The export has no column for the effect measure or the pooling method of an
analysis: both are inferred here from the printed numbers. For each analysis
(review + ``Analysis.group`` + ``Analysis.number``) :func:`reproduce` tries the
measures its columns allow, each under ``convention="revman5"`` and
``"revman-web"``, and keeps the first whose study effects and CIs (at 95, 99 or
90 %) all match; then it tries the pooling methods RevMan offers for that
measure in each weight layout the printed weights allow, and keeps the first
whose weights all match. What metapool computes is compared with what RevMan
printed; nothing is fitted to the printed numbers.

Weight layouts (:func:`_layouts`): one analysis of all rows; each subgroup pooled
on its own; RevMan Web's split multi-arm rows (``SUBGROUP_ONLY`` /
``OVERALL_ONLY``, :func:`_split_rows`); and subgroups whose names the export
left out or repeated (consecutive runs of rows whose weights add to 100).

Two candidates recognise defects of the export rather than RevMan's rules (the
RR of the non-events, an OR with the arms swapped): an analysis they match is
reported as that defect; :data:`EXPORT_DEFECTS` lists every such analysis, and
:data:`NOT_YET_REPRODUCED` the ones metapool still computes differently.

Tolerances (see :data:`EFFECT_ATOL`, :data:`WEIGHT_ATOL`):

* Effects and CI bounds are printed rounded to 6 decimals, so a correct
  recomputation is within half a unit (5e-7) of the printed value. RevMan rounds
  a value that it computed with its own summation order and its own ``exp``;
  the README of the data notes recomputations that differ "by a little more than
  half a unit", so 1e-7 is added (a fifth of a unit: a wrong formula moves the
  6th decimal by far more). Values printed at full precision are compared with
  the same tolerance plus 1e-9 relative, the precision RevMan's ``z = 1.959964``
  and double arithmetic give for values up to ~1e3.
* Weights are compared to 1e-4 percentage points, as the issue asks.

The data are not ours to redistribute: they are read from ``../shared/cochrane``
next to the repository, and the tests that need them skip where it is absent.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

import metapool as mp

CSV = Path(__file__).resolve().parents[1] / ".." / "shared" / "cochrane" / "pairwise70.csv"

#: Half a unit of the printed 6th decimal plus a fifth of a unit (see the module docstring).
EFFECT_ATOL = 0.5e-6 + 1e-7
EFFECT_RTOL = 1e-9
#: Weights, in percentage points.
WEIGHT_ATOL = 1e-4
#: Critical values of the study CIs: RevMan uses the exact normal quantiles (the
#: rounded 1.959964 of its algorithms document moves a CI bound of ~100 by 3e-6).
Z = {level: float(special.ndtri(0.5 + level / 200)) for level in (95, 99, 90)}

_NUMERIC = (
    *("GIV.Mean", "GIV.SE", "Experimental.mean", "Experimental.SD", "Experimental.cases"),
    *("Experimental.N", "Control.mean", "Control.SD", "Control.cases", "Control.N", "O.E"),
    *("Variance", "Weight", "Mean", "CI.start", "CI.end"),
)


def _num(text: str) -> float:
    if text in ("", "NA"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


@dataclass
class Analysis:
    """The rows of one analysis, as arrays (one entry per row)."""

    review: str
    group: str
    number: str
    subgroup: list[str] = field(default_factory=list)
    study: list[str] = field(default_factory=list)
    applicability: list[str] = field(default_factory=list)
    cols: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.review} {self.group}.{self.number}"


def read_analyses(path: Path = CSV) -> list[Analysis]:
    """Every analysis of the CSV, in file order."""
    out: dict[tuple[str, str, str], Analysis] = {}
    raw: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["review"], row["Analysis.group"], row["Analysis.number"])
            if key not in out:
                out[key] = Analysis(*key)
                raw[key] = {c: [] for c in _NUMERIC}
            a = out[key]
            a.subgroup.append(row["Subgroup.number"] or row["Subgroup"])
            a.applicability.append(row["Applicability"])
            a.study.append(row["Study"])
            for c in _NUMERIC:
                raw[key][c].append(_num(row[c]))
    for key, a in out.items():
        a.cols = {c: np.asarray(v, dtype=np.float64) for c, v in raw[key].items()}
    return list(out.values())


# --------------------------------------------------------------------------- measures


@dataclass
class Candidate:
    """A study-level measure: builds metapool's effect set for the estimable rows."""

    name: str
    ratio: bool
    build: Callable[[dict[str, Any]], Any]
    convention: str = "revman5"
    family: str = "binary"
    #: For a candidate that recognises a defect of the export: what is wrong.
    defect: str | None = None


def _binary(cls: type, convention: str) -> Callable[[dict[str, Any]], Any]:
    def build(c: dict[str, Any]) -> Any:
        return cls(
            events1=c["Experimental.cases"],
            n1=c["Experimental.N"],
            events2=c["Control.cases"],
            n2=c["Control.N"],
            convention=convention,
        )

    return build


def _non_events(c: dict[str, Any]) -> Any:
    return mp.RiskRatio(
        events1=c["Experimental.N"] - c["Experimental.cases"],
        n1=c["Experimental.N"],
        events2=c["Control.N"] - c["Control.cases"],
        n2=c["Control.N"],
        convention="revman5",
    )


def _or_swapped(c: dict[str, Any]) -> Any:
    return mp.OddsRatio(
        events1=c["Control.cases"],
        n1=c["Control.N"],
        events2=c["Experimental.cases"],
        n2=c["Experimental.N"],
        convention="revman5",
    )


def _peto(c: dict[str, Any]) -> Any:
    a, n1, cc, n2 = (
        c["Experimental.cases"],
        c["Experimental.N"],
        c["Control.cases"],
        c["Control.N"],
    )
    n = n1 + n2
    e = n1 * (a + cc) / n
    v = n1 * n2 * (a + cc) * (n - a - cc) / (n**2 * (n - 1))
    # the study's Peto OR: (O - E)/V with SE 1/sqrt(V); pooled by mp.Peto from the counts
    return mp.OddsRatio(events1=a, n1=n1, events2=cc, n2=n2, convention="revman5"), (a - e) / v, v


def _md(c: dict[str, Any]) -> Any:
    return mp.MeanDifference(
        mean1=c["Experimental.mean"],
        sd1=c["Experimental.SD"],
        n1=c["Experimental.N"],
        mean2=c["Control.mean"],
        sd2=c["Control.SD"],
        n2=c["Control.N"],
        convention="revman5",
    )


def _smd(c: dict[str, Any]) -> Any:
    return mp.SMD(
        mean1=c["Experimental.mean"],
        sd1=c["Experimental.SD"],
        n1=c["Experimental.N"],
        mean2=c["Control.mean"],
        sd2=c["Control.SD"],
        n2=c["Control.N"],
        convention="revman5",
    )


def _giv(c: dict[str, Any]) -> Any:
    return mp.GenericEffect(yi=c["GIV.Mean"], vi=c["GIV.SE"] ** 2)


def _oe(c: dict[str, Any]) -> Any:
    return mp.GenericEffect(yi=c["O.E"] / c["Variance"], vi=1 / c["Variance"])


CANDIDATES = [
    Candidate("RR", True, _binary(mp.RiskRatio, "revman5")),
    Candidate("OR", True, _binary(mp.OddsRatio, "revman5")),
    Candidate("RD", False, _binary(mp.RiskDifference, "revman5")),
    Candidate("RR", True, _binary(mp.RiskRatio, "revman-web"), "revman-web"),
    Candidate("OR", True, _binary(mp.OddsRatio, "revman-web"), "revman-web"),
    Candidate("Peto OR", True, _peto, family="peto"),
    Candidate("MD", False, _md, family="continuous"),
    Candidate("SMD", False, _smd, family="continuous"),
    Candidate("GIV", False, _giv, family="generic"),
    Candidate("GIV ratio", True, _giv, family="generic"),
    Candidate("O-E", True, _oe, family="generic"),
    # Not RevMan's rules but defects of the export, recognised so that they are named:
    Candidate(
        "RR",
        True,
        _non_events,
        defect="the printed RRs are those of the non-events (n - events), not of the events",
    ),
    Candidate(
        "OR",
        True,
        _or_swapped,
        defect="the printed OR is control versus experimental (the arms swapped)",
    ),
]

#: Analyses whose printed numbers are not those of their own data, with the reason
#: (review, analysis): the defects :func:`reproduce` recognises, checked by the test.
EXPORT_DEFECTS = {
    ("CD015378_pub2", "1.1"): "CI printed without an estimate",
    ("CD015378_pub2", "1.2"): "CI printed without an estimate",
    ("CD015378_pub2", "2.4"): "CI printed without an estimate",
    **dict.fromkeys(
        [
            ("CD012891_pub2", "4.1"),
            ("CD013232_pub2", "7.2"),
            ("CD014965_pub2", "1.2"),
            ("CD015711_pub2", "1.4"),
            ("CD015711_pub2", "1.5"),
            ("CD015711_pub2", "2.6"),
        ],
        "the printed RRs are those of the non-events (n - events), not of the events",
    ),
    ("CD002118_pub7", "9.1"): "the printed OR is control versus experimental (the arms swapped)",
}

#: Analyses where metapool computes something other than RevMan did (not defects of
#: the export): listed so that the test names them, to be fixed in metapool. Empty
#: since RevMan Web's REML is reproduced (REMLFisherScoring; CD015092_pub2 1.37 was here).
NOT_YET_REPRODUCED: dict[tuple[str, str], str] = {}


def _close(computed: Any, printed: Any) -> Any:
    return np.abs(computed - printed) <= EFFECT_ATOL + EFFECT_RTOL * np.abs(printed)


def _study_match(cand: Candidate, c: dict[str, Any]) -> tuple[Any, int, int] | None:
    """The effect set (or None) and the level if every estimable row's effect and CI match."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            built = cand.build(c)
        except (mp.exceptions.MetapoolError, ValueError, TypeError, ZeroDivisionError):
            return None
    if cand.family == "peto":
        eff, y, v = built
        with np.errstate(all="ignore"):
            se = 1 / np.sqrt(v)
    else:
        eff = built
        if eff.k != len(c["Mean"]):
            return None
        y, se = eff.yi, np.sqrt(eff.vi)
    printed = c["Mean"]
    natural = np.exp(y) if cand.ratio else y
    with np.errstate(all="ignore"):
        se = np.asarray(se)
        if not _close(natural, printed).all():
            return None
        for level, z in Z.items():
            lo, hi = y - z * se, y + z * se
            if cand.ratio:
                lo, hi = np.exp(lo), np.exp(hi)
            if (_close(lo, c["CI.start"]) & _close(hi, c["CI.end"])).all():
                return eff, level, 0
    return None


# --------------------------------------------------------------------------- methods


def _methods(cand: Candidate, conv: str) -> list[tuple[str, Any]]:
    iv = [
        ("IV, Fixed", mp.CommonEffect(convention=conv)),
        ("IV, Random (DL)", mp.RandomEffects(tau2="DL", convention=conv)),
        # RevMan Web's REML: Fisher scoring from DL, stopped at |change| < 1e-8 (the
        # exact maximiser, tau2="REML", misses CD015092_pub2 1.37 by 7e-4 points)
        ("IV, Random (REML)", mp.RandomEffects(tau2="REML-FS", convention=conv)),
    ]
    if cand.family == "binary":
        return [
            ("M-H, Fixed", mp.MantelHaenszel(convention=conv)),
            ("M-H, Random", mp.MantelHaenszel(random=True, convention=conv)),
            *iv,
        ]
    if cand.family == "peto":
        return [("Peto, Fixed", mp.Peto(convention=conv))]
    return iv


def _weights(model: Any, eff: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if eff.k == 1:
            return np.array([100.0])
        return np.asarray(model.fit(eff).weights)


@dataclass
class Outcome:
    key: str
    measure: str = "?"
    method: str = "?"
    convention: str = ""
    layout: str = ""
    cause: str | None = None  # None: reproduced


def _raw_weights(model: Any, eff: Any) -> Any:
    """Unnormalised inverse-variance weights ``1/(vi + τ²)`` of a fit (τ² = 0 if fixed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau2 = model.fit(eff).tau2 if eff.k > 1 else 0.0
    return 1.0 / (np.asarray(eff.vi) + (tau2 if math.isfinite(tau2) else 0.0))


def _split_rows(a: Analysis, est: Any) -> Callable[[Any, Any], Any]:
    """RevMan Web's weights for a subgroup analysis with split multi-arm rows.

    RevMan Web splits a multi-arm study whose arms fall in different subgroups
    into ``SUBGROUP_ONLY`` rows (one per subgroup) and one ``OVERALL_ONLY`` row
    (the arms combined). The printed weights, as the exports show them:

    * ``OVERALL_ONLY`` rows: their weight in the overall analysis (the
      ``OVERALL_ONLY`` rows with the ``SUBGROUP_AND_OVERALL`` ones, or the
      ``OVERALL_ONLY`` rows alone where they repeat every study of the subgroups);
    * the subgroup rows add to 100: a ``SUBGROUP_AND_OVERALL`` row has
      ``1/(vi + τ²)`` with the τ² of one analysis of all subgroup rows; a split
      study has the weight ``1/(v + τ²)`` of its combined row in the overall
      analysis, shared among its ``SUBGROUP_ONLY`` rows in proportion to ``1/vi``.
    """
    app = np.asarray(a.applicability)[est]
    study = np.asarray(a.study)[est]
    both, sub_only, ov_only = (
        app == x for x in ("SUBGROUP_AND_OVERALL", "SUBGROUP_ONLY", "OVERALL_ONLY")
    )
    repeated = set(study[both]) <= set(study[ov_only])
    overall = ov_only if repeated else both | ov_only
    # a split study with a "not estimable" subgroup row is printed with weight 0 in
    # the subgroups (and left out of their total)
    all_sub = np.asarray(a.study)[np.asarray(a.applicability) == "SUBGROUP_ONLY"]
    partial = set(all_sub) - set(study[sub_only]) | {
        s for s in set(study[sub_only]) if (all_sub == s).sum() > (study[sub_only] == s).sum()
    }
    split = [i for i in np.flatnonzero(ov_only) if study[i] in set(study[sub_only]) - partial]

    def weights(model: Any, eff: Any) -> Any:
        out = np.full(eff.k, np.nan)
        i_ov, i_sub = np.flatnonzero(overall), np.flatnonzero(~ov_only)
        w_ov = _raw_weights(model, eff.subset(i_ov))
        out[i_ov] = 100 * w_ov / w_ov.sum()
        w_ov_row = dict(zip(i_ov.tolist(), w_ov.tolist(), strict=True))
        w_sub = np.full(eff.k, np.nan)
        w_sub[i_sub] = _raw_weights(model, eff.subset(i_sub))
        total = w_sub[both].sum() + sum(w_ov_row[i] for i in split)
        out[both] = 100 * w_sub[both] / total
        out[sub_only & np.isin(study, list(partial))] = 0.0
        for i in split:
            rows = sub_only & (study == study[i])
            share = 1 / np.asarray(eff.vi)[rows]
            out[rows] = 100 * w_ov_row[i] * share / share.sum() / total
        return out

    return weights


def _layouts(a: Analysis, est: Any) -> Iterator[tuple[str, Any]]:
    """Candidate weight layouts: (name, list of row masks that are pooled together, or
    a function of the model and the effect set that returns the weights)."""
    w = a.cols["Weight"][est]
    groups = np.asarray(a.subgroup)[est]
    app = np.asarray(a.applicability)[est]
    if np.all(np.isnan(w)) or np.allclose(np.nan_to_num(w), 0.0):
        yield "unpooled (0)", []
        return
    if np.allclose(w, 100.0):
        yield "one by one (100)", []
        return
    overall = app != "SUBGROUP_ONLY"
    yield "overall", [overall]
    subs = [(groups == g) & (app != "OVERALL_ONLY") for g in dict.fromkeys(groups.tolist())]
    if len(subs) > 1:
        yield "per subgroup", subs
    if (app == "SUBGROUP_ONLY").any() or (app == "OVERALL_ONLY").any():
        yield "split multi-arm rows", _split_rows(a, est)
    total = np.nansum(w)
    if total > 150:
        # Subgroups pooled separately whose names and numbers the export left out (or
        # repeated): the weights add to 100 over consecutive runs of rows; pool each run.
        ends = np.flatnonzero(
            np.abs(np.nancumsum(w) / 100 - np.round(np.nancumsum(w) / 100)) < 1e-5
        )
        ends = ends[np.r_[True, np.diff(np.round(np.nancumsum(w)[ends] / 100)) > 0]]
        starts = np.r_[0, ends[:-1] + 1]
        runs = [
            np.isin(np.arange(w.size), np.arange(i, j + 1))
            for i, j in zip(starts, ends, strict=True)
        ]
        if len(runs) > len(subs):
            yield "unlabelled subgroups (runs adding to 100)", runs


def reproduce(a: Analysis) -> Outcome:
    out = Outcome(a.key)
    c = a.cols
    est = ~np.isnan(c["Mean"])
    if not est.any() and np.isnan(c["CI.start"]).all() and np.isnan(c["Weight"]).all():
        out.measure = out.method = "none estimable"  # nothing printed, nothing to pool
        return out
    bad = ~est & ~(np.isnan(c["CI.start"]) & np.isnan(c["CI.end"]))
    if bad.any():
        out.cause = "export: CI printed without an estimate"
        return out
    sub = {k: v[est] for k, v in c.items()}
    for cand in CANDIDATES:
        found = _study_match(cand, sub)
        if found is None:
            continue
        eff, _level, _ = found
        out.measure = cand.name
        out.convention = cand.convention
        if cand.defect is not None:
            out.cause = f"export: {cand.defect}"
            return out
        printed = sub["Weight"]
        for layout, masks in _layouts(a, est):
            if not masks:
                out.method, out.layout = "no pooling", layout
                return out
            for method, model in _methods(cand, cand.convention):
                if callable(masks) and method in ("M-H, Fixed", "Peto, Fixed"):
                    continue  # the split-row rule is stated for inverse-variance weights
                computed = np.full(printed.shape, np.nan)
                try:
                    if callable(masks):
                        computed = masks(model, eff)
                    for m in masks if not callable(masks) else ():
                        idx = np.flatnonzero(m)
                        computed[idx] = _weights(model, eff.subset(idx))
                except (mp.exceptions.MetapoolError, ValueError, ZeroDivisionError):
                    continue
                ok = np.isnan(printed) | (np.abs(computed - printed) <= WEIGHT_ATOL)
                if ok.all():
                    out.method, out.layout = method, layout
                    return out
        out.cause = "weights not reproduced"
        return out
    out.cause = "study effects not reproduced"
    return out


def summary(outcomes: list[Outcome]) -> str:
    total = len(outcomes)
    ok = sum(o.cause is None for o in outcomes)
    lines = [f"reproduced {ok} / {total} analyses ({100 * ok / total:.2f} %)"]
    for title, keyf in (
        ("by measure", lambda o: f"{o.measure} [{o.convention}]"),
        ("by method", lambda o: f"{o.method} / {o.layout}"),
        ("not reproduced, by cause", lambda o: o.cause),
    ):
        counts = Counter(keyf(o) for o in outcomes if (o.cause is None) != (title[0] == "n"))
        lines.append(title + ":")
        lines += [f"  {n:6d}  {k}" for k, n in counts.most_common()]
    return "\n".join(lines)
