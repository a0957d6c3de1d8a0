"""The metafor-compatible front end ``mp.escalc`` against metafor's ``escalc``.

Reference: ``tests/reference/make_escalc_front_end.R`` (metafor 3.8.1) wrote
``escalc_front_end.json`` with full double precision. Tolerance 1e-12 relative: the
same closed forms, evaluated in a different order.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from tests._reference import ESCALC_FRONT_END, load_reference

RTOL = 1e-12


def _cases() -> list[dict[str, Any]]:
    return list(load_reference(ESCALC_FRONT_END)["cases"])


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        options = case["options"] or {}  # an empty R list is written as []
        eff = mp.escalc(case["measure"], **case["args"], **options)
    assert str(eff.measure) == case["measure"] or eff.measure.code == case["measure"]
    np.testing.assert_allclose(eff.yi, case["yi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(eff.vi, case["vi"], rtol=RTOL, atol=1e-15)


def test_column_names_and_slab_are_looked_up_in_data() -> None:
    data = {"a": [4, 6], "b": [119, 300], "c": [11, 29], "d": [128, 274], "trial": ["x", "y"]}
    eff = mp.escalc("OR", ai="a", bi="b", ci="c", di="d", data=data, slab="trial")
    direct = mp.OddsRatio(events1=[4, 6], n1=[123, 306], events2=[11, 29], n2=[139, 303])
    np.testing.assert_array_equal(eff.yi, direct.yi)
    assert eff.labels == ("x", "y")


def test_unknown_measures_options_and_arguments_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'measure' parameter of escalc.*'XYZ'"):
        mp.escalc("XYZ", ai=[1])
    with pytest.raises(MetapoolTypeError, match="'measure' must be a measure code"):
        mp.escalc(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"'to' parameter.*'sometimes'"):
        mp.escalc("RR", ai=[1], n1i=[5], ci=[2], n2i=[5], to="sometimes")
    with pytest.raises(InvalidParameterError, match=r"does not use the argument\(s\) 'm1i'"):
        mp.escalc("RR", ai=[1], n1i=[5], ci=[2], n2i=[5], m1i=[3])
    with pytest.raises(InvalidParameterError, match=r"non-events or the total of group 2"):
        mp.escalc("RR", ai=[1], n1i=[5], ci=[2])
    with pytest.raises(InvalidParameterError, match=r"column 'nope' given for 'ai'"):
        mp.escalc("RR", ai="nope", n1i=[5], ci=[2], n2i=[5], data={"x": [1]})
    with pytest.raises(InvalidParameterError, match=r"'vtype' parameter of escalc\('MD'\)"):
        mp.escalc("MD", m1i=[1], sd1i=[1], n1i=[5], m2i=[2], sd2i=[1], n2i=[5], vtype="UB")


def test_registered_measures_include_the_pairwise_ones() -> None:
    assert {"MD", "SMD", "RR", "OR", "RD"} <= set(mp.effects.registered_measures())
