"""Effect sizes for continuous outcomes: mean difference and standardised mean difference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from metapool._data import PreparedInput, prepare_input
from metapool._validation import check_choice, check_estimable, require
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet, study_array
from metapool.effects._escalc import (
    EscalcArgs,
    refuse_leftovers,
    register_escalc,
    take,
)
from metapool.effects._measure import MEASURES
from metapool.exceptions import InvalidParameterError

__all__ = ["SMD", "MeanDifference", "hedges_correction"]

_ARMS = ("mean1", "sd1", "n1", "mean2", "sd2", "n2")
_MD = TypeVar("_MD", bound="MeanDifference")
_SMD = TypeVar("_SMD", bound="SMD")


def _prepare_arms(
    owner: str,
    values: dict[str, Any],
    data: Any,
    labels: Any,
    nan_policy: str,
    min_n: int = 2,
) -> PreparedInput:
    prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
    a = prep.arrays
    expected = ">= 2 (an SD needs two values)" if min_n >= 2 else f">= {min_n}"
    for arm in ("1", "2"):
        sd, n = a["sd" + arm], a["n" + arm]
        require(owner, "sd" + arm, sd, sd > 0, "> 0", prep.labels, prep.index)
        require(owner, "n" + arm, n, n >= min_n, expected, prep.labels, prep.index)
    return prep


def hedges_correction(m: NDArray[np.float64], method: str = "exact") -> NDArray[np.float64]:
    """Small-sample correction factor ``J(m)`` of the SMD, with ``m = n1 + n2 - 2``.

    Parameters
    ----------
    m : array_like
        Degrees of freedom of the pooled SD.
    method : {"exact", "approx", "none"}
        ``"exact"`` is Hedges' (1981) gamma-function form
        ``Γ(m/2) / (sqrt(m/2) Γ((m-1)/2))``; ``"approx"`` is ``1 - 3/(4m - 1)``,
        i.e. ``1 - 3/(4N - 9)`` with ``N = n1 + n2`` (RevMan); ``"none"`` gives 1
        (Cohen's d).

    References
    ----------
    .. [1] Hedges LV (1981). Distribution theory for Glass's estimator of effect
       size and related estimators. J Educ Stat 6(2):107-128.

    Examples
    --------
    >>> from metapool.effects.continuous import hedges_correction
    >>> round(float(hedges_correction(10.0)), 6)
    0.922746
    >>> round(float(hedges_correction(10.0, "approx")), 6)
    0.923077
    """
    m = np.asarray(m, dtype=np.float64)
    if method == "exact":
        return np.asarray(np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2)))
    if method == "approx":
        return np.asarray(1.0 - 3.0 / (4.0 * m - 1.0))
    return np.ones_like(m)


@attrs.frozen(init=False, kw_only=True)
class _ContinuousEffect(EffectSet):
    mean1: NDArray[np.float64] = study_array()
    sd1: NDArray[np.float64] = study_array()
    n1: NDArray[np.float64] = study_array()
    mean2: NDArray[np.float64] = study_array()
    sd2: NDArray[np.float64] = study_array()
    n2: NDArray[np.float64] = study_array()

    _public_constructor: ClassVar[str | None] = "from_means"

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        return {name: getattr(self, name) for name in _ARMS}


@attrs.frozen(init=False, kw_only=True)
class MeanDifference(_ContinuousEffect):
    """Raw mean difference ``mean1 - mean2`` (group 1 = experimental).

    Calling the class runs :meth:`from_means`.

    Parameters
    ----------
    mean1, sd1, n1 : array_like or column name
        Mean, standard deviation and size of the experimental group (or column
        names in ``data``). One real number per study; missing values are
        ``None``, NaN or ``pd.NA``.
    mean2, sd2, n2 : array_like or column name
        The same for the control group.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``; duplicates are allowed). Default
        ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        A dict of columns or a pandas/polars DataFrame. When given, every scalar
        argument (a string, or an int for a table read without a header) is a
        column name in it.
    variance : {"unpooled", "pooled"}, optional
        ``"unpooled"``: ``sd1²/n1 + sd2²/n2`` (metafor's and RevMan's default);
        ``"pooled"``: ``s_p² (1/n1 + 1/n2)`` with the pooled SD. Default from the
        convention (both: unpooled).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.
    convention : str or Convention, optional
        Source of the defaults (``"metafor"``, ``"revman5"`` or ``"revman-web"``);
        default: the session's (:func:`metapool.set_config`, ``"metafor"`` unless
        set). Under the RevMan conventions an arm of one participant is accepted
        (unpooled variance), its SD taken as entered, as RevMan does; metafor
        refuses it, as the SD of a single value is undefined.

    Raises
    ------
    InvalidDataError
        For an SD <= 0, an n < 2 (n < 1 under the RevMan conventions),
        an infinite value, a missing value (with
        ``nan_policy="raise"``), unequal lengths, a single value among per-study
        values, pandas inputs with different indexes, a column not in ``data``,
        or an effect or variance that is not finite (double-precision overflow).
    MetapoolTypeError
        If a value is not a real number (text, a boolean, a date), an argument is
        a set or an iterator, a column name is given without ``data``, or
        ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        For an unknown ``variance`` or ``nan_policy``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    Examples
    --------
    >>> import metapool as mp
    >>> md = mp.MeanDifference(mean1=[5.0, 4.0], sd1=[2.0, 1.0], n1=[20, 10],
    ...                        mean2=[6.0, 4.5], sd2=[2.0, 1.5], n2=[20, 12])
    >>> md.yi.tolist(), md.vi.round(4).tolist()
    ([-1.0, -0.5], [0.4, 0.2875])
    """

    variance: str = "unpooled"

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
            variance: str | None = None,
            nan_policy: str = "raise",
            convention: str | Convention | None = None,
        ) -> None: ...

    @classmethod
    def from_means(
        cls: type[_MD],
        *,
        mean1: Any,
        sd1: Any,
        n1: Any,
        mean2: Any,
        sd2: Any,
        n2: Any,
        labels: Any = None,
        data: Any = None,
        variance: str | None = None,
        nan_policy: str = "raise",
        convention: str | Convention | None = None,
    ) -> _MD:
        """The MeanDifference of arm-level means, SDs and sizes.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        MeanDifference

        Examples
        --------
        >>> import metapool as mp
        >>> arms = dict(mean1=[5.0], sd1=[2.0], n1=[20], mean2=[6.0], sd2=[2.0], n2=[20])
        >>> mp.MeanDifference.from_means(**arms, variance="pooled").vi.tolist()
        [0.4]
        """
        owner = cls.__name__
        conv = get_convention(convention, owner)
        variance = check_choice(
            owner,
            "variance",
            conv.md_variance if variance is None else variance,
            ("unpooled", "pooled"),
        )
        values = dict(zip(_ARMS, (mean1, sd1, n1, mean2, sd2, n2), strict=True))
        # RevMan computes an arm of one participant with the SD as entered; the
        # pooled variance needs N > 2 (N - 2 degrees of freedom) all the same.
        min_n = conv.md_min_n if variance == "unpooled" else 2
        prep = _prepare_arms(owner, values, data, labels, nan_policy, min_n)
        a = prep.arrays
        with np.errstate(over="ignore", under="ignore"):
            yi = a["mean1"] - a["mean2"]
            if variance == "unpooled":
                vi = a["sd1"] ** 2 / a["n1"] + a["sd2"] ** 2 / a["n2"]
            else:
                vi = _pooled_var(a) * (1 / a["n1"] + 1 / a["n2"])
        check_estimable(owner, yi, vi, a, prep.labels, prep.index)
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": prep.labels,
            "index": prep.index,
            "excluded": prep.excluded,
            "measure": MEASURES["MD"],
            "variance": variance,
            **{name: a[name] for name in _ARMS},
        }
        return cls(**stored)


def _pooled_var(a: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    n1, n2 = a["n1"], a["n2"]
    return np.asarray(((n1 - 1) * a["sd1"] ** 2 + (n2 - 1) * a["sd2"] ** 2) / (n1 + n2 - 2))


@attrs.frozen(init=False, kw_only=True)
class SMD(_ContinuousEffect):
    """Standardised mean difference (Hedges' g), group 1 = experimental.

    ``d = (mean1 - mean2) / s_p`` with the pooled SD
    ``s_p² = ((n1-1) sd1² + (n2-1) sd2²) / (N-2)``, ``N = n1 + n2``, and
    ``g = J(N-2) d`` with the small-sample correction ``J`` (see
    :func:`hedges_correction`). Calling the class runs :meth:`from_means`.

    Parameters
    ----------
    mean1, sd1, n1, mean2, sd2, n2 : array_like or column name
        Arm-level data (or column names in ``data``), one real number per study;
        missing values are ``None``, NaN or ``pd.NA``.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``; duplicates are allowed).
    data : mapping or DataFrame, optional
        A dict of columns or a pandas/polars DataFrame. When given, every scalar
        argument (a string, or an int for a table read without a header) is a
        column name in it.
    correction : {"exact", "approx", "none"}, optional
        Small-sample correction; default from the convention (metafor: exact).
    variance : {"LS", "UB", "revman"}, optional
        ``"LS"`` (metafor's default, large-sample): ``1/n1 + 1/n2 + g²/(2N)``;
        ``"UB"`` (unbiased, Hedges 1983): ``1/n1 + 1/n2 + (1 - (m-2)/(m J²)) g²``;
        ``"revman"`` (RevMan 5): ``N/(n1 n2) + g²/(2(N - 3.94))``.
        Default from the convention.
    convention : str or Convention, optional
        Source of the defaults (``"revman5"``: approx correction, RevMan variance);
        default: the session's (:func:`metapool.set_config`, ``"metafor"`` unless set).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For an SD <= 0, an n < 2 (an n of 1 under the RevMan conventions, with
        n1 + n2 >= 3), an infinite value, a missing value (with
        ``nan_policy="raise"``), unequal lengths, a single value among per-study
        values, pandas inputs with different indexes, a column not in ``data``,
        or an effect or variance that is not finite (e.g. SDs so small that the
        pooled variance underflows to zero).
    MetapoolTypeError
        If a value is not a real number (text, a boolean, a date), an argument is
        a set or an iterator, a column name is given without ``data``, or
        ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        For an unknown ``correction``, ``variance``, ``convention`` or ``nan_policy``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Hedges LV (1981). Distribution theory for Glass's estimator of effect
       size and related estimators. J Educ Stat 6(2):107-128.
    .. [2] Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis.
       Academic Press.
    .. [3] Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.

    Examples
    --------
    >>> import metapool as mp
    >>> smd = mp.SMD(mean1=[5.0], sd1=[2.0], n1=[20], mean2=[6.0], sd2=[2.0], n2=[20])
    >>> round(float(smd.yi[0]), 6), round(float(smd.vi[0]), 6)
    (-0.490055, 0.103002)
    """

    correction: str = "exact"
    variance: str = "LS"

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
            correction: str | None = None,
            variance: str | None = None,
            convention: str | Convention | None = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_means(
        cls: type[_SMD],
        *,
        mean1: Any,
        sd1: Any,
        n1: Any,
        mean2: Any,
        sd2: Any,
        n2: Any,
        labels: Any = None,
        data: Any = None,
        correction: str | None = None,
        variance: str | None = None,
        convention: str | Convention | None = None,
        nan_policy: str = "raise",
    ) -> _SMD:
        """The SMD of arm-level means, SDs and sizes.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        SMD

        Examples
        --------
        >>> import metapool as mp
        >>> arms = dict(mean1=[5.0], sd1=[2.0], n1=[20], mean2=[6.0], sd2=[2.0], n2=[20])
        >>> round(float(mp.SMD.from_means(**arms, correction="none").yi[0]), 6)
        -0.5
        """
        owner = cls.__name__
        conv = get_convention(convention, owner)
        correction = check_choice(
            owner,
            "correction",
            conv.smd_correction if correction is None else correction,
            ("exact", "approx", "none"),
        )
        variance = check_choice(
            owner,
            "variance",
            conv.smd_variance if variance is None else variance,
            ("LS", "UB", "revman"),
        )
        values = dict(zip(_ARMS, (mean1, sd1, n1, mean2, sd2, n2), strict=True))
        # RevMan computes an arm of one participant (the pooled SD needs N >= 3; with
        # N = 3 its approximate correction 1 - 3/(4N - 9) is 0, so g = 0).
        prep = _prepare_arms(owner, values, data, labels, nan_policy, conv.md_min_n)
        a = prep.arrays
        n1a, n2a = a["n1"], a["n2"]
        require(
            owner,
            "n1",
            n1a,
            n1a + n2a >= 3,
            "n1 + n2 >= 3 (the pooled SD)",
            prep.labels,
            prep.index,
        )
        big_n = n1a + n2a
        m = big_n - 2
        j = hedges_correction(m, correction)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = j * (a["mean1"] - a["mean2"]) / np.sqrt(_pooled_var(a))
            if variance == "LS":
                vi = 1 / n1a + 1 / n2a + g**2 / (2 * big_n)
            elif variance == "UB":
                vi = 1 / n1a + 1 / n2a + (1 - (m - 2) / (m * j**2)) * g**2
            else:
                vi = big_n / (n1a * n2a) + g**2 / (2 * (big_n - 3.94))
        check_estimable(owner, g, vi, a, prep.labels, prep.index)
        stored: dict[str, Any] = {
            "yi": g,
            "vi": vi,
            "labels": prep.labels,
            "index": prep.index,
            "excluded": prep.excluded,
            "measure": MEASURES["SMD"],
            "correction": correction,
            "variance": variance,
            **{name: a[name] for name in _ARMS},
        }
        return cls(**stored)


@register_escalc("MD", "SMD")
def _escalc_means(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("MD"|"SMD", m1i, sd1i, n1i, m2i, sd2i, n2i, vtype)``.

    ``vtype``: for MD ``"LS"`` (default, unpooled) or ``"HO"`` (pooled variance); for
    SMD ``"LS"`` (default) or ``"UB"``.
    """
    m1, sd1, n1, m2, sd2, n2 = take(args, code, "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    vtype = args.pop("vtype", "LS")
    refuse_leftovers(code, args)
    arms = {"mean1": m1, "sd1": sd1, "n1": n1, "mean2": m2, "sd2": sd2, "n2": n2}
    if code == "MD":
        variance = {"LS": "unpooled", "HO": "pooled"}.get(vtype)
        if variance is None:
            raise InvalidParameterError(
                f"The 'vtype' parameter of escalc('MD') must be 'LS' or 'HO'. Got {vtype!r}."
            )
        return MeanDifference.from_means(**arms, variance=variance, **args)
    if vtype not in ("LS", "UB"):
        raise InvalidParameterError(
            f"The 'vtype' parameter of escalc('SMD') must be 'LS' or 'UB'. Got {vtype!r}."
        )
    return SMD.from_means(**arms, variance=vtype, correction="exact", **args)
