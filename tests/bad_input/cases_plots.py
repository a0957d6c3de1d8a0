"""Bad input for forest and funnel plots: wrong arguments, extreme values, NaN rows.

Error cases name the parameter and the value. Success cases look at what was
drawn (figure size, text of the cells, no "nan", finite axis limits) and close
their figure.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

import metapool as mp
from metapool.exceptions import (
    InvalidParameterError,
    MetapoolTypeError,
    MissingDependencyError,
)
from metapool.results import Interval
from tests.bad_input._catalogue import Case

MINUS = "\u2212"


# ------------------------------------------------------------------ inputs
def _generic(yi: list[float], se: list[float], **kwargs: Any) -> mp.MetaResult:
    labels = kwargs.pop("labels", [f"S{i + 1}" for i in range(len(yi))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eff = mp.GenericEffect(yi=yi, se=se, labels=labels, **kwargs)
        return mp.RandomEffects(tau2="DL").fit(eff)


def _small() -> mp.MetaResult:
    return _generic([0.1, 0.3, 0.2], [0.1, 0.15, 0.2], labels=["A", "B", "C"])


def _ratio() -> mp.MetaResult:
    return _generic([0.1, 0.3, 0.2], [0.1, 0.15, 0.2], measure="RR", log_scale=True)


def _wide_rr() -> mp.MetaResult:
    """One risk ratio with a 95 % CI from 1e-30 to 1e+40."""
    low, high = math.log(1e-30), math.log(1e40)
    z = 1.959963984540054
    return _generic(
        [(low + high) / 2, 0.1, 0.2],
        [(high - low) / (2 * z), 0.1, 0.2],
        measure="RR",
        log_scale=True,
    )


def _subgroups(names: list[str] | None = None) -> mp.SubgroupResult:
    eff = mp.GenericEffect(
        yi=[0.1, 0.3, 0.2, 0.5], se=[0.1, 0.1, 0.2, 0.3], labels=["A", "B", "C", "D"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mp.subgroup_analysis(
            eff, names or ["one", "one", "one", "two"], mp.RandomEffects(tau2="DL")
        )


def _nan_result() -> mp.MetaResult:
    """A result whose pooled values are not estimable, with NaN rows and a zero weight."""
    nan = math.nan
    return attrs.evolve(
        _ratio(),
        estimate=nan,
        se=nan,
        statistic=nan,
        pvalue=nan,
        ci=Interval(nan, nan),
        pi=Interval(nan, nan),
        tau2=nan,
        tau=nan,
        i2=nan,
        q=nan,
        q_pvalue=nan,
        weights=np.array([nan, 100.0, 0.0]),
        yi=np.array([0.1, nan, 0.2]),
        vi=np.array([0.01, 0.02, nan]),
    )


@contextmanager
def _without_matplotlib() -> Iterator[None]:
    """``import matplotlib`` fails as if it were not installed (restored afterwards)."""
    saved = {
        k: v for k, v in sys.modules.items() if k == "matplotlib" or k.startswith("matplotlib.")
    }
    try:
        for key in saved:
            sys.modules[key] = None  # type: ignore[assignment]
        sys.modules["matplotlib"] = None  # type: ignore[assignment]
        yield
    finally:
        for key in [k for k in sys.modules if k == "matplotlib" or k.startswith("matplotlib.")]:
            del sys.modules[key]
        sys.modules.update(saved)


def _no_matplotlib(call: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with _without_matplotlib():
            return call()

    return run


# ------------------------------------------------------------------ checks
def _texts(fig: Figure) -> dict[str, str]:
    """Text of every artist with a gid and of every cell of a text column (by the
    cell's gid); an effect cell's estimate and interval joined by a space."""
    out: dict[str, str] = {}
    parts: dict[str, dict[str, str]] = {}
    for t in fig.axes[0].texts:
        out[str(t.get_gid() or "")] = t.get_text()
        for cell in t.get_cells() if hasattr(t, "get_cells") else ():
            out[cell.gid] = cell.text
            for part in ("estimate", "interval"):
                if cell.gid.startswith("cell-effect-") and cell.gid.endswith(f"-{part}"):
                    parts.setdefault(cell.gid.removesuffix(f"-{part}"), {})[part] = cell.text
    for row, found in parts.items():
        out[row] = " ".join(found[k] for k in ("estimate", "interval") if found.get(k))
    return out


def _all_strings(fig: Figure) -> list[str]:
    found = [t.get_text() for ax in fig.axes for t in ax.texts]
    for ax in fig.axes:
        found += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            found += [t.get_text() for t in legend.get_texts()]
    return found


def _checked(*checks: Callable[[Figure], None]) -> Callable[[Any], None]:
    """Run ``checks`` on the figure and the common ones, then close it."""

    def check(fig: Any) -> None:
        try:
            assert isinstance(fig, Figure)
            strings = _all_strings(fig)
            assert not [s for s in strings if "nan" in s.lower() or "inf" in s.lower()], strings
            lim = fig.axes[0].get_xlim()
            assert all(math.isfinite(v) for v in lim), lim
            width, height = fig.get_size_inches()
            assert width < 12 and height < 12, (width, height)
            for c in checks:
                c(fig)
        finally:
            plt.close(fig)

    return check


def _cell(gid: str, expected: str) -> Callable[[Figure], None]:
    def check(fig: Figure) -> None:
        assert _texts(fig)[gid] == expected, _texts(fig)[gid]

    return check


def _width_below(inches: float) -> Callable[[Figure], None]:
    def check(fig: Figure) -> None:
        assert fig.get_size_inches()[0] < inches, fig.get_size_inches()

    return check


def _longest_line_below(chars: int) -> Callable[[Figure], None]:
    """No line of a table cell, header or "Favours" label has ``chars`` characters."""

    def check(fig: Figure) -> None:
        lines = [
            line
            for gid, text in _texts(fig).items()
            if gid.startswith(("cell-", "header-", "subgroup-", "favours-"))
            for line in text.split("\n")
        ]
        assert max(map(len, lines)) < chars, max(lines, key=len)

    return check


def _no_cell(gid: str) -> Callable[[Figure], None]:
    def check(fig: Figure) -> None:
        assert gid not in _texts(fig), _texts(fig)[gid]

    return check


def _order(expected: list[int]) -> Callable[[Figure], None]:
    """The studies (by position in the result) from the top of the plot down."""

    def check(fig: Figure) -> None:
        y = {
            int(str(a.get_gid()).rsplit("-", 1)[1]): a.get_ydata()[0]
            for a in fig.axes[0].lines
            if str(a.get_gid()).startswith("study-square-")
        }
        assert sorted(y, key=y.__getitem__) == expected, y

    return check


def _has_gid(prefix: str) -> Callable[[Figure], None]:
    def check(fig: Figure) -> None:
        artists = fig.axes[0].lines + fig.axes[0].patches
        assert any(str(a.get_gid()).startswith(prefix) for a in artists), prefix

    return check


def _label_cut(gid: str) -> Callable[[Figure], None]:
    def check(fig: Figure) -> None:
        text = _texts(fig)[gid]
        assert text.count("\n") <= 3 and text.endswith("…"), text

    return check


# ------------------------------------------------------------------ cases
CASES: list[Case] = [
    # ---- forest_plot: the result and its type
    Case(
        id="plots-forest-result-int",
        run=lambda: mp.forest_plot(5),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'result'", "forest_plot", "int", "5"),
    ),
    Case(
        id="plots-forest-result-list",
        run=lambda: mp.forest_plot([0.1, 0.2]),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'result'", "list", "[0.1, 0.2]"),
    ),
    # ---- forest_plot: parameters
    Case(
        id="plots-forest-sort-by-nonsense",
        run=lambda: mp.forest_plot(_small(), sort_by="nonsense"),
        raises=InvalidParameterError,
        names=("'sort_by'", "'nonsense'", "'weight'", "'effect'"),
    ),
    Case(
        id="plots-forest-sort-by-mixed-types",
        run=lambda: mp.forest_plot(_small(), sort_by=[2001, "x", 2003]),
        raises=MetapoolTypeError,
        names=("'sort_by'", "study 1 ('A')", "2001", "study 2 ('B')", "'x'"),
    ),
    Case(
        id="plots-forest-sort-by-wrong-length",
        run=lambda: mp.forest_plot(_small(), sort_by=[1, 2]),
        raises=InvalidParameterError,
        names=("'sort_by'", "(3)", "2 values"),
    ),
    Case(
        id="plots-forest-xlim-reversed",
        run=lambda: mp.forest_plot(_small(), xlim=(2, 1)),
        raises=InvalidParameterError,
        names=("'xlim'", "(2, 1)", "low < high"),
    ),
    Case(
        id="plots-forest-xlim-zero-on-log-axis",
        run=lambda: mp.forest_plot(_ratio(), xlim=(0, 5)),
        raises=InvalidParameterError,
        names=("'xlim'", "(0, 5)", "logarithmic"),
    ),
    Case(
        id="plots-forest-xlim-infinite",
        run=lambda: mp.forest_plot(_ratio(), xlim=(0.1, math.inf)),
        raises=InvalidParameterError,
        names=("'xlim'", "inf", "finite"),
    ),
    Case(
        id="plots-forest-xlim-one-number",
        run=lambda: mp.forest_plot(_small(), xlim=5),
        raises=InvalidParameterError,
        names=("'xlim'", "pair", "5"),
    ),
    Case(
        id="plots-forest-xticks-text",
        run=lambda: mp.forest_plot(_small(), xticks=["a", "b"]),
        raises=InvalidParameterError,
        names=("'xticks'", "'a'"),
    ),
    Case(
        id="plots-forest-xticks-zero-on-log-axis",
        run=lambda: mp.forest_plot(_ratio(), xticks=[0, 1, 2]),
        raises=InvalidParameterError,
        names=("'xticks'", "0.0", "positive"),
    ),
    Case(
        id="plots-forest-columns-unknown",
        run=lambda: mp.forest_plot(_small(), columns=["nope"]),
        raises=InvalidParameterError,
        names=("'columns'", "'nope'", "'study'"),
    ),
    Case(
        id="plots-forest-columns-not-a-sequence",
        run=lambda: mp.forest_plot(_small(), columns=5),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'columns'", "int", "5"),
    ),
    Case(
        id="plots-forest-extra-column-wrong-length",
        run=lambda: mp.forest_plot(_small(), extra_columns={"Dose": ["10 mg", "20 mg"]}),
        raises=InvalidParameterError,
        names=("extra_columns['Dose']", "one value per study (3)", "2 values"),
    ),
    Case(
        id="plots-forest-extra-columns-not-a-mapping",
        run=lambda: mp.forest_plot(_small(), extra_columns=["a", "b", "c"]),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'extra_columns'", "mapping", "list"),
    ),
    Case(
        id="plots-forest-extra-column-named-like-a-builtin",
        run=lambda: mp.forest_plot(_small(), extra_columns={"weight": [1, 2, 3]}),
        raises=InvalidParameterError,
        names=("'extra_columns'", "'weight'", "built-in"),
    ),
    Case(
        id="plots-forest-labels-wrong-length",
        run=lambda: mp.forest_plot(_small(), labels=["only one"]),
        raises=InvalidParameterError,
        names=("'labels'", "(3)", "1 values"),
    ),
    Case(
        id="plots-forest-labels-a-string",
        run=lambda: mp.forest_plot(_small(), labels="ABC"),
        raises=MetapoolTypeError,
        names=("'labels'", "'ABC'"),
    ),
    Case(
        id="plots-forest-ax-string",
        run=lambda: mp.forest_plot(_small(), ax="x"),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'ax'", "Axes", "'x'"),
    ),
    Case(
        id="plots-forest-path-unknown-extension",
        run=lambda: mp.forest_plot(_small(), path="forest.xyz"),
        raises=InvalidParameterError,
        names=("'path'", "'.xyz'", ".png", ".pdf", ".svg"),
    ),
    Case(
        id="plots-forest-path-a-number",
        run=lambda: mp.forest_plot(_small(), path=5),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'path'", "int", "5"),
    ),
    Case(
        id="plots-forest-decimals-negative",
        run=lambda: mp.forest_plot(_small(), decimals=-1),
        raises=InvalidParameterError,
        names=("'decimals'", "-1"),
    ),
    Case(
        id="plots-forest-decimals-float",
        run=lambda: mp.forest_plot(_small(), decimals=2.5),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'decimals'", "2.5"),
    ),
    Case(
        id="plots-forest-decimals-huge",
        run=lambda: mp.forest_plot(_small(), decimals=300),
        raises=InvalidParameterError,
        names=("'decimals'", "300", "0 to 10"),
    ),
    Case(
        id="plots-forest-arm-decimals-text",
        run=lambda: mp.forest_plot(_small(), arm_decimals="x"),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'arm_decimals'", "'x'"),
    ),
    Case(
        id="plots-forest-color-unknown",
        run=lambda: mp.forest_plot(_small(), color="notacolor"),
        raises=InvalidParameterError,
        names=("'color'", "'notacolor'"),
    ),
    Case(
        id="plots-forest-fontsize-zero",
        run=lambda: mp.forest_plot(_small(), fontsize=0),
        raises=InvalidParameterError,
        names=("'fontsize'", "positive", "0"),
    ),
    Case(
        id="plots-forest-plot-width-nan",
        run=lambda: mp.forest_plot(_small(), plot_width=math.nan),
        raises=InvalidParameterError,
        names=("'plot_width'", "nan"),
    ),
    Case(
        id="plots-forest-max-label-width-text",
        run=lambda: mp.forest_plot(_small(), max_label_width="2"),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'max_label_width'", "'2'", "or None"),
    ),
    Case(
        id="plots-forest-long-labels-unknown",
        run=lambda: mp.forest_plot(_small(), long_labels="hide"),
        raises=InvalidParameterError,
        names=("'long_labels'", "'hide'", "'wrap'"),
    ),
    Case(
        id="plots-forest-prediction-text",
        run=lambda: mp.forest_plot(_small(), prediction="yes"),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'prediction'", "'yes'", "True or False"),
    ),
    Case(
        id="plots-forest-group-names-one",
        run=lambda: mp.forest_plot(_small(), group_names=("A",)),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'group_names'", "('A',)"),
    ),
    Case(
        id="plots-forest-title-number",
        run=lambda: mp.forest_plot(_small(), title=5),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'title'", "int", "5"),
    ),
    Case(
        id="plots-forest-dpi-negative",
        run=lambda: mp.forest_plot(_small(), dpi=-72),
        raises=InvalidParameterError,
        names=("'dpi'", "-72"),
    ),
    Case(
        id="plots-forest-without-matplotlib",
        run=_no_matplotlib(lambda: mp.forest_plot(_small())),
        raises=MissingDependencyError,
        names=("forest_plot", "matplotlib", 'pip install "metapool[plot]"'),
    ),
    # ---- funnel_plot: parameters
    Case(
        id="plots-funnel-result-string",
        run=lambda: mp.funnel_plot("x"),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'result'", "funnel_plot", "str", "'x'"),
    ),
    Case(
        id="plots-funnel-result-subgroups",
        run=lambda: mp.funnel_plot(_subgroups()),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'result'", "SubgroupResult"),
    ),
    Case(
        id="plots-funnel-contours-percent",
        run=lambda: mp.funnel_plot(_small(), contours=(95,)),
        raises=InvalidParameterError,
        names=("'contours'", "95"),
    ),
    Case(
        id="plots-funnel-xlim-zero-on-log-axis",
        run=lambda: mp.funnel_plot(_ratio(), xlim=(0, 2)),
        raises=InvalidParameterError,
        names=("'xlim'", "(0, 2)"),
    ),
    Case(
        id="plots-funnel-legend-unknown-place",
        run=lambda: mp.funnel_plot(_small(), legend="middle"),
        raises=InvalidParameterError,
        names=("'legend'", "'middle'", "'upper right'"),
    ),
    Case(
        id="plots-funnel-figsize-one-number",
        run=lambda: mp.funnel_plot(_small(), figsize=(3,)),  # type: ignore[arg-type]
        raises=InvalidParameterError,
        names=("'figsize'", "(3,)"),
    ),
    Case(
        id="plots-funnel-level-percent",
        run=lambda: mp.funnel_plot(_small(), level=95),
        raises=InvalidParameterError,
        names=("'level'", "95"),
    ),
    Case(
        id="plots-funnel-path-unknown-extension",
        run=lambda: mp.funnel_plot(_small(), path="funnel.docx"),
        raises=InvalidParameterError,
        names=("'path'", "'.docx'", ".png"),
    ),
    Case(
        id="plots-funnel-trimfill-wrong-object",
        run=lambda: mp.funnel_plot(_small(), trimfill=object()),
        raises=MetapoolTypeError,
        names=("'trimfill'", "object"),
    ),
    Case(
        id="plots-funnel-pseudo-ci-text",
        run=lambda: mp.funnel_plot(_small(), pseudo_ci="no"),  # type: ignore[arg-type]
        raises=MetapoolTypeError,
        names=("'pseudo_ci'", "'no'"),
    ),
    Case(
        id="plots-funnel-fontsize-negative",
        run=lambda: mp.funnel_plot(_small(), fontsize=-1),
        raises=InvalidParameterError,
        names=("'fontsize'", "-1"),
    ),
    Case(
        id="plots-funnel-without-matplotlib",
        run=_no_matplotlib(lambda: mp.funnel_plot(_small())),
        raises=MissingDependencyError,
        names=("funnel_plot", 'pip install "metapool[plot]"'),
    ),
    # ---- the methods of the results
    Case(
        id="plots-method-plot-forest-sort-by",
        run=lambda: _small().plot_forest(sort_by="year"),
        raises=InvalidParameterError,
        names=("'sort_by'", "'year'"),
    ),
    Case(
        id="plots-method-plot-funnel-xlim",
        run=lambda: _small().plot_funnel(xlim=(2, 1)),
        raises=InvalidParameterError,
        names=("'xlim'", "(2, 1)"),
    ),
    Case(
        id="plots-method-subgroups-plot-forest-columns",
        run=lambda: _subgroups().plot_forest(columns=["nope"]),
        raises=InvalidParameterError,
        names=("'columns'", "'nope'"),
    ),
    # ---- extreme values: bounded cells, finite axes, no overflow
    Case(
        id="plots-forest-rr-ci-1e-30-to-1e40",
        run=lambda: mp.forest_plot(_wide_rr()),
        check=_checked(
            _cell("cell-effect-study-0", f"1.00e+05 [1.00e{MINUS}30, 1.00e+40]"),
            _width_below(8.0),
            _longest_line_below(80),
        ),
    ),
    Case(
        id="plots-forest-or-log-300",
        run=lambda: mp.forest_plot(
            _generic([300.0, -300.0, 0.2], [0.1, 0.1, 0.2], measure="OR", log_scale=True)
        ),
        check=_checked(
            _cell("cell-effect-study-0", "1.94e+130 [1.60e+130, 2.36e+130]"),
            _width_below(8.0),
            _longest_line_below(80),
        ),
    ),
    Case(
        id="plots-forest-or-log-800-beyond-float-range",
        run=lambda: mp.forest_plot(
            _generic([800.0, 0.3, 0.2], [0.1, 0.1, 0.2], measure="OR", log_scale=True)
        ),
        check=_checked(
            _cell("cell-effect-study-0", "2.73e+347 [2.24e+347, 3.32e+347]"),
            _has_gid("ci-arrow-0-high"),
            _width_below(8.0),
        ),
    ),
    Case(
        id="plots-forest-or-se-100-with-prediction",
        run=lambda: mp.forest_plot(
            _generic([0.1, 0.3, 0.2], [100.0, 0.1, 0.2], measure="OR", log_scale=True),
            prediction=True,
        ),
        check=_checked(_has_gid("study-ci-0"), _width_below(8.0), _longest_line_below(80)),
    ),
    Case(
        id="plots-forest-mean-difference-1e6",
        run=lambda: mp.forest_plot(_generic([1e6, 0.3, 0.2], [1e5, 0.1, 0.2])),
        check=_checked(_cell("cell-effect-study-0", "1.00e+06 [8.04e+05, 1.20e+06]")),
    ),
    Case(
        id="plots-funnel-or-se-1000-with-contours",
        run=lambda: mp.funnel_plot(
            _generic([0.1, 0.3, 0.2], [1000.0, 0.1, 0.2], measure="OR", log_scale=True),
            contours=(0.9, 0.95),
        ),
        check=_checked(_has_gid("contour-0.95"), _has_gid("pseudo-ci")),
    ),
    Case(
        id="plots-funnel-or-log-800-marked-beyond-the-axis",
        run=lambda: mp.funnel_plot(
            _generic([800.0, 0.3, 0.2], [0.1, 0.1, 0.2], measure="OR", log_scale=True)
        ),
        check=_checked(_has_gid("funnel-beyond-high")),
    ),
    Case(
        id="plots-method-plot-funnel-wide-rr",
        run=lambda: _wide_rr().plot_funnel(contours=(0.95,)),
        check=_checked(_has_gid("funnel-study")),
    ),
    # ---- long texts: max_label_width holds
    Case(
        id="plots-forest-label-200-characters-wrapped",
        run=lambda: mp.forest_plot(_generic([0.1, 0.3], [0.1, 0.2], labels=["x" * 200, "B"])),
        check=_checked(
            _label_cut("cell-study-study-0"), _width_below(7.0), _longest_line_below(60)
        ),
    ),
    Case(
        id="plots-forest-label-200-characters-truncated",
        run=lambda: mp.forest_plot(
            _generic([0.1, 0.3], [0.1, 0.2], labels=["word " * 40, "B"]), long_labels="truncate"
        ),
        check=_checked(
            _label_cut("cell-study-study-0"), _width_below(7.0), _longest_line_below(60)
        ),
    ),
    Case(
        id="plots-subgroups-plot-forest-long-subgroup-name",
        run=lambda: _subgroups(["G" * 150, "G" * 150, "short", "short"]).plot_forest(),
        check=_checked(_label_cut("subgroup-1"), _width_below(8.0)),
    ),
    Case(
        id="plots-forest-long-column-header-and-measure-label",
        run=lambda: mp.forest_plot(
            _small(),
            extra_columns={"H" * 120: ["a", "b", "c"]},
            measure_label="M" * 120,
            label_experimental="Favours " + "e" * 150,
        ),
        check=_checked(_width_below(10.0), _longest_line_below(60)),
    ),
    # ---- NaN and missing values: drawn, shown as NA or blank
    Case(
        id="plots-forest-not-estimable-rows",
        run=lambda: mp.forest_plot(_nan_result(), prediction=True, sort_by="weight"),
        check=_checked(
            _cell("cell-effect-total", "Not estimable"),
            _cell("cell-weight-study-0", "NA"),
            _cell("cell-effect-study-1", "NA [NA, NA]"),
        ),
    ),
    Case(
        id="plots-funnel-not-estimable-rows",
        run=lambda: mp.funnel_plot(_nan_result(), contours=(0.95,)),
        check=_checked(_has_gid("funnel-study")),
    ),
    Case(
        id="plots-subgroups-single-study-subgroup",
        run=lambda: mp.forest_plot(_subgroups(), prediction=True),
        check=_checked(_cell("heterogeneity-2", "Heterogeneity: Not applicable")),
    ),
    Case(
        id="plots-forest-missing-values-in-extra-columns-and-labels",
        run=lambda: mp.forest_plot(
            _small(),
            labels=[math.nan, None, 2001.0],  # type: ignore[list-item]
            extra_columns={"Year": [None, math.nan, math.inf], "N": [1e20, 12, 3]},
        ),
        check=_checked(
            _no_cell("cell-study-study-0"),
            _no_cell("cell-extra-Year-study-0"),
            _cell("cell-study-study-2", "2001"),
            _cell("cell-extra-Year-study-2", "∞"),
            _cell("cell-extra-N-study-0", "1.00e+20"),
        ),
    ),
    Case(
        id="plots-forest-sort-by-keys-with-nan-go-last",
        run=lambda: mp.forest_plot(_small(), sort_by=[math.nan, 2, 1]),
        check=_checked(_order([2, 1, 0])),
    ),
]
