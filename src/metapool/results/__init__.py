"""The result classes of every metapool procedure, in one place.

Each result is frozen and complete: it can be summarised (``summary()``, a
``repr`` and, in notebooks, an HTML table), serialised (``to_dict()``, one
serializer for all), turned into pandas tables (``to_frame()`` per study,
``summary_frame()`` for the pooled rows; pandas is imported only then) and,
where it has intervals, recomputed at another confidence level
(``confidence_interval(level)``) without refitting.

The procedures (models, :mod:`metapool.subgroups`, :mod:`metapool.sensitivity`,
:mod:`metapool.regression`, :mod:`metapool.bias`) import their result classes
from here and re-export them; this package imports none of them.
"""

from metapool.results._batch import BatchResult
from metapool.results._bias import BeggResult, EggerResult, TrimFillResult
from metapool.results._glmm import GLMMResult
from metapool.results._glmm_regression import GLMMRegressionResult
from metapool.results._grouped import GroupedResult
from metapool.results._intervals import NOT_ESTIMABLE, Interval, IntervalArray
from metapool.results._lazy_batch import LazyBatchResult
from metapool.results._multilevel import MultilevelBatchResult, MultilevelResult
from metapool.results._pooled import BackTransformed, MetaResult
from metapool.results._publication_bias import (
    ExcessSignificanceResult,
    FailSafeNResult,
    PetPeeseResult,
    SelectionModelResult,
)
from metapool.results._regression import MetaRegressionResult, Prediction
from metapool.results._robust import RobustResult, RobustWaldTest
from metapool.results._sensitivity import CumulativeResult, InfluenceResult, LeaveOneOutResult
from metapool.results._subgroups import SubgroupResult, SubgroupTest

__all__ = [
    "NOT_ESTIMABLE",
    "BackTransformed",
    "BatchResult",
    "BeggResult",
    "CumulativeResult",
    "EggerResult",
    "ExcessSignificanceResult",
    "FailSafeNResult",
    "GLMMRegressionResult",
    "GLMMResult",
    "GroupedResult",
    "InfluenceResult",
    "Interval",
    "IntervalArray",
    "LazyBatchResult",
    "LeaveOneOutResult",
    "MetaRegressionResult",
    "MetaResult",
    "MultilevelBatchResult",
    "MultilevelResult",
    "PetPeeseResult",
    "Prediction",
    "RobustResult",
    "RobustWaldTest",
    "SelectionModelResult",
    "SubgroupResult",
    "SubgroupTest",
    "TrimFillResult",
]
