"""The bad-input catalogue: what users actually feed a meta-analysis.

Every public entry point meets spreadsheet and pandas input with blanks, text,
categories, odd orderings and extreme values. Each case (``tests/bad_input/cases_*.py``)
asserts either the exact metapool error and that its message names the parameter,
the study (label and 1-based row) and the value, or the correct result with the
expected warning.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import pytest

import metapool as mp
from tests import bad_input
from tests.bad_input._catalogue import Case

_METAPOOL_ERRORS = (
    mp.exceptions.MetapoolError,
    mp.exceptions.MetapoolTypeError,
    mp.exceptions.MissingDependencyError,
)


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(bad_input.__path__):
        if info.name.startswith("cases_"):
            module = importlib.import_module(f"tests.bad_input.{info.name}")
            cases.extend(module.CASES)
    return cases


CASES = _all_cases()


def test_catalogue_is_large_and_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(ids) >= 120


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case) -> None:
    if case.raises is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
            with pytest.raises(case.raises) as info:
                case.run()
        # exact class, and one of metapool's (never a bare numpy/Python error)
        assert type(info.value) is case.raises
        assert isinstance(info.value, _METAPOOL_ERRORS)
        message = str(info.value)
        for fragment in case.names:
            assert fragment in message, f"{fragment!r} not in message: {message}"
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = case.run()
    if case.warns is not None:
        classes = [w.category for w in caught]
        assert any(issubclass(c, case.warns) for c in classes), (
            f"expected {case.warns.__name__}; got {[c.__name__ for c in classes]}"
        )
    if case.check is not None:
        case.check(result)
