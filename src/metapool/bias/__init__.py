"""Small-study effects and publication bias: regression tests for funnel-plot
asymmetry (Egger's with metafor's predictors, Harbord's, Peters', the arcsine test,
Thompson–Sharp), Begg and Mazumdar's rank correlation test, Duval and Tweedie's trim
and fill, PET-PEESE, selection models, fail-safe N and the test of excess
significance.

Each function takes an effect-size set or a fitted result and returns a frozen
result object with ``summary()`` and ``to_dict()``; the numbers agree with
metafor's ``regtest``, ``ranktest``, ``trimfill``, ``selmodel``, ``fsn`` and
``tes``.
"""

from metapool.bias._begg import BeggResult, begg_test
from metapool.bias._egger import EggerResult, egger_test
from metapool.bias._failsafe import FailSafeNResult, fail_safe_n
from metapool.bias._petpeese import PetPeeseResult, pet_peese
from metapool.bias._selection import SelectionModelResult, selection_model
from metapool.bias._small_study import small_study_test
from metapool.bias._tes import ExcessSignificanceResult, excess_significance
from metapool.bias._trimfill import TrimFillResult, trim_and_fill

__all__ = [
    "BeggResult",
    "EggerResult",
    "ExcessSignificanceResult",
    "FailSafeNResult",
    "PetPeeseResult",
    "SelectionModelResult",
    "TrimFillResult",
    "begg_test",
    "egger_test",
    "excess_significance",
    "fail_safe_n",
    "pet_peese",
    "selection_model",
    "small_study_test",
    "trim_and_fill",
]
