"""Turning user input (arrays, or column names plus a mapping) into clean study arrays.

Every effect set goes through :func:`prepare_input`. It never guesses: a value
it cannot read as one number per study is refused with a message naming the
parameter, the study (``study 2 ('Beta 2003')``, see
:func:`metapool._validation.study_name`) and the cell, and the only values it
leaves out are missing ones (with ``nan_policy="omit"``, warned and recorded).

What is accepted, in short:

* per-study values: a list, tuple, numpy array, pandas/polars Series, or
  anything with ``__array__``, one-dimensional and holding real numbers (Python
  or numpy ints and floats, ``Decimal``); a bare number stands for one study
  and is only accepted when every other input also has one study (values are
  never recycled);
* missing values: ``None``, float NaN, ``pd.NA``, ``pd.NaT``, masked entries
  of a numpy masked array;
* refused (:class:`~metapool.exceptions.MetapoolTypeError`): booleans, text
  (even ``"20"``), bytes, dates, complex numbers, other objects, unordered
  containers (sets, dicts and their views), iterators;
* with ``data=``: any scalar argument (``"m1"``, ``0``, ...) is a column name;
  pandas objects are paired by position only when their indexes agree.
"""

from __future__ import annotations

import numbers
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sized, ValuesView
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._serialize import fields_to_dict
from metapool._validation import check_choice, study_name
from metapool._warnings import warn
from metapool.exceptions import ExcludedStudyWarning, InvalidDataError, MetapoolTypeError

__all__ = [
    "MISSING_MARKERS",
    "ExcludedStudy",
    "PreparedInput",
    "is_frame",
    "is_missing",
    "is_missing_marker",
    "is_real_number",
    "prepare_input",
    "warn_excluded",
]

#: Containers without a defined order: pairing their elements with studies would be arbitrary.
_UNORDERED = (set, frozenset, Mapping, KeysView, ValuesView, ItemsView)
#: Text that marks a missing value in a spreadsheet or an R export (compared after
#: stripping spaces and lower-casing, see :func:`is_missing_marker`; ``<na>`` and ``nat``
#: are what ``str()`` gives for pandas' NA and NaT). Such text is never read as a missing
#: value: effect sets refuse it as text (with a hint to use None or NaN), moderators and
#: subgroups refuse it too, since as a level it would silently become a category
#: called "NA".
MISSING_MARKERS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", ".", "-", "#n/a", "<na>", "nat"}
)
#: Cell types converted without a per-cell check (bool is not among them).
_PLAIN_NUMBERS = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})
#: How many column names an error message lists.
_SHOWN_COLUMNS = 8


class _StudyValues(Mapping[str, float]):
    """A read-only, hashable, picklable mapping of a study's input values."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = {str(k): float(v) for k, v in items.items()}

    def __getitem__(self, key: str) -> float:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[type[_StudyValues], tuple[dict[str, float]]]:
        return (type(self), (self._items,))


def _study_values(value: Mapping[str, Any] | None) -> Mapping[str, float] | None:
    """A study's recorded input values, read-only, as floats (None stays None)."""
    return None if value is None else _StudyValues(value)


