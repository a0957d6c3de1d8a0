"""What a forest plot shows: columns, rows, footnotes and the effect axis.

The content step of a forest plot (content, then layout, then drawing): from a
result it decides the texts, estimates, weights, order, axis limits and ticks,
and nothing about sizes or positions (:mod:`._layout`). The content is a frozen
value; nothing after this step changes it. matplotlib is not imported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy, is_missing
from metapool._validation import study_name
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._checks import check_limits, check_ticks
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._numbers import fmt_data, level_percent, method_title, tidy_note
from metapool.plotting._ticks import (
    data_ticks,
    extent_of,
    forest_ticks,
    linear_ticks,
    log_ticks,
    range_of,
)
from metapool.results import CumulativeResult, LeaveOneOutResult, MetaResult, SubgroupResult

__all__ = ["Column", "ForestContent", "Row", "forest_content"]

Align = Literal["left", "right", "center", "effect"]
RowKind = Literal[
    "study", "excluded", "subgroup", "pooled", "events", "prediction", "note", "blank"
]

#: Columns every forest plot can show, besides the user's extra columns.
BUILTIN_COLUMNS = ("study", "experimental", "control", "weight", "effect", "plot")
#: Most decimals a number in the table can have (a float holds about 16 digits).
MAX_DECIMALS = 10

_ARM_COLUMNS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    # kind -> arm -> (key, header)
    "continuous": {
        "1": (("mean1", "Mean"), ("sd1", "SD"), ("n1", "Total")),
        "2": (("mean2", "Mean"), ("sd2", "SD"), ("n2", "Total")),
    },
    "binary": {
        "1": (("events1", "Events"), ("n1", "Total")),
        "2": (("events2", "Events"), ("n2", "Total")),
    },
}


def _cells(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


@attrs.frozen(kw_only=True)
class Column:
    """One column of the table (the graphic is the column ``"plot"``)."""

    key: str
    header: str
    align: Align
    #: Text on the upper header line, centred over every column of the same ``span``.
    group: str | None = None
    span: str | None = None
    gid: str = ""


@attrs.frozen(kw_only=True)
class Row:
    """One row of the table, with the interval it draws (analysis scale).

    ``cells`` are ``(column key, text)`` pairs; ``effect`` is the estimate and
    its interval as written (``("0.41", "[0.13, 1.26]")``); ``height`` (in
    rows) is that of a blank row, the layout sizes the others to their text.
    """

    kind: RowKind
    gid: str
    cells: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_cells)
    effect: tuple[str, str] | None = None
    bold: bool = False
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    weight: float | None = None
    height: float = 1.0

    def cell(self, key: str) -> str | None:
        """The text of the cell in column ``key`` (None if the row has none)."""
        for k, text in self.cells:
            if k == key:
                return text
        return None

    def interval(self) -> tuple[float, float, float] | None:
        """``(estimate, low, high)`` if the row draws an interval."""
        if self.estimate is None or self.low is None or self.high is None:
            return None
        if not all(math.isfinite(v) for v in (self.estimate, self.low, self.high)):
            return None
        return self.estimate, self.low, self.high


@attrs.frozen(kw_only=True)
class ForestContent:
    """Everything a forest plot shows, before layout.

    Attributes
    ----------
    columns, rows : tuple
        The table, left to right and top to bottom.
    footers : tuple of (str, str)
        Footnotes under the table (text, gid): heterogeneity, test for overall
        effect, test for subgroup differences.
    effect_title : (str, str)
        The measure's title and the method line (``"IV, Random, 95% CI"``).
    axis : EffectAxis
        How effects are placed and written (asks the measure).
    limits : (float, float)
        Axis limits on the natural scale.
    ticks : tuple of float
        Tick positions on the natural scale, within the limits.
    favours : (str or None, str or None)
        The labels under the left and right halves of the axis (none for a
        measure without a null value); ``favours_gids`` are their gids.
    title : str or None
        The title above the table.
    level : float
        The confidence level of the intervals.
    reference : float or None
        An estimate (analysis scale) drawn as a dashed vertical line.
    """

    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    footers: tuple[tuple[str, str], ...]
    effect_title: tuple[str, str]
    axis: EffectAxis
    limits: tuple[float, float]
    ticks: tuple[float, ...]
    favours: tuple[str | None, str | None] = (None, None)
    favours_gids: tuple[str, str] = ("favours-experimental", "favours-control")
    title: str | None = None
    level: float = 0.95
    #: an estimate (analysis scale) drawn as a dashed vertical line through the
    #: rows: the analysis of all studies in a leave-one-out or cumulative plot
    reference: float | None = None


def _safe_id(text: str) -> str:
    """``text`` as a valid XML id fragment (gids become ids in SVG files)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "column"


