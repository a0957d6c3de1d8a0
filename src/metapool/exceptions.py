"""Exceptions and warnings raised by metapool.

Every error subclasses a built-in (``ValueError`` or ``TypeError``) so that
code written against the standard library keeps working, and every warning
has its own class so that users can filter precisely, e.g.::

    import warnings
    import metapool as mp
    warnings.simplefilter("ignore", mp.exceptions.ZeroCellWarning)
"""

from __future__ import annotations

__all__ = [
    "AsymmetricIntervalWarning",
    "ConvergenceWarning",
    "DegenerateDataWarning",
    "ExcludedStudyWarning",
    "InvalidDataError",
    "InvalidParameterError",
    "MetapoolError",
    "MetapoolTypeError",
    "MetapoolWarning",
    "MissingDependencyError",
    "SmallSampleWarning",
    "ZeroCellWarning",
]


class MetapoolError(ValueError):
    """Base class of metapool's value errors."""


class InvalidDataError(MetapoolError):
    """Study data that cannot be analysed (negative SD, events > n, NaN, ...).

    The message names the parameter, the study (1-based row and label) and
    the offending value.
    """


class InvalidParameterError(MetapoolError):
    """A setting outside its allowed values (unknown estimator, level not in (0, 1), ...)."""


class MetapoolTypeError(TypeError):
    """An argument of the wrong type (e.g. a column name given without ``data``)."""


class MetapoolWarning(UserWarning):
    """Base class of metapool's warnings."""


class ConvergenceWarning(MetapoolWarning):
    """An iterative computation stopped before reaching its tolerance."""


class ZeroCellWarning(MetapoolWarning):
    """A continuity correction was added to studies with zero cells."""


class ExcludedStudyWarning(MetapoolWarning):
    """One or more studies were left out of the analysis; the result records which."""


class SmallSampleWarning(MetapoolWarning):
    """Too few studies for a quantity to be estimated (it is reported as not estimable)."""


class DegenerateDataWarning(MetapoolWarning):
    """Legal but degenerate data (e.g. identical effects under HKSJ): the standard
    answer is returned, the warning explains it, and the result's ``notes`` record it."""


class AsymmetricIntervalWarning(MetapoolWarning):
    """A confidence interval given as input is visibly asymmetric around its estimate on
    the analysis scale (e.g. a ratio read with ``scale="identity"``), so the standard
    error derived from it is doubtful; the message names the studies."""


class MissingDependencyError(ImportError):
    """An optional dependency (matplotlib, pandas) is needed for this call; the
    message says which extra to install (e.g. ``pip install "metapool[plot]"``)."""
