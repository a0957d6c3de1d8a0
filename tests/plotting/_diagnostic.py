"""The metafor reference of the diagnostic plots (tests/reference/diagnostic_plots.json).

dat.bcg's log risk ratios and 2x2 tables, and the model of each metafor fit
recorded there (CE, DL, REML), for the Baujat, radial, L'Abbé, bubble and GOSH
plot tests.
"""

from __future__ import annotations

from typing import Any

import metapool as mp
from tests._reference import DIAGNOSTIC_PLOTS, load_reference

__all__ = ["MODELS", "bcg_counts", "bcg_generic", "ref"]

#: metafor's method -> the metapool model it is compared with
MODELS: dict[str, Any] = {
    "CE": mp.CommonEffect(),
    "DL": mp.RandomEffects(tau2="DL"),
    "REML": mp.RandomEffects(tau2="REML"),
}


def ref() -> dict[str, Any]:
    return load_reference(DIAGNOSTIC_PLOTS)


def bcg_generic(k: int | None = None) -> mp.GenericEffect:
    """dat.bcg as log risk ratios (the first ``k`` studies)."""
    r = ref()
    end = len(r["yi"]) if k is None else k
    return mp.GenericEffect(
        yi=r["yi"][:end],
        vi=r["vi"][:end],
        measure="RR",
        log_scale=True,
        labels=r["labels"][:end],
    )


def bcg_counts(cls: type[Any] = mp.RiskRatio) -> Any:
    """dat.bcg's 2x2 tables as an effect set of ``cls``."""
    r = ref()
    return cls(**r["input"], labels=r["labels"])
