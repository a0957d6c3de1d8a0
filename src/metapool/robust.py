"""Cluster-robust inference (CR0, CR1, CR2) for inverse-variance models.

:func:`robust` takes a fitted model — a pooled result of
:class:`~metapool.CommonEffect` or :class:`~metapool.RandomEffects`, a
:class:`~metapool.MetaRegressionResult`, or a multilevel result — and the cluster
of each effect (e.g. its study), and re-does the inference on the coefficients
with a sandwich covariance that stays valid when effects in the same cluster are
correlated in ways the working model does not describe (Hedges, Tipton & Johnson
2010). The working model supplies the weights ``W = V⁻¹`` (``1/(vi + τ²)``, or
the inverse of a multilevel model's marginal covariance); the coefficients stay
the model's.

The numerical core (pure numpy) is :mod:`metapool._sandwich`; the result classes
are :class:`~metapool.results.RobustResult` and
:class:`~metapool.results.RobustWaldTest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metapool._inference import t_crit, two_sided_p
from metapool._moderators import group_codes, read_cells
from metapool._sandwich import ADJUSTMENTS, cluster_sandwich, couples_clusters
from metapool._validation import check_choice, check_level, study_name
from metapool._warnings import warn
from metapool.exceptions import DegenerateDataWarning, InvalidDataError, MetapoolTypeError
from metapool.results._intervals import IntervalArray
from metapool.results._pooled import MetaResult
from metapool.results._regression import MetaRegressionResult
from metapool.results._robust import RobustResult, RobustWaldTest, robust_wald_test

__all__ = ["RobustResult", "RobustWaldTest", "robust"]

Array = NDArray[np.float64]

#: Satterthwaite df below this make CR2 tests unreliable (Tipton 2015).
SMALL_DF = 4.0
#: Residuals below this fraction of the largest |effect| are rounding noise (the
#: effects lie on the fitted model): a few ulps of the sums that give the estimate.
ROUNDING = 1e-12


def robust(
    result: Any,
    cluster: Any,
    adjust: str = "CR2",
    *,
    level: float | None = None,
) -> RobustResult:
    """Cluster-robust standard errors, t tests, CIs and Wald tests for a fitted model.

    Parameters
    ----------
    result : MetaResult, MetaRegressionResult or MultilevelResult
        A fitted inverse-variance model: :class:`~metapool.CommonEffect`,
        :class:`~metapool.RandomEffects`, :class:`~metapool.MetaRegression` or a
        multilevel model (its working covariance is the fitted marginal covariance
        ``V + Σ σ²ₗ Zₗ Zₗᵀ``).
    cluster : array_like
        The cluster of each effect (any hashable labels, e.g. study ids): one per
        effect analysed, or one per row as given to the effect set (rows the fit
        excluded are then skipped).
    adjust : {"CR2", "CR1", "CR0"}
        The small-sample adjustment. ``"CR2"`` (default): the bias-reduced sandwich
        of Bell & McCaffrey with the working covariance as target and Satterthwaite
        degrees of freedom per coefficient, as R's clubSandwich (``vcovCR(type =
        "CR2")``, ``coef_test(test = "Satterthwaite")``); its Wald test is the HTZ
        test. ``"CR1"``: the plain sandwich times ``n/(n - p)`` (n clusters, p
        coefficients) with t tests on ``n - p`` df, as metafor's ``robust(adjust =
        TRUE)``. ``"CR0"``: the plain sandwich with the same df, as
        ``robust(adjust = FALSE)``.
    level : float, optional
        Confidence level of the intervals (default: the model's).

    Returns
    -------
    RobustResult
        Coefficients, robust SEs, t statistics, df, p-values and CIs; ``wald`` tests
        every coefficient but the intercept, ``wald_test()`` any other hypothesis.

    Raises
    ------
    MetapoolTypeError
        If ``result`` is not an inverse-variance fit (Mantel–Haenszel and Peto
        results have no working covariance to weight with), or ``cluster`` is not a
        sequence of labels.
    InvalidDataError
        If ``cluster`` has the wrong length, a missing or unhashable label (the
        study is named), fewer than two clusters, or no more clusters than
        coefficients; or, for CR2, if the working covariance links effects in
        different clusters (cluster by the outermost level of a multilevel model).
    InvalidParameterError
        If ``adjust`` or ``level`` is not allowed.

    Notes
    -----
    With ``e = y - Xβ`` and ``W = V⁻¹`` blocked by cluster, the robust covariance is
    ``M (Σ_j X_jᵀ W_j A_j e_j e_jᵀ A_jᵀ W_j X_j) M`` with ``M = (Xᵀ W X)⁻¹``:
    ``A_j = I`` for CR0 and CR1 (CR1 multiplies by ``n/(n - p)``), and for CR2
    ``A_j = L (Lᵀ (V_j - X_j M X_jᵀ) L)^(-1/2) Lᵀ`` with ``L Lᵀ = V_j``, which
    makes the estimator exactly unbiased when the working model is right. The
    Satterthwaite df match the first two moments of the robust variance under the
    working model; the HTZ test approximates the Wald statistic by Hotelling's T²
    (Pustejovsky & Tipton 2018). CR0 and CR1 use metafor's ``n - p`` df and its F
    test ``Q/q`` on ``F(q, n - p)``.

    The coefficients are the model's; the model's own CI method (e.g. Hartung–Knapp)
    does not enter. A result whose Satterthwaite df are below 4 gets a note: such
    tests can be unreliable (Tipton 2015).

    References
    ----------
    .. [1] Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in
       meta-regression with dependent effect size estimates. Res Synth Methods
       1(1):39-65.
    .. [2] Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for
       linear regression with multi-stage samples. Survey Methodology 28(2):169-181.
    .. [3] Tipton E (2015). Small sample adjustments for robust variance estimation
       with meta-regression. Psychol Methods 20(3):375-393.
    .. [4] Pustejovsky JE, Tipton E (2018). Small-sample methods for
       cluster-robust variance estimation and hypothesis testing in fixed effects
       models. J Bus Econ Stat 36(4):672-683.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.5, 0.8, 0.9, 0.4, 0.2, 0.6],
    ...                        vi=[0.02, 0.03, 0.02, 0.04, 0.02, 0.03, 0.05, 0.02])
    >>> res = mp.RandomEffects(tau2="REML").fit(eff)
    >>> rob = mp.robust(res, cluster=["a", "a", "b", "b", "c", "c", "d", "e"])
    >>> rob.n_clusters, rob.adjust
    (5, 'CR2')
    >>> bool(rob.coef[0] == res.estimate)
    True
    >>> mp.robust(res, ["a", "a", "b", "b", "c", "c", "d", "e"], adjust="CR1").df.tolist()
    [4.0]
    """
    owner = "robust"
    adjust = check_choice(owner, "adjust", adjust, ADJUSTMENTS)
    y, X, beta, cov, names, intercept, model_vcov, labels, excluded, source = _working_model(result)
    level = check_level(owner, result.level if level is None else level)
    k, p = X.shape
    codes, clusters = _cluster_codes(cluster, labels, excluded, k)
    n_clusters = len(clusters)
    if n_clusters < 2:
        raise InvalidDataError(
            f"{owner}: 'cluster' must hold at least 2 clusters; all {k} effects are in "
            f"cluster {clusters[0]!r}. Cluster-robust inference has no degrees of freedom "
            "with a single cluster."
        )
    if n_clusters <= p:
        raise InvalidDataError(
            f"{owner}: the number of clusters ({n_clusters}) must be larger than the number "
            f"of coefficients ({p}); got 'cluster' with {n_clusters} distinct labels."
        )
    if adjust == "CR2" and couples_clusters(cov, codes):
        i, j = _first_coupled(cov, codes)
        raise InvalidDataError(
            f"{owner}: CR2 needs a working covariance that is block-diagonal by cluster, "
            f"but it links {study_name(i, labels[i])} (cluster {clusters[codes[i]]!r}) and "
            f"{study_name(j, labels[j])} (cluster {clusters[codes[j]]!r}). Cluster by the "
            "outermost level of the model (or use adjust='CR1')."
        )
    sw = cluster_sandwich(y, X, beta, cov, codes, n_clusters, adjust)
    notes: list[str] = []
    resid = np.abs(y - X @ beta)
    if float(resid.max()) <= ROUNDING * float(np.abs(y).max()):
        notes.append(
            "The effects lie on the fitted model (residuals 0 up to rounding): the robust "
            "standard errors are 0 up to rounding and the tests are meaningless."
        )
        warn(f"{owner}: {notes[-1]}", DegenerateDataWarning)
    se = np.sqrt(np.diag(sw.vcov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    pvalue = two_sided_p(stat, sw.df)
    crit = t_crit(level, sw.df)
    if adjust == "CR2" and np.any(sw.df < SMALL_DF):
        low = ", ".join(f"{names[i]} ({sw.df[i]:.2f})" for i in np.flatnonzero(sw.df < SMALL_DF))
        notes.append(
            f"Satterthwaite df below {SMALL_DF:g} for {low}: these tests and intervals can be "
            "unreliable (Tipton 2015)."
        )
    wald = robust_wald_test(
        coef=beta,
        vcov=sw.vcov,
        names=names,
        intercept=intercept,
        adjust=adjust,
        n_clusters=n_clusters,
        gram=sw.gram,
        lever=sw.lever,
    )
    return RobustResult(
        coef=beta,
        se=se,
        statistic=stat,
        pvalue=pvalue,
        df=sw.df,
        ci=IntervalArray(beta - crit * se, beta + crit * se),
        vcov=sw.vcov,
        model_vcov=model_vcov,
        names=names,
        adjust=adjust,
        n_clusters=n_clusters,
        clusters=clusters,
        cluster_sizes=np.bincount(codes, minlength=n_clusters).astype(np.int64),
        k=k,
        p=p,
        level=level,
        intercept=intercept,
        wald=wald,
        source=source,
        notes=tuple(notes),
        gram=sw.gram,
        lever=sw.lever,
    )


def _working_model(
    result: Any,
) -> tuple[Array, Array, Array, Array, tuple[str, ...], bool, Array, tuple[str, ...], Any, str]:
    """``y, X, beta, V`` (a vector of variances or a k × k matrix), names, whether
    there is an intercept, the model-based vcov, study labels, exclusions, kind."""
    owner = "robust"
    if isinstance(result, MetaResult):
        weighting = getattr(result.model, "weighting", None)
        if weighting != "inverse-variance":
            raise MetapoolTypeError(
                f"{owner}: the 'result' must come from an inverse-variance model "
                f"(CommonEffect, RandomEffects, MetaRegression, MultilevelModel); a "
                f"{weighting} result has no working covariance to weight with. "
                "Fit the same effects with CommonEffect() or RandomEffects() instead."
            )
        k = result.k
        return (
            np.asarray(result.yi, dtype=np.float64),
            np.ones((k, 1)),
            np.array([result.estimate], dtype=np.float64),
            np.asarray(result.vi, dtype=np.float64) + float(result.tau2),
            ("intercept",),
            True,
            np.array([[result.se**2]]),
            tuple(result.labels),
            result.excluded,
            "MetaResult",
        )
    if isinstance(result, MetaRegressionResult):
        return (
            np.asarray(result.yi, dtype=np.float64),
            np.asarray(result.design.X, dtype=np.float64),
            np.asarray(result.coef, dtype=np.float64),
            np.asarray(result.vi, dtype=np.float64) + float(result.tau2),
            tuple(result.names),
            bool(result.design.intercept),
            np.asarray(result.vcov, dtype=np.float64),
            tuple(result.labels),
            result.excluded,
            "MetaRegressionResult",
        )
    if hasattr(result, "marginal_covariance") and hasattr(result, "design"):
        names = tuple(result.coef_names)
        info = getattr(result, "design_info", None)
        intercept = bool(info.intercept) if info is not None else names[0] == "intercept"
        return (
            np.asarray(result.yi, dtype=np.float64),
            np.asarray(result.design, dtype=np.float64),
            np.asarray(result.coef, dtype=np.float64),
            np.asarray(result.marginal_covariance, dtype=np.float64),
            names,
            intercept,
            np.asarray(result.vcov, dtype=np.float64),
            tuple(getattr(result, "labels", ())) or _default_labels(len(result.yi)),
            getattr(result, "excluded", ()),
            type(result).__name__,
        )
    raise MetapoolTypeError(
        f"{owner}: the 'result' must be a fitted inverse-variance model (MetaResult of "
        "CommonEffect or RandomEffects, MetaRegressionResult, or a multilevel result). "
        f"Got {type(result).__name__} instead."
    )


def _default_labels(k: int) -> tuple[str, ...]:
    return tuple(f"Study {i + 1}" for i in range(k))


def _cluster_codes(
    cluster: Any, labels: tuple[str, ...], excluded: Sequence[Any], k: int
) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """Integer codes (order of first appearance) of the clusters of the analysed
    effects, and the cluster labels as text. Cells are read as moderators and
    multilevel ids are (:func:`metapool._moderators.read_cells`)."""
    owner = "robust"
    if cluster is None:
        raise MetapoolTypeError(
            f"The 'cluster' parameter of {owner} must be a sequence of labels, one per "
            "effect. Got None instead."
        )
    cells, _ = read_cells(owner, "'cluster'", cluster)
    dropped = sorted(int(e.index) for e in excluded)
    k_all = k + len(dropped)
    if cells.size == k_all and dropped:
        rows = np.setdiff1d(np.arange(k_all), dropped)
        cells = cells[rows]
    elif cells.size == k:
        rows = np.arange(k)
    else:
        expected = f"{k}" if not dropped else f"{k} (effects analysed) or {k_all} (rows as given)"
        raise InvalidDataError(
            f"{owner}: 'cluster' must have one label per effect, length {expected}. "
            f"Got length {cells.size} instead."
        )
    codes, seen = group_codes(
        owner, "'cluster'", cells, rows, labels, "every effect needs a cluster"
    )
    return codes, tuple(str(v) for v in seen)


def _first_coupled(cov: Array, codes: NDArray[np.intp]) -> tuple[int, int]:
    across = (codes[:, None] != codes[None, :]) & (cov != 0.0)
    i, j = np.argwhere(across)[0]
    return int(i), int(j)
