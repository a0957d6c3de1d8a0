"""Effect sizes for binary outcomes: risk ratio, odds ratio and risk difference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy, prepare_input, warn_excluded
from metapool._validation import (
    check_choice,
    check_estimable,
    check_nonnegative,
    require,
    study_name,
)
from metapool._warnings import warn
from metapool.conventions import Convention, get_convention
from metapool.effects._base import EffectSet, TwoByTwo, corrected_field, study_array
from metapool.effects._escalc import (
    EscalcArgs,
    arms_total,
    continuity_options,
    refuse_leftovers,
    register_escalc,
    take,
)
from metapool.effects._measure import MEASURES
from metapool.exceptions import InvalidDataError, InvalidParameterError, ZeroCellWarning

__all__ = [
    "OddsRatio",
    "RiskDifference",
    "RiskRatio",
    "binary_effect",
    "double_zero_mask",
    "zero_cell_mask",
]

_ARMS = ("events1", "n1", "events2", "n2")
_B = TypeVar("_B", bound="_BinaryEffect")


def zero_cell_mask(
    a: NDArray[np.float64], n1: NDArray[np.float64], c: NDArray[np.float64], n2: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Studies with at least one empty cell of the 2×2 table."""
    return np.asarray((a == 0) | (c == 0) | (a == n1) | (c == n2))


