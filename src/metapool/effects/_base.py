"""The base class of every effect-size set."""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy

_E = TypeVar("_E", bound="EffectSet")

__all__ = ["EffectSet", "array_field"]


def array_field(*, repr: bool = False, **kwargs: Any) -> Any:
    """An attrs field holding a numpy array, compared element-wise (hidden from repr
    unless ``repr=True``, as study-level arrays would swamp it)."""
    return attrs.field(eq=attrs.cmp_using(eq=np.array_equal), repr=repr, **kwargs)


@attrs.frozen(init=False, kw_only=True)
class EffectSet:
    """Study-level effect sizes ``yi`` with sampling variances ``vi``.

    Subclasses compute ``yi`` and ``vi`` from arm-level data; they all share
    this interface, which is all the pooling models need.

    Attributes
    ----------
    yi : ndarray
        Effect size of each study (log scale for ratio measures).
    vi : ndarray
        Sampling variance of each ``yi``.
    labels : tuple of str
        Study labels.
    index : ndarray of int
        Position of each kept study in the input as given (studies dropped by
        ``nan_policy="omit"`` leave gaps).
    excluded : tuple of ExcludedStudy
        Studies left out, with the reason.
    measure : str
        Name of the effect measure.
    log_scale : bool
        Whether ``yi`` is on the log scale (ratio measures).
    """

    yi: NDArray[np.float64] = array_field()
    vi: NDArray[np.float64] = array_field()
    labels: tuple[str, ...]
    index: NDArray[np.intp] = array_field()
    excluded: tuple[ExcludedStudy, ...] = ()
    #: Name of the effect measure ("MD", "SMD", "RR", "OR", "RD", or a user's name).
    measure: str = "GEN"
    #: True for measures analysed on the log scale (RR, OR), back-transformed with exp.
    log_scale: bool = False

    @property
    def se(self) -> NDArray[np.float64]:
        """Standard errors, ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    def __len__(self) -> int:
        return self.k

    def subset(self: _E, studies: Any, *, keep_excluded: bool = True) -> _E:
        """A new effect set with only ``studies`` (positions 0..k-1, or a boolean mask).

        Every per-study field is sliced; settings are kept. ``excluded`` is kept
        (those studies were left out of the whole analysis) unless
        ``keep_excluded=False``.

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.2, 0.3], vi=[1, 1, 1], labels=["a", "b", "c"])
        >>> eff.subset([0, 2]).labels
        ('a', 'c')
        """
        pos = np.arange(self.k)[np.asarray(studies)]
        if pos.ndim != 1:
            raise ValueError("subset: give a 1-d sequence of positions or a boolean mask")
        values: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray) and value.shape[:1] == (self.k,):
                value = value[pos]
            elif field.name == "labels":
                value = tuple(self.labels[i] for i in pos)
            elif field.name == "excluded" and not keep_excluded:
                value = ()
            values[field.name] = value
        new = object.__new__(type(self))
        new.__attrs_init__(**values)
        return new

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        """Arm-level columns (empty for precomputed effects), e.g. for forest plots."""
        return {}

    def to_dict(self) -> dict[str, object]:
        """JSON-safe representation."""
        out: dict[str, object] = {
            "measure": self.measure,
            "k": self.k,
            "labels": list(self.labels),
            "yi": self.yi.tolist(),
            "vi": self.vi.tolist(),
            "excluded": [e.to_dict() for e in self.excluded],
        }
        out.update({name: arr.tolist() for name, arr in self.arm_data().items()})
        return out
