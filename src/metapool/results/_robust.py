"""The results of cluster-robust inference: coefficients with robust SEs, and Wald tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._fields import array_field
from metapool._inference import t_crit
from metapool._serialize import fields_to_dict
from metapool._validation import check_level
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.results._frames import make_frame
from metapool.results._html import html_table
from metapool.results._intervals import IntervalArray
from metapool.results._report import notes_block, p_text, short

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RobustResult", "RobustWaldTest", "constraint_matrix", "robust_wald_test"]

Array = NDArray[np.float64]

_DESCRIPTION = {
    "CR0": "CR0: plain sandwich, t tests on clusters - p df, as metafor",
    "CR1": "CR1: sandwich x n/(n - p), t tests on clusters - p df, as metafor",
    "CR2": "CR2: bias-reduced sandwich, Satterthwaite df, as clubSandwich",
}


@attrs.frozen(kw_only=True)
class RobustWaldTest:
    """A cluster-robust Wald test of ``Cβ = 0``.

    Attributes
    ----------
    constraints : ndarray
        The q × p contrast matrix ``C``.
    hypothesis : tuple of str
        The hypothesis in words, one entry per row of ``C`` (e.g. ``"ablat = 0"``).
    test : str
        ``"HTZ"`` (CR2: Hotelling T² approximation of Pustejovsky & Tipton 2018, as
        clubSandwich's ``Wald_test(test="HTZ")``) or ``"F"`` (CR0/CR1: ``Q/q`` on
        ``F(q, clusters - p)``, as metafor's ``robust()``).
    adjust : str
        The small-sample adjustment of the covariance (``"CR0"``, ``"CR1"``, ``"CR2"``).
    q_statistic : float
        The Wald statistic ``(Cβ)ᵀ (C Vᵣ Cᵀ)⁻¹ (Cβ)`` with the robust covariance ``Vᵣ``.
    statistic : float
        The F statistic: ``delta · Q / q``.
    delta : float
        The HTZ scale factor ``(ν - q + 1)/ν`` (1 for the F test).
    df_num, df_denom : int, float
        Degrees of freedom of the F reference distribution.
    pvalue : float
        Upper-tail p-value (NaN when ``df_denom <= 0``).
    """

    constraints: Array = array_field()
    hypothesis: tuple[str, ...]
    test: str
    adjust: str
    q_statistic: float
    statistic: float
    delta: float
    df_num: int
    df_denom: float
    pvalue: float

    def summary(self) -> str:
        """One line per hypothesis, then the test."""
        lines = [f"Cluster-robust Wald test ({self.test}, {self.adjust}) of:"]
        lines += [f"  {h}" for h in self.hypothesis]
        lines.append(
            f"F(df1 = {self.df_num}, df2 = {self.df_denom:.4g}) = {self.statistic:.4f}, "
            f"{p_text(self.pvalue)}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (NaN becomes ``None``)."""
        return fields_to_dict(self)

    def to_frame(self) -> pd.DataFrame:
        """The test as a one-row table.

        Columns: ``hypothesis`` (the rows of ``C`` joined by ``"; "``), ``test``,
        ``adjust``, ``q_statistic``, ``statistic``, ``delta``, ``df_num``,
        ``df_denom``, ``pvalue``.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            If pandas is not installed (``pip install "metapool[pandas]"``).
        """
        return make_frame(
            "RobustWaldTest.to_frame",
            {
                "hypothesis": ["; ".join(self.hypothesis)],
                "test": [self.test],
                "adjust": [self.adjust],
                "q_statistic": self.q_statistic,
                "statistic": self.statistic,
                "delta": self.delta,
                "df_num": self.df_num,
                "df_denom": self.df_denom,
                "pvalue": self.pvalue,
            },
        )

    def summary_frame(self) -> pd.DataFrame:
        """The same one-row table as :meth:`to_frame`."""
        return self.to_frame()

    def _repr_html_(self) -> str:
        rows = [[h] for h in self.hypothesis]
        footer = [
            f"{self.test} ({self.adjust}): F({self.df_num}, {self.df_denom:.3g}) = "
            f"{self.statistic:.4g}, {p_text(self.pvalue)}"
        ]
        return html_table("Cluster-robust Wald test", ["Hypothesis"], rows, footer)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"RobustWaldTest({self.test}: F({self.df_num}, {self.df_denom:.3g}) = "
            f"{self.statistic:.3g}, p={self.pvalue:.3g})"
        )


