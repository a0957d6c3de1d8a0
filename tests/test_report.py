"""One-call reports: well-formed self-contained HTML, Markdown with its figures, and a
methods paragraph that follows the settings the result was fitted with."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import base64
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError, MissingDependencyError

E1, N1 = [10, 20, 15, 3, 7, 12, 9, 30, 4, 6, 11], [50, 80, 60, 30, 40, 55, 45, 120, 25, 33, 52]
E2, N2 = [5, 9, 12, 4, 2, 10, 6, 22, 3, 2, 8], [50, 80, 60, 30, 40, 55, 45, 118, 26, 31, 50]
LABELS = [f"Trial {i} <{2000 + i}>" for i in range(1, 12)]
VOID = {"meta", "img", "br", "hr", "link", "input"}


def rr(k: int = 5) -> mp.RiskRatio:
    return mp.RiskRatio(events1=E1[:k], n1=N1[:k], events2=E2[:k], n2=N2[:k], labels=LABELS[:k])


class _Nesting(HTMLParser):
    """Checks that every element is closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def check_well_formed(text: str) -> ET.Element:
    parser = _Nesting()
    parser.feed(text)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    # the page is also well-formed XML (XHTML syntax), so a strict parser reads it
    return ET.fromstring(re.sub(r"^<!DOCTYPE html>\s*", "", text))


def test_html_report_is_well_formed_self_contained_and_complete(tmp_path):
    res = mp.RandomEffects(tau2="REML", ci="hksj").fit(rr())
    sof = mp.SummaryOfFindings(
        title="Drug vs placebo",
        outcomes=[mp.SofOutcome.from_result("Death", res, certainty=mp.Certainty(imprecision=1))],
    )
    rob = mp.rob_traffic_light({"Study": LABELS[:2], "D1": ["Low", "High"]})
    out = mp.write_report(
        {"Death": res},
        tmp_path / "r.html",
        sof=sof,
        figures={"Risk of bias": rob},
        notes=["Source: made-up data"],
        title="My <review>",
    )
    assert out == tmp_path / "r.html"
    text = out.read_text(encoding="utf-8")
    root = check_well_formed(text)
    assert root.find("head/title").text == "My <review>"  # escaped in the file
    assert "My &lt;review&gt;" in text
    # every figure embedded: forest plot + the RoB figure (k = 5 < 10: no funnel plot)
    images = [img.get("src") for img in root.iter("img")]
    assert len(images) == 2
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="http' not in text and "href=" not in text  # nothing to fetch
    # the tables: the pooled row and one row per study, labels escaped
    body = ET.tostring(root, encoding="unicode")
    bt = res.back_transform()
    assert f"{bt.estimate:.2f} [{bt.ci.low:.2f}, {bt.ci.high:.2f}]" in body
    studies = root.findall(".//table[@class='studies']/tbody/tr")
    assert [tr[0].text for tr in studies] == LABELS[:5]
    assert "No funnel plot: 5 studies" in body
    # summary of findings and references
    assert root.find(".//table[@class='sof']") is not None
    refs = [li.text for li in root.findall(".//ol[@class='references']/li")]
    assert any(r.startswith("Viechtbauer W (2005)") for r in refs)
    assert any(r.startswith("Hartung J, Knapp G (2001)") for r in refs)


@pytest.mark.parametrize(
    ("model", "expected", "absent"),
    [
        (
            mp.RandomEffects(tau2="REML", ci="hksj"),
            [
                "restricted maximum likelihood",
                "Hartung-Knapp-Sidik-Jonkman",
                "computed from \u03c4\u00b2",
            ],
            ["DerSimonian"],
        ),
        (
            mp.RandomEffects(convention="revman5"),
            [
                "DerSimonian-Laird",
                "Wald-type interval from the normal distribution",
                "computed from Cochran's Q",
            ],
            ["Hartung"],
        ),
        (mp.RandomEffects(tau2="PM", ci="t"), ["Paule-Mandel", "t distribution on k - 1"], []),
        (mp.CommonEffect(), ["common-effect (inverse-variance) model"], ["\u03c4\u00b2 was"]),
        (mp.MantelHaenszel(), ["Mantel-Haenszel method", "common-effect"], ["\u03c4\u00b2 was"]),
    ],
)
def test_methods_paragraph_follows_the_settings(tmp_path, model, expected, absent):
    res = model.fit(rr())
    root = check_well_formed(
        mp.write_report({"A": res}, tmp_path / "m.html").read_text(encoding="utf-8")
    )
    methods = root.find(".//p[@class='methods']").text
    assert methods.startswith("Risk ratios were pooled")
    for phrase in expected:
        assert phrase in methods
    for phrase in absent:
        assert phrase not in methods
    # every cited number has a reference
    cited = {int(n) for group in re.findall(r"\[([\d, ]+)\]", methods) for n in group.split(",")}
    refs = root.findall(".//ol[@class='references']/li")
    assert cited == set(range(1, len(refs) + 1))


