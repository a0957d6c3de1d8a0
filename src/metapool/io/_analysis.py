"""What the readers return: a :class:`Review` holding its :class:`Analysis` objects.

An analysis keeps the data as the file gave them — study labels and years, the
arm-level numbers of its data type, subgroups, risk-of-bias judgements and
footnotes — and, for checking, the numbers RevMan printed for each study. It turns
into a metapool effect set with :meth:`Analysis.effects` and is pooled with
:meth:`Analysis.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.conventions import Convention, get_convention
from metapool.exceptions import InvalidDataError, InvalidParameterError

if TYPE_CHECKING:
    from metapool.effects._base import EffectSet
    from metapool.models import Model
    from metapool.results import MetaResult

__all__ = ["DATA_TYPES", "MEASURES_BY_TYPE", "Analysis", "AnalysisMethod", "Review"]

Array = NDArray[np.float64]

#: The data types of RevMan's analyses.
DATA_TYPES = ("dichotomous", "continuous", "generic", "o-e")

#: The effect measures each data type can be analysed with (RevMan's codes;
#: ``"GEN"`` and ``"RATIO"`` are generic inverse-variance effects on the
#: difference and the log scale when the review's own measure is not known).
MEASURES_BY_TYPE: dict[str, tuple[str, ...]] = {
    "dichotomous": ("RR", "OR", "RD", "PETO_OR"),
    "continuous": ("MD", "SMD"),
    "generic": ("GEN", "RATIO"),
    "o-e": ("PETO_OR",),
}

#: Measure codes analysed on the log scale when they arrive as generic data.
_RATIO_CODES = frozenset({"RR", "OR", "PETO_OR", "HR", "RATIO", "IRR", "ROM", "RATE_RATIO"})

# What infer_measure accepts as "the same number": the exports round to 6 decimals
# and a recomputation can differ in the 6th decimal by a little more than half a unit.
_ABS_TOL = 2e-6
_REL_TOL = 2e-6


def _array_eq(a: Array, b: Array) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def _array() -> Any:
    return attrs.field(
        converter=lambda v: np.asarray(v, dtype=np.float64),
        eq=attrs.cmp_using(eq=_array_eq),
    )


@attrs.frozen(kw_only=True)
class AnalysisMethod:
    """How the review analysed an outcome (RevMan 5's settings of an analysis).

    Attributes
    ----------
    statistical_method : {"MH", "IV", "PETO"}
        Mantel–Haenszel, inverse variance or Peto.
    effect_measure : str
        RevMan's code: ``"RR"``, ``"OR"``, ``"RD"``, ``"PETO_OR"``, ``"MD"``,
        ``"SMD"``, or a generic measure (e.g. ``"HR"``).
    random : bool
        Random effects (DerSimonian–Laird τ²) rather than fixed effect.
    level_study, level_total : float
        Confidence levels of the study intervals and of the pooled interval.
    totals : {"YES", "SUB", "NO"}
        Overall and subgroup totals, subgroup totals only, or no totals.
    subgroups : bool
        Whether the analysis has subgroups.
    swap_events : bool
        Dichotomous data: RevMan analyses the non-events (the readers have
        already swapped them in the arm data).
    log_data : bool or None
        Generic inverse-variance data: whether the entered effects are logs.
    """

    statistical_method: str
    effect_measure: str
    random: bool
    level_study: float = 0.95
    level_total: float = 0.95
    totals: str = "YES"
    subgroups: bool = False
    swap_events: bool = False
    log_data: bool | None = None

    def model(self, convention: str | Convention = "revman5") -> Model:
        """The metapool model that pools the way the review did.

        ``"MH"`` fixed → ``MantelHaenszel``; ``"MH"`` random →
        ``MantelHaenszel(random=True)`` (RevMan's "M-H, Random"); ``"IV"`` →
        ``CommonEffect`` or ``RandomEffects(tau2="DL")``; ``"PETO"`` → ``Peto``;
        each at the review's ``level_total`` and with ``convention``.

        Raises
        ------
        InvalidParameterError
            For a method metapool cannot reproduce (an unknown method, a random
            Peto analysis, or "M-H, Random" where the installed MantelHaenszel
            has no ``random`` option).
        """
        from metapool.models import CommonEffect, MantelHaenszel, Peto, RandomEffects

        conv = get_convention(convention, "AnalysisMethod.model")
        level = self.level_total
        if self.statistical_method == "IV":
            if self.random:
                return RandomEffects(tau2="DL", level=level, convention=conv)
            return CommonEffect(level=level, convention=conv)
        if self.statistical_method == "MH":
            if not self.random:
                return MantelHaenszel(level=level, convention=conv)
            try:
                model: Model = MantelHaenszel(
                    random=True,  # type: ignore[call-arg, unused-ignore]
                    level=level,
                    convention=conv,
                )
            except TypeError:
                raise InvalidParameterError(
                    "The review pools with RevMan's 'M-H, Random', which needs "
                    "MantelHaenszel(random=True); this version of metapool's MantelHaenszel "
                    "has no 'random' option. Fit with a model of your choice: "
                    "analysis.fit(model=...)."
                ) from None
            return model
        if self.statistical_method == "PETO":
            if self.random:
                raise InvalidParameterError(
                    "The 'statistical_method' of the analysis is 'PETO' with random effects; "
                    "Peto's method is a fixed-effect method."
                )
            return Peto(level=level, convention=conv)
        raise InvalidParameterError(
            "The 'statistical_method' of an analysis must be one of 'MH', 'IV', 'PETO'. "
            f"Got {self.statistical_method!r} instead."
        )


@attrs.frozen(kw_only=True)
class Analysis:
    """One meta-analysis of a review ("Data and analyses" group.number), as read.

    Study-level sequences hold one entry per row of the analysis, in the file's
    order (a study can appear more than once: in several subgroups, or as several
    comparisons of a multi-arm trial). Numbers missing in the file are NaN.

    Attributes
    ----------
    source : str
        The file the analysis was read from.
    review_id : str or None
        The review (e.g. ``"CD000028_pub4"``), where the file names it.
    group, number : int
        The analysis number "group.number" (comparison, outcome).
    name : str
        The outcome title.
    comparison : str or None
        The comparison's title (RevMan files; the CSV export does not have it).
    data_type : {"dichotomous", "continuous", "generic", "o-e"}
        From the file (RevMan) or from which columns hold data (CSV).
    method : AnalysisMethod or None
        The review's own method and measure (RevMan files; None for the CSV
        export, which does not record them).
    labels, years : tuple
        Study labels, and years (None where absent).
    subgroup : tuple of (str or None)
        The subgroup of each row (None without subgroups).
    subgroups : tuple of str
        Subgroup names in order.
    applicability : tuple of str
        ``"SUBGROUP_AND_OVERALL"`` (almost always), ``"SUBGROUP_ONLY"`` or
        ``"OVERALL_ONLY"`` (RevMan Web's split multi-arm rows).
    events1, n1, events2, n2, mean1, sd1, mean2, sd2, giv_mean, giv_se, o_e, variance : ndarray
        The arm-level data (group 1 = experimental); the columns that do not
        belong to the data type may hold NaN or zeros, as the file gave them.
    printed_effect, printed_ci_low, printed_ci_high, printed_weight : ndarray
        The study's effect (natural scale), CI and weight (percent) as RevMan
        printed them; NaN where the study was "not estimable".
    footnotes : tuple of (str or None)
        Footnotes of each row.
    risk_of_bias : mapping of str to tuple
        Risk-of-bias judgements per domain (the column's title), one per row;
        empty when the file has none.
    """

    source: str
    review_id: str | None
    group: int
    number: int
    name: str
    comparison: str | None = None
    data_type: str
    method: AnalysisMethod | None = None
    labels: tuple[str, ...]
    years: tuple[str | None, ...]
    subgroup: tuple[str | None, ...]
    subgroups: tuple[str, ...]
    applicability: tuple[str, ...]
    events1: Array = _array()
    n1: Array = _array()
    events2: Array = _array()
    n2: Array = _array()
    mean1: Array = _array()
    sd1: Array = _array()
    mean2: Array = _array()
    sd2: Array = _array()
    giv_mean: Array = _array()
    giv_se: Array = _array()
    o_e: Array = _array()
    variance: Array = _array()
    printed_effect: Array = _array()
    printed_ci_low: Array = _array()
    printed_ci_high: Array = _array()
    printed_weight: Array = _array()
    footnotes: tuple[str | None, ...]
    risk_of_bias: Mapping[str, tuple[str | None, ...]] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return (
            f"Analysis({self.review_id or ''} {self.group}.{self.number} {self.name!r}, "
            f"{self.data_type}, k={self.k})"
        )

    @property
    def id(self) -> str:
        """``"group.number"``, as the review numbers its analyses."""
        return f"{self.group}.{self.number}"

    @property
    def k(self) -> int:
        """The number of rows (study entries) of the analysis."""
        return len(self.labels)

    @property
    def measure(self) -> str | None:
        """The review's effect measure where the file records it (RevMan), else None."""
        return None if self.method is None else self.method.effect_measure

    @property
    def arm_data(self) -> dict[str, Array]:
        """The arm-level columns of the analysis's data type."""
        names = {
            "dichotomous": ("events1", "n1", "events2", "n2"),
            "continuous": ("mean1", "sd1", "n1", "mean2", "sd2", "n2"),
            "generic": ("giv_mean", "giv_se"),
            "o-e": ("o_e", "variance"),
        }[self.data_type]
        return {name: getattr(self, name) for name in names}

    def _rows(self, subgroup: str | None) -> NDArray[np.bool_]:
        appl = np.array(self.applicability, dtype=object)
        if subgroup is None:
            return np.asarray(appl != "SUBGROUP_ONLY")
        if subgroup not in self.subgroups:
            names = ", ".join(repr(s) for s in self.subgroups) or "none"
            raise InvalidParameterError(
                f"The 'subgroup' parameter of Analysis.effects must be one of the subgroups of "
                f"analysis {self.id} ({names}). Got {subgroup!r} instead."
            )
        sub = np.array(self.subgroup, dtype=object)
        return np.asarray((sub == subgroup) & (appl != "OVERALL_ONLY"))

    def effects(
        self,
        measure: str | None = None,
        *,
        convention: str | Convention = "revman5",
        subgroup: str | None = None,
    ) -> EffectSet:
        """The metapool effect set of the analysis (or of one subgroup).

        Parameters
        ----------
        measure : str, optional
            RevMan's code of the effect measure (``"RR"``, ``"OR"``, ``"RD"``,
            ``"PETO_OR"`` for dichotomous data; ``"MD"``, ``"SMD"`` for continuous
            data; any code for generic data, analysed on the log scale for ratios
            such as ``"HR"``; ``"PETO_OR"`` or ``"HR"`` for O − E data). Default:
            the review's (RevMan files); CSV exports do not record it: give it, or
            use :meth:`infer_measure`.
        convention : str or Convention, default "revman5"
            Passed to the effect-set class.
        subgroup : str, optional
            Only the rows of this subgroup; default: the rows of the overall analysis.

        Returns
        -------
        EffectSet
            ``RiskRatio``, ``OddsRatio`` (also for ``"PETO_OR"``), ``RiskDifference``,
            ``MeanDifference``, ``SMD`` or ``GenericEffect``.

        Raises
        ------
        InvalidParameterError
            If no measure is known, or it does not fit the data type, or the
            subgroup is unknown.
        InvalidDataError
            As the effect-set class raises for the data (e.g. an SD of 0).
        """
        from metapool.effects import (
            SMD,
            GenericEffect,
            MeanDifference,
            OddsRatio,
            RiskDifference,
            RiskRatio,
        )

        code = self._measure(measure)
        rows = self._rows(subgroup)
        labels = [lab for lab, keep in zip(self.labels, rows, strict=True) if keep]

        def col(name: str) -> Array:
            return np.asarray(getattr(self, name)[rows])

        if self.data_type == "dichotomous":
            cls = {"RR": RiskRatio, "OR": OddsRatio, "PETO_OR": OddsRatio, "RD": RiskDifference}
            return cls[code](
                events1=col("events1"),
                n1=col("n1"),
                events2=col("events2"),
                n2=col("n2"),
                labels=labels,
                convention=convention,
            )
        if self.data_type == "continuous":
            cont = {"MD": MeanDifference, "SMD": SMD}[code]
            return cont(
                mean1=col("mean1"),
                sd1=col("sd1"),
                n1=col("n1"),
                mean2=col("mean2"),
                sd2=col("sd2"),
                n2=col("n2"),
                labels=labels,
                convention=convention,
            )
        log_scale = code in _RATIO_CODES
        if self.data_type == "generic":
            yi = col("giv_mean")
            if self.method is not None and self.method.log_data is False and log_scale:
                with np.errstate(divide="ignore", invalid="ignore"):
                    yi = np.log(yi)
            return GenericEffect(
                yi=yi, se=col("giv_se"), labels=labels, measure=code, log_scale=log_scale
            )
        var = col("variance")
        with np.errstate(divide="ignore", invalid="ignore"):
            return GenericEffect(
                yi=col("o_e") / var, vi=1 / var, labels=labels, measure=code, log_scale=True
            )

    def _measure(self, measure: str | None) -> str:
        if measure is None:
            measure = self.measure
        if measure is None:
            raise InvalidParameterError(
                f"Analysis {self.id} of {self.source}: the file does not record the effect "
                "measure; give the 'measure' parameter (e.g. measure='RR') or use "
                "analysis.infer_measure()."
            )
        if not isinstance(measure, str) or not measure:
            raise InvalidParameterError(
                f"The 'measure' parameter of Analysis.effects must be a measure code. "
                f"Got {measure!r} instead."
            )
        code = measure.upper()
        allowed = MEASURES_BY_TYPE[self.data_type]
        if self.data_type == "o-e":
            allowed = ("PETO_OR", "HR")
        if self.data_type != "generic" and code not in allowed:
            raise InvalidParameterError(
                f"The 'measure' parameter of Analysis.effects must be one of "
                f"{', '.join(repr(m) for m in allowed)} for the {self.data_type} data of "
                f"analysis {self.id}. Got {measure!r} instead."
            )
        return code

    def fit(
        self,
        model: Model | None = None,
        *,
        measure: str | None = None,
        convention: str | Convention = "revman5",
        subgroup: str | None = None,
    ) -> MetaResult:
        """Pool the analysis.

        Parameters
        ----------
        model : Model, optional
            Default: the review's own method (:meth:`AnalysisMethod.model`), which
            RevMan files record; the CSV export does not, so give a model there.
        measure, convention, subgroup
            As in :meth:`effects`.

        Raises
        ------
        InvalidParameterError
            If no model is given and the file does not record the method, or the
            review's method is one metapool cannot reproduce.
        """
        if model is None:
            if self.method is None:
                raise InvalidParameterError(
                    f"Analysis {self.id} of {self.source}: the file does not record how the "
                    "review pooled it; give the 'model' parameter, e.g. "
                    "analysis.fit(mp.MantelHaenszel(convention='revman5'), measure='RR')."
                )
            if self.data_type == "o-e" and self.method.statistical_method == "PETO":
                # Peto's pooled log OR of O - E data, sum(O - E) / sum(V) with SE
                # 1/sqrt(sum(V)), is the inverse-variance pool of (O - E)/V with 1/V.
                from metapool.models import CommonEffect

                model = CommonEffect(level=self.method.level_total, convention=convention)
            else:
                model = self.method.model(convention)
        return model.fit(self.effects(measure, convention=convention, subgroup=subgroup))

    def computed_effects(self, measure: str) -> Array:
        """Each row's effect on the natural scale by RevMan 5's formulas (NaN where
        RevMan prints "not estimable"); what :meth:`infer_measure` compares with
        :attr:`printed_effect`.
        """
        code = measure.upper()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if code in ("RR", "OR", "RD", "PETO_OR"):
                return _dichotomous(code, self.events1, self.n1, self.events2, self.n2)
            if code in ("MD", "SMD"):
                return _continuous(code, self)
            if code == "GEN":
                return np.asarray(self.giv_mean, dtype=np.float64)
            if code == "RATIO":
                return np.asarray(np.exp(self.giv_mean), dtype=np.float64)
            if code == "O-E":
                return np.asarray(np.exp(self.o_e / self.variance), dtype=np.float64)
        raise InvalidParameterError(
            "The 'measure' parameter of Analysis.computed_effects must be one of 'RR', 'OR', "
            f"'RD', 'PETO_OR', 'MD', 'SMD', 'GEN', 'RATIO', 'O-E'. Got {measure!r} instead."
        )

    def infer_measure(self) -> str:
        """Guess the effect measure from the printed study effects.

        Computes every candidate measure of the data type by RevMan 5's formulas
        (:meth:`computed_effects`) and returns the one that reproduces the most
        printed effects (to the export's 6-decimal rounding); ties go to the first
        of ``MEASURES_BY_TYPE[data_type]``. O − E data are returned as
        ``"PETO_OR"`` (a hazard ratio prints the same numbers).

        Raises
        ------
        InvalidDataError
            If no candidate reproduces any printed effect (e.g. nothing is printed).
        """
        best, best_hits = "", 0
        for code in MEASURES_BY_TYPE[self.data_type]:
            computed = self.computed_effects("O-E" if self.data_type == "o-e" else code)
            printed = self.printed_effect
            ok = np.isfinite(computed) & np.isfinite(printed)
            hits = int(
                np.sum(
                    np.abs(computed[ok] - printed[ok]) <= _ABS_TOL + _REL_TOL * np.abs(printed[ok])
                )
            )
            if hits > best_hits:
                best, best_hits = code, hits
        if not best:
            raise InvalidDataError(
                f"Analysis {self.id} of {self.source}: no effect measure of its "
                f"{self.data_type} data reproduces any printed study effect; give the "
                "measure explicitly."
            )
        return best


def _dichotomous(code: str, a: Array, n1: Array, c: Array, n2: Array) -> Array:
    b, d = n1 - a, n2 - c
    n = n1 + n2
    if code == "PETO_OR":
        e = n1 * (a + c) / n
        v = n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
        return np.asarray(np.where(v > 0, np.exp((a - e) / v), np.nan))
    if code == "RD":
        return np.asarray(a / n1 - c / n2)
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add = np.where(zero, 0.5, 0.0)
    a_, b_, c_, d_ = a + add, b + add, c + add, d + add
    both = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    value = (a_ / (a_ + b_)) / (c_ / (c_ + d_)) if code == "RR" else (a_ * d_) / (b_ * c_)
    return np.asarray(np.where(both, np.nan, value))


def _continuous(code: str, an: Analysis) -> Array:
    diff = an.mean1 - an.mean2
    if code == "MD":
        return np.asarray(diff)
    n1, n2 = an.n1, an.n2
    n = n1 + n2
    s = np.sqrt(((n1 - 1) * an.sd1**2 + (n2 - 1) * an.sd2**2) / (n - 2))
    return np.asarray(diff / s * (1 - 3 / (4 * n - 9)))


@attrs.frozen(kw_only=True)
class Review:
    """A review's analyses as read from one file.

    Attributes
    ----------
    source : str
        The file.
    id : str or None
        The review's identifier where the file gives one (``"CD000028_pub4"``, or
        a RevMan file's ``ID``).
    doi : str or None
        The review's DOI where the file gives it. Cite the review of every analysis
        you use.
    title : str or None
        The review's title (RevMan files).
    analyses : tuple of Analysis
        In the file's order.
    """

    source: str
    id: str | None = None
    doi: str | None = None
    title: str | None = None
    analyses: tuple[Analysis, ...] = ()

    def __repr__(self) -> str:
        return f"Review({self.id or self.source!r}, {len(self.analyses)} analyses)"

    def analysis(self, group: int, number: int) -> Analysis:
        """The analysis numbered ``group.number``.

        Raises
        ------
        KeyError
            If the review has no such analysis.
        """
        for an in self.analyses:
            if an.group == group and an.number == number:
                return an
        raise KeyError(f"review {self.id or self.source!r} has no analysis {group}.{number}")


def float_or_nan(text: str | None) -> float:
    """A number from a file's text; NaN for an empty cell. Raises ValueError otherwise."""
    if text is None:
        return math.nan
    text = text.strip()
    if not text or text.upper() in ("NA", "NAN"):
        return math.nan
    return float(text)