def _arm_kind(arms: Mapping[str, NDArray[np.float64]]) -> str | None:
    if {"mean1", "sd1", "n1", "mean2", "sd2", "n2"} <= set(arms):
        return "continuous"
    if {"events1", "n1", "events2", "n2"} <= set(arms):
        return "binary"
    return None


def _resolve_columns(
    columns: object,
    extra: Sequence[str],
    arm_kind: str | None,
    group_names: tuple[str, str],
    effect_title: tuple[str, str],
    study_header: str,
    numeric: frozenset[str] = frozenset(),
) -> list[Column]:
    if isinstance(columns, str):
        raise MetapoolTypeError(
            "The 'columns' parameter of forest_plot must be a sequence of column names, "
            f"e.g. ('study', 'effect', 'plot'). Got the string {columns!r}."
        )
    allowed = (*BUILTIN_COLUMNS, *extra)
    if columns is None:
        keys = ["study", *extra]
        if arm_kind is not None:
            keys += ["experimental", "control"]
        keys += ["weight", "effect", "plot"]
    else:
        if not isinstance(columns, Iterable):
            raise MetapoolTypeError(
                "The 'columns' parameter of forest_plot must be a sequence of column names, "
                f"e.g. ('study', 'effect', 'plot'). Got {type(columns).__name__} "
                f"({_short_repr(columns)})."
            )
        keys = [str(c) for c in columns]
        for key in keys:
            if key not in allowed:
                listed = ", ".join(repr(a) for a in allowed)
                raise InvalidParameterError(
                    f"The 'columns' parameter of forest_plot must list names from {listed}. "
                    f"Got {key!r}."
                )
        if len(set(keys)) != len(keys):
            raise InvalidParameterError(
                f"The 'columns' parameter of forest_plot lists a column twice. Got {keys!r}."
            )
        if arm_kind is None and ({"experimental", "control"} & set(keys)):
            raise InvalidParameterError(
                "The 'columns' parameter of forest_plot asks for arm-level columns "
                "('experimental', 'control'), but the effect sizes have no arm-level data "
                "(they were given as yi/vi). Leave those columns out."
            )
        missing_extra = [e for e in extra if e not in keys]
        at = keys.index("study") + 1 if "study" in keys else 0
        keys[at:at] = missing_extra
        if "plot" not in keys:
            keys.append("plot")

    out: list[Column] = []
    for key in keys:
        if key == "study":
            out.append(Column(key="study", header=study_header, align="left", gid="study"))
        elif key in ("experimental", "control") and arm_kind is not None:
            arm = "1" if key == "experimental" else "2"
            name = group_names[0] if arm == "1" else group_names[1]
            for sub, header in _ARM_COLUMNS[arm_kind][arm]:
                out.append(
                    Column(key=sub, header=header, align="right", group=name, span=key, gid=sub)
                )
        elif key == "weight":
            out.append(Column(key="weight", header="Weight", align="right", gid="weight"))
        elif key == "effect":
            out.append(
                Column(
                    key="effect",
                    header=effect_title[1],
                    align="effect",
                    group=effect_title[0],
                    span="effect",
                    gid="effect",
                )
            )
        elif key == "plot":
            out.append(
                Column(
                    key="plot",
                    header=effect_title[1],
                    align="center",
                    group=effect_title[0],
                    span="plot",
                    gid="plot",
                )
            )
        else:
            align: Align = "right" if key in numeric else "left"
            out.append(Column(key=key, header=key, align=align, gid="extra-" + _safe_id(key)))
    return out


