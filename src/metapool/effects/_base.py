"""The base class of every effect-size set."""

from __future__ import annotations

import inspect
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, ClassVar, NamedTuple, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy
from metapool._fields import array_field
from metapool._serialize import jsonable
from metapool.effects._measure import MEASURES, Measure
from metapool.exceptions import InvalidDataError, MetapoolTypeError

_E = TypeVar("_E", bound="EffectSet")
_T = TypeVar("_T")

__all__ = ["EffectSet", "TwoByTwo", "array_field", "corrected_field", "study_array", "study_index"]


def _float_array(value: Any) -> NDArray[np.float64]:
    return np.asarray(value, dtype=np.float64)


def _index_array(value: Any) -> NDArray[np.intp]:
    return np.asarray(value, dtype=np.intp)


def _one_per_study(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator of a per-study field: one entry per study (k = the length of ``yi``)."""
    yi_shape = np.shape(instance.yi)
    shape = (len(value),) if isinstance(value, tuple) else np.shape(value)
    if len(yi_shape) != 1:
        expected = "a 1-d array (one entry per study)"
    elif shape != yi_shape:
        expected = f"one entry per study (k = {yi_shape[0]}, the length of 'yi')"
    else:
        return
    raise InvalidDataError(
        f"{type(instance).__name__}: '{attribute.name}' must have {expected}; got shape {shape}."
    )


def _labels(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _excluded(value: Iterable[ExcludedStudy]) -> tuple[ExcludedStudy, ...]:
    return tuple(value)


def study_array() -> Any:
    """A per-study float field: converted to a float64 array, one entry per study
    (sliced by :meth:`EffectSet.subset`)."""
    return array_field(
        converter=_float_array, validator=_one_per_study, metadata={"per_study": True}
    )


def corrected_field() -> Any:
    """The ``corrected`` field of count-based sets: the 0-based positions (in the input
    as given) of the studies that received a continuity correction, as a tuple."""
    return attrs.field(default=(), converter=tuple)


def study_index() -> Any:
    """The per-study ``index`` field: converted to an integer array, one entry per study."""
    return array_field(
        converter=_index_array, validator=_one_per_study, metadata={"per_study": True}
    )


class _EffectSetType(type):
    """Metaclass of :class:`EffectSet`: routes a call to the public or the stored init.

    A class that names a public constructor (``_public_constructor = "from_counts"``)
    is built by it when called as ``RiskRatio(events1=..., ...)``; a call that carries
    the stored field ``index`` (which no public constructor accepts) goes to the
    attrs-generated ``__attrs_init__``, which only stores the fields: that is what
    :func:`attrs.evolve` and :meth:`EffectSet.subset` call. (Such classes are
    declared with ``init=False``, so that type checkers see the public signature,
    declared as ``__init__`` under ``TYPE_CHECKING``, instead of the stored one.)
    A class without a public constructor (a third-party subclass) is called as usual.
    """

    def __call__(cls: type[_T], /, *args: Any, **kwargs: Any) -> _T:
        public = getattr(cls, "_public_constructor", None)
        if public is not None and "index" not in kwargs:
            return getattr(cls, public)(*args, **kwargs)  # type: ignore[no-any-return]
        if public is not None and "__attrs_init__" in vars(cls):  # declared init=False
            new = cls.__new__(cls)
            new.__attrs_init__(*args, **kwargs)  # type: ignore[attr-defined]
            return new
        # an ordinary attrs class (or a subclass of a built-in declared with
        # init=True): its own __init__ stores the fields
        return type.__call__(cls, *args, **kwargs)  # type: ignore[no-any-return]

    @property
    def __signature__(cls) -> inspect.Signature:
        """The public constructor's signature, for ``help()``, ``inspect`` and Sphinx."""
        public = getattr(cls, "_public_constructor", None)
        if public is not None:
            sig = inspect.signature(getattr(cls, public))
        else:  # the class's own __init__, without ``self``
            sig = inspect.signature(cls.__init__)  # type: ignore[misc]
            sig = sig.replace(parameters=list(sig.parameters.values())[1:])
        return sig.replace(return_annotation=inspect.Signature.empty)


class TwoByTwo(NamedTuple):
    """The 2×2 tables of count-based effect sets, one entry per study."""

    events1: NDArray[np.float64]
    n1: NDArray[np.float64]
    events2: NDArray[np.float64]
    n2: NDArray[np.float64]


@attrs.frozen(kw_only=True)
class EffectSet(metaclass=_EffectSetType):
    """Study-level effect sizes ``yi`` with sampling variances ``vi``.

    Subclasses compute ``yi`` and ``vi`` from arm-level data; they all share
    this interface, which is all the pooling models need.

    An effect set is a frozen value. Its computation lives in named constructors
    (:meth:`~metapool.RiskRatio.from_counts`, :meth:`~metapool.SMD.from_means`,
    :meth:`~metapool.GenericEffect.from_values`, ...), which the public call
    ``RiskRatio(events1=..., ...)`` runs. A call with the stored fields
    (``yi``, ``vi``, ``labels``, ``index``, ... — any call that names ``index``)
    only converts them to arrays and tuples and checks that every per-study
    array has one entry per study (``k``, the length of ``yi``); nothing is
    recomputed or re-validated. That is what :func:`attrs.evolve` and
    :meth:`subset` use, so ``attrs.evolve(eff, labels=new_labels)`` is a changed
    copy. A subclass without a named constructor is an ordinary attrs class
    whose ``__init__`` stores its fields; per-study arrays should be declared so
    that :meth:`subset` slices them (any array field with ``k`` entries is).

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
    measure : Measure
        The effect measure: its code (``str(measure)``, e.g. ``"RR"``), name,
        analysis scale (``measure.scale``: log for ratios) and null value.
    """

    yi: NDArray[np.float64] = study_array()
    vi: NDArray[np.float64] = study_array()
    labels: tuple[str, ...] = attrs.field(converter=_labels, validator=_one_per_study)
    index: NDArray[np.intp] = study_index()
    excluded: tuple[ExcludedStudy, ...] = attrs.field(default=(), converter=_excluded)
    #: The effect measure (code, name, analysis scale, null value).
    measure: Measure = MEASURES["GEN"]

    #: Name of the classmethod that the public call ``cls(...)`` runs (None: the
    #: class is called as usual, i.e. its attrs ``__init__`` stores the fields).
    _public_constructor: ClassVar[str | None] = None

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

    def subset(
        self: _E, studies: Any, *, keep_excluded: bool = True, allow_empty: bool = False
    ) -> _E:
        """A new effect set with only ``studies``.

        Every per-study field is sliced; settings are kept. ``excluded`` is kept
        (those studies were left out of the whole analysis) unless
        ``keep_excluded=False``.

        Parameters
        ----------
        studies : sequence of int or sequence of bool
            Positions ``0 .. k-1`` of the studies to keep (in the order given), or
            a boolean mask of length ``k``.
        keep_excluded : bool, default True
            Whether to keep the record of studies excluded at construction.
        allow_empty : bool, default False
            Allow an empty selection (``[]``, an all-False mask), giving an effect
            set with k = 0. Only for collections that may legitimately be empty,
            such as trim-and-fill's filled studies; such a set cannot be analysed.

        Returns
        -------
        EffectSet
            Of the same class, with at least one study (unless ``allow_empty``).

        Raises
        ------
        MetapoolTypeError
            If ``studies`` is a single number, a set, or holds anything other than
            integers or booleans (floats such as ``1.0`` and strings are refused).
        InvalidDataError
            If a position is outside ``0 .. k-1`` (negative positions are refused
            rather than counted from the end) or repeated, a mask has the wrong
            length, ``studies`` is not one-dimensional, or nothing is selected
            (unless ``allow_empty=True``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.2, 0.3], vi=[1, 1, 1], labels=["a", "b", "c"])
        >>> eff.subset([0, 2]).labels
        ('a', 'c')
        """
        pos = _positions(f"{type(self).__name__}.subset", studies, self.k, allow_empty)
        changes: dict[str, Any] = {"labels": tuple(self.labels[i] for i in pos)}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            # fields marked per-study, and (for third-party subclasses) any array
            # with one entry per study
            sliced = isinstance(value, np.ndarray) and value.shape[:1] == (self.k,)
            if field.metadata.get("per_study", sliced):
                changes[field.alias] = value[pos]
        if not keep_excluded:
            changes["excluded"] = ()
        return attrs.evolve(self, **changes)

    @property
    def counts(self) -> TwoByTwo | None:
        """The 2×2 tables (events and totals of both arms) for count-based
        measures, which Mantel–Haenszel and Peto pool directly; None otherwise."""
        return None

    def arm_data(self) -> dict[str, NDArray[np.float64]]:
        """Arm-level columns (empty for precomputed effects), e.g. for forest plots."""
        return {}

    def to_dict(self) -> dict[str, object]:
        """JSON-safe representation."""
        out: dict[str, object] = {
            "measure": self.measure.code,
            "scale": self.measure.scale.name,
            "k": self.k,
            "labels": list(self.labels),
            "yi": self.yi,
            "vi": self.vi,
            "excluded": self.excluded,
            **self.arm_data(),
        }
        return {name: jsonable(value) for name, value in out.items()}


def _positions(owner: str, studies: Any, k: int, allow_empty: bool) -> NDArray[np.intp]:
    """Positions selected by ``studies`` (integer positions or a boolean mask), checked."""
    if isinstance(studies, (set, frozenset, Mapping, KeysView, ValuesView, ItemsView, Iterator)):
        raise MetapoolTypeError(
            f"{owner}: 'studies' was given a {type(studies).__name__}, which has no order. "
            "Give a list of positions or a boolean mask."
        )
    if (
        isinstance(studies, (str, bytes, np.generic))
        or (isinstance(studies, np.ndarray) and studies.ndim == 0)
        or not isinstance(studies, Iterable)
    ):
        raise MetapoolTypeError(
            f"{owner}: 'studies' must be a sequence of positions or a boolean mask; "
            f"got {studies!r}. For one study give a list, e.g. [{studies!r}]."
        )
    if hasattr(studies, "to_numpy"):
        studies = studies.to_numpy()
    cells = studies if isinstance(studies, np.ndarray) else np.array(list(studies), dtype=object)
    if cells.ndim != 1:
        raise InvalidDataError(
            f"{owner}: 'studies' must be one-dimensional; got shape {cells.shape}."
        )
    if cells.size == 0:
        if allow_empty:
            return np.zeros(0, dtype=np.intp)
        raise InvalidDataError(f"{owner}: no studies selected (k = 0).")
    kind = cells.dtype.kind
    if kind == "O":
        is_bool = [isinstance(c, (bool, np.bool_)) for c in cells]
        for c, b in zip(cells, is_bool, strict=True):
            if not b and not isinstance(c, (int, np.integer)):
                raise MetapoolTypeError(
                    f"{owner}: 'studies' must hold integer positions or booleans; got {c!r}."
                )
        if any(is_bool) and not all(is_bool):
            raise MetapoolTypeError(
                f"{owner}: 'studies' mixes booleans and positions; give one or the other."
            )
        kind = "b" if all(is_bool) else "i"
        cells = cells.astype(bool if kind == "b" else np.int64)
    if kind == "b":
        if cells.size != k:
            raise InvalidDataError(
                f"{owner}: 'studies' is a boolean mask of length {cells.size}, but there are "
                f"k = {k} studies."
            )
        pos = np.flatnonzero(cells)
        if pos.size == 0 and not allow_empty:
            raise InvalidDataError(f"{owner}: no studies selected (k = 0); the mask is all False.")
        return pos.astype(np.intp)
    if kind not in "iu":
        raise MetapoolTypeError(
            f"{owner}: 'studies' must hold integer positions or booleans; got {cells[0]!r} "
            f"(dtype {cells.dtype})."
        )
    out = cells.astype(np.intp)
    bad = np.flatnonzero((out < 0) | (out >= k))
    if bad.size:
        raise InvalidDataError(
            f"{owner}: position {int(out[bad[0]])} in 'studies' is out of range; positions "
            f"run from 0 to {k - 1} (k = {k})."
        )
    values, counts = np.unique(out, return_counts=True)
    if (counts > 1).any():
        raise InvalidDataError(
            f"{owner}: position {int(values[counts > 1][0])} appears more than once in "
            "'studies'; a study can be selected only once."
        )
    return out
