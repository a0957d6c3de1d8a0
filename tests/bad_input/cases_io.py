"""Bad-input cases for metapool.io: files that are not what they claim.

Each case writes its file to a fresh temporary folder and reads it; the error must
name the file, and the line and column (CSV) or the element (RevMan 5).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import metapool as mp
from metapool.exceptions import InvalidDataError, InvalidParameterError
from tests.bad_input._catalogue import Case

_HEADER = "Analysis group,Analysis number,Analysis name,Study,Experimental cases,Experimental N,"
_HEADER += "Control cases,Control N,Mean\n"
_GOOD_ROW = "1,1,Mortality,Alpha 2001,12,100,20,100,0.6\n"


def _read(reader: Callable[[Path], Any], name: str, content: str | bytes) -> Callable[[], Any]:
    def run() -> Any:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            return reader(path)

    return run


def _csv(content: str | bytes) -> Callable[[], Any]:
    return _read(mp.io.read_cochrane_csv, "export.csv", content)


def _rm5(body: str, studies: str = '<STUDY ID="STD-A" NAME="Alpha 2001" YEAR="2001"/>') -> Any:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<COCHRANE_REVIEW ID="R1">\n'
        f"<STUDIES>{studies}</STUDIES>\n<ANALYSES_AND_DATA>\n"
        f'<COMPARISON ID="CMP-001" NO="1"><NAME>A vs B</NAME>\n{body}\n</COMPARISON>\n'
        "</ANALYSES_AND_DATA>\n</COCHRANE_REVIEW>\n"
    )
    return _read(mp.io.read_rm5, "review.rm5", text)


_DICH = (
    '<DICH_OUTCOME EFFECT_MEASURE="{measure}" ID="CMP-001.01" METHOD="{method}" NO="1" '
    'RANDOM="{random}"><NAME>Deaths</NAME>{rows}</DICH_OUTCOME>'
)
_ROW = '<DICH_DATA EVENTS_1="{e1}" EVENTS_2="3" STUDY_ID="{sid}" TOTAL_1="20" TOTAL_2="20"/>'


def _dich(
    measure: str = "RR",
    method: str = "MH",
    random: str = "NO",
    e1: str = "2",
    sid: str = "STD-A",
    rows: str | None = None,
) -> str:
    row = _ROW.format(e1=e1, sid=sid) if rows is None else rows
    return _DICH.format(measure=measure, method=method, random=random, rows=row)


def _fit_csv_without_model() -> Any:
    (review,) = _csv(_HEADER + _GOOD_ROW)()
    return review.analyses[0].fit()


def _wrong_measure_for_data() -> Any:
    (review,) = _csv(_HEADER + _GOOD_ROW)()
    return review.analyses[0].effects("SMD")


def _unknown_subgroup() -> Any:
    (review,) = _csv(_HEADER + _GOOD_ROW)()
    return review.analyses[0].effects("RR", subgroup="Adults")


CASES = [
    Case(
        "io-csv-empty-file",
        _csv(""),
        raises=InvalidDataError,
        names=("export.csv", "line 1", "empty"),
    ),
    Case(
        "io-csv-not-an-export",
        _csv("name,age\nAnn,34\n"),
        raises=InvalidDataError,
        names=("export.csv", "line 1", "not a Cochrane", "'name'"),
    ),
    Case(
        "io-csv-missing-required-column",
        _csv(_HEADER.replace("Study,", "Trial,") + _GOOD_ROW),
        raises=InvalidDataError,
        names=("export.csv", "line 1", "'Study'", "required column"),
    ),
    Case(
        "io-csv-non-numeric-cell",
        _csv(_HEADER + _GOOD_ROW + "1,1,Mortality,Beta 2003,twelve,50,9,48,\n"),
        raises=InvalidDataError,
        names=("export.csv", "line 3", "'Experimental cases'", "'twelve'"),
    ),
    Case(
        "io-csv-non-integer-analysis-number",
        _csv(_HEADER + "1,1.5,Mortality,Alpha 2001,12,100,20,100,0.6\n"),
        raises=InvalidDataError,
        names=("export.csv", "line 2", "'Analysis number'", "'1.5'"),
    ),
    Case(
        "io-csv-short-row",
        _csv(_HEADER + "1,1,Mortality,Alpha 2001,12\n"),
        raises=InvalidDataError,
        names=("export.csv", "line 2", "5 cells", "header has 9"),
    ),
    Case(
        "io-csv-not-utf8",
        _csv(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"),
        raises=InvalidDataError,
        names=("export.csv", "not UTF-8"),
    ),
    Case(
        "io-csv-duplicate-column",
        _csv(_HEADER.replace("Mean\n", "Analysis.group\n") + _GOOD_ROW),
        raises=InvalidDataError,
        names=("export.csv", "line 1", "'Analysis.group'", "twice"),
    ),
    Case(
        "io-csv-fit-without-model",
        _fit_csv_without_model,
        raises=InvalidParameterError,
        names=("1.1", "export.csv", "'model'"),
    ),
    Case(
        "io-csv-measure-does-not-fit-data",
        _wrong_measure_for_data,
        raises=InvalidParameterError,
        names=("'measure'", "dichotomous", "'SMD'"),
    ),
    Case(
        "io-csv-unknown-subgroup",
        _unknown_subgroup,
        raises=InvalidParameterError,
        names=("'subgroup'", "'Adults'", "1.1"),
    ),
    Case(
        "io-rm5-not-xml",
        _read(mp.io.read_rm5, "review.rm5", "Study,Events\nAlpha,3\n"),
        raises=InvalidDataError,
        names=("review.rm5", "line 1", "not well formed"),
    ),
    Case(
        "io-rm5-wrong-root",
        _read(mp.io.read_rm5, "review.rm5", '<?xml version="1.0"?><html><body/></html>'),
        raises=InvalidDataError,
        names=("review.rm5", "<html>", "<COCHRANE_REVIEW>"),
    ),
    Case(
        "io-rm5-doctype-refused",
        _read(
            mp.io.read_rm5,
            "review.rm5",
            '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x "y">]>\n<COCHRANE_REVIEW/>',
        ),
        raises=InvalidDataError,
        names=("review.rm5", "line 2", "DOCTYPE"),
    ),
    Case(
        "io-rm5-measure-does-not-fit-outcome",
        _rm5(_dich(measure="MD")),
        raises=InvalidDataError,
        names=("review.rm5", "<DICH_OUTCOME ID='CMP-001.01'>", "EFFECT_MEASURE", "'MD'"),
    ),
    Case(
        "io-rm5-unknown-method",
        _rm5(_dich(method="GLMM")),
        raises=InvalidDataError,
        names=("<DICH_OUTCOME ID='CMP-001.01'>", "METHOD", "'GLMM'"),
    ),
    Case(
        "io-rm5-peto-method-with-rr",
        _rm5(_dich(method="PETO")),
        raises=InvalidDataError,
        names=("<DICH_OUTCOME ID='CMP-001.01'>", "'PETO'", "'RR'"),
    ),
    Case(
        "io-rm5-random-not-yes-no",
        _rm5(_dich(random="maybe")),
        raises=InvalidDataError,
        names=("<DICH_OUTCOME ID='CMP-001.01'>", "RANDOM", "'maybe'"),
    ),
    Case(
        "io-rm5-non-numeric-attribute",
        _rm5(_dich(e1="n/a")),
        raises=InvalidDataError,
        names=("<DICH_DATA STUDY_ID='STD-A'>", "CMP-001.01", "EVENTS_1", "'n/a'"),
    ),
    Case(
        "io-rm5-unknown-study",
        _rm5(_dich(sid="STD-Nobody")),
        raises=InvalidDataError,
        names=("<DICH_DATA STUDY_ID='STD-Nobody'>", "names no <STUDY>"),
    ),
    Case(
        "io-rm5-row-of-another-type",
        _rm5(_dich(rows='<CONT_DATA MEAN_1="1" STUDY_ID="STD-A"/>')),
        raises=InvalidDataError,
        names=("<CONT_DATA STUDY_ID='STD-A'>", "<DICH_OUTCOME>", "<DICH_DATA>"),
    ),
    Case(
        "io-rm5-missing-attribute",
        _rm5(_dich(rows='<DICH_DATA EVENTS_1="2" EVENTS_2="3" STUDY_ID="STD-A" TOTAL_1="20"/>')),
        raises=InvalidDataError,
        names=("<DICH_DATA STUDY_ID='STD-A'>", "TOTAL_2", "missing"),
    ),
    Case(
        "io-rm5-outcome-without-number",
        _rm5(_dich().replace(' NO="1"', "")),
        raises=InvalidDataError,
        names=("<DICH_OUTCOME ID='CMP-001.01'>", "NO", "missing"),
    ),
]
