"""Effect-size sets: the study-level input of every pooling model."""

from metapool.effects._base import EffectSet
from metapool.effects.binary import OddsRatio, RiskDifference, RiskRatio
from metapool.effects.continuous import SMD, MeanDifference
from metapool.effects.generic import GenericEffect

__all__ = [
    "SMD",
    "EffectSet",
    "GenericEffect",
    "MeanDifference",
    "OddsRatio",
    "RiskDifference",
    "RiskRatio",
]
