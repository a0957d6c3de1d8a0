"""Meta-regression: mixed-effects (or fixed-effects) weighted regression on moderators."""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._conditioning import power_of_two_scale
from metapool._data import ExcludedStudy, is_missing, warn_excluded
from metapool._kernels import (
    heterogeneity_from_q,
    heterogeneity_from_tau2,
    n_params,
    trace_p,
    wls,
)
from metapool._validation import check_choice, check_level, study_name
from metapool._warnings import warn
from metapool.effects._base import EffectSet, array_field
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._inference import (
    CI_METHODS,
    t_crit,
    two_sided_p,
    variance_scale,
    z_crit,
)
from metapool.models._inverse_variance import check_effects
from metapool.results import NOT_ESTIMABLE, Interval, IntervalArray, _json_float
from metapool.tau2 import Fixed, Tau2Estimator
from metapool.tau2 import get as get_tau2
from metapool.tau2._base import checked
from metapool.tau2._qsolve import solve_generalized_q

__all__ = ["DesignMatrix", "MetaRegression", "MetaRegressionResult", "Prediction"]

Array = NDArray[np.float64]

# ----------------------------------------------------------------- reading cells

#: Text that marks a missing value in a spreadsheet or an R export (compared after
#: stripping spaces and lower-casing; ``<na>`` and ``nat`` are what ``str()`` gives for
#: pandas' NA and NaT). It is refused, not guessed: as a level it would silently become
#: a category called "NA", as a missing value it might be a real label.
_MARKER_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", ".", "-", "#n/a", "<na>", "nat"})

_KIND_WORDS = {"number": "numbers", "text": "text", "boolean": "booleans"}


def _cell_kind(value: Any) -> str:
    """``"missing"`` (None, NaN, pandas' NA or NaT), ``"marker"`` (text in
    ``_MARKER_TEXT``), ``"boolean"``, ``"number"`` (a real number), ``"text"`` or
    ``"other"``."""
    if is_missing(value):
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return "number"
    if isinstance(value, str):
        return "marker" if value.strip().lower() in _MARKER_TEXT else "text"
    return "other"


def _marker_hint(value: Any) -> str:
    """Why text like ``'NA'`` is refused, and what to do instead."""
    return (
        f"{_show(value)} reads like a missing-value marker. Use None or NaN for a missing "
        "value (then nan_policy applies), or rename the level if it is a real one"
    )


