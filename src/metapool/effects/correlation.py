"""Effect sizes of correlation coefficients: raw, unbiased (Olkin–Pratt) and Fisher's z."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy.special import hyp2f1

from metapool._data import prepare_input
from metapool._validation import check_choice, check_estimable, require
from metapool.effects._base import EffectSet, study_array
from metapool.effects._escalc import EscalcArgs, refuse_leftovers, register_escalc, take
from metapool.effects._measure import MEASURES
from metapool.exceptions import InvalidParameterError

__all__ = ["Correlation", "unbiased_correlation"]

_C = TypeVar("_C", bound="Correlation")

#: metapool's scale name -> metafor's measure code
_CODES = {"raw": "COR", "unbiased": "UCOR", "fisher-z": "ZCOR"}
#: the smallest sample size (exclusive) each computation needs
_MIN_N = {"raw": 3.0, "unbiased": 4.0, "fisher-z": 3.0}


def unbiased_correlation(r: Any, n: Any) -> NDArray[np.float64]:
    """Olkin and Pratt's (1958) unbiased estimator of a correlation.

    ``G(r) = r · ₂F₁(1/2, 1/2; (n - 2)/2; 1 - r²)``, evaluated exactly with
    :func:`scipy.special.hyp2f1` (the series converges at ``1 - r² = 1`` since
    ``(n-2)/2 - 1 > 0`` for ``n > 4``).

    Parameters
    ----------
    r : array_like
        Sample correlations in ``(-1, 1)``.
    n : array_like
        Sample sizes, ``> 4``.

    Returns
    -------
    ndarray

    References
    ----------
    .. [1] Olkin I, Pratt JW (1958). Unbiased estimation of certain correlation
       coefficients. Ann Math Stat 29(1):201-211.

    Examples
    --------
    >>> from metapool.effects.correlation import unbiased_correlation
    >>> round(float(unbiased_correlation(0.5, 20)), 6)
    0.511452
    """
    r = np.asarray(r, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    return np.asarray(r * _hyp2f1(0.5, 0.5, (n - 2) / 2, 1 - r**2), dtype=np.float64)


def _hyp2f1(a: float, b: float, c: Any, x: Any) -> NDArray[np.float64]:
    """Gauss's ``₂F₁(a, b; c; x)`` for ``0 <= x < 1``, ``c > a + b > 0``.

    :func:`scipy.special.hyp2f1` is accurate to a few ulp here but returns NaN for
    large ``c`` (``n`` in the hundreds) with ``x`` near 1; there the power series,
    whose terms are all positive and fall off like ``Γ(c)/Γ(c+k)``, is summed
    directly (to a relative term size of 1e-17).
    """
    c_arr, x_arr = np.broadcast_arrays(
        np.asarray(c, dtype=np.float64), np.asarray(x, dtype=np.float64)
    )
    out = np.array(hyp2f1(a, b, c_arr, x_arr), dtype=np.float64, ndmin=1)
    bad = ~np.isfinite(out) & np.isfinite(c_arr.reshape(out.shape))
    if bad.any():
        cc = c_arr.reshape(out.shape)[bad]
        xx = x_arr.reshape(out.shape)[bad]
        term = np.ones_like(cc)
        total = np.ones_like(cc)
        for k in range(100_000):  # scipy fails only for c >= 100: a few dozen terms
            term = term * (a + k) * (b + k) / ((cc + k) * (k + 1)) * xx
            total = total + term
            if np.all(term <= 1e-17 * total):
                break
        else:  # pragma: no cover - not reached for c >= 100
            total = np.where(term <= 1e-17 * total, total, np.nan)
        out[bad] = total
    return out.reshape(np.shape(c_arr))


@attrs.frozen(init=False, kw_only=True)
class Correlation(EffectSet):
    """Correlation coefficients, pooled raw, bias-corrected or as Fisher's z.

    Calling the class runs :meth:`from_correlations`.

    With ``r`` the sample correlation of a study of ``n`` subjects:

    * ``scale="fisher-z"`` (metafor's ``ZCOR``, the default):
      ``yi = atanh(r) = ½ log((1 + r)/(1 - r))``, ``vi = 1/(n - 3)`` (Fisher
      1921). Pooled results are back-transformed with ``tanh`` (metafor's
      ``transf.ztor``), so their intervals stay in (-1, 1).
    * ``scale="raw"`` (``COR``): ``yi = r``.
    * ``scale="unbiased"`` (``UCOR``): ``yi = r ₂F₁(½, ½; (n-2)/2; 1-r²)``, the
      unbiased estimator of Olkin and Pratt (1958), evaluated exactly (see
      :func:`unbiased_correlation`).

    For the raw and unbiased scales the variance is, by ``variance``:
    ``"LS"`` (large sample, metafor's default) ``(1 - yi²)²/(n - 1)``; ``"AV"``
    the same with the ``n``-weighted mean of ``yi`` in place of ``yi``; ``"UB"``
    (unbiased scale only) the unbiased estimate
    ``yi² - 1 + (n-3)/(n-2) (1-r²) ₂F₁(1, 1; n/2; 1-r²)`` (Hedges 1989, exact form).
    Raw- and unbiased-scale pooled intervals are not confined to [-1, 1].

    Parameters
    ----------
    r : array_like or column name
        Sample correlations, in ``(-1, 1)``; one per study. Missing values are
        ``None``, NaN or ``pd.NA``.
    n : array_like or column name
        Sample sizes: ``> 3`` for Fisher's z, ``> 4`` for the unbiased scale,
        ``> 1`` for the raw scale.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``); default ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        Where scalar arguments are looked up as column names.
    scale : {"fisher-z", "raw", "unbiased"}, default "fisher-z"
        The analysis scale (metafor's ``ZCOR``, ``COR``, ``UCOR``).
    variance : {"LS", "AV", "UB"}, default "LS"
        Variance of raw or unbiased correlations (see above); Fisher's z takes
        only ``"LS"``.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        For a correlation outside (-1, 1) (at ±1 the variance is 0 or Fisher's z
        infinite), an ``n`` too small for the scale, an infinite or missing value
        (with ``nan_policy="raise"``), unequal lengths, or a column not in ``data``.
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        For an unknown ``scale``, ``variance`` or ``nan_policy``, or ``"UB"`` with
        a scale other than ``"unbiased"``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    References
    ----------
    .. [1] Fisher RA (1921). On the "probable error" of a coefficient of
       correlation deduced from a small sample. Metron 1:3-32.
    .. [2] Olkin I, Pratt JW (1958). Unbiased estimation of certain correlation
       coefficients. Ann Math Stat 29(1):201-211.
    .. [3] Hedges LV (1989). An unbiased correction for sampling error in validity
       generalization studies. J Appl Psychol 74(3):469-477.
    .. [4] Borenstein M (2009). Effect sizes for continuous data. In: Cooper H,
       Hedges LV, Valentine JC (eds), The Handbook of Research Synthesis and
       Meta-Analysis, 2nd ed. Russell Sage Foundation.

    Examples
    --------
    >>> import metapool as mp
    >>> z = mp.Correlation(r=[0.5, 0.3], n=[23, 53])
    >>> z.yi.round(4).tolist(), z.vi.tolist()
    ([0.5493, 0.3095], [0.05, 0.02])
    >>> res = mp.RandomEffects(tau2="DL").fit(z)
    >>> round(res.back_transform().estimate, 3)
    0.361
    """

    r: NDArray[np.float64] = study_array()
    n: NDArray[np.float64] = study_array()
    scale: str = "fisher-z"
    variance: str = "LS"

    _public_constructor: ClassVar[str | None] = "from_correlations"

    if TYPE_CHECKING:  # the public call, as type checkers should see it

        def __init__(
            self,
            *,
            r: Any,
            n: Any,
            labels: Any = None,
            data: Any = None,
            scale: str = "fisher-z",
            variance: str = "LS",
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_correlations(
        cls: type[_C],
        *,
        r: Any,
        n: Any,
        labels: Any = None,
        data: Any = None,
        scale: str = "fisher-z",
        variance: str = "LS",
        nan_policy: str = "raise",
    ) -> _C:
        """The Correlation effect set of sample correlations and sizes.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        Correlation

        Examples
        --------
        >>> import metapool as mp
        >>> mp.Correlation.from_correlations(r=[0.5], n=[11], scale="raw").vi.tolist()
        [0.05625]
        """
        owner = cls.__name__
        scale = check_choice(owner, "scale", scale, tuple(_CODES))
        variance = check_choice(owner, "variance", variance, ("LS", "AV", "UB"))
        if variance == "UB" and scale != "unbiased":
            raise InvalidParameterError(
                f"The 'variance' parameter of {owner} may be 'UB' only with "
                f"scale='unbiased'. Got variance='UB' with scale={scale!r}."
            )
        if variance == "AV" and scale == "fisher-z":
            raise InvalidParameterError(
                f"The 'variance' parameter of {owner} must be 'LS' with scale='fisher-z' "
                "(the variance 1/(n - 3) does not depend on r). Got variance='AV'."
            )
        prep = prepare_input(
            owner, {"r": r, "n": n}, data=data, labels=labels, nan_policy=nan_policy
        )
        a = prep.arrays
        rr, nn = a["r"], a["n"]
        require(owner, "r", rr, (rr > -1) & (rr < 1), "in (-1, 1)", prep.labels, prep.index)
        min_n = _MIN_N[scale]
        why = {
            "raw": "metafor leaves the variance undefined for n <= 3",
            "unbiased": "the Olkin-Pratt estimator needs n > 4",
            "fisher-z": "the variance 1/(n - 3) needs n > 3",
        }[scale]
        require(owner, "n", nn, nn > min_n, f"> {min_n:g} ({why})", prep.labels, prep.index)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if scale == "fisher-z":
                yi = np.arctanh(rr)
                vi = 1.0 / (nn - 3)
            else:
                yi = rr if scale == "raw" else unbiased_correlation(rr, nn)
                if variance == "LS":
                    vi = (1 - yi**2) ** 2 / (nn - 1)
                elif variance == "AV":
                    mean_yi = float(np.sum(nn * yi) / np.sum(nn))
                    vi = (1 - mean_yi**2) ** 2 / (nn - 1)
                else:
                    f11 = _hyp2f1(1.0, 1.0, nn / 2, 1 - rr**2)
                    vi = yi**2 - (1 - (nn - 3) / (nn - 2) * (1 - rr**2) * f11)
        yi = np.asarray(yi, dtype=np.float64)
        vi = np.asarray(vi, dtype=np.float64)
        check_estimable(owner, yi, vi, a, prep.labels, prep.index)
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": prep.labels,
            "index": prep.index,
            "excluded": prep.excluded,
            "measure": MEASURES[_CODES[scale]],
            "r": rr,
            "n": nn,
            "scale": scale,
            "variance": variance,
        }
        return cls(**stored)

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        return {"r": self.r, "n": self.n}


@register_escalc("COR", "UCOR", "ZCOR")
def _escalc_correlation(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("COR"|"UCOR"|"ZCOR", ri, ni, vtype)``.

    ``vtype``: ``"LS"`` (default) or ``"AV"`` for COR and UCOR, also ``"UB"`` for
    UCOR; ``"LS"`` for ZCOR.
    """
    ri, ni = take(args, code, "ri", "ni")
    vtype = args.pop("vtype", "LS")
    refuse_leftovers(code, args)
    allowed = {"COR": ("LS", "AV"), "UCOR": ("LS", "AV", "UB"), "ZCOR": ("LS",)}[code]
    if vtype not in allowed:
        listed = ", ".join(repr(v) for v in allowed)
        raise InvalidParameterError(
            f"The 'vtype' parameter of escalc({code!r}) must be one of {listed}. Got {vtype!r}."
        )
    scale = {code: name for name, code in _CODES.items()}[code]
    return Correlation.from_correlations(r=ri, n=ni, scale=scale, variance=vtype, **args)
