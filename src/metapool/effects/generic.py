"""Precomputed effect sizes with their variances or standard errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from metapool._data import prepare_input
from metapool._validation import require
from metapool.effects._base import EffectSet
from metapool.exceptions import InvalidDataError

__all__ = ["GenericEffect"]


@attrs.frozen(init=False, kw_only=True)
class GenericEffect(EffectSet):
    """Generic inverse-variance input: effect sizes with variances or standard errors.

    Parameters
    ----------
    yi : array_like or str
        Effect sizes (on the analysis scale, e.g. log odds ratios).
    vi : array_like or str, optional
        Sampling variances. Give exactly one of ``vi`` and ``se``.
    se : array_like or str, optional
        Standard errors.
    labels : sequence of str or str, optional
        Study labels (or a column name); default ``"Study 1"`` ... ``"Study k"``.
    data : mapping, optional
        A DataFrame or any mapping of columns; string arguments are looked up in it.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value, with a warning,
        and records them in :attr:`excluded`.
    measure : str, default "GEN"
        Name of the effect measure on the natural scale, used in summaries
        (e.g. ``"HR"`` with ``log_scale=True`` for log hazard ratios).
    log_scale : bool, default False
        Whether ``yi`` are logarithms of ratios, so that results can be
        back-transformed with ``exp``.

    Raises
    ------
    InvalidDataError
        If a variance or SE is not positive, a value is infinite, lengths differ,
        or a value is missing and ``nan_policy="raise"``.

    Examples
    --------
    >>> import metapool as mp
    >>> gen = mp.GenericEffect(yi=[0.1, 0.3, -0.2], se=[0.1, 0.2, 0.15])
    >>> gen.vi.round(4).tolist()
    [0.01, 0.04, 0.0225]
    """

    def __init__(
        self,
        *,
        yi: Any,
        vi: Any = None,
        se: Any = None,
        labels: Any = None,
        data: Mapping[str, Any] | None = None,
        nan_policy: str = "raise",
        measure: str = "GEN",
        log_scale: bool = False,
    ) -> None:
        owner = type(self).__name__
        if (vi is None) == (se is None):
            raise InvalidDataError(f"{owner}: give exactly one of 'vi' and 'se'.")
        spread_name = "vi" if vi is not None else "se"
        prep = prepare_input(
            owner,
            {"yi": yi, spread_name: vi if vi is not None else se},
            data=data,
            labels=labels,
            nan_policy=nan_policy,
        )
        spread = prep.arrays[spread_name]
        require(owner, spread_name, spread, spread > 0, "> 0 (positive)", prep.labels, prep.index)
        variances = spread if spread_name == "vi" else spread**2
        self.__attrs_init__(
            yi=prep.arrays["yi"],
            vi=np.asarray(variances, dtype=np.float64),
            labels=prep.labels,
            index=prep.index,
            excluded=prep.excluded,
            measure=str(measure),
            log_scale=bool(log_scale),
        )
