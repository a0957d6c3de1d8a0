"""Reading moderators and encoding them as a meta-regression design matrix.

One job: turn the moderators given to :meth:`metapool.MetaRegression.fit` into
the design matrix ``X`` (:class:`DesignMatrix`), and encode new moderator values
the same way for :meth:`metapool.MetaRegressionResult.predict`.

Moderators may be a mapping from name to column, a pandas or polars DataFrame
or Series (recognised by duck typing, without importing either), or an array
of shape ``(k,)`` or ``(k, p)``. Each column is typed on its own: numeric when
every value is a real number, categorical when every value is text, every value
a boolean, or the column is a pandas Categorical. Missing values (None, NaN,
pandas' NA or NaT) are raised or omitted as ``nan_policy`` says; text that reads
like a missing-value marker (``"NA"``, ``"nan"``, ``""``, ...; see
:data:`metapool._data.MISSING_MARKERS`) is always refused, never guessed.

Notes
-----
Cell reading (:func:`read_cells`, :func:`cell_kind`, :func:`show`,
:func:`marker_hint`, :func:`column_names`) is also used by
:func:`metapool.subgroup_analysis` for its ``groups``. This module does not
import :mod:`metapool.regression`, which re-exports :class:`DesignMatrix`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import (
    ExcludedStudy,
    is_frame,
    is_missing,
    is_missing_marker,
    is_real_number,
    warn_excluded,
)
from metapool._fields import array_field
from metapool._validation import study_name
from metapool.exceptions import InvalidDataError, MetapoolTypeError

__all__ = [
    "DesignMatrix",
    "cell_kind",
    "column_names",
    "group_codes",
    "marker_hint",
    "moderator_design",
    "read_cells",
    "show",
]

Array = NDArray[np.float64]

# ----------------------------------------------------------------- reading cells

_KIND_WORDS = {"number": "numbers", "text": "text", "boolean": "booleans"}


def cell_kind(value: Any) -> str:
    """``"missing"`` (None, NaN, pandas' NA or NaT), ``"marker"`` (text in
    ``MISSING_MARKERS``), ``"boolean"``, ``"number"`` (a real number), ``"text"`` or
    ``"other"``."""
    if is_missing(value):
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if is_real_number(value):
        return "number"
    if isinstance(value, str):
        return "marker" if is_missing_marker(value) else "text"
    return "other"


def marker_hint(value: Any) -> str:
    """Why text like ``'NA'`` is refused, and what to do instead."""
    return (
        f"{show(value)} reads like a missing-value marker. Use None or NaN for a missing "
        "value (then nan_policy applies), or rename the level if it is a real one"
    )


def show(value: Any) -> str:
    """A cell as messages show it (numpy scalars as the plain Python value)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def group_codes(
    owner: str,
    what: str,
    cells: NDArray[Any],
    index: NDArray[np.intp],
    labels: Sequence[str | None],
    need: str,
) -> tuple[NDArray[np.intp], list[Any]]:
    """Integer codes of group ids (in order of first appearance) and the distinct ids.

    ``cells`` come from :func:`read_cells`, one per effect; ``index`` and
    ``labels`` name the effects in messages. A missing value, a missing-value
    marker or a cell that is neither a number, text nor a boolean is refused,
    naming ``what`` (e.g. ``"'cluster'"``), the study and the value, and ending
    with ``need`` (e.g. ``"every effect needs a cluster"``).
    """
    codes = np.empty(cells.size, dtype=np.intp)
    seen: dict[Any, int] = {}
    for pos, cell in enumerate(cells):
        kind = cell_kind(cell)
        if kind in ("missing", "marker", "other"):
            desc = {"missing": "a missing value", "marker": "a missing-value marker"}.get(
                kind, "a value that is neither a number, text nor a boolean"
            )
            raise InvalidDataError(
                f"{owner}: {what} has {desc} ({show(cell)}) at "
                f"{study_name(int(index[pos]), labels[pos])}; {need}."
            )
        key = cell.item() if isinstance(cell, np.generic) else cell
        codes[pos] = seen.setdefault(key, len(seen))
    return codes, list(seen)


