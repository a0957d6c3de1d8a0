"""GRADE summary-of-findings tables: per-outcome certainty and anticipated absolute effects.

metapool computes the numbers (the risk with the comparator and with the
intervention per 1,000 for binary outcomes, the mean difference for
continuous ones, participants and studies); the certainty judgements are the
review authors', recorded with their reasons in a :class:`Certainty`.

>>> import metapool as mp
>>> rr = mp.RiskRatio(events1=[12, 30], n1=[100, 150], events2=[20, 45], n2=[100, 150])
>>> res = mp.MantelHaenszel().fit(rr)
>>> out = mp.SofOutcome.from_result("Death", res,
...     certainty=mp.Certainty(imprecision=(1, "Fewer than 300 events")))
>>> out.assumed, out.corresponding  # per 1,000
(260.0, 168.0)
>>> print(out.certainty)
⊕⊕⊕◯ Moderate
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from metapool.exceptions import InvalidParameterError, MetapoolTypeError

if TYPE_CHECKING:
    import pandas as pd

    from metapool.results import MetaResult

__all__ = [
    "CERTAINTY_LEVELS",
    "DOWNGRADE_DOMAINS",
    "UPGRADE_DOMAINS",
    "Certainty",
    "SofOutcome",
    "SummaryOfFindings",
    "corresponding_risk",
]

#: The four GRADE levels, from the lowest.
CERTAINTY_LEVELS = ("very low", "low", "moderate", "high")
#: The five reasons to rate certainty down.
DOWNGRADE_DOMAINS = (
    "risk_of_bias",
    "inconsistency",
    "indirectness",
    "imprecision",
    "publication_bias",
)
#: The three reasons to rate certainty up (observational evidence).
UPGRADE_DOMAINS = ("large_effect", "dose_response", "plausible_confounding")
_TITLES = {
    "risk_of_bias": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
    "large_effect": "Large effect",
    "dose_response": "Dose-response gradient",
    "plausible_confounding": "Plausible confounding",
}
_RATIO = ("RR", "OR", "PETO_OR", "HR")


def _round_half_up(x: float) -> float:
    """Round to an integer, halves away from zero (as GRADEpro shows risks)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _rating(owner: str, name: str, value: object, most: int) -> tuple[int, str]:
    """``n`` or ``(n, reason)`` -> (levels, reason), checked."""
    reason = ""
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[1], str):
            raise MetapoolTypeError(
                f"The '{name}' parameter of {owner} must be a number of levels or a pair "
                f"(levels, reason). Got {value!r}."
            )
        value, reason = value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not 0 <= value <= most
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be 0, 1"
            f"{' or 2' if most == 2 else ''} levels. Got {value!r}."
        )
    return int(value), reason