@attrs.frozen(kw_only=True)
class RobustResult:
    """Cluster-robust (sandwich) inference for the coefficients of a fitted model.

    Made by :func:`metapool.robust`. The coefficients are the model's; their
    covariance is estimated from the residuals clustered as given, so the tests and
    intervals stay valid when effects within a cluster are correlated in ways the
    working model does not describe.

    Attributes
    ----------
    coef, se, statistic, pvalue, df : ndarray
        Coefficients (the model's), robust standard errors, t statistics, two-sided
        p-values and degrees of freedom (``clusters - p`` for CR0/CR1, Satterthwaite
        for CR2; one per coefficient).
    ci : IntervalArray
        ``coef ± t(df) · se`` at :attr:`level`.
    vcov : ndarray
        The robust covariance matrix of the coefficients.
    model_vcov : ndarray
        The model-based covariance matrix (for comparison).
    names : tuple of str
        The coefficients' names.
    adjust : str
        ``"CR0"``, ``"CR1"`` or ``"CR2"``.
    n_clusters : int
        Number of clusters.
    clusters : tuple of str
        The cluster labels, in order of first appearance.
    cluster_sizes : ndarray
        Number of effects in each cluster (same order).
    k, p : int
        Numbers of effects analysed and of coefficients.
    level : float
        Confidence level of :attr:`ci`.
    intercept : bool
        Whether the first coefficient is an intercept.
    wald : RobustWaldTest
        The robust test of every coefficient but the intercept (of the intercept for
        an intercept-only model), as metafor's ``robust()`` reports it.
    source : str
        The kind of result analysed (``"MetaResult"``, ``"MetaRegressionResult"``, ...).
    notes : tuple of str
        Decisions and cautions (e.g. Satterthwaite df below 4).
    """

    coef: Array = array_field()
    se: Array = array_field()
    statistic: Array = array_field()
    pvalue: Array = array_field()
    df: Array = array_field()
    ci: IntervalArray
    vcov: Array = array_field()
    model_vcov: Array = array_field()
    names: tuple[str, ...]
    adjust: str
    n_clusters: int
    clusters: tuple[str, ...]
    cluster_sizes: NDArray[np.int64] = array_field()
    k: int
    p: int
    level: float
    intercept: bool
    wald: RobustWaldTest
    source: str
    notes: tuple[str, ...] = ()
    # The per-cluster terms of the CR2 degrees of freedom (None for CR0/CR1).
    _gram: Array | None = attrs.field(default=None, eq=False, repr=False)
    _lever: Array | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def tval(self) -> Array:
        """The t statistics (the same as :attr:`statistic`)."""
        return self.statistic

    def confidence_interval(self, level: float) -> IntervalArray:
        """Robust confidence intervals at another level: ``coef ± t(df) · se``.

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        IntervalArray

        Raises
        ------
        InvalidParameterError
            If ``level`` is not in (0, 1).

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9, 0.4], vi=[0.02] * 6)
        >>> rob = mp.robust(mp.RandomEffects().fit(eff), [1, 1, 2, 2, 3, 3])
        >>> ci = rob.confidence_interval(0.9)
        >>> bool(ci.low[0] > rob.ci.low[0])
        True
        """
        crit = t_crit(check_level("RobustResult.confidence_interval", level), self.df)
        return IntervalArray(self.coef - crit * self.se, self.coef + crit * self.se)

    def wald_test(self, constraints: Any = None) -> RobustWaldTest:
        """A cluster-robust Wald test that several coefficients (or contrasts) are 0.

        HTZ for CR2 (clubSandwich's ``Wald_test(test="HTZ")``); for CR0 and CR1 the
        F test ``Q/q`` on ``F(q, clusters - p)`` of metafor's ``robust()``.

        Parameters
        ----------
        constraints : None, int, str, sequence of int or str, or 2-d array_like
            Which hypothesis: None for every coefficient but the intercept (as
            :attr:`wald`); coefficients by 0-based position or by name (each = 0);
            or a q × p contrast matrix ``C`` (rows linearly independent) for
            ``Cβ = 0``, e.g. ``[[0, 1, -1]]`` for equality of two coefficients.

        Returns
        -------
        RobustWaldTest

        Raises
        ------
        InvalidParameterError
            If a position or name does not exist, a coefficient is repeated, or the
            matrix does not have p columns or has dependent rows.
        MetapoolTypeError
            If ``constraints`` is of another type.

        Examples
        --------
        >>> import metapool as mp
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9, 0.4, 0.2, 0.6],
        ...                        vi=[0.02, 0.03, 0.02, 0.04, 0.02, 0.03, 0.05, 0.02])
        >>> mods = {"dose": [1, 2, 3, 4, 5, 2, 1, 3], "age": [30, 41, 35, 50, 28, 33, 45, 39]}
        >>> reg = mp.MetaRegression().fit(eff, mods)
        >>> rob = mp.robust(reg, ["a", "a", "b", "b", "c", "c", "d", "e"])
        >>> test = rob.wald_test(["dose", "age"])
        >>> test.test, test.df_num
        ('HTZ', 2)
        """
        return robust_wald_test(
            coef=self.coef,
            vcov=self.vcov,
            names=self.names,
            intercept=self.intercept,
            adjust=self.adjust,
            n_clusters=self.n_clusters,
            gram=self._gram,
            lever=self._lever,
            constraints=constraints,
        )

    # ------------------------------------------------------------------ output
    def summary(self) -> str:
        """A metafor-style report of the robust tests."""
        pct = round(100 * self.level)
        sizes = self.cluster_sizes
        lines = [
            f"Cluster-robust inference ({_DESCRIPTION[self.adjust]})",
            f"k = {self.k} effects in {self.n_clusters} clusters "
            f"(sizes {int(sizes.min())} to {int(sizes.max())}); model: {self.source}",
            "",
            f"  {'':<22}{'estimate':>10}{'se':>10}{'tval':>9}{'df':>8}{'pval':>9}   {pct}% CI",
        ]
        for j, name in enumerate(self.names):
            lines.append(
                f"  {name[:21]:<22}{self.coef[j]:>10.4f}{self.se[j]:>10.4f}"
                f"{self.statistic[j]:>9.3f}{self.df[j]:>8.2f}{self.pvalue[j]:>9.4f}   "
                f"[{self.ci.low[j]:.4f}, {self.ci.high[j]:.4f}]"
            )
        w = self.wald
        what = "Test of moderators" if self.intercept and self.p > 1 else "Test of coefficients"
        lines += [
            "",
            f"{what} ({w.test}): F(df1 = {w.df_num}, df2 = {w.df_denom:.4g}) = "
            f"{w.statistic:.4f}, {p_text(w.pvalue)}",
        ]
        lines += notes_block(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (NaN becomes ``None``)."""
        return fields_to_dict(self, skip=("_gram", "_lever"))

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient.

        Columns: ``term``, ``estimate``, ``se``, ``statistic``, ``df``, ``pvalue``,
        ``ci_low``, ``ci_high``.

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
        >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9, 0.4], vi=[0.02] * 6)
        >>> rob = mp.robust(mp.RandomEffects().fit(eff), [1, 1, 2, 2, 3, 3], adjust="CR1")
        >>> list(rob.to_frame().columns)
        ['term', 'estimate', 'se', 'statistic', 'df', 'pvalue', 'ci_low', 'ci_high']
        """
        return make_frame(
            "RobustResult.to_frame",
            {
                "term": list(self.names),
                "estimate": self.coef,
                "se": self.se,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "ci_low": self.ci.low,
                "ci_high": self.ci.high,
            },
        )

    def summary_frame(self) -> pd.DataFrame:
        """The same table as :meth:`to_frame` (one row per coefficient)."""
        return self.to_frame()

    def _repr_html_(self) -> str:
        pct = round(100 * self.level)
        rows = [
            [
                name,
                short(float(self.coef[j])),
                short(float(self.se[j])),
                f"{self.df[j]:.2f}",
                p_text(float(self.pvalue[j])),
                f"[{short(float(self.ci.low[j]))}, {short(float(self.ci.high[j]))}]",
            ]
            for j, name in enumerate(self.names)
        ]
        w = self.wald
        footer = [
            f"Wald test ({w.test}): F({w.df_num}, {w.df_denom:.3g}) = {w.statistic:.3g}, "
            f"{p_text(w.pvalue)}",
            f"k = {self.k} effects in {self.n_clusters} clusters; {self.adjust}",
        ]
        return html_table(
            "Cluster-robust inference",
            ["", "estimate", "robust se", "df", "p", f"{pct}% CI"],
            rows,
            footer,
        )

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={short(float(c))} (se {short(float(s))})"
            for name, c, s in zip(self.names[:3], self.coef[:3], self.se[:3], strict=True)
        )
        more = ", ..." if self.p > 3 else ""
        p = "NA" if math.isnan(self.wald.pvalue) else f"{self.wald.pvalue:.3g}"
        return f"RobustResult({self.adjust}, {self.n_clusters} clusters, {shown}{more}, Wald p={p})"

    def __str__(self) -> str:
        return self.summary()


