"""metapool.results._report and ._html: the shared text and the HTML tables."""

from __future__ import annotations

import math

from metapool._data import ExcludedStudy
from metapool.results._html import html_table
from metapool.results._report import (
    excluded_block,
    notes_block,
    p_text,
    revman_heterogeneity,
    revman_overall_effect,
    revman_subgroup_differences,
    short,
    warning_block,
)
from tests._results_data import SCRIPT, assert_html_shows, parse_html


def test_p_text_in_metafors_style() -> None:
    assert p_text(0.12694) == "p = 0.1269"
    assert p_text(3e-7) == "p < .0001"
    assert p_text(math.nan) == "p = NA"


def test_short_numbers_for_a_repr() -> None:
    assert [short(x) for x in (0.4894, -0.618, 0.0, 1234.5)] == ["0.49", "-0.62", "0.00", "1234.50"]
    assert [short(x) for x in (0.00123, 2.5e7, math.nan, None)] == [
        "0.00123",
        "2.5e+07",
        "NA",
        "NA",
    ]


def test_revman_lines() -> None:
    assert (
        revman_overall_effect(-3.29, None, 0.001) == "Test for overall effect: Z = 3.29 (P = 0.001)"
    )
    assert revman_overall_effect(2.5, 4.0, 0.0667) == (
        "Test for overall effect: t = 2.50, df = 4 (P = 0.07)"
    )
    assert revman_overall_effect(math.inf, None, 0.0).endswith("Not applicable")
    assert revman_heterogeneity(0.0213, 9.95, 6, 0.127, 39.7) == (
        "Heterogeneity: Tau² = 0.02; Chi² = 9.95, df = 6 (P = 0.13); I² = 40%"
    )
    assert revman_heterogeneity(None, 9.95, 6, 0.127, 39.7).startswith("Heterogeneity: Chi²")
    assert revman_heterogeneity(None, 0.0, 0, math.nan, math.nan) == "Heterogeneity: Not applicable"
    assert revman_subgroup_differences(2.34, 1, 0.126, 57.3) == (
        "Test for subgroup differences: Chi² = 2.34, df = 1 (P = 0.13), I² = 57.3%"
    )


def test_blocks_are_empty_when_there_is_nothing_to_say() -> None:
    assert excluded_block(()) == notes_block(()) == warning_block(True) == []
    gone = ExcludedStudy(index=1, label="Beta 2003", reason="missing value")
    assert excluded_block([gone]) == [
        "",
        "Excluded studies",
        "  study 2 ('Beta 2003'): missing value",
    ]
    assert notes_block(["k = 2"]) == ["", "Notes", "  - k = 2"]
    assert warning_block(False, "a tau^2 estimator") == [
        "",
        "WARNING: a tau^2 estimator did not converge.",
    ]


def test_html_table_escapes_every_piece_of_text_and_is_well_formed() -> None:
    text = html_table(SCRIPT, [SCRIPT, "b"], [[SCRIPT, "1 < 2 & 3 > 2"]], [SCRIPT])
    assert_html_shows(text, SCRIPT)
    root = parse_html(text)
    assert root.find("table/caption").text == SCRIPT
    assert [td.text for td in root.iter("td")] == [SCRIPT, "1 < 2 & 3 > 2"]
    assert [p.text for p in root.iter("p")] == [SCRIPT]
