"""Selection models for publication bias (metafor's ``selmodel``): step-function
(Vevea and Hedges 1995), beta (Citkowicz and Vevea 2017), half-normal and
negative-exponential (Preston et al. 2004) selection functions, fitted by maximum
likelihood with bounded parameters from several starting points."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize
import scipy.stats
from numpy.typing import NDArray

from metapool._estimation import estimate_tau2
from metapool._inference import two_sided_p, z_crit
from metapool._validation import check_choice
from metapool.bias._common import read_input
from metapool.bias._selection_likelihood import (
    FAMILIES,
    Family,
    family,
    loglik,
    pvalues,
    richardson,
)
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
)
from metapool.results import Interval, SelectionModelResult
from metapool.tau2 import ML

__all__ = ["SelectionModelResult", "selection_model"]

Array = NDArray[np.float64]

_ALTERNATIVES = ("greater", "less", "two.sided")
#: Starting values of the selection parameters tried besides metafor's.
_EXTRA_STARTS: dict[str, tuple[float | tuple[float, float], ...]] = {
    "stepfun": (0.3, 3.0),
    "beta": ((0.5, 1.0), (1.0, 0.5)),
    "halfnorm": (0.2, 10.0),
    "negexp": (0.2, 10.0),
}


def selection_model(
    result: object,
    type: str = "stepfun",
    steps: Sequence[float] | float | None = None,
    *,
    alternative: str = "greater",
    level: float | None = None,
) -> SelectionModelResult:
    """Fit a selection model for publication bias, as metafor's ``selmodel``.

    The observed effects are modelled as ``yi ~ N(mu, vi + tau2)`` (``tau2 = 0``
    for a common-effect fit) published with a relative probability ``w(p)``
    that depends on the study's p-value ``p``; the parameters ``mu``, ``tau2``
    and the selection parameters ``delta`` are estimated by maximum likelihood,
    and a likelihood-ratio test compares the model with the model without
    selection (``w = 1``), fitted by ML.

    Parameters
    ----------
    result : MetaResult or EffectSet
        A :class:`~metapool.RandomEffects` fit (τ² is re-estimated by ML, as
        metafor refits the model with ``method="ML"``, whatever the fit's τ²
        estimator) or a :class:`~metapool.CommonEffect` fit (τ² = 0). An
        effect-size set is taken as a random-effects model.
    type : {"stepfun", "beta", "halfnorm", "negexp"}, default "stepfun"
        The selection function ``w(p)``:

        * ``"stepfun"``: a step function, constant between the cut-points
          ``steps`` ``0 < s_1 < ... < s_m = 1``: ``w(p) = delta_j`` for
          ``s_{j-1} < p <= s_j``, with ``delta_1 = 1`` (Vevea and Hedges 1995).
          With one cut-point, ``steps=(0.025, 1)``, this is the
          three-parameter selection model (3PSM).
        * ``"beta"``: ``w(p) = p^(delta_1 - 1) (1 - p)^(delta_2 - 1)``, with p
          kept in ``[1e-5, 1 - 1e-5]`` (Citkowicz and Vevea 2017).
        * ``"halfnorm"``: ``w(p) = exp(-delta (p² - s²))`` for ``p > s``, 1 below
          (``s = steps``, default 0; Preston et al. 2004).
        * ``"negexp"``: ``w(p) = exp(-delta (p - s))`` for ``p > s``, 1 below.
    steps : sequence of float or float, optional
        Cut-points in (0, 1]. For ``"stepfun"`` the default is ``(0.025, 1)``
        (1 is appended if missing); for ``"halfnorm"`` and ``"negexp"`` one
        value, the p-value below which there is no selection (default 0);
        ignored by ``"beta"``.
    alternative : {"greater", "less", "two.sided"}, default "greater"
        The p-values: one-sided for positive effects (metafor's default), for
        negative effects, or two-sided.
    level : float, optional
        Confidence level of the intervals; default the result's level.

    Returns
    -------
    SelectionModelResult
        ``estimate`` (the adjusted effect) with ``se`` and ``ci``, ``tau2``,
        ``delta`` (the selection parameters), ``lrt_statistic`` and
        ``lrt_pvalue``, the log-likelihoods and the convergence record.

    Raises
    ------
    InvalidParameterError
        For an unknown ``type`` or ``alternative``, cut-points outside (0, 1]
        or a ``steps`` of the wrong length for the type.
    InvalidDataError
        If a step-function interval other than the first holds no observed
        p-value (its ``delta`` is not identified; metafor stops too), or there
        are too few studies.
    MetapoolTypeError
        If ``result`` is not a result or effect-size set.

    Warns
    -----
    ConvergenceWarning
        If the optimiser does not reach a point where the gradient vanishes
        (for the parameters not on a bound); ``converged`` is False.
    DegenerateDataWarning
        If a selection parameter is on (or within 1e-6 of) its bound
        (``0`` or ``100`` for stepfun, halfnorm and negexp; ``1e-5`` or ``100``
        for beta), as metafor warns: ``delta_at_bound`` records which.
    SmallSampleWarning
        If there are fewer than 10 studies.

    Notes
    -----
    The step-function likelihood is in closed form; the others are integrated
    numerically over ``y`` (adaptive Gauss–Kronrod, relative tolerance 1e-12).
    The parameters are bounded (``tau2 >= 0``; ``delta`` within metafor's
    ``delta.min``, ``delta.max``) and the likelihood is maximised by L-BFGS-B
    from metafor's starting values and several others; the best optimum is
    polished by Newton steps on the parameters inside their bounds (gradient
    and Hessian by Richardson extrapolation). τ² on its bound 0 is reported as
    exactly 0 (``tau2_at_boundary``). Standard errors come from the inverse of
    the observed information of ``(mu, tau2, delta)``, as metafor's
    (parameters on a bound are left out of the inversion and get NaN).
    The LRT has as many degrees of freedom as there are free selection
    parameters (one fewer than cut-points for stepfun).

    References
    ----------
    .. [1] Vevea JL, Hedges LV (1995). A general linear model for estimating
       effect size in the presence of publication bias. Psychometrika
       60(3):419-435.
    .. [2] Citkowicz M, Vevea JL (2017). A parsimonious weight function for
       modeling publication bias. Psychological Methods 22(1):28-41.
    .. [3] Preston C, Ashby D, Smyth R (2004). Adjusting for publication bias:
       modelling the selection process. Journal of Evaluation in Clinical
       Practice 10(2):313-322.
    .. [4] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. Journal of Statistical Software 36(3):1-48.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(
    ...     yi=[0.51, 0.42, 0.30, 0.65, 0.12, 0.48, 0.05, 0.38, 0.71, 0.22, 0.55, 0.09],
    ...     vi=[0.04, 0.03, 0.02, 0.09, 0.01, 0.05, 0.01, 0.03, 0.12, 0.02, 0.06, 0.015])
    >>> sel = mp.selection_model(mp.RandomEffects().fit(eff), steps=(0.025, 1))
    >>> sel.type, sel.lrt_df, len(sel.delta)
    ('stepfun', 1, 2)
    >>> sel.delta[0]
    1.0
    """
    owner = "selection_model"
    kind = check_choice(owner, "type", type, FAMILIES)
    alternative = check_choice(owner, "alternative", alternative, _ALTERNATIVES)
    inp = read_input(owner, result, level)
    cut = _steps(owner, kind, steps)
    fam = family(kind, cut)
    y, v, k = inp.yi, inp.vi, inp.k
    random = inp.tau2 is not None

    p = np.clip(pvalues(y, v, alternative), fam.pval_min, 1.0 - fam.pval_min)
    group: NDArray[np.intp] | None = None
    counts: tuple[int, ...] = ()
    if kind == "stepfun":
        group = np.searchsorted(np.asarray(cut), p, side="left").astype(np.intp)
        counts = tuple(int(n) for n in np.bincount(group, minlength=len(cut)))
        # delta_1 = 1 is fixed, so an empty first interval is allowed (as metafor)
        empty = [j for j, n in enumerate(counts) if n == 0 and j > 0]
        if empty:
            bounds_txt = ", ".join(_interval_text(cut, j) for j in empty)
            raise InvalidDataError(
                f"{owner}: no observed p-value lies in the interval(s) {bounds_txt}, so "
                "their selection parameter cannot be estimated; choose other 'steps' "
                f"(p-values per interval: {counts})."
            )
    free = [j for j in range(fam.n_delta) if not (kind == "stepfun" and j == 0)]
    n_par = 1 + int(random) + len(free)
    if k < n_par:
        raise InvalidDataError(
            f"{owner}: k = {k} studies are too few to fit {n_par} parameters (metafor: "
            "'Number of studies is too small to fit the selection model')."
        )

    # The model without selection, by ML.
    tau2_0 = 0.0
    tau2_conv = True
    if random:
        tfit = estimate_tau2(ML(), y, v, owner=owner, where=" (the model without selection)")
        tau2_0 = float(np.asarray(tfit.tau2))
        tau2_conv = bool(np.all(tfit.converged))
    w0 = 1.0 / (v + tau2_0)
    mu_0 = float(np.sum(w0 * y) / np.sum(w0))
    null_delta = np.asarray(fam.delta_null)
    ll0 = loglik(fam, mu_0, tau2_0, null_delta, y, v, p, group, cut, alternative)

    def unpack(theta: Array) -> tuple[float, float, Array]:
        mu = float(theta[0])
        tau2 = float(theta[1]) if random else 0.0
        delta = np.array(fam.delta_init if kind != "stepfun" else (1.0,) * fam.n_delta)
        delta[free] = theta[1 + int(random) :]
        return mu, max(tau2, 0.0), delta

    def negll(theta: Array) -> float:
        mu, tau2, delta = unpack(theta)
        value = loglik(fam, mu, tau2, delta, y, v, p, group, cut, alternative)
        return -value if np.isfinite(value) else 1e300

    scale_y = float(np.sqrt(np.mean(v)))
    lower = [-np.inf] + ([0.0] if random else []) + [fam.delta_min[j] for j in free]
    upper = [np.inf] + ([np.inf] if random else []) + [fam.delta_max[j] for j in free]
    bounds = list(zip(lower, upper, strict=True))
    best: scipy.optimize.OptimizeResult | None = None
    for start in _starts(kind, fam, free, mu_0, tau2_0, random):
        res = scipy.optimize.minimize(
            negll,
            np.asarray(start, dtype=float),
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-11, "gtol": 1e-8, "maxiter": 2000, "maxls": 50},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    theta = np.clip(np.asarray(best.x, dtype=float), lower, upper)
    lower_arr, upper_arr = np.asarray(lower), np.asarray(upper)
    scales = np.asarray([scale_y] + ([scale_y**2] if random else []) + [1.0] * len(free))
    theta, converged, reason = _polish(negll, theta, lower_arr, upper_arr, scales)
    mu, tau2, delta = unpack(theta)
    ll = -negll(theta)
    if ll < ll0:  # the null model is nested: never report a worse optimum than it
        theta = np.concatenate([[mu_0], [tau2_0] if random else [], null_delta[free]]).astype(float)
        mu, tau2, delta = unpack(theta)
        ll = -negll(theta)

    notes = list(inp.notes)
    if not converged:
        warnings.warn(
            f"{owner}: the optimiser did not converge ({reason}); treat the estimates with "
            "caution.",
            ConvergenceWarning,
            stacklevel=2,
        )
        notes.append(f"optimiser did not converge: {reason}")
    if not tau2_conv:
        notes.append("the ML tau^2 of the model without selection did not converge")
    at_bound = tuple(
        bool(
            j in free
            and (
                delta[j] <= fam.delta_min[j] + 1e-6 * max(1.0, abs(fam.delta_min[j]))
                or delta[j] >= fam.delta_max[j] - 1e-6 * fam.delta_max[j]
            )
        )
        for j in range(fam.n_delta)
    )
    if any(at_bound):
        which = ", ".join(
            f"delta[{j + 1}] = {delta[j]:.6g}" for j in range(len(at_bound)) if at_bound[j]
        )
        warnings.warn(
            f"{owner}: selection parameter(s) on their bound ({which}); the estimates depend "
            "on the bound (metafor warns likewise). Treat them with caution.",
            DegenerateDataWarning,
            stacklevel=2,
        )
        notes.append(f"selection parameter(s) on their bound: {which}")
    tau2_at_boundary = bool(random and tau2 == 0.0)

    # Standard errors from the observed information of (mu, tau2, free delta) on the
    # natural scale, leaving out parameters on a bound.
    on_bound = np.zeros(n_par, dtype=bool)
    if random:
        on_bound[1] = tau2_at_boundary
    for pos, j in enumerate(free):
        on_bound[1 + int(random) + pos] = at_bound[j]
    interior = ~on_bound
    cov = np.full((n_par, n_par), np.nan)
    _, hess = richardson(negll, theta, _steps_for(theta, lower_arr, scales), r=6)
    h_in = hess[np.ix_(interior, interior)]
    try:
        chol = np.linalg.cholesky(h_in)
        inv = np.linalg.inv(chol)
        cov[np.ix_(interior, interior)] = inv.T @ inv
    except np.linalg.LinAlgError:
        warnings.warn(
            f"{owner}: the Hessian of the log-likelihood is not positive definite at the "
            "estimate; standard errors are not available (NaN).",
            ConvergenceWarning,
            stacklevel=2,
        )
        notes.append("Hessian not positive definite: no standard errors")
    se_all = np.sqrt(np.diag(cov))
    se = float(se_all[0])
    se_tau2 = float(se_all[1]) if random else float("nan")
    se_delta = np.full(fam.n_delta, np.nan)
    for pos, j in enumerate(free):
        se_delta[j] = se_all[1 + int(random) + pos]

    crit = z_crit(inp.level)
    stat = mu / se if se > 0 else float("nan")
    pval = float(two_sided_p(np.asarray(stat), None))
    delta_ci = tuple(
        Interval(float("nan"), float("nan"))
        if j not in free
        else Interval(
            float(max(delta[j] - crit * se_delta[j], 0.0)), float(delta[j] + crit * se_delta[j])
        )
        for j in range(fam.n_delta)
    )
    lrt = max(0.0, 2.0 * (ll - ll0))
    lrt_df = len(free)
    lrt_p = float(scipy.stats.chi2.sf(lrt, lrt_df))
    return SelectionModelResult(
        type=kind,
        steps=cut if kind != "beta" else (),
        alternative=alternative,
        estimate=mu,
        se=se,
        statistic=stat,
        pvalue=pval,
        ci=Interval(mu - crit * se, mu + crit * se),
        tau2=tau2 if random else 0.0,
        se_tau2=se_tau2,
        tau2_estimated=random,
        tau2_at_boundary=tau2_at_boundary,
        delta=tuple(float(d) for d in delta),
        se_delta=tuple(float(s) for s in se_delta),
        delta_ci=delta_ci,
        delta_at_bound=at_bound,
        lrt_statistic=lrt,
        lrt_df=lrt_df,
        lrt_pvalue=lrt_p,
        loglik=ll,
        loglik_null=ll0,
        unadjusted_estimate=mu_0,
        unadjusted_tau2=tau2_0,
        n_per_interval=counts,
        level=inp.level,
        k=k,
        converged=converged,
        measure=inp.measure,
        notes=tuple(notes),
    )


def _steps(owner: str, kind: str, steps: Sequence[float] | float | None) -> tuple[float, ...]:
    if kind == "beta":
        return ()
    if steps is None:
        return (0.025, 1.0) if kind == "stepfun" else (0.0,)
    values = np.atleast_1d(np.asarray(steps, dtype=object))
    try:
        cut = np.asarray([float(s) for s in values], dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The 'steps' parameter of {owner} must be numbers in (0, 1]. Got {steps!r} instead."
        ) from None
    if cut.ndim != 1 or not np.all(np.isfinite(cut)) or np.any((cut < 0) | (cut > 1)):
        raise InvalidParameterError(
            f"The 'steps' parameter of {owner} must be numbers in [0, 1]. Got {steps!r} instead."
        )
    if kind == "stepfun":
        cut = np.unique(cut)
        if cut[0] <= 0.0:
            raise InvalidParameterError(
                f"The 'steps' parameter of {owner} must be cut-points in (0, 1] for "
                f"type='stepfun'. Got {steps!r} instead."
            )
        if cut[-1] != 1.0:
            cut = np.append(cut, 1.0)
        if cut.size < 2:
            raise InvalidParameterError(
                f"The 'steps' parameter of {owner} must have at least one cut-point below 1 "
                f"for type='stepfun' (e.g. (0.025, 1)). Got {steps!r} instead."
            )
        return tuple(float(s) for s in cut)
    if cut.size != 1 or cut[0] >= 1.0:
        raise InvalidParameterError(
            f"The 'steps' parameter of {owner} must be one value in [0, 1) for "
            f"type={kind!r}. Got {steps!r} instead."
        )
    return (float(cut[0]),)


def _interval_text(cut: tuple[float, ...], j: int) -> str:
    low = 0.0 if j == 0 else cut[j - 1]
    return f"({low:g}, {cut[j]:g}]"


def _starts(
    kind: str, fam: Family, free: list[int], mu: float, tau2: float, random: bool
) -> list[list[float]]:
    """metafor's starting values (ML fit, delta.init) and a few others."""
    head = [mu] + ([tau2 + 0.001 * (tau2 == 0.0)] if random else [])
    starts = [head + [fam.delta_init[j] for j in free]]
    for extra in _EXTRA_STARTS[kind]:
        values: tuple[float, ...] = extra if isinstance(extra, tuple) else (extra,) * fam.n_delta
        starts.append(head + [float(values[j if kind != "stepfun" else 0]) for j in free])
    return starts


def _steps_for(x: Array, lower: Array, scales: Array) -> Array:
    """Initial finite-difference steps: 1% of the parameter's size (or of its scale,
    if smaller), and at most half the distance to its lower bound when inside."""
    h = 0.01 * np.maximum(np.abs(x), scales)
    room = x - lower
    inside = np.isfinite(room) & (room > 0)
    h[inside] = np.minimum(h[inside], room[inside] / 2.0)
    return np.asarray(h)


def _polish(
    negll: Callable[[Array], float], theta: Array, lower: Array, upper: Array, scales: Array
) -> tuple[Array, bool, str]:
    """Newton steps on the parameters away from their bounds (backtracking), then a
    check that the gradient vanishes there and points outwards on the bounds."""
    f = negll
    x = theta.copy()
    fx = float(f(x))
    scale = float(np.max(scales))
    for _ in range(20):
        grad, hess = richardson(f, x, _steps_for(x, lower, scales), r=4)
        span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
        tight = 1e-9 * np.maximum(span, 1.0)
        free = ~(((x - lower) <= tight) & (grad > 0)) & ~(((upper - x) <= tight) & (grad < 0))
        if not free.any():
            break
        g, h = grad[free], hess[np.ix_(free, free)]
        try:
            step = -np.linalg.solve(h, g)
            if not np.all(np.isfinite(step)) or g @ step >= 0:
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = -g / max(np.max(np.abs(np.diag(h))), 1.0)
        improved = False
        t = 1.0
        for _ in range(40):
            cand = x.copy()
            cand[free] = np.clip(x[free] + t * step, lower[free], upper[free])
            fc = float(f(cand))
            if fc <= fx:
                improved = fc < fx or np.array_equal(cand, x)
                x, fx = cand, fc
                break
            t /= 2.0
        if not improved or np.max(np.abs(t * step)) < 1e-12 * max(1.0, scale):
            break
    grad, _ = richardson(f, x, _steps_for(x, lower, scales), r=4)
    span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    tight = 1e-9 * np.maximum(span, 1.0)
    low_ok = ((x - lower) <= tight) & (grad >= 0)
    up_ok = ((upper - x) <= tight) & (grad <= 0)
    inner = ~(low_ok | up_ok)
    size = np.max(np.abs(grad[inner])) if inner.any() else 0.0
    tol = 1e-4 * max(1.0, abs(fx))
    if not np.isfinite(fx):
        return x, False, "the log-likelihood is not finite at the optimum"
    if size > tol:
        return x, False, f"the gradient at the optimum is {size:.3g} (> {tol:.3g})"
    return x, True, ""
