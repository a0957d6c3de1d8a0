"""Estimators and intervals that solve the generalised Q equation: PM, EB, Q-profile.

The generalised Q statistic ``Q(τ²) = Σ w (y - Xβ̂)²`` with ``w = 1/(v + τ²)``
is continuous and strictly decreasing in τ² (its derivative is ``-Σ w² r²``),
and ``Q(τ²) < RSS_OLS / τ²`` where ``RSS_OLS`` is the unweighted residual sum of
squares. Each equation ``Q(τ²) = target`` therefore has at most one root on
``[0, ∞)``, bracketed by ``[0, RSS_OLS / target]``; when ``Q(0) <= target`` the
solution is the boundary 0. A bracketed solver then always converges.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._kernels import n_params, ols_rss, rowsum, trace_p, wls
from metapool._roots import RootResult, at_rows, bracketed_root
from metapool.tau2._base import Tau2Fit, register

__all__ = [
    "EmpiricalBayes",
    "PauleMandel",
    "generalized_q",
    "generalized_q_and_slope",
    "solve_generalized_q",
]

Array = NDArray[np.float64]

#: Tolerance on τ² (the size of the last Newton or bisection step), relative to
#: the smallest sampling variance so that the answer is scale-equivariant and
#: precise enough for the most precise study (whose weight it perturbs most); well below
#: the 1e-10 asked of every iterative estimator. Newton converges quadratically,
#: so the error after the last step is far smaller than the step itself.
XTOL_FACTOR = 1e-12


def generalized_q(tau2: Array, yi: Array, vi: Array, X: Array | None = None) -> Array:
    """``Q(τ²) = Σ w (y - Xβ̂_w)²`` with ``w = 1/(v + τ²)``, along the last axis."""
    return wls(yi, 1.0 / (vi + np.asarray(tau2)[..., None]), X).rss


def generalized_q_and_slope(
    tau2: Array, yi: Array, vi: Array, X: Array | None = None
) -> tuple[Array, Array]:
    """``Q(τ²)`` and its derivative ``dQ/dτ² = -Σ (w r)²``."""
    w = 1.0 / (vi + np.asarray(tau2)[..., None])
    if X is None:  # wls inlined, sharing w r between Q = Σ (w r) r and the slope
        r = yi - (rowsum(w * yi) / rowsum(w))[..., None]
        u = w * r
        return rowsum(u * r), -rowsum(u * u)
    fit = wls(yi, w, X)
    u = w * fit.resid
    return fit.rss, -rowsum(u * u)


def solve_generalized_q(
    yi: Array,
    vi: Array,
    X: Array | None,
    target: float | Array,
    *,
    q_zero: Array | None = None,
    typical: Array | None = None,
) -> RootResult:
    """Solve ``Q(τ²) = target`` for τ² >= 0 (0 when ``Q(0) <= target``).

    ``target`` is a number, or a 1-d array of ``m`` numbers: then the result has
    a leading axis of length ``m`` (one solve per target on the same data, in
    one bracketed iteration; the Q-profile interval solves for two targets).
    ``q_zero`` (Cochran's Q, ``Q(0)``) and ``typical`` (``s² = (k - p)/tr P(0)``),
    when the caller has them, spare computing them again (batch shape each).
    """
    targets = np.asarray(target, dtype=np.float64)
    if targets.ndim > 1:
        raise ValueError("target must be a number or a 1-d array of numbers")
    batch, k = yi.shape[:-1], yi.shape[-1]
    if yi.ndim == 1:  # one analysis: scalar solves, one per target, sharing Q(0)
        q_at0 = float(generalized_q(np.zeros(()), yi, vi, X) if q_zero is None else q_zero)
        with np.errstate(divide="ignore", invalid="ignore"):  # as in the batch solve
            s2 = float((k - n_params(X)) / trace_p(1.0 / vi, X) if typical is None else typical)
        rss = float(ols_rss(yi, X))
        solved = [
            _solve_one(yi, vi, X, float(t), q_at0=q_at0, rss=rss, s2=s2)
            for t in targets.reshape(-1)
        ]
        if not targets.ndim:
            return solved[0]
        return RootResult(
            np.stack([r.root for r in solved]),
            np.stack([r.converged for r in solved]),
            np.stack([r.iterations for r in solved]),
        )
    m, n = targets.size, int(np.prod(batch))
    y2, v2 = yi.reshape(n, k), vi.reshape(n, k)
    x2 = X if X is None or X.ndim == 2 else X.reshape(n, *X.shape[-2:])
    tgt = np.broadcast_to(targets.reshape(-1, 1), (m, n))
    if q_zero is None:
        q0 = generalized_q(np.zeros(n), y2, v2, x2) - tgt
    else:
        q0 = np.asarray(q_zero).reshape(n) - tgt
    with np.errstate(divide="ignore", invalid="ignore"):
        if typical is None:
            s2_rows = (k - n_params(X)) / trace_p(1.0 / v2, x2)
        else:
            s2_rows = np.asarray(typical).reshape(n)
        upper, f_zero, start = _bracket(q0, ols_rss(y2, x2), tgt, s2_rows)
    interior = q0 > 0
    lo = np.zeros((m, n))
    hi = np.where(interior, upper, 0.0)
    f_hi = np.full((m, n), -1.0)
    f_lo = np.where(interior, f_zero, 0.0)
    xtol = np.broadcast_to(XTOL_FACTOR * v2.min(axis=-1), (m, n))
    flat_target = tgt.reshape(-1)

    def fdf(t: Array, rows: NDArray[np.intp] | None) -> tuple[Array, Array]:
        # element r of the (m, n) solve is target r // n on analysis r % n
        assert rows is not None  # a batch: bracketed_root names the active rows
        y, v, x = at_rows(rows % n if m > 1 else rows, y2, v2, x2)
        return _reciprocal(t, y, v, x, flat_target[rows])

    res = bracketed_root(fdf, lo, hi, f_lo, f_hi, xtol=xtol, start=start)
    root = np.where(interior, res.root, 0.0)
    out = RootResult(root, res.converged | ~interior, np.where(interior, res.iterations, 0))
    shape = (m, *batch) if targets.ndim else batch
    return RootResult(*(np.asarray(a).reshape(shape) for a in out))


def _bracket(q0: Any, rss: Any, target: Any, s2: Any) -> tuple[Any, Any, Any]:
    """For ``Q(τ²) = target`` with ``q0 = Q(0) - target > 0``: the upper end of the
    bracket, the value of the iterated function (:func:`_reciprocal`) at 0 and the
    start (numbers or arrays alike).

    ``Q(τ²) < RSS_OLS/τ²`` (every weight is below 1/τ²), so ``Q(upper) < target``:
    the sign at the upper end is known without evaluating it. The start is where Q
    would meet the target if every study had the typical variance
    ``s² = (k - p)/tr P(0)`` (then ``Q(τ²) = Q(0) s²/(s² + τ²)`` exactly); Newton's
    method needs about two steps fewer from there than from the middle.
    """
    upper = rss / target * (1.0 + 1e-9) + np.finfo(float).tiny
    return upper, 1.0 / target - 1.0 / (q0 + target), s2 * ((q0 + target) / target - 1.0)


def _reciprocal(
    t: Array, yi: Array, vi: Array, X: Array | None, target: Array | float
) -> tuple[Array, Array]:
    """``1/target - 1/Q(τ²)`` and its slope ``Q'/Q²``: the equation the solvers
    iterate on. It has the root and the sign pattern of ``Q - target`` but is
    nearly linear in τ² (exactly so when all variances are equal, where
    ``1/Q(τ²) = (s² + τ²)/(Q(0) s²)``), so Newton's method needs fewer steps."""
    q, slope = generalized_q_and_slope(t, yi, vi, X)
    return 1.0 / target - 1.0 / q, slope / (q * q)


def _solve_one(
    yi: Array, vi: Array, X: Array | None, target: float, *, q_at0: float, rss: float, s2: float
) -> RootResult:
    """:func:`solve_generalized_q` for one analysis and one target (scalar Newton),
    given ``Q(0)``, ``RSS_OLS`` and the typical variance ``s²``."""
    q0 = q_at0 - target
    if not q0 > 0:
        return RootResult(np.asarray(0.0), np.asarray(True), np.asarray(0))
    upper, f_zero, start = _bracket(q0, rss, target, s2)

    def fdf(t: Array, rows: NDArray[np.intp] | None) -> tuple[Array, Array]:
        return _reciprocal(t, yi, vi, X, target)

    return bracketed_root(
        fdf,
        np.asarray(0.0),
        np.asarray(upper),
        np.asarray(f_zero),
        np.asarray(-1.0),
        xtol=XTOL_FACTOR * float(vi.min()),
        start=np.asarray(start),
    )


@register("Paule-Mandel")
@attrs.frozen
class PauleMandel:
    """Paule–Mandel estimator: the τ² at which the generalised Q equals its df.

    Solves ``Q(τ²) = k - p`` on ``[0, ∞)`` (τ² = 0 when ``Q(0) <= k - p``), with a
    bracket that provably contains the root, so it converges on every input.

    References
    ----------
    .. [1] Paule RC, Mandel J (1982). Consensus values and weighting factors.
       J Res Natl Bur Stand 87(5):377-385.
    .. [2] DerSimonian R, Kacker R (2007). Random-effects model for meta-analysis
       of clinical trials: an update. Contemp Clin Trials 28(2):105-114.
    """

    name: ClassVar[str] = "PM"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        res = solve_generalized_q(yi, vi, X, yi.shape[-1] - n_params(X))
        return Tau2Fit(
            tau2=res.root, converged=res.converged, iterations=res.iterations, method=self.name
        )


@register("EmpiricalBayes", "Empirical Bayes")
@attrs.frozen
class EmpiricalBayes:
    """Empirical Bayes (Morris) estimator.

    The fixed point of ``τ² = Σ w [k/(k-p) (y - Xβ̂)² - v] / Σ w`` with
    ``w = 1/(v + τ²)``. Multiplying out shows it is the root of
    ``Q(τ²) = k - p``, i.e. the Paule–Mandel estimate (Viechtbauer et al. 2015);
    it is solved the same guaranteed way and reported under its own name.

    References
    ----------
    .. [1] Morris CN (1983). Parametric empirical Bayes inference: theory and
       applications. J Am Stat Assoc 78(381):47-55.
    .. [2] Berkey CS, Hoaglin DC, Mosteller F, Colditz GA (1995). A random-effects
       regression model for meta-analysis. Stat Med 14(4):395-411.
    .. [3] Viechtbauer W, López-López JA, Sánchez-Meca J, Marín-Martínez F (2015).
       A comparison of procedures to test for moderators in mixed-effects
       meta-regression models. Psychol Methods 20(3):360-374.
    """

    name: ClassVar[str] = "EB"

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        fit = PauleMandel().estimate(yi, vi, X)
        return attrs.evolve(fit, method=self.name)
