"""Ratio of means, heteroscedastic SMD, and pre-post (paired) mean changes.

Two-group measures: :class:`RatioOfMeans` (metafor's ``ROM``) and :class:`SMDH`
(``SMDH``). Single-group pre-post measures: :class:`MeanChange` (``MC``) and
:class:`StandardizedMeanChange` (``SMCC``, ``SMCR``).

metafor's ``escalc`` names the pre-post data ``m1i, m2i, sd1i, sd2i, ni, ri`` with
``yi = m1i - m2i``; metapool names them by occasion. The mapping of the escalc
adapters (and of :doc:`/howto/prepost`):

=========  ==========================================================
metafor    metapool
=========  ==========================================================
``m1i``    ``mean_post`` (the later occasion: ``yi = mean_post - mean_pre``)
``m2i``    ``mean_pre``
``sd1i``   ``sd_post`` for MC and SMCC; ``sd_pre`` for SMCR, whose only
           SD is the one it standardises by (metafor: "usually the
           pre-test standard deviation")
``sd2i``   ``sd_pre`` for MC and SMCC; ``sd_post`` for SMCR (not used)
``ni``     ``n``
``ri``     ``r`` (the correlation of the pre and post measurements)
=========  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import PreparedInput, prepare_input
from metapool._validation import check_choice, check_estimable, require
from metapool.effects._base import EffectSet, array_field, study_array
from metapool.effects._escalc import EscalcArgs, refuse_leftovers, register_escalc, take
from metapool.effects._measure import MEASURES
from metapool.effects.continuous import hedges_correction
from metapool.exceptions import InvalidDataError, InvalidParameterError

__all__ = ["SMDH", "MeanChange", "RatioOfMeans", "StandardizedMeanChange"]

Array = NDArray[np.float64]
_ARMS = ("mean1", "sd1", "n1", "mean2", "sd2", "n2")
_PAIRED = ("mean_post", "mean_pre", "sd_post", "sd_pre", "n", "r")
_T = TypeVar("_T", bound="_TwoGroup")
_MC = TypeVar("_MC", bound="MeanChange")
_SMC = TypeVar("_SMC", bound="StandardizedMeanChange")


def _store(cls: Any, prep: PreparedInput, yi: Array, vi: Array, code: str, **extra: Any) -> Any:
    """Check ``yi``/``vi`` (naming the first study that is not estimable) and store."""
    yi = np.asarray(yi, dtype=np.float64)
    vi = np.asarray(vi, dtype=np.float64)
    check_estimable(cls.__name__, yi, vi, prep.arrays, prep.labels, prep.index)
    stored: dict[str, Any] = {
        "yi": yi,
        "vi": vi,
        "labels": prep.labels,
        "index": prep.index,
        "excluded": prep.excluded,
        "measure": MEASURES[code],
        **extra,
    }
    return cls(**stored)


def _n_weighted_mean(x: Array, n: Array) -> float:
    return float(np.sum(n * x) / np.sum(n))


# ---------------------------------------------------------------------------- two groups
@attrs.frozen(init=False, kw_only=True)
class _TwoGroup(EffectSet):
    mean1: Array = study_array()
    sd1: Array = study_array()
    n1: Array = study_array()
    mean2: Array = study_array()
    sd2: Array = study_array()
    n2: Array = study_array()
    variance: str = "LS"

    _public_constructor: ClassVar[str | None] = "from_means"
    _variances: ClassVar[tuple[str, ...]] = ("LS",)
    _positive_means: ClassVar[bool] = False
    _code: ClassVar[str] = ""

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_means)

        def __init__(
            self,
            *,
            mean1: Any,
            sd1: Any,
            n1: Any,
            mean2: Any,
            sd2: Any,
            n2: Any,
            labels: Any = None,
            data: Any = None,
            variance: str = "LS",
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_means(
        cls: type[_T],
        *,
        mean1: Any,
        sd1: Any,
        n1: Any,
        mean2: Any,
        sd2: Any,
        n2: Any,
        labels: Any = None,
        data: Any = None,
        variance: str = "LS",
        nan_policy: str = "raise",
    ) -> _T:
        """The effect set of arm-level means, SDs and sizes.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).
        """
        owner = cls.__name__
        variance = check_choice(owner, "variance", variance, cls._variances)
        values = dict(zip(_ARMS, (mean1, sd1, n1, mean2, sd2, n2), strict=True))
        prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
        a = prep.arrays
        for arm in ("1", "2"):
            if cls._positive_means:
                m = a["mean" + arm]
                why = "> 0 (a ratio of means needs ratio-scale data)"
                require(owner, "mean" + arm, m, m > 0, why, prep.labels, prep.index)
            sd, n = a["sd" + arm], a["n" + arm]
            require(owner, "sd" + arm, sd, sd >= 0, ">= 0", prep.labels, prep.index)
            why = ">= 2 (an SD needs two values)"
            require(owner, "n" + arm, n, n >= 2, why, prep.labels, prep.index)
        if variance not in ("AV", "AVHO"):  # these take the SDs of all studies
            sd2 = a["sd2"]
            ok = (a["sd1"] > 0) | (sd2 > 0)
            why = "> 0 where sd1 is 0 (with both SDs 0 the study has no variance)"
            require(owner, "sd2", sd2, ok, why, prep.labels, prep.index)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            yi, vi = cls._compute(a, variance)
        return _store(cls, prep, yi, vi, cls._code, variance=variance, **a)  # type: ignore[no-any-return]

    @staticmethod
    def _compute(a: dict[str, Array], variance: str) -> tuple[Array, Array]:
        """``(yi, vi)`` of the cleaned arm data; each concrete class (RatioOfMeans, SMDH)
        defines its formula. This private base is never instantiated."""
        raise NotImplementedError  # pragma: no cover - every subclass overrides it

    def arm_data(self) -> dict[str, Array]:
        return {name: getattr(self, name) for name in _ARMS}


@attrs.frozen(init=False, kw_only=True)
class RatioOfMeans(_TwoGroup):
    """Log ratio of means (response ratio), group 1 = experimental; metafor's ``ROM``.

    ``yi = log(mean1 / mean2)``, analysed on the log scale; pooled results
    back-transform to a ratio of means (null value 1). The variance is
    (Hedges et al. 1999, eq. 1 and the equation after it; Lajeunesse 2011)

    * ``"LS"`` (default): ``sd1²/(n1 mean1²) + sd2²/(n2 mean2²)``;
    * ``"HO"``: the same with the pooled SD
      ``s_p² = ((n1-1) sd1² + (n2-1) sd2²)/(n1+n2-2)`` in place of both SDs;
    * ``"AV"``: ``cv1²/n1 + cv2²/n2`` with ``cv_g`` the ``n``-weighted mean over
      all studies of the coefficients of variation ``sd_g/mean_g`` of group ``g``;
    * ``"AVHO"``: ``cv² (1/n1 + 1/n2)`` with ``cv`` the ``n``-weighted mean of the
      coefficients of variation of both groups over all studies.

    ``"AV"`` and ``"AVHO"`` use every study of the set, so :meth:`subset` keeps the
    variances computed from all of them (as subsetting metafor's escalc output
    does). Calling the class runs :meth:`from_means`.

    Parameters
    ----------
    mean1, sd1, n1 : array_like or column name
        Mean, standard deviation and size of the experimental group (or column
        names in ``data``). Means must be > 0 (the measure is meant for
        ratio-scale data), SDs >= 0, sizes >= 2.
    mean2, sd2, n2 : array_like or column name
        The same for the control group.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``). Default ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        A dict of columns or a pandas/polars DataFrame in which every scalar
        argument is a column name.
    variance : {"LS", "HO", "AV", "AVHO"}, default "LS"
        How the sampling variance is computed (metafor's ``vtype``).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For a mean <= 0, an SD < 0, an n < 2, a missing (with
        ``nan_policy="raise"``) or infinite value, or a variance that is zero (both
        SDs 0) or not finite. The message names the parameter, the study and the
        value.
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        For an unknown ``variance`` or ``nan_policy``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Hedges LV, Gurevitch J, Curtis PS (1999). The meta-analysis of response
       ratios in experimental ecology. Ecology 80(4):1150-1156.
    .. [2] Lajeunesse MJ (2011). On the meta-analysis of response ratios for
       studies with correlated and multi-group designs. Ecology 92(11):2049-2055.

    Examples
    --------
    >>> import metapool as mp
    >>> rom = mp.RatioOfMeans(mean1=[6.0], sd1=[2.0], n1=[10], mean2=[4.0], sd2=[1.0], n2=[10])
    >>> round(float(rom.yi[0]), 6), round(float(rom.vi[0]), 6)
    (0.405465, 0.017361)
    """

    _variances: ClassVar[tuple[str, ...]] = ("LS", "HO", "AV", "AVHO")
    _positive_means: ClassVar[bool] = True
    _code: ClassVar[str] = "ROM"

    @staticmethod
    def _compute(a: dict[str, Array], variance: str) -> tuple[Array, Array]:
        m1, m2, n1, n2 = a["mean1"], a["mean2"], a["n1"], a["n2"]
        sd1, sd2 = a["sd1"], a["sd2"]
        yi = np.log(m1 / m2)
        if variance == "LS":
            vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        elif variance == "HO":
            sp2 = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2)
            vi = sp2 / (n1 * m1**2) + sp2 / (n2 * m2**2)
        elif variance == "AV":
            cv1, cv2 = _n_weighted_mean(sd1 / m1, n1), _n_weighted_mean(sd2 / m2, n2)
            vi = cv1**2 / n1 + cv2**2 / n2
        else:  # AVHO
            cv = float((np.sum(n1 * sd1 / m1) + np.sum(n2 * sd2 / m2)) / np.sum(n1 + n2))
            vi = cv**2 * (1 / n1 + 1 / n2)
        return yi, np.asarray(vi, dtype=np.float64)


@attrs.frozen(init=False, kw_only=True)
class SMDH(_TwoGroup):
    """Standardised mean difference with heteroscedastic variances (Bonett 2009);
    metafor's ``SMDH``. Group 1 = experimental.

    ``yi = J(m) (mean1 - mean2) / s`` with ``s = sqrt((sd1² + sd2²)/2)``, the root
    of the average variance (not the pooled SD of :class:`~metapool.SMD`, so
    unequal group variances are allowed), and Hedges' exact correction ``J(m)``,
    ``m = n1 + n2 - 2`` (:func:`~metapool.effects.continuous.hedges_correction`).
    The variance is

    * ``"LS"`` (default):
      ``J² [yi² (sd1⁴/(n1-1) + sd2⁴/(n2-1)) / (2 (sd1²+sd2²)²)
      + (sd1²/(n1-1) + sd2²/(n2-1)) / s²]``, as metafor computes it;
    * ``"LS2"``: ``yi² (sd1²/n1 + sd2²/n2) / (2 (sd1²+sd2²)²)
      + 2 (sd1²/n1 + sd2²/n2) / (sd1²+sd2²)`` (Bonett 2008, with ``n`` in place of
      ``n - 1``).

    A class of its own rather than an option of :class:`~metapool.SMD`: the
    standardiser, and so the meaning of the effect, differs. Calling the class
    runs :meth:`from_means`.

    Parameters
    ----------
    mean1, sd1, n1, mean2, sd2, n2 : array_like or column name
        Arm-level data (or column names in ``data``), one real number per study;
        SDs >= 0 (not both 0), sizes >= 2.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``).
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    variance : {"LS", "LS2"}, default "LS"
        How the sampling variance is computed (metafor's ``vtype``).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For an SD < 0, an n < 2, a missing or infinite value, or both SDs 0 (the
        effect cannot be computed). The message names the parameter, the study
        and the value.
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        For an unknown ``variance`` or ``nan_policy``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Bonett DG (2008). Confidence intervals for standardized linear contrasts
       of means. Psychol Methods 13(2):99-109.
    .. [2] Bonett DG (2009). Meta-analytic interval estimation for standardized and
       unstandardized mean differences. Psychol Methods 14(3):225-238.

    Examples
    --------
    >>> import metapool as mp
    >>> g = mp.SMDH(mean1=[5.0], sd1=[2.0], n1=[20], mean2=[6.0], sd2=[1.0], n2=[20])
    >>> round(float(g.yi[0]), 6)
    -0.619876
    """

    _variances: ClassVar[tuple[str, ...]] = ("LS", "LS2")
    _code: ClassVar[str] = "SMDH"

    @staticmethod
    def _compute(a: dict[str, Array], variance: str) -> tuple[Array, Array]:
        s1, s2, n1, n2 = a["sd1"] ** 2, a["sd2"] ** 2, a["n1"], a["n2"]
        j = hedges_correction(n1 + n2 - 2)
        yi = j * (a["mean1"] - a["mean2"]) / np.sqrt((s1 + s2) / 2)
        if variance == "LS":
            vi = yi**2 * (s1**2 / (n1 - 1) + s2**2 / (n2 - 1)) / (2 * (s1 + s2) ** 2) + (
                s1 / (n1 - 1) + s2 / (n2 - 1)
            ) / ((s1 + s2) / 2)
            vi = j**2 * vi
        else:
            vi = (
                yi**2 * s1 / (2 * n1 * (s1 + s2) ** 2)
                + yi**2 * s2 / (2 * n2 * (s1 + s2) ** 2)
                + 2 * s1 / (n1 * (s1 + s2))
                + 2 * s2 / (n2 * (s1 + s2))
            )
        return yi, vi


# ------------------------------------------------------------------------------ pre-post
def _prepare_paired(
    owner: str,
    values: dict[str, Any],
    data: Any,
    labels: Any,
    nan_policy: str,
    min_n: float,
    why_n: str,
    positive_sd: tuple[str, ...] = (),
) -> PreparedInput:
    prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
    a = prep.arrays
    for name in ("sd_post", "sd_pre"):
        if name in a:
            sd = a[name]
            if name in positive_sd:
                why = "> 0 (it standardises the change)"
                require(owner, name, sd, sd > 0, why, prep.labels, prep.index)
            require(owner, name, sd, sd >= 0, ">= 0", prep.labels, prep.index)
    n, r = a["n"], a["r"]
    require(owner, "n", n, n >= min_n, why_n, prep.labels, prep.index)
    require(owner, "r", r, np.abs(r) <= 1, "in [-1, 1] (a correlation)", prep.labels, prep.index)
    if "sd_post" in a and not positive_sd:  # the change scores need a variance
        why = "such that the change scores vary (sd_post² + sd_pre² - 2 r sd_post sd_pre > 0)"
        with np.errstate(over="ignore"):
            ok = _change_variance(a) > 0
        require(owner, "r", r, ok, why, prep.labels, prep.index)
    return prep


def _optional_array(value: Any) -> Array | None:
    return None if value is None else np.asarray(value, dtype=np.float64)


def _optional_per_study(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and np.shape(value) != np.shape(instance.yi):
        raise InvalidDataError(
            f"{type(instance).__name__}: '{attribute.name}' must have one entry per study "
            f"(k = {np.shape(instance.yi)[0]}); got shape {np.shape(value)}."
        )


@attrs.frozen(init=False, kw_only=True)
class _PrePost(EffectSet):
    mean_post: Array = study_array()
    mean_pre: Array = study_array()
    sd_pre: Array = study_array()
    n: Array = study_array()
    r: Array = study_array()
    #: None where not given (raw-score standardisation does not use it); an array
    #: is sliced by subset as every per-study array is
    sd_post: Array | None = array_field(
        converter=_optional_array, validator=_optional_per_study, default=None
    )

    def arm_data(self) -> dict[str, Array]:
        values = {name: getattr(self, name) for name in _PAIRED}
        return {name: value for name, value in values.items() if value is not None}


@attrs.frozen(init=False, kw_only=True)
class MeanChange(_PrePost):
    """Raw mean change of one group measured twice (pre-post or matched pairs);
    metafor's ``MC``.

    ``yi = mean_post - mean_pre`` and
    ``vi = (sd_post² + sd_pre² - 2 r sd_post sd_pre) / n``, the variance of the
    mean of the change scores (Morris & DeShon 2002). When a study reports the
    SD of the change scores ``sd_change`` instead, give ``sd_post=sd_change``,
    ``sd_pre=0`` and ``r=0``. A single-group measure: it has no null value in
    plots (no null line, no "favours" labels). Calling the class runs
    :meth:`from_means`.

    In metafor's terms (``escalc("MC", m1i, m2i, sd1i, sd2i, ni, ri)``):
    ``m1i = mean_post``, ``m2i = mean_pre``, ``sd1i = sd_post``, ``sd2i = sd_pre``,
    ``ni = n``, ``ri = r``.

    Parameters
    ----------
    mean_post, mean_pre : array_like or column name
        Means at the later and the earlier occasion (or column names in ``data``).
    sd_post, sd_pre : array_like or column name
        Their standard deviations, >= 0.
    n : array_like or column name
        Number of people measured on both occasions, >= 2.
    r : array_like or column name
        Correlation of the two measurements, in [-1, 1].
    labels : sequence or column name, optional
        Study labels (converted with ``str()``).
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For an SD < 0, an n < 2, an r outside [-1, 1], a missing or infinite value,
        or a variance of zero (e.g. equal SDs with r = 1). The message names the
        parameter, the study and the value.
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        For an unknown ``nan_policy``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Morris SB, DeShon RP (2002). Combining effect size estimates in
       meta-analysis with repeated measures and independent-groups designs.
       Psychol Methods 7(1):105-125.

    Examples
    --------
    >>> import metapool as mp
    >>> mc = mp.MeanChange(mean_post=[12.0], mean_pre=[10.0], sd_post=[3.0], sd_pre=[2.0],
    ...                    n=[25], r=[0.5])
    >>> mc.yi.tolist(), mc.vi.round(6).tolist()
    ([2.0], [0.28])
    """

    _public_constructor: ClassVar[str | None] = "from_means"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_means)

        def __init__(
            self,
            *,
            mean_post: Any,
            mean_pre: Any,
            sd_post: Any,
            sd_pre: Any,
            n: Any,
            r: Any,
            labels: Any = None,
            data: Any = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_means(
        cls: type[_MC],
        *,
        mean_post: Any,
        mean_pre: Any,
        sd_post: Any,
        sd_pre: Any,
        n: Any,
        r: Any,
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
    ) -> _MC:
        """The MeanChange of pre and post means and SDs, sizes and correlations.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        MeanChange
        """
        owner = cls.__name__
        values = dict(zip(_PAIRED, (mean_post, mean_pre, sd_post, sd_pre, n, r), strict=True))
        prep = _prepare_paired(
            owner, values, data, labels, nan_policy, 2.0, ">= 2 (an SD needs two values)"
        )
        a = prep.arrays
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            yi = a["mean_post"] - a["mean_pre"]
            vi = _change_variance(a) / a["n"]
        return _store(cls, prep, yi, vi, "MC", **a)  # type: ignore[no-any-return]


def _change_variance(a: dict[str, Array]) -> Array:
    """Variance of the change scores, ``sd_post² + sd_pre² - 2 r sd_post sd_pre``."""
    s1, s2 = a["sd_post"], a["sd_pre"]
    return np.asarray(s1**2 + s2**2 - 2 * a["r"] * s1 * s2, dtype=np.float64)


@attrs.frozen(init=False, kw_only=True)
class StandardizedMeanChange(_PrePost):
    """Standardised mean change of one group measured twice; metafor's ``SMCC``
    (change-score standardisation) and ``SMCR`` (raw-score standardisation).

    ``d = (mean_post - mean_pre) / s`` and ``yi = J(n - 1) d`` with Hedges' exact
    correction (:func:`~metapool.effects.continuous.hedges_correction`), where

    * ``standardizer="change"`` (``SMCC``, Gibbons et al. 1993):
      ``s = sqrt(sd_post² + sd_pre² - 2 r sd_post sd_pre)``, the SD of the change
      scores, and ``vi = 1/n + yi²/(2n)`` (``variance="LS"``) or
      ``J² (1/n + d²/(2n))`` (``"LS2"``);
    * ``standardizer="raw"`` (``SMCR``, Becker 1988): ``s = sd_pre``, the SD of the
      raw scores before, and ``vi = 2(1 - r)/n + yi²/(2n)`` (``"LS"``) or
      ``J² (2(1 - r)/n + d²/(2n))`` (``"LS2"``). ``sd_post`` is not used and may be
      left out; to standardise by the post-test SD, give it as ``sd_pre``.

    A single-group measure: no null value in plots (no null line, no "favours"
    labels). Calling the class runs :meth:`from_means`.

    In metafor's terms: ``m1i = mean_post``, ``m2i = mean_pre``, ``ni = n``,
    ``ri = r``; for ``SMCC`` ``sd1i = sd_post``, ``sd2i = sd_pre``; for ``SMCR``
    ``sd1i = sd_pre`` (the SD it standardises by, "usually the pre-test standard
    deviation" in metafor's documentation).

    Parameters
    ----------
    mean_post, mean_pre : array_like or column name
        Means at the later and the earlier occasion (or column names in ``data``).
    sd_pre : array_like or column name
        SD at the earlier occasion (> 0 with ``standardizer="raw"``, else >= 0).
    n : array_like or column name
        Number of people measured on both occasions, >= 3 (the correction
        ``J(n - 1)`` needs ``n - 1 > 1``).
    r : array_like or column name
        Correlation of the two measurements, in [-1, 1].
    sd_post : array_like or column name, optional
        SD at the later occasion, >= 0; required with ``standardizer="change"``.
    standardizer : {"change", "raw"}, default "change"
        Standardise by the SD of the change scores or by ``sd_pre``.
    variance : {"LS", "LS2"}, default "LS"
        How the sampling variance is computed (metafor's ``vtype``).
    labels : sequence or column name, optional
        Study labels (converted with ``str()``).
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For an SD < 0 (``sd_pre`` <= 0 with ``"raw"``), an n < 3, an r outside
        [-1, 1], a missing or infinite value, or a change-score SD of zero (equal
        SDs with r = 1). The message names the parameter, the study and the value.
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        For an unknown ``standardizer``, ``variance`` or ``nan_policy``, or
        ``standardizer="change"`` without ``sd_post``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Becker BJ (1988). Synthesizing standardized mean-change measures.
       Br J Math Stat Psychol 41(2):257-278.
    .. [2] Gibbons RD, Hedeker DR, Davis JM (1993). Estimation of effect size from
       a series of experiments involving paired comparisons. J Educ Stat
       18(3):271-279.
    .. [3] Morris SB (2000). Distribution of the standardized mean change effect
       size for meta-analysis on repeated measures. Br J Math Stat Psychol
       53(1):17-29.

    Examples
    --------
    >>> import metapool as mp
    >>> raw = mp.StandardizedMeanChange(mean_post=[12.0], mean_pre=[10.0], sd_pre=[4.0],
    ...                                 n=[25], r=[0.5], standardizer="raw")
    >>> round(float(raw.yi[0]), 6), round(float(raw.vi[0]), 6)
    (0.484183, 0.044689)
    """

    standardizer: str = "change"
    variance: str = "LS"

    _public_constructor: ClassVar[str | None] = "from_means"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_means)

        def __init__(
            self,
            *,
            mean_post: Any,
            mean_pre: Any,
            sd_pre: Any,
            n: Any,
            r: Any,
            sd_post: Any = None,
            standardizer: str = "change",
            variance: str = "LS",
            labels: Any = None,
            data: Any = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_means(
        cls: type[_SMC],
        *,
        mean_post: Any,
        mean_pre: Any,
        sd_pre: Any,
        n: Any,
        r: Any,
        sd_post: Any = None,
        standardizer: str = "change",
        variance: str = "LS",
        labels: Any = None,
        data: Any = None,
        nan_policy: str = "raise",
    ) -> _SMC:
        """The StandardizedMeanChange of pre and post means and SDs, sizes and
        correlations.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        StandardizedMeanChange
        """
        owner = cls.__name__
        standardizer = check_choice(owner, "standardizer", standardizer, ("change", "raw"))
        variance = check_choice(owner, "variance", variance, ("LS", "LS2"))
        if standardizer == "change" and sd_post is None:
            raise InvalidParameterError(
                f"{owner}: standardizer='change' needs 'sd_post' (the SD of the change "
                "scores comes from both SDs and r). Got sd_post=None; give it, or use "
                "standardizer='raw'."
            )
        values: dict[str, Any] = {"mean_post": mean_post, "mean_pre": mean_pre}
        if sd_post is not None:
            values["sd_post"] = sd_post
        values.update(sd_pre=sd_pre, n=n, r=r)
        prep = _prepare_paired(
            owner,
            values,
            data,
            labels,
            nan_policy,
            3.0,
            ">= 3 (the small-sample correction J(n - 1) needs n - 1 > 1)",
            positive_sd=("sd_pre",) if standardizer == "raw" else (),
        )
        a = prep.arrays
        n_arr, r_arr = a["n"], a["r"]
        j = hedges_correction(n_arr - 1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            if standardizer == "change":
                d = (a["mean_post"] - a["mean_pre"]) / np.sqrt(_change_variance(a))
                base = 1 / n_arr
            else:
                d = (a["mean_post"] - a["mean_pre"]) / a["sd_pre"]
                base = 2 * (1 - r_arr) / n_arr
            yi = j * d
            if variance == "LS":
                vi = base + yi**2 / (2 * n_arr)
            else:
                vi = j**2 * (base + d**2 / (2 * n_arr))
        code = "SMCC" if standardizer == "change" else "SMCR"
        return _store(  # type: ignore[no-any-return]
            cls, prep, yi, vi, code, standardizer=standardizer, variance=variance, **a
        )


# --------------------------------------------------------------------------- escalc
def _vtype(code: str, args: EscalcArgs, allowed: tuple[str, ...]) -> str:
    vtype = args.pop("vtype", "LS")
    if vtype not in allowed:
        listed = ", ".join(repr(v) for v in allowed)
        raise InvalidParameterError(
            f"The 'vtype' parameter of escalc({code!r}) must be one of {listed}. Got {vtype!r}."
        )
    return str(vtype)


@register_escalc("ROM", "SMDH")
def _escalc_two_groups(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("ROM"|"SMDH", m1i, sd1i, n1i, m2i, sd2i, n2i, vtype)``.

    ``vtype``: for ROM ``"LS"`` (default), ``"HO"``, ``"AV"``, ``"AVHO"``; for SMDH
    ``"LS"`` (default) or ``"LS2"``.
    """
    m1, sd1, n1, m2, sd2, n2 = take(args, code, "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    cls: type[_TwoGroup] = RatioOfMeans if code == "ROM" else SMDH
    vtype = _vtype(code, args, cls._variances)
    refuse_leftovers(code, args)
    return cls.from_means(
        mean1=m1, sd1=sd1, n1=n1, mean2=m2, sd2=sd2, n2=n2, variance=vtype, **args
    )


@register_escalc("MC", "SMCC", "SMCR")
def _escalc_change(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("MC"|"SMCC"|"SMCR", m1i, m2i, sd1i, sd2i, ni, ri, vtype)``.

    ``m1i`` is the later occasion (``yi = m1i - m2i``). For SMCR ``sd1i`` is the SD
    it standardises by (metapool's ``sd_pre``) and ``sd2i`` is not needed.
    ``vtype``: ``"LS"`` (default) or ``"LS2"`` for SMCC and SMCR; MC has one
    variance (``"LS"``).
    """
    m1, m2, sd1, sd2, ni, ri = take(args, code, "m1i", "m2i", "sd1i", "sd2i", "ni", "ri")
    vtype = _vtype(code, args, ("LS",) if code == "MC" else ("LS", "LS2"))
    refuse_leftovers(code, args)
    means = {"mean_post": m1, "mean_pre": m2, "n": ni, "r": ri}
    if code == "MC":
        return MeanChange.from_means(**means, sd_post=sd1, sd_pre=sd2, **args)
    if code == "SMCC":
        return StandardizedMeanChange.from_means(
            **means, sd_post=sd1, sd_pre=sd2, standardizer="change", variance=vtype, **args
        )
    return StandardizedMeanChange.from_means(
        **means, sd_pre=sd1, sd_post=sd2, standardizer="raw", variance=vtype, **args
    )
