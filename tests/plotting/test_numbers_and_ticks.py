"""How plots write numbers and choose axis limits and ticks (no drawing)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")


from metapool.plotting import _numbers, _ticks


def test_forest_scales_follow_revman():
    assert _ticks.forest_ticks(math.log(1.8), True) == ((0.5, 2.0), (0.5, 0.7, 1.0, 1.5, 2.0))
    assert _ticks.forest_ticks(math.log(60), True)[0] == (0.01, 100.0)
    assert _ticks.forest_ticks(3.1, False) == ((-4.0, 4.0), (-4.0, -2.0, 0.0, 2.0, 4.0))
    assert _ticks.forest_ticks(0.0, False)[0] == (-1.0, 1.0)


def test_numbers_have_a_bounded_width():
    M = _numbers.MINUS
    assert _numbers.fmt_num(99999.99, 2) == "99999.99"  # as wide as 1.00e+05: kept
    assert _numbers.fmt_num(100000.0, 2) == "1.00e+05"
    assert _numbers.fmt_num(-1.5e300, 2) == f"{M}1.50e+300"
    assert _numbers.fmt_num(0.004, 2) == "0.00"  # a difference may round to zero ...
    assert _numbers.fmt_num(0.004, 2, ratio=True) == f"4.00e{M}03"  # ... a ratio may not
    assert _numbers.fmt_num(0.006, 2, ratio=True) == "0.01"
    assert _numbers.fmt_num(123456.0, 0) == "123456"
    assert _numbers.fmt_num(12345678.0, 0) == "1.2e+07"
    for x in (1e-300, 3e-7, 0.5, 12.0, 4e4, 7e8, 1.7e308):
        for d in range(5):
            assert len(_numbers.fmt_num(x, d, ratio=True)) <= d + 7 + (d == 0)
    assert _numbers.fmt_data(1e20) == "1.00e+20"
    assert _numbers.fmt_data(191064.0) == "191064"
    assert _numbers.fmt_data(1.5e-7) == f"1.50e{M}07"
    assert _numbers.fmt_data(math.inf) == "∞"
    assert _numbers.fmt_tick(1e35) == "1e+35" and _numbers.fmt_tick(1e-35) == f"1e{M}35"
    assert _numbers.fmt_tick(1000.0) == "1000" and _numbers.fmt_tick(0.0001) == "0.0001"


def test_back_transforms_beyond_the_float_range_are_exact():
    M = _numbers.MINUS
    assert _numbers.fmt_exp(800.0, 2) == "2.73e+347"  # exp(800) = 2.726e347
    assert _numbers.fmt_exp(-800.0, 2) == f"3.67e{M}348"
    assert _numbers.fmt_exp(math.log(1e40), 2) == "1.00e+40"
    assert _numbers.fmt_exp(math.log(9.999), 2) == "10.00"
    assert _numbers.fmt_exp(math.nan, 2) == "NA"
    assert _numbers.safe_exp(1e4) == math.exp(709.0)


def test_default_axis_beyond_revman_scales_has_round_ticks():
    assert _ticks.forest_ticks(math.log(5e6), True) == (
        (1e-10, 1e10),
        (1e-10, 1e-5, 1.0, 1e5, 1e10),
    )
    limits, ticks = _ticks.forest_ticks(1e5, True)
    assert limits == (1e-300, 1e300) and len(ticks) == 5
    assert _ticks.forest_ticks(1e308, False)[0] == (-1e300, 1e300)
    assert _ticks.log_ticks(1e-300, 1e300) == tuple(10.0**p for p in range(-300, 301, 100))
