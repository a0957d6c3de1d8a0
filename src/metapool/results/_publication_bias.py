"""The results of the publication-bias methods beyond the regression tests: selection
models, fail-safe N, the test of excess significance and PET-PEESE."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from metapool._serialize import fields_to_dict
from metapool.results._bias import EggerResult
from metapool.results._frames import make_frame
from metapool.results._html import html_table
from metapool.results._intervals import Interval
from metapool.results._report import fmt, notes_block, p_text, short, warning_block

if TYPE_CHECKING:
    import pandas as pd

    from metapool.effects import Measure

__all__ = [
    "ExcessSignificanceResult",
    "FailSafeNResult",
    "PetPeeseResult",
    "SelectionModelResult",
]


def _measure_dict(obj: Any) -> dict[str, Any]:
    return fields_to_dict(obj, replace={"measure": {"measure": obj.measure.to_dict()}})


@attrs.frozen(kw_only=True)
class SelectionModelResult:
    """Result of :func:`~metapool.selection_model`.

    Attributes
    ----------
    type : {"stepfun", "beta", "halfnorm", "negexp"}
        The selection function.
    steps : tuple of float
        Its cut-points (ending with 1 for stepfun; the threshold for halfnorm and
        negexp; empty for beta).
    alternative : {"greater", "less", "two.sided"}
        How the studies' p-values were computed.
    estimate, se : float
        The effect adjusted for selection (``mu``) and its standard error.
    statistic, pvalue : float
        Wald z test of ``mu = 0``.
    ci : Interval
        Wald confidence interval of ``mu``.
    tau2, se_tau2 : float
        Between-study variance under the selection model (0 for a common-effect
        model) and its standard error (NaN when fixed or on the bound 0).
    tau2_estimated : bool
        Whether τ² was estimated (random-effects input) or fixed at 0.
    tau2_at_boundary : bool
        Whether the estimate of τ² is on its bound 0.
    delta, se_delta : tuple of float
        Selection parameters and their standard errors (stepfun: one per
        interval, the first fixed at 1 with SE NaN).
    delta_ci : tuple of Interval
        Wald intervals of the selection parameters (truncated at 0, as metafor's).
    delta_at_bound : tuple of bool
        Which selection parameters are on their bound (then the estimates depend
        on the bound; a warning was issued).
    lrt_statistic, lrt_df, lrt_pvalue : float, int, float
        Likelihood-ratio test of the selection model against the same model
        without selection (``2 (ll - ll_null)``, chi-squared with ``lrt_df``
        degrees of freedom, the number of free selection parameters).
    loglik, loglik_null : float
        Maximised log-likelihood with and without selection.
    unadjusted_estimate, unadjusted_tau2 : float
        The ML estimates without selection.
    n_per_interval : tuple of int
        Number of observed p-values in each stepfun interval (empty otherwise).
    level : float
        Confidence level.
    k : int
        Number of studies.
    converged : bool
        Whether the optimiser converged (gradient zero for the free parameters).
    measure : Measure
        Effect measure.
    notes : tuple of str
        Decisions taken for this data.
    """

    type: str
    steps: tuple[float, ...]
    alternative: str
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci: Interval
    tau2: float
    se_tau2: float
    tau2_estimated: bool
    tau2_at_boundary: bool
    delta: tuple[float, ...]
    se_delta: tuple[float, ...]
    delta_ci: tuple[Interval, ...]
    delta_at_bound: tuple[bool, ...]
    lrt_statistic: float
    lrt_df: int
    lrt_pvalue: float
    loglik: float
    loglik_null: float
    unadjusted_estimate: float
    unadjusted_tau2: float
    n_per_interval: tuple[int, ...]
    level: float
    k: int
    converged: bool
    measure: Measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return _measure_dict(self)

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``selmodel`` output."""
        pct = round(100 * self.level)
        kind = {"stepfun": "step function", "beta": "beta", "halfnorm": "half-normal"}.get(
            self.type, "negative exponential"
        )
        lines = [
            f"Selection model ({kind}; p-values: {self.alternative}; k = {self.k}; "
            f"measure {self.measure})",
            "",
            f"Adjusted estimate: {fmt(self.estimate, digits)} (se = {fmt(self.se, digits)}; "
            f"z = {fmt(self.statistic, digits)}, {p_text(self.pvalue)}; {pct}% CI "
            f"{self.ci.format(digits)})",
            f"Without selection (ML): {fmt(self.unadjusted_estimate, digits)}"
            + (f", tau^2 = {fmt(self.unadjusted_tau2, digits)}" if self.tau2_estimated else ""),
        ]
        if self.tau2_estimated:
            lines.append(
                f"tau^2 = {fmt(self.tau2, digits)} (se = {fmt(self.se_tau2, digits)})"
                + (" [on its bound 0]" if self.tau2_at_boundary else "")
            )
        lines += [
            "",
            f"Test for selection: LRT = {fmt(self.lrt_statistic, digits)}, "
            f"df = {self.lrt_df}, {p_text(self.lrt_pvalue)}",
            "",
            "Selection parameters:",
        ]
        for j, d in enumerate(self.delta):
            where = ""
            if self.type == "stepfun":
                low = 0.0 if j == 0 else self.steps[j - 1]
                where = f" {low:g} < p <= {self.steps[j]:g} (k = {self.n_per_interval[j]})"
            se = "fixed" if np.isnan(self.se_delta[j]) else f"se = {fmt(self.se_delta[j], digits)}"
            bound = " [on its bound]" if self.delta_at_bound[j] else ""
            lines.append(f"  delta[{j + 1}] = {fmt(d, digits)} ({se}){where}{bound}")
        lines += notes_block(self.notes)
        lines += warning_block(self.converged, "the optimiser")
        return "\n".join(lines)

    def summary_frame(self) -> pd.DataFrame:
        """The parameters as rows: ``mu``, ``tau2``, ``delta[1]``, ...; columns
        ``estimate``, ``se``, ``ci_low``, ``ci_high``.

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
        >>> eff = mp.GenericEffect(
        ...     yi=[0.51, 0.42, 0.30, 0.65, 0.12, 0.48, 0.05, 0.38, 0.71, 0.22, 0.55, 0.09],
        ...     vi=[0.04, 0.03, 0.02, 0.09, 0.01, 0.05, 0.01, 0.03, 0.12, 0.02, 0.06, 0.015])
        >>> sel = mp.selection_model(mp.RandomEffects().fit(eff))
        >>> sel.summary_frame()["term"].tolist()
        ['mu', 'tau2', 'delta[1]', 'delta[2]']
        """
        crit_lo, crit_hi = self.ci.low, self.ci.high
        terms = ["mu", "tau2"] + [f"delta[{j + 1}]" for j in range(len(self.delta))]
        nan = float("nan")
        return make_frame(
            "SelectionModelResult.summary_frame",
            {
                "term": terms,
                "estimate": np.asarray([self.estimate, self.tau2, *self.delta], dtype=float),
                "se": np.asarray([self.se, self.se_tau2, *self.se_delta], dtype=float),
                "ci_low": np.asarray([crit_lo, nan, *(c.low for c in self.delta_ci)], dtype=float),
                "ci_high": np.asarray(
                    [crit_hi, nan, *(c.high for c in self.delta_ci)], dtype=float
                ),
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """The same table as :meth:`summary_frame`.

        Returns
        -------
        pandas.DataFrame
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        rows = [
            ["mu (adjusted)", short(self.estimate), short(self.se), p_text(self.pvalue)],
            ["tau^2", short(self.tau2), short(self.se_tau2), ""],
        ]
        rows += [
            [f"delta[{j + 1}]", short(d), short(s), ""]
            for j, (d, s) in enumerate(zip(self.delta, self.se_delta, strict=True))
        ]
        return html_table(
            f"Selection model ({self.type})",
            ["", "estimate", "se", "p"],
            rows,
            [
                f"LRT = {self.lrt_statistic:.3f}, df = {self.lrt_df}, "
                f"{p_text(self.lrt_pvalue)}; k = {self.k}"
            ],
        )

    def __repr__(self) -> str:
        return (
            f"SelectionModelResult(type={self.type!r}, estimate={short(self.estimate)}, "
            f"tau2={short(self.tau2)}, LRT={self.lrt_statistic:.3g}, "
            f"{p_text(self.lrt_pvalue).replace(' ', '')}, k={self.k})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class FailSafeNResult:
    """Result of :func:`~metapool.fail_safe_n`.

    Attributes
    ----------
    method : {"Rosenthal", "Orwin", "Rosenberg"}
        The fail-safe N.
    n : int
        Number of unpublished null studies needed to bring the result to the
        target (rounded up, as metafor's ``fsn``).
    alpha : float
        Significance level (Rosenthal, Rosenberg).
    pvalue : float
        p-value of the observed studies' combined test (Rosenthal: one-sided
        Stouffer; Rosenberg: two-sided fixed-effect z); NaN for Orwin.
    mean_effect : float
        The (weighted, for Rosenberg) mean effect (NaN for Rosenthal).
    target : float
        Orwin's target mean effect (NaN for the others).
    k : int
        Number of studies.
    measure : Measure
        Effect measure.
    notes : tuple of str
        Decisions taken for this data.
    """

    method: str
    n: int
    alpha: float
    pvalue: float
    mean_effect: float
    target: float
    k: int
    measure: Measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return _measure_dict(self)

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``fsn`` output."""
        lines = [f"Fail-safe N ({self.method}; k = {self.k}; measure {self.measure})", ""]
        if self.method == "Orwin":
            lines.append(f"Average effect: {fmt(self.mean_effect, digits)}")
            lines.append(f"Target effect:  {fmt(self.target, digits)}")
        else:
            if self.method == "Rosenberg":
                lines.append(f"Average effect (weighted): {fmt(self.mean_effect, digits)}")
            lines.append(f"Observed significance: {p_text(self.pvalue)}")
            lines.append(f"Target significance level: {self.alpha:g}")
        lines += ["", f"Fail-safe N: {self.n}"]
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """A one-row table of the fields but ``measure`` and ``notes``.

        Returns
        -------
        pandas.DataFrame
        """
        return make_frame(
            "FailSafeNResult.to_frame",
            {
                name: getattr(self, name)
                for name in ("method", "n", "alpha", "pvalue", "mean_effect", "target", "k")
            },
        )

    def summary_frame(self) -> pd.DataFrame:
        """The same one-row table as :meth:`to_frame`.

        Returns
        -------
        pandas.DataFrame
        """
        return self.to_frame()

    def _repr_html_(self) -> str:
        p = "" if np.isnan(self.pvalue) else p_text(self.pvalue)
        return html_table(
            f"Fail-safe N ({self.method})",
            ["N", "p", "mean effect", "target"],
            [[str(self.n), p, short(self.mean_effect), short(self.target)]],
            [f"k = {self.k}; measure {self.measure}"],
        )

    def __repr__(self) -> str:
        return f"FailSafeNResult(method={self.method!r}, n={self.n}, k={self.k})"

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class ExcessSignificanceResult:
    """Result of :func:`~metapool.excess_significance`.

    Attributes
    ----------
    observed : int
        Number of studies significant at ``alpha`` (in the direction of
        ``alternative``).
    expected : float
        Expected number: the sum of the studies' power at the effect ``theta``.
    ratio : float
        ``observed / expected``.
    power : tuple of float
        Each study's power.
    theta : float
        The true effect assumed (the pooled estimate by default).
    tau2 : float
        Between-study variance used in the power (0: none).
    pvalue : float
        p-value of the test that more studies are significant than expected
        (``tes_alternative``), from the exact (Poisson-binomial) distribution of
        the number of significant studies, or the ``test`` chosen.
    statistic : float
        The chi-squared statistic for ``test="chi2"`` (NaN otherwise).
    test : {"exact", "binom", "chi2"}
        How the p-value was computed.
    alpha : float
        Significance level of the individual studies.
    alternative, tes_alternative : str
        Sidedness of the studies' tests and of the test of excess significance.
    k : int
        Number of studies.
    measure : Measure
        Effect measure.
    notes : tuple of str
        Decisions taken for this data.
    """

    observed: int
    expected: float
    ratio: float
    power: tuple[float, ...]
    theta: float
    tau2: float
    pvalue: float
    statistic: float
    test: str
    alpha: float
    alternative: str
    tes_alternative: str
    k: int
    measure: Measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return _measure_dict(self)

    def summary(self, digits: int = 4) -> str:
        """A readable report in the style of metafor's ``tes`` output."""
        stat = "" if np.isnan(self.statistic) else f"X^2 = {fmt(self.statistic, digits)}, "
        lines = [
            f"Test of excess significance (k = {self.k}; measure {self.measure})",
            "",
            f"Observed number of significant findings: {self.observed}",
            f"Expected number of significant findings: {fmt(self.expected, digits)}",
            f"Observed / expected ratio:               {fmt(self.ratio, digits)}",
            "",
            f"Test of excess significance ({self.test}; {self.tes_alternative}): "
            f"{stat}{p_text(self.pvalue)}",
            f"Power computed at theta = {fmt(self.theta, digits)}"
            + (f", tau^2 = {fmt(self.tau2, digits)}" if self.tau2 > 0 else ""),
        ]
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: its ``power``.

        Returns
        -------
        pandas.DataFrame
        """
        return make_frame("ExcessSignificanceResult.to_frame", {"power": np.asarray(self.power)})

    def summary_frame(self) -> pd.DataFrame:
        """A one-row table: ``observed``, ``expected``, ``ratio``, ``pvalue``, ``test``.

        Returns
        -------
        pandas.DataFrame
        """
        return make_frame(
            "ExcessSignificanceResult.summary_frame",
            {
                "observed": self.observed,
                "expected": self.expected,
                "ratio": self.ratio,
                "pvalue": self.pvalue,
                "test": [self.test],
            },
        )

    def _repr_html_(self) -> str:
        return html_table(
            "Test of excess significance",
            ["observed", "expected", "O/E", "p"],
            [
                [
                    str(self.observed),
                    short(self.expected),
                    short(self.ratio),
                    p_text(self.pvalue),
                ]
            ],
            [f"k = {self.k}; {self.test} test ({self.tes_alternative})"],
        )

    def __repr__(self) -> str:
        return (
            f"ExcessSignificanceResult(observed={self.observed}, "
            f"expected={self.expected:.3g}, {p_text(self.pvalue).replace(' ', '')}, k={self.k})"
        )

    def __str__(self) -> str:
        return self.summary()


@attrs.frozen(kw_only=True)
class PetPeeseResult:
    """Result of :func:`~metapool.pet_peese`.

    Attributes
    ----------
    pet : EggerResult
        PET: the regression of ``yi`` on ``sei``; its ``limit_estimate`` is the
        PET estimate.
    peese : EggerResult
        PEESE: the regression of ``yi`` on ``vi``; its ``limit_estimate`` is the
        PEESE estimate.
    estimate, se : float
        The conditional estimate and its standard error: PEESE's when PET's
        limit estimate differs from 0 (one-sided test at ``alpha``, in the
        direction of the effect), else PET's.
    ci : Interval
        Its confidence interval.
    chosen : {"PET", "PEESE"}
        Which estimate the rule chose.
    pet_pvalue : float
        The p-value of PET's test of a zero effect that the rule used.
    alpha : float
        Significance level of the rule.
    k : int
        Number of studies.
    measure : Measure
        Effect measure.
    notes : tuple of str
        Decisions taken for this data.
    """

    pet: EggerResult
    peese: EggerResult
    estimate: float
    se: float
    ci: Interval
    chosen: str
    pet_pvalue: float
    alpha: float
    k: int
    measure: Measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (NaN becomes ``None``; the measure in full)."""
        return _measure_dict(self)

    def summary(self, digits: int = 4) -> str:
        """A readable report: PET, PEESE and the conditional choice."""
        pct = round(100 * self.pet.level)
        lines = [
            f"PET-PEESE (k = {self.k}; measure {self.measure})",
            "",
            f"PET   (yi on sei): estimate = {fmt(self.pet.limit_estimate, digits)} "
            f"(se = {fmt(self.pet.limit_se, digits)}; {pct}% CI "
            f"{self.pet.limit_ci.format(digits)})",
            f"PEESE (yi on vi):  estimate = {fmt(self.peese.limit_estimate, digits)} "
            f"(se = {fmt(self.peese.limit_se, digits)}; {pct}% CI "
            f"{self.peese.limit_ci.format(digits)})",
            "",
            f"Rule: PET's estimate differs from 0 at alpha = {self.alpha:g} "
            f"(one-sided {p_text(self.pet_pvalue)}) -> {self.chosen}",
            f"Conditional estimate: {fmt(self.estimate, digits)} "
            f"({pct}% CI {self.ci.format(digits)})",
        ]
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def summary_frame(self) -> pd.DataFrame:
        """Rows ``PET``, ``PEESE`` and ``PET-PEESE`` (the chosen one), with
        ``estimate``, ``se``, ``ci_low``, ``ci_high``.

        Returns
        -------
        pandas.DataFrame
        """
        return make_frame(
            "PetPeeseResult.summary_frame",
            {
                "term": ["PET", "PEESE", "PET-PEESE"],
                "estimate": np.asarray(
                    [self.pet.limit_estimate, self.peese.limit_estimate, self.estimate]
                ),
                "se": np.asarray([self.pet.limit_se, self.peese.limit_se, self.se]),
                "ci_low": np.asarray([self.pet.limit_ci.low, self.peese.limit_ci.low, self.ci.low]),
                "ci_high": np.asarray(
                    [self.pet.limit_ci.high, self.peese.limit_ci.high, self.ci.high]
                ),
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """The same table as :meth:`summary_frame`.

        Returns
        -------
        pandas.DataFrame
        """
        return self.summary_frame()

    def _repr_html_(self) -> str:
        rows = [
            [name, short(r.limit_estimate), short(r.limit_se), r.limit_ci.format(3)]
            for name, r in (("PET", self.pet), ("PEESE", self.peese))
        ]
        rows.append([f"PET-PEESE ({self.chosen})", short(self.estimate), short(self.se), ""])
        return html_table(
            "PET-PEESE",
            ["", "estimate", "se", "CI"],
            rows,
            [f"k = {self.k}; measure {self.measure}"],
        )

    def __repr__(self) -> str:
        return (
            f"PetPeeseResult(estimate={short(self.estimate)}, chosen={self.chosen!r}, k={self.k})"
        )

    def __str__(self) -> str:
        return self.summary()