def _key_kind(value: Any) -> str:
    """Which values can be compared with one another as sort keys."""
    if _is_number(value) or isinstance(value, bool):
        return "number"
    return type(value).__name__


def _check_sort_keys(keys: list[Any], overall: MetaResult) -> None:
    """All sort keys of one comparable kind (missing ones aside), else a clear error."""
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if not is_missing(key):
            first.setdefault(_key_kind(key), i)
    if len(first) > 1:
        (kind_a, i), (kind_b, j) = list(first.items())[:2]
        rows = [int(r) for r in overall.effects.index]
        raise MetapoolTypeError(
            "The 'sort_by' parameter of forest_plot must hold sort keys that can be "
            f"compared with one another; {study_name(rows[i], overall.labels[i])} has "
            f"{keys[i]!r} ({kind_a}) but {study_name(rows[j], overall.labels[j])} has "
            f"{keys[j]!r} ({kind_b})."
        )


def _study_order(
    positions: list[int],
    sort_by: str | Sequence[Any] | None,
    weights: NDArray[np.float64],
    yi: NDArray[np.float64],
) -> list[int]:
    """``positions`` in plotting order; missing (NaN) keys go last, ties keep their order."""
    if sort_by is None:
        return positions
    if isinstance(sort_by, str):
        if sort_by.lower() == "weight":
            return sorted(positions, key=lambda i: (bool(np.isnan(weights[i])), -weights[i]))
        if sort_by.lower() == "effect":
            return sorted(positions, key=lambda i: (bool(np.isnan(yi[i])), yi[i]))
        raise InvalidParameterError(
            "The 'sort_by' parameter of forest_plot must be 'weight', 'effect', None or a "
            f"sequence of one sort key per study. Got {sort_by!r}."
        )
    keys = list(sort_by)
    missing = [is_missing(k) for k in keys]
    return sorted(positions, key=lambda i: (True, 0) if missing[i] else (False, keys[i]))


def _check_per_study(name: str, values: Sequence[Any], k: int) -> list[Any]:
    if isinstance(values, (str, bytes)):
        raise MetapoolTypeError(
            f"The '{name}' parameter of forest_plot must be a sequence with one value per "
            f"study. Got the string {values!r}."
        )
    try:
        out = list(values)
    except TypeError:
        raise MetapoolTypeError(
            f"The '{name}' parameter of forest_plot must be a sequence with one value per "
            f"study. Got {type(values).__name__} ({_short_repr(values)})."
        ) from None
    if len(out) != k:
        raise InvalidParameterError(
            f"The '{name}' parameter of forest_plot must have one value per study ({k}). "
            f"Got {len(out)} values."
        )
    return out


def _short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _weight_text(weight: float) -> str:
    """A weight in percent, ``"NA"`` if it is not a number."""
    return f"{weight:.1f}%" if math.isfinite(weight) else "NA"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell_text(value: Any) -> str:
    """A value of a user's column or label as text; missing values are blank."""
    if is_missing(value):
        return ""
    if _is_number(value):
        return fmt_data(float(value))
    return str(value)


def _check_extra(extra_columns: object) -> dict[str, Any]:
    if extra_columns is None:
        return {}
    if not isinstance(extra_columns, Mapping):
        raise MetapoolTypeError(
            "The 'extra_columns' parameter of forest_plot must be a mapping of column name "
            f"to values, e.g. {{'Dose': ['10 mg', ...]}}. Got {type(extra_columns).__name__} "
            f"({_short_repr(extra_columns)})."
        )
    for name in extra_columns:
        if not isinstance(name, str):
            raise MetapoolTypeError(
                "The 'extra_columns' parameter of forest_plot must have str column names. "
                f"Got {name!r} ({type(name).__name__})."
            )
        if name in BUILTIN_COLUMNS:
            raise InvalidParameterError(
                "The 'extra_columns' parameter of forest_plot must not reuse the name of a "
                f"built-in column ({', '.join(map(repr, BUILTIN_COLUMNS))}). Got {name!r}."
            )
    return dict(extra_columns)


