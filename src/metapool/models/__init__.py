"""Pooling models: inverse-variance common and random effects, Mantel–Haenszel, Peto."""

from metapool.models._inverse_variance import CommonEffect, RandomEffects
from metapool.models._two_by_two import MantelHaenszel, Peto

__all__ = ["CommonEffect", "MantelHaenszel", "Peto", "RandomEffects"]