@attrs.frozen(kw_only=True)
class ExcludedStudy:
    """A study left out of an analysis, and why.

    Attributes
    ----------
    index : int
        0-based position of the study in the input as given (a position, for
        indexing). Messages show it as users count rows, ``index + 1``.
    label : str
        The study's label (``""`` when the label itself was missing).
    reason : str
        Why it was excluded.
    values : Mapping[str, float] or None
        The study's input values (e.g. ``events1``, ``n1``, ``events2``, ``n2``)
        when they were read but give no estimable effect (a double-zero study of
        a risk ratio): forest plots show them in RevMan's "Not estimable" row and
        add them into the totals. None when they are not recorded (a study left
        out for a missing value). Read-only.
    """

    index: int
    label: str
    reason: str
    values: Mapping[str, float] | None = attrs.field(default=None, converter=_study_values)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe representation (``values`` only when recorded)."""
        return fields_to_dict(self, skip=() if self.values is not None else ("values",))

    @property
    def name(self) -> str:
        """The study as messages name it, e.g. ``study 2 ('Beta 2003')``."""
        return study_name(self.index, self.label) if self.label else study_name(self.index)


@attrs.frozen(kw_only=True)
class PreparedInput:
    """Validated float arrays of the studies kept, with their labels and original indices."""

    arrays: dict[str, NDArray[np.float64]]
    labels: tuple[str, ...]
    index: NDArray[np.intp]
    excluded: tuple[ExcludedStudy, ...]


@attrs.frozen
class _Column:
    """One argument after lookup: its cells (1-D) and where they came from."""

    name: str
    cells: NDArray[Any]
    scalar: bool
    source: Any


# ------------------------------------------------------------------ data and lookup
def _check_data(owner: str, data: Any) -> None:
    if data is None or isinstance(data, Mapping) or is_frame(data):
        return
    if isinstance(data, np.ndarray) and data.dtype.names is not None:
        return
    raise MetapoolTypeError(
        f"The 'data' parameter of {owner} must be a mapping from column name to values "
        f"(a dict, a pandas or polars DataFrame). Got a {type(data).__name__} instead."
    )


def is_frame(data: Any) -> bool:
    """A DataFrame-like table, by duck typing (pandas, polars, ...): not a numpy array,
    has ``columns`` (not a method) and item access, so columns are looked up by name."""
    return (
        not isinstance(data, np.ndarray)
        and hasattr(data, "columns")
        and hasattr(data, "__getitem__")
        and not callable(data.columns)
    )


def _column_names(data: Any) -> list[Any]:
    if isinstance(data, np.ndarray):
        return list(data.dtype.names or ())
    if isinstance(data, Mapping):
        return list(data.keys())
    return list(data.columns)


def _is_scalar(value: Any) -> bool:
    """A single item (a column name, or one study's value), not a collection."""
    if isinstance(value, (str, bytes, np.generic)):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    if hasattr(value, "to_numpy") or hasattr(value, "__array__"):
        return False
    return not isinstance(value, (Iterable, Sized))


def _lookup(owner: str, name: str, value: Any, data: Any) -> Any:
    """The values of argument ``name``: ``value`` itself, or the column it names."""
    if value is None:
        raise MetapoolTypeError(
            f"{owner}: '{name}' is required; got None. Give one value per study, "
            "or a column name in 'data'."
        )
    _check_container(owner, name, value)
    if not _is_scalar(value):
        return value
    key = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
    if data is None:
        if isinstance(key, (str, bytes)):
            raise MetapoolTypeError(
                f"{owner}: '{name}' was given the column name {key!r} but no 'data' "
                "mapping to look it up in. Pass data=... or give the values themselves."
            )
        if name == "labels":
            raise MetapoolTypeError(
                f"{owner}: 'labels' must be a sequence of study labels (one per study) "
                f"or a column name in 'data'. Got {key!r}."
            )
        return value
    if isinstance(key, bool):
        raise MetapoolTypeError(
            f"{owner}: '{name}' was given {key!r}, a boolean. Give a column name in 'data' "
            "or one value per study."
        )
    names = _column_names(data)
    if not any(_same_key(key, column) for column in names):
        shown = ", ".join(repr(c) for c in names[:_SHOWN_COLUMNS])
        more = f", ... ({len(names)} columns)" if len(names) > _SHOWN_COLUMNS else ""
        raise InvalidDataError(
            f"{owner}: column {key!r} given for '{name}' is not in 'data'. "
            f"Available columns: {shown or '(none)'}{more}."
        )
    return data[key]


def _same_key(key: Any, column: Any) -> bool:
    if isinstance(column, bool) != isinstance(key, bool):
        return False
    try:
        return bool(key == column)
    except (TypeError, ValueError):
        return False


def _check_container(owner: str, name: str, value: Any) -> None:
    if isinstance(value, _UNORDERED):
        raise MetapoolTypeError(
            f"{owner}: '{name}' was given a {type(value).__name__}, but a "
            f"{type(value).__name__} has no order, so its values cannot be matched to "
            "studies. Give a list, an array or a Series with one value per study."
        )
    if isinstance(value, Iterator):
        raise MetapoolTypeError(
            f"{owner}: '{name}' was given an iterator ({type(value).__name__}), which can be "
            "read only once and has no length. Give a list or an array, e.g. list(...)."
        )


# ----------------------------------------------------------------- shape and length
def _cells(owner: str, name: str, value: Any) -> _Column:
    """``value`` as a 1-D array of cells (numeric dtype, or object)."""
    if isinstance(value, np.ma.MaskedArray):
        cells = np.asarray(np.ma.getdata(value)).astype(object)
        cells[np.ma.getmaskarray(value)] = None  # masked entries are missing values
    elif isinstance(value, np.ndarray):
        cells = value
    elif hasattr(value, "to_numpy"):
        cells = np.asarray(value.to_numpy())
    elif hasattr(value, "__array__"):
        cells = np.asarray(value)
    elif _is_scalar(value):
        cells = np.empty(1, dtype=object)
        cells[0] = value
        return _Column(name, cells, True, value)
    else:
        try:
            cells = np.array(list(value), dtype=object)
        except (TypeError, ValueError) as exc:
            raise MetapoolTypeError(
                f"{owner}: '{name}' must be a sequence with one value per study. "
                f"Got a {type(value).__name__}."
            ) from exc
    if cells.ndim == 0:
        return _Column(name, cells.reshape(1), True, value)
    if cells.ndim != 1:
        hint = (
            " (a one-column table? select the column itself, e.g. df['x'] rather than df[['x']])"
            if cells.ndim == 2 and cells.shape[1] == 1
            else ""
        )
        raise InvalidDataError(
            f"{owner}: '{name}' must be one-dimensional (one value per study). "
            f"Got an array of shape {cells.shape}{hint}."
        )
    return _Column(name, cells, False, value)


def _check_lengths(owner: str, columns: list[_Column]) -> int:
    sized = {c.name: c.cells.size for c in columns if not c.scalar}
    if len(set(sized.values())) > 1:
        shown = ", ".join(f"{n}={m}" for n, m in sized.items())
        raise InvalidDataError(f"{owner}: all inputs must have the same length; got {shown}.")
    k = next(iter(sized.values())) if sized else 1
    if k == 0:
        raise InvalidDataError(f"{owner}: no studies given (k = 0).")
    for column in columns:
        if column.scalar and k != 1:
            value = column.cells[0]
            value = value.item() if isinstance(value, np.generic) else value
            raise InvalidDataError(
                f"{owner}: '{column.name}' is a single value ({column.name}={value!r}) but the "
                f"other inputs have {k} studies; values are not recycled. Give one value per "
                f"study, e.g. {column.name}=[{value!r}] * {k}."
            )
    return k


# ------------------------------------------------------------------ pandas indexes
def _indexed(value: Any) -> bool:
    """A pandas Series (or another object carrying a row index), detected by duck typing."""
    return (
        hasattr(value, "to_numpy")
        and hasattr(value, "index")
        and not callable(getattr(value, "index", None))
    )


def _same_label(x: Any, y: Any) -> bool:
    if is_missing(x) and is_missing(y):
        return True
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _check_indexes(owner: str, columns: list[_Column]) -> None:
    """Refuse pandas inputs whose row indexes disagree (they would be paired by position)."""
    indexed = [c for c in columns if _indexed(c.source)]
    if len(indexed) < 2:
        return
    first = indexed[0]
    first_index = first.source.index
    first_labels = list(first_index)
    for other in indexed[1:]:
        other_index = other.source.index
        equals = getattr(first_index, "equals", None)
        if callable(equals) and equals(other_index):
            continue
        other_labels = list(other_index)
        for pos, (x, y) in enumerate(zip(first_labels, other_labels, strict=True)):
            if not _same_label(x, y):
                raise InvalidDataError(
                    f"{owner}: '{first.name}' and '{other.name}' are pandas objects with "
                    f"different indexes: at row {pos + 1} the index label is {x!r} in "
                    f"'{first.name}' but {y!r} in '{other.name}'. metapool pairs values by "
                    "position, which would mix up studies. Align them first (e.g. take all "
                    "columns from one DataFrame, or use .loc with a common index), or, if "
                    "the rows are already in the same order, call .reset_index(drop=True) "
                    "on each."
                )


# ---------------------------------------------------------------------- cell types
def _describe(cell: Any) -> str:
    if isinstance(cell, (bool, np.bool_)):
        return "a boolean; True/False are not read as 1/0"
    if isinstance(cell, (str, bytes)):
        text = cell.decode(errors="replace") if isinstance(cell, bytes) else cell
        kind = "bytes" if isinstance(cell, bytes) else "text"
        if is_missing_marker(text):
            return f"{kind}; if it marks a missing value, use None or float('nan')"
        return f"{kind}; numbers are not parsed from text: convert first, e.g. pd.to_numeric"
    if isinstance(cell, (complex, np.complexfloating)):
        return "a complex number"
    return f"a {type(cell).__name__}, not a number"


def _type_error(owner: str, name: str, pos: int, label: str | None, cell: Any) -> MetapoolTypeError:
    return MetapoolTypeError(
        f"{owner}: '{name}' must hold numbers; {study_name(pos, label)} has "
        f"{name}={cell!r} ({_describe(cell)})."
    )


def _number(cell: Any) -> float | None:
    """``cell`` as a float (NaN when missing), or None when it is not a number."""
    if is_real_number(cell):
        try:
            return float(cell)
        except OverflowError:  # an int or Fraction beyond double range: refused as infinite
            return float("-inf") if str(cell).startswith("-") else float("inf")
        except ValueError:  # a signalling Decimal NaN
            return None
    if is_missing(cell):
        return float("nan")
    return None


def _to_float(owner: str, column: _Column, labels: list[str | None]) -> NDArray[np.float64]:
    """Float values of a column, NaN where missing; anything not a real number is refused."""
    cells = column.cells
    kind = cells.dtype.kind
    if kind in "iuf":
        return cells.astype(np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    if kind != "O":
        # a whole column of the wrong type (bool, text, dates, complex): show its first
        # cell that is not missing
        present = np.flatnonzero(~np.isnat(cells)) if kind in "mM" else np.arange(1)
        bad = int(present[0]) if present.size else 0
        cell: Any = cells[bad].item() if kind in "bUS" else cells[bad]
        raise _type_error(owner, column.name, bad, labels[bad], cell)
    if set(map(type, cells)) <= _PLAIN_NUMBERS:  # the common case, e.g. a list of numbers
        try:
            return cells.astype(np.float64) + 0.0
        except OverflowError:  # an int beyond double range: the loop below says which
            pass
    values = np.empty(cells.size, dtype=np.float64)
    for pos, cell in enumerate(cells):
        number = _number(cell)
        if number is None:
            raise _type_error(owner, column.name, pos, labels[pos], cell)
        values[pos] = number
    return values + 0.0


def _cell_repr(column: _Column, pos: int) -> str:
    """How a message shows one cell as given (``None``, ``<NA>``, ``nan``)."""
    cell = column.cells[pos]
    return repr(float(cell)) if column.cells.dtype.kind in "iuf" else repr(cell)


def _labels(owner: str, column: _Column | None, k: int) -> list[str | None]:
    """Study labels as strings; None where the label is missing."""
    if column is None:
        return [f"Study {i + 1}" for i in range(k)]
    cells = column.cells
    if cells.size != k:
        raise InvalidDataError(
            f"{owner}: 'labels' has {cells.size} entries but there are {k} studies."
        )
    out: list[str | None] = []
    for cell in cells:
        item = cell.item() if isinstance(cell, np.generic) else cell
        if isinstance(item, bytes):
            item = item.decode(errors="replace")
        out.append(None if is_missing(item) else str(item))
    return out


# -------------------------------------------------------------------------- driver
def prepare_input(
    owner: str,
    columns: Mapping[str, Any],
    *,
    data: Any,
    labels: Any,
    nan_policy: str,
) -> PreparedInput:
    """Resolve column names, check types and lengths, and apply the NaN policy.

    Parameters
    ----------
    owner : str
        Class name used in messages.
    columns : mapping
        Parameter name to values or column name.
    data : mapping, DataFrame or None
        A DataFrame or any mapping from column name to values. When given, every
        scalar argument (a string, an int, ...) is a column name in it.
    labels : sequence, column name or None
        Study labels; ``None`` gives ``"Study 1"`` ... ``"Study k"``. Labels that
        are not strings (e.g. years) are converted with ``str()``.
    nan_policy : {"raise", "omit"}
        What to do with studies that have a missing value or label.

    Returns
    -------
    PreparedInput
        Float arrays of the studies kept, their labels, positions and exclusions.

    Raises
    ------
    MetapoolTypeError
        For ``data`` that is not a table, a column name without ``data``, an
        unordered container or iterator, or a cell that is not a real number
        (text, a boolean, a date, ...).
    InvalidDataError
        For an unknown column, unequal lengths, a single value among per-study
        values, a 2-D input, pandas inputs with different indexes, an infinite
        value, or a missing value or label with ``nan_policy="raise"``.

    Warns
    -----
    ExcludedStudyWarning
        When ``nan_policy="omit"`` leaves studies out (also recorded in ``excluded``).
    """
    policy = check_choice(owner, "nan_policy", nan_policy, ("raise", "omit"))
    _check_data(owner, data)
    cols = [
        _cells(owner, name, _lookup(owner, name, value, data)) for name, value in columns.items()
    ]
    label_col = None
    if labels is not None:
        label_col = _cells(owner, "labels", _lookup(owner, "labels", labels, data))
        if label_col.scalar:
            raise MetapoolTypeError(
                f"{owner}: 'labels' must be a sequence of study labels (one per study). "
                f"Got {labels!r}."
            )
    k = _check_lengths(owner, cols)
    label_list = _labels(owner, label_col, k)
    _check_indexes(owner, cols + ([label_col] if label_col is not None else []))

    arrays = {column.name: _to_float(owner, column, label_list) for column in cols}
    by_name = {column.name: column for column in cols}

    label_missing = np.array([lab is None for lab in label_list], dtype=bool)
    missing = label_missing.copy()
    for arr in arrays.values():
        missing |= np.isnan(arr)
    index = np.arange(k, dtype=np.intp)
    excluded: tuple[ExcludedStudy, ...] = ()
    if missing.any():

        def which(i: int) -> list[str]:
            return [n for n, a in arrays.items() if np.isnan(a[i])]

        if policy == "raise":
            i = int(np.flatnonzero(missing)[0])
            parts = []
            if label_col is not None and label_missing[i]:
                parts.append(f"a missing label (labels={label_col.cells[i]!r})")
            names = which(i)
            if names:
                cells = ", ".join(f"{n}={_cell_repr(by_name[n], i)}" for n in names)
                listed = ", ".join(repr(n) for n in names)
                parts.append(f"a missing value in {listed} ({cells})")
            raise InvalidDataError(
                f"{owner}: {study_name(i, label_list[i])} has {' and '.join(parts)}. "
                "Fix the data or pass nan_policy='omit' to leave such studies out."
            )

        def reason(i: int) -> str:
            parts = ["missing study label"] if label_missing[i] else []
            names = which(i)
            if names:
                parts.append("missing value in " + ", ".join(names))
            return "; ".join(parts)

        excluded = tuple(
            ExcludedStudy(index=int(i), label=label_list[i] or "", reason=reason(int(i)))
            for i in np.flatnonzero(missing)
        )
        warn_excluded(owner, excluded)
        keep = ~missing
        if not keep.any():
            raise InvalidDataError(
                f"{owner}: every study has a missing value or label; nothing is left."
            )
        arrays = {name: arr[keep] for name, arr in arrays.items()}
        index = index[keep]
    kept_labels = tuple(str(label_list[i]) for i in index)

    for name, arr in arrays.items():
        infinite = np.isinf(arr)
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise InvalidDataError(
                f"{owner}: '{name}' must be finite; {study_name(int(index[i]), kept_labels[i])} "
                f"has {name}={float(arr[i])!r}."
            )
    return PreparedInput(arrays=arrays, labels=kept_labels, index=index, excluded=excluded)


def warn_excluded(owner: str, excluded: tuple[ExcludedStudy, ...]) -> None:
    """Warn that studies were excluded, naming each one (1-based row and label)."""
    if not excluded:
        return
    listed = "; ".join(f"{e.name}: {e.reason}" for e in excluded)
    warn(f"{owner}: {len(excluded)} study(ies) excluded: {listed}.", ExcludedStudyWarning)


def is_real_number(value: Any) -> bool:
    """Whether one cell is a real number: a Python or numpy int or float, a ``Decimal``,
    a ``Fraction`` (any ``numbers.Real``), but not a boolean."""
    return isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, (bool, np.bool_))


def is_missing_marker(text: str) -> bool:
    """Whether text reads like a missing-value marker (``"NA"``, ``" nan "``, ``""``, ...:
    one of :data:`MISSING_MARKERS` once stripped and lower-cased)."""
    return text.strip().lower() in MISSING_MARKERS


def is_missing(value: Any) -> bool:
    """Whether one cell is a missing value: None, a float NaN, pandas' ``NA`` or ``NaT``,
    or numpy's ``NaT`` — without importing pandas."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ in ("NAType", "NaTType")
