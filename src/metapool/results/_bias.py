"""The results of the small-study-effect methods: Egger's regression test, Begg and
Mazumdar's rank correlation test, and trim and fill."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from metapool._serialize import fields_to_dict, json_float
from metapool.results._frames import make_frame, natural_columns, stack
from metapool.results._html import html_table
from metapool.results._intervals import Interval
from metapool.results._pooled import MetaResult
from metapool.results._report import fmt, natural, notes_block, p_text, short, warning_block

if TYPE_CHECKING:
    import pandas as pd

    from metapool.effects import EffectSet, Measure

__all__ = ["BeggResult", "EggerResult", "TrimFillResult"]

_PREDICTOR_NAMES = {
    "sei": "standard error",
    "vi": "sampling variance",
    "ni": "sample size",
    "ninv": "inverse of the sample size",
    "sqrtni": "square root of the sample size",
    "sqrtninv": "inverse square root of the sample size",
}


@attrs.frozen(kw_only=True)
class EggerResult:
    """Result of :func:`~metapool.egger_test`.

    The regression is ``yi = b0 + b1 · sei`` (metafor's parametrisation).
    Dividing by ``sei`` gives Egger's original form, the regression of the
    standard normal deviate ``yi/sei`` on the precision ``1/sei``:
    ``yi/sei = b1 + b0 · (1/sei)``. So Egger's *intercept* is ``b1`` and Egger's
    *slope* is ``b0``, the effect of a study with ``sei → 0`` (the *limit
    estimate*).

    Attributes
    ----------
    model : {"lm", "rma"}
        Classic weighted regression, or a meta-regression (metafor's default).
    method : str
        Description of the regression.
    intercept, se : float
        Egger's intercept ``b1`` (the coefficient of ``sei``) and its standard error.
    statistic : float
        ``intercept / se``: a t statistic (``df`` given) or a z statistic (``df`` None).
    df : int or None
        Degrees of freedom of the t distribution (``k - 2``), ``None`` for z.
    pvalue : float
        Two-sided p-value of the test of no asymmetry (``b1 = 0``).
    ci : Interval
        Confidence interval of Egger's intercept.
    limit_estimate, limit_se : float
        The limit estimate ``b0`` (effect as ``sei → 0``) and its standard error.
    limit_ci : Interval
        Its confidence interval (metafor's ``ci.lb``/``ci.ub``).
    tau2 : float or None
        Residual τ² of the meta-regression (0 for a common-effect model,
        ``None`` for ``model="lm"``).
    tau2_method : str or None
        The τ² estimator (``None`` for ``"lm"`` and common-effect regressions).
    dispersion : float or None
        Multiplicative dispersion ``σ² = Σ w r² / (k - 2)`` of ``model="lm"``
        (``None`` for ``"rma"``).
    ci_method : str
        Test of the coefficients: ``"t"`` for ``"lm"``; the fit's CI method for
        ``"rma"`` (``"z"``, ``"t"``, ``"hksj"``, ``"hksj-adhoc"``).
    level : float
        Confidence level of the intervals.
    k : int
        Number of studies.
    converged : bool
        Whether the τ² estimator converged.
    measure : Measure
        Effect measure of the studies.
    notes : tuple of str
        Decisions taken for this data (small k, MH/Peto input).
    test : str
        Which regression test this is: ``"Egger"``, ``"Harbord"``, ``"Peters"``,
        ``"arcsine"``, ``"Thompson-Sharp"``, or ``"regression on the <predictor>"``
        for :func:`~metapool.egger_test` with another predictor.
    predictor : str
        The regressor (metafor's ``predictor``): ``"sei"``, ``"vi"``, ``"ni"``,
        ``"ninv"``, ``"sqrtni"``, ``"sqrtninv"``. ``intercept`` is its
        coefficient, the quantity tested, whatever the predictor (Egger's
        intercept for ``"sei"``); ``limit_estimate`` is the intercept of the
        regression (NaN for ``"ni"`` and ``"sqrtni"``, which do not tend to 0).
    """

    model: str
    method: str
    intercept: float
    se: float
    statistic: float
    df: int | None
    pvalue: float
    ci: Interval
    limit_estimate: float
    limit_se: float
    limit_ci: Interval
    tau2: float | None
    tau2_method: str | None
    dispersion: float | None
    ci_method: str
    level: float
    k: int
    converged: bool
    measure: Measure
    notes: tuple[str, ...] = ()
    test: str = "Egger"
    predictor: str = "sei"

    @property
    def slope(self) -> float:
        """Egger's slope (of ``yi/sei`` on ``1/sei``): the same number as :attr:`limit_estimate`."""
        return self.limit_estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return fields_to_dict(self, replace={"measure": {"measure": self.measure.to_dict()}})

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``regtest`` output."""
        pct = round(100 * self.level)
        stat = "z" if self.df is None else "t"
        df_txt = "" if self.df is None else f", df = {self.df}"
        model = f"{self.method} ({self.model!r}"
        if self.tau2_method is not None:
            model += f"; tau^2 estimator: {self.tau2_method}"
        model += f"; test: {self.ci_method})"
        coef = (
            "Egger's intercept (coefficient of sei):"
            if self.predictor == "sei"
            else f"Coefficient of {self.predictor}:".ljust(39)
        )
        limit = f"Limit estimate (as {self.predictor} -> 0):".ljust(39)
        lines = [
            f"Regression test for funnel-plot asymmetry ({self.test})",
            "",
            f"Model:     {model}",
            f"Predictor: {_PREDICTOR_NAMES.get(self.predictor, self.predictor)} "
            f"(k = {self.k}; measure {self.measure})",
            "",
            f"Test for funnel-plot asymmetry: {stat} = {fmt(self.statistic, digits)}{df_txt}, "
            f"{p_text(self.pvalue)}",
            f"{coef} b = {fmt(self.intercept, digits)} "
            f"(se = {fmt(self.se, digits)}; {pct}% CI {self.ci.format(digits)})",
        ]
        if not np.isnan(self.limit_estimate):
            lines.append(
                f"{limit} b = {fmt(self.limit_estimate, digits)} "
                f"(se = {fmt(self.limit_se, digits)}; {pct}% CI {self.limit_ci.format(digits)})"
            )
        if self.tau2 is not None and self.tau2_method is not None:
            lines.append(f"Residual heterogeneity: tau^2 = {fmt(self.tau2, digits)}")
        if self.dispersion is not None:
            lines.append(f"Dispersion: sigma^2 = {fmt(self.dispersion, digits)}")
        lines += notes_block(self.notes)
        lines += warning_block(self.converged)
        return "\n".join(lines)

    def summary_frame(self) -> pd.DataFrame:
        """The two coefficients as rows: ``intercept`` (Egger's test of asymmetry, the
        coefficient of ``sei``) and ``limit_estimate`` (the effect as ``sei → 0``).

        Columns: ``term``, ``estimate``, ``se``, ``statistic``, ``df`` (NaN for z),
        ``pvalue`` (statistic and p-value of the test of asymmetry; NaN for the limit
        estimate), ``ci_low``, ``ci_high``; when the measure's scales differ, the limit
        estimate and its CI on the natural scale, named after the measure (NaN for the
        intercept, which is not an effect).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> table = mp.egger_test(eff).summary_frame()
        >>> table["term"].tolist()
        ['intercept', 'limit_estimate']
        """
        df = np.nan if self.df is None else float(self.df)
        nan = np.nan
        columns: dict[str, Any] = {
            "term": ["intercept", "limit_estimate"],
            "estimate": [self.intercept, self.limit_estimate],
            "se": [self.se, self.limit_se],
            "statistic": [self.statistic, nan],
            "df": [df, df],
            "pvalue": [self.pvalue, nan],
            "ci_low": [self.ci.low, self.limit_ci.low],
            "ci_high": [self.ci.high, self.limit_ci.high],
        }
        columns = {
            k: (v if k == "term" else np.asarray(v, dtype=float)) for k, v in columns.items()
        }
        natural_b0 = natural_columns(
            self.measure,
            [nan, self.limit_estimate],
            [nan, self.limit_ci.low],
            [nan, self.limit_ci.high],
            taken=list(columns),
        )
        return make_frame("EggerResult.summary_frame", {**columns, **natural_b0})

    def to_frame(self) -> pd.DataFrame:
        """The same table as :meth:`summary_frame` (the result keeps no per-study data).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> mp.egger_test(eff).to_frame().shape
        (2, 8)
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        stat = "z" if self.df is None else "t"
        rows = [
            [
                "Egger's intercept (asymmetry)",
                short(self.intercept),
                short(self.se),
                f"{stat} = {self.statistic:.3f}",
                p_text(self.pvalue),
                f"[{short(self.ci.low)}, {short(self.ci.high)}]",
            ],
            [
                "Limit estimate (sei \u2192 0)",
                short(self.limit_estimate),
                short(self.limit_se),
                "",
                "",
                f"[{short(self.limit_ci.low)}, {short(self.limit_ci.high)}]",
            ],
        ]
        footer = [f"k = {self.k}; measure {self.measure}; {self.method} ({self.model})"]
        return html_table(
            f"Regression test for funnel-plot asymmetry ({self.test})",
            ["", "estimate", "se", "statistic", "p", f"{pct}% CI"],
            rows,
            footer,
        )

    def __repr__(self) -> str:
        stat = "z" if self.df is None else "t"
        df = "" if self.df is None else f", df={self.df}"
        return (
            f"EggerResult(intercept={short(self.intercept)}, {stat}={self.statistic:.3g}{df}, "
            f"{p_text(self.pvalue).replace(' ', '')}, k={self.k}, {self.model})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class BeggResult:
    """Result of :func:`~metapool.begg_test`.

    Attributes
    ----------
    statistic : float
        Kendall's tau (tau-b, which is tau-a when there are no ties) between the
        standardised deviates and the sampling variances.
    pvalue : float
        Two-sided p-value.
    score : int
        Kendall's score ``S`` = concordant minus discordant pairs.
    exact : bool
        Whether the p-value comes from the exact null distribution (no ties,
        as R's ``cor.test(exact = TRUE)``) or from the normal approximation
        with the tie-corrected variance of ``S``.
    k : int
        Number of studies.
    measure : Measure
        Effect measure of the studies.
    notes : tuple of str
        Decisions taken for this data (small k, ties).
    """

    statistic: float
    pvalue: float
    score: int
    exact: bool
    k: int
    measure: Measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return fields_to_dict(self, replace={"measure": {"measure": self.measure.to_dict()}})

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``ranktest`` output."""
        how = "exact" if self.exact else "normal approximation"
        lines = [
            "Rank correlation test for funnel-plot asymmetry (Begg & Mazumdar)",
            "",
            f"k = {self.k} (measure {self.measure})",
            f"Kendall's tau = {fmt(self.statistic, digits)} (S = {self.score}), "
            f"{p_text(self.pvalue)} ({how})",
        ]
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def summary_frame(self) -> pd.DataFrame:
        """The test as a one-row table: ``statistic`` (Kendall's tau), ``score``,
        ``pvalue``, ``exact``, ``k``.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> mp.begg_test(eff).summary_frame()[["score", "exact", "k"]].to_dict("records")
        [{'score': 40, 'exact': False, 'k': 10}]
        """
        return make_frame(
            "BeggResult.summary_frame",
            {
                "statistic": self.statistic,
                "score": self.score,
                "pvalue": self.pvalue,
                "exact": self.exact,
                "k": self.k,
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """The same one-row table as :meth:`summary_frame` (the result keeps no
        per-study data).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> list(mp.begg_test(eff).to_frame().columns)
        ['statistic', 'score', 'pvalue', 'exact', 'k']
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        how = "exact" if self.exact else "normal approximation"
        rows = [[f"{self.statistic:.4f}", str(self.score), p_text(self.pvalue), how]]
        return html_table(
            "Rank correlation test for funnel-plot asymmetry (Begg & Mazumdar)",
            ["Kendall's tau", "S", "p", "p-value"],
            rows,
            [f"k = {self.k}; measure {self.measure}"],
        )

    def __repr__(self) -> str:
        how = "exact" if self.exact else "normal approximation"
        return (
            f"BeggResult(tau={self.statistic:.3f}, {p_text(self.pvalue).replace(' ', '')}, "
            f"k={self.k}, {how})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class TrimFillResult:
    """Result of :func:`~metapool.trim_and_fill`.

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Its standard error (metafor's ``se.k0``; NaN where the variance
        formula turns negative).
    pvalue_k0 : float or None
        For R0, ``P(R0 >= k0)`` under no asymmetry, ``2^-(k0+1)`` (metafor's
        ``p.k0``); ``None`` for L0 and Q0.
    side : {"left", "right"}
        The side of the funnel plot on which studies are missing (and filled).
    side_estimated : bool
        Whether ``side`` was chosen from the data (see :func:`~metapool.trim_and_fill`).
    estimator : {"L0", "R0", "Q0"}
        Estimator of ``k0``.
    trimmed_estimate : float
        Pooled estimate of the trimmed studies at convergence: the centre
        around which the filled studies mirror the trimmed ones.
    adjusted : MetaResult
        The same model fitted to the observed and the filled studies (the
        original result itself when ``k0 = 0``).
    filled : EffectSet
        The imputed studies (``yi``, ``vi``, labels "Filled 1", ...); empty when
        ``k0 = 0``.
    filled_from : tuple of int
        For each filled study, the position in ``original`` of the study it mirrors.
    original : MetaResult
        The result that was passed in.
    iterations : int
        Iterations of the trim-and-fill algorithm.
    converged : bool
        Whether every τ² estimate along the way converged.
    notes : tuple of str
        Decisions taken for this data.
    """

    k0: int
    se_k0: float
    pvalue_k0: float | None
    side: str
    side_estimated: bool
    estimator: str
    trimmed_estimate: float
    adjusted: MetaResult
    filled: EffectSet
    filled_from: tuple[int, ...]
    original: MetaResult = attrs.field(eq=False)
    iterations: int
    converged: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (the adjusted fit in full; the original by its estimate)."""
        return fields_to_dict(
            self,
            replace={"original": {"original_estimate": json_float(self.original.estimate)}},
        )

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``trimfill`` output; the estimates
        also on the natural scale when the measure's scales differ."""
        measure = self.original.measure
        on_natural = not measure.scale.is_identity
        how = "estimated from the data" if self.side_estimated else "given"
        lines = [
            f"Trim and fill (Duval & Tweedie; estimator {self.estimator}; side {how})",
            "",
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {fmt(self.se_k0, digits)})",
        ]
        if self.pvalue_k0 is not None:
            lines.append(f"Test of H0: no missing studies (R0): p = {fmt(self.pvalue_k0, digits)}")
        if self.k0 > 0:
            centre = fmt(self.trimmed_estimate, digits)
            if on_natural:
                centre += f"; {measure} {natural(measure, self.trimmed_estimate):.{digits}f}"
            lines.append(f"Filled studies (mirrored around {centre}):")
            for i in range(self.k0):
                source = self.original.labels[self.filled_from[i]]
                lines.append(
                    f"  {self.filled.labels[i]}: yi = {fmt(float(self.filled.yi[i]), digits)}, "
                    f"vi = {fmt(float(self.filled.vi[i]), digits)} (mirror of {source})"
                )
        if on_natural:
            before = natural(measure, self.original.estimate)
            after = natural(measure, self.adjusted.estimate)
            lines.append(
                f"Estimate ({measure}): {before:.{digits}f} (observed studies) -> "
                f"{after:.{digits}f} (observed + filled)"
            )
        lines.append(
            f"Estimate{f' ({measure.scale.name} scale)' if on_natural else ''}: "
            f"{fmt(self.original.estimate, digits)} (observed studies) -> "
            f"{fmt(self.adjusted.estimate, digits)} (observed + filled)"
        )
        lines += notes_block(self.notes)
        lines += warning_block(self.converged, "a tau^2 estimator")
        lines += [
            "",
            "Adjusted analysis (observed + filled studies)",
            self.adjusted.summary(digits),
        ]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per study, observed then filled: the columns of
        :meth:`MetaResult.to_frame` of the adjusted fit (``weight`` is the weight in
        that fit) and ``filled`` (True for an imputed study).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> tf = mp.trim_and_fill(mp.CommonEffect().fit(eff))
        >>> frame = tf.to_frame()
        >>> int(frame["filled"].sum()) == tf.k0, frame["label"].iloc[-1]
        (True, 'Filled 5')
        """
        frame = self.adjusted.to_frame()
        frame["filled"] = np.arange(self.adjusted.k) >= self.original.k
        return frame

    def summary_frame(self) -> pd.DataFrame:
        """Two rows, ``"observed"`` and ``"observed + filled"`` (column ``analysis``),
        with the columns of :meth:`MetaResult.summary_frame` but ``method``.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.05, 0.3, 0.1, 0.6, 0.2, 0.45, 0.25, 0.5, 0.15, 0.7],
        ...                     vi=[0.01, 0.05, 0.03, 0.2, 0.02, 0.1, 0.04, 0.12, 0.02, 0.3])
        >>> table = mp.trim_and_fill(mp.CommonEffect().fit(eff)).summary_frame()
        >>> table[["analysis", "k"]].to_dict("list")
        {'analysis': ['observed', 'observed + filled'], 'k': [10, 15]}
        """
        rows = [
            {"analysis": ["observed"], **self.original._summary_columns()},
            {"analysis": ["observed + filled"], **self.adjusted._summary_columns()},
        ]
        return make_frame("TrimFillResult.summary_frame", stack(rows))

    def _repr_html_(self) -> str:
        pct = round(100 * self.original.level)
        measure = self.original.measure
        rows = []
        for name, res in (("observed", self.original), ("observed + filled", self.adjusted)):
            bt = res.back_transform()
            rows.append(
                [name, str(res.k), short(bt.estimate), f"[{short(bt.ci.low)}, {short(bt.ci.high)}]"]
            )
        footer = [
            f"Estimated missing studies on the {self.side} side: {self.k0} "
            f"(estimator {self.estimator})"
        ]
        return html_table(
            "Trim and fill (Duval & Tweedie)",
            ["", "k", str(measure), f"{pct}% CI"],
            rows,
            footer,
        )

    def __repr__(self) -> str:
        measure = self.original.measure
        before = natural(measure, self.original.estimate)
        after = natural(measure, self.adjusted.estimate)
        return (
            f"TrimFillResult(k0={self.k0} on the {self.side}, {self.estimator}; "
            f"{measure} {short(before)} -> {short(after)})"
        )

    def __str__(self) -> str:
        return self.summary()