_OWNER = "RobustResult.wald_test"


def robust_wald_test(
    *,
    coef: Array,
    vcov: Array,
    names: tuple[str, ...],
    intercept: bool,
    adjust: str,
    n_clusters: int,
    gram: Array | None,
    lever: Array | None,
    constraints: Any = None,
) -> RobustWaldTest:
    """The Wald test of :meth:`RobustResult.wald_test` from its parts."""
    # The test statistics come from the pure sandwich core, imported when a test is
    # asked for (the results package imports no computation beyond _inference).
    from metapool._sandwich import f_wald, htz_wald

    C, hypothesis = constraint_matrix(names, intercept, constraints)
    if adjust == "CR2":
        if gram is None or lever is None:  # pragma: no cover - set by metapool.robust
            raise InvalidParameterError("A CR2 result needs its Satterthwaite terms.")
        parts = htz_wald(coef, vcov, gram, lever, C)
        test = "HTZ"
    else:
        parts = f_wald(coef, vcov, C, float(n_clusters - len(names)))
        test = "F"
    return RobustWaldTest(
        constraints=C,
        hypothesis=hypothesis,
        test=test,
        adjust=adjust,
        q_statistic=parts.q_statistic,
        statistic=parts.statistic,
        delta=parts.delta,
        df_num=parts.df_num,
        df_denom=parts.df_denom,
        pvalue=parts.pvalue,
    )


