"""What the forest plot of a leave-one-out or cumulative analysis shows.

The content step for a series of refits (:func:`metapool.leave_one_out`,
:func:`metapool.cumulative`), as metafor draws ``forest(leave1out(...))`` and
``forest(cumul(...))``: one row per refit ("Omitting X" / "Adding X") with its
pooled estimate and confidence interval, no weights, and the analysis of all
studies as the reference: a diamond below the rows and a dashed vertical line
through its estimate. The content is a :class:`ForestContent`, laid out and
drawn like any other forest plot. matplotlib is not imported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._numbers import level_percent, method_title
from metapool.plotting.forest._content import (
    Column,
    ForestContent,
    Row,
    _axis_range,
    _check_decimals,
    _short_repr,
)
from metapool.results import CumulativeResult, LeaveOneOutResult, MetaResult

__all__ = ["SERIES_COLUMNS", "series_content"]

#: Columns a leave-one-out or cumulative forest plot can show.
SERIES_COLUMNS = ("study", "k", "tau2", "i2", "effect", "plot")


def _columns(
    columns: Sequence[str] | None, cumulative: bool, effect_title: tuple[str, str]
) -> list[Column]:
    if columns is None:
        keys = ["study", "k", "effect", "plot"] if cumulative else ["study", "effect", "plot"]
    else:
        if isinstance(columns, str):
            raise MetapoolTypeError(
                "The 'columns' parameter of forest_plot must be a sequence of column names, "
                f"e.g. ('study', 'effect', 'plot'). Got the string {columns!r}."
            )
        keys = [str(c) for c in columns]
        for key in keys:
            if key not in SERIES_COLUMNS:
                listed = ", ".join(map(repr, SERIES_COLUMNS))
                raise InvalidParameterError(
                    "The 'columns' parameter of forest_plot must list names from "
                    f"{listed} for a leave-one-out or cumulative result. Got {key!r}."
                )
        if len(set(keys)) != len(keys):
            raise InvalidParameterError(
                f"The 'columns' parameter of forest_plot lists a column twice. Got {keys!r}."
            )
        if "plot" not in keys:
            keys.append("plot")
    headers = {"study": "Study", "k": "k", "tau2": "Tau²", "i2": "I²"}
    out = []
    for key in keys:
        if key in ("effect", "plot"):
            out.append(
                Column(
                    key=key,
                    header=effect_title[1],
                    align="effect" if key == "effect" else "center",
                    group=effect_title[0],
                    span=key,
                    gid=key,
                )
            )
        else:
            out.append(
                Column(
                    key=key,
                    header=headers[key],
                    align="left" if key == "study" else "right",
                    gid=key,
                )
            )
    return out


def series_content(
    obj: LeaveOneOutResult | CumulativeResult,
    *,
    columns: Sequence[str] | None = None,
    decimals: int = 2,
    unsupported: dict[str, Any],
    measure_label: str | None = None,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    favours: tuple[str | None, str | None] = ("Favours [experimental]", "Favours [control]"),
    higher_is_better: bool = False,
    title: str | None = None,
) -> ForestContent:
    """The content of the forest plot of a leave-one-out or cumulative result.

    ``unsupported`` are forest_plot's options for study data (name -> value
    given), which must be at their defaults (None/False) here.
    """
    for name, value in unsupported.items():
        if value not in (None, False):
            raise InvalidParameterError(
                f"The '{name}' parameter of forest_plot does not apply to a "
                f"{type(obj).__name__} (its rows are refits, not studies). "
                f"Got {_short_repr(value)}."
            )
    decimals = _check_decimals("decimals", decimals)
    cumulative = isinstance(obj, CumulativeResult)
    full = obj.full
    if full is None:  # built by hand: the last cumulative step is the full analysis
        last = obj.results[-1] if cumulative and obj.results else None
        full = last if isinstance(last, MetaResult) else None
    model = full.model if full is not None else next(r for r in obj.results if r is not None).model
    weighting = getattr(model, "weighting", "inverse-variance")
    random = bool(getattr(model, "random_effects", False))
    effect_title = (measure_label or obj.measure.title, method_title(weighting, random, obj.level))
    cols = _columns(columns, cumulative, effect_title)
    axis = EffectAxis(obj.measure)

    def fmt(value: float) -> str:
        return axis.text(value, decimals)

    verb = "Adding" if cumulative else "Omitting"
    rows: list[Row] = []
    for i, label in enumerate(obj.labels):
        est, low, high = (float(obj.estimate[i]), float(obj.ci.low[i]), float(obj.ci.high[i]))
        cells = {
            "study": f"{verb} {label}",
            "k": str(int(obj.k[i])),
            "tau2": "NA" if math.isnan(obj.tau2[i]) else f"{obj.tau2[i]:.{decimals + 1}f}",
            "i2": "NA" if math.isnan(obj.i2[i]) else f"{obj.i2[i]:.0f}%",
        }
        ok = bool(obj.estimable[i]) and all(map(math.isfinite, (est, low, high)))
        if not ok:
            cells["effect"] = "Not estimable"
        rows.append(
            Row(
                kind="study",
                gid=f"study-{i}",
                cells=cells,
                effect=(fmt(est), f"[{fmt(low)}, {fmt(high)}]") if ok else None,
                estimate=est if ok else None,
                low=low if ok else None,
                high=high if ok else None,
                weight=None,
            )
        )
    reference = None
    if full is not None and full.ci.estimable and math.isfinite(full.estimate):
        reference = float(full.estimate)
        rows.append(Row(kind="blank", gid="blank-total", height=0.5))
        rows.append(
            Row(
                kind="pooled",
                gid="total",
                cells={
                    "study": f"All studies ({level_percent(full.level)}% CI)",
                    "k": str(full.k),
                    "tau2": "NA" if math.isnan(full.tau2) else f"{full.tau2:.{decimals + 1}f}",
                    "i2": "NA" if math.isnan(full.i2) else f"{full.i2:.0f}%",
                },
                effect=(fmt(full.estimate), f"[{fmt(full.ci.low)}, {fmt(full.ci.high)}]"),
                bold=True,
                estimate=full.estimate,
                low=full.ci.low,
                high=full.ci.high,
            )
        )
    limits, ticks = _axis_range(rows, axis, xlim, xticks)
    experimental, control = favours if axis.has_null else (None, None)
    return ForestContent(
        columns=tuple(cols),
        rows=tuple(rows),
        footers=(),
        effect_title=effect_title,
        axis=axis,
        limits=limits,
        ticks=ticks,
        favours=(control, experimental) if higher_is_better else (experimental, control),
        favours_gids=(
            ("favours-control", "favours-experimental")
            if higher_is_better
            else ("favours-experimental", "favours-control")
        ),
        title=title,
        level=obj.level,
        reference=reference,
    )
