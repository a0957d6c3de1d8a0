"""Effect-size sets: the study-level input of every pooling model."""

from metapool.effects._base import EffectSet
from metapool.effects._escalc import escalc, register_escalc, registered_measures
from metapool.effects._measure import (
    ARCSINE,
    FISHER_Z,
    IDENTITY,
    LOG,
    LOGIT,
    MEASURES,
    FreemanTukey,
    Measure,
    Scale,
)
from metapool.effects.binary import OddsRatio, RiskDifference, RiskRatio
from metapool.effects.continuous import SMD, MeanDifference
from metapool.effects.generic import GenericEffect

__all__ = [
    "ARCSINE",
    "FISHER_Z",
    "IDENTITY",
    "LOG",
    "LOGIT",
    "MEASURES",
    "SMD",
    "EffectSet",
    "FreemanTukey",
    "GenericEffect",
    "MeanDifference",
    "Measure",
    "OddsRatio",
    "RiskDifference",
    "RiskRatio",
    "Scale",
    "escalc",
    "register_escalc",
    "registered_measures",
]
