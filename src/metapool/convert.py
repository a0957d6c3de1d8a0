r"""Conversions for what trials report instead of a mean and an SD.

Meta-analyses of means need each arm's mean, SD and size; papers often report
a median with a range or an interquartile range, a standard error, a
confidence interval, a t statistic or a P value, or two subgroups that must be
merged. These functions turn such summaries into means and SDs (and a few other
quantities), following the Cochrane Handbook [1]_ and the estimators of Hozo et
al. [2]_, Wan et al. [3]_, Luo et al. [4]_ and Shi et al. [5]_.

Every function is vectorised: its arguments broadcast against each other as
numpy arrays do (one row per study arm, or one number), NaN passes through as
NaN (a row with a missing summary gives a missing result), and the result is a
small frozen object (``.mean``, ``.sd``, ...) holding float arrays, or numpy
floats when every argument was a single number. Invalid input (a negative SD, a
P value outside (0, 1), quartiles out of order) raises
:class:`~metapool.exceptions.InvalidDataError` naming the parameter, the row
(1-based) and the value.

References
----------
.. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
   measures and computing estimates of effect. Cochrane Handbook for Systematic
   Reviews of Interventions, version 6.4, §6.5.2.
.. [2] Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and variance
   from the median, range, and the size of a sample. BMC Med Res Methodol 5:13.
.. [3] Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and
   standard deviation from the sample size, median, range and/or interquartile
   range. BMC Med Res Methodol 14:135.
.. [4] Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean
   from the sample size, median, mid-range, and/or mid-quartile range. Stat
   Methods Med Res 27(6):1785-1805.
.. [5] Shi J, Luo D, Weng H, Zeng XT, Lin L, Chu H, Tong T (2020). Optimally
   estimating the sample standard deviation from the five-number summary. Res
   Synth Methods 11(5):641-654.
.. [6] Chinn S (2000). A simple method for converting an odds ratio to effect
   size for use in meta-analysis. Stat Med 19(22):3127-3131.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import integrate, special

from metapool._validation import check_choice, check_level
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError

__all__ = [
    "CombinedGroups",
    "LogOddsRatio",
    "MeanSD",
    "SDEstimate",
    "SMDEstimate",
    "combine_groups",
    "correlation_from_sds",
    "log_odds_ratio_from_smd",
    "mean_sd_from_median",
    "sd_from_ci",
    "sd_from_p",
    "sd_from_se",
    "sd_from_t",
    "smd_from_log_odds_ratio",
]

Array = NDArray[np.float64]

#: The scenarios of Wan et al. (2014): which order statistics a paper reports.
SCENARIOS = {
    "S1": "minimum, median, maximum",
    "S2": "first quartile, median, third quartile",
    "S3": "minimum, first quartile, median, third quartile, maximum",
}


def _value(x: Array) -> Any:
    """A numpy float for a 0-d result, the array otherwise."""
    return x[()] if x.ndim == 0 else x


@attrs.frozen(kw_only=True)
class MeanSD:
    """An estimated mean and SD (from :func:`mean_sd_from_median`).

    Attributes
    ----------
    mean, sd : float or ndarray
        The estimates, broadcast over the inputs.
    scenario : {"S1", "S2", "S3"}
        What was reported: S1 minimum/median/maximum, S2 quartiles and median, S3
        all five numbers.
    mean_method, sd_method : str
        The estimators used.
    """

    mean: Any
    sd: Any
    scenario: str
    mean_method: str
    sd_method: str


@attrs.frozen(kw_only=True)
class SDEstimate:
    """An SD derived from a standard error, a confidence interval, a t statistic or a
    P value.

    Attributes
    ----------
    sd : float or ndarray
    """

    sd: Any


@attrs.frozen(kw_only=True)
class CombinedGroups:
    """Two groups merged into one (from :func:`combine_groups`).

    Attributes
    ----------
    n, mean, sd : float or ndarray
    """

    n: Any
    mean: Any
    sd: Any


@attrs.frozen(kw_only=True)
class LogOddsRatio:
    """A log odds ratio converted from a standardised mean difference.

    Attributes
    ----------
    yi : float or ndarray
        The log odds ratio.
    vi : float or ndarray or None
        Its variance (None when no variance was given).
    """

    yi: Any
    vi: Any


@attrs.frozen(kw_only=True)
class SMDEstimate:
    """A standardised mean difference converted from a log odds ratio.

    Attributes
    ----------
    yi : float or ndarray
        The standardised mean difference.
    vi : float or ndarray or None
        Its variance (None when no variance was given).
    """

    yi: Any
    vi: Any


# ------------------------------------------------------------------- validation
def _where(shape: tuple[int, ...], flat: int) -> str:
    """How a message names an element: ``row 3`` (1-based), ``row (2, 1)`` in 2-D."""
    if not shape:
        return "the value"
    idx = np.unravel_index(flat, shape)
    if len(idx) == 1:
        return f"row {int(idx[0]) + 1}"
    return "row (" + ", ".join(str(int(i) + 1) for i in idx) + ")"


def _fmt(x: float) -> str:
    return repr(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _arrays(owner: str, **values: Any) -> dict[str, Array]:
    """Float arrays of the arguments, broadcast together; infinite values refused."""
    out: dict[str, Array] = {}
    for name, value in values.items():
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise MetapoolTypeError(
                f"{owner}: '{name}' must be a number or an array of numbers. Got {value!r}."
            )
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise MetapoolTypeError(
                f"{owner}: '{name}' must be a number or an array of numbers. Got {value!r}."
            ) from exc
        out[name] = arr
    try:
        shaped = np.broadcast_arrays(*out.values())
    except ValueError as exc:
        shapes = ", ".join(f"{n}{tuple(a.shape)}" for n, a in out.items())
        raise InvalidDataError(
            f"{owner}: the arguments do not broadcast together; got shapes {shapes}."
        ) from exc
    result = {n: np.array(a, dtype=np.float64) for n, a in zip(out, shaped, strict=True)}
    for name, arr in result.items():
        _require(owner, name, arr, ~np.isinf(arr), "finite")
    return result


def _require(owner: str, name: str, values: Array, ok: Any, requirement: str) -> None:
    """Raise for the first element (NaN excepted: missing passes through) where ``ok``
    is False."""
    bad = ~np.asarray(ok, dtype=bool) & ~np.isnan(values)
    if bad.any():
        flat = int(np.flatnonzero(bad.ravel())[0])
        value = float(values.ravel()[flat])
        raise InvalidDataError(
            f"{owner}: '{name}' must be {requirement}; {_where(values.shape, flat)} has "
            f"{name}={_fmt(value)}."
        )


def _require_n(owner: str, name: str, n: Array, minimum: int) -> None:
    whole = np.isfinite(n) & (n == np.floor(n))
    _require(owner, name, n, whole & (n >= minimum), f"a whole number >= {minimum}")


def _ordered(owner: str, pairs: Sequence[tuple[str, Array]]) -> None:
    """Refuse order statistics out of order (minimum <= q1 <= median <= q3 <= maximum)."""
    for (name_a, a), (name_b, b) in itertools.pairwise(pairs):
        with np.errstate(invalid="ignore"):
            bad = a > b
        if bad.any():
            flat = int(np.flatnonzero(bad.ravel())[0])
            raise InvalidDataError(
                f"{owner}: '{name_a}' must be <= '{name_b}'; {_where(a.shape, flat)} has "
                f"{name_a}={_fmt(float(a.ravel()[flat]))} > {name_b}="
                f"{_fmt(float(b.ravel()[flat]))}."
            )


def _quantile(owner: str, dist: str, p: Array, df: Array | None) -> Array:
    """The upper quantile ``1 - p`` of the standard normal or of t with ``df``."""
    if dist == "normal":
        return np.asarray(-special.ndtri(p), dtype=np.float64)
    assert df is not None
    return np.asarray(special.stdtrit(df, 1.0 - p), dtype=np.float64)


# ------------------------------------------------------------- median → mean, SD
def _xi(n: Array) -> Array:
    """Wan et al.'s ξ(n) = 2 Φ⁻¹((n − 0.375) / (n + 0.25)): E(range) / σ, approximately."""
    return np.asarray(2.0 * special.ndtri((n - 0.375) / (n + 0.25)), dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _expected_range_exact(n: int) -> float:
    """E(range) of ``n`` standard normal observations, by numerical integration of
    ``1 - Φ(x)^n - (1 - Φ(x))^n`` over the real line (Wan et al.'s Table 1)."""
    value, _ = integrate.quad(
        lambda x: 1.0 - special.ndtr(x) ** n - special.ndtr(-x) ** n, -np.inf, np.inf
    )
    return float(value)


def _xi_wan(n: Array) -> Array:
    """ξ(n) as Wan et al. use it: the exact expected range for n <= 50 (their Table 1),
    the approximation :func:`_xi` above."""
    approx = _xi(n)
    small = (n <= 50) & (n >= 2) & (n == np.floor(n))
    if not np.any(small):
        return approx
    exact = np.vectorize(lambda m: _expected_range_exact(int(m)), otypes=[np.float64])
    return np.asarray(np.where(small, exact(np.where(small, n, 2)), approx), dtype=np.float64)


def _eta(n: Array) -> Array:
    """Wan et al.'s η(n) = 2 Φ⁻¹((0.75 n − 0.125) / (n + 0.25)): E(IQR) / σ, approximately."""
    return np.asarray(2.0 * special.ndtri((0.75 * n - 0.125) / (n + 0.25)), dtype=np.float64)


def mean_sd_from_median(
    median: Any,
    *,
    q1: Any = None,
    q3: Any = None,
    minimum: Any = None,
    maximum: Any = None,
    n: Any,
    mean_method: str = "luo",
    sd_method: str = "shi",
) -> MeanSD:
    r"""Estimate a sample mean and SD from its median and range and/or quartiles.

    The reported numbers pick the scenario of Wan et al. [3]_:

    ===========  ===========================================  =====================
    scenario     given                                        estimators
    ===========  ===========================================  =====================
    S1           ``minimum``, ``median``, ``maximum``         luo, wan, hozo
    S2           ``q1``, ``median``, ``q3``                   luo, wan
    S3           all five                                     luo, wan
    ===========  ===========================================  =====================

    Any other pattern (e.g. a median with only a maximum, or ``q1`` without
    ``q3``) is refused. With :math:`a, q_1, m, q_3, b` the minimum, quartiles,
    median and maximum, :math:`\xi(n) = 2\Phi^{-1}\{(n - 0.375)/(n + 0.25)\}` and
    :math:`\eta(n) = 2\Phi^{-1}\{(0.75n - 0.125)/(n + 0.25)\}`:

    **Mean.** ``"luo"`` (Luo et al. 2018 [4]_, the default; optimal weights):

    * S1: :math:`w\,(a + b)/2 + (1 - w)\,m`, :math:`w = 4/(4 + n^{0.75})`;
    * S2: :math:`w\,(q_1 + q_3)/2 + (1 - w)\,m`, :math:`w = 0.7 + 0.39/n`;
    * S3: :math:`w_1 (a + b)/2 + w_2 (q_1 + q_3)/2 + (1 - w_1 - w_2)\,m`,
      :math:`w_1 = 2.2/(2.2 + n^{0.75})`, :math:`w_2 = 0.7 - 0.72/n^{0.55}`.

    ``"wan"`` (Wan et al. 2014 [3]_): S1 :math:`(a + 2m + b)/4`, S2
    :math:`(q_1 + m + q_3)/3`, S3 :math:`(a + 2q_1 + 2m + 2q_3 + b)/8`.
    ``"hozo"`` (Hozo et al. 2005 [2]_, S1 only):
    :math:`(a + 2m + b)/4 + (a - 2m + b)/(4n)`.

    **SD.** ``"shi"`` (Shi et al. 2020 [5]_, the default): S1 :math:`(b - a)/\xi(n)`
    and S2 :math:`(q_3 - q_1)/\eta(n)` (Wan's estimators, which are already
    optimal there); S3 :math:`w\,(b - a)/\xi(n) + (1 - w)(q_3 - q_1)/\eta(n)`,
    :math:`w = 1/(1 + 0.07\,n^{0.6})`. ``"wan"``: the same in S1 and S2, and S3
    :math:`(b - a)/(2\xi(n)) + (q_3 - q_1)/(2\eta(n))`. ``"hozo"`` (S1 only):
    :math:`\sqrt{\{(a - 2m + b)^2/4 + (b - a)^2\}/12}` for :math:`n \le 15`,
    :math:`(b - a)/4` for :math:`15 < n \le 70`, :math:`(b - a)/6` for
    :math:`n > 70` (Hozo's recommendations by sample size).

    :math:`\xi(n)` and :math:`\eta(n)` are Blom-type approximations of the expected
    range and interquartile range of :math:`n` standard normal observations, used
    for every :math:`n` by ``"shi"`` (as Shi et al.). ``"wan"`` uses, for
    :math:`n \le 50`, the exact expected range instead of :math:`\xi(n)` (Wan et
    al.'s Table 1, computed here by numerical integration; it differs from
    :math:`\xi(n)` by about 0.5 % at :math:`n = 10`), and :math:`\eta(n)` for every
    :math:`n`.

    All these assume roughly normal data; for skewed outcomes the median may
    be the better summary and the estimates are biased (see Shi et al. and the
    how-to page :doc:`/howto/medians`).

    Parameters
    ----------
    median : array_like
        The sample medians.
    q1, q3 : array_like, optional
        The first and third quartiles (give both or neither).
    minimum, maximum : array_like, optional
        The smallest and largest observations (give both or neither).
    n : array_like
        The sample sizes (whole numbers >= 2).
    mean_method : {"luo", "wan", "hozo"}, default "luo"
    sd_method : {"shi", "wan", "hozo"}, default "shi"

    Returns
    -------
    MeanSD
        ``.mean``, ``.sd``, ``.scenario`` and the methods used.

    Raises
    ------
    InvalidParameterError
        If the given numbers fit no scenario, or a method is unknown or not
        defined for the scenario (``"hozo"`` outside S1).
    InvalidDataError
        If the numbers are out of order, ``n`` is not a whole number >= 2, or a
        value is infinite.

    References
    ----------
    .. [2] Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and variance
       from the median, range, and the size of a sample. BMC Med Res Methodol 5:13.
    .. [3] Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and
       standard deviation from the sample size, median, range and/or interquartile
       range. BMC Med Res Methodol 14:135.
    .. [4] Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean
       from the sample size, median, mid-range, and/or mid-quartile range. Stat
       Methods Med Res 27(6):1785-1805.
    .. [5] Shi J, Luo D, Weng H, Zeng XT, Lin L, Chu H, Tong T (2020). Optimally
       estimating the sample standard deviation from the five-number summary. Res
       Synth Methods 11(5):641-654.

    Examples
    --------
    >>> from metapool import convert
    >>> est = convert.mean_sd_from_median(20.0, q1=15.0, q3=27.0, n=50)
    >>> est.scenario, round(float(est.mean), 3), round(float(est.sd), 3)
    ('S2', 20.708, 9.16)
    """
    owner = "convert.mean_sd_from_median"
    mean_method = check_choice(owner, "mean_method", mean_method, ("luo", "wan", "hozo"))
    sd_method = check_choice(owner, "sd_method", sd_method, ("shi", "wan", "hozo"))
    given = {
        name
        for name, value in (("q1", q1), ("q3", q3), ("minimum", minimum), ("maximum", maximum))
        if value is not None
    }
    patterns = {
        frozenset({"minimum", "maximum"}): "S1",
        frozenset({"q1", "q3"}): "S2",
        frozenset({"minimum", "maximum", "q1", "q3"}): "S3",
    }
    scenario = patterns.get(frozenset(given))
    if scenario is None:
        shown = ", ".join(sorted(given)) if given else "nothing"
        raise InvalidParameterError(
            f"{owner}: the median with {shown} fits no scenario. Give 'minimum' and "
            "'maximum' (S1), 'q1' and 'q3' (S2), or all four (S3)."
        )
    for method, name in ((mean_method, "mean_method"), (sd_method, "sd_method")):
        if method == "hozo" and scenario != "S1":
            raise InvalidParameterError(
                f"The '{name}' parameter of {owner}: 'hozo' is defined for the range "
                f"(scenario S1: {SCENARIOS['S1']}) only; scenario {scenario} was given. "
                "Use 'luo'/'shi' or 'wan'."
            )
    values: dict[str, Any] = {"median": median, "n": n}
    for name, value in (("minimum", minimum), ("q1", q1), ("q3", q3), ("maximum", maximum)):
        if value is not None:
            values[name] = value
    arr = _arrays(owner, **values)
    size = arr["n"]
    _require_n(owner, "n", size, 2)
    order = [
        (name, arr[name]) for name in ("minimum", "q1", "median", "q3", "maximum") if name in arr
    ]
    _ordered(owner, order)
    m = arr["median"]
    absent = np.full_like(m, np.nan)  # never used: the scenario says which are given
    a, b = arr.get("minimum", absent), arr.get("maximum", absent)
    lq, uq = arr.get("q1", absent), arr.get("q3", absent)

    if mean_method == "wan":
        if scenario == "S1":
            mean = (a + 2.0 * m + b) / 4.0
        elif scenario == "S2":
            mean = (lq + m + uq) / 3.0
        else:
            mean = (a + 2.0 * lq + 2.0 * m + 2.0 * uq + b) / 8.0
    elif mean_method == "hozo":
        mean = (a + 2.0 * m + b) / 4.0 + (a - 2.0 * m + b) / (4.0 * size)
    elif scenario == "S1":
        w = 4.0 / (4.0 + size**0.75)
        mean = w * (a + b) / 2.0 + (1.0 - w) * m
    elif scenario == "S2":
        w = 0.7 + 0.39 / size
        mean = w * (lq + uq) / 2.0 + (1.0 - w) * m
    else:
        w1 = 2.2 / (2.2 + size**0.75)
        w2 = 0.7 - 0.72 / size**0.55
        mean = w1 * (a + b) / 2.0 + w2 * (lq + uq) / 2.0 + (1.0 - w1 - w2) * m

    if sd_method == "hozo":
        small = np.sqrt(((a - 2.0 * m + b) ** 2 / 4.0 + (b - a) ** 2) / 12.0)
        sd = np.where(size <= 15, small, np.where(size <= 70, (b - a) / 4.0, (b - a) / 6.0))
    elif scenario == "S1":
        sd = (b - a) / (_xi_wan(size) if sd_method == "wan" else _xi(size))
    elif scenario == "S2":
        sd = (uq - lq) / _eta(size)
    else:
        xi = _xi_wan(size) if sd_method == "wan" else _xi(size)
        from_range, from_iqr = (b - a) / xi, (uq - lq) / _eta(size)
        w = np.full_like(size, 0.5) if sd_method == "wan" else 1.0 / (1.0 + 0.07 * size**0.6)
        sd = w * from_range + (1.0 - w) * from_iqr
    return MeanSD(
        mean=_value(np.asarray(mean, dtype=np.float64)),
        sd=_value(np.asarray(sd, dtype=np.float64)),
        scenario=scenario,
        mean_method=mean_method,
        sd_method=sd_method,
    )


# ------------------------------------------------- SD from SE, CI, t, P (Handbook)
def sd_from_se(se: Any, n: Any) -> SDEstimate:
    r"""The SD of a group from the standard error of its mean: :math:`SD = SE\sqrt{n}`.

    Cochrane Handbook §6.5.2.2 [1]_.

    Parameters
    ----------
    se : array_like
        Standard errors of the group means (>= 0).
    n : array_like
        Group sizes (whole numbers >= 1).

    Returns
    -------
    SDEstimate

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    >>> from metapool import convert
    >>> float(convert.sd_from_se(0.5, 25).sd)
    2.5
    """
    owner = "convert.sd_from_se"
    arr = _arrays(owner, se=se, n=n)
    _require(owner, "se", arr["se"], arr["se"] >= 0, ">= 0")
    _require_n(owner, "n", arr["n"], 1)
    return SDEstimate(sd=_value(arr["se"] * np.sqrt(arr["n"])))


def sd_from_ci(low: Any, high: Any, n: Any, level: float = 0.95, dist: str = "t") -> SDEstimate:
    r"""The SD of a group from a confidence interval of its mean.

    .. math:: SD = \sqrt{n}\,\frac{\text{high} - \text{low}}{2\,q}

    with :math:`q` the :math:`(1 + \text{level})/2` quantile of the t distribution
    with :math:`n - 1` degrees of freedom (``dist="t"``, the default, right for
    small groups) or of the standard normal (``dist="normal"``: 3.92 = 2 × 1.96
    for 95% intervals); Cochrane Handbook §6.5.2.2 [1]_.

    Parameters
    ----------
    low, high : array_like
        The confidence limits of the group mean.
    n : array_like
        Group sizes (whole numbers >= 2).
    level : float, default 0.95
    dist : {"t", "normal"}, default "t"

    Returns
    -------
    SDEstimate

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    The Handbook's example, a 95% CI of 3.0 to 7.0 in a group of 25:

    >>> from metapool import convert
    >>> round(float(convert.sd_from_ci(3.0, 7.0, 25, dist="normal").sd), 2)
    5.1
    >>> round(float(convert.sd_from_ci(3.0, 7.0, 25).sd), 2)
    4.85
    """
    owner = "convert.sd_from_ci"
    level = check_level(owner, level)
    dist = check_choice(owner, "dist", dist, ("t", "normal"))
    arr = _arrays(owner, low=low, high=high, n=n)
    _require_n(owner, "n", arr["n"], 2)
    _ordered(owner, [("low", arr["low"]), ("high", arr["high"])])
    q = _quantile(owner, dist, np.full_like(arr["n"], (1.0 - level) / 2.0), arr["n"] - 1.0)
    return SDEstimate(sd=_value(np.sqrt(arr["n"]) * (arr["high"] - arr["low"]) / (2.0 * q)))


def sd_from_t(t: Any, n1: Any, n2: Any, mean_difference: Any) -> SDEstimate:
    r"""The common SD of two groups from the t statistic of their mean difference.

    .. math::

        SE = \frac{|\text{MD}|}{|t|}, \qquad SD = \frac{SE}{\sqrt{1/n_1 + 1/n_2}}

    (Cochrane Handbook §6.5.2.3 [1]_); the SD is to be used for both groups.

    Parameters
    ----------
    t : array_like
        The t statistics (non-zero; the sign is ignored).
    n1, n2 : array_like
        Group sizes (whole numbers >= 1).
    mean_difference : array_like
        The mean differences.

    Returns
    -------
    SDEstimate

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    >>> from metapool import convert
    >>> round(float(convert.sd_from_t(2.78, 25, 22, 3.8).sd), 2)
    4.68
    """
    owner = "convert.sd_from_t"
    arr = _arrays(owner, t=t, n1=n1, n2=n2, mean_difference=mean_difference)
    _require(owner, "t", arr["t"], arr["t"] != 0, "non-zero")
    _require_n(owner, "n1", arr["n1"], 1)
    _require_n(owner, "n2", arr["n2"], 1)
    se = np.abs(arr["mean_difference"]) / np.abs(arr["t"])
    return SDEstimate(sd=_value(se / np.sqrt(1.0 / arr["n1"] + 1.0 / arr["n2"])))


def sd_from_p(p: Any, n1: Any, n2: Any, mean_difference: Any, dist: str = "t") -> SDEstimate:
    r"""The common SD of two groups from the two-sided P value of their mean difference.

    The P value gives the statistic :math:`t = F^{-1}(1 - p/2)`, with :math:`F` the
    t distribution with :math:`n_1 + n_2 - 2` degrees of freedom (``dist="t"``) or
    the standard normal (``dist="normal"``), and then :func:`sd_from_t` (Cochrane
    Handbook §6.5.2.3 [1]_). The P value must be exact: one reported as
    "P < 0.05" does not give an SD.

    Parameters
    ----------
    p : array_like
        Two-sided P values in (0, 1).
    n1, n2 : array_like
        Group sizes (whole numbers >= 1, with n1 + n2 >= 3 for ``dist="t"``).
    mean_difference : array_like
    dist : {"t", "normal"}, default "t"

    Returns
    -------
    SDEstimate

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    The Handbook's example, MD 3.8 with P = 0.008 in groups of 25 and 22 (t = 2.78):

    >>> from metapool import convert
    >>> round(float(convert.sd_from_p(0.008, 25, 22, 3.8).sd), 2)
    4.68
    """
    owner = "convert.sd_from_p"
    dist = check_choice(owner, "dist", dist, ("t", "normal"))
    arr = _arrays(owner, p=p, n1=n1, n2=n2, mean_difference=mean_difference)
    _require(owner, "p", arr["p"], (arr["p"] > 0) & (arr["p"] < 1), "in (0, 1)")
    _require_n(owner, "n1", arr["n1"], 1)
    _require_n(owner, "n2", arr["n2"], 1)
    df = arr["n1"] + arr["n2"] - 2.0
    if dist == "t":
        _require(owner, "n2", arr["n2"], df >= 1, "such that n1 + n2 >= 3 (df >= 1)")
    t = _quantile(owner, dist, arr["p"] / 2.0, df)
    return sd_from_t(t, arr["n1"], arr["n2"], arr["mean_difference"])


# ------------------------------------------------------------------ other helpers
def combine_groups(n1: Any, mean1: Any, sd1: Any, n2: Any, mean2: Any, sd2: Any) -> CombinedGroups:
    r"""Merge two groups (e.g. two doses of one drug) into one group.

    .. math::

        N = n_1 + n_2, \qquad M = \frac{n_1 m_1 + n_2 m_2}{N}, \qquad
        SD = \sqrt{\frac{(n_1 - 1) s_1^2 + (n_2 - 1) s_2^2
        + \frac{n_1 n_2}{N}(m_1 - m_2)^2}{N - 1}}

    (Cochrane Handbook §6.5.2.10, Table 6.5.a [1]_). These are exactly the size,
    mean and SD (with ``ddof=1``) of the pooled sample; merge more groups by
    applying the formula repeatedly.

    Parameters
    ----------
    n1, mean1, sd1, n2, mean2, sd2 : array_like
        Sizes (whole numbers >= 1), means and SDs (>= 0) of the two groups.

    Returns
    -------
    CombinedGroups
        ``.n``, ``.mean``, ``.sd``.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    >>> from metapool import convert
    >>> g = convert.combine_groups(10, 5.0, 1.0, 20, 6.0, 2.0)
    >>> float(g.n), round(float(g.mean), 4), round(float(g.sd), 4)
    (30.0, 5.6667, 1.7779)
    """
    owner = "convert.combine_groups"
    arr = _arrays(owner, n1=n1, mean1=mean1, sd1=sd1, n2=n2, mean2=mean2, sd2=sd2)
    for name in ("n1", "n2"):
        _require_n(owner, name, arr[name], 1)
    for name in ("sd1", "sd2"):
        _require(owner, name, arr[name], arr[name] >= 0, ">= 0")
    a, b = arr["n1"], arr["n2"]
    total = a + b
    mean = (a * arr["mean1"] + b * arr["mean2"]) / total
    ss = (
        (a - 1.0) * arr["sd1"] ** 2
        + (b - 1.0) * arr["sd2"] ** 2
        + a * b / total * (arr["mean1"] - arr["mean2"]) ** 2
    )
    return CombinedGroups(
        n=_value(total), mean=_value(mean), sd=_value(np.sqrt(ss / (total - 1.0)))
    )


def correlation_from_sds(sd_pre: Any, sd_post: Any, sd_change: Any) -> Any:
    r"""Impute the correlation between baseline and follow-up measurements.

    From a study that reports the SDs at baseline, at follow-up and of the change,

    .. math:: r = \frac{SD_\text{pre}^2 + SD_\text{post}^2 - SD_\text{change}^2}
                       {2\,SD_\text{pre}\,SD_\text{post}}

    (Cochrane Handbook §6.5.2.8 [1]_); it can then be used to impute the SD of the
    change in studies that do not report it,

    .. math:: SD_\text{change} = \sqrt{SD_\text{pre}^2 + SD_\text{post}^2
              - 2 r\,SD_\text{pre} SD_\text{post}}.

    Parameters
    ----------
    sd_pre, sd_post : array_like
        SDs at baseline and follow-up (> 0).
    sd_change : array_like
        SDs of the change from baseline (>= 0).

    Returns
    -------
    float or ndarray
        The correlations, in [-1, 1].

    Raises
    ------
    InvalidDataError
        If an SD is out of range, or the three SDs are inconsistent (the
        correlation falls outside [-1, 1]; the message names the row).

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.

    Examples
    --------
    >>> from metapool import convert
    >>> round(float(convert.correlation_from_sds(4.0, 4.5, 3.0)), 4)
    0.7569
    """
    owner = "convert.correlation_from_sds"
    arr = _arrays(owner, sd_pre=sd_pre, sd_post=sd_post, sd_change=sd_change)
    _require(owner, "sd_pre", arr["sd_pre"], arr["sd_pre"] > 0, "> 0")
    _require(owner, "sd_post", arr["sd_post"], arr["sd_post"] > 0, "> 0")
    _require(owner, "sd_change", arr["sd_change"], arr["sd_change"] >= 0, ">= 0")
    pre, post, change = arr["sd_pre"], arr["sd_post"], arr["sd_change"]
    r = (pre**2 + post**2 - change**2) / (2.0 * pre * post)
    tol = 1e-12
    _require(
        owner,
        "sd_change",
        change,
        (r >= -1.0 - tol) & (r <= 1.0 + tol),
        "between |sd_pre - sd_post| and sd_pre + sd_post (else the correlation is outside [-1, 1])",
    )
    return _value(np.clip(r, -1.0, 1.0))


_LOGIT_SD = math.pi / math.sqrt(3.0)  # the SD of the standard logistic distribution


def _optional_vi(owner: str, vi: Any, shape_of: Array) -> Array | None:
    if vi is None:
        return None
    arr = _arrays(owner, vi=vi, like=shape_of)["vi"]
    _require(owner, "vi", arr, arr >= 0, ">= 0")
    return arr


def log_odds_ratio_from_smd(smd: Any, vi: Any = None) -> LogOddsRatio:
    r"""A standardised mean difference as a log odds ratio (Chinn 2000 [6]_).

    .. math:: \ln OR = \frac{\pi}{\sqrt 3}\,d, \qquad v_{\ln OR} = \frac{\pi^2}{3}\,v_d

    It assumes a logistic distribution of the underlying continuous outcome
    (approximately normal) with equal variances in the two groups (Cochrane
    Handbook §10.6 [1]_).

    Parameters
    ----------
    smd : array_like
        Standardised mean differences.
    vi : array_like, optional
        Their variances (>= 0).

    Returns
    -------
    LogOddsRatio
        ``.yi``, ``.vi`` (None when ``vi`` was not given).

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
       measures and computing estimates of effect. Cochrane Handbook for Systematic
       Reviews of Interventions, version 6.4, §6.5.2.
    .. [6] Chinn S (2000). A simple method for converting an odds ratio to effect
       size for use in meta-analysis. Stat Med 19(22):3127-3131.

    Examples
    --------
    >>> from metapool import convert
    >>> round(float(convert.log_odds_ratio_from_smd(0.5).yi), 4)
    0.9069
    """
    owner = "convert.log_odds_ratio_from_smd"
    d = _arrays(owner, smd=smd)["smd"]
    v = _optional_vi(owner, vi, d)
    return LogOddsRatio(
        yi=_value(d * _LOGIT_SD),
        vi=None if v is None else _value(v * _LOGIT_SD**2),
    )


def smd_from_log_odds_ratio(log_or: Any, vi: Any = None) -> SMDEstimate:
    r"""A log odds ratio as a standardised mean difference (Chinn 2000 [6]_).

    .. math:: d = \frac{\sqrt 3}{\pi}\,\ln OR, \qquad v_d = \frac{3}{\pi^2}\,v_{\ln OR}

    The inverse of :func:`log_odds_ratio_from_smd`, under the same assumptions.

    Parameters
    ----------
    log_or : array_like
        Log odds ratios.
    vi : array_like, optional
        Their variances (>= 0).

    Returns
    -------
    SMDEstimate
        ``.yi``, ``.vi`` (None when ``vi`` was not given).

    References
    ----------
    .. [6] Chinn S (2000). A simple method for converting an odds ratio to effect
       size for use in meta-analysis. Stat Med 19(22):3127-3131.

    Examples
    --------
    >>> import math
    >>> from metapool import convert
    >>> round(float(convert.smd_from_log_odds_ratio(math.log(2.0)).yi), 4)
    0.3822
    """
    owner = "convert.smd_from_log_odds_ratio"
    y = _arrays(owner, log_or=log_or)["log_or"]
    v = _optional_vi(owner, vi, y)
    return SMDEstimate(
        yi=_value(y / _LOGIT_SD),
        vi=None if v is None else _value(v / _LOGIT_SD**2),
    )