def _is_series(obj: Any) -> bool:
    """A named one-dimensional column (a pandas or polars Series), by duck typing."""
    return (
        not isinstance(obj, np.ndarray)
        and hasattr(obj, "dtype")
        and hasattr(obj, "name")
        and getattr(obj, "ndim", 1) == 1
    )


def column_names(frame: Any) -> list[str]:
    """The column names of a mapping or a data frame, as text."""
    keys = list(frame.keys()) if isinstance(frame, Mapping) else list(frame.columns)
    return [str(key) for key in keys]


def read_cells(
    owner: str, what: str, values: Any, *, scalar: bool = False
) -> tuple[NDArray[Any], tuple[str, ...] | None]:
    """One column as a 1-d object array, and its declared level order if it is a
    pandas Categorical (``None`` otherwise). ``what`` names it in messages."""
    if isinstance(values, (str, bytes)) and not scalar:
        raise MetapoolTypeError(
            f"{owner}: {what} must be a column of values, one per study. Got the string "
            f"{values!r}; pass the values themselves (e.g. data[{values!r}])."
        )
    if isinstance(values, (set, frozenset, Mapping)):
        raise MetapoolTypeError(
            f"{owner}: {what} must be an ordered column (list, tuple, array or Series), "
            f"one value per study. Got a {type(values).__name__}, which has no study order."
        )
    dtype = getattr(values, "dtype", None)
    categories = None
    if dtype is not None and getattr(dtype, "name", None) == "category":
        categories = tuple(str(c) for c in dtype.categories)
    try:
        cells = np.asarray(values, dtype=object)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise InvalidDataError(
            f"{owner}: {what} must be one column of values, one per study; it could not be "
            f"read as one ({exc})."
        ) from exc
    if cells.ndim == 0:
        if hasattr(values, "__next__"):
            raise MetapoolTypeError(
                f"{owner}: {what} must be a column of values, one per study. Got an iterator "
                f"({type(values).__name__}), which has no length; pass list(...) of it."
            )
        if not scalar:
            raise MetapoolTypeError(
                f"{owner}: {what} must be a column of values, one per study. Got "
                f"{type(values).__name__} {show(values)}."
            )
        cells = cells.reshape(1)
    if cells.ndim != 1:
        raise InvalidDataError(
            f"{owner}: {what} must be one-dimensional (one value per study). Got shape "
            f"{cells.shape}."
        )
    return cells, categories


# ------------------------------------------------------------------- moderators


@attrs.frozen(kw_only=True)
class _Moderator:
    """One moderator: its cells (one per study), which are missing, and its type."""

    name: str
    cells: NDArray[Any] = array_field()
    missing: NDArray[np.bool_] = array_field()
    numeric: bool
    #: declared level order (a pandas Categorical), or None
    categories: tuple[str, ...] | None

    def take(self, keep: NDArray[np.bool_]) -> _Moderator:
        return attrs.evolve(self, cells=self.cells[keep], missing=self.missing[keep])

    def values(self) -> Array:
        return np.array([float(v) for v in self.cells], dtype=np.float64)

    def labels(self) -> NDArray[np.str_]:
        return np.array([str(v) for v in self.cells], dtype=str)


