"""The ``metapool`` command line: run a meta-analysis from a CSV file, an Excel sheet or a
Cochrane "Data and analyses" export, and write the report and figures.

``metapool run --help`` explains every option; ``python -m metapool`` is the same.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_DESCRIPTION = """\
Run a meta-analysis and write a report (HTML and Markdown), the figures (PNG) and the
results (JSON) into a folder.

Your data: one row per study, in a CSV file (.csv) or an Excel sheet (.xlsx). Name the
columns as below (any case), or tell metapool which column is which with the options.

  two groups, events      study, events1, n1, events2, n2          (--measure RR, OR or RD)
  two groups, means       study, mean1, sd1, n1, mean2, sd2, n2    (--measure MD or SMD)
  one effect per study    study, yi, and vi (variance) or se       (--measure GEN, or e.g. HR
                                                                     with --log-scale)

Group 1 is the experimental (intervention) group, group 2 the control group. An optional
column named with --subgroup gives each study's subgroup.

Or a Cochrane review's data export (the "Data and analyses" CSV): --cochrane FILE and
--analysis 1.1 (comparison 1, outcome 1); --list shows the analyses it holds.
"""

_EXAMPLES = """\
examples:
  metapool run trials.csv --measure RR --out results
  metapool run trials.xlsx --sheet Mortality --measure OR --model mh --out results
  metapool run scores.csv --measure SMD --tau2 REML --ci hksj --out results
  metapool run data.csv --measure RR --events1 deaths_drug --n1 total_drug \\
      --events2 deaths_placebo --n2 total_placebo --study trial --out results
  metapool run --cochrane CD015373-data.csv --list
  metapool run --cochrane CD015373-data.csv --analysis 1.9 --out results