def double_zero_mask(
    a: NDArray[np.float64], n1: NDArray[np.float64], c: NDArray[np.float64], n2: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Studies with no events in either arm, or only events in both arms."""
    return np.asarray(((a == 0) & (c == 0)) | ((a == n1) & (c == n2)))


def binary_effect(
    measure: str,
    a: NDArray[np.float64],
    n1: NDArray[np.float64],
    c: NDArray[np.float64],
    n2: NDArray[np.float64],
    add: NDArray[np.float64] | float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Effect sizes and variances of 2×2 tables, ``add`` added to every cell.

    Returns ``(yi, vi)``: log RR with ``1/a - 1/n1 + 1/c - 1/n2``; log OR with
    ``1/a + 1/b + 1/c + 1/d``; RD with ``p1(1-p1)/n1 + p2(1-p2)/n2``, each computed
    from the corrected cells (as metafor's ``escalc``).
    """
    a_, c_ = a + add, c + add
    n1_, n2_ = n1 + 2 * np.asarray(add), n2 + 2 * np.asarray(add)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if measure == "RR":
            yi = np.log(a_ / n1_) - np.log(c_ / n2_)
            vi = 1 / a_ - 1 / n1_ + 1 / c_ - 1 / n2_
        elif measure == "OR":
            b_, d_ = n1_ - a_, n2_ - c_
            yi = np.log(a_ / b_) - np.log(c_ / d_)
            vi = 1 / a_ + 1 / b_ + 1 / c_ + 1 / d_
        elif measure == "RD":
            p1, p2 = a_ / n1_, c_ / n2_
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1_ + p2 * (1 - p2) / n2_
        else:  # pragma: no cover - guarded by the callers
            raise InvalidParameterError(f"unknown binary measure {measure!r}")
    return np.asarray(yi, dtype=np.float64), np.asarray(vi, dtype=np.float64)


@attrs.frozen(init=False, kw_only=True)
class _BinaryEffect(EffectSet):
    """Shared machinery of RR, OR and RD."""

    events1: NDArray[np.float64] = study_array()
    n1: NDArray[np.float64] = study_array()
    events2: NDArray[np.float64] = study_array()
    n2: NDArray[np.float64] = study_array()
    continuity: float = 0.5
    continuity_to: str = "zero"
    double_zero: str = "keep"
    all_events: str = "double-zero"
    rd_estimate: str = "corrected"
    #: 0-based positions (in the input as given) of the studies that received the
    #: continuity correction.
    corrected: tuple[int, ...] = corrected_field()

    _measure_name: ClassVar[str] = "RR"
    _public_constructor: ClassVar[str | None] = "from_counts"

    if TYPE_CHECKING:  # the public call, as type checkers should see it (see from_counts)

        def __init__(
            self,
            *,
            events1: Any,
            n1: Any,
            events2: Any,
            n2: Any,
            labels: Any = None,
            data: Any = None,
            continuity: float | None = None,
            continuity_to: str | None = None,
            double_zero: str | None = None,
            all_events: str | None = None,
            rd_estimate: str | None = None,
            convention: str | Convention | None = None,
            nan_policy: str = "raise",
        ) -> None: ...

    @classmethod
    def from_counts(
        cls: type[_B],
        *,
        events1: Any,
        n1: Any,
        events2: Any,
        n2: Any,
        labels: Any = None,
        data: Any = None,
        continuity: float | None = None,
        continuity_to: str | None = None,
        double_zero: str | None = None,
        all_events: str | None = None,
        rd_estimate: str | None = None,
        convention: str | Convention | None = None,
        nan_policy: str = "raise",
    ) -> _B:
        """The effect set of the 2×2 tables ``events1/n1`` vs ``events2/n2``.

        This is what calling the class runs; the parameters, errors and warnings
        are those of the class (see its docstring).

        Returns
        -------
        RiskRatio, OddsRatio or RiskDifference
            Of the class it is called on.

        Examples
        --------
        >>> import metapool as mp
        >>> rr = mp.RiskRatio.from_counts(events1=[12], n1=[100], events2=[20], n2=[100])
        >>> rr == mp.RiskRatio(events1=[12], n1=[100], events2=[20], n2=[100])
        True
        """
        owner = cls.__name__
        measure = MEASURES[cls._measure_name]
        conv = get_convention(convention, owner)
        cc = check_nonnegative(
            owner, "continuity", conv.continuity if continuity is None else continuity
        )
        to = check_choice(
            owner,
            "continuity_to",
            conv.continuity_to if continuity_to is None else continuity_to,
            ("zero", "all", "none"),
        )
        dz = check_choice(
            owner,
            "double_zero",
            conv.double_zero if double_zero is None else double_zero,
            ("keep", "drop"),
        )
        ae = check_choice(
            owner,
            "all_events",
            conv.all_events if all_events is None else all_events,
            ("double-zero", "null"),
        )
        rde = check_choice(
            owner,
            "rd_estimate",
            conv.rd_estimate if rd_estimate is None else rd_estimate,
            ("corrected", "raw"),
        )
        if measure.scale.is_identity:
            dz = "keep"  # a risk difference is estimable when both arms have no events
            ae = "double-zero"

        values = dict(zip(_ARMS, (events1, n1, events2, n2), strict=True))
        prep = prepare_input(owner, values, data=data, labels=labels, nan_policy=nan_policy)
        arr, lab, idx = prep.arrays, prep.labels, prep.index
        for arm in ("1", "2"):
            n, e = arr["n" + arm], arr["events" + arm]
            require(owner, "n" + arm, n, n >= 1, ">= 1", lab, idx)
            require(owner, "events" + arm, e, e >= 0, ">= 0", lab, idx)
            require(
                owner, "events" + arm, e, e <= n, f"<= n{arm} (events cannot exceed n)", lab, idx
            )

        excluded = list(prep.excluded)
        dzm = double_zero_mask(arr["events1"], arr["n1"], arr["events2"], arr["n2"])
        if ae == "null":  # only the studies without events are double-zero studies
            dzm = dzm & (arr["events1"] == 0)
        if dz == "drop" and dzm.any():
            dropped = tuple(
                ExcludedStudy(
                    index=int(idx[i]),
                    label=lab[i],
                    reason="double-zero study (no events, or only events, in both arms): "
                    f"{cls._measure_name} not estimable",
                    values={name: arr[name][i] for name in _ARMS},
                )
                for i in np.flatnonzero(dzm)
            )
            warn_excluded(owner, dropped)
            excluded.extend(dropped)
            keep = ~dzm
            if not keep.any():
                raise InvalidDataError(f"{owner}: every study is a double-zero study.")
            arr = {name: v[keep] for name, v in arr.items()}
            lab = tuple(x for x, kept in zip(lab, keep, strict=True) if kept)
            idx = idx[keep]

        a, n1a, c, n2a = arr["events1"], arr["n1"], arr["events2"], arr["n2"]
        if to == "all":
            needs = np.ones(a.size, dtype=bool)
        elif to == "zero":
            needs = zero_cell_mask(a, n1a, c, n2a)
        else:
            needs = np.zeros(a.size, dtype=bool)
        add = np.where(needs, cc, 0.0)
        yi, vi = binary_effect(cls._measure_name, a, n1a, c, n2a, add)
        if ae == "null":  # RevMan Web: every participant had the event -> RR = OR = 1
            yi = np.where((a == n1a) & (c == n2a), 0.0, yi)
        if rde == "raw" and measure.scale.is_identity:  # RevMan: only the SE is corrected
            yi = a / n1a - c / n2a
        ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
        pos = np.flatnonzero(~ok & zero_cell_mask(a, n1a, c, n2a) & (add == 0))
        if pos.size:
            i = int(pos[0])
            raise InvalidDataError(
                f"{owner}: {study_name(int(idx[i]), lab[i])} has a zero cell "
                f"(events1={a[i]:g}/{n1a[i]:g}, events2={c[i]:g}/{n2a[i]:g}) and no continuity "
                f"correction (continuity={cc:g}, continuity_to={to!r}); its "
                f"{cls._measure_name} or variance is not estimable."
            )
        check_estimable(owner, yi, vi, arr, lab, idx)
        corrected = tuple(int(idx[i]) for i in np.flatnonzero(needs))
        if corrected and to == "zero":
            listed = "; ".join(study_name(int(idx[i]), lab[i]) for i in np.flatnonzero(needs))
            warn(
                f"{owner}: {cc:g} added to every cell of {len(corrected)} study(ies) with a "
                f"zero cell: {listed}.",
                ZeroCellWarning,
            )
        stored: dict[str, Any] = {
            "yi": yi,
            "vi": vi,
            "labels": lab,
            "index": idx,
            "excluded": tuple(excluded),
            "measure": measure,
            "events1": a,
            "n1": n1a,
            "events2": c,
            "n2": n2a,
            "continuity": cc,
            "continuity_to": to,
            "double_zero": dz,
            "all_events": ae,
            "rd_estimate": rde,
            "corrected": corrected,
        }
        return cls(**stored)

    @property
    def counts(self) -> TwoByTwo:
        """The 2×2 tables as given (without the continuity correction)."""
        return TwoByTwo(self.events1, self.n1, self.events2, self.n2)

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        return {name: getattr(self, name) for name in _ARMS}


_BINARY_DOC = """{title}

    Group 1 is the experimental arm. {formula}
    Calling the class runs :meth:`from_counts`.

    Parameters
    ----------
    events1, n1 : array_like or column name
        Events and total in the experimental group (or column names in ``data``).
        One real number per study; missing values are ``None``, NaN or ``pd.NA``.
        Counts need not be integers (e.g. counts divided by a design effect).
    events2, n2 : array_like or column name
        Events and total in the control group.
    labels : sequence or column name, optional
        Study labels (converted with ``str()``; duplicates are allowed). Default
        ``"Study 1"`` ... ``"Study k"``.
    data : mapping or DataFrame, optional
        A dict of columns or a pandas/polars DataFrame. When given, every scalar
        argument (a string, or an int for a table read without a header) is a
        column name in it.
    continuity : float, optional
        Value added to each cell when a correction applies (default 0.5).
    continuity_to : {{"zero", "all", "none"}}, optional
        ``"zero"`` (default): only to studies with a zero cell; ``"all"``: every
        study; ``"none"``: never (a zero cell then raises, as the effect is not
        estimable). A :class:`~metapool.exceptions.ZeroCellWarning` names the
        corrected studies, whose 0-based positions are recorded in :attr:`corrected`.
    double_zero : {{"keep", "drop"}}, optional
        Studies with no events in either arm (or only events in both):
        ``"keep"`` (metafor) analyses them with the correction; ``"drop"``
        (RevMan 5, Cochrane Handbook) excludes them with a warning and records
        them in :attr:`excluded`. {dz_note}
    all_events : {{"double-zero", "null"}}, optional
        Studies in which every participant in both arms had the event:
        ``"double-zero"`` (metafor, RevMan 5) handles them as ``double_zero``
        says; ``"null"`` (RevMan Web) gives them the null effect (RR = OR = 1,
        ``yi = 0``) with the variance from the corrected cells, and keeps them.
        Only studies without events are then double-zero studies. Ignored by
        the risk difference.
    rd_estimate : {{"corrected", "raw"}}, optional
        The risk difference of a zero-cell study: ``"corrected"`` (metafor)
        computes it from the corrected cells; ``"raw"`` (RevMan) from the raw
        counts, ``a/n1 - c/n2``, and only its variance from the corrected cells.
        Ignored by RR and OR.
    convention : str or Convention, optional
        Source of the defaults above (``"metafor"``, ``"revman5"``,
        ``"revman-web"``, see :mod:`metapool.conventions`); default: the session's
        (:func:`metapool.set_config`, ``"metafor"`` unless set).
    nan_policy : {{"raise", "omit"}}, default "raise"
        ``"omit"`` leaves out studies with a missing value or label, with a
        warning, and records them in :attr:`excluded`.

    Raises
    ------
    InvalidDataError
        If events < 0, events > n, n < 1, a value is infinite or missing (with
        ``nan_policy="raise"``), lengths differ, a single value is given among
        per-study values, pandas inputs have different indexes, a column is not
        in ``data``, a zero-cell study has no correction, or the effect or its
        variance is not finite (double-precision overflow).
    MetapoolTypeError
        If a value is not a real number (text, a boolean, a date), an argument is
        a set or an iterator, a column name is given without ``data``, or
        ``data`` is not a mapping or DataFrame.
    InvalidParameterError
        If ``continuity`` is not a finite number >= 0, or a setting is unknown.

    Warns
    -----
    ZeroCellWarning
        When a continuity correction is added to zero-cell studies.
    ExcludedStudyWarning
        When studies are dropped (double zero, or missing values with ``nan_policy="omit"``).

    References
    ----------
    .. [1] Higgins JPT, Thomas J, et al. (eds.) Cochrane Handbook for Systematic
       Reviews of Interventions, chapter 10.4.4 (studies with zero-cell counts).
    .. [2] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.{name}(events1=[12, 5], n1=[100, 50], events2=[20, 9], n2=[100, 50])
    >>> eff.yi.round(4).tolist()
    {example}
"""


@attrs.frozen(init=False, kw_only=True)
class RiskRatio(_BinaryEffect):
    _measure_name = "RR"


@attrs.frozen(init=False, kw_only=True)
class OddsRatio(_BinaryEffect):
    _measure_name = "OR"


@attrs.frozen(init=False, kw_only=True)
class RiskDifference(_BinaryEffect):
    _measure_name = "RD"


RiskRatio.__doc__ = _BINARY_DOC.format(
    title="Risk ratio, analysed as log(RR).",
    formula="``yi = log((a/n1) / (c/n2))``, ``vi = 1/a - 1/n1 + 1/c - 1/n2``.",
    dz_note="",
    name="RiskRatio",
    example="[-0.5108, -0.5878]",
)
OddsRatio.__doc__ = _BINARY_DOC.format(
    title="Odds ratio, analysed as log(OR).",
    formula="``yi = log(a d / (b c))``, ``vi = 1/a + 1/b + 1/c + 1/d``.",
    dz_note="",
    name="OddsRatio",
    example="[-0.6061, -0.6809]",
)
RiskDifference.__doc__ = _BINARY_DOC.format(
    title="Risk difference.",
    formula="``yi = a/n1 - c/n2``, ``vi = p1(1-p1)/n1 + p2(1-p2)/n2``.",
    dz_note="For the risk difference double-zero studies are always kept.",
    name="RiskDifference",
    example="[-0.08, -0.08]",
)


@register_escalc("RR", "OR", "RD")
def _escalc_binary(code: str, args: EscalcArgs) -> EffectSet:
    """metafor's ``escalc("RR"|"OR"|"RD", ai, bi, ci, di | n1i, n2i, add, to, drop00)``."""
    ai, bi, ci, di, n1i, n2i = take(args, code, "ai", "bi", "ci", "di", "n1i", "n2i")
    n1 = arms_total(code, ai, bi, n1i, "1")
    n2 = arms_total(code, ci, di, n2i, "2")
    options = continuity_options(code, args, [ai, bi, ci, di])
    refuse_leftovers(code, args)
    cls = {"RR": RiskRatio, "OR": OddsRatio, "RD": RiskDifference}[code]
    return cls.from_counts(events1=ai, n1=n1, events2=ci, n2=n2, **options, **args)
