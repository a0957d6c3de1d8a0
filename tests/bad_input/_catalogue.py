"""The shape of one bad-input case, shared by the case modules of this package.

Each case module (``cases_*.py``) defines ``CASES``, a list of :class:`Case`.
``tests/test_bad_input.py`` runs them all. A case either

* ``raises`` an exact metapool error class whose message contains every string of
  ``names`` (the parameter, the study as ``study N ('label')`` and the value), or
* returns a result: the expected ``warns`` class must be emitted and ``check``
  (a function that asserts on the result) must pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["Case"]


@attrs.frozen
class Case:
    id: str
    run: Callable[[], Any]
    raises: type[BaseException] | None = None
    names: tuple[str, ...] = ()
    warns: type[Warning] | None = None
    check: Callable[[Any], None] | None = None

    def __attrs_post_init__(self) -> None:
        if self.raises is None and self.warns is None and self.check is None:
            raise AssertionError(f"case {self.id!r} asserts nothing")
        if self.raises is not None and not self.names:
            raise AssertionError(f"case {self.id!r}: an error case must list what it names")
