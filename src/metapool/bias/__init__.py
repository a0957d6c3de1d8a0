"""Small-study effects and publication bias: Egger's regression test, Begg and
Mazumdar's rank correlation test, and Duval and Tweedie's trim and fill.

Each function takes an effect-size set or a fitted result and returns a frozen
result object with ``summary()`` and ``to_dict()``; the numbers agree with
metafor's ``regtest``, ``ranktest`` and ``trimfill``.
"""

from metapool.bias._begg import BeggResult, begg_test
from metapool.bias._egger import EggerResult, egger_test
from metapool.bias._trimfill import TrimFillResult, trim_and_fill

__all__ = [
    "BeggResult",
    "EggerResult",
    "TrimFillResult",
    "begg_test",
    "egger_test",
    "trim_and_fill",
]