class _Builder:
    """Turns a result (or subgroup result) into rows."""

    def __init__(
        self,
        overall: MetaResult,
        *,
        decimals: int,
        labels: Sequence[str] | None,
        extra_columns: Mapping[str, Sequence[Any]],
        arm_decimals: int | None,
    ) -> None:
        self.overall = overall
        self.decimals = decimals
        self.arm_decimals = arm_decimals
        self.k = overall.k
        self.labels = (
            list(overall.labels)
            if labels is None
            else [_cell_text(x) for x in _check_per_study("labels", labels, self.k)]
        )
        self.extra = {
            name: _check_per_study(f"extra_columns[{name!r}]", values, self.k)
            for name, values in extra_columns.items()
        }
        self.arms = overall.effects.arm_data()
        self.arm_kind = _arm_kind(self.arms)
        self.show_events = False  # set once the columns are known
        #: weight (percent) of each study; per subgroup when there is no overall total
        self.weights = np.array(overall.weights, dtype=float)  # a copy: changed per subgroup
        self.z = NormalDist().inv_cdf(0.5 + overall.level / 2)
        self.axis = EffectAxis(overall.measure)

    def fmt(self, value: float) -> str:
        """A value on the analysis scale as shown: on the measure's natural scale."""
        return self.axis.text(value, self.decimals)

    def interval_text(self, low: float, high: float) -> str:
        return f"[{self.fmt(low)}, {self.fmt(high)}]"

    def effect_parts(self, est: float, low: float, high: float) -> tuple[str, str]:
        return self.fmt(est), self.interval_text(low, high)

    def study_row(self, i: int) -> Row:
        yi = float(self.overall.yi[i])
        half = self.z * math.sqrt(float(self.overall.vi[i]))
        weight = float(self.weights[i])
        cells = {"study": self.labels[i], "weight": _weight_text(weight)}
        for key, values in self.arms.items():
            decimals = self.arm_decimals if key[:-1] in ("mean", "sd") else None
            cells[key] = fmt_data(float(values[i]), decimals)
        for name, extra in self.extra.items():
            cells[name] = _cell_text(extra[i])
        return Row(
            kind="study",
            gid=f"study-{i}",
            cells=cells,
            effect=self.effect_parts(yi, yi - half, yi + half),
            estimate=yi,
            low=yi - half,
            high=yi + half,
            weight=weight,
        )

    def arm_sum(self, key: str, positions: list[int], extra: Sequence[ExcludedStudy]) -> str:
        """The total of an arm column over studies and not-estimable rows."""
        total = float(self.arms[key][positions].sum())
        return fmt_data(total + sum(e.values[key] for e in extra if e.values is not None))

    def pooled_rows(
        self,
        result: MetaResult | None,
        positions: list[int],
        name: str,
        gid: str,
        extra: Sequence[ExcludedStudy] = (),
    ) -> list[Row]:
        """The total (or subtotal) row and its "Total events" row; ``extra`` are the
        not-estimable studies shown among them, whose counts are added in (as
        RevMan). ``result`` is None for a subgroup of not-estimable studies only."""
        level = self.overall.level if result is None else result.level
        cells = {"study": f"{name} ({level_percent(level)}% CI)"}
        if result is not None:
            cells["weight"] = _weight_text(float(self.weights[positions].sum()))
        if self.arm_kind is not None:
            for key in ("n1", "n2"):
                cells[key] = self.arm_sum(key, positions, extra)
        effect = None
        if result is not None and result.ci.estimable and math.isfinite(result.estimate):
            effect = self.effect_parts(result.estimate, result.ci.low, result.ci.high)
        if effect is None:
            cells["effect"] = "Not estimable"
        rows = [
            Row(
                kind="pooled",
                gid=gid,
                cells=cells,
                effect=effect,
                bold=True,
                estimate=None if result is None else result.estimate,
                low=None if result is None else result.ci.low,
                high=None if result is None else result.ci.high,
            )
        ]
        if self.arm_kind == "binary" and self.show_events:
            events = {key: self.arm_sum(key, positions, extra) for key in ("events1", "events2")}
            rows.append(
                Row(kind="events", gid=f"events-{gid}", cells={"study": "Total events", **events})
            )
        return rows

    def prediction_row(self, result: MetaResult) -> Row | None:
        if result.tau2_method is None:
            return None  # a common-effect model's prediction interval is its CI
        pi = result.pi
        cells = {"study": "Prediction interval"}
        if not pi.estimable:
            cells["effect"] = "Not estimable"
            return Row(kind="prediction", gid="prediction", cells=cells)
        return Row(
            kind="prediction",
            gid="prediction",
            cells=cells,
            effect=("", self.interval_text(pi.low, pi.high)),
            estimate=result.estimate,
            low=pi.low,
            high=pi.high,
        )

    def is_not_estimable(self, e: ExcludedStudy) -> bool:
        """Whether ``e`` is one of RevMan's "Not estimable" rows: a study whose data
        were read (and recorded) but give no effect, e.g. a double-zero study."""
        values = e.values
        return values is not None and "not estimable" in e.reason and set(self.arms) <= set(values)

    def excluded_row(self, j: int, e: ExcludedStudy) -> Row:
        """The row of excluded study ``j``: "Not estimable", no weight and no square;
        with its arm data when recorded (a not-estimable study)."""
        cells = {"study": _cell_text(e.label)}
        if self.is_not_estimable(e) and e.values is not None:
            for key in self.arms:
                decimals = self.arm_decimals if key[:-1] in ("mean", "sd") else None
                cells[key] = fmt_data(e.values[key], decimals)
        cells["effect"] = "Not estimable"
        return Row(kind="excluded", gid=f"excluded-{j}", cells=cells)


