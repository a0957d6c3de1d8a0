"""metapool.io: the Cochrane "Data and analyses" CSV export and RevMan 5 files.

The fixture ``tests/fixtures/rm5/example_review.rm5`` is an invented review written
for these tests from RevMan 5's format; its printed study effects and CIs were
computed by RevMan's formulas (README of ../shared/cochrane) and rounded to 6
decimals, so the printed-number checks allow half a unit of the 6th decimal (6e-7).
"""

from __future__ import annotations

import csv
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError

FIXTURES = Path(__file__).parent / "fixtures" / "rm5"
RM5 = FIXTURES / "example_review.rm5"
SHARED = Path(__file__).parents[1] / ".." / "shared" / "cochrane"
PAIRWISE70 = SHARED / "pairwise70.csv"

_SPACED = [
    "Analysis group",
    "Analysis number",
    "Analysis name",
    "Subgroup",
    "Subgroup number",
    "Study",
    "Study year",
    "Experimental cases",
    "Experimental N",
    "Control cases",
    "Control N",
    "Experimental mean",
    "Experimental SD",
    "Control mean",
    "Control SD",
    "GIV Mean",
    "GIV SE",
    "Weight",
    "Mean",
    "CI start",
    "CI end",
    "Footnotes",
    "Overall bias",
]
_ROWS = [
    row.split("|")
    for row in [
        # RR 12/100 vs 20/100 = 0.6, 5/50 vs 9/48 = 0.533333; then MD -0.9 and -0.7
        "1|1|Mortality|Adults|1|Alpha 2001|2001|12|100|20|100||||||"
        "|60.1|0.6|0.310166|1.160669||Low risk",
        "1|1|Mortality|Children|2|Beta 2003|2003|5|50|9|48||||||"
        "|39.9|0.533333|0.192519|1.477486|Cluster trial|High risk",
        "1|2|Pain|||Alpha 2001|2001||30||30|5.1|1.2|6.0|1.3|||50|-0.9|-1.533082|-0.266918||",
        "1|2|Pain|||Beta 2003|2003||25||26|4.8|1.5|5.5|1.4|||50|-0.7|-1.497068|0.097068||",
    ]
]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("spelling", ["spaces", "dots"])
def test_read_cochrane_csv_both_header_spellings(tmp_path: Path, spelling: str) -> None:
    header = _SPACED if spelling == "spaces" else [h.replace(" ", ".") for h in _SPACED]
    path = _write_csv(tmp_path / "export.csv", header, _ROWS)
    (review,) = mp.io.read_cochrane_csv(path)
    assert review.id is None and review.source == str(path)
    assert [a.id for a in review.analyses] == ["1.1", "1.2"]
    mort, pain = review.analyses
    assert mort.name == "Mortality" and mort.data_type == "dichotomous"
    assert mort.subgroups == ("Adults", "Children")
    assert mort.labels == ("Alpha 2001", "Beta 2003") and mort.years == ("2001", "2003")
    assert mort.footnotes == (None, "Cluster trial")
    assert mort.risk_of_bias == {"Overall bias": ("Low risk", "High risk")}
    assert mort.arm_data["events1"].tolist() == [12.0, 5.0]
    assert mort.method is None and mort.measure is None
    assert mort.infer_measure() == "RR"
    rr = mort.effects("RR")
    assert isinstance(rr, mp.RiskRatio)
    np.testing.assert_allclose(np.exp(rr.yi), mort.printed_effect, atol=6e-7)
    assert mort.effects("RR", subgroup="Children").labels == ("Beta 2003",)
    assert pain.data_type == "continuous" and pain.infer_measure() == "MD"
    assert pain.subgroups == () and pain.risk_of_bias == {}
    md = pain.effects("MD")
    z = 1.959963984540054
    np.testing.assert_allclose(md.yi - z * np.sqrt(md.vi), pain.printed_ci_low, atol=1e-6)
    res = pain.fit(mp.CommonEffect(convention="revman5"), measure="MD")
    assert res.k == 2
    assert review.analysis(1, 2) is pain
    with pytest.raises(KeyError):
        review.analysis(9, 9)
    with pytest.raises(InvalidParameterError, match="does not record how the review pooled"):
        mort.fit()
    with pytest.raises(InvalidParameterError, match="does not record the effect measure"):
        mort.effects()


