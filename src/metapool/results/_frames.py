"""Results as pandas DataFrames: the columns every ``to_frame``/``summary_frame``
shares. pandas is an optional dependency, imported only when a frame is asked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metapool._inference import z_crit
from metapool.exceptions import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

    from metapool.effects import Measure

__all__ = [
    "make_frame",
    "natural_columns",
    "pooled_columns",
    "require_pandas",
    "stack",
    "study_columns",
]

Array = NDArray[np.float64]


def require_pandas(owner: str) -> Any:
    """The pandas module, or :class:`MissingDependencyError` saying how to install it."""
    try:
        import pandas
    except ImportError as exc:
        raise MissingDependencyError(
            f"{owner} needs pandas, which is not installed (or cannot be imported: {exc}). "
            'Install it with: pip install "metapool[pandas]"'
        ) from exc
    return pandas


def make_frame(owner: str, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame of ``columns`` (each one value per row), in their order."""
    pandas = require_pandas(owner)
    return pandas.DataFrame({name: _column(value) for name, value in columns.items()})


def _column(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    return np.atleast_1d(np.asarray(value))


def _float(value: ArrayLike) -> Array:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def natural_columns(
    measure: Measure,
    estimate: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    pi_low: ArrayLike | None = None,
    pi_high: ArrayLike | None = None,
    *,
    taken: Sequence[str] = (),
) -> dict[str, Array]:
    """Natural-scale estimate and intervals, named after the measure (``RR``,
    ``RR_ci_low``, ``RR_ci_high``, ...); none when the analysis scale is the natural
    one. A code that is already a column name gets the suffix ``_natural``."""
    if measure.scale.is_identity:
        return {}
    name = measure.code if measure.code not in taken else f"{measure.code}_natural"
    inverse = measure.scale.inverse
    values = {name: estimate, f"{name}_ci_low": ci_low, f"{name}_ci_high": ci_high}
    if pi_low is not None and pi_high is not None:
        values.update({f"{name}_pi_low": pi_low, f"{name}_pi_high": pi_high})
    with np.errstate(all="ignore"):
        return {key: _float(inverse(_float(v))) for key, v in values.items()}


def study_columns(
    measure: Measure,
    labels: Sequence[str],
    yi: ArrayLike,
    vi: ArrayLike,
    level: float,
    *,
    arms: Mapping[str, ArrayLike] | None = None,
) -> dict[str, Any]:
    """Per-study columns: label, the arm data, ``yi``, ``se`` and the ``level`` Wald
    CI on the analysis scale (``yi ± z·se``, as forest plots show them), then the
    natural-scale effect and CI."""
    y, se = _float(yi), np.sqrt(_float(vi))
    half = z_crit(level) * se
    columns: dict[str, Any] = {"label": list(labels)}
    columns.update({name: _float(v) for name, v in (arms or {}).items()})
    columns.update({"yi": y, "se": se, "ci_low": y - half, "ci_high": y + half})
    columns.update(natural_columns(measure, y, y - half, y + half, taken=list(columns)))
    return columns


def pooled_columns(
    measure: Measure | None,
    *,
    estimate: ArrayLike,
    se: ArrayLike,
    statistic: ArrayLike,
    pvalue: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    df: ArrayLike | None = None,
    pi_low: ArrayLike | None = None,
    pi_high: ArrayLike | None = None,
) -> dict[str, Array]:
    """Pooled estimates on the analysis scale (``df`` NaN for z), then on the natural
    scale."""
    columns = {"estimate": _float(estimate), "se": _float(se), "statistic": _float(statistic)}
    if df is not None:
        columns["df"] = _float(df)
    columns |= {
        "pvalue": _float(pvalue),
        "ci_low": _float(ci_low),
        "ci_high": _float(ci_high),
    }
    if pi_low is not None and pi_high is not None:
        columns.update({"pi_low": _float(pi_low), "pi_high": _float(pi_high)})
    if measure is not None:
        columns.update(
            natural_columns(
                measure, estimate, ci_low, ci_high, pi_low, pi_high, taken=list(columns)
            )
        )
    return columns


def stack(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Columns of single-row column mappings with the same keys, stacked in order."""
    out: dict[str, Any] = {}
    for key in rows[0]:
        cells = [row[key] for row in rows]
        if all(isinstance(c, list) for c in cells):
            out[key] = [x for c in cells for x in c]
        else:
            out[key] = np.concatenate([np.atleast_1d(np.asarray(c)) for c in cells])
    return out
