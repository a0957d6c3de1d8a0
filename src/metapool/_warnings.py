"""Warnings attributed to the user's line, however deep inside metapool they arise."""

from __future__ import annotations

import sys
import warnings

__all__ = ["warn"]


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` with the stack level of the first frame outside metapool.

    Python 3.12's ``skip_file_prefixes`` does the same; this works on 3.10 too.
    """
    level = 2
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not (module == "metapool" or module.startswith("metapool.")):
            break
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