def _study_rows(
    b: _Builder,
    positions: list[int],
    excluded: Sequence[tuple[int, ExcludedStudy]],
    sort_by: str | Sequence[Any] | None,
) -> list[Row]:
    """The rows of the studies at ``positions`` and of the ``excluded`` studies
    (``(j, study)``, ``j`` its position in ``overall.excluded``): in the order of
    the input (by ``ExcludedStudy.index`` and ``effects.index``), or sorted by
    ``sort_by`` with the excluded studies last."""
    overall = b.overall
    order = _study_order(positions, sort_by, overall.weights, overall.yi)
    studies = [(int(overall.effects.index[i]), b.study_row(i)) for i in order]
    others = [(e.index, b.excluded_row(j, e)) for j, e in excluded]
    if sort_by is None:
        return [row for _, row in sorted(studies + others, key=lambda t: t[0])]
    return [row for _, row in studies + others]


def _check_decimals(name: str, value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not 0 <= value <= MAX_DECIMALS
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter of forest_plot must be an integer from 0 to "
            f"{MAX_DECIMALS}. Got {_short_repr(value)}."
        )
    return int(value)


def _check_group_names(value: object) -> tuple[str, str]:
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, str) for v in value)
    ):
        raise InvalidParameterError(
            "The 'group_names' parameter of forest_plot must be a pair of str, e.g. "
            f"('Experimental', 'Control'). Got {_short_repr(value)}."
        )
    return value[0], value[1]