def _typed(
    owner: str,
    name: str,
    cells: NDArray[Any],
    categories: tuple[str, ...] | None,
    who: Callable[[int], str],
) -> _Moderator:
    """Decide whether a column is numeric or categorical, refusing mixed columns."""
    kinds = [cell_kind(v) for v in cells]
    missing = np.array([kind == "missing" for kind in kinds], dtype=bool)
    if "marker" in kinds:
        i = kinds.index("marker")
        raise InvalidDataError(
            f"{owner}: moderator {name!r} has {show(cells[i])} for {who(i)}: "
            f"{marker_hint(cells[i])}."
        )
    if categories is not None:  # a pandas Categorical is categorical whatever it holds
        return _Moderator(
            name=name, cells=cells, missing=missing, numeric=False, categories=categories
        )
    first: dict[str, int] = {}
    for i, kind in enumerate(kinds):
        first.setdefault(kind, i)
    if "other" in first:
        i = first["other"]
        raise MetapoolTypeError(
            f"{owner}: moderator {name!r} must hold numbers, text or booleans; {who(i)} has "
            f"{show(cells[i])} ({type(cells[i]).__name__}). Convert it first (a date to its "
            "year, for example)."
        )
    present = [kind for kind in first if kind != "missing"]
    if len(present) > 1:
        (a, b) = (first[present[0]], first[present[1]])
        raise InvalidDataError(
            f"{owner}: moderator {name!r} mixes {_KIND_WORDS[present[0]]} and "
            f"{_KIND_WORDS[present[1]]}: {who(a)} has {show(cells[a])} but {who(b)} has "
            f"{show(cells[b])}. Give one type per column: numbers for a numeric moderator "
            "(None or NaN where a value is missing), text for a categorical one."
        )
    numeric = present == ["number"] or not present
    if numeric:
        for j in np.flatnonzero(~missing):
            if not math.isfinite(float(cells[j])):
                raise InvalidDataError(
                    f"{owner}: moderator {name!r} must be finite; {who(int(j))} has "
                    f"{name}={show(cells[j])}."
                )
    return _Moderator(name=name, cells=cells, missing=missing, numeric=numeric, categories=None)


def _moderator_columns(owner: str, moderators: Any) -> tuple[list[tuple[str, Any]], str]:
    """The named columns of ``moderators``, and how the input was shaped (for messages)."""
    if moderators is None or isinstance(moderators, (str, bytes)):
        raise MetapoolTypeError(
            f"{owner}: 'moderators' must be an array of shape (k,) or (k, p), a mapping from "
            f"name to column, or a DataFrame. Got {moderators!r}"
            + (
                f"; to use the column {moderators!r}, pass data[[{moderators!r}]] or "
                f"{{{moderators!r}: data[{moderators!r}]}}."
                if isinstance(moderators, str)
                else "; for an intercept-only model pass {}."
            )
        )
    if isinstance(moderators, (set, frozenset)):
        raise MetapoolTypeError(
            f"{owner}: 'moderators' must be ordered (one value per study); got a "
            f"{type(moderators).__name__}."
        )
    shape = ""
    if isinstance(moderators, Mapping):
        items = [(str(key), value) for key, value in moderators.items()]
    elif is_frame(moderators):
        names = column_names(moderators)
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise InvalidDataError(f"{owner}: 'moderators' has two columns named {dup!r}.")
        items = [(str(c), moderators[c]) for c in moderators.columns]
    elif _is_series(moderators):
        name = moderators.name
        items = [("x1" if name is None else str(name), moderators)]
    else:
        try:
            arr = (
                moderators
                if isinstance(moderators, np.ndarray)
                else np.asarray(moderators, dtype=object)
            )
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"{owner}: 'moderators' must be rectangular, shape (k,) or (k, p) ({exc})."
            ) from exc
        rows = [len(v) for v in arr.ravel() if isinstance(v, (list, tuple, np.ndarray))]
        if arr.dtype == object and arr.ndim == 1 and rows:
            raise InvalidDataError(
                f"{owner}: 'moderators' must be rectangular, shape (k,) or (k, p); its rows "
                f"have different lengths ({sorted(set(rows))} values)."
            )
        if arr.ndim == 0:
            raise MetapoolTypeError(
                f"{owner}: 'moderators' must be an array of shape (k,) or (k, p), a mapping or "
                f"a DataFrame. Got {type(moderators).__name__} {show(moderators)}."
            )
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InvalidDataError(
                f"{owner}: 'moderators' must be (k,) or (k, p); got shape {arr.shape}."
            )
        shape = f" ('moderators' has shape {arr.shape} and needs one row per study)"
        items = [(f"x{j + 1}", arr[:, j]) for j in range(arr.shape[1])]
    names = [n for n, _ in items]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InvalidDataError(f"{owner}: two moderators are named {dup!r}.")
    return items, shape


