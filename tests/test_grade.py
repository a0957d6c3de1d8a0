"""GRADE summary of findings: risks per 1,000 by GRADEpro's formulas, worked by hand,
certainty levels, and the Markdown, HTML and CSV tables."""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET

import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.grade import corresponding_risk


def half_up(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# Hand-worked examples (GRADEpro's formulas, computed here on paper):
# RR 0.75 (0.60 to 0.94), assumed 200 per 1,000:
#   200 x 0.75 = 150; 200 x 0.60 = 120; 200 x 0.94 = 188; 50 fewer (80 fewer to 12 fewer)
# OR 0.50 (0.30 to 0.80), assumed 300 per 1,000:
#   0.3*0.5/(0.7+0.15) = 0.17647 -> 176; 0.3*0.3/(0.7+0.09) = 0.11392 -> 114;
#   0.3*0.8/(0.7+0.24) = 0.25532 -> 255; differences -123.5 -> 124 fewer, -186.1 -> 186 fewer,
#   -44.7 -> 45 fewer
# HR 0.80 (0.65 to 0.98), assumed 400 per 1,000: 1 - 0.6^0.8 = 1 - exp(0.8 ln 0.6)
#   = 1 - exp(-0.408661) = 0.335460 -> 335; 1 - 0.6^0.65 = 0.282540 -> 283;
#   1 - 0.6^0.98 = 0.393817 -> 394; differences -64.54 -> 65 fewer, -117.46, -6.18
# RD -0.05 (-0.10 to 0.00), assumed 200 per 1,000: 150 (100 to 200)
WORKED = [
    ("RR", 0.2, (0.75, 0.60, 0.94), 200, 150, (120, 188), (-50, -80, -12)),
    ("OR", 0.3, (0.50, 0.30, 0.80), 300, 176, (114, 255), (-124, -186, -45)),
    ("HR", 0.4, (0.80, 0.65, 0.98), 400, 335, (283, 394), (-65, -117, -6)),
    ("RD", 0.2, (-0.05, -0.10, 0.0), 200, 150, (100, 200), (-50, -100, 0)),
]


@pytest.mark.parametrize(("measure", "acr", "effect", "assumed", "corr", "ci", "diff"), WORKED)
def test_risks_per_1000_match_hand_worked_gradepro_examples(
    measure, acr, effect, assumed, corr, ci, diff
):
    out = mp.SofOutcome(
        name="x",
        measure=measure,
        estimate=effect[0],
        ci_low=effect[1],
        ci_high=effect[2],
        assumed_risk=acr,
    )
    assert out.assumed == assumed
    assert out.corresponding == corr
    assert out.corresponding_ci == ci
    assert out.difference() == diff


def test_hand_worked_hr_differences_recomputed():
    # the HR row by the other spelling of the formula, 1 - exp(HR ln(1 - ACR))
    values = [1000 * (1 - math.exp(h * math.log(0.6))) - 400 for h in (0.80, 0.65, 0.98)]
    assert [half_up(v) for v in values] == [-65, -117, -6]


def test_corresponding_risk_is_capped_and_checked():
    assert corresponding_risk("RR", 0.5, 3.0) == 1.0
    assert corresponding_risk("RD", 0.1, -0.3) == 0.0
    with pytest.raises(InvalidParameterError, match=r"'measure'.*'MD'"):
        corresponding_risk("MD", 0.1, 1.0)
    with pytest.raises(InvalidParameterError, match=r"'assumed'.*1.5"):
        corresponding_risk("RR", 1.5, 1.0)


def test_from_result_uses_the_control_group_risk_and_counts():
    e1, n1, e2, n2 = [12, 30, 4], [100, 150, 40], [20, 45, 9], [100, 150, 40]
    rr = mp.RiskRatio(events1=e1, n1=n1, events2=e2, n2=n2)
    res = mp.RandomEffects(tau2="DL").fit(rr)
    out = mp.SofOutcome.from_result("Death", res)
    acr = sum(e2) / sum(n2)  # 74 / 290
    assert out.assumed_risk == pytest.approx(acr)
    assert out.participants == sum(n1) + sum(n2) and out.studies == 3
    bt = res.back_transform()
    assert out.estimate == pytest.approx(bt.estimate)
    assert out.corresponding == half_up(1000 * acr * bt.estimate)
    assert out.corresponding_ci == (
        half_up(1000 * acr * bt.ci.low),
        half_up(1000 * acr * bt.ci.high),
    )
    # a given baseline risk wins
    assert mp.SofOutcome.from_result("Death", res, assumed_risk=0.05).assumed == 50
    assert "RR" in out.relative_text() and f"{bt.estimate:.2f}" in out.relative_text()


def test_continuous_outcome_texts():
    md = mp.MeanDifference(
        mean1=[30, 40, 35],
        sd1=[10, 12, 9],
        n1=[20, 25, 30],
        mean2=[45, 42, 50],
        sd2=[11, 10, 12],
        n2=[20, 25, 30],
    )
    res = mp.RandomEffects(tau2="DL").fit(md)
    out = mp.SofOutcome.from_result("Pain (0-100)", res, control_mean=48, units="points")
    bt = res.back_transform()
    assert out.assumed is None and out.relative_text() == "\u2014"
    assert out.comparator_text() == "The mean was 48 points"
    text = out.intervention_text()
    assert text.startswith(f"MD {abs(bt.estimate):.2f} lower points")
    assert f"({abs(bt.ci.low):.2f} lower to" in text
    pub = mp.SofOutcome(name="Pain", measure="MD", estimate=-15.79, ci_low=-32.09, ci_high=0.51)
    assert pub.intervention_text() == "MD 15.79 lower (32.09 lower to 0.51 higher)"


@pytest.mark.parametrize(
    ("kwargs", "level", "symbols"),
    [
        ({}, "high", "\u2295\u2295\u2295\u2295"),
        ({"risk_of_bias": 1}, "moderate", "\u2295\u2295\u2295\u25ef"),
        (
            {"risk_of_bias": 1, "imprecision": (2, "one small trial")},
            "very low",
            "\u2295\u25ef\u25ef\u25ef",
        ),
        (
            {"risk_of_bias": 2, "inconsistency": 2, "indirectness": 2},
            "very low",
            "\u2295\u25ef\u25ef\u25ef",
        ),
        ({"start": "low"}, "low", "\u2295\u2295\u25ef\u25ef"),
        ({"start": "low", "large_effect": 2}, "high", "\u2295\u2295\u2295\u2295"),
        (
            {"start": "low", "dose_response": 1, "publication_bias": 1},
            "low",
            "\u2295\u2295\u25ef\u25ef",
        ),
    ],
)
def test_certainty_levels(kwargs, level, symbols):
    c = mp.Certainty(**kwargs)
    assert c.level == level and c.symbols == symbols
    assert str(c) == f"{symbols} {level.capitalize()}"


def test_certainty_explanations_and_bad_values():
    c = mp.Certainty(risk_of_bias=(1, "no blinding"), imprecision=2)
    assert c.explanations() == [
        "Risk of bias: rated down one level (no blinding).",
        "Imprecision: rated down two levels.",
    ]
    with pytest.raises(InvalidParameterError, match=r"'imprecision'.*3"):
        mp.Certainty(imprecision=3)
    with pytest.raises(InvalidParameterError, match=r"'dose_response'.*0 or 1|'dose_response'"):
        mp.Certainty(dose_response=2)
    with pytest.raises(InvalidParameterError, match=r"'start'.*'moderate'"):
        mp.Certainty(start="moderate")
    with pytest.raises(MetapoolTypeError, match=r"'risk_of_bias'"):
        mp.Certainty(risk_of_bias=(1, 2, 3))  # type: ignore[arg-type]


def _sof() -> mp.SummaryOfFindings:
    ae = mp.SofOutcome(
        name="Adverse events <total>",
        measure="RR",
        estimate=3.26,
        ci_low=1.05,
        ci_high=10.09,
        studies=4,
        participants=140,
        assumed_risk=5 / 52,
        certainty=mp.Certainty(risk_of_bias=(1, "some concerns"), imprecision=(1, "few events")),
    )
    pain = mp.SofOutcome(
        name="Pain | immediate",
        measure="MD",
        estimate=-15.79,
        ci_low=-32.09,
        ci_high=0.51,
        studies=3,
        participants=173,
        certainty=mp.Certainty(risk_of_bias=(1, "some concerns"), inconsistency=1),
    )
    return mp.SummaryOfFindings(
        title="Ketamine compared with placebo for chronic pain",
        population="adults with chronic pain",
        intervention="IV ketamine",
        comparison="placebo",
        outcomes=[ae, pain],
    )


def test_markdown_table_has_the_cochrane_columns_and_footnotes():
    md = _sof().to_markdown()
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Outcomes"))
    assert header.count("|") == 8
    assert "Certainty of the evidence (GRADE)" in header
    row = next(line for line in lines if line.startswith("| Adverse"))
    # 5/52 = 96.2 -> 96; x 3.26 = 313.5 -> 313 ... computed: 1000*5/52*3.26
    assert f"{half_up(1000 * 5 / 52 * 3.26)} per 1,000" in row
    assert "\u2295\u2295\u25ef\u25ef Low<sup>a,b</sup>" in row
    pain = next(line for line in lines if line.startswith("| Pain"))
    assert "Pain \\| immediate" in pain  # the pipe is escaped
    assert "<sup>a,c</sup>" in pain  # the shared reason keeps its letter
    assert "a. Risk of bias: rated down one level (some concerns)." in md
    assert "c. Inconsistency: rated down one level." in md
    assert "Patient or population: adults with chronic pain" in md


def test_html_is_well_formed_and_escaped():
    text = _sof().to_html()
    root = ET.fromstring(text)
    cells = [td.text or "" for td in root.iter("td")]
    assert "Adverse events <total>" in cells  # escaped, parsed back as text
    assert [th.text for th in root.iter("th")][:2] == [
        "Outcomes",
        "Anticipated absolute effects (95% CI)",
    ]
    assert len(root.find("table").find("tbody").findall("tr")) == 2


def test_csv_round_trip(tmp_path):
    sof = _sof()
    text = sof.to_csv(tmp_path / "sof.csv")
    assert (tmp_path / "sof.csv").read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Outcomes"] for r in rows] == ["Adverse events <total>", "Pain | immediate"]
    assert rows[0]["Certainty of the evidence (GRADE)"].endswith("Low a,b")
    assert rows[1]["Relative effect (95% CI)"] == "\u2014"


def test_to_dict_and_frame():
    d = _sof().to_dict()
    assert d["outcomes"][0]["corresponding_per_1000"] == half_up(1000 * 5 / 52 * 3.26)
    assert d["outcomes"][1]["certainty"]["level"] == "low"
    pd = pytest.importorskip("pandas")
    frame = _sof().to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame["certainty"]) == ["low", "low"]


def test_bad_rows():
    with pytest.raises(MetapoolTypeError, match=r"row 1 is a dict"):
        mp.SummaryOfFindings(outcomes=[{"name": "x"}])
    with pytest.raises(InvalidParameterError, match=r"'assumed_risk'.*200"):
        mp.SofOutcome(name="x", measure="RR", estimate=1, ci_low=1, ci_high=1, assumed_risk=200)
    with pytest.raises(MetapoolTypeError, match=r"'result'.*MetaResult"):
        mp.SofOutcome.from_result("x", {"estimate": 1})  # type: ignore[arg-type]
