"""The Cochrane Library's "Data and analyses" CSV export of a review.

The export has one row per study of each analysis; its headers have spaces
("Analysis group", "Experimental cases"). R's ``read.csv`` turns them into dotted
names ("Analysis.group"), which is how collections such as ``pairwise70.csv``
spell them; both are accepted (headers are compared with every run of
non-alphanumeric characters read as one separator, ignoring case). A file may hold
many reviews when it has a ``review`` column (and ``review_doi``).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from metapool.exceptions import InvalidDataError
from metapool.io._analysis import Analysis, Review

__all__ = ["read_cochrane_csv"]

# canonical key -> (field name, export header)
_COLUMNS: dict[str, tuple[str, str]] = {
    "review": ("review", "review"),
    "review.doi": ("review_doi", "review_doi"),
    "analysis.group": ("group", "Analysis group"),
    "analysis.number": ("number", "Analysis number"),
    "analysis.name": ("name", "Analysis name"),
    "subgroup": ("subgroup", "Subgroup"),
    "subgroup.number": ("subgroup_number", "Subgroup number"),
    "applicability": ("applicability", "Applicability"),
    "study": ("study", "Study"),
    "study.year": ("year", "Study year"),
    "giv.mean": ("giv_mean", "GIV Mean"),
    "giv.se": ("giv_se", "GIV SE"),
    "experimental.mean": ("mean1", "Experimental mean"),
    "experimental.sd": ("sd1", "Experimental SD"),
    "experimental.cases": ("events1", "Experimental cases"),
    "experimental.n": ("n1", "Experimental N"),
    "control.mean": ("mean2", "Control mean"),
    "control.sd": ("sd2", "Control SD"),
    "control.cases": ("events2", "Control cases"),
    "control.n": ("n2", "Control N"),
    "o.e": ("o_e", "O-E"),
    "variance": ("variance", "Variance"),
    "weight": ("printed_weight", "Weight"),
    "mean": ("printed_effect", "Mean"),
    "ci.start": ("printed_ci_low", "CI start"),
    "ci.end": ("printed_ci_high", "CI end"),
    "footnotes": ("footnotes", "Footnotes"),
}
_REQUIRED = ("analysis.group", "analysis.number", "analysis.name", "study")
_NUMERIC = (
    "events1",
    "n1",
    "events2",
    "n2",
    "mean1",
    "sd1",
    "mean2",
    "sd2",
    "giv_mean",
    "giv_se",
    "o_e",
    "variance",
    "printed_effect",
    "printed_ci_low",
    "printed_ci_high",
    "printed_weight",
)
_TEXT = ("subgroup", "applicability", "year", "footnotes")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def _key(header: str) -> str:
    return _SEPARATORS.sub(".", header.strip().lstrip("\ufeff").lower()).strip(".")


def _is_bias(key: str) -> bool:
    return key.startswith("bias.") or key == "overall.bias"


class _Builder:
    """The rows of one analysis, collected as text until the file is read."""

    __slots__ = ("group", "lines", "name", "number", "review", "rows")

    def __init__(self, review: str | None, group: int, number: int, name: str) -> None:
        self.review, self.group, self.number, self.name = review, group, number, name
        self.rows: list[list[str]] = []
        self.lines: list[int] = []


def read_cochrane_csv(path: str | os.PathLike[str]) -> tuple[Review, ...]:
    """Read the Cochrane Library "Data and analyses" CSV export of one or many reviews.

    Parameters
    ----------
    path : str or path-like
        The CSV file: the export's headers with spaces ("Analysis group") or
        with dots ("Analysis.group", as R writes them). Columns the export may
        lack (e.g. ``Subgroup``, ``Footnotes``, the risk-of-bias domains) are
        optional; ``Analysis group``, ``Analysis number``, ``Analysis name`` and
        ``Study`` are required.

    Returns
    -------
    tuple of Review
        One per review, in the file's order: one for the Cochrane Library's
        export; one per value of the ``review`` column for collections such as
        ``pairwise70.csv`` (with ``review_doi`` as the DOI).
        Use ``(review,) = read_cochrane_csv(path)`` for a single review.

    Raises
    ------
    InvalidDataError
        Naming the file, the line and the column: for a file that is not such an
        export (not UTF-8 text, no header, none of the export's columns), a
        missing required column, a row with a different number of cells than the
        header, a non-numeric cell in a numeric column, or an analysis number
        that is not an integer.

    Notes
    -----
    The export does not record the effect measure or the pooling method;
    :meth:`Analysis.infer_measure` guesses the measure from the printed numbers.
    The data type of each analysis follows from which columns hold data (some
    exports fill the unused columns with 0): O − E where an ``O-E`` value is not
    0; continuous where an SD is positive; dichotomous where an arm has events;
    generic inverse variance where an SE is positive; dichotomous otherwise.

    Examples
    --------
    >>> import metapool as mp
    >>> (review,) = mp.io.read_cochrane_csv("CD000028-data.csv")  # doctest: +SKIP
    >>> analysis = review.analysis(1, 1)  # doctest: +SKIP
    >>> analysis.fit(mp.MantelHaenszel(convention="revman5"), measure="RR")  # doctest: +SKIP
    """
    source = os.fspath(path)
    try:
        with Path(source).open(encoding="utf-8-sig", newline="") as handle:
            return _read(source, csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise InvalidDataError(
            f"{source} is not a Cochrane 'Data and analyses' CSV export: it is not UTF-8 "
            f"text (byte {exc.start} cannot be decoded)."
        ) from None
    except csv.Error as exc:
        raise InvalidDataError(
            f"{source} is not a Cochrane 'Data and analyses' CSV export: {exc}."
        ) from None


def _header(source: str, reader: Iterator[list[str]]) -> tuple[dict[str, int], list[str]]:
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise InvalidDataError(
            f"{source}, line 1: not a Cochrane 'Data and analyses' CSV export: the file is empty."
        )
    positions: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _key(cell)
        if key in positions:
            raise InvalidDataError(
                f"{source}, line 1, column {cell!r}: the column appears twice in the header."
            )
        positions[key] = i
    known = [k for k in positions if k in _COLUMNS]
    if len(known) < 2:
        raise InvalidDataError(
            f"{source}, line 1: not a Cochrane 'Data and analyses' CSV export: expected "
            "columns such as 'Analysis group', 'Analysis number', 'Study', 'Experimental "
            f"cases'; the header has {', '.join(repr(c) for c in header[:6])}"
            f"{', ...' if len(header) > 6 else ''}."
        )
    for key in _REQUIRED:
        if key not in positions:
            raise InvalidDataError(
                f"{source}, line 1, column {_COLUMNS[key][1]!r}: a required column is missing "
                f"(expected {_COLUMNS[key][1]!r} or {_COLUMNS[key][1].replace(' ', '.')!r})."
            )
    return positions, header


def _read(source: str, reader: Any) -> tuple[Review, ...]:
    positions, header = _header(source, reader)
    width = len(header)
    g_pos, n_pos = positions["analysis.group"], positions["analysis.number"]
    name_pos = positions["analysis.name"]
    rev_pos = positions.get("review")
    doi_pos = positions.get("review.doi")
    builders: dict[tuple[str | None, int, int], _Builder] = {}
    dois: dict[str | None, str | None] = {}
    for row in reader:
        line = reader.line_num
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            raise InvalidDataError(
                f"{source}, line {line}: the row has {len(row)} cells; the header has {width}."
            )
        review = row[rev_pos].strip() or None if rev_pos is not None else None
        if review not in dois:
            dois[review] = (row[doi_pos].strip() or None) if doi_pos is not None else None
        group = _integer(source, line, header[g_pos], row[g_pos])
        number = _integer(source, line, header[n_pos], row[n_pos])
        key = (review, group, number)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = _Builder(review, group, number, row[name_pos].strip())
        builder.rows.append(row)
        builder.lines.append(line)

    analyses: dict[str | None, list[Analysis]] = {r: [] for r in dois}
    for builder in builders.values():
        analyses[builder.review].append(_analysis(source, positions, header, builder))
    return tuple(
        Review(source=source, id=r, doi=dois[r], analyses=tuple(analyses[r])) for r in dois
    )


def _integer(source: str, line: int, column: str, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value == int(value)):
        raise InvalidDataError(
            f"{source}, line {line}, column {column!r}: expected an integer. Got {text!r}."
        )
    return int(value)


def _analysis(
    source: str, positions: dict[str, int], header: list[str], builder: _Builder
) -> Analysis:
    rows = builder.rows

    def text(key: str) -> list[str | None]:
        pos = positions.get(key)
        if pos is None:
            return [None] * len(rows)
        return [row[pos].strip() or None for row in rows]

    numbers: dict[str, Any] = {}
    for key, (field, _) in _COLUMNS.items():
        if field not in _NUMERIC:
            continue
        pos = positions.get(key)
        if pos is None:
            numbers[field] = np.full(len(rows), np.nan)
            continue
        values = []
        for row, line in zip(rows, builder.lines, strict=True):
            cell = row[pos].strip()
            if not cell or cell == "NA":
                values.append(math.nan)
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise InvalidDataError(
                    f"{source}, line {line}, column {header[pos]!r}: expected a number. "
                    f"Got {cell!r}."
                ) from None
        numbers[field] = np.asarray(values, dtype=np.float64)

    subgroup = text("subgroup")
    subgroups = tuple(dict.fromkeys(s for s in subgroup if s is not None))
    labels = tuple(row[positions["study"]].strip() for row in rows)
    applicability = tuple(a or "SUBGROUP_AND_OVERALL" for a in text("applicability"))
    bias = {
        header[pos].replace(".", " ").strip(): tuple(row[pos].strip() or None for row in rows)
        for key, pos in positions.items()
        if _is_bias(key)
    }
    risk_of_bias = {k: v for k, v in bias.items() if any(x is not None for x in v)}
    return Analysis(
        source=source,
        review_id=builder.review,
        group=builder.group,
        number=builder.number,
        name=builder.name,
        data_type=_data_type(numbers),
        labels=labels,
        years=tuple(text("study.year")),
        subgroup=tuple(subgroup),
        subgroups=subgroups,
        applicability=applicability,
        footnotes=tuple(text("footnotes")),
        risk_of_bias=risk_of_bias,
        **numbers,
    )


def _data_type(x: dict[str, Any]) -> str:
    with np.errstate(invalid="ignore"):
        if np.any(np.nan_to_num(x["o_e"]) != 0):
            return "o-e"
        if np.any((x["sd1"] > 0) | (x["sd2"] > 0)):
            return "continuous"
        if np.any((x["events1"] > 0) | (x["events2"] > 0)):
            return "dichotomous"
        if np.any(x["giv_se"] > 0):
            return "generic"
    return "dichotomous"
