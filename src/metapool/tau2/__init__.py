"""Interchangeable estimators of the between-study variance τ².

Every estimator is a small frozen class with a ``name`` and an
``estimate(yi, vi, X=None)`` method (the :class:`Tau2Estimator` protocol),
registered by name so that ``RandomEffects(tau2="REML")`` and
``RandomEffects(tau2=REML())`` are the same model.

===========  ==============================  ====================================
name         class                           kind
===========  ==============================  ====================================
``DL``       :class:`DerSimonianLaird`       moment, truncated at 0
``HE``       :class:`HedgesOlkin`            moment, truncated at 0
``HS``       :class:`HunterSchmidt`          moment, truncated at 0
``SJ``       :class:`SidikJonkman`           moment, positive
``PM``       :class:`PauleMandel`            generalised Q equation
``EB``       :class:`EmpiricalBayes`         generalised Q equation
``ML``       :class:`ML`                     likelihood (global max)
``REML``     :class:`REML`                   restricted likelihood (global max)
``REML-FS``  :class:`REMLFisherScoring`      restricted likelihood, Fisher scoring
                                             stopped as RevMan Web stops it
===========  ==============================  ====================================

:class:`Fixed` holds τ² at a value given in advance (not in the registry).
"""

from metapool.tau2._base import Tau2Estimator, Tau2Fit, available, get, register
from metapool.tau2._likelihood import ML, REML, REMLFisherScoring
from metapool.tau2._moment import (
    DerSimonianLaird,
    Fixed,
    HedgesOlkin,
    HunterSchmidt,
    SidikJonkman,
)
from metapool.tau2._qsolve import EmpiricalBayes, PauleMandel

__all__ = [
    "ML",
    "REML",
    "DerSimonianLaird",
    "EmpiricalBayes",
    "Fixed",
    "HedgesOlkin",
    "HunterSchmidt",
    "PauleMandel",
    "REMLFisherScoring",
    "SidikJonkman",
    "Tau2Estimator",
    "Tau2Fit",
    "available",
    "get",
    "register",
]