def test_read_cochrane_csv_many_reviews(tmp_path: Path) -> None:
    header = ["review", "review_doi", *(h.replace(" ", ".") for h in _SPACED)]
    rows = [["CD1_pub1", "10.1/cd1", *_ROWS[0]], ["CD2_pub2", "10.1/cd2", *_ROWS[2]]]
    rows.append(["CD1_pub1", "10.1/cd1", *_ROWS[1]])  # rows of one review need not be adjacent
    reviews = mp.io.read_cochrane_csv(_write_csv(tmp_path / "many.csv", header, rows))
    assert [(r.id, r.doi, len(r.analyses)) for r in reviews] == [
        ("CD1_pub1", "10.1/cd1", 1),
        ("CD2_pub2", "10.1/cd2", 1),
    ]
    assert reviews[0].analyses[0].k == 2
    assert reviews[0].analyses[0].review_id == "CD1_pub1"


def test_read_rm5_fixture() -> None:
    review = mp.io.read_rm5(RM5)
    assert review.id == "EXAMPLE-REVIEW" and review.doi == "10.0000/metapool.example"
    assert review.title == "Drug A versus placebo for an invented condition"
    assert [a.id for a in review.analyses] == [
        "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "2.1",
    ]  # fmt: skip
    types = [a.data_type for a in review.analyses]
    assert types == ["dichotomous"] * 4 + ["continuous"] * 2 + ["generic", "o-e", "dichotomous"]
    mort = review.analysis(1, 1)
    assert mort.comparison == "Drug A versus placebo" and mort.name == "Mortality"
    assert mort.labels == ("Alpha 2001", "Beta 2003", "Gamma 2005", "Delta 2008")
    assert mort.years[0] == "2001"
    assert mort.method == mp.io.AnalysisMethod(
        statistical_method="MH", effect_measure="RR", random=False, subgroups=False
    )
    # the printed effects and CIs are RevMan's formulas (0.5 added to the zero-cell study)
    assert mort.infer_measure() == "RR"
    np.testing.assert_allclose(mort.computed_effects("RR"), mort.printed_effect, atol=6e-7)
    relapse = review.analysis(1, 2)
    assert relapse.subgroups == ("Adults", "Children")
    assert relapse.subgroup == ("Adults", "Adults", "Children", "Children")
    np.testing.assert_allclose(relapse.computed_effects("OR"), relapse.printed_effect, atol=6e-7)
    pain = review.analysis(1, 5)
    np.testing.assert_allclose(pain.computed_effects("MD"), pain.printed_effect, atol=1e-9)
    assert np.isnan(review.analysis(1, 7).printed_effect).all()
    assert review.analysis(1, 6).method is not None
    assert review.analysis(1, 6).method.level_total == pytest.approx(0.90)


