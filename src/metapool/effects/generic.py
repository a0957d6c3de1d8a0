"""Precomputed effect sizes with their variances or standard errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np

from metapool._data import prepare_input
from metapool._validation import check_bool, check_estimable, check_text, require
from metapool.effects._base import EffectSet
from metapool.effects._measure import IDENTITY, LOG, Measure, generic_measure
from metapool.exceptions import InvalidDataError, InvalidParameterError

__all__ = ["GenericEffect"]

_G = TypeVar("_G", bound="GenericEffect")


@attrs.frozen(init=False, kw_only=True)
class GenericEffect(EffectSet):
    """Generic inverse-variance input: effect sizes with variances or standard errors.

    Calling the class runs :meth:`from_values`.

    Parameters
    ----------
    yi : array_like or column name
        Effect sizes (on the analysis scale, e.g. log odds ratios), one real
        number per study; missing values are ``None``, NaN or ``pd.NA``.
    vi : array_like or column name, optional
        Sampling variances. Give exactly one of ``vi`` and ``se``.
    se : array_like or column name, optional
        Standard errors.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``; duplicates are allowed); default
        ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        A dict of columns or a pandas/polars DataFrame. When given, every scalar
        argument (a string, or an int for a table read without a header) is a
        column name in it.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.
    measure : str or Measure, default "GEN"
        The effect measure: a code used in summaries and plots (e.g. ``"HR"``
        with ``log_scale=True`` for log hazard ratios; a built-in code such as
        ``"RR"`` on its own scale takes that measure's name and plot title), or
        a :class:`~metapool.effects.Measure` (then ``log_scale`` must be left
        at its default).
    log_scale : bool, default False
        Whether ``yi`` are logarithms of ratios, so that results are
        back-transformed with ``exp`` (the measure's scale is then ``log``).

    Raises
    ------
    InvalidDataError
        If a variance or SE is not positive, a value is infinite, lengths differ,
        a value is missing and ``nan_policy="raise"``, a single value is given
        among per-study values, pandas inputs have different indexes, a column is
        not in ``data``, both or neither of ``vi`` and ``se`` are given, or a
        variance is so small that its weight ``1/vi`` overflows (e.g. a subnormal
        ``vi = 1e-320``, or ``se = 1e-170`` whose square underflows to zero).
    MetapoolTypeError
        If a value is not a real number (text, a boolean, a date), an argument is
        a set or an iterator, a column name is given without ``data``, or
        ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        If ``measure`` is not a non-empty string, ``log_scale`` is not a bool, or
        ``nan_policy`` is unknown.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    Examples
    --------
    >>> import metapool as mp
    >>> gen = mp.GenericEffect(yi=[0.1, 0.3, -0.2], se=[0.1, 0.2, 0.15])
    >>> gen.vi.round(4).tolist()
    [0.01, 0.04, 0.0225]
    """

    _public_constructor: ClassVar[str | None] = "from_values"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_values)

        def __init__(
            self,
            *,
            yi: Any,
            vi: Any = None,
            se: Any = None,
            labels: Any = None,
            data: Any = None,
            nan_policy: str = "raise",
            measure: str | Measure = "GEN",
            log_scale: bool = False,
        ) -> None: ...

    @classmethod
    def from_values(
        cls: type[_G],
        *,
        yi: Any,
        vi: Any = None,
        se: Any = None,
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
        measure: str | Measure = "GEN",
        log_scale: bool = False,
    ) -> _G:
        """Effect sizes ``yi`` with their variances ``vi`` or standard errors ``se``.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        GenericEffect

        Examples
        --------
        >>> import metapool as mp
        >>> hr = mp.GenericEffect.from_values(yi=[-0.2, 0.1], se=[0.1, 0.2], measure="HR",
        ...                                   log_scale=True)
        >>> hr.measure.scale.name, hr.vi.round(4).tolist()
        ('log', [0.01, 0.04])
        """
        owner = cls.__name__
        log_scale = check_bool(owner, "log_scale", log_scale)
        if isinstance(measure, Measure):
            if log_scale:
                raise InvalidParameterError(
                    f"{owner}: give 'log_scale' only with a measure code; the Measure "
                    f"{measure.code!r} already has its scale ({measure.scale.name})."
                )
            the_measure = measure
        else:
            code = check_text(owner, "measure", measure)
            the_measure = generic_measure(code, LOG if log_scale else IDENTITY)
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
        with np.errstate(over="ignore", under="ignore"):
            variances = np.asarray(spread if spread_name == "vi" else spread**2, dtype=np.float64)
        check_estimable(owner, prep.arrays["yi"], variances, prep.arrays, prep.labels, prep.index)
        stored: dict[str, Any] = {
            "yi": prep.arrays["yi"],
            "vi": variances,
            "labels": prep.labels,
            "index": prep.index,
            "excluded": prep.excluded,
            "measure": the_measure,
        }
        return cls(**stored)
