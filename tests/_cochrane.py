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
]


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
        ("IV, Random (REML)", mp.RandomEffects(tau2="REML", convention=conv)),
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


def _layouts(a: Analysis, est: Any) -> Iterator[tuple[str, list[Any]]]:
    """Candidate weight layouts: (name, list of row masks that are pooled together)."""
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


def reproduce(a: Analysis) -> Outcome:
    out = Outcome(a.key)
    c = a.cols
    est = ~np.isnan(c["Mean"])
    if not est.any() and np.isnan(c["CI.start"]).all() and np.isnan(c["Weight"]).all():
        out.measure = out.method = "none estimable"  # nothing printed, nothing to pool
        return out
    bad = ~est & ~(np.isnan(c["CI.start"]) & np.isnan(c["CI.end"]))
    if bad.any():
        out.cause = "export: CI without an estimate"
        return out
    sub = {k: v[est] for k, v in c.items()}
    for cand in CANDIDATES:
        found = _study_match(cand, sub)
        if found is None:
            continue
        eff, _level, _ = found
        out.measure = cand.name
        out.convention = cand.convention
        printed = sub["Weight"]
        for layout, masks in _layouts(a, est):
            if not masks:
                out.method, out.layout = "no pooling", layout
                return out
            for method, model in _methods(cand, cand.convention):
                computed = np.full(printed.shape, np.nan)
                try:
                    for m in masks:
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
