"""The text the results share: p-values, the summary blocks (excluded studies,
notes, convergence warnings), RevMan's lines, natural-scale numbers, and the
short numbers of a ``repr``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from metapool._format import fmt, fmt_p_metafor, fmt_p_revman

if TYPE_CHECKING:
    from metapool._data import ExcludedStudy
    from metapool.effects import Measure

__all__ = [
    "excluded_block",
    "fmt",
    "natural",
    "natural_note",
    "notes_block",
    "p_text",
    "revman_heterogeneity",
    "revman_overall_effect",
    "revman_subgroup_differences",
    "short",
    "warning_block",
]


def p_text(p: float) -> str:
    """metafor's p-value text: ``"p = 0.1269"`` or ``"p < .0001"``."""
    text = fmt_p_metafor(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def short(x: float | None) -> str:
    """A number for a ``repr``: two decimals, or three significant digits for very
    small or large values; ``"NA"`` when missing."""
    if x is None or math.isnan(x):
        return "NA"
    if x == 0 or 0.01 <= abs(x) < 1e5:
        return f"{x:.2f}"
    return f"{x:.3g}"


def natural(measure: Measure, x: float) -> float:
    """An analysis-scale value on the natural scale (``measure.scale.inverse``)."""
    return float(measure.scale.inverse(x))


def natural_note(measure: Measure) -> str:
    """The line saying that a table is on the natural scale."""
    return (
        f"Measure: {measure.name} ({measure}); estimates and CIs back-transformed "
        f"from the {measure.scale.name} scale"
    )


def excluded_block(excluded: Iterable[ExcludedStudy]) -> list[str]:
    """The "Excluded studies" section (empty when none was)."""
    shown = [f"  {e.name}: {e.reason}" for e in excluded]
    return ["", "Excluded studies", *shown] if shown else []


def notes_block(notes: Iterable[str]) -> list[str]:
    """The "Notes" section (empty when there are none)."""
    shown = [f"  - {n}" for n in notes]
    return ["", "Notes", *shown] if shown else []


def warning_block(converged: bool, what: str = "the tau^2 estimator") -> list[str]:
    """The closing warning of a result whose iterative steps did not all converge."""
    return [] if converged else ["", f"WARNING: {what} did not converge."]


def revman_overall_effect(statistic: float, df: float | None, pvalue: float) -> str:
    """RevMan's ``"Test for overall effect: Z = 3.29 (P = 0.001)"`` (``t = ..., df = ...``
    for a t statistic)."""
    if not math.isfinite(statistic):
        return "Test for overall effect: Not applicable"
    stat = f"Z = {abs(statistic):.2f}" if df is None else f"t = {abs(statistic):.2f}, df = {df:g}"
    return f"Test for overall effect: {stat} ({fmt_p_revman(pvalue)})"


def revman_heterogeneity(
    tau2: float | None, q: float, q_df: int, q_pvalue: float, i2: float
) -> str:
    """RevMan's heterogeneity line; ``Tau²`` is shown when ``tau2`` is not None."""
    if q_df < 1:
        return "Heterogeneity: Not applicable"
    tau2_text = "" if tau2 is None else f"Tau\u00b2 = {tau2:.2f}; "
    i2_text = "NA" if math.isnan(i2) else f"{i2:.0f}%"
    return (
        f"Heterogeneity: {tau2_text}Chi\u00b2 = {q:.2f}, df = {q_df} "
        f"({fmt_p_revman(q_pvalue)}); I\u00b2 = {i2_text}"
    )


def revman_subgroup_differences(statistic: float, df: int, pvalue: float, i2: float) -> str:
    """RevMan's line for the test for subgroup differences."""
    i2_text = "NA" if math.isnan(i2) else f"{i2:.1f}%"
    return (
        f"Test for subgroup differences: Chi\u00b2 = {statistic:.2f}, df = {df} "
        f"({fmt_p_revman(pvalue)}), I\u00b2 = {i2_text}"
    )
