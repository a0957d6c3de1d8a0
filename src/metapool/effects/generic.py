"""Precomputed effect sizes with their variances or standard errors, or with what papers
report instead: a confidence interval, a P value or a test statistic."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._data import PreparedInput, prepare_input
from metapool._validation import (
    check_bool,
    check_choice,
    check_estimable,
    check_level,
    check_text,
    require,
    study_name,
)
from metapool._warnings import warn
from metapool.effects._base import EffectSet
from metapool.effects._measure import IDENTITY, LOG, Measure, Scale, generic_measure, get_scale
from metapool.exceptions import AsymmetricIntervalWarning, InvalidDataError, InvalidParameterError

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

    @classmethod
    def from_ci(
        cls: type[_G],
        estimate: Any,
        low: Any,
        high: Any,
        *,
        level: float = 0.95,
        scale: str | Scale = "log",
        measure: str | Measure = "HR",
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
    ) -> _G:
        r"""Effect sizes from point estimates and confidence intervals, as papers report them.

        With ``g`` the forward transform of ``scale`` (``log`` for ratios) and
        :math:`z = \Phi^{-1}((1 + \text{level}) / 2)` (1.959964 for 95%),

        .. math::

            y_i = g(\text{estimate}_i), \qquad
            \mathrm{SE}_i = \frac{g(\text{high}_i) - g(\text{low}_i)}{2 z}, \qquad
            v_i = \mathrm{SE}_i^2 .

        This assumes the interval was computed as :math:`y \pm z\,\mathrm{SE}` on
        the analysis scale (a Wald interval: symmetric there), as for hazard, odds
        and risk ratios on the log scale [1]_ [2]_. An interval from a t
        distribution (a small trial's mean difference) gives a slightly too large
        SE this way; convert it with :func:`metapool.convert.sd_from_ci` instead.

        Parameters
        ----------
        estimate, low, high : array_like or column name
            Point estimates and confidence limits on the natural scale (hazard
            ratios, not log hazard ratios, when ``scale="log"``).
        level : float, default 0.95
            The confidence level of the intervals.
        scale : {"log", "identity", "logit", "arcsine", "fisher-z"} or Scale, default "log"
            The analysis scale on which the intervals are symmetric.
        measure : str or Measure, default "HR"
            The measure code (or a :class:`~metapool.effects.Measure` on ``scale``).
        labels, data, nan_policy
            As for the class.

        Returns
        -------
        GenericEffect

        Raises
        ------
        InvalidDataError
            If ``low <= estimate <= high`` fails, ``low == high``, a value is outside
            the domain of the scale (a ratio <= 0 on the log scale), plus the input
            errors of the class.
        InvalidParameterError
            If ``level`` is not in (0, 1), ``scale`` is unknown or ``measure`` is a
            Measure on another scale.

        Warns
        -----
        AsymmetricIntervalWarning
            When an interval is visibly asymmetric around its estimate on the
            analysis scale, beyond what rounding of the printed digits explains
            (e.g. a ratio read with ``scale="identity"``), naming the studies.

        See Also
        --------
        from_p, from_statistic

        References
        ----------
        .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
           measures and computing estimates of effect, §6.3 "Obtaining standard
           errors from confidence intervals and P values". Cochrane Handbook for
           Systematic Reviews of Interventions, version 6.4.
        .. [2] Altman DG, Bland JM (2011). How to obtain the P value from a
           confidence interval. BMJ 343:d2090.

        Examples
        --------
        Altman and Bland's example, a risk ratio of 0.81 (95% CI 0.70 to 0.94):

        >>> import metapool as mp
        >>> rr = mp.GenericEffect.from_ci([0.81], [0.70], [0.94], measure="RR")
        >>> round(float(rr.yi[0]), 3), round(float(rr.se[0]), 4)
        (-0.211, 0.0752)
        """
        owner = f"{cls.__name__}.from_ci"
        level = check_level(owner, level)
        the_scale, the_measure = _scale_and_measure(owner, scale, measure)
        prep = prepare_input(
            owner,
            {"estimate": estimate, "low": low, "high": high},
            data=data,
            labels=labels,
            nan_policy=nan_policy,
        )
        est, lo, hi = (prep.arrays[n] for n in ("estimate", "low", "high"))
        _check_domain(owner, the_scale, prep)
        require(owner, "low", lo, lo <= est, "<= the estimate", prep.labels, prep.index)
        require(owner, "high", hi, hi >= est, ">= the estimate", prep.labels, prep.index)
        require(
            owner,
            "high",
            hi,
            hi > lo,
            "> 'low' (an interval of width > 0)",
            prep.labels,
            prep.index,
        )
        g_est, g_lo, g_hi = (the_scale.forward(x) for x in (est, lo, hi))
        z = float(special.ndtri((1.0 + level) / 2.0))
        se = (g_hi - g_lo) / (2.0 * z)
        _warn_asymmetric(owner, the_scale, est, lo, hi, prep)
        return cls._from_se(owner, g_est, se, prep, the_measure)

    @classmethod
    def from_p(
        cls: type[_G],
        estimate: Any,
        p: Any,
        *,
        dist: str = "normal",
        df: Any = None,
        scale: str | Scale = "log",
        measure: str | Measure = "HR",
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
    ) -> _G:
        r"""Effect sizes from point estimates and two-sided P values.

        The P value of the test of no effect gives the test statistic
        :math:`z_i = \Phi^{-1}(1 - p_i / 2)` (``dist="normal"``) or
        :math:`t_i = F^{-1}_{t,\mathrm{df}_i}(1 - p_i / 2)` (``dist="t"``), and with
        :math:`y_i = g(\text{estimate}_i)` on the analysis scale

        .. math:: \mathrm{SE}_i = |y_i| / z_i, \qquad v_i = \mathrm{SE}_i^2

        (Cochrane Handbook §6.3.2; Altman & Bland 2011; references under
        :meth:`from_ci`). The test must
        have been of the null value (0 on the analysis scale, a ratio of 1), and the
        P value exact: a P value reported as "< 0.001" used as 0.001 gives an SE
        that is too large (conservative).

        Parameters
        ----------
        estimate : array_like or column name
            Point estimates on the natural scale.
        p : array_like or column name
            Two-sided P values in (0, 1).
        dist : {"normal", "t"}, default "normal"
            The distribution of the test statistic.
        df : float, array_like or column name, optional
            Degrees of freedom of the t test (required with ``dist="t"``; one
            number for all studies or one per study).
        scale, measure, labels, data, nan_policy
            As for :meth:`from_ci`.

        Returns
        -------
        GenericEffect

        Raises
        ------
        InvalidDataError
            If a P value is not in (0, 1), an estimate is on the null (its SE would
            be 0), a df is not > 0, or a value is outside the scale's domain.
        InvalidParameterError
            If ``dist`` is unknown, or ``df`` is missing with ``dist="t"`` or given
            with ``dist="normal"``.

        Examples
        --------
        >>> import metapool as mp
        >>> rr = mp.GenericEffect.from_p([0.81], [0.005], measure="RR")
        >>> round(float(rr.se[0]), 4)
        0.0751
        """
        owner = f"{cls.__name__}.from_p"
        dist = check_choice(owner, "dist", dist, ("normal", "t"))
        the_scale, the_measure = _scale_and_measure(owner, scale, measure)
        columns: dict[str, Any] = {"estimate": estimate, "p": p}
        if dist == "t":
            if df is None:
                raise InvalidParameterError(
                    f"The 'df' parameter of {owner} is required with dist='t'. Got None."
                )
            columns["df"] = _per_study_or_scalar(df, data, estimate)
        elif df is not None:
            raise InvalidParameterError(
                f"The 'df' parameter of {owner} is only used with dist='t'. Got df={df!r} "
                "with dist='normal'."
            )
        prep = prepare_input(owner, columns, data=data, labels=labels, nan_policy=nan_policy)
        pv = prep.arrays["p"]
        require(owner, "p", pv, (pv > 0) & (pv < 1), "in (0, 1)", prep.labels, prep.index)
        _check_domain(owner, the_scale, prep)
        if dist == "t":
            dfs = prep.arrays["df"]
            require(owner, "df", dfs, dfs > 0, "> 0", prep.labels, prep.index)
            stat = special.stdtrit(dfs, 1.0 - pv / 2.0)
        else:
            stat = -special.ndtri(pv / 2.0)  # accurate for tiny p
        yi = the_scale.forward(prep.arrays["estimate"])
        _check_off_null(owner, yi, prep)
        return cls._from_se(owner, yi, np.abs(yi) / stat, prep, the_measure)

    @classmethod
    def from_statistic(
        cls: type[_G],
        estimate: Any,
        statistic: Any,
        *,
        scale: str | Scale = "log",
        measure: str | Measure = "HR",
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
    ) -> _G:
        r"""Effect sizes from point estimates and the z (or t) statistics of their tests.

        With :math:`y_i = g(\text{estimate}_i)` on the analysis scale and the test
        statistic :math:`z_i = y_i / \mathrm{SE}_i` of the test of no effect,

        .. math:: \mathrm{SE}_i = |y_i| / |z_i|, \qquad v_i = \mathrm{SE}_i^2

        (Cochrane Handbook §6.3.2; references under :meth:`from_ci`). The sign of
        the statistic is ignored.

        Parameters
        ----------
        estimate : array_like or column name
            Point estimates on the natural scale.
        statistic : array_like or column name
            The z or t statistics (non-zero).
        scale, measure, labels, data, nan_policy
            As for :meth:`from_ci`.

        Returns
        -------
        GenericEffect

        Raises
        ------
        InvalidDataError
            If a statistic is 0, an estimate is on the null, or a value is outside
            the scale's domain.

        Examples
        --------
        >>> import metapool as mp
        >>> md = mp.GenericEffect.from_statistic([3.8], [2.5], scale="identity", measure="MD")
        >>> round(float(md.se[0]), 2)
        1.52
        """
        owner = f"{cls.__name__}.from_statistic"
        the_scale, the_measure = _scale_and_measure(owner, scale, measure)
        prep = prepare_input(
            owner,
            {"estimate": estimate, "statistic": statistic},
            data=data,
            labels=labels,
            nan_policy=nan_policy,
        )
        stat = prep.arrays["statistic"]
        require(owner, "statistic", stat, stat != 0, "non-zero", prep.labels, prep.index)
        _check_domain(owner, the_scale, prep)
        yi = the_scale.forward(prep.arrays["estimate"])
        _check_off_null(owner, yi, prep)
        return cls._from_se(owner, yi, np.abs(yi) / np.abs(stat), prep, the_measure)

    @property
    def se(self) -> NDArray[np.float64]:
        """Standard errors, ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    @classmethod
    def _from_se(
        cls: type[_G],
        owner: str,
        yi: NDArray[np.float64],
        se: NDArray[np.float64],
        prep: PreparedInput,
        measure: Measure,
    ) -> _G:
        with np.errstate(over="ignore", under="ignore"):
            vi = np.asarray(se * se, dtype=np.float64)
        check_estimable(owner, yi, vi, prep.arrays, prep.labels, prep.index)
        stored: dict[str, Any] = {
            "yi": np.asarray(yi, dtype=np.float64),
            "vi": vi,
            "labels": prep.labels,
            "index": prep.index,
            "excluded": prep.excluded,
            "measure": measure,
        }
        return cls(**stored)


def _scale_and_measure(
    owner: str, scale: str | Scale, measure: str | Measure
) -> tuple[Scale, Measure]:
    the_scale = get_scale(scale, owner=owner)
    if isinstance(measure, Measure):
        if measure.scale != the_scale:
            raise InvalidParameterError(
                f"{owner}: the Measure {measure.code!r} is on the {measure.scale.name} scale "
                f"but scale={the_scale.name!r}; give the measure's own scale."
            )
        return the_scale, measure
    return the_scale, generic_measure(check_text(owner, "measure", measure), the_scale)


_DOMAINS: dict[str, tuple[str, Any]] = {
    "log": ("> 0 (a ratio, on the log scale)", lambda x: x > 0),
    "logit": ("in (0, 1) (a proportion, on the logit scale)", lambda x: (x > 0) & (x < 1)),
    "arcsine": ("in [0, 1] (a proportion, on the arcsine scale)", lambda x: (x >= 0) & (x <= 1)),
    "fisher-z": (
        "in (-1, 1) (a correlation, on Fisher's z scale)",
        lambda x: (x > -1) & (x < 1),
    ),
}


def _check_domain(owner: str, scale: Scale, prep: PreparedInput) -> None:
    """Every natural-scale value (estimate, low, high) must be inside the scale's domain."""
    if scale.name not in _DOMAINS:
        return
    requirement, inside = _DOMAINS[scale.name]
    for name in ("estimate", "low", "high"):
        if name in prep.arrays:
            values = prep.arrays[name]
            require(owner, name, values, inside(values), requirement, prep.labels, prep.index)


def _check_off_null(owner: str, yi: NDArray[np.float64], prep: PreparedInput) -> None:
    est = prep.arrays["estimate"]
    require(
        owner,
        "estimate",
        est,
        yi != 0,
        "away from the null value (an estimate of no effect gives no standard error from its test)",
        prep.labels,
        prep.index,
    )


def _per_study_or_scalar(value: Any, data: Any, like: Any) -> Any:
    """A plain number is recycled to every study (e.g. one ``df``); anything else is
    per-study input (a sequence or a column name)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if data is not None and isinstance(like, str):
            return [value] * len(data[like])
        return [value] * (
            len(like) if hasattr(like, "__len__") and not isinstance(like, str) else 1
        )
    return value


def _decimals(x: float) -> int:
    """The number of decimals a printed number had (at most 8)."""
    for d in range(9):
        if abs(round(x, d) - x) <= 1e-9 * max(1.0, abs(x)):
            return d
    return 8


#: Relative asymmetry ``|(g(hi) - g(est)) - (g(est) - g(lo))| / (g(hi) - g(lo))`` above
#: which an interval that rounding cannot make symmetric is reported.
_ASYMMETRY = 0.05


def _warn_asymmetric(
    owner: str,
    scale: Scale,
    est: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    prep: PreparedInput,
) -> None:
    """Warn for intervals asymmetric on the analysis scale beyond rounding of the digits.

    The three values are taken as printed to the largest number of decimals among
    them, so each true value lies within half a unit of that last digit; the
    interval is reported when no values in those ranges make it symmetric and its
    asymmetry exceeds 5% of its width.
    """
    flagged: list[str] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(est.size):
            e, a, b = float(est[i]), float(lo[i]), float(hi[i])
            # papers print an estimate and its limits to the same number of decimals
            he = ha = hb = 0.5 * 10.0 ** -max(_decimals(v) for v in (e, a, b))

            def f(x: float) -> float:
                return float(scale.forward(x))

            g_e, g_a, g_b = f(e), f(a), f(b)
            width = g_b - g_a
            skew = (g_b - g_e) - (g_e - g_a)
            smallest = f(b - hb) - 2.0 * f(e + he) + f(a - ha)
            largest = f(b + hb) - 2.0 * f(e - he) + f(a + ha)
            explained = not (math.isfinite(smallest) and math.isfinite(largest)) or (
                smallest <= 0.0 <= largest
            )
            if not explained and abs(skew) > _ASYMMETRY * width:
                flagged.append(
                    f"{study_name(int(prep.index[i]), prep.labels[i])} ({e!r}, {a!r} to {b!r})"
                )
    if flagged:
        other = "identity" if scale.name != "identity" else "log"
        warn(
            f"{owner}: the confidence interval is asymmetric around the estimate on the "
            f"{scale.name} scale, so the standard error derived from it is doubtful, for "
            f"{len(flagged)} study(ies): {'; '.join(flagged)}. Intervals of ratios are "
            f"symmetric on the log scale; check the scale (scale={other!r}?) and the data.",
            AsymmetricIntervalWarning,
        )
