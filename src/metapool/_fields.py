"""attrs field specifiers shared by the effect sets, the results and the moderators."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

__all__ = ["array_field"]


def array_field(*, repr: bool = False, **kwargs: Any) -> Any:
    """An attrs field holding a numpy array, compared element-wise (hidden from repr
    unless ``repr=True``, as study-level arrays would swamp it)."""
    return attrs.field(eq=attrs.cmp_using(eq=np.array_equal), repr=repr, **kwargs)
