"""PRISMA 2020 flow diagram: counts checked and derived, boxes and arrows drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import itertools

import matplotlib.pyplot as plt
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from tests.plotting._helpers import assert_clean_layout

COUNTS = {
    "databases": {"MEDLINE": 412, "Embase": 388},
    "registers": 35,
    "duplicates_removed": 310,
    "records_excluded": 455,
    "reports_not_retrieved": 4,
    "reports_excluded": {"Wrong population": 22, "Not randomised": 20},
    "studies_included": 18,
    "reports_included": 22,
}


def box_texts(fig):
    return {
        t.get_gid()[len("prisma-text-") :]: t.get_text()
        for t in fig.axes[0].texts
        if (t.get_gid() or "").startswith("prisma-text-")
    }


def boxes(fig):
    return {
        p.get_gid()[len("prisma-box-") :]: p
        for p in fig.axes[0].patches
        if (p.get_gid() or "").startswith("prisma-box-")
    }


def test_boxes_show_given_and_derived_counts():
    fig = mp.prisma_flow(COUNTS)
    texts = box_texts(fig)
    # identified 412 + 388 + 35 = 835; screened 835 - 310 = 525; sought 525 - 455 = 70;
    # assessed 70 - 4 = 66
    assert texts["identified"] == (
        "Records identified from:\nMEDLINE (n = 412)\nEmbase (n = 388)\nRegisters (n = 35)"
    )
    assert texts["removed"].endswith("Duplicate records removed (n = 310)")
    assert texts["screened"] == "Records screened\n(n = 525)"
    assert texts["sought"] == "Reports sought for retrieval\n(n = 70)"
    assert texts["assessed"] == "Reports assessed for eligibility\n(n = 66)"
    assert texts["reports_excluded"] == (
        "Reports excluded:\nWrong population (n = 22)\nNot randomised (n = 20)"
    )
    assert texts["included"] == (
        "Studies included in review\n(n = 18)\nReports of included studies\n(n = 22)"
    )
    assert set(boxes(fig)) == set(texts)
    assert "other_identified" not in texts


def test_boxes_are_placed_in_the_template_layout():
    fig = mp.prisma_flow(COUNTS)
    b = {k: p.get_bbox() for k, p in boxes(fig).items()}
    # the main column goes down (y grows downwards: the axis is inverted)
    order = ["identified", "screened", "sought", "assessed", "included"]
    assert [b[k].x0 for k in order] == [b["identified"].x0] * 5
    assert all(b[a].y1 < b[c].y0 for a, c in itertools.pairwise(order))
    # exclusions to the right, on the same row
    for main, side in (("screened", "records_excluded"), ("assessed", "reports_excluded")):
        assert b[side].x0 > b[main].x1
        assert b[side].y0 == pytest.approx(b[main].y0)
    arrows = [a for a in fig.axes[0].texts if a.get_gid() == "prisma-arrow"]
    assert len(arrows) == 4 + 4  # down the main column, and to each exclusion box
    phases = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "prisma-phase"]
    assert phases == ["Identification", "Screening", "Included"]
    assert_clean_layout(fig)


def test_other_methods_column():
    counts = dict(
        COUNTS,
        other_sources={"Websites": 5, "Citation searching": 12},
        other_not_retrieved=2,
        other_excluded=10,
    )
    counts.pop("reports_included")
    fig = mp.prisma_flow(counts)
    texts = box_texts(fig)
    assert texts["other_sought"] == "Reports sought for retrieval\n(n = 17)"
    assert texts["other_assessed"] == "Reports assessed for eligibility\n(n = 15)"
    # reports included: (66 - 42) + (15 - 10) = 29
    assert texts["included"].endswith("Reports of included studies\n(n = 29)")
    heads = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "prisma-header-text"]
    assert heads[1] == "Identification of studies via other methods"
    b = {k: p.get_bbox() for k, p in boxes(fig).items()}
    assert b["other_assessed"].x0 > b["reports_excluded"].x1


def test_contradicting_counts_name_the_stage():
    with pytest.raises(InvalidDataError, match=r"'records_screened' is 500, but .* gives 525"):
        mp.prisma_flow(dict(COUNTS, records_screened=500))
    with pytest.raises(InvalidDataError, match=r"'reports_sought' would be -5"):
        mp.prisma_flow(dict(COUNTS, records_excluded=530))
    with pytest.raises(InvalidDataError, match=r"'reports_included' is 99"):
        mp.prisma_flow(dict(COUNTS, reports_included=99))
    with pytest.raises(InvalidDataError, match=r"'registers' must not be negative"):
        mp.prisma_flow(dict(COUNTS, registers=-1))


def test_bad_counts():
    with pytest.raises(InvalidParameterError, match=r"unknown stage 'screened'"):
        mp.prisma_flow(dict(COUNTS, screened=3))
    with pytest.raises(InvalidParameterError, match=r"needs the stage 'studies_included'"):
        mp.prisma_flow({"databases": 10})
    with pytest.raises(MetapoolTypeError, match=r"'duplicates_removed' must be a whole number"):
        mp.prisma_flow(dict(COUNTS, duplicates_removed=2.5))
    with pytest.raises(MetapoolTypeError, match=r"mapping of stage"):
        mp.prisma_flow([("databases", 3)])  # type: ignore[arg-type]


def test_minimal_counts_ax_and_path(tmp_path):
    fig, ax = plt.subplots(figsize=(6, 6))
    out = mp.prisma_flow({"databases": 40, "studies_included": 3}, ax=ax)
    assert out is fig
    assert box_texts(fig) == {
        "identified": "Records identified from:\nDatabases (n = 40)",
        "screened": "Records screened\n(n = 40)",
        "included": "Studies included in review\n(n = 3)",
    }
    mp.prisma_flow(COUNTS, path=tmp_path / "prisma.pdf", title="Flow")
    assert (tmp_path / "prisma.pdf").read_bytes().startswith(b"%PDF")
