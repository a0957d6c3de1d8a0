"""What a risk-of-bias figure shows: the judgements read from a table, checked
against the tool, with the domains' short labels (D1, D2, ...) and titles."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from metapool._validation import study_name
from metapool.exceptions import InvalidDataError, InvalidParameterError, MetapoolTypeError
from metapool.plotting._checks import short_repr
from metapool.plotting.rob._tools import RobTool, normalise

__all__ = ["RobTable", "read_judgements", "summary_shares"]

_SHORT = re.compile(r"^d\s*(\d+)$")
_STUDY_NAMES = ("study", "studies", "study id", "study label", "author year", "trial")
_MISSING = ("", "na", "nan", "none", "not reported")


@attrs.frozen(kw_only=True)
class RobTable:
    """Judgements of ``studies`` (rows) in ``domains`` (columns, the overall one last).

    ``cells[i][j]`` is the tool's judgement of study ``i`` in domain ``j``, or
    None where the table has none (drawn as an empty cell).
    """

    tool: RobTool
    studies: tuple[str, ...]
    domains: tuple[str, ...]
    short: tuple[str, ...]
    has_overall: bool
    cells: tuple[tuple[str | None, ...], ...]


def _columns(owner: str, judgements: object) -> tuple[dict[str, list[Any]], list[Any] | None]:
    """The table's columns, and the pandas index (None for a mapping)."""
    if isinstance(judgements, Mapping):
        cols: dict[str, list[Any]] = {}
        for name, values in judgements.items():
            if not isinstance(name, str):
                raise MetapoolTypeError(
                    f"The 'judgements' parameter of {owner} must have str column names. "
                    f"Got {short_repr(name)}."
                )
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                raise MetapoolTypeError(
                    f"The 'judgements' parameter of {owner}: column {name!r} must be a sequence "
                    f"(one judgement per study). Got {short_repr(values)}."
                )
            cols[name] = list(values)
        return cols, None
    if hasattr(judgements, "columns") and hasattr(judgements, "index"):  # a DataFrame
        frame: Any = judgements
        return {str(c): list(frame[c]) for c in frame.columns}, [str(i) for i in frame.index]
    raise MetapoolTypeError(
        f"The 'judgements' parameter of {owner} must be a mapping of column name to "
        f"judgements (one per study) or a pandas DataFrame. Got {type(judgements).__name__} "
        f"({short_repr(judgements)})."
    )


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _MISSING


def read_judgements(
    owner: str,
    judgements: object,
    tool: RobTool,
    *,
    study: str | None,
    domains: Sequence[str] | None,
    overall: str | None,
) -> RobTable:
    """Check and read a table of judgements (see :func:`~metapool.rob_traffic_light`)."""
    cols, index = _columns(owner, judgements)
    if not cols:
        raise InvalidDataError(f"The 'judgements' parameter of {owner} has no columns.")
    lengths = {name: len(v) for name, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidDataError(
            f"The 'judgements' parameter of {owner} must have columns of one length "
            f"(one entry per study). Got lengths {lengths}."
        )
    # the study column
    if study is None:
        study = next((c for c in cols if normalise(c) in _STUDY_NAMES), None)
    elif study not in cols:
        raise InvalidParameterError(
            f"The 'study' parameter of {owner} must name a column of the table "
            f"({', '.join(map(repr, cols))}). Got {study!r}."
        )
    if study is not None:
        studies = [str(s) for s in cols[study]]
    elif index is not None:
        studies = index
    else:
        raise InvalidParameterError(
            f"The 'study' parameter of {owner} is needed: the table has no column named "
            f"'Study' ({', '.join(map(repr, cols))})."
        )
    if not studies:
        raise InvalidDataError(f"The 'judgements' parameter of {owner} has no studies (rows).")
    # the overall column
    if overall is None:
        overall = next((c for c in cols if c != study and "overall" in normalise(c)), None)
    elif overall not in cols:
        raise InvalidParameterError(
            f"The 'overall' parameter of {owner} must name a column of the table "
            f"({', '.join(map(repr, cols))}). Got {overall!r}."
        )
    # the domain columns
    if domains is None:
        names = [c for c in cols if c not in (study, overall) and normalise(c) != "weight"]
    else:
        if isinstance(domains, str) or not isinstance(domains, Sequence):
            raise MetapoolTypeError(
                f"The 'domains' parameter of {owner} must be a sequence of column names. "
                f"Got {short_repr(domains)}."
            )
        names = list(domains)
        for name in names:
            if name not in cols:
                raise InvalidParameterError(
                    f"The 'domains' parameter of {owner} names {name!r}, which is not a column "
                    f"of the table ({', '.join(map(repr, cols))})."
                )
    if not names and overall is None:
        raise InvalidDataError(
            f"The 'judgements' parameter of {owner} has no domain columns besides {study!r}."
        )
    short, titles = _labels(names, tool)
    if overall is not None:
        names.append(overall)
        short.append("Overall")
        titles.append("Overall")
    cells: list[tuple[str | None, ...]] = []
    for i, label in enumerate(studies):
        row: list[str | None] = []
        for name in names:
            value = cols[name][i]
            if _is_missing(value):
                row.append(None)
                continue
            judgement = tool.judgement(str(value)) if isinstance(value, str) else None
            if judgement is None:
                raise InvalidDataError(
                    f"The 'judgements' parameter of {owner}: {study_name(i, label)}, domain "
                    f"{name!r}: {short_repr(value)} is not a {tool.name} judgement "
                    f"({', '.join(map(repr, tool.judgements))})."
                )
            row.append(judgement)
        cells.append(tuple(row))
    return RobTable(
        tool=tool,
        studies=tuple(studies),
        domains=tuple(titles),
        short=tuple(short),
        has_overall=overall is not None,
        cells=tuple(cells),
    )


def _labels(names: list[str], tool: RobTool) -> tuple[list[str], list[str]]:
    """Short labels (D1, ...) and titles of the domain columns: a column named as
    one of the tool's domains (or ``D3``) gets that domain's number and title;
    others are numbered by position and titled by their name."""
    known = {normalise(d): i for i, d in enumerate(tool.domains)}
    short, titles = [], []
    for pos, name in enumerate(names):
        key = normalise(name)
        number = known.get(key)
        match = _SHORT.match(key)
        if number is None and match is not None:
            n = int(match.group(1)) - 1
            if 0 <= n < len(tool.domains):
                number = n
        if number is None:
            short.append(f"D{pos + 1}")
            titles.append(name)
        else:
            short.append(f"D{number + 1}")
            titles.append(tool.domains[number])
    return short, titles


def summary_shares(
    table: RobTable, weights: Any
) -> tuple[tuple[str, ...], np.ndarray[Any, np.dtype[np.float64]]]:
    """Per domain, the share (percent) of studies (or of weight) at each judgement.

    Returns the categories (the tool's judgements, then "Not reported" when some
    cells are empty) and an array (domains x categories) whose rows sum to 100.
    """
    w = np.ones(len(table.studies)) if weights is None else weights
    present = {c for row in table.cells for c in row}
    categories = [
        j for j in table.tool.judgements if j in present or normalise(j) != "no information"
    ]
    if any(c is None for row in table.cells for c in row):
        categories.append("Not reported")
    shares = np.zeros((len(table.domains), len(categories)))
    for i, row in enumerate(table.cells):
        for j, cell in enumerate(row):
            shares[j, categories.index("Not reported" if cell is None else cell)] += w[i]
    totals = shares.sum(axis=1, keepdims=True)
    return tuple(categories), np.asarray(100.0 * shares / totals, dtype=np.float64)