def test_rm5_fit_reproduces_the_reviews_choices() -> None:
    review = mp.io.read_rm5(RM5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        expected = {
            (1, 1): (mp.MantelHaenszel(convention="revman5"), "RR"),
            (1, 2): (mp.RandomEffects(tau2="DL", convention="revman5"), "OR"),
            (1, 3): (mp.Peto(), "PETO_OR"),
            (1, 5): (mp.RandomEffects(tau2="DL", convention="revman5"), "MD"),
            (1, 6): (mp.CommonEffect(level=0.9, convention="revman5"), "SMD"),
            (1, 7): (mp.CommonEffect(convention="revman5"), "HR"),
            (2, 1): (mp.MantelHaenszel(convention="revman5"), "RD"),
        }
        for (g, n), (model, measure) in expected.items():
            an = review.analysis(g, n)
            got = an.fit()
            want = model.fit(an.effects(measure))
            assert got.model == model, an
            assert got.estimate == pytest.approx(want.estimate, rel=1e-12), an
            assert got.level == model.level
        # O - E data with Peto's method: sum(O - E)/sum(V), SE 1/sqrt(sum(V))
        oe = review.analysis(1, 8).fit()
        assert oe.estimate == pytest.approx((-3.2 - 1.1) / (10.5 + 4.2), rel=1e-12)
        assert oe.se == pytest.approx((10.5 + 4.2) ** -0.5, rel=1e-12)
        # SWAP_EVENTS="YES": the non-events are analysed
        swapped = review.analysis(2, 1)
        assert swapped.events1.tolist() == [20.0, 10.0]
        # "M-H, Random" where MantelHaenszel takes random=True
        mh_random = review.analysis(1, 4)
        assert mh_random.method is not None and mh_random.method.random
        try:
            model = mp.MantelHaenszel(random=True, convention="revman5")  # type: ignore[call-arg, unused-ignore]
        except TypeError:
            with pytest.raises(InvalidParameterError, match="M-H, Random"):
                mh_random.fit()
        else:
            assert mh_random.fit().estimate == pytest.approx(
                model.fit(mh_random.effects("RR")).estimate, rel=1e-12
            )


def test_reading_does_not_expand_entities(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<COCHRANE_REVIEW>&lol2;</COCHRANE_REVIEW>'
    )
    path = tmp_path / "bomb.rm5"
    path.write_text(bomb, encoding="utf-8")
    with pytest.raises(InvalidDataError, match="DOCTYPE or an ENTITY"):
        mp.io.read_rm5(path)


def test_io_is_a_public_submodule() -> None:
    assert "io" in mp.__all__ and mp.io is __import__("metapool.io").io
    assert len(set(mp.io.__all__)) == len(mp.io.__all__)
    for name in mp.io.__all__:
        assert hasattr(mp.io, name)


# --- the Cochrane collection, where present ------------------------------------------

_NAMED = [  # (review, group, number, measure): analyses whose every study is estimable
    ("CD000028_pub4", 1, 1, "RR"),
    ("CD001396_pub4", 4, 1, "OR"),
    ("CD001059_pub6", 1, 44, "MD"),
    ("CD001939_pub5", 1, 5, "SMD"),
    ("CD002203_pub5", 1, 4, "RATIO"),
    ("CD003218_pub3", 1, 1, "GEN"),
]


@pytest.fixture(scope="module")
def pairwise70() -> tuple[mp.io.Review, ...]:
    if not PAIRWISE70.is_file():
        pytest.skip(f"{PAIRWISE70} is absent (the Cochrane collection is not in the repository)")
    start = time.perf_counter()
    reviews = mp.io.read_cochrane_csv(PAIRWISE70)
    elapsed = time.perf_counter() - start
    print(f"read_cochrane_csv(pairwise70.csv): {elapsed:.1f} s")
    assert elapsed < 60
    return reviews


def test_pairwise70_is_read_whole(pairwise70: tuple[mp.io.Review, ...]) -> None:
    assert len(pairwise70) == 595
    assert sum(len(r.analyses) for r in pairwise70) == 21288
    assert sum(a.k for r in pairwise70 for a in r.analyses) == 108732
    assert all(r.doi and r.doi.startswith("10.1002/14651858.") for r in pairwise70)


@pytest.mark.parametrize(("review", "group", "number", "measure"), _NAMED)
def test_pairwise70_named_analyses(
    pairwise70: tuple[mp.io.Review, ...], review: str, group: int, number: int, measure: str
) -> None:
    (rev,) = [r for r in pairwise70 if r.id == review]
    an = rev.analysis(group, number)
    assert an.infer_measure() == measure
    eff = an.effects(measure)
    back = np.exp(eff.yi) if eff.measure.scale.axis == "log" else eff.yi
    np.testing.assert_allclose(back, an.printed_effect, rtol=2e-6, atol=2e-6)
    z = 1.959963984540054
    low = eff.yi - z * np.sqrt(eff.vi)
    low = np.exp(low) if eff.measure.scale.axis == "log" else low
    np.testing.assert_allclose(low, an.printed_ci_low, rtol=2e-6, atol=2e-6)
