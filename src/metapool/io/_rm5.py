"""RevMan 5 review files (``.rm5``, XML).

The subset read (the elements and attributes R's ``meta::read.rm5`` reads):

* ``COCHRANE_REVIEW`` (the root; ``ID``/``REVIEW_NO``, ``DOI``), its
  ``COVER_SHEET/TITLE``;
* every ``STUDY`` element (``ID``, ``NAME``, ``YEAR``), to name the studies;
* ``ANALYSES_AND_DATA/COMPARISON`` (``NO``, child ``NAME``) and in each the
  outcomes ``DICH_OUTCOME``, ``CONT_OUTCOME``, ``IV_OUTCOME`` (generic inverse
  variance) and ``IPD_OUTCOME`` (O − E and variance), with ``NO``, ``NAME``,
  ``EFFECT_MEASURE``, ``METHOD`` (``"MH"``, ``"IV"``, ``"PETO"``; also spelled
  ``STATISTICAL_METHOD``), ``RANDOM`` (``"YES"``/``"NO"``), ``CI_STUDY`` and
  ``CI_TOTAL`` (percent), ``TOTALS`` (``"YES"``, ``"SUB"``, ``"NO"``),
  ``SUBGROUPS``, ``SWAP_EVENTS`` and ``LOG_DATA``;
* their rows, directly or inside ``DICH_SUBGROUP``/``CONT_SUBGROUP``/
  ``IV_SUBGROUP``/``IPD_SUBGROUP`` (child ``NAME``): ``DICH_DATA`` (``EVENTS_1``,
  ``TOTAL_1``, ``EVENTS_2``, ``TOTAL_2``), ``CONT_DATA`` (``MEAN_1``, ``SD_1``,
  ``TOTAL_1``, ``MEAN_2``, ``SD_2``, ``TOTAL_2``), ``IV_DATA`` (``EFFECT_SIZE``
  on the analysis scale, ``SE``) and ``IPD_DATA`` (``O_E``, ``VAR``), each with
  ``STUDY_ID`` and the printed ``EFFECT_SIZE`` (dichotomous and continuous rows),
  ``CI_START``, ``CI_END`` and ``WEIGHT``.

Everything else (text sections, characteristics of studies, risk-of-bias tables,
footnotes, ``OTHER_OUTCOME`` tables without numbers) is not read.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, NoReturn
from xml.parsers import expat

import numpy as np

from metapool.exceptions import InvalidDataError
from metapool.io._analysis import Analysis, AnalysisMethod, Review

__all__ = ["read_rm5"]

# outcome tag -> (data type, subgroup tag, row tag, data attributes -> Analysis fields)
_OUTCOMES: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "DICH_OUTCOME": (
        "dichotomous",
        "DICH_SUBGROUP",
        "DICH_DATA",
        {"EVENTS_1": "events1", "TOTAL_1": "n1", "EVENTS_2": "events2", "TOTAL_2": "n2"},
    ),
    "CONT_OUTCOME": (
        "continuous",
        "CONT_SUBGROUP",
        "CONT_DATA",
        {
            "MEAN_1": "mean1",
            "SD_1": "sd1",
            "TOTAL_1": "n1",
            "MEAN_2": "mean2",
            "SD_2": "sd2",
            "TOTAL_2": "n2",
        },
    ),
    "IV_OUTCOME": (
        "generic",
        "IV_SUBGROUP",
        "IV_DATA",
        {"EFFECT_SIZE": "giv_mean", "SE": "giv_se"},
    ),
    "IPD_OUTCOME": ("o-e", "IPD_SUBGROUP", "IPD_DATA", {"O_E": "o_e", "VAR": "variance"}),
}
_OPTIONAL_TOTALS = {"TOTAL_1": "n1", "TOTAL_2": "n2"}
_MEASURES = {
    "dichotomous": ("RR", "OR", "RD", "PETO_OR"),
    "continuous": ("MD", "SMD"),
}
_METHODS = {
    "dichotomous": ("MH", "IV", "PETO"),
    "continuous": ("IV",),
    "generic": ("IV",),
    "o-e": ("PETO", "IV"),
}
_FIELDS = (
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


def _refuse_declarations(source: str, data: bytes) -> None:
    """Scan with expat and refuse DOCTYPE and ENTITY declarations (XML bombs,
    external entities) before ElementTree builds anything."""

    def refuse(*_: Any) -> NoReturn:
        raise InvalidDataError(
            f"{source}, line {scanner.CurrentLineNumber}: the file declares a DOCTYPE or an "
            "ENTITY; RevMan 5 files have neither, and metapool does not read XML with "
            "declarations (they can expand without bound)."
        )

    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = refuse
    scanner.EntityDeclHandler = refuse
    try:
        scanner.Parse(data, True)
    except expat.ExpatError as exc:
        raise InvalidDataError(
            f"{source}, line {exc.lineno}, column {exc.offset + 1}: not a RevMan 5 file: the "
            f"XML is not well formed ({expat.ErrorString(exc.code)})."
        ) from None


def read_rm5(path: str | os.PathLike[str]) -> Review:
    """Read a RevMan 5 review file (``.rm5``).

    Parameters
    ----------
    path : str or path-like
        The ``.rm5`` file (XML).

    Returns
    -------
    Review
        Its analyses carry the review's own method (:class:`AnalysisMethod`:
        statistical method, effect measure, fixed or random effects, confidence
        levels, totals), so that ``analysis.fit()`` pools as the review did.

    Raises
    ------
    InvalidDataError
        For a file that is not RevMan 5 XML (not well-formed XML, with the line;
        another root element; a DOCTYPE or ENTITY declaration, refused as a
        guard against XML bombs), and for an element that is not what it
        claims, named by its tag and ``ID`` (or ``STUDY_ID`` and position): a
        missing or non-numeric attribute, an effect measure or method that does
        not fit the outcome's data type, a ``RANDOM`` other than ``YES``/``NO``,
        a row of another data type, or a ``STUDY_ID`` that names no study.

    Notes
    -----
    The elements and attributes read are listed in the module's documentation
    (:doc:`/howto/cochrane_data`). With ``SWAP_EVENTS="YES"`` the non-events
    are stored as the events, as RevMan analyses them. Generic inverse-variance
    effects (``IV_DATA EFFECT_SIZE``) are taken on the analysis scale (logs for
    ratio measures); with ``LOG_DATA="NO"`` on a ratio measure they are logged.

    Examples
    --------
    >>> import metapool as mp
    >>> review = mp.io.read_rm5("CD000028.rm5")  # doctest: +SKIP
    >>> review.analysis(1, 1).fit()  # the review's own method  # doctest: +SKIP
    """
    source = os.fspath(path)
    data = Path(source).read_bytes()
    _refuse_declarations(source, data)
    root = ET.fromstring(data)
    if root.tag != "COCHRANE_REVIEW":
        raise InvalidDataError(
            f"{source}: not a RevMan 5 file: the root element is <{root.tag}>, "
            "expected <COCHRANE_REVIEW>."
        )
    studies: dict[str, tuple[str, str | None]] = {}
    for study in root.iter("STUDY"):
        sid = study.get("ID")
        if sid is None:
            continue
        studies[sid] = (study.get("NAME") or sid, study.get("YEAR") or None)
    title = root.findtext("COVER_SHEET/TITLE")
    analyses: list[Analysis] = []
    review_id = root.get("ID") or root.get("REVIEW_NO")
    for c_pos, comparison in enumerate(root.iter("COMPARISON"), start=1):
        where = _name(comparison, c_pos)
        c_no = _int(source, comparison, where, "NO")
        c_name = (comparison.findtext("NAME") or "").strip() or None
        o_pos = 0
        for outcome in comparison:
            if outcome.tag not in _OUTCOMES:
                continue
            o_pos += 1
            analyses.append(_outcome(source, review_id, c_no, c_name, outcome, o_pos, studies))
    return Review(
        source=source,
        id=review_id,
        doi=root.get("DOI") or None,
        title=title.strip() if title else None,
        analyses=tuple(analyses),
    )


def _name(element: ET.Element, position: int) -> str:
    for attr in ("ID", "STUDY_ID"):
        if element.get(attr):
            return f"<{element.tag} {attr}={element.get(attr)!r}>"
    return f"<{element.tag}> number {position}"


def _fail(source: str, where: str, message: str) -> NoReturn:
    raise InvalidDataError(f"{source}, element {where}: {message}")


def _attr(source: str, element: ET.Element, where: str, name: str) -> str:
    value = element.get(name)
    if value is None or not value.strip():
        _fail(source, where, f"the attribute {name} is missing.")
    return value.strip()


def _number(source: str, element: ET.Element, where: str, name: str, required: bool) -> float:
    value = element.get(name)
    if value is None or not value.strip():
        if required:
            _fail(source, where, f"the attribute {name} is missing.")
        return math.nan
    try:
        return float(value)
    except ValueError:
        _fail(source, where, f"the attribute {name} must be a number. Got {value!r}.")


def _int(source: str, element: ET.Element, where: str, name: str) -> int:
    value = _number(source, element, where, name, True)
    if not (math.isfinite(value) and value == int(value)):
        _fail(source, where, f"the attribute {name} must be an integer. Got {element.get(name)!r}.")
    return int(value)


def _flag(source: str, element: ET.Element, where: str, name: str, default: bool) -> bool:
    value = element.get(name)
    if value is None:
        return default
    if value.upper() not in ("YES", "NO"):
        _fail(source, where, f"the attribute {name} must be 'YES' or 'NO'. Got {value!r}.")
    return value.upper() == "YES"


def _level(source: str, element: ET.Element, where: str, name: str) -> float:
    value = _number(source, element, where, name, False)
    if math.isnan(value):
        return 0.95
    if not 0 < value < 100:
        _fail(
            source,
            where,
            f"the attribute {name} must be a percentage in (0, 100). Got {element.get(name)!r}.",
        )
    return value / 100


def _method(source: str, outcome: ET.Element, where: str, data_type: str) -> AnalysisMethod:
    measure = _attr(source, outcome, where, "EFFECT_MEASURE").upper()
    allowed = _MEASURES.get(data_type)
    if allowed is not None and measure not in allowed:
        _fail(
            source,
            where,
            f"EFFECT_MEASURE must be one of {', '.join(allowed)} for "
            f"{data_type} data. Got {measure!r}.",
        )
    method = outcome.get("METHOD") or outcome.get("STATISTICAL_METHOD")
    if method is None or not method.strip():
        _fail(source, where, "the attribute METHOD is missing.")
    method = method.strip().upper()
    if method not in _METHODS[data_type]:
        _fail(
            source,
            where,
            f"METHOD must be one of {', '.join(_METHODS[data_type])} for "
            f"{data_type} data. Got {method!r}.",
        )
    if (method == "PETO") != (measure == "PETO_OR") and data_type == "dichotomous":
        _fail(
            source,
            where,
            f"METHOD {method!r} does not fit EFFECT_MEASURE {measure!r} "
            "(Peto's method goes with the Peto odds ratio).",
        )
    totals = (outcome.get("TOTALS") or "YES").upper()
    if totals not in ("YES", "SUB", "NO"):
        _fail(source, where, f"the attribute TOTALS must be 'YES', 'SUB' or 'NO'. Got {totals!r}.")
    log_data = outcome.get("LOG_DATA")
    return AnalysisMethod(
        statistical_method=method,
        effect_measure=measure,
        random=_flag(source, outcome, where, "RANDOM", False),
        level_study=_level(source, outcome, where, "CI_STUDY"),
        level_total=_level(source, outcome, where, "CI_TOTAL"),
        totals=totals,
        subgroups=_flag(source, outcome, where, "SUBGROUPS", False),
        swap_events=_flag(source, outcome, where, "SWAP_EVENTS", False),
        log_data=None if log_data is None else _flag(source, outcome, where, "LOG_DATA", True),
    )


def _outcome(
    source: str,
    review_id: str | None,
    c_no: int,
    c_name: str | None,
    outcome: ET.Element,
    position: int,
    studies: dict[str, tuple[str, str | None]],
) -> Analysis:
    where = _name(outcome, position)
    data_type, sub_tag, row_tag, columns = _OUTCOMES[outcome.tag]
    number = _int(source, outcome, where, "NO")
    method = _method(source, outcome, where, data_type)
    rows: list[tuple[ET.Element, str | None, str]] = []
    subgroups: list[str] = []
    data_tags = {spec[2] for spec in _OUTCOMES.values()}
    sub_tags = {spec[1] for spec in _OUTCOMES.values()}

    def take(parent: ET.Element, parent_where: str, subgroup: str | None) -> None:
        for i, child in enumerate(parent, start=1):
            if child.tag in data_tags:
                if child.tag != row_tag:
                    _fail(
                        source,
                        f"{_name(child, i)} in {parent_where}",
                        f"a <{child.tag}> row in a <{outcome.tag}>; expected <{row_tag}>.",
                    )
                rows.append((child, subgroup, f"{_name(child, i)} in {parent_where}"))
            elif child.tag in sub_tags and subgroup is None:
                if child.tag != sub_tag:
                    _fail(
                        source,
                        f"{_name(child, i)} in {parent_where}",
                        f"a <{child.tag}> in a <{outcome.tag}>; expected <{sub_tag}>.",
                    )
                name = (child.findtext("NAME") or "").strip() or f"Subgroup {len(subgroups) + 1}"
                subgroups.append(name)
                take(child, _name(child, i), name)

    take(outcome, where, None)
    values: dict[str, list[float]] = {f: [] for f in _FIELDS}
    labels: list[str] = []
    years: list[str | None] = []
    for row, _, row_where in rows:
        sid = _attr(source, row, row_where, "STUDY_ID")
        if sid not in studies:
            _fail(source, row_where, f"STUDY_ID {sid!r} names no <STUDY> of the review.")
        label, year = studies[sid]
        labels.append(label)
        years.append(year)
        filled = set()
        for attr, field in columns.items():
            values[field].append(_number(source, row, row_where, attr, True))
            filled.add(field)
        for attr, field in _OPTIONAL_TOTALS.items():
            if field not in filled:
                values[field].append(_number(source, row, row_where, attr, False))
                filled.add(field)
        printed_effect = (
            _number(source, row, row_where, "EFFECT_SIZE", False)
            if data_type in ("dichotomous", "continuous")
            else math.nan
        )
        for field, value in (
            ("printed_effect", printed_effect),
            ("printed_ci_low", _number(source, row, row_where, "CI_START", False)),
            ("printed_ci_high", _number(source, row, row_where, "CI_END", False)),
            ("printed_weight", _number(source, row, row_where, "WEIGHT", False)),
        ):
            values[field].append(value)
            filled.add(field)
        for field in _FIELDS:
            if field not in filled:
                values[field].append(math.nan)
    arrays: dict[str, Any] = {f: np.asarray(v, dtype=np.float64) for f, v in values.items()}
    if method.swap_events:
        arrays["events1"] = arrays["n1"] - arrays["events1"]
        arrays["events2"] = arrays["n2"] - arrays["events2"]
    k = len(rows)
    return Analysis(
        source=source,
        review_id=review_id,
        group=c_no,
        number=number,
        name=(outcome.findtext("NAME") or "").strip(),
        comparison=c_name,
        data_type=data_type,
        method=method,
        labels=tuple(labels),
        years=tuple(years),
        subgroup=tuple(sub for _, sub, _ in rows),
        subgroups=tuple(subgroups),
        applicability=("SUBGROUP_AND_OVERALL",) * k,
        footnotes=(None,) * k,
        **arrays,
    )
