"""Pooling models: inverse-variance common and random effects, Mantel–Haenszel, Peto.

Every model declares what it is (:class:`Model`): how it weights studies, whether
it estimates τ² and with what, its CI method and level, and which effect sets it
accepts. Analyses built on models ask these attributes, never the class.
"""

from metapool.models._glmm import GLMM
from metapool.models._inverse_variance import CommonEffect, RandomEffects
from metapool.models._multilevel import MultilevelModel
from metapool.models._protocol import WEIGHTINGS, Model
from metapool.models._two_by_two import MantelHaenszel, Peto

__all__ = [
    "GLMM",
    "WEIGHTINGS",
    "CommonEffect",
    "MantelHaenszel",
    "Model",
    "MultilevelModel",
    "Peto",
    "RandomEffects",
]
