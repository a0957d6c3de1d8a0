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
    SQRT,
    FreemanTukey,
    FreemanTukeyRate,
    Measure,
    Scale,
    Sqrt,
)
from metapool.effects.binary import OddsRatio, RiskDifference, RiskRatio
from metapool.effects.change import SMDH, MeanChange, RatioOfMeans, StandardizedMeanChange
from metapool.effects.continuous import SMD, MeanDifference
from metapool.effects.correlation import Correlation
from metapool.effects.generic import GenericEffect
from metapool.effects.proportion import Proportion
from metapool.effects.rate import IncidenceRate, RateDifference, RateRatio

__all__ = [
    "ARCSINE",
    "FISHER_Z",
    "IDENTITY",
    "LOG",
    "LOGIT",
    "MEASURES",
    "SMD",
    "SMDH",
    "SQRT",
    "Correlation",
    "EffectSet",
    "FreemanTukey",
    "FreemanTukeyRate",
    "GenericEffect",
    "IncidenceRate",
    "MeanChange",
    "MeanDifference",
    "Measure",
    "OddsRatio",
    "Proportion",
    "RateDifference",
    "RateRatio",
    "RatioOfMeans",
    "RiskDifference",
    "RiskRatio",
    "Scale",
    "Sqrt",
    "StandardizedMeanChange",
    "escalc",
    "register_escalc",
    "registered_measures",
]