@attrs.frozen(init=False)
class Certainty:
    """The GRADE certainty of the evidence for one outcome, with its reasons.

    Certainty starts high for randomised trials and low for observational
    studies, is rated down by one or two levels for each of five concerns and
    may be rated up for three (observational evidence) [1]_. The final level
    is one of very low, low, moderate, high.

    Parameters
    ----------
    start : {"high", "low"}, default "high"
        The starting level: "high" for randomised trials (and ROBINS-I
        assessments of non-randomised studies), "low" for observational studies.
    risk_of_bias, inconsistency, indirectness, imprecision, publication_bias : int or (int, str)
        Levels rated down (0, 1 "serious" or 2 "very serious"), optionally with the
        reason shown as a footnote.
    large_effect, dose_response, plausible_confounding : int or (int, str)
        Levels rated up (large effect 0-2, the others 0-1).

    References
    ----------
    .. [1] Guyatt GH, Oxman AD, Vist GE, et al. (2008). GRADE: an emerging
       consensus on rating quality of evidence and strength of recommendations.
       BMJ 336:924-926.

    Examples
    --------
    >>> import metapool as mp
    >>> c = mp.Certainty(risk_of_bias=(1, "Unblinded assessors"), imprecision=2)
    >>> c.level, c.symbols
    ('very low', '⊕◯◯◯')
    >>> c.reasons
    {'risk_of_bias': 'Unblinded assessors'}
    """

    start: str
    downgrades: Mapping[str, int]
    upgrades: Mapping[str, int]
    reasons: Mapping[str, str]

    def __init__(
        self,
        start: str = "high",
        *,
        risk_of_bias: int | tuple[int, str] = 0,
        inconsistency: int | tuple[int, str] = 0,
        indirectness: int | tuple[int, str] = 0,
        imprecision: int | tuple[int, str] = 0,
        publication_bias: int | tuple[int, str] = 0,
        large_effect: int | tuple[int, str] = 0,
        dose_response: int | tuple[int, str] = 0,
        plausible_confounding: int | tuple[int, str] = 0,
    ) -> None:
        owner = "Certainty"
        if not isinstance(start, str) or start.lower() not in ("high", "low"):
            raise InvalidParameterError(
                f"The 'start' parameter of {owner} must be 'high' (randomised trials) or "
                f"'low' (observational studies). Got {start!r}."
            )
        given = {
            "risk_of_bias": risk_of_bias,
            "inconsistency": inconsistency,
            "indirectness": indirectness,
            "imprecision": imprecision,
            "publication_bias": publication_bias,
            "large_effect": large_effect,
            "dose_response": dose_response,
            "plausible_confounding": plausible_confounding,
        }
        down: dict[str, int] = {}
        up: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for name, value in given.items():
            most = 2 if name in DOWNGRADE_DOMAINS or name == "large_effect" else 1
            levels, reason = _rating(owner, name, value, most)
            (down if name in DOWNGRADE_DOMAINS else up)[name] = levels
            if reason:
                reasons[name] = reason
        self.__attrs_init__(start.lower(), down, up, reasons)

    @property
    def level(self) -> str:
        """The final level: "very low", "low", "moderate" or "high"."""
        score = 3 if self.start == "high" else 1
        score += sum(self.upgrades.values()) - sum(self.downgrades.values())
        return CERTAINTY_LEVELS[min(3, max(0, score))]

    @property
    def symbols(self) -> str:
        """The level as GRADE's symbols, e.g. ``⊕⊕⊕◯`` for moderate."""
        n = CERTAINTY_LEVELS.index(self.level) + 1
        return "\u2295" * n + "\u25ef" * (4 - n)

    def explanations(self) -> list[str]:
        """One sentence per domain rated down or up: "Risk of bias: rated down one level (...)."."""
        out = []
        for name in (*DOWNGRADE_DOMAINS, *UPGRADE_DOMAINS):
            levels = {**self.downgrades, **self.upgrades}[name]
            if not levels:
                continue
            way = "down" if name in DOWNGRADE_DOMAINS else "up"
            text = f"{_TITLES[name]}: rated {way} {('one', 'two')[levels - 1]} level" + (
                "s" if levels == 2 else ""
            )
            reason = self.reasons.get(name)
            out.append(text + (f" ({reason})." if reason else "."))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: start, level, levels per domain, reasons."""
        return {
            "start": self.start,
            "level": self.level,
            "downgrades": dict(self.downgrades),
            "upgrades": dict(self.upgrades),
            "reasons": dict(self.reasons),
        }

    def __str__(self) -> str:
        return f"{self.symbols} {self.level.capitalize()}"


def corresponding_risk(measure: str, assumed: float, effect: float) -> float:
    """The risk with the intervention implied by a baseline risk and a relative effect.

    GRADEpro's formulas [1]_: RR ``ACR · RR``; OR (and Peto OR)
    ``ACR · OR / (1 − ACR + ACR · OR)``; HR ``1 − (1 − ACR)^HR``; RD
    ``ACR + RD``; the answer is kept within [0, 1].

    Parameters
    ----------
    measure : {"RR", "OR", "PETO_OR", "HR", "RD"}
        The measure of ``effect`` (on its natural scale).
    assumed : float
        The assumed (baseline) risk with the comparator, a probability.
    effect : float
        The relative effect (ratio) or the risk difference.

    References
    ----------
    .. [1] Schünemann HJ, Higgins JPT, Vist GE, et al. (2023). Chapter 14:
       Completing 'Summary of findings' tables and grading the certainty of the
       evidence. In: Cochrane Handbook for Systematic Reviews of Interventions,
       version 6.4.

    Examples
    --------
    >>> from metapool.grade import corresponding_risk
    >>> round(corresponding_risk("OR", 0.3, 0.5), 6)
    0.176471
    """
    code = measure.upper()
    if not 0 <= assumed <= 1:
        raise InvalidParameterError(
            f"The 'assumed' parameter of corresponding_risk must be a risk in [0, 1]. "
            f"Got {assumed!r}."
        )
    if code == "RR":
        risk = assumed * effect
    elif code in ("OR", "PETO_OR"):
        risk = assumed * effect / (1 - assumed + assumed * effect)
    elif code == "HR":
        risk = 1 - (1 - assumed) ** effect
    elif code == "RD":
        risk = assumed + effect
    else:
        raise InvalidParameterError(
            "The 'measure' parameter of corresponding_risk must be 'RR', 'OR', 'PETO_OR', "
            f"'HR' or 'RD'. Got {measure!r}."
        )
    return min(1.0, max(0.0, risk))


def _number(x: float) -> str:
    return f"{x:.2f}"


@attrs.frozen(kw_only=True)
class SofOutcome:
    """One row of a summary-of-findings table.

    Use :meth:`from_result` to fill it from a pooled result; the fields can
    also be given directly (e.g. for a result published elsewhere).

    Parameters
    ----------
    name : str
        The outcome, as the table shows it (with its scale and follow-up).
    measure : str
        ``"RR"``, ``"OR"``, ``"PETO_OR"``, ``"HR"``, ``"RD"`` (binary outcomes) or
        ``"MD"``, ``"SMD"`` (continuous), or any other code (shown as given).
    estimate, ci_low, ci_high : float
        The pooled effect and its confidence interval, on the natural scale.
    studies, participants : int or None
        Numbers of studies and participants behind the estimate.
    certainty : Certainty or None
        The GRADE rating; None shows "not assessed".
    assumed_risk : float or None
        Binary outcomes: the risk with the comparator (a probability), from
        which the risks per 1,000 are computed; None leaves the absolute
        columns empty.
    control_mean : float or None
        Continuous outcomes: the mean with the comparator, shown as its risk column.
    units : str
        Continuous outcomes: units of the scale, added to the text.
    comments : str
        The comments column.
    """

    name: str
    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    studies: int | None = None
    participants: int | None = None
    certainty: Certainty | None = None
    assumed_risk: float | None = None
    control_mean: float | None = None
    units: str = ""
    comments: str = ""

    def __attrs_post_init__(self) -> None:
        owner = "SofOutcome"
        if self.assumed_risk is not None and not 0 <= self.assumed_risk <= 1:
            raise InvalidParameterError(
                f"The 'assumed_risk' parameter of {owner} must be a risk in [0, 1] (e.g. 0.2 "
                f"for 200 per 1,000). Got {self.assumed_risk!r}."
            )
        if self.certainty is not None and not isinstance(self.certainty, Certainty):
            raise MetapoolTypeError(
                f"The 'certainty' parameter of {owner} must be a metapool.Certainty or None. "
                f"Got {type(self.certainty).__name__}."
            )

    @classmethod
    def from_result(
        cls,
        name: str,
        result: MetaResult,
        *,
        certainty: Certainty | None = None,
        assumed_risk: float | None = None,
        control_mean: float | None = None,
        units: str = "",
        comments: str = "",
    ) -> SofOutcome:
        """The row of a pooled result.

        Parameters
        ----------
        name : str
            The outcome's name.
        result : MetaResult
            The pooled analysis; its measure, estimate and CI on the natural
            scale, its number of studies and the participants of the analysed
            studies (``n1 + n2``, where the effect set has arms).
        assumed_risk : float, optional
            The risk with the comparator. Default for two-by-two data: the
            control group risk of the analysed studies, total events over total
            participants in the control arms (GRADEpro's "study population" risk).
        certainty, control_mean, units, comments
            As the fields.
        """
        from metapool.results import MetaResult

        if not isinstance(result, MetaResult):
            raise MetapoolTypeError(
                f"The 'result' parameter of SofOutcome.from_result must be a MetaResult. "
                f"Got {type(result).__name__}."
            )
        bt = result.back_transform()
        arms = result.effects.arm_data()
        participants = None
        if "n1" in arms and "n2" in arms and np.shape(arms["n1"]) == (result.k,):
            participants = int(np.sum(arms["n1"]) + np.sum(arms["n2"]))
        code = result.measure.code
        if assumed_risk is None and code in (*_RATIO, "RD") and "events2" in arms:
            assumed_risk = float(np.sum(arms["events2"]) / np.sum(arms["n2"]))
        return cls(
            name=name,
            measure=code,
            estimate=bt.estimate,
            ci_low=bt.ci.low,
            ci_high=bt.ci.high,
            studies=result.k,
            participants=participants,
            certainty=certainty,
            assumed_risk=assumed_risk,
            control_mean=control_mean,
            units=units,
            comments=comments,
        )

    @property
    def binary(self) -> bool:
        """Whether risks per 1,000 can be computed (a risk-based measure)."""
        return self.measure.upper() in (*_RATIO, "RD")

    def _per_1000(self, effect: float) -> float:
        assert self.assumed_risk is not None
        return 1000 * corresponding_risk(self.measure, self.assumed_risk, effect)

    @property
    def assumed(self) -> float | None:
        """The risk with the comparator per 1,000, rounded (None when not binary)."""
        if not self.binary or self.assumed_risk is None:
            return None
        return _round_half_up(1000 * self.assumed_risk)

    @property
    def corresponding(self) -> float | None:
        """The risk with the intervention per 1,000, rounded."""
        if self.assumed is None:
            return None
        return _round_half_up(self._per_1000(self.estimate))

    @property
    def corresponding_ci(self) -> tuple[float, float] | None:
        """Its confidence interval per 1,000 (the CI of the effect applied to the same
        assumed risk), rounded."""
        if self.assumed is None:
            return None
        low, high = sorted((self._per_1000(self.ci_low), self._per_1000(self.ci_high)))
        return _round_half_up(low), _round_half_up(high)

    def difference(self) -> tuple[float, float, float] | None:
        """Risk difference per 1,000 and its CI: intervention minus comparator,
        from the unrounded risks, then rounded."""
        if self.assumed is None:
            return None
        base = 1000 * float(self.assumed_risk)  # type: ignore[arg-type]
        values = [self._per_1000(x) - base for x in (self.estimate, self.ci_low, self.ci_high)]
        low, high = sorted(values[1:])
        return _round_half_up(values[0]), _round_half_up(low), _round_half_up(high)

    # ------------------------------------------------------------------ texts
    def relative_text(self) -> str:
        """The relative-effect column, e.g. ``"RR 3.26 (1.05 to 10.09)"``."""
        if self.measure.upper() in _RATIO:
            code = "OR" if self.measure.upper() == "PETO_OR" else self.measure.upper()
            ci = f"{_number(self.ci_low)} to {_number(self.ci_high)}"
            return f"{code} {_number(self.estimate)} ({ci})"
        return "\u2014"

    def comparator_text(self) -> str:
        """The "risk with comparator" column."""
        if self.assumed is not None:
            return f"{self.assumed:.0f} per 1,000"
        if self.control_mean is not None:
            units = f" {self.units}" if self.units else ""
            return f"The mean was {self.control_mean:g}{units}"
        return ""

    def intervention_text(self) -> str:
        """The "risk with intervention" column: per 1,000 with the difference, or the MD."""
        if self.assumed is not None:
            diff = self.difference()
            ci = self.corresponding_ci
            assert diff is not None
            assert ci is not None
            return (
                f"{self.corresponding:.0f} per 1,000 ({ci[0]:.0f} to {ci[1]:.0f}); "
                f"{_more(diff[0])} per 1,000 (from {_more(diff[1])} to {_more(diff[2])})"
            )
        if self.binary:
            return ""
        code = self.measure.upper()
        units = f" {self.units}" if self.units else ""
        return (
            f"{code} {_higher(self.estimate)}{units} "
            f"({_higher(self.ci_low)} to {_higher(self.ci_high)})"
        )

    def participants_text(self) -> str:
        """The "№ of participants (studies)" column."""
        n = "\u2014" if self.participants is None else f"{self.participants:,}"
        k = (
            ""
            if self.studies is None
            else f" ({self.studies} {'RCT' if self.studies == 1 else 'RCTs'})"
        )
        if (
            self.certainty is not None
            and self.certainty.start == "low"
            and self.studies is not None
        ):
            k = f" ({self.studies} {'study' if self.studies == 1 else 'studies'})"
        return n + k

    def certainty_text(self) -> str:
        """The certainty column, e.g. ``"⊕⊕◯◯ Low"``."""
        return "Not assessed" if self.certainty is None else str(self.certainty)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields and the computed risks."""
        out = {
            f.name: getattr(self, f.name) for f in attrs.fields(SofOutcome) if f.name != "certainty"
        }
        out["certainty"] = None if self.certainty is None else self.certainty.to_dict()
        out["assumed_per_1000"] = self.assumed
        out["corresponding_per_1000"] = self.corresponding
        out["corresponding_ci_per_1000"] = self.corresponding_ci
        out["difference_per_1000"] = self.difference()
        return out


def _more(x: float) -> str:
    if x == 0:
        return "0 fewer"
    return f"{abs(x):.0f} {'more' if x > 0 else 'fewer'}"


def _higher(x: float) -> str:
    if x == 0:
        return "0"
    return f"{abs(x):.2f} {'higher' if x > 0 else 'lower'}"


COLUMNS = (
    "Outcomes",
    "Risk with comparator",
    "Risk with intervention",
    "Relative effect (95% CI)",
    "\u2116 of participants (studies)",
    "Certainty of the evidence (GRADE)",
    "Comments",
)


@attrs.frozen(kw_only=True)
class SummaryOfFindings:
    """A GRADE summary-of-findings table in the layout of a Cochrane review.

    Parameters
    ----------
    outcomes : sequence of SofOutcome
        The rows (up to seven in a Cochrane review).
    title : str
        E.g. ``"Ketamine compared with placebo for chronic pain"``.
    population, setting, intervention, comparison : str
        The header lines of the table.

    Examples
    --------
    >>> import metapool as mp
    >>> out = mp.SofOutcome(name="Adverse events", measure="RR", estimate=3.26, ci_low=1.05,
    ...                     ci_high=10.09, studies=4, participants=140, assumed_risk=5 / 52,
    ...                     certainty=mp.Certainty(imprecision=2))
    >>> sof = mp.SummaryOfFindings(title="Ketamine vs placebo", outcomes=[out])
    >>> print(sof.to_markdown().splitlines()[4])  # doctest: +NORMALIZE_WHITESPACE
    | Adverse events | 96 per 1,000 | 313 per 1,000 (101 to 970); 217 more per 1,000 (from 5 more
    to 874 more) | RR 3.26 (1.05 to 10.09) | 140 (4 RCTs) | ⊕⊕◯◯ Low<sup>a</sup> |  |

    References
    ----------
    .. [1] Schünemann HJ, Higgins JPT, Vist GE, et al. (2023). Chapter 14:
       Completing 'Summary of findings' tables and grading the certainty of the
       evidence. In: Cochrane Handbook for Systematic Reviews of Interventions,
       version 6.4.
    .. [2] Guyatt GH, Oxman AD, Vist GE, et al. (2008). GRADE: an emerging
       consensus on rating quality of evidence and strength of recommendations.
       BMJ 336:924-926.
    """

    outcomes: tuple[SofOutcome, ...] = attrs.field(converter=tuple)
    title: str = "Summary of findings"
    population: str = ""
    setting: str = ""
    intervention: str = ""
    comparison: str = ""

    def __attrs_post_init__(self) -> None:
        for i, o in enumerate(self.outcomes):
            if not isinstance(o, SofOutcome):
                raise MetapoolTypeError(
                    f"The 'outcomes' parameter of SummaryOfFindings must hold SofOutcome rows; "
                    f"row {i + 1} is a {type(o).__name__}."
                )

    def _footnotes(self) -> tuple[list[list[str]], list[str]]:
        """Each row's footnote letters, and the footnotes (one per reason)."""
        notes: list[str] = []
        marks: list[list[str]] = []
        for o in self.outcomes:
            row = []
            for text in [] if o.certainty is None else o.certainty.explanations():
                if text not in notes:
                    notes.append(text)
                row.append(chr(ord("a") + notes.index(text)))
            marks.append(row)
        return marks, notes

    def rows(self) -> list[dict[str, str]]:
        """The table as text, one dict per outcome keyed by the column titles."""
        marks, _ = self._footnotes()
        out = []
        for o, m in zip(self.outcomes, marks, strict=True):
            out.append(
                dict(
                    zip(
                        COLUMNS,
                        (
                            o.name,
                            o.comparator_text(),
                            o.intervention_text(),
                            o.relative_text(),
                            o.participants_text(),
                            o.certainty_text() + ("<sup>" + ",".join(m) + "</sup>" if m else ""),
                            o.comments,
                        ),
                        strict=True,
                    )
                )
            )
        return out

    def _header(self) -> list[str]:
        lines = [
            f"{label}: {value}"
            for label, value in (
                ("Patient or population", self.population),
                ("Setting", self.setting),
                ("Intervention", self.intervention),
                ("Comparison", self.comparison),
            )
            if value
        ]
        return lines

    def _legend(self) -> list[str]:
        _, notes = self._footnotes()
        lines = [
            "The risk with the intervention (and its 95% CI) is based on the assumed risk "
            "with the comparator and the relative effect of the intervention (and its 95% CI).",
            "CI: confidence interval; MD: mean difference; OR: odds ratio; RR: risk ratio; "
            "SMD: standardised mean difference.",
            "GRADE: high certainty: the true effect is very likely close to the estimate; "
            "moderate: probably close, but may be substantially different; low: may be "
            "substantially different; very low: is likely to be substantially different.",
        ]
        lines += [f"{chr(ord('a') + i)}. {n}" for i, n in enumerate(notes)]
        return lines

    def to_markdown(self) -> str:
        """The table in Markdown (pipes in texts escaped), with header and footnotes."""

        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = [f"**{self.title}**", ""]
        lines += [f"{h}  " for h in self._header()]
        if self._header():
            lines.append("")
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        lines += ["| " + " | ".join(cell(v) for v in r.values()) + " |" for r in self.rows()]
        lines.append("")
        lines += [f"{line}  " for line in self._legend()]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """The table as an HTML fragment (well-formed; every text escaped)."""
        esc = html.escape
        parts = ['<div class="metapool-sof">', '<table class="sof">']
        parts.append(f"<caption>{esc(self.title)}</caption>")
        if self._header():
            parts.append(
                f'<thead><tr><td colspan="{len(COLUMNS)}">'
                + "<br/>".join(esc(h) for h in self._header())
                + "</td></tr>"
            )
        else:
            parts.append("<thead>")
        parts.append(
            '<tr><th rowspan="2">Outcomes</th><th colspan="2">Anticipated absolute effects '
            "(95% CI)</th>"
            + "".join(f'<th rowspan="2">{esc(c)}</th>' for c in COLUMNS[3:])
            + "</tr>"
        )
        parts.append(f"<tr><th>{esc(COLUMNS[1])}</th><th>{esc(COLUMNS[2])}</th></tr></thead>")
        parts.append("<tbody>")
        marks, _ = self._footnotes()
        for o, m in zip(self.outcomes, marks, strict=True):
            sup = f"<sup>{esc(','.join(m))}</sup>" if m else ""
            cells = [
                esc(o.name),
                esc(o.comparator_text()),
                esc(o.intervention_text()),
                esc(o.relative_text()),
                esc(o.participants_text()),
                esc(o.certainty_text()) + sup,
                esc(o.comments),
            ]
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
        parts += [f'<p class="sof-note">{esc(line)}</p>' for line in self._legend()]
        parts.append("</div>")
        return "\n".join(parts)

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The table as CSV (one row per outcome, footnote letters after the certainty);
        written to ``path`` when given. Returns the text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in self.rows():
            writer.writerow([v.replace("<sup>", " ").replace("</sup>", "") for v in r.values()])
        text = buffer.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome with the computed numbers (needs pandas)."""
        from metapool.results._frames import make_frame

        rows = [o.to_dict() for o in self.outcomes]
        keys = ("name", "measure", "estimate", "ci_low", "ci_high", "studies", "participants")
        columns: dict[str, Any] = {k: [r[k] for r in rows] for k in keys}
        columns["certainty"] = [o.certainty.level if o.certainty else None for o in self.outcomes]
        columns["assumed_per_1000"] = [r["assumed_per_1000"] for r in rows]
        columns["corresponding_per_1000"] = [r["corresponding_per_1000"] for r in rows]
        return make_frame("SummaryOfFindings.to_frame", columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the header and every outcome."""
        return {
            "title": self.title,
            "population": self.population,
            "setting": self.setting,
            "intervention": self.intervention,
            "comparison": self.comparison,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    def _repr_html_(self) -> str:
        return self.to_html()
