"""The result of a GLMM meta-regression (:class:`~metapool.GLMM` with moderators)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import z_crit
from metapool._serialize import fields_to_dict, measure_entries
from metapool._validation import check_level
from metapool.results._frames import make_frame, pooled_columns, study_columns
from metapool.results._html import html_table
from metapool.results._intervals import IntervalArray
from metapool.results._regression import Prediction
from metapool.results._report import excluded_block, notes_block, p_text, short, warning_block

if TYPE_CHECKING:
    import pandas as pd

    from metapool._data import ExcludedStudy
    from metapool._moderators import DesignMatrix
    from metapool.effects import Measure

__all__ = ["GLMMRegressionResult"]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class GLMMRegressionResult:
    """A fitted GLMM meta-regression (:meth:`metapool.GLMM.fit` with ``moderators``),
    as metafor's ``rma.glmm(..., mods = ~ ...)``.

    Attributes
    ----------
    method, glmm_model : str
        The fit (``"GLMM (UM.FS, random effect, ML)"``) and the GLMM's model.
    coef, se, statistic, pvalue : ndarray
        Coefficients (intercept first), standard errors (inverse observed
        information), Wald z statistics and two-sided p-values.
    ci : IntervalArray
        Wald confidence intervals of the coefficients.
    names : tuple of str
        Column names of the design matrix.
    vcov : ndarray
        Covariance matrix of the coefficients.
    tau2, tau : float
        Residual between-study variance (0 for ``method="EE"``) and its square root.
    qm, qm_df, qm_pvalue : float, int, float
        Omnibus Wald test of the moderators (every coefficient but the intercept),
        chi-square with ``qm_df`` df (NaN without moderators).
    qe, qe_df, qe_pvalue : float, int, float
        Wald-type test for residual heterogeneity (metafor's ``QE.Wld``): in the
        saturated model, that the study effects lie on ``Xβ``.
    qe_lrt, qe_lrt_pvalue : float
        Likelihood-ratio test for residual heterogeneity: the saturated model against
        the common-effect meta-regression (metafor's ``QE.LRT``).
    i2, h2 : float
        Residual I² (percent) and H², from τ² and metafor's typical within-study
        variance ``(k - p)/tr(P)`` of the effect-size set.
    loglik, loglik_common, loglik_saturated : float
        Maximised marginal log-likelihood, and those of the common-effect
        meta-regression and of the saturated model.
    sigma2 : float
        ``"UM.RS"``: the variance of the random study intercepts (NaN otherwise).
    n_agq : int
        Quadrature nodes (1: the Laplace approximation, as for UM.RS).
    quadrature_change : float
        Change of the maximised log-likelihood with ``2 n_agq + 1`` nodes (NaN if
        not checked).
    boundary : bool
        Whether ``τ² = 0`` is the estimate.
    k, p : int
        Studies analysed (after any left out for missing moderators) and coefficients.
    converged : bool
        Whether every maximisation converged.
    design : DesignMatrix
        How the moderators became columns (for :meth:`predict`).
    informative : ndarray of bool
        Which studies carry information in the model (double-zero studies do not,
        except in UM.RS).
    yi, vi, labels, measure : ndarray, ndarray, tuple of str, Measure
        The effect-size set of the studies analysed (for tables and plots).
    excluded : tuple of ExcludedStudy
        Studies left out (by the effect set, or for a missing moderator).
    notes : tuple of str
        Decisions taken for this data.

    Examples
    --------
    >>> import metapool as mp
    >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
    >>> reg = mp.GLMM().fit(plo, {"x": [1.0, 0.5, 0.0, 0.4, 1.2, 0.3]})
    >>> print(reg.summary().splitlines()[0])
    GLMM meta-regression (binomial-normal, random effect, ML; k = 6)
    """

    model: Any
    method: str
    glmm_model: str
    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    ci: IntervalArray
    names: tuple[str, ...]
    vcov: Array = array_field()
    tau2: float
    tau: float
    qm: float
    qm_df: int
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    qe_lrt: float
    qe_lrt_pvalue: float
    i2: float
    h2: float
    loglik: float
    loglik_common: float
    loglik_saturated: float
    sigma2: float
    n_agq: int
    quadrature_change: float
    boundary: bool
    k: int
    p: int
    converged: bool
    level: float
    design: DesignMatrix
    informative: NDArray[np.bool_] = array_field()
    yi: Array = array_field()
    vi: Array = array_field()
    labels: tuple[str, ...]
    measure: Measure
    excluded: tuple[ExcludedStudy, ...] = ()
    notes: tuple[str, ...] = ()

    def predict(self, new_moderators: Any) -> Prediction:
        """Predicted effects for new moderator values (same form as in the fit).

        ``pred = x'β``, ``se = sqrt(x' V x)``, Wald CI ``pred ± z·se`` and prediction
        interval ``pred ± z·sqrt(se² + τ²)`` (as metafor's ``predict``).

        Examples
        --------
        >>> import metapool as mp
        >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
        >>> reg = mp.GLMM().fit(plo, {"x": [1.0, 0.5, 0.0, 0.4, 1.2, 0.3]})
        >>> bool(abs(reg.predict({"x": [0.0]}).pred[0] - reg.coef[0]) < 1e-12)
        True
        """
        rows = self.design.encode(new_moderators)
        pred = rows @ self.coef
        se = np.sqrt(np.einsum("ip,pq,iq->i", rows, self.vcov, rows))
        crit = z_crit(self.level)
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(
            pred=pred,
            se=se,
            ci=IntervalArray(pred - crit * se, pred + crit * se),
            pi=IntervalArray(pred - half_pi, pred + half_pi),
        )

    def confidence_interval(self, level: float) -> IntervalArray:
        """Wald intervals of the coefficients at another level, without refitting."""
        crit = z_crit(check_level("GLMMRegressionResult.confidence_interval", level))
        return IntervalArray(self.coef - crit * self.se, self.coef + crit * self.se)

    def summary(self, digits: int = 4) -> str:
        """A metafor-style report."""
        pct = round(100 * self.level)
        d = digits
        kind = self.method.removeprefix("GLMM (").removesuffix(")")
        quad = (
            "Laplace approximation"
            if self.n_agq == 1
            else f"{self.n_agq}-point adaptive Gauss-Hermite quadrature"
        )
        lines = [
            f"GLMM meta-regression ({kind}; k = {self.k})",
            f"  {quad}; log-likelihood = {self.loglik:.{d}f}"
            + ("; tau^2 = 0 is the estimate (boundary)" if self.boundary else ""),
            "",
            f"tau^2 (residual heterogeneity) = {self.tau2:.{d}f}; tau = {self.tau:.{d}f}",
            "I^2 (residual) = "
            + ("NA" if math.isnan(self.i2) else f"{self.i2:.2f}%")
            + "; H^2 = "
            + ("NA" if math.isnan(self.h2) else f"{self.h2:.2f}"),
            "",
        ]
        if self.qe_df > 0 and not math.isnan(self.qe):
            lines.append(
                f"Tests for residual heterogeneity (df = {self.qe_df}): Wald-type QE = "
                f"{self.qe:.{d}f}, {p_text(self.qe_pvalue)}; likelihood-ratio QE = "
                f"{self.qe_lrt:.{d}f}, {p_text(self.qe_lrt_pvalue)}"
            )
        if self.qm_df:
            lines.append(
                f"Test of moderators: QM(df = {self.qm_df}) = {self.qm:.{d}f}, "
                f"{p_text(self.qm_pvalue)}"
            )
        lines += [
            "",
            f"  {'':<22}{'estimate':>10}{'se':>10}{'zval':>9}{'pval':>9}   {pct}% CI",
        ]
        for j, name in enumerate(self.names):
            lines.append(
                f"  {name[:21]:<22}{self.coef[j]:>10.4f}{self.se[j]:>10.4f}"
                f"{self.statistic[j]:>9.3f}{self.pvalue[j]:>9.4f}   "
                f"[{self.ci.low[j]:.4f}, {self.ci.high[j]:.4f}]"
            )
        lines += excluded_block(self.excluded)
        lines += notes_block(self.notes)
        lines += warning_block(self.converged, "the likelihood maximisation")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (the design as its column names).

        Examples
        --------
        >>> import json
        >>> import metapool as mp
        >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
        >>> d = mp.GLMM().fit(plo, {"x": [1.0, 0.5, 0.0, 0.4, 1.2, 0.3]}).to_dict()
        >>> d["names"], d["qm_df"], len(json.dumps(d)) > 0
        (['intercept', 'x'], 1, True)
        """
        out = fields_to_dict(
            self, skip=("design",), replace={"measure": measure_entries(self.measure)}
        )
        out["design"] = list(self.design.names)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per study analysed: the effect with its Wald CI (of the effect-size
        set), the fitted value ``x'β``, the residual, and whether the study informs
        the model.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed.

        Examples
        --------
        >>> import metapool as mp
        >>> plo = mp.escalc("PLO", xi=[16, 10, 4, 43, 9, 25], ni=[17, 12, 8, 58, 10, 42])
        >>> reg = mp.GLMM().fit(plo, {"x": [1.0, 0.5, 0.0, 0.4, 1.2, 0.3]})
        >>> list(reg.to_frame().columns)[-3:]
        ['fitted', 'residual', 'informative']
        """
        columns = study_columns(self.measure, self.labels, self.yi, self.vi, self.level)
        fitted = self.design.X @ self.coef
        columns.update(
            {"fitted": fitted, "residual": self.yi - fitted, "informative": self.informative}
        )
        return make_frame("GLMMRegressionResult.to_frame", columns)

    def summary_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``term``, ``estimate``, ``se``, ``statistic``,
        ``df`` (NaN: z tests), ``pvalue``, ``ci_low``, ``ci_high``; on the log scale
        also ``exp_estimate``, ``exp_ci_low``, ``exp_ci_high``.

        Returns
        -------
        pandas.DataFrame
        """
        columns: dict[str, Any] = {"term": list(self.names)}
        columns.update(
            pooled_columns(
                None,
                estimate=self.coef,
                se=self.se,
                statistic=self.statistic,
                df=np.full(self.p, math.nan),
                pvalue=self.pvalue,
                ci_low=self.ci.low,
                ci_high=self.ci.high,
            )
        )
        if self.measure.scale.name == "log":
            columns.update(
                {
                    "exp_estimate": np.exp(self.coef),
                    "exp_ci_low": np.exp(self.ci.low),
                    "exp_ci_high": np.exp(self.ci.high),
                }
            )
        return make_frame("GLMMRegressionResult.summary_frame", columns)

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        rows = [
            [
                name,
                short(float(self.coef[j])),
                short(float(self.se[j])),
                p_text(float(self.pvalue[j])),
                f"[{short(float(self.ci.low[j]))}, {short(float(self.ci.high[j]))}]",
            ]
            for j, name in enumerate(self.names)
        ]
        footer = [
            f"Residual heterogeneity: \u03c4\u00b2 = {self.tau2:.4g}, I\u00b2 = "
            + ("NA" if math.isnan(self.i2) else f"{self.i2:.1f}%"),
            "Test of moderators: "
            + (
                f"QM(df = {self.qm_df}) = {self.qm:.4f}, {p_text(self.qm_pvalue)}"
                if self.qm_df
                else "none"
            ),
            f"k = {self.k} studies; {self.method}; log-likelihood {self.loglik:.4f}",
        ]
        return html_table(
            "GLMM meta-regression", ["", "estimate", "se", "p", f"{pct}% CI"], rows, footer
        )

    def __repr__(self) -> str:
        return (
            f"GLMMRegressionResult(k={self.k}, {self.glmm_model}, terms=({', '.join(self.names)}), "
            f"tau2={self.tau2:.3g}, QM p={self.qm_pvalue:.3g}, loglik={self.loglik:.4f})"
        )

    def __str__(self) -> str:
        return self.summary()