The report (report.html) opens in any web browser; report.md is the same as Markdown.
"""

_COLUMNS = ("events1", "n1", "events2", "n2", "mean1", "sd1", "mean2", "sd2", "yi", "vi", "se")
_STUDY_NAMES = ("study", "studies", "label", "trial", "author", "study id")
_BINARY, _CONTINUOUS = ("RR", "OR", "RD"), ("MD", "SMD")


class CliError(Exception):
    """An error to show to the user without a traceback."""


def _parser() -> argparse.ArgumentParser:
    from metapool import __version__

    parser = argparse.ArgumentParser(
        prog="metapool",
        description="metapool: meta-analysis that agrees with metafor and RevMan.",
    )
    parser.add_argument("--version", action="version", version=f"metapool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run a meta-analysis and write the report",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("data", nargs="?", help="the data file: .csv, .xlsx or .xls")
    run.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    what = run.add_argument_group("what to compute")
    what.add_argument(
        "--measure",
        help="effect measure: RR (risk ratio), OR (odds ratio), RD (risk difference), "
        "MD (mean difference), SMD (standardised mean difference), or a code such as GEN "
        "or HR for one effect per study (default: RR for events, MD for means, GEN for yi)",
    )
    what.add_argument(
        "--model",
        choices=("random", "common", "mh", "peto"),
        default="random",
        help="random: random effects (inverse variance; default); common: common "
        "(fixed) effect, inverse variance; mh: Mantel-Haenszel (events only); "
        "peto: Peto odds ratio (events only)",
    )
    what.add_argument(
        "--tau2",
        help="between-study variance estimator for --model random: REML (default), DL "
        "(DerSimonian-Laird, as RevMan 5), PM, ML, SJ, HE, HS, EB",
    )
    what.add_argument(
        "--ci",
        choices=("z", "hksj", "t"),
        help="confidence interval of the pooled effect: z (Wald, default), hksj "
        "(Hartung-Knapp-Sidik-Jonkman), t",
    )
    what.add_argument(
        "--convention",
        help="follow a program's conventions (defaults and zero-cell handling): revman5 or "
        "metafor (default: metafor; Cochrane exports: revman5)",
    )
    what.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    what.add_argument(
        "--log-scale",
        action="store_true",
        help="one effect per study: yi is a log ratio (e.g. log hazard ratio)",
    )
    cols = run.add_argument_group(
        "columns (only where your column names differ from the standard ones)"
    )
    cols.add_argument("--study", metavar="COL", help="column of study names (default: study)")
    for name in _COLUMNS:
        cols.add_argument(f"--{name}", metavar="COL", help=f"column of {name}")
    cols.add_argument("--subgroup", metavar="COL", help="column of subgroups (optional)")
    coch = run.add_argument_group("Cochrane data export")
    coch.add_argument("--cochrane", metavar="FILE", help="a Cochrane 'Data and analyses' CSV")
    coch.add_argument("--review", help="the review, when the file holds several (e.g. CD015373)")
    coch.add_argument("--analysis", help="the analysis number, e.g. 1.1")
    coch.add_argument("--list", action="store_true", help="list the analyses and stop")
    out = run.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", default="metapool_output", help="folder to write into")
    out.add_argument("--title", help="the report's title")
    out.add_argument("--no-report", action="store_true", help="skip the HTML/Markdown report")
    return parser


# ----------------------------------------------------------------------------- reading
def _read_table(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    if not path.exists():
        raise CliError(f"the data file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            import pandas as pd
        except ImportError:
            raise CliError(
                'reading Excel files needs pandas and openpyxl: pip install "metapool[excel]"'
            ) from None
        try:
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0)
        except ImportError:
            raise CliError(
                'reading Excel files needs openpyxl: pip install "metapool[excel]"'
            ) from None
        except ValueError as exc:
            raise CliError(f"{path}: {exc}") from None
        header = [str(c) for c in frame.columns]
        rows = [[None if _blank(v) else v for v in row] for row in frame.itertuples(index=False)]
        return header, rows
    if sheet is not None:
        raise CliError("--sheet is for Excel files; the data file is not one.")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(fh, dialect)
            header = next(reader, [])
            if not header:
                raise CliError(f"{path} is empty.")
            rows = [
                [c if c.strip() else None for c in r] for r in reader if any(c.strip() for c in r)
            ]
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a UTF-8 text (CSV) file.") from None
    return [h.strip() for h in header], rows


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _find(header: list[str], wanted: str | None, names: Sequence[str]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted.strip().lower() not in lowered:
            raise CliError(
                f"there is no column {wanted!r}; the columns are {', '.join(map(repr, header))}."
            )
        return lowered.index(wanted.strip().lower())
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _numbers(header: list[str], rows: list[list[Any]], col: int, labels: list[str]) -> list[float]:
    out = []
    for i, row in enumerate(rows):
        value = row[col] if col < len(row) else None
        if _blank(value):
            raise CliError(
                f"study {i + 1} ({labels[i]!r}): column {header[col]!r} is empty; every "
                "study needs a number there (remove the row to leave the study out)."
            )
        text: Any = value.replace(",", ".") if isinstance(value, str) else value
        try:
            out.append(float(text))
        except ValueError:
            raise CliError(
                f"study {i + 1} ({labels[i]!r}): column {header[col]!r} holds {value!r}, "
                "which is not a number."
            ) from None
    return out


def _effects_from_file(args: argparse.Namespace) -> tuple[Any, list[str] | None, str]:
    import metapool as mp

    path = Path(args.data)
    header, rows = _read_table(path, args.sheet)
    if not rows:
        raise CliError(f"{path} has a header but no rows of data.")
    study = _find(header, args.study, _STUDY_NAMES)
    labels = (
        [str(r[study]) if not _blank(r[study]) else f"Study {i + 1}" for i, r in enumerate(rows)]
        if study is not None
        else [f"Study {i + 1}" for i in range(len(rows))]
    )
    found = {name: _find(header, getattr(args, name), (name,)) for name in _COLUMNS}
    have = {name for name, col in found.items() if col is not None}

    def col(name: str) -> list[float]:
        index = found[name]
        assert index is not None
        return _numbers(header, rows, index, labels)

    measure = args.measure.upper() if args.measure else None
    effects: Any
    counts = {"events1", "n1", "events2", "n2"} <= have
    means = {"mean1", "sd1", "n1", "mean2", "sd2", "n2"} <= have
    generic = "yi" in have and bool({"vi", "se"} & have)
    if measure is None:
        measure = "RR" if counts else "MD" if means else "GEN" if generic else None
    if measure is None:
        raise CliError(
            "cannot tell the kind of data from the columns "
            f"({', '.join(map(repr, header))}): name them events1, n1, events2, n2 (events), "
            "mean1, sd1, n1, mean2, sd2, n2 (means) or yi and vi (one effect per study), "
            "or map them with --events1 COL and so on (see metapool run --help)."
        )
    conv = args.convention
    if measure in _BINARY:
        missing = [c for c in ("events1", "n1", "events2", "n2") if c not in have]
        if missing:
            raise CliError(f"--measure {measure} needs the column(s) {', '.join(missing)}.")
        cls = {"RR": mp.RiskRatio, "OR": mp.OddsRatio, "RD": mp.RiskDifference}[measure]
        effects = cls(
            events1=col("events1"),
            n1=col("n1"),
            events2=col("events2"),
            n2=col("n2"),
            labels=labels,
            convention=conv,
        )
    elif measure in _CONTINUOUS:
        missing = [c for c in ("mean1", "sd1", "n1", "mean2", "sd2", "n2") if c not in have]
        if missing:
            raise CliError(f"--measure {measure} needs the column(s) {', '.join(missing)}.")
        cont = {"MD": mp.MeanDifference, "SMD": mp.SMD}[measure]
        effects = cont(
            mean1=col("mean1"),
            sd1=col("sd1"),
            n1=col("n1"),
            mean2=col("mean2"),
            sd2=col("sd2"),
            n2=col("n2"),
            labels=labels,
            convention=conv,
        )
    else:
        if "yi" not in have or not {"vi", "se"} & have:
            raise CliError(f"--measure {measure} needs the columns yi and vi (or se).")
        vi, se = (col("vi"), None) if "vi" in have else (None, col("se"))
        effects = mp.GenericEffect(
            yi=col("yi"), vi=vi, se=se, labels=labels, measure=measure, log_scale=args.log_scale
        )
    groups: list[str] | None = None
    if args.subgroup is not None:
        index = _find(header, args.subgroup, ())
        assert index is not None
        groups = [str(r[index]) if not _blank(r[index]) else "" for r in rows]
        if "" in groups:
            i = groups.index("")
            raise CliError(
                f"study {i + 1} ({labels[i]!r}): its subgroup ({args.subgroup!r}) is empty."
            )
    return effects, groups, f"{path.name}"


def _model(args: argparse.Namespace, measure: str) -> Any:
    import metapool as mp

    conv = args.convention
    if args.model == "random":
        return mp.RandomEffects(
            tau2=args.tau2 or (None if conv else "REML"),
            ci=args.ci,
            level=args.level,
            convention=conv,
        )
    if args.tau2:
        raise CliError(f"--tau2 is for --model random, not --model {args.model}.")
    if args.model == "common":
        return mp.CommonEffect(ci=args.ci, level=args.level, convention=conv)
    if measure not in ("RR", "OR", "RD") and not (args.model == "peto" and measure == "PETO_OR"):
        raise CliError(
            f"--model {args.model} needs events (RR, OR or RD); the measure is {measure}."
        )
    if args.ci:
        raise CliError(f"--ci is for --model random or common, not --model {args.model}.")
    if args.model == "mh":
        return mp.MantelHaenszel(level=args.level, convention=conv)
    return mp.Peto(level=args.level, convention=conv)


def _cochrane(args: argparse.Namespace) -> tuple[Any, list[str] | None, str, Any, str, str]:
    import metapool as mp

    path = Path(args.cochrane)
    if not path.exists():
        raise CliError(f"the Cochrane export {str(path)!r} does not exist.")
    reviews = mp.io.read_cochrane_csv(path)
    if args.review:
        chosen = [
            r for r in reviews if r.id is not None and r.id.upper().startswith(args.review.upper())
        ]
        if not chosen:
            raise CliError(f"{path} holds no review {args.review!r}.")
        review = chosen[0]
    elif len(reviews) == 1:
        review = reviews[0]
    else:
        raise CliError(
            f"{path} holds {len(reviews)} reviews; choose one with --review (e.g. "
            f"--review {reviews[0].id})."
        )
    if args.list:
        for a in review.analyses:
            subs = f"; subgroups: {', '.join(a.subgroups)}" if a.subgroups else ""
            print(f"{a.group}.{a.number}  {a.name}  ({a.data_type}, {a.k} rows{subs})")
        raise SystemExit(0)
    if not args.analysis:
        raise CliError(
            "give the analysis with --analysis (e.g. --analysis 1.1); --list lists them."
        )
    try:
        group, number = (int(x) for x in args.analysis.split("."))
    except ValueError:
        raise CliError(f"--analysis must look like 1.1. Got {args.analysis!r}.") from None
    analysis = review.analysis(group, number)
    measure = args.measure.upper() if args.measure else analysis.infer_measure()
    if args.convention is None:
        args.convention = "revman5"
    effects = analysis.effects(measure, convention=args.convention)
    groups: list[str] | None = None
    if analysis.subgroups:
        keep = [a != "SUBGROUP_ONLY" for a in analysis.applicability]
        rows = [s for s, k in zip(analysis.subgroup, keep, strict=True) if k]
        if all(g is not None for g in rows):
            groups = [str(g) for g in rows]
    doi = f" (doi:{review.doi})" if review.doi else ""
    source = f"{review.id or path.name} analysis {group}.{number}: {analysis.name}{doi}"
    return effects, groups, source, analysis, measure, analysis.name


def _write(
    args: argparse.Namespace,
    result: Any,
    fitted: Any,
    source: str,
    extra: dict[str, Any],
    name: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import metapool as mp

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = fitted.plot_forest()
    fig.savefig(out / "forest.png", dpi=200, bbox_inches="tight")
    plt.close(fig)
    written = ["forest.png"]
    if result.k >= 10:
        fig = result.plot_funnel()
        fig.savefig(out / "funnel.png", dpi=200, bbox_inches="tight")
        plt.close(fig)
        written.append("funnel.png")
    payload = {"source": source, "result": result.to_dict()}
    if fitted is not result:
        payload["subgroups"] = {name: r.to_dict() for name, r in fitted.results.items()}
        payload["subgroup_test"] = (
            fitted.test.to_dict() if hasattr(fitted.test, "to_dict") else None
        )
    (out / "results.json").write_text(
        json.dumps(payload, indent=2, allow_nan=False, default=str), encoding="utf-8"
    )
    (out / "summary.txt").write_text(fitted.summary() + "\n", encoding="utf-8")
    written += ["results.json", "summary.txt"]
    for name, fig in extra.items():
        fig.savefig(out / name, dpi=200, bbox_inches="tight")
        written.append(name)
    if not args.no_report:
        try:
            mp.write_report(
                {name: fitted},
                out / "report.html",
                title=args.title or "Meta-analysis report",
                notes=[f"Data: {source}."],
                figures={_caption(n): f for n, f in extra.items()},
                markdown=True,
            )
            written += ["report.html", "report.md", "report_figures/"]
        except mp.exceptions.MissingDependencyError as exc:
            print(f"metapool: no report written: {exc}", file=sys.stderr)
    for fig in extra.values():
        plt.close(fig)
    print(f"\nWrote to {out}: {', '.join(written)}")


def _caption(name: str) -> str:
    return {
        "rob_traffic_light.png": "Risk of bias (RoB 2): judgements per study and domain.",
        "rob_summary.png": "Risk of bias (RoB 2): share of studies at each judgement.",
    }.get(name, name)


def _run(args: argparse.Namespace) -> int:
    import metapool as mp

    if args.cochrane and args.data:
        raise CliError("give either a data file or --cochrane, not both.")
    if not args.cochrane and not args.data:
        raise CliError(
            "give a data file (CSV or Excel) or --cochrane FILE; see metapool run --help."
        )
    extra: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", mp.exceptions.MetapoolWarning)
        if args.cochrane:
            effects, groups, source, analysis, measure, name = _cochrane(args)
        else:
            if args.list or args.analysis or args.review:
                raise CliError("--list, --analysis and --review are for --cochrane exports.")
            effects, groups, source = _effects_from_file(args)
            analysis, measure = None, effects.measure.code
            name = f"{effects.measure.name.capitalize()}: {Path(args.data).stem}"
        model = _model(args, measure)
        if groups is not None:
            fitted = mp.subgroup_analysis(effects, groups, model)
            result = fitted.overall
        else:
            fitted = result = model.fit(effects)
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    if analysis is not None and analysis.risk_of_bias:
        table = {"Study": list(analysis.labels), **analysis.risk_of_bias}
        import matplotlib

        matplotlib.use("Agg")
        extra["rob_traffic_light.png"] = mp.rob_traffic_light(table)
        extra["rob_summary.png"] = mp.rob_summary(table)
    print(f"Data: {source}")
    print(fitted.summary())
    _write(args, result, fitted, source, extra, name)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``metapool`` command; returns the exit status (0 on success, 1 for a data or
    parameter error, 2 for a usage error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    import metapool as mp

    try:
        return _run(args)
    except CliError as exc:
        print(f"metapool: error: {exc}", file=sys.stderr)
        return 1
    except (mp.exceptions.MetapoolError, mp.exceptions.MetapoolTypeError) as exc:
        print(f"metapool: error: {exc}", file=sys.stderr)
        return 1
    except mp.exceptions.MissingDependencyError as exc:
        print(f"metapool: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