def forest_content(
    obj: MetaResult | SubgroupResult | LeaveOneOutResult | CumulativeResult,
    *,
    columns: Sequence[str] | None = None,
    decimals: int = 2,
    labels: Sequence[str] | None = None,
    sort_by: str | Sequence[Any] | None = None,
    extra_columns: Mapping[str, Sequence[Any]] | None = None,
    group_names: tuple[str, str] = ("Experimental", "Control"),
    prediction: bool = False,
    show_excluded: bool = True,
    show_not_estimable: bool = True,
    measure_label: str | None = None,
    arm_decimals: int | None = None,
    subtotals_only: bool = False,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    favours: tuple[str | None, str | None] = ("Favours [experimental]", "Favours [control]"),
    higher_is_better: bool = False,
    title: str | None = None,
) -> ForestContent:
    """What the forest plot of ``obj`` shows (the parameters are those of
    :func:`~metapool.forest_plot`; ``favours`` is ``(label_experimental,
    label_control)``)."""
    if isinstance(obj, (LeaveOneOutResult, CumulativeResult)):
        from metapool.plotting.forest._series import series_content

        return series_content(
            obj,
            columns=columns,
            decimals=decimals,
            unsupported={
                "labels": labels,
                "sort_by": sort_by,
                "extra_columns": extra_columns,
                "prediction": prediction,
                "arm_decimals": arm_decimals,
            },
            measure_label=measure_label,
            xlim=xlim,
            xticks=xticks,
            favours=favours,
            higher_is_better=higher_is_better,
            title=title,
        )
    show_total = not subtotals_only
    if isinstance(obj, SubgroupResult):
        overall = obj.overall
    elif isinstance(obj, MetaResult):
        overall = obj
        show_total = True
    else:
        raise MetapoolTypeError(
            "The 'result' parameter of forest_plot must be a MetaResult or a SubgroupResult "
            "(the result of a model's fit() or of subgroup_analysis()), or a LeaveOneOutResult "
            "or a CumulativeResult (of leave_one_out() or cumulative()). "
            f"Got {type(obj).__name__} ({_short_repr(obj)})."
        )
    decimals = _check_decimals("decimals", decimals)
    if arm_decimals is not None:
        arm_decimals = _check_decimals("arm_decimals", arm_decimals)
    if sort_by is not None and not isinstance(sort_by, str):
        sort_by = _check_per_study("sort_by", sort_by, overall.k)
        _check_sort_keys(sort_by, overall)
    group_names = _check_group_names(group_names)
    if measure_label is not None and not isinstance(measure_label, str):
        raise MetapoolTypeError(
            "The 'measure_label' parameter of forest_plot must be a str or None. "
            f"Got {type(measure_label).__name__} ({_short_repr(measure_label)})."
        )
    b = _Builder(
        overall,
        decimals=decimals,
        labels=labels,
        extra_columns=_check_extra(extra_columns),
        arm_decimals=arm_decimals,
    )
    effect_title = (
        measure_label or overall.measure.title,
        method_title(overall.model.weighting, overall.model.random_effects, overall.level),
    )
    cols = _resolve_columns(
        columns,
        list(b.extra),
        b.arm_kind,
        group_names,
        effect_title,
        "Study or Subgroup" if isinstance(obj, SubgroupResult) else "Study",
        frozenset(name for name, values in b.extra.items() if all(map(_is_number, values))),
    )
    b.show_events = any(c.key in ("events1", "events2") for c in cols)
    # The excluded studies shown (j: position in overall.excluded): RevMan's "Not
    # estimable" rows, with their data and counted in the totals, and the others.
    shown = [
        (j, e)
        for j, e in enumerate(overall.excluded)
        if show_excluded and (show_not_estimable or not b.is_not_estimable(e))
    ]
    counted: list[ExcludedStudy] = []  # not-estimable rows drawn, added into the totals
    rows: list[Row] = []
    footers: list[tuple[str, str]] = []
    if isinstance(obj, SubgroupResult):
        member = np.asarray(obj.membership)
        if not show_total:  # subtotals only: weights within each subgroup, as RevMan
            for name, res in obj.results.items():
                b.weights[member == name] = res.weights
        # A not-estimable study goes into its subgroup when that is known (groups
        # given for every study as given); other excluded studies are not shown.
        known = obj.excluded_membership if len(obj.excluded_membership) == len(obj.excluded) else ()
        by_group: dict[str, list[tuple[int, ExcludedStudy]]] = {}
        for j, e in shown:
            group = known[j] if known else None
            if group is not None and b.is_not_estimable(e):
                by_group.setdefault(group, []).append((j, e))
        blocks: list[tuple[str, MetaResult | None]] = list(obj.results.items())
        blocks += [(name, None) for name in by_group if name not in obj.results]
        for g, (name, sub) in enumerate(blocks, start=1):
            positions = [int(i) for i in np.flatnonzero(member == name)]
            extra = by_group.get(name, [])
            counted += [e for _, e in extra]
            rows.append(
                Row(
                    kind="subgroup",
                    gid=f"subgroup-{g}",
                    cells={"study": _cell_text(name)},
                    bold=True,
                )
            )
            rows.extend(_study_rows(b, positions, extra, sort_by))
            rows.extend(
                b.pooled_rows(
                    sub, positions, "Subtotal", f"subgroup-{g}-pooled", [e for _, e in extra]
                )
            )
            notes = (
                (sub.revman_heterogeneity(), sub.revman_overall_effect())
                if sub is not None
                else ("Heterogeneity: Not applicable", "Test for overall effect: Not applicable")
            )
            rows.append(
                Row(kind="note", gid=f"heterogeneity-{g}", cells={"study": tidy_note(notes[0])})
            )
            rows.append(
                Row(kind="note", gid=f"overall-effect-{g}", cells={"study": tidy_note(notes[1])})
            )
            rows.append(Row(kind="blank", gid=f"blank-{g}", height=0.6))
    else:
        counted = [e for _, e in shown if b.is_not_estimable(e)]
        rows.extend(_study_rows(b, list(range(overall.k)), shown, sort_by))
        rows.append(Row(kind="blank", gid="blank-total", height=0.5))
    if show_total:
        rows.extend(b.pooled_rows(overall, list(range(overall.k)), "Total", "total", counted))
        if prediction:
            pi_row = b.prediction_row(overall)
            if pi_row is not None:
                rows.append(pi_row)
        footers.append((tidy_note(overall.revman_heterogeneity()), "heterogeneity-total"))
        footers.append((tidy_note(overall.revman_overall_effect()), "overall-effect-total"))
    if isinstance(obj, SubgroupResult) and show_total:
        test = obj.test
        text = (
            test.revman()
            if test.df >= 1 and math.isfinite(test.statistic)
            else "Test for subgroup differences: Not applicable"
        )
        footers.append((tidy_note(text), "subgroup-differences"))
    axis = b.axis
    limits, ticks = _axis_range(rows, axis, xlim, xticks)
    experimental, control = favours if axis.has_null else (None, None)
    return ForestContent(
        columns=tuple(cols),
        rows=tuple(rows),
        footers=tuple(footers),
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
        level=overall.level,
    )