def constraint_matrix(
    names: tuple[str, ...], intercept: bool, constraints: Any
) -> tuple[Array, tuple[str, ...]]:
    """The q × p contrast matrix of ``constraints`` and the hypothesis in words."""
    p = len(names)
    if constraints is None:
        start = 1 if intercept and p > 1 else 0
        return _select(names, list(range(start, p)))
    if _is_position(constraints):
        return _select(names, [_position(names, constraints)])
    if isinstance(constraints, (set, frozenset, dict)) or not isinstance(
        constraints, (Sequence, np.ndarray)
    ):
        raise MetapoolTypeError(
            f"The 'constraints' parameter of {_OWNER} must be None, coefficient "
            f"positions or names, or a q x p matrix. Got {constraints!r} instead."
        )
    items = list(constraints)
    if items and all(_is_position(c) for c in items):
        positions = [_position(names, c) for c in items]
        if len(set(positions)) != len(positions):
            raise InvalidParameterError(
                f"The 'constraints' parameter of {_OWNER} names a coefficient twice. "
                f"Got {constraints!r} instead."
            )
        return _select(names, positions)
    try:
        C = np.array(constraints, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The 'constraints' parameter of {_OWNER} must be a q x {p} matrix of "
            f"numbers. Got {constraints!r} instead."
        ) from exc
    if C.ndim != 2 or C.shape[1] != p or C.shape[0] < 1 or not np.all(np.isfinite(C)):
        raise InvalidParameterError(
            f"The 'constraints' parameter of {_OWNER} must be a q x {p} matrix of "
            f"finite numbers (one column per coefficient). Got shape {C.shape} instead."
        )
    if np.linalg.matrix_rank(C) < C.shape[0]:
        raise InvalidParameterError(
            f"The 'constraints' parameter of {_OWNER} must have linearly independent "
            f"rows. Got {C.tolist()!r} instead."
        )
    return C, tuple(_contrast_text(names, row) for row in C)


def _is_position(item: Any) -> bool:
    return isinstance(item, (str, int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _position(names: tuple[str, ...], item: str | int | np.integer) -> int:
    if isinstance(item, str):
        if item not in names:
            raise InvalidParameterError(
                f"The 'constraints' parameter of {_OWNER} must name coefficients among "
                f"{names!r}. Got {item!r} instead."
            )
        return names.index(item)
    pos = int(item)
    if not 0 <= pos < len(names):
        raise InvalidParameterError(
            f"The 'constraints' parameter of {_OWNER} must hold 0-based positions in "
            f"0..{len(names) - 1}. Got {pos!r} instead."
        )
    return pos


def _select(names: tuple[str, ...], positions: list[int]) -> tuple[Array, tuple[str, ...]]:
    C = np.eye(len(names))[positions]
    return C, tuple(f"{names[i]} = 0" for i in positions)


def _contrast_text(names: tuple[str, ...], row: Array) -> str:
    terms = []
    for c, name in zip(row, names, strict=True):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        size = "" if abs(c) == 1 else f"{abs(c):g}*"
        terms.append(f"{sign} {size}{name}")
    text = " ".join(terms)
    text = text[2:] if text.startswith("+ ") else "-" + text[2:]
    return f"{text} = 0"
