"""Fixtures of the plot tests: published analyses, and closing every figure."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import metapool as mp
from tests._reference import dataset, effects_of
from tests.plotting._helpers import BCG_ALLOCATION


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def bcg() -> mp.MetaResult:
    return mp.RandomEffects(convention="revman5").fit(effects_of(dataset("bcg_rr")))


@pytest.fixture(scope="module")
def normand() -> mp.MetaResult:
    return mp.RandomEffects(convention="revman5").fit(effects_of(dataset("normand1999")))


@pytest.fixture(scope="module")
def bcg_subgroups() -> mp.SubgroupResult:
    return mp.subgroup_analysis(
        effects_of(dataset("bcg_rr")), BCG_ALLOCATION, mp.RandomEffects(convention="revman5")
    )