def _read_moderators(
    owner: str,
    moderators: Any,
    index: NDArray[np.intp],
    labels: tuple[str, ...],
    n_given: int,
) -> list[_Moderator]:
    """Read and type every moderator for the ``k = len(index)`` studies analysed.

    A column may have one value per study analysed, or one per study as given
    (``n_given``, when some were excluded from the effect set): then the rows of the
    excluded studies are skipped.
    """
    k = len(index)
    items, shape = _moderator_columns(owner, moderators)
    out = []
    for name, values in items:
        cells, categories = read_cells(owner, f"moderator {name!r}", values)
        if cells.size == n_given and n_given != k:
            cells = cells[index]
        elif cells.size != k:
            given = f" ({n_given} as given, {n_given - k} excluded)" if n_given != k else ""
            raise InvalidDataError(
                f"{owner}: moderator {name!r} has {cells.size} values but the effect set has "
                f"{k} studies{given}; give one value per study{shape}."
            )
        out.append(
            _typed(
                owner,
                name,
                cells,
                categories,
                lambda i: study_name(int(index[i]), labels[i]),
            )
        )
    return out


def _omit_missing(
    owner: str,
    mods: list[_Moderator],
    index: NDArray[np.intp],
    labels: tuple[str, ...],
    nan_policy: str,
) -> tuple[NDArray[np.bool_], tuple[ExcludedStudy, ...]]:
    """Which studies to keep, and the ones left out for missing moderators."""
    missing = np.zeros(len(index), dtype=bool)
    for m in mods:
        missing |= m.missing
    if not missing.any():
        return ~missing, ()
    if nan_policy == "raise":
        i = int(np.flatnonzero(missing)[0])
        m = next(m for m in mods if m.missing[i])
        raise InvalidDataError(
            f"{owner}: moderator {m.name!r} has a missing value ({show(m.cells[i])}) for "
            f"{study_name(int(index[i]), labels[i])}. Fix the data, or pass "
            f"nan_policy='omit' to {owner} to leave studies with missing moderators out."
        )
    excluded = tuple(
        ExcludedStudy(
            index=int(index[i]),
            label=labels[i],
            reason="missing value in moderator "
            + ", ".join(repr(m.name) for m in mods if m.missing[i]),
        )
        for i in np.flatnonzero(missing)
    )
    warn_excluded(owner, excluded)
    if missing.all():
        raise InvalidDataError(
            f"{owner}: every study has a missing moderator value; nothing is left to fit."
        )
    return ~missing, excluded


def moderator_design(
    owner: str,
    moderators: Any,
    index: NDArray[np.intp],
    labels: tuple[str, ...],
    n_given: int,
    *,
    intercept: bool,
    nan_policy: str,
) -> tuple[DesignMatrix, NDArray[np.bool_], tuple[ExcludedStudy, ...]]:
    """Read, type and encode ``moderators`` for the studies of an effect set.

    Parameters
    ----------
    owner : str
        Who is asking, for messages (``"MetaRegression"``).
    moderators : array_like, mapping or DataFrame
        As :meth:`metapool.MetaRegression.fit` takes them.
    index, labels : ndarray of int, tuple of str
        The 0-based row as given and the label of each study analysed.
    n_given : int
        The number of studies as given to the effect set (before it left any out).
    intercept : bool
        Add an intercept column.
    nan_policy : {"raise", "omit"}
        What to do with a study whose moderator value is missing.

    Returns
    -------
    design : DesignMatrix
        The design of the studies kept.
    keep : ndarray of bool
        Which of the ``len(index)`` studies are kept.
    omitted : tuple of ExcludedStudy
        The studies left out for a missing moderator value (warned).
    """
    mods = _read_moderators(owner, moderators, index, labels, n_given)
    keep, omitted = _omit_missing(owner, mods, index, labels, nan_policy)
    mods = [m.take(keep) for m in mods]
    k = int(keep.sum())
    design = DesignMatrix._from_moderators(mods, k, intercept, omitted=bool(omitted), owner=owner)
    return design, keep, omitted


