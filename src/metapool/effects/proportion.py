"""Effect sizes of single-arm proportions: raw, log, logit, arcsine and Freeman–Tukey.

One class, :class:`Proportion`, with the analysis scale as a setting; its measure
codes are metafor's ``PR``, ``PLN``, ``PLO``, ``PAS`` and ``PFT``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import prepare_input
from metapool._validation import (
    check_choice,
    check_estimable,
    check_nonnegative,
    require,
    study_name,
)
from metapool._warnings import warn
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet, corrected_field, study_array
from metapool.effects._escalc import (
    EscalcArgs,
    continuity_options,
    refuse_leftovers,
    register_escalc,
    take,
)
from metapool.effects._measure import MEASURES, FreemanTukey, Measure
from metapool.exceptions import InvalidDataError, InvalidParameterError, ZeroCellWarning

__all__ = ["SCALE_CODES", "Proportion", "proportion_effect"]

_P = TypeVar("_P", bound="Proportion")

#: metapool's scale names → metafor's measure codes
SCALE_CODES: dict[str, str] = {
    "raw": "PR",
    "log": "PLN",
    "logit": "PLO",
    "arcsine": "PAS",
    "freeman-tukey": "PFT",
}
_CODE_SCALES = {code: name for name, code in SCALE_CODES.items()}
#: the scales whose variance formula is one of metafor's ``vtype`` options
_VARIANCES = {
    "PR": ("LS", "UB", "AV"),
    "PLN": ("LS", "AV"),
    "PLO": ("LS", "AV"),
    "PAS": ("LS",),
    "PFT": ("LS",),
}
#: the variance-stabilising scales, which need no continuity correction (metafor's
#: default ``add`` is 0 for them)
_STABILISED = ("PAS", "PFT")


def harmonic_mean(n: NDArray[np.float64]) -> float:
    """The harmonic mean of the sample sizes, ``k / Σ 1/nᵢ`` (metafor's ``transf.ipft.hm``)."""
    return float(1.0 / np.mean(1.0 / n))


def proportion_effect(
    code: str,
    events: NDArray[np.float64],
    n: NDArray[np.float64],
    add: NDArray[np.float64] | float,
    variance: str = "LS",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Effect sizes and variances of ``events`` out of ``n``, ``add`` added to the
    events and to the non-events (as metafor's ``escalc``).

    With ``x = events + add``, ``m = n - events + add``, ``N = x + m`` and ``p = x/N``:
    ``PR``: ``p``, ``p(1-p)/N`` (``"UB"``: ``/(N-1)``); ``PLN``: ``log p``,
    ``1/x - 1/N``; ``PLO``: ``log(p/(1-p))``, ``1/x + 1/m``; ``PAS``: ``asin(√p)``,
    ``1/(4N)``; ``PFT``: ``(asin √(x/(N+1)) + asin √((x+1)/(N+1)))/2``, ``1/(4N+2)``.
    ``variance="AV"`` replaces ``p`` in the variance by the N-weighted mean
    proportion of all studies.
    """
    x = events + add
    m = n - events + add
    total = x + m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = x / total
        p_bar = float(np.sum(total * p) / np.sum(total))
        if code == "PR":
            yi = p
            if variance == "UB":
                vi = p * (1 - p) / (total - 1)
            elif variance == "AV":
                vi = p_bar * (1 - p_bar) / total
            else:
                vi = p * (1 - p) / total
        elif code == "PLN":
            yi = np.log(p)
            vi = 1 / (p_bar * total) - 1 / total if variance == "AV" else 1 / x - 1 / total
        elif code == "PLO":
            yi = np.log(p / (1 - p))
            if variance == "AV":
                vi = 1 / (p_bar * total) + 1 / ((1 - p_bar) * total)
            else:
                vi = 1 / x + 1 / m
        elif code == "PAS":
            yi = np.arcsin(np.sqrt(p))
            vi = 1 / (4 * total)
        elif code == "PFT":
            yi = 0.5 * (
                np.arcsin(np.sqrt(x / (total + 1))) + np.arcsin(np.sqrt((x + 1) / (total + 1)))
            )
            vi = 1 / (4 * total + 2)
        else:  # pragma: no cover - guarded by the callers
            raise InvalidParameterError(f"unknown proportion measure {code!r}")
    return np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64)


@attrs.frozen(init=False, kw_only=True)
class Proportion(EffectSet):
    """Single-arm proportions (events out of n), on a raw, log, logit, arcsine or
    Freeman–Tukey scale.

    Calling the class runs :meth:`from_counts`. With ``x`` events out of ``n``
    (after any continuity correction, see below), ``p = x/n``:

    ===================  ====  ============================================  =================
    ``scale``            code  ``yi``                                        ``vi``
    ===================  ====  ============================================  =================
    ``"raw"``            PR    ``p``                                         ``p(1-p)/n``
    ``"log"``            PLN   ``log p``                                     ``1/x - 1/n``
    ``"logit"``          PLO   ``log(p/(1-p))``                              ``1/x + 1/(n-x)``
    ``"arcsine"``        PAS   ``asin(√p)``                                  ``1/(4n)``
    ``"freeman-tukey"``  PFT   ``½[asin √(x/(n+1)) + asin √((x+1)/(n+1))]``  ``1/(4n+2)``
    ===================  ====  ============================================  =================

    These are metafor's ``escalc`` measures of the same codes; pooled results
    are back-transformed by the measure's scale (inverse logit, ``sin²``,
    ``exp``, identity, and for PFT the inverse of Miller (1978) with the
    harmonic mean of the sample sizes, metafor's ``transf.ipft.hm``).

    The Freeman–Tukey double arcsine has known pitfalls (Schwarzer et al. 2019):
    its inverse needs one sample size, and the harmonic mean of the studies'
    sizes used for it can map a pooled value to a proportion far from the
    studies' proportions when the sizes differ much; the back-transformed
    estimate can even lie outside the range of the study proportions, and the
    back-transform is not monotone in the pooled value across different ``n``.
    Prefer the logit scale (or a GLMM) unless a comparison with published
    Freeman–Tukey analyses is needed, and check the back-transformed study
    values against the observed ``events / n``.

    Parameters
    ----------
    events, n : array_like or column name
        Events and sample size of each study (or column names in ``data``).
        One real number per study; missing values are ``None``, NaN or ``pd.NA``.
    scale : {"logit", "raw", "log", "arcsine", "freeman-tukey"}, default "logit"
        The analysis scale, or metafor's code (``"PLO"``, ``"PR"``, ``"PLN"``,
        ``"PAS"``, ``"PFT"``).
    labels : sequence or column name, optional
        Study labels (converted with ``str()``). Default ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        A dict of columns or a DataFrame, in which scalar arguments are column names.
    continuity : float, optional
        Value added to the events and to the non-events of a study that gets a
        correction. Default: the convention's (0.5) on the raw, log and logit
        scales; 0 on the arcsine and Freeman–Tukey scales, which are defined for
        0 and n events (metafor's defaults for each measure).
    continuity_to : {"zero", "all", "none"}, optional
        ``"zero"`` (default): only studies with no events or only events;
        ``"all"``: every study; ``"none"``: never (then a study with 0 or n events
        raises on the raw, log and logit scales, where its effect or variance is
        not estimable). A :class:`~metapool.exceptions.ZeroCellWarning` names the
        corrected studies, whose 0-based positions are recorded in :attr:`corrected`.
    variance : {"LS", "UB", "AV"}, default "LS"
        metafor's ``vtype``: the large-sample variance (``"LS"``); for the raw
        scale ``"UB"`` divides by ``n - 1``; on the raw, log and logit scales
        ``"AV"`` uses the n-weighted mean proportion of all studies in place of
        each study's own. The arcsine scales have one variance (``"LS"``).
    convention : str or Convention, optional
        Source of the continuity defaults; default: the session's.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Attributes
    ----------
    events, n : ndarray
        The counts as given (without the continuity correction).
    corrected : tuple of int
        0-based positions (in the input as given) of the corrected studies.

    Raises
    ------
    InvalidDataError
        If events < 0, events > n, n < 1, a value is infinite or missing (with
        ``nan_policy="raise"``), lengths differ, a study with 0 or n events has
        no correction on a scale that needs one, or an effect or variance is not
        finite (e.g. ``variance="UB"`` with n = 1).
    MetapoolTypeError
        If a value is not a real number, or a column name is given without ``data``.
    InvalidParameterError
        If ``scale``, ``continuity_to``, ``variance`` or ``nan_policy`` is
        unknown, ``variance`` does not apply to the scale, or ``continuity`` is
        not a finite number >= 0.

    Warns
    -----
    ZeroCellWarning
        When a continuity correction is added to studies with 0 or n events.
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out.

    Notes
    -----
    A :class:`Proportion` on the Freeman–Tukey scale holds the harmonic mean of
    its sample sizes in its measure (``measure.scale.n``); :meth:`subset` keeps
    it (the set's own back-transform), while building a new set from the
    selected counts recomputes it.

    References
    ----------
    .. [1] Freeman MF, Tukey JW (1950). Transformations related to the angular and
       the square root. Ann Math Stat 21(4):607-611.
    .. [2] Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine
       transformation. Am Stat 32(4):138.
    .. [3] Schwarzer G, Chemaitelly H, Abu-Raddad LJ, Rücker G (2019). Seriously
       misleading results using inverse of Freeman-Tukey double arcsine
       transformation in meta-analysis of single proportions. Res Synth Methods
       10(3):476-483.
    .. [4] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.Proportion(events=[16, 10, 4], n=[17, 12, 8])
    >>> str(eff.measure), eff.yi.round(4).tolist()
    ('PLO', [2.7726, 1.6094, 0.0])
    >>> mp.Proportion(events=[16, 10, 4], n=[17, 12, 8], scale="raw").yi.round(4).tolist()
    [0.9412, 0.8333, 0.5]
    """

    events: NDArray[np.float64] = study_array()
    n: NDArray[np.float64] = study_array()
    continuity: float = 0.5
    continuity_to: str = "zero"
    variance: str = "LS"
    corrected: tuple[int, ...] = corrected_field()

    _public_constructor: ClassVar[str | None] = "from_counts"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_counts)

        def __init__(
            self,
            *,
            events: Any,
            n: Any,
            scale: str = "logit",
            labels: Any = None,
            data: Any = None,
            continuity: float | None = None,
            continuity_to: str | None = None,
            variance: str = "LS",
            convention: str | Convention | None = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_counts(
        cls: type[_P],
        *,
        events: Any,
        n: Any,
        scale: str = "logit",
        labels: Any = None,
        data: Any = None,
        continuity: float | None = None,
        continuity_to: str | None = None,
        variance: str = "LS",
        convention: str | Convention | None = None,
        nan_policy: str = "raise",
    ) -> _P:
        """The effect set of ``events`` out of ``n`` on ``scale``.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        Proportion

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.Proportion.from_counts(events=[3, 8], n=[20, 40], scale="arcsine")
        >>> eff == mp.Proportion(events=[3, 8], n=[20, 40], scale="arcsine")
        True
        """
        owner = cls.__name__
        code = _scale_code(owner, scale)
        conv = get_convention(convention, owner)
        default_cc = 0.0 if code in _STABILISED else conv.continuity
        cc = check_nonnegative(
            owner, "continuity", default_cc if continuity is None else continuity
        )
        to = check_choice(
            owner,
            "continuity_to",
            conv.continuity_to if continuity_to is None else continuity_to,
            ("zero", "all", "none"),
        )
        allowed = _VARIANCES[code]
        vtype = check_choice(owner, "variance", variance, ("LS", "UB", "AV"))
        if vtype not in allowed:
            listed = ", ".join(repr(v) for v in allowed)
            raise InvalidParameterError(
                f"The 'variance' parameter of {owner} must be one of {listed} on the "
                f"{_CODE_SCALES[code]!r} scale ({code}). Got {variance!r} instead."
            )

        prep = prepare_input(
            owner, {"events": events, "n": n}, data=data, labels=labels, nan_policy=nan_policy
        )
        arr, lab, idx = prep.arrays, prep.labels, prep.index
        x, size = arr["events"], arr["n"]
        require(owner, "n", size, size >= 1, ">= 1", lab, idx)
        require(owner, "events", x, x >= 0, ">= 0", lab, idx)
        require(owner, "events", x, x <= size, "<= n (events cannot exceed n)", lab, idx)

        boundary = (x == 0) | (x == size)
        if to == "all":
            needs = np.ones(x.size, dtype=bool)
        elif to == "zero":
            needs = boundary.copy()
        else:
            needs = np.zeros(x.size, dtype=bool)
        if cc == 0:
            needs[:] = False  # adding nothing is no correction
        add = np.where(needs, cc, 0.0)
        yi, vi = proportion_effect(code, x, size, add, vtype)
        ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
        pos = np.flatnonzero(~ok & boundary & (add == 0))
        if pos.size:
            i = int(pos[0])
            kind = "no events" if x[i] == 0 else "only events"
            raise InvalidDataError(
                f"{owner}: {study_name(int(idx[i]), lab[i])} has {kind} (events={x[i]:g}, "
                f"n={size[i]:g}) and no continuity correction (continuity={cc:g}, "
                f"continuity_to={to!r}); its {code} or variance is not estimable. Use "
                "continuity_to='zero', or the arcsine or Freeman-Tukey scale."
            )
        check_estimable(owner, yi, vi, arr, lab, idx)
        corrected = tuple(int(idx[i]) for i in np.flatnonzero(needs))
        if corrected and to == "zero":
            listed = "; ".join(study_name(int(idx[i]), lab[i]) for i in np.flatnonzero(needs))
            warn(
                f"{owner}: {cc:g} added to the events and non-events of {len(corrected)} "
                f"study(ies) with no events or only events: {listed}.",
                ZeroCellWarning,
            )
        measure: Measure = MEASURES[code]
        if code == "PFT":
            measure = attrs.evolve(measure, scale=FreemanTukey(harmonic_mean(size)))
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": lab,
            "index": idx,
            "excluded": prep.excluded,
            "measure": measure,
            "events": x,
            "n": size,
            "continuity": cc,
            "continuity_to": to,
            "variance": vtype,
            "corrected": corrected,
        }
        return cls(**stored)

    @property
    def proportions(self) -> NDArray[np.float64]:
        """The observed proportions ``events / n`` (without correction)."""
        return np.asarray(self.events / self.n, dtype=np.float64)

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        return {"events": self.events, "n": self.n}


def _scale_code(owner: str, scale: object) -> str:
    """metafor's code of a scale name (or of a code itself)."""
    if isinstance(scale, str):
        lowered = scale.lower()
        if lowered in SCALE_CODES:
            return SCALE_CODES[lowered]
        if scale.upper() in _CODE_SCALES:
            return scale.upper()
    listed = ", ".join(repr(s) for s in SCALE_CODES)
    raise InvalidParameterError(
        f"The 'scale' parameter of {owner} must be one of {listed} (or metafor's code "
        f"'PR', 'PLN', 'PLO', 'PAS', 'PFT'). Got {scale!r} instead."
    )


@register_escalc("PR", "PLN", "PLO", "PAS", "PFT")
def _escalc_proportion(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("PR"|"PLN"|"PLO"|"PAS"|"PFT", xi, ni | mi, add, to, vtype)``.

    As metafor, ``add`` defaults to 1/2 for PR, PLN and PLO and to 0 for PAS and
    PFT; ``ni`` may be replaced by the non-events ``mi`` (``ni = xi + mi``).
    """
    xi, mi, ni = take(args, code, "xi", "mi", "ni")
    if xi is None or (ni is None and mi is None):
        raise InvalidParameterError(
            f"escalc({code!r}): give the events 'xi' and the sample sizes 'ni' "
            "(or the non-events 'mi')."
        )
    if ni is None:
        ni = np.asarray(xi, dtype=float) + np.asarray(mi, dtype=float)
    elif mi is not None:
        total = np.asarray(xi, dtype=float) + np.asarray(mi, dtype=float)
        if np.shape(total) != np.shape(ni) or bool(np.any(np.asarray(ni, dtype=float) != total)):
            raise InvalidParameterError(
                f"escalc({code!r}): 'ni' must equal 'xi' + 'mi' where both are given."
            )
    if "add" not in args and code in _STABILISED:
        args["add"] = 0.0
    if "to" in args and args["to"] == "if0all":
        x, n = np.asarray(xi, dtype=float), np.asarray(ni, dtype=float)
        args["to"] = "all" if bool(np.any((x == 0) | (x == n))) else "none"
    options = continuity_options(code, args, [])
    del options["double_zero"]
    vtype = args.pop("vtype", "LS")
    refuse_leftovers(code, args)
    return Proportion.from_counts(events=xi, n=ni, scale=code, variance=vtype, **options, **args)