def _axis_range(
    rows: Sequence[Row],
    axis: EffectAxis,
    xlim: Sequence[float] | None,
    xticks: Sequence[float] | None,
) -> tuple[tuple[float, float], tuple[float, ...]]:
    """Axis limits and ticks (natural scale): given, or covering the rows."""
    owner = "forest_plot"
    limits = check_limits(owner, "xlim", xlim, axis)
    if limits is None:
        study = [r for r in rows if r.kind == "study"]
        pooled = [r for r in rows if r.kind in ("pooled", "prediction")]
        u = axis.u
        estimates = [u(r.estimate) for r in study if r.estimate is not None]
        lows = [u(r.low) for r in study if r.low is not None]
        highs = [u(r.high) for r in study if r.high is not None]
        bounds = [u(v) for r in pooled for v in (r.low, r.high) if v is not None]
        if axis.null is not None:
            extent = extent_of(estimates, lows + highs, bounds, axis.u_of_x(axis.null))
            limits, ticks = forest_ticks(extent, axis.is_log, axis.null)
        else:  # no null to centre on: the range of the data
            low, high = range_of(estimates, lows, highs, bounds)
            limits, ticks = data_ticks(axis.x_of_u(low), axis.x_of_u(high), axis.is_log)
    else:
        ticks = log_ticks(*limits) if axis.is_log else linear_ticks(*limits)
    given = check_ticks(owner, "xticks", xticks, axis)
    if given is not None:
        ticks = given
    tol = 1e-9 * (limits[1] - limits[0])
    return limits, tuple(t for t in ticks if limits[0] - tol <= t <= limits[1] + tol)