def _show(value: Any) -> str:
    """A cell as messages show it (numpy scalars as the plain Python value)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _is_frame(obj: Any) -> bool:
    """A data frame (pandas, polars, ...), by duck typing: columns looked up by name."""
    return (
        not isinstance(obj, np.ndarray) and hasattr(obj, "columns") and hasattr(obj, "__getitem__")
    )


def _is_series(obj: Any) -> bool:
    """A named one-dimensional column (a pandas or polars Series), by duck typing."""
    return (
        not isinstance(obj, np.ndarray)
        and hasattr(obj, "dtype")
        and hasattr(obj, "name")
        and getattr(obj, "ndim", 1) == 1
    )


def _column_names(frame: Any) -> list[str]:
    """The column names of a mapping or a data frame, as text."""
    keys = list(frame.keys()) if isinstance(frame, Mapping) else list(frame.columns)
    return [str(key) for key in keys]


def _read_cells(
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
                f"{type(values).__name__} {_show(values)}."
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
    kinds = [_cell_kind(v) for v in cells]
    missing = np.array([kind == "missing" for kind in kinds], dtype=bool)
    if "marker" in kinds:
        i = kinds.index("marker")
        raise InvalidDataError(
            f"{owner}: moderator {name!r} has {_show(cells[i])} for {who(i)}: "
            f"{_marker_hint(cells[i])}."
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
            f"{_show(cells[i])} ({type(cells[i]).__name__}). Convert it first (a date to its "
            "year, for example)."
        )
    present = [kind for kind in first if kind != "missing"]
    if len(present) > 1:
        (a, b) = (first[present[0]], first[present[1]])
        raise InvalidDataError(
            f"{owner}: moderator {name!r} mixes {_KIND_WORDS[present[0]]} and "
            f"{_KIND_WORDS[present[1]]}: {who(a)} has {_show(cells[a])} but {who(b)} has "
            f"{_show(cells[b])}. Give one type per column: numbers for a numeric moderator "
            "(None or NaN where a value is missing), text for a categorical one."
        )
    numeric = present == ["number"] or not present
    if numeric:
        for j in np.flatnonzero(~missing):
            if not math.isfinite(float(cells[j])):
                raise InvalidDataError(
                    f"{owner}: moderator {name!r} must be finite; {who(int(j))} has "
                    f"{name}={_show(cells[j])}."
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
    elif _is_frame(moderators):
        names = _column_names(moderators)
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
                f"a DataFrame. Got {type(moderators).__name__} {_show(moderators)}."
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
        cells, categories = _read_cells(owner, f"moderator {name!r}", values)
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
            f"{owner}: moderator {m.name!r} has a missing value ({_show(m.cells[i])}) for "
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
        cls, mods: list[_Moderator], k: int, intercept: bool, *, omitted: bool = False
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
                    f"MetaRegression: moderator {m.name!r} has only one level, {levels[0]!r}, "
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
            raise InvalidDataError(
                "MetaRegression: nothing to fit: no moderators and intercept=False."
            )
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise InvalidDataError(
                f"MetaRegression: two columns of the design are named {dup!r}; rename the "
                "moderator ('intercept' is the intercept's name; 'g[a]' is level 'a' of 'g')."
            )
        X = np.column_stack(columns)
        _check_rank(X, names)
        return cls(X=X, names=tuple(names), intercept=intercept, encoding=tuple(encoding))

    def _new_columns(self, new: Any) -> tuple[list[NDArray[Any]], int]:
        """New moderator values as one cell array per moderator, and the number of rows."""
        owner = "predict"
        if isinstance(new, Mapping) or _is_frame(new):
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
                    _read_cells(owner, f"moderator {name!r}", new[available[name]], scalar=True)[0]
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
                kind = _cell_kind(value)
                if kind == "missing":
                    raise InvalidDataError(
                        f"predict: moderator {name!r} has a missing value ({_show(value)}) in "
                        f"row {r + 1} of the new data."
                    )
                if levels is None and (kind != "number" or not math.isfinite(float(value))):
                    raise InvalidDataError(
                        f"predict: moderator {name!r} is numeric and needs a finite number; "
                        f"row {r + 1} of the new data has {_show(value)}."
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


def _check_rank(X: Array, names: list[str]) -> None:
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
            f"MetaRegression: the design is singular: column {names[j]!r} {why}. "
            "Drop or recode the collinear moderators."
        )


@attrs.frozen(kw_only=True)
class Prediction:
    """Predicted effects for given moderator values, with CI and prediction interval."""

    pred: Array = array_field(repr=True)
    se: Array = array_field(repr=True)
    ci: IntervalArray
    pi: IntervalArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {
            "pred": self.pred.tolist(),
            "se": self.se.tolist(),
            "ci": self.ci.to_dict(),
            "pi": self.pi.to_dict(),
        }


@attrs.frozen(kw_only=True)
class MetaRegressionResult:
    """A fitted meta-regression.

    Attributes
    ----------
    coef, se, statistic, pvalue : ndarray
        Coefficients, standard errors, z or t statistics and two-sided p-values.
    ci : IntervalArray
        Confidence intervals of the coefficients.
    names : tuple of str
        Column names of the design matrix (``"intercept"`` first when present).
    df : float or None
        Degrees of freedom of the t tests (``k - p``), None for z.
    tau2, tau : float
        Residual between-study variance and its square root.
    tau2_ci : Interval
        Q-profile confidence interval of the residual τ² (not estimable when τ² is
        fixed in advance with :class:`~metapool.tau2.Fixed`).
    qm, qm_df, qm_df2, qm_pvalue : float, int, int or None, float
        Omnibus test of the moderators (all coefficients but the intercept): a
        chi-square statistic for z, an F statistic with ``(qm_df, qm_df2)`` df for
        t-based methods (as metafor).
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    r2 : float
        Pseudo-R² in percent: ``max(0, (τ²₀ - τ²)/τ²₀)`` with τ²₀ from the
        intercept-only model with the same estimator (0 when τ²₀ = 0, as metafor).
        For a fixed-effects meta-regression (``tau2=Fixed(0)``): the adjusted R² of
        the weighted least-squares regression, as metafor. Not estimable (NaN) without
        an intercept (the intercept-only model is not nested in it; metafor reports
        none either).
    i2, h2 : float
        Residual I² (percent) and H², from τ² and the typical within-study variance
        (from QE for a fixed-effects meta-regression).
    vcov : ndarray
        Covariance matrix of the coefficients.
    k, p : int
        Number of studies analysed (after any left out, as metafor's ``k``) and of
        coefficients.
    yi, vi, labels : ndarray, ndarray, tuple of str
        The studies analysed.
    excluded : tuple of ExcludedStudy
        Studies left out: by the effect set, and by ``nan_policy="omit"`` for a
        missing moderator value; ``index`` is the 0-based row in the input as given.
    notes : tuple of str
        Decisions taken for this data (e.g. a Knapp–Hartung variance of 0).
    """

    model: Any = attrs.field(repr=False)
    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    names: tuple[str, ...]
    df: float | None
    tau2: float
    tau: float
    tau2_ci: Interval
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    r2: float
    i2: float
    h2: float
    vcov: Array = array_field()
    k: int
    p: int
    converged: bool
    iterations: int
    level: float
    design: DesignMatrix = attrs.field(repr=False)
    yi: Array = array_field()
    vi: Array = array_field()
    labels: tuple[str, ...]
    measure: str
    excluded: tuple[ExcludedStudy, ...] = ()
    notes: tuple[str, ...] = ()

    def predict(self, new_moderators: Any) -> Prediction:
        """Predicted effects for new moderator values (same form as in the fit).

        ``pred = x'β``, ``se = sqrt(x' V x)``, CI ``pred ± crit·se`` and prediction
        interval ``pred ± crit·sqrt(se² + τ²)``, with ``crit`` from z or t(k - p).

        Parameters
        ----------
        new_moderators : array_like, mapping or DataFrame
            One row per prediction. A mapping or DataFrame is matched by moderator
            name (other columns are ignored); an array has one column per moderator,
            in the order of the fit (a 1-d array is split into rows of that width).
            Categorical moderators take their level names.

        Returns
        -------
        Prediction

        Raises
        ------
        InvalidDataError
            If a moderator is absent, a value is missing (the moderator and the 1-based
            row of the new data are named), a numeric value is not a finite number, or
            a level was not seen in the fit.
        MetapoolTypeError
            If ``new_moderators`` is None, a string or a set.
        """
        rows = self.design.encode(new_moderators)
        pred = rows @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", rows, self.vcov, rows))
        crit = z_crit(self.level) if self.df is None else float(t_crit(self.level, self.df))
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(
            pred=pred,
            se=se,
            ci=IntervalArray(pred - crit * se, pred + crit * se),
            pi=IntervalArray(pred - half_pi, pred + half_pi),
        )

    def summary(self) -> str:
        """A metafor-style report."""
        pct = round(100 * self.level)
        stat = "z" if self.df is None else "t"
        kind = "Fixed-effects" if self.model.fixed_effects else "Mixed-effects"
        lines = [
            f"{kind} meta-regression (k = {self.k}; tau^2 estimator: "
            f"{self.model.tau2.name}; CI: {self.model.ci})",
            "",
            f"tau^2 (residual heterogeneity) = {self.tau2:.4f} "
            f"({pct}% CI {self.tau2_ci.format(4)}); tau = {self.tau:.4f}",
            f"I^2 (residual) = {self.i2:.2f}%; H^2 = {self.h2:.2f}; R^2 = "
            + ("NA" if math.isnan(self.r2) else f"{self.r2:.2f}%"),
            "",
            f"Test for residual heterogeneity: QE(df = {self.qe_df}) = {self.qe:.4f}, "
            f"p = {self.qe_pvalue:.4g}",
        ]
        if self.qm_df and math.isnan(self.qm):
            lines.append(f"Test of moderators (df = {self.qm_df}): not estimable")
        elif self.qm_df2 is None:
            lines.append(
                f"Test of moderators: QM(df = {self.qm_df}) = {self.qm:.4f}, "
                f"p = {self.qm_pvalue:.4g}"
            )
        else:
            lines.append(
                f"Test of moderators: F(df1 = {self.qm_df}, df2 = {self.qm_df2}) = "
                f"{self.qm:.4f}, p = {self.qm_pvalue:.4g}"
            )
        lines += [
            "",
            f"  {'':<22}{'estimate':>10}{'se':>10}{stat + 'val':>9}{'pval':>9}   {pct}% CI",
        ]
        for j, name in enumerate(self.names):
            lines.append(
                f"  {name[:21]:<22}{self.coef[j]:>10.4f}{self.se[j]:>10.4f}"
                f"{self.statistic[j]:>9.3f}{self.pvalue[j]:>9.4f}   "
                f"[{self.ci.low[j]:.4f}, {self.ci.high[j]:.4f}]"
            )
        if self.excluded:
            lines += ["", "Excluded studies"]
            lines += [f"  {e.name}: {e.reason}" for e in self.excluded]
        if self.notes:
            lines += ["", "Notes"]
            lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name in ("model", "design"):
                out[field.name] = repr(value) if field.name == "model" else list(value.names)
            elif isinstance(value, (IntervalArray, Interval)):
                out[field.name] = value.to_dict()
            elif isinstance(value, np.ndarray):
                out[field.name] = np.where(np.isfinite(value), value, np.nan).tolist()
                out[field.name] = [
                    [_json_float(x) for x in row] if isinstance(row, list) else _json_float(row)
                    for row in out[field.name]
                ]
            elif isinstance(value, float):
                out[field.name] = _json_float(value)
            elif isinstance(value, tuple):
                out[field.name] = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
            else:
                out[field.name] = value
        return out

    def __str__(self) -> str:
        return self.summary()


def _weighted_adjusted_r2(yi: Array, w: Array, rss: float, p: int) -> float:
    """Adjusted R² (percent, truncated at 0) of a weighted least-squares regression
    with an intercept."""
    k = yi.size
    if np.all(yi == yi[0]):
        return 0.0
    centre = float((w * yi).sum() / w.sum())
    tss, df_tot = float((w * (yi - centre) ** 2).sum()), k - 1
    r2 = 1.0 - rss / tss
    return max(0.0, 100.0 * (1.0 - (1.0 - r2) * df_tot / (k - p)))


@attrs.frozen(init=False)
class MetaRegression:
    """Meta-regression with a pluggable τ² estimator.

    Fits ``y = Xβ + u + ε`` with ``u ~ N(0, τ²)``, ``ε ~ N(0, v)`` by weighted least
    squares with ``w = 1/(v + τ̂²)``, τ² estimated by any estimator that accepts a
    design matrix (all built-in ones do). ``tau2=mp.tau2.Fixed(0)`` gives a
    fixed-effects meta-regression.

    Parameters
    ----------
    tau2 : str or Tau2Estimator, default "REML"
        τ² estimator.
    ci : {"z", "hksj", "hksj-adhoc", "t"}, default "z"
        Wald z; Knapp–Hartung (t with k - p df and the variance scaled by
        ``Σw r²/(k - p)``); its ad hoc variant (scale at least 1); Wald SEs with t.
    level : float, default 0.95
        Confidence level.
    nan_policy : {"raise", "omit"}, default "raise"
        What to do with a study whose moderator value is missing (None, NaN, pandas'
        NA or NaT): raise, naming the moderator and the study, or leave the study
        out with an :class:`~metapool.exceptions.ExcludedStudyWarning` and record it
        in the result's ``excluded`` (as metafor's default ``na.action = "na.omit"``).
        Text that reads like a missing-value marker (``""``, ``"NA"``, ``"nan"``,
        ``"None"``, ...) is refused under either policy, never guessed.

    Raises
    ------
    InvalidParameterError
        If ``ci``, ``level`` or ``nan_policy`` is not an allowed value.

    Notes
    -----
    Under ``ci="hksj"`` the covariance matrix is multiplied by ``Σ w r²/(k - p)``.
    When the effects lie exactly on the fitted model that sum is 0 (at most machine
    epsilon, as metafor): the standard errors are 0, the intervals are single
    points, the t statistics infinite and the test of moderators not estimable
    (NaN; metafor: NA). The result is returned with a
    :class:`~metapool.exceptions.DegenerateDataWarning` and a note; ``ci="hksj-adhoc"``
    (scale at least 1) is the usual remedy.

    References
    ----------
    .. [1] Berkey CS, Hoaglin DC, Mosteller F, Colditz GA (1995). A random-effects
       regression model for meta-analysis. Stat Med 14(4):395-411.
    .. [2] Knapp G, Hartung J (2003). Improved tests for a random effects
       meta-regression with a single covariate. Stat Med 22(17):2693-2710.
    .. [3] Thompson SG, Higgins JPT (2002). How should meta-regression analyses be
       undertaken and interpreted? Stat Med 21(11):1559-1573.
    .. [4] Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In
       The Handbook of Research Synthesis and Meta-Analysis, 2nd ed.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9], vi=[0.02] * 5)
    >>> reg = mp.MetaRegression(tau2="REML").fit(eff, {"dose": [1, 2, 3, 4, 5]})
    >>> reg.names, reg.coef.round(3).tolist()
    (('intercept', 'dose'), [-0.11, 0.21])
    """

    tau2: Tau2Estimator
    ci: str
    level: float
    nan_policy: str

    def __init__(
        self,
        tau2: str | Tau2Estimator = "REML",
        *,
        ci: str = "z",
        level: float = 0.95,
        nan_policy: str = "raise",
    ) -> None:
        owner = "MetaRegression"
        self.__attrs_init__(
            tau2=get_tau2(tau2, owner=owner),
            ci=check_choice(owner, "ci", ci, CI_METHODS),
            level=check_level(owner, level),
            nan_policy=check_choice(owner, "nan_policy", nan_policy, ("raise", "omit")),
        )

    @property
    def fixed_effects(self) -> bool:
        """Whether τ² is fixed at 0 (a fixed-effects meta-regression)."""
        return isinstance(self.tau2, Fixed) and self.tau2.value == 0.0

    def fit(
        self, effects: EffectSet, moderators: Any, *, intercept: bool = True
    ) -> MetaRegressionResult:
        """Fit the meta-regression of ``effects`` on ``moderators``.

        Parameters
        ----------
        effects : EffectSet
            The studies.
        moderators : array_like, mapping or DataFrame
            One value per study for each moderator, in the order of the studies.
            A mapping from name to column or a DataFrame (pandas, polars) names the
            moderators by its keys or column names; a pandas Series by its name; an
            array of shape ``(k,)`` or ``(k, p)`` names its columns ``x1``, ``x2``...
            Each column is typed on its own: numeric if every value is a real number
            (``bool`` excluded), categorical if every value is text or every value a
            boolean, or if it is a pandas Categorical (whose category order sets the
            reference level). A column may also have one value per study as given to
            the effect set (rows of studies the effect set excluded are skipped).
            ``{}`` fits the intercept-only model.
        intercept : bool, default True
            Add an intercept column.

        Returns
        -------
        MetaRegressionResult

        Raises
        ------
        MetapoolTypeError
            If ``effects`` is not an effect set, ``moderators`` is None, a string, a
            set or a scalar, or a moderator holds values that are neither numbers, text
            nor booleans (e.g. dates).
        InvalidParameterError
            If ``intercept`` is not a bool.
        InvalidDataError
            If a moderator has the wrong length, mixes numbers and text (or booleans),
            has an infinite value, has a missing value (with ``nan_policy="raise"``),
            is categorical with a single level among the studies analysed, or if the
            design is singular or has as many coefficients as studies. Study-level
            messages name the moderator, the study (``study 2 ('Beta 2003')``, its
            1-based row as given and label) and the value.

        Warns
        -----
        ExcludedStudyWarning
            If ``nan_policy="omit"`` leaves studies out.
        DegenerateDataWarning
            If ``ci="hksj"`` and the weighted residual sum of squares is 0.
        """
        owner = "MetaRegression"
        effects = check_effects(owner, effects)
        if not isinstance(intercept, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'intercept' parameter of {owner}.fit must be True or False. Got "
                f"{intercept!r} instead."
            )
        intercept = bool(intercept)
        n_given = effects.k + len(effects.excluded)
        mods = _read_moderators(owner, moderators, effects.index, effects.labels, n_given)
        keep, omitted = _omit_missing(owner, mods, effects.index, effects.labels, self.nan_policy)
        mods = [m.take(keep) for m in mods]
        y_given, v_given = effects.yi[keep], effects.vi[keep]
        # Fit on power-of-two rescaled data (exact; unit = 1 for ordinary data) and scale
        # back; a τ² fixed in advance is on the original scale (see metapool._conditioning).
        unit = 1.0 if isinstance(self.tau2, Fixed) else float(power_of_two_scale(v_given))
        yi, vi = y_given / unit, v_given / unit**2
        labels = tuple(lab for lab, kept in zip(effects.labels, keep, strict=True) if kept)
        k = int(keep.sum())
        design = DesignMatrix._from_moderators(mods, k, intercept, omitted=bool(omitted))
        X = design.X
        p = n_params(X)
        if k - p < 1:
            after = f" after leaving out {len(omitted)} with missing moderators" if omitted else ""
            raise InvalidDataError(
                f"MetaRegression: {p} coefficients need more than {p} studies; got k = {k}{after}."
            )
        fit_tau2 = checked(self.tau2.estimate(yi, vi, X), owner)
        tau2 = float(fit_tau2.tau2)
        converged = bool(np.all(fit_tau2.converged))
        w = 1.0 / (vi + tau2)
        fit = wls(yi, w, X)
        scale = float(variance_scale(fit.rss, k - p, self.ci))
        vcov = np.array(fit.cov) * scale
        df = None if self.ci == "z" else float(k - p)
        se = np.sqrt(np.diag(vcov))
        coef = np.array(fit.beta)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = coef / se
        crit = z_crit(self.level) if df is None else float(t_crit(self.level, df))
        pvalue = two_sided_p(stat, df)

        # Omnibus test of the moderators (all but the intercept).
        btt = np.arange(1, p) if intercept else np.arange(p)
        m = btt.size
        notes: list[str] = []
        qm_df2: int | None = None if df is None else k - p
        if scale == 0.0:
            # ci="hksj" with a weighted residual sum of squares of 0: metafor sets the
            # scale to 0 too (se 0, t = ±Inf, p 0) and reports QM as NA.
            note = (
                "ci='hksj': the weighted residual sum of squares is 0 (the effects lie "
                "exactly on the fitted model), so the Knapp-Hartung variance is 0: standard "
                "errors are 0 and the confidence intervals single points"
                + (", and the test of moderators is not estimable" if m else "")
                + " (as metafor). ci='hksj-adhoc' keeps the Wald variance as a floor."
            )
            notes.append(note)
            warn(f"{owner}: {note}", DegenerateDataWarning)
        if not m:
            qm, qm_p, qm_df2 = math.nan, math.nan, None
        elif scale == 0.0:
            qm, qm_p = math.nan, math.nan
        else:
            b = coef[btt]
            qm = float(b @ np.linalg.solve(vcov[np.ix_(btt, btt)], b))
            if df is None:
                qm_p = float(special.chdtrc(m, qm))
            else:
                qm = qm / m
                qm_p = float(special.fdtrc(m, k - p, qm))

        # Residual heterogeneity with fixed-effect weights.
        w_fe = 1.0 / vi
        fit_fe = wls(yi, w_fe, X)
        qe = float(fit_fe.rss)
        if self.fixed_effects:
            # As metafor's fixed-effects model: I², H² from QE; R² the adjusted R² of
            # the weighted least-squares regression.
            i2, h2 = (float(x) for x in heterogeneity_from_q(qe, k - p))
            r2 = _weighted_adjusted_r2(yi, w_fe, qe, p) if intercept else math.nan
        else:
            s2 = (k - p) / float(trace_p(w_fe, X, fit_fe.cov))
            i2, h2 = (float(x) for x in heterogeneity_from_tau2(tau2, s2))
            if intercept:
                # Pseudo-R² against the intercept-only model with the same estimator
                # (0 when that model has no heterogeneity to explain, as metafor).
                fit_0 = checked(self.tau2.estimate(yi, vi), owner, " for the pseudo-R^2")
                tau2_0 = float(fit_0.tau2)
                r2 = max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0) if tau2_0 > 0 else 0.0
            else:  # no nested intercept-only model to compare with (metafor: none)
                r2 = math.nan

        if isinstance(self.tau2, Fixed):  # τ² given in advance: no interval to estimate
            tau2_ci = NOT_ESTIMABLE
        else:
            alpha = 1.0 - self.level
            targets = (special.chdtri(k - p, alpha / 2), special.chdtri(k - p, 1 - alpha / 2))
            bounds = [solve_generalized_q(yi, vi, X, t) for t in targets]
            if not all(bool(b.converged) for b in bounds):
                converged = False
                notes.append("the Q-profile interval of tau^2 did not converge")
                warn(
                    f"{owner}: the Q-profile confidence interval of tau^2 did not converge; "
                    "the result is flagged converged=False.",
                    ConvergenceWarning,
                )
            tau2_ci = Interval(float(bounds[0].root) * unit**2, float(bounds[1].root) * unit**2)

        return MetaRegressionResult(
            model=self,
            coef=coef * unit,
            se=se * unit,
            statistic=stat,
            pvalue=pvalue,
            ci=IntervalArray((coef - crit * se) * unit, (coef + crit * se) * unit),
            names=design.names,
            df=df,
            tau2=tau2 * unit**2,
            tau=math.sqrt(tau2) * unit,
            tau2_ci=tau2_ci,
            qm=qm,
            qm_df=m,
            qm_df2=qm_df2,
            qm_pvalue=qm_p,
            qe=qe,
            qe_df=k - p,
            qe_pvalue=float(special.chdtrc(k - p, qe)),
            r2=r2,
            i2=i2,
            h2=h2,
            vcov=vcov * unit**2,
            k=k,
            p=p,
            converged=converged,
            iterations=int(np.max(fit_tau2.iterations)),
            level=self.level,
            design=design,
            yi=y_given,
            vi=v_given,
            labels=labels,
            measure=effects.measure,
            excluded=tuple(sorted((*effects.excluded, *omitted), key=lambda e: e.index)),
            notes=tuple(notes),
        )