@attrs.frozen(kw_only=True)
class DesignMatrix:
    """How moderators became columns of X, so that new data can be encoded the same way.

    A numeric moderator (every value a real number) is one column. A categorical
    moderator (text, booleans, or a pandas Categorical) gets one indicator column
    per level except the reference level: the first in sorted order (``False``
    before ``True``), or a Categorical's first category present in the data
    (treatment contrasts, as R's default). Without an intercept the first
    categorical moderator keeps all its levels, so its coefficients are the level
    means (as R's ``~ factor(g) - 1``).
    """

    X: Array = array_field()
    names: tuple[str, ...]
    intercept: bool
    #: moderator name -> its levels (categorical) or None (numeric), in input order
    encoding: tuple[tuple[str, tuple[str, ...] | None], ...]

    @classmethod
    def build(cls, moderators: Any, k: int, intercept: bool) -> DesignMatrix:
        """Encode ``moderators`` (a (k,) or (k, p) array, a mapping name -> column or a
        DataFrame) for ``k`` studies named ``Study 1`` ... ``Study k``; missing values
        raise."""
        labels = tuple(f"Study {i + 1}" for i in range(k))
        index = np.arange(k, dtype=np.intp)
        mods = _read_moderators("MetaRegression", moderators, index, labels, k)
        _omit_missing("MetaRegression", mods, index, labels, "raise")
        return cls._from_moderators(mods, k, intercept)

    @classmethod
    def _from_moderators(
        cls,
        mods: list[_Moderator],
        k: int,
        intercept: bool,
        *,
        omitted: bool = False,
        owner: str = "MetaRegression",
    ) -> DesignMatrix:
        columns: list[Array] = []
        names: list[str] = []
        encoding: list[tuple[str, tuple[str, ...] | None]] = []
        for m in mods:
            if m.numeric:
                columns.append(m.values())
                names.append(m.name)
                encoding.append((m.name, None))
                continue
            labels = m.labels()
            observed = set(labels.tolist())
            levels = (
                tuple(sorted(observed))
                if m.categories is None
                else tuple(c for c in m.categories if c in observed)
            )
            if len(levels) < 2:
                after = " once studies with missing values are left out" if omitted else ""
                raise InvalidDataError(
                    f"{owner}: moderator {m.name!r} has only one level, {levels[0]!r}, "
                    f"in the {k} studies analysed{after}; a categorical moderator needs at "
                    "least two levels. Drop it from the moderators."
                )
            # Without an intercept the first categorical moderator keeps every level
            # (one mean per level, as R's ~ factor(g) - 1); otherwise the first level
            # is the reference.
            full = not intercept and not any(lv is not None for _, lv in encoding)
            for level in levels if full else levels[1:]:
                columns.append((labels == level).astype(np.float64))
                names.append(f"{m.name}[{level}]")
            encoding.append((m.name, levels))
        if intercept:
            columns.insert(0, np.ones(k))
            names.insert(0, "intercept")
        if not columns:
            raise InvalidDataError(f"{owner}: nothing to fit: no moderators and intercept=False.")
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise InvalidDataError(
                f"{owner}: two columns of the design are named {dup!r}; rename the "
                "moderator ('intercept' is the intercept's name; 'g[a]' is level 'a' of 'g')."
            )
        X = np.column_stack(columns)
        _check_rank(X, names, owner)
        return cls(X=X, names=tuple(names), intercept=intercept, encoding=tuple(encoding))

    def _new_columns(self, new: Any) -> tuple[list[NDArray[Any]], int]:
        """New moderator values as one cell array per moderator, and the number of rows."""
        owner = "predict"
        if isinstance(new, Mapping) or is_frame(new):
            available = {
                str(key): key for key in (new.keys() if isinstance(new, Mapping) else new.columns)
            }
            cols = []
            for name, _ in self.encoding:
                if name not in available:
                    raise InvalidDataError(
                        f"predict: moderator {name!r} is missing from the new data (it has "
                        f"{sorted(available)})."
                    )
                cols.append(
                    read_cells(owner, f"moderator {name!r}", new[available[name]], scalar=True)[0]
                )
            sizes = {c.size for c in cols}
            if len(sizes) > 1:
                shown = ", ".join(
                    f"{name}={c.size}" for (name, _), c in zip(self.encoding, cols, strict=True)
                )
                raise InvalidDataError(
                    f"predict: every moderator needs the same number of rows; got {shown}."
                )
            return cols, (sizes.pop() if sizes else 1)
        if new is None or isinstance(new, (str, bytes, set, frozenset)):
            raise MetapoolTypeError(
                "predict: 'new_moderators' must be an array, a mapping from moderator name "
                f"to values, or a DataFrame. Got {new!r}."
            )
        try:
            arr = np.asarray(new, dtype=object)
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"predict: 'new_moderators' must be rectangular ({exc})."
            ) from exc
        width = len(self.encoding)
        if width == 0:
            return [], (arr.shape[0] if arr.ndim == 2 else 1)
        if arr.ndim <= 1:
            if arr.size % width:
                raise InvalidDataError(
                    f"predict: new moderators need {width} column(s) (without the intercept); "
                    f"got {arr.size} value(s)."
                )
            arr = arr.reshape(-1, width)
        if arr.ndim != 2 or arr.shape[1] != width:
            got = arr.shape[1] if arr.ndim == 2 else f"shape {arr.shape}"
            raise InvalidDataError(
                f"predict: new moderators need {width} column(s) (without the intercept); "
                f"got {got}."
            )
        return [arr[:, j] for j in range(width)], arr.shape[0]

    def encode(self, new: Any) -> Array:
        """Encode new moderator values (same form as in the fit) as rows of X.

        Raises
        ------
        InvalidDataError
            If a moderator is absent, a value is missing (naming the moderator and the
            1-based row of the new data), a numeric value is not a finite number, or a
            categorical value is not one of the fitted levels.
        """
        columns, n = self._new_columns(new)
        first_categorical = next((nm for nm, lv in self.encoding if lv is not None), None)
        cols: list[Array] = []
        for (name, levels), cells in zip(self.encoding, columns, strict=True):
            for r, value in enumerate(cells):
                kind = cell_kind(value)
                if kind == "missing":
                    raise InvalidDataError(
                        f"predict: moderator {name!r} has a missing value ({show(value)}) in "
                        f"row {r + 1} of the new data."
                    )
                if levels is None and (kind != "number" or not math.isfinite(float(value))):
                    raise InvalidDataError(
                        f"predict: moderator {name!r} is numeric and needs a finite number; "
                        f"row {r + 1} of the new data has {show(value)}."
                    )
            if levels is None:
                cols.append(np.array([float(v) for v in cells], dtype=np.float64))
                continue
            lab = np.array([str(v) for v in cells], dtype=str)
            unknown = set(lab.tolist()) - set(levels)
            if unknown:
                raise InvalidDataError(
                    f"predict: moderator {name!r} has unknown level(s) {sorted(unknown)}; "
                    f"known: {list(levels)}."
                )
            full = not self.intercept and name == first_categorical
            kept = levels if full else levels[1:]
            cols.extend((lab == lv).astype(np.float64) for lv in kept)
        rows = np.column_stack(cols) if cols else np.zeros((n, 0))
        if self.intercept:
            rows = np.column_stack([np.ones(rows.shape[0]), rows])
        return rows


def _check_rank(X: Array, names: list[str], owner: str) -> None:
    """Refuse a singular design, naming the first column that adds no rank and why."""
    k, p = X.shape
    if np.linalg.matrix_rank(X) == p:
        return
    kept: list[int] = []
    for j in range(p):
        if np.linalg.matrix_rank(X[:, [*kept, j]]) == len(kept) + 1:
            kept.append(j)
            continue
        others = ", ".join(repr(names[i]) for i in kept) or "nothing"
        if not np.any(X[:, j]):
            why = "is all zeros"
        elif k < p:
            why = f"cannot be estimated with only {k} studies"
        else:
            why = f"is a linear combination of {others}"
        raise InvalidDataError(
            f"{owner}: the design is singular: column {names[j]!r} {why}. "
            "Drop or recode the collinear moderators."
        )
