"""metapool: meta-analysis in Python that agrees with metafor and RevMan.

>>> import metapool as mp
>>> md = mp.MeanDifference(mean1=[5.1, 4.8, 6.0], sd1=[1.2, 1.5, 1.1], n1=[30, 25, 40],
...                        mean2=[6.0, 5.5, 6.4], sd2=[1.3, 1.4, 1.2], n2=[30, 26, 38])
>>> res = mp.RandomEffects(tau2="REML").fit(md)
>>> round(res.estimate, 3)
-0.618
"""

from metapool import convert, exceptions, io, tau2
from metapool._config import config_context, get_config, set_config
from metapool._data import ExcludedStudy
from metapool.batch import BatchResult
from metapool.bias import (
    BeggResult,
    EggerResult,
    TrimFillResult,
    begg_test,
    egger_test,
    trim_and_fill,
)
from metapool.conventions import Convention, get_convention
from metapool.effects import (
    SMD,
    SMDH,
    Correlation,
    EffectSet,
    GenericEffect,
    IncidenceRate,
    MeanChange,
    MeanDifference,
    Measure,
    OddsRatio,
    Proportion,
    RateDifference,
    RateRatio,
    RatioOfMeans,
    RiskDifference,
    RiskRatio,
    StandardizedMeanChange,
    escalc,
)
from metapool.grouped import GroupedResult, fit_grouped
from metapool.models import CommonEffect, MantelHaenszel, Peto, RandomEffects
from metapool.plotting import PlotStyle, forest_plot, funnel_plot
from metapool.regression import MetaRegression, MetaRegressionResult, Prediction
from metapool.results import BackTransformed, Interval, IntervalArray, MetaResult
from metapool.sensitivity import (
    CumulativeResult,
    InfluenceResult,
    LeaveOneOutResult,
    cumulative,
    influence,
    leave_one_out,
)
from metapool.subgroups import SubgroupResult, SubgroupTest, subgroup_analysis

__version__ = "0.1.0.dev0"

__all__ = [
    "SMD",
    "SMDH",
    "BackTransformed",
    "BatchResult",
    "BeggResult",
    "CommonEffect",
    "Convention",
    "Correlation",
    "CumulativeResult",
    "EffectSet",
    "EggerResult",
    "ExcludedStudy",
    "GenericEffect",
    "GroupedResult",
    "IncidenceRate",
    "InfluenceResult",
    "Interval",
    "IntervalArray",
    "LeaveOneOutResult",
    "MantelHaenszel",
    "MeanChange",
    "MeanDifference",
    "Measure",
    "MetaRegression",
    "MetaRegressionResult",
    "MetaResult",
    "OddsRatio",
    "Peto",
    "PlotStyle",
    "Prediction",
    "Proportion",
    "RandomEffects",
    "RateDifference",
    "RateRatio",
    "RatioOfMeans",
    "RiskDifference",
    "RiskRatio",
    "StandardizedMeanChange",
    "SubgroupResult",
    "SubgroupTest",
    "TrimFillResult",
    "__version__",
    "begg_test",
    "config_context",
    "convert",
    "cumulative",
    "egger_test",
    "escalc",
    "exceptions",
    "fit_grouped",
    "forest_plot",
    "funnel_plot",
    "get_config",
    "get_convention",
    "influence",
    "io",
    "leave_one_out",
    "set_config",
    "subgroup_analysis",
    "tau2",
    "trim_and_fill",
]