def test_funnel_plot_from_ten_studies_and_subgroups(tmp_path):
    res = mp.RandomEffects().fit(rr(11))
    sg = mp.subgroup_analysis(rr(11), ["a"] * 5 + ["b"] * 6, mp.RandomEffects())
    root = check_well_formed(
        mp.write_report({"All": res, "By group": sg}, tmp_path / "f.html").read_text("utf-8")
    )
    captions = [c.text for c in root.iter("figcaption")]
    assert captions == [
        "Forest plot: All.",
        "Funnel plot: All (k = 11).",
        "Forest plot: By group.",
        "Funnel plot: By group (k = 11).",
    ]
    pooled = root.findall(".//section[@id='analysis-2']//table[@class='pooled']/tbody/tr")
    assert [tr[0].text for tr in pooled] == ["a", "b", "Overall"]
    assert "Test for subgroup differences" in ET.tostring(root, encoding="unicode")


def test_markdown_report_writes_its_figures(tmp_path):
    res = mp.RandomEffects().fit(rr())
    html = mp.write_report({"Death | all": res}, tmp_path / "r.html", markdown=True)
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert html.exists()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == ["r_figures/forest_death_all.png"]
    assert all((tmp_path / link).read_bytes()[:4] == b"\x89PNG" for link in links)
    assert "## 1. Death \\| all" in md
    assert "| Trial 1 &lt;2001&gt; |" in md  # labels cannot break the table or add markup
    table = [line for line in md.splitlines() if line.startswith("| Study")]
    assert table == ["| Study | RR [95% CI] | Weight (%) |"]
    only_md = mp.write_report({"x": res}, tmp_path / "only.md")
    assert only_md.suffix == ".md" and (tmp_path / "only_figures").is_dir()


def test_result_report_methods(tmp_path):
    res = mp.RandomEffects().fit(rr())
    out = res.report(tmp_path / "one.html")
    assert "Random-effects model" in out.read_text(encoding="utf-8")
    sg = mp.subgroup_analysis(rr(), ["a", "a", "b", "b", "b"], mp.RandomEffects())
    assert "Subgroup analysis" in sg.report(tmp_path / "sg.md").read_text(encoding="utf-8")


def test_bad_arguments(tmp_path):
    res = mp.RandomEffects().fit(rr())
    with pytest.raises(InvalidParameterError, match=r"'path'.*\.html.*report\.pdf"):
        mp.write_report(res, tmp_path / "report.pdf")
    with pytest.raises(MetapoolTypeError, match=r"'analyses'.*'x' is a dict"):
        mp.write_report({"x": {}}, tmp_path / "r.html")
    with pytest.raises(InvalidParameterError, match=r"no analysis"):
        mp.write_report({}, tmp_path / "r.html")
    with pytest.raises(MetapoolTypeError, match=r"'sof'"):
        mp.write_report(res, tmp_path / "r.html", sof="table")
    with pytest.raises(MetapoolTypeError, match=r"'figures'.*'x' is a str"):
        mp.write_report(res, tmp_path / "r.html", figures={"x": "fig"})
    with pytest.raises(InvalidParameterError, match=r"'funnel_min_k'"):
        mp.write_report(res, tmp_path / "r.html", funnel_min_k=1)


def test_missing_jinja2_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "metapool\[report\]"'):
        mp.write_report(mp.RandomEffects().fit(rr()), tmp_path / "r.html")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_opens_in_headless_chromium(tmp_path):
    out = mp.write_report({"A": mp.RandomEffects().fit(rr())}, tmp_path / "r.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1000,1400",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG"
    # a page with content is far larger than a blank screenshot
    assert shot.stat().st_size > 20_000
