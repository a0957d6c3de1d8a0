"""Critical values and two-sided p-values of the z and t distributions.

Shared by the models, the results (intervals at another level) and the bias
tests. Pure numpy/scipy; ``df`` may be an array (one value per row).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["t_crit", "two_sided_p", "z_crit"]

Array = NDArray[np.float64]


def z_crit(level: float) -> float:
    """The standard normal quantile at ``0.5 + level/2`` (1.96 for 95%)."""
    return float(special.ndtri(0.5 + level / 2))


def t_crit(level: float, df: Array | float) -> Array:
    """The t quantile with ``df`` degrees of freedom at ``0.5 + level/2``."""
    return np.asarray(special.stdtrit(df, 0.5 + level / 2))


def two_sided_p(stat: Array, df: Array | float | None) -> Array:
    """Two-sided p-value of a z (``df`` None) or t statistic."""
    if df is None:
        return np.asarray(2.0 * special.ndtr(-np.abs(stat)))
    return np.asarray(2.0 * special.stdtr(df, -np.abs(stat)))
