"""Small data sets and helpers shared by the tests of metapool.results (test_results_*.py)."""

from __future__ import annotations

import html
import json
import sys
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from scipy import stats

import metapool as mp
from metapool.exceptions import MissingDependencyError

#: metafor's dat.bcg (13 BCG vaccine trials): tuberculosis cases / totals per arm
BCG = {
    "events1": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "n1": [123, 306, 231, 13598, 5069, 1541, 2545, 88391, 7499, 1716, 50634, 2498, 16913],
    "events2": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "n2": [139, 303, 220, 12867, 5808, 1451, 629, 88391, 7277, 1665, 27338, 2341, 17854],
    "labels": [
        "Aronson 1948",
        "Ferguson & Simes 1949",
        "Rosenthal et al 1960",
        "Hart & Sutherland 1977",
        "Frimodt-Moller et al 1973",
        "Stein & Aronson 1953",
        "Vandiviere et al 1973",
        "TPT Madras 1980",
        "Coetzee & Berjak 1968",
        "Rosenthal et al 1961",
        "Comstock et al 1974",
        "Comstock & Webster 1969",
        "Comstock et al 1976",
    ],
}
#: dat.bcg's absolute latitude and allocation of each trial
ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
ALLOC = [
    "random", "random", "random", "random", "alternate", "alternate", "random",
    "random", "random", "systematic", "systematic", "systematic", "systematic",
]  # fmt: skip

#: Label, subgroup or moderator name that must be shown as text, never as markup
SCRIPT = "<script>alert('x')</script>"


def bcg_rr(**kwargs: Any) -> mp.RiskRatio:
    return mp.RiskRatio(**BCG, **kwargs)


def md_set() -> mp.MeanDifference:
    return mp.MeanDifference(
        mean1=[5.1, 4.8, 6.0, 5.5, 4.9],
        sd1=[1.2, 1.5, 1.1, 1.3, 1.4],
        n1=[30, 25, 40, 20, 35],
        mean2=[6.0, 5.5, 6.4, 5.2, 5.6],
        sd2=[1.3, 1.4, 1.2, 1.0, 1.5],
        n2=[30, 26, 38, 22, 33],
        labels=["A", "B", "C", "D", "E"],
    )


def z(level: float) -> float:
    """The normal quantile, from scipy.stats (not metapool's helper)."""
    return float(stats.norm.ppf(0.5 + level / 2))


def t(level: float, df: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, df))


def random_effects(level: float = 0.95, **kwargs: Any) -> mp.RandomEffects:
    return mp.RandomEffects(level=level, **kwargs)


def parse_html(text: str) -> ET.Element:
    """Parse the HTML of ``_repr_html_`` (well-formed XML by design)."""
    return ET.fromstring(text)


def assert_html_shows(text: str, label: str) -> None:
    """``label`` appears escaped, and no element came from it."""
    root = parse_html(text)
    assert html.escape(label) in text
    assert "<script>" not in text
    assert not list(root.iter("script"))
    assert any(label in (el.text or "") for el in root.iter())


def assert_json_round_trip(result: Any) -> dict[str, Any]:
    """``to_dict()`` survives ``json.dumps`` (no NaN) and ``json.loads`` unchanged."""
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    return data


def assert_needs_pandas(monkeypatch: pytest.MonkeyPatch, *calls: Any) -> None:
    """Each call raises MissingDependencyError naming the extra when pandas is absent."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    for call in calls:
        with pytest.raises(MissingDependencyError, match=r'pip install "metapool\[pandas\]"'):
            call()


def natural_ci(yi: Any, se: Any, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``exp(yi ± z·se)``, computed here independently of metapool."""
    yi, se = np.asarray(yi, dtype=float), np.asarray(se, dtype=float)
    return np.exp(yi - z(level) * se), np.exp(yi + z(level) * se)
