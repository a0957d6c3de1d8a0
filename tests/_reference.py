"""Loading the pinned metafor references in tests/reference/ (see its README.md)."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import metapool as mp

REFERENCE_DIR = Path(__file__).parent / "reference"

# The pinned JSON files, named by what they hold; make_<name>.R writes <name>.json.
#: every τ² estimator × CI method on 18 datasets, MH, Peto, escalc (tests/test_models_metafor.py)
POOLING = "pooling.json"
#: meta-regression, leave-one-out, cumulative, influence, subgroups (tests/test_regression.py,
#: tests/test_sensitivity.py, tests/test_subgroups.py)
REGRESSION_SENSITIVITY_SUBGROUPS = "regression_sensitivity_subgroups.json"
#: regtest, ranktest, trimfill (tests/test_bias.py)
SMALL_STUDY_EFFECTS = "small_study_effects.json"
#: escalc() with non-default options (tests/test_effects.py)
ESCALC_OPTIONS = "escalc_options.json"
#: metafor's escalc() for the front end mp.escalc (make_escalc_front_end.R)
ESCALC_FRONT_END = "escalc_front_end.json"
#: baujat, radial, labbe, regplot, gosh coordinates (tests/plotting/test_baujat.py and others)
DIAGNOSTIC_PLOTS = "diagnostic_plots.json"
#: rma.mv multilevel fits, confint, predict, I² per level and vcalc (tests/test_multilevel.py)
MULTILEVEL = "multilevel.json"
#: regtest predictors, Harbord/Peters/arcsine/Thompson-Sharp, selmodel, fsn, tes
#: (tests/test_bias_regtest.py, tests/test_bias_selection.py, tests/test_bias_fsn_tes.py)
PUBLICATION_BIAS = "publication_bias.json"
#: the live cross-check script (tests/test_models_live_metafor.py)
LIVE_METAFOR_SCRIPT = REFERENCE_DIR / "live_metafor.R"

#: metafor's name of each CI method -> metapool's
TEST_TO_CI = {"z": "z", "knha": "hksj", "adhoc": "hksj-adhoc", "t": "t"}
ITERATIVE = {"REML", "ML", "PM", "EB"}


@cache
def load_reference(filename: str = POOLING) -> dict[str, Any]:
    """A pinned reference JSON from tests/reference/, read once per session."""
    data: dict[str, Any] = json.loads((REFERENCE_DIR / filename).read_text())
    return data


def reference() -> dict[str, Any]:
    """The pooling reference (pooling.json)."""
    return load_reference(POOLING)


def datasets() -> list[dict[str, Any]]:
    return list(reference()["datasets"])


def dataset(name: str) -> dict[str, Any]:
    return next(d for d in datasets() if d["name"] == name)


def effects_of(ds: dict[str, Any], **kwargs: Any) -> mp.EffectSet:
    """Build the metapool effect set of a reference dataset (metafor's defaults)."""
    inp, labels = ds["input"], ds["labels"]
    measure = ds["measure"]
    if measure == "MD":
        return mp.MeanDifference(**inp, labels=labels, **kwargs)
    if measure == "SMD":
        return mp.SMD(**inp, labels=labels, **kwargs)
    if measure in ("RR", "OR", "RD"):
        cls = {"RR": mp.RiskRatio, "OR": mp.OddsRatio, "RD": mp.RiskDifference}[measure]
        return cls(**inp, labels=labels, **kwargs)
    return mp.GenericEffect(yi=inp["yi"], vi=inp["vi"], labels=labels, **kwargs)


FIELDS = {
    # reference field -> function of a MetaResult
    "estimate": lambda r: r.estimate,
    "se": lambda r: r.se,
    "statistic": lambda r: r.statistic,
    "pvalue": lambda r: r.pvalue,
    "ci_low": lambda r: r.ci.low,
    "ci_high": lambda r: r.ci.high,
    "pi_low": lambda r: r.pi.low,
    "pi_high": lambda r: r.pi.high,
    "tau2": lambda r: r.tau2,
    "tau2_ci_low": lambda r: r.tau2_ci.low,
    "tau2_ci_high": lambda r: r.tau2_ci.high,
    "i2": lambda r: r.i2,
    "i2_ci_low": lambda r: r.i2_ci.low,
    "i2_ci_high": lambda r: r.i2_ci.high,
    "h2": lambda r: r.h2,
    "h2_ci_low": lambda r: r.h2_ci.low,
    "h2_ci_high": lambda r: r.h2_ci.high,
    "q": lambda r: r.q,
    "q_pvalue": lambda r: r.q_pvalue,
}


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
