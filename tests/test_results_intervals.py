"""metapool.results._intervals: Interval, IntervalArray and NOT_ESTIMABLE."""

from __future__ import annotations

import json
import math

import numpy as np

from metapool.results import NOT_ESTIMABLE, Interval, IntervalArray


def test_interval_unpacks_formats_and_serialises() -> None:
    low, high = Interval(0.25, 1.5)
    assert (low, high) == (0.25, 1.5)
    assert Interval(0.25, 1.5).format(2) == "0.25 to 1.50"
    assert Interval(0.25, 1.5).to_dict() == {"low": 0.25, "high": 1.5}
    assert repr(Interval(0.25, 1.5)) == "Interval(low=0.25, high=1.5)"


def test_not_estimable_is_nan_and_serialises_as_null() -> None:
    assert not NOT_ESTIMABLE.estimable and math.isnan(NOT_ESTIMABLE.low)
    assert NOT_ESTIMABLE.format() == "not estimable"
    assert json.dumps(NOT_ESTIMABLE.to_dict(), allow_nan=False) == '{"low": null, "high": null}'
    assert Interval(-math.inf, 1.0).to_dict() == {"low": None, "high": 1.0}


def test_interval_array_serialises_any_shape() -> None:
    one_d = IntervalArray(np.array([0.1, np.nan]), np.array([0.2, np.inf]))
    assert one_d.to_dict() == {"low": [0.1, None], "high": [0.2, None]}
    two_d = IntervalArray(np.zeros((2, 1)), np.ones((2, 1)))
    assert two_d.to_dict() == {"low": [[0.0], [0.0]], "high": [[1.0], [1.0]]}
    zero_d = IntervalArray(np.asarray(0.5), np.asarray(np.nan))
    assert zero_d.to_dict() == {"low": 0.5, "high": None}
    for arr in (one_d, two_d, zero_d):
        json.dumps(arr.to_dict(), allow_nan=False)


def test_interval_array_compares_element_wise() -> None:
    a = IntervalArray(np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert a == IntervalArray(np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert a != IntervalArray(np.array([0.1, 0.2]), np.array([0.3, 0.5]))
