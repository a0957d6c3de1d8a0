"""metapool.results._frames: the columns the tables share, and the pandas check."""

from __future__ import annotations

import numpy as np
import pytest

from metapool.effects._measure import MEASURES, generic_measure
from metapool.exceptions import MissingDependencyError
from metapool.results._frames import (
    make_frame,
    natural_columns,
    pooled_columns,
    require_pandas,
    stack,
    study_columns,
)
from tests._results_data import z


def test_natural_columns_only_when_the_scales_differ() -> None:
    assert natural_columns(MEASURES["MD"], [1.0], [0.0], [2.0]) == {}
    cols = natural_columns(MEASURES["RR"], [0.0, 1.0], [-1.0, 0.0], [1.0, 2.0], [-2.0], [2.0])
    assert list(cols) == ["RR", "RR_ci_low", "RR_ci_high", "RR_pi_low", "RR_pi_high"]
    np.testing.assert_allclose(cols["RR"], [1.0, np.e])
    np.testing.assert_allclose(cols["RR_pi_high"], [np.exp(2.0)])


def test_natural_columns_avoid_a_taken_name() -> None:
    measure = generic_measure("yi", "log")
    assert list(natural_columns(measure, [0.0], [0.0], [0.0], taken=["yi"])) == [
        "yi_natural",
        "yi_natural_ci_low",
        "yi_natural_ci_high",
    ]


def test_study_columns_use_a_wald_interval_at_the_level() -> None:
    cols = study_columns(MEASURES["OR"], ["a", "b"], [0.5, -0.5], [0.04, 0.09], 0.9)
    assert list(cols) == ["label", "yi", "se", "ci_low", "ci_high", "OR", "OR_ci_low", "OR_ci_high"]
    np.testing.assert_allclose(cols["ci_low"], [0.5 - z(0.9) * 0.2, -0.5 - z(0.9) * 0.3])
    np.testing.assert_allclose(
        cols["OR_ci_high"], np.exp([0.5 + z(0.9) * 0.2, -0.5 + z(0.9) * 0.3])
    )


def test_pooled_columns_and_stack() -> None:
    row = pooled_columns(
        None, estimate=0.1, se=0.2, statistic=0.5, df=np.nan, pvalue=0.6, ci_low=-0.3, ci_high=0.5
    )
    assert list(row) == ["estimate", "se", "statistic", "df", "pvalue", "ci_low", "ci_high"]
    both = stack([{"name": ["a"], **row}, {"name": ["b"], **row}])
    assert both["name"] == ["a", "b"]
    np.testing.assert_array_equal(both["estimate"], [0.1, 0.1])
    frame = make_frame("test", both)
    assert frame.shape == (2, 8)


def test_require_pandas_names_the_caller_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require_pandas("x").DataFrame is not None
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(MissingDependencyError) as info:
        require_pandas("MetaResult.to_frame")
    message = str(info.value)
    assert message.startswith("MetaResult.to_frame needs pandas")
    assert 'pip install "metapool[pandas]"' in message
