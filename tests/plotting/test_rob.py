"""Risk-of-bias figures: what the traffic-light and summary plots draw, and the
errors for tables they cannot draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from tests.plotting._helpers import assert_clean_layout

# Cochrane's (robvis's "cochrane") palette, written out here independently of the code.
GREEN, YELLOW, RED, DARK_RED, BLUE = "#02c100", "#e2df07", "#bf0000", "#820000", "#4ea1f7"

TABLE = {
    "Study": ["Alpha 2001", "Beta 2003", "Gamma 2010", "Delta 2020"],
    "D1": ["Low", "Some concerns", "High risk", "low risk of bias"],
    "D2": ["Low", "High", "Low", None],
    "D3": ["Low", "Low", "Low", "Low"],
    "D4": ["Some concerns", "Some concerns", "Some concerns", "Some concerns"],
    "D5": ["Low", "Low", "High", "Low"],
    "Overall": ["Some concerns", "High", "High", "Low"],
}


def texts(fig, gid):
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def lights(fig):
    (coll,) = [c for c in fig.axes[0].collections if c.get_gid() == "rob-lights"]
    return coll


def test_traffic_light_draws_one_circle_per_judged_cell_in_cochrane_colours():
    fig = mp.rob_traffic_light(TABLE)
    coll = lights(fig)
    expected = []
    symbols = {"Low": "+", "Some concerns": "!", "High": "\u2212"}
    colours = {"Low": GREEN, "Some concerns": YELLOW, "High": RED}
    canonical = {"low": "Low", "some concerns": "Some concerns", "high": "High"}
    for i in range(4):
        for col in ("D1", "D2", "D3", "D4", "D5", "Overall"):
            v = TABLE[col][i]
            if v is None:
                continue
            key = v.lower().replace(" risk of bias", "").replace(" risk", "")
            expected.append(canonical[key])
    assert len(coll.get_offsets()) == 23  # 24 cells, one empty
    assert [to_hex(c) for c in coll.get_facecolors()] == [colours[j] for j in expected]
    assert [t.get_text() for t in texts(fig, "rob-symbol")] == [symbols[j] for j in expected]
    # circles sit on their row (study) and column (domain), overall after a gap
    offsets = np.asarray(coll.get_offsets())
    assert set(offsets[:, 1]) == {0.0, 1.0, 2.0, 3.0}
    xs = sorted(set(offsets[:, 0]))
    assert xs == pytest.approx([0, 1, 2, 3, 4, 5.25])
    # Delta 2020 (row 3) has no D2 circle
    assert not any((offsets[:, 0] == 1) & (offsets[:, 1] == 3))


def test_traffic_light_labels_and_keys():
    fig = mp.rob_traffic_light(TABLE)
    assert [t.get_text() for t in texts(fig, "rob-study")] == TABLE["Study"]
    assert [t.get_text() for t in texts(fig, "rob-domain")] == [
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "Overall",
    ]
    ax = fig.axes[0]
    legends = {a.get_gid(): a for a in ax.get_children() if isinstance(a, matplotlib.legend.Legend)}
    key = [t.get_text() for t in legends["rob-domain-key"].get_texts()]
    assert key[0] == "D1: Bias arising from the randomization process"
    assert key[4] == "D5: Bias in selection of the reported result"
    judgement = [t.get_text() for t in legends["rob-judgement-key"].get_texts()]
    assert judgement == ["+  Low", "!  Some concerns", "\u2212  High"]
    assert_clean_layout(fig)
    # every legend lies inside the figure
    fig.canvas.draw()
    for legend in legends.values():
        box = legend.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 + 0.5 and box.y0 >= -0.5


def test_traffic_light_robins_i_has_seven_domains_and_five_judgements():
    table = {
        "study": ["S1", "S2", "S3", "S4", "S5"],
        **{
            f"D{i}": ["Low", "Moderate", "Serious", "Critical", "No information"]
            for i in range(1, 8)
        },
        "Overall judgement": ["Low", "Moderate", "Serious", "Critical", "NI"],
    }
    fig = mp.rob_traffic_light(table, tool="ROBINS-I")
    colours = [to_hex(c) for c in lights(fig).get_facecolors()]
    assert colours[:8] == [GREEN] * 8
    assert colours[-8:] == [BLUE] * 8
    assert colours[24:32] == [DARK_RED] * 8
    assert texts(fig, "rob-domain")[-1].get_text() == "Overall"
    ax = fig.axes[0]
    legends = {a.get_gid(): a for a in ax.get_children() if isinstance(a, matplotlib.legend.Legend)}
    key = [t.get_text() for t in legends["rob-domain-key"].get_texts()]
    assert key[0] == "D1: Bias due to confounding" and len(key) == 7


def test_columns_named_as_cochrane_domains_get_their_numbers():
    table = {
        "Study": ["A", "B"],
        "Bias.due.to.missing.outcome.data": ["Low risk", "High risk"],
        "Overall.bias": ["Low risk", "Some concerns"],
    }
    fig = mp.rob_traffic_light(table)
    assert [t.get_text() for t in texts(fig, "rob-domain")] == ["D3", "Overall"]


def test_dataframe_with_study_index():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"D1": ["Low", "High"], "D2": ["Low", "Low"]}, index=["A 1999", "B 2000"])
    fig = mp.rob_traffic_light(frame)
    assert [t.get_text() for t in texts(fig, "rob-study")] == ["A 1999", "B 2000"]


def test_user_defined_tool():
    tool = mp.RobTool(
        name="QUADAS-2",
        domains=["Patient selection", "Index test", "Reference standard", "Flow and timing"],
        judgements=["Low", "Unclear", "High"],
        colors=["green", "gold", "red"],
        symbols=["+", "?", "-"],
    )
    table = {"Study": ["A", "B"], "D1": ["Low", "Unclear"], "D4": ["High", "Low"]}
    fig = mp.rob_traffic_light(table, tool=tool)
    assert [t.get_text() for t in texts(fig, "rob-symbol")] == ["+", "-", "?", "+"]
    assert [t.get_text() for t in texts(fig, "rob-domain")] == ["D1", "D4"]
    with pytest.raises(InvalidParameterError, match=r"'colors'.*one entry per judgement"):
        mp.RobTool(name="x", domains=["a"], judgements=["Low", "High"], colors=["g"], symbols="+-")


def test_summary_shares_are_counts_or_weights():
    fig = mp.rob_summary(TABLE)
    ax = fig.axes[0]
    widths = {}
    for patch in ax.patches:
        widths.setdefault(patch.get_gid(), []).append(patch.get_width())
    # D1: 2 low of 4, 1 some concerns, 1 high; D2: 2 low, 1 high, 1 not reported
    assert widths["rob-bar-Low"][:2] == pytest.approx([50, 50])
    assert widths["rob-bar-Some concerns"][0] == pytest.approx(25)
    assert widths["rob-bar-Not reported"][1] == pytest.approx(25)
    # every bar adds to 100 %
    totals = np.sum(list(widths.values()), axis=0)
    assert totals == pytest.approx([100] * 6)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Bias arising from the randomization process" and labels[-1] == "Overall"
    assert ax.get_xlabel() == "Share of studies"
    # colours of the bars
    (low,) = {to_hex(p.get_facecolor()) for p in ax.patches if p.get_gid() == "rob-bar-Low"}
    assert low == GREEN
    plt.close(fig)
    w = [1.0, 2.0, 3.0, 4.0]
    fig = mp.rob_summary(TABLE, weights=w)
    ax = fig.axes[0]
    low = [p.get_width() for p in ax.patches if p.get_gid() == "rob-bar-Low"]
    # overall: only Delta (weight 4 of 10) is low
    assert low[-1] == pytest.approx(40)
    assert low[0] == pytest.approx(100 * (1 + 4) / 10)
    assert ax.get_xlabel() == "Share of the weight of the studies"


def test_unknown_judgement_names_study_domain_and_value():
    bad = dict(TABLE, D3=["Low", "Medium", "Low", "Low"])
    with pytest.raises(InvalidDataError, match=r"study 2 \('Beta 2003'\), domain 'D3'.*'Medium'"):
        mp.rob_traffic_light(bad)
    with pytest.raises(InvalidDataError, match=r"'Moderate' is not a RoB 2 judgement"):
        mp.rob_summary(dict(TABLE, D1=["Moderate"] * 4))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tool": "rob3"}, InvalidParameterError, "'tool'.*'rob3'"),
        ({"study": "Trial"}, InvalidParameterError, "'study'.*'Trial'"),
        ({"overall": "All"}, InvalidParameterError, "'overall'.*'All'"),
        ({"domains": ["D1", "D9"]}, InvalidParameterError, "'domains'.*'D9'"),
        ({"domains": "D1"}, MetapoolTypeError, "'domains'"),
        ({"ax": "axes"}, MetapoolTypeError, "'ax'"),
        ({"path": "x.docx"}, InvalidParameterError, "'path'"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mp.rob_traffic_light(TABLE, **kwargs)


def test_bad_tables_and_weights():
    with pytest.raises(MetapoolTypeError, match=r"'judgements'.*mapping"):
        mp.rob_traffic_light([["Low"]])
    with pytest.raises(InvalidDataError, match=r"one length"):
        mp.rob_traffic_light({"Study": ["A", "B"], "D1": ["Low"]})
    with pytest.raises(InvalidParameterError, match=r"'study' parameter.*needed"):
        mp.rob_traffic_light({"Name": ["A"], "D1": ["Low"]})
    with pytest.raises(InvalidParameterError, match=r"one weight per study"):
        mp.rob_summary(TABLE, weights=[1, 2])
    with pytest.raises(InvalidParameterError, match=r"non-negative.*study 2"):
        mp.rob_summary(TABLE, weights=[1, -2, 3, 4])
    with pytest.raises(InvalidParameterError, match=r"all zero"):
        mp.rob_summary(TABLE, weights=[0, 0, 0, 0])
    with pytest.raises(MetapoolTypeError, match=r"'weights'"):
        mp.rob_summary(TABLE, weights="heavy")


def test_ax_and_path(tmp_path: Path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    out = mp.rob_traffic_light(TABLE, ax=a1)
    assert out is fig and len(lights(fig).get_offsets()) == 23
    assert mp.rob_summary(TABLE, ax=a2) is fig
    for name, func in (("tl.svg", mp.rob_traffic_light), ("sum.png", mp.rob_summary)):
        func(TABLE, path=tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_summary_layout_is_clean():
    fig = mp.rob_summary(TABLE, title="Risk of bias")
    assert_clean_layout(fig)


COCHRANE = Path(__file__).resolve().parents[2] / ".." / "shared" / "cochrane" / "pairwise70.csv"


@pytest.mark.skipif(not COCHRANE.exists(), reason="../shared/cochrane/pairwise70.csv is absent")
def test_cochrane_export_judgements_draw():
    reviews = mp.io.read_cochrane_csv(COCHRANE)
    (review,) = [r for r in reviews if r.id == "CD015373_pub2"]
    analysis = next(a for a in review.analyses if len(a.risk_of_bias) == 6)
    table = {"Study": list(analysis.labels), **analysis.risk_of_bias}
    fig = mp.rob_traffic_light(table)
    assert [t.get_text() for t in texts(fig, "rob-domain")] == [
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "Overall",
    ]
    n_cells = sum(v is not None for col in analysis.risk_of_bias.values() for v in col)
    assert len(lights(fig).get_offsets()) == n_cells
    assert not math.isnan(n_cells)
