"""The likelihood engine of the multilevel model: blocks, (restricted) log-likelihood,
score, Hessian, the optimiser over the variance components and their profile
likelihood intervals.

The marginal covariance ``M = V + Σ_l σ²_l G_l`` (``G_l = Z_l Z_lᵀ``, 1 where two
effects share a group of level ``l``) is block-diagonal by outermost cluster
(merged with any covariance ``V`` has across clusters). Blocks of equal size are
stacked and handled by batched numpy linear algebra, so one evaluation costs
``O(Σ n_b³)`` instead of ``O(k³)``; β is profiled out by generalised least squares.

Formulas (``P = M⁻¹ - M⁻¹X(XᵀM⁻¹X)⁻¹XᵀM⁻¹``, ``r = Py``), as Searle, Casella &
McCulloch (1992, ch. 6) and metafor's ``rma.mv``::

    ll_ML   = -k/2 log 2π - 1/2 log|M| - 1/2 yᵀPy
    ll_REML = -(k-p)/2 log 2π + 1/2 log|XᵀX| - 1/2 log|M| - 1/2 log|XᵀM⁻¹X| - 1/2 yᵀPy
    ∂ll/∂σ²_l = -1/2 tr(P G_l) + 1/2 rᵀ G_l r              (ML: tr(M⁻¹ G_l))
    ∂²ll/∂σ²_l∂σ²_m = 1/2 tr(P G_l P G_m) - rᵀ G_l P G_m r  (ML: tr(M⁻¹G_l M⁻¹G_m))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

__all__ = [
    "Blocks",
    "Evaluation",
    "Fit",
    "blocks_of",
    "fit_components",
    "logdet_v",
    "marginal_covariance",
    "profile_interval",
]

Array = NDArray[np.float64]
IntArray = NDArray[np.intp]

_LOG_2PI = math.log(2.0 * math.pi)


class _Group(NamedTuple):
    """Blocks of one size ``n``, stacked: ``B`` blocks."""

    rows: IntArray  # (B, n) row indices into the data
    V: Array  # (B, n, n)
    G: Array  # (L, B, n, n)
    X: Array  # (B, n, p)
    y: Array  # (B, n)


class Blocks(NamedTuple):
    """The data split into independent blocks, grouped by block size."""

    groups: tuple[_Group, ...]
    k: int
    p: int
    n_components: int
    logdet_xtx: float
    n_blocks: int


def _components(outer: IntArray, V: Array | None) -> IntArray:
    """Block id of each row: the outermost cluster, merged where ``V`` correlates rows
    of different clusters (connected components of the graph "same cluster or
    non-zero covariance")."""
    if V is None:
        return np.unique(outer, return_inverse=True)[1].ravel().astype(np.intp)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    k = outer.size
    first = np.unique(outer, return_index=True)[1][np.unique(outer, return_inverse=True)[1]]
    ii, jj = np.nonzero(V)
    rows = np.concatenate([ii, np.arange(k)])
    cols = np.concatenate([jj, first.ravel()])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.intp)


def blocks_of(
    y: Array, X: Array, codes: IntArray, *, vi: Array | None = None, V: Array | None = None
) -> Blocks:
    """Split the data into blocks by outermost cluster (``codes[0]``), grouped by size.

    The sampling covariance is ``diag(vi)`` or the k×k ``V`` (one of them);
    ``codes`` is (L, k), the group of each effect at each level (nested codes:
    equal codes at level ``l`` imply equal codes at every outer level).
    """
    k, p = X.shape
    L = codes.shape[0]
    block = _components(codes[0], V)
    order = np.argsort(block, kind="stable")
    sizes = np.bincount(block)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    by_size: dict[int, list[IntArray]] = {}
    for b in range(sizes.size):
        rows = order[starts[b] : starts[b + 1]]
        by_size.setdefault(int(rows.size), []).append(rows)
    groups = []
    for n, members in sorted(by_size.items()):
        rows = np.stack(members)  # (B, n)
        if V is not None:
            Vb = V[rows[:, :, None], rows[:, None, :]]
        else:
            assert vi is not None
            Vb = np.zeros((rows.shape[0], n, n))
            Vb[:, np.arange(n), np.arange(n)] = vi[rows]
        Gb = np.stack(
            [(codes[lv][rows][:, :, None] == codes[lv][rows][:, None, :]) for lv in range(L)]
        ).astype(np.float64)
        groups.append(_Group(rows=rows, V=Vb, G=Gb, X=X[rows], y=y[rows]))
    _, logdet_xtx = np.linalg.slogdet(X.T @ X)
    return Blocks(
        groups=tuple(groups),
        k=k,
        p=p,
        n_components=L,
        logdet_xtx=float(logdet_xtx),
        n_blocks=int(sizes.size),
    )


def marginal_covariance(blocks: Blocks, sigma2: Array) -> Array:
    """The dense k×k ``V + Σ σ²_l G_l``, assembled from the blocks."""
    out = np.zeros((blocks.k, blocks.k))
    for g in blocks.groups:
        M = g.V + np.einsum("l,lbij->bij", sigma2, g.G)
        out[g.rows[:, :, None], g.rows[:, None, :]] = M
    return out


def logdet_v(blocks: Blocks) -> float:
    """``log|V|`` from the blocks (NaN if V is not positive definite)."""
    total = 0.0
    for g in blocks.groups:
        sign, logdet = np.linalg.slogdet(g.V)
        if np.any(sign <= 0):
            return math.nan
        total += float(logdet.sum())
    return total


class Evaluation(NamedTuple):
    """The (restricted) log-likelihood and what comes with it at one σ²."""

    ll: float
    beta: Array
    vcov: Array  # (XᵀM⁻¹X)⁻¹
    score: Array  # (L,), w.r.t. σ²
    hessian: Array  # (L, L), observed, w.r.t. σ²
    information: Array  # (L, L), expected
    ok: bool  # M positive definite


def evaluate(blocks: Blocks, sigma2: Array, *, reml: bool, derivatives: bool = True) -> Evaluation:
    """The log-likelihood (and its derivatives in σ²) at ``sigma2``."""
    L, p, k = blocks.n_components, blocks.p, blocks.k
    A = np.zeros((p, p))
    c = np.zeros(p)
    logdet_m = 0.0
    tr_mg = np.zeros(L)
    S = np.zeros((L, p, p))
    tr_mgmg = np.zeros((L, L))
    T = np.zeros((L, L, p, p))
    cache = []
    for g in blocks.groups:
        M = g.V + np.einsum("l,lbij->bij", sigma2, g.G)
        try:
            chol = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            nan = np.full(L, np.nan)
            return Evaluation(
                -math.inf, np.full(p, np.nan), np.full((p, p), np.nan), nan,
                np.full((L, L), np.nan), np.full((L, L), np.nan), False,
            )  # fmt: skip
        logdet_m += 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
        Minv = np.linalg.inv(M)
        MX = Minv @ g.X  # (B, n, p)
        My = np.einsum("bij,bj->bi", Minv, g.y)
        A += np.einsum("bip,biq->pq", g.X, MX)
        c += np.einsum("bip,bi->p", g.X, My)
        MG = None
        if derivatives:
            MG = np.einsum("bij,lbjk->lbik", Minv, g.G)  # M⁻¹ G_l
            tr_mg += np.einsum("lbii->l", MG)
            GMX = np.einsum("lbij,bjp->lbip", g.G, MX)
            S += np.einsum("bip,lbiq->lpq", MX, GMX)
            tr_mgmg += np.einsum("lbij,mbji->lm", MG, MG)
            T += np.einsum("lbip,mbiq->lmpq", GMX, np.einsum("mbij,bjq->mbiq", MG, MX))
        cache.append((Minv, MX, My, MG))
    try:
        A_chol = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        nan = np.full(L, np.nan)
        return Evaluation(
            -math.inf, np.full(p, np.nan), np.full((p, p), np.nan), nan,
            np.full((L, L), np.nan), np.full((L, L), np.nan), False,
        )  # fmt: skip
    vcov = np.linalg.inv(A)
    vcov = (vcov + vcov.T) / 2.0
    beta = vcov @ c
    logdet_a = 2.0 * float(np.log(np.diagonal(A_chol)).sum())
    rss = 0.0
    rGr = np.zeros(L)
    u = np.zeros((L, p))
    rGMGr = np.zeros((L, L))
    for g, (Minv, MX, My, _) in zip(blocks.groups, cache, strict=True):
        r = My - np.einsum("bip,p->bi", MX, beta)  # (Py) in this block
        rss += float(np.einsum("bi,bi->", g.y - g.X @ beta, r))
        if derivatives:
            Gr = np.einsum("lbij,bj->lbi", g.G, r)
            rGr += np.einsum("lbi,bi->l", Gr, r)
            u += np.einsum("bip,lbi->lp", MX, Gr)
            rGMGr += np.einsum("lbi,mbi->lm", Gr, np.einsum("bij,mbj->mbi", Minv, Gr))
    if reml:
        ll = (
            -0.5 * (k - p) * _LOG_2PI
            + 0.5 * blocks.logdet_xtx
            - 0.5 * logdet_m
            - 0.5 * logdet_a
            - 0.5 * rss
        )
    else:
        ll = -0.5 * k * _LOG_2PI - 0.5 * logdet_m - 0.5 * rss
    if not derivatives:
        empty = np.full((L, L), np.nan)
        return Evaluation(ll, beta, vcov, np.full(L, np.nan), empty, empty, True)
    quad = rGMGr - u @ vcov @ u.T  # rᵀ G_l P G_m r
    if reml:
        tr_pg = tr_mg - np.einsum("pq,lqp->l", vcov, S)
        VS = np.einsum("pq,lqr->lpr", vcov, S)
        tr_pgpg = (
            tr_mgmg - 2.0 * np.einsum("pq,lmqp->lm", vcov, T) + np.einsum("lpq,mqp->lm", VS, VS)
        )
    else:
        tr_pg, tr_pgpg = tr_mg, tr_mgmg
    tr_pgpg = (tr_pgpg + tr_pgpg.T) / 2.0
    quad = (quad + quad.T) / 2.0
    score = -0.5 * tr_pg + 0.5 * rGr
    information = 0.5 * tr_pgpg
    hessian = 0.5 * tr_pgpg - quad
    return Evaluation(ll, beta, vcov, score, hessian, information, True)


class Fit(NamedTuple):
    """The optimum over the free variance components."""

    sigma2: Array
    evaluation: Evaluation
    boundary: NDArray[np.bool_]
    converged: bool
    iterations: int
    reason: str
    starts: int
    other_optima: int  # starts that ended at a lower local maximum


def _newton(
    blocks: Blocks,
    start: Array,
    free: NDArray[np.bool_],
    *,
    reml: bool,
    scale: float,
    maxiter: int,
    tol: float,
) -> Fit:
    """Damped Newton ascent on ``log σ²`` of the free components (Fisher scoring when
    the observed Hessian is not negative definite), with step halving and boundary
    detection: a component heading to 0 is set to 0 when the likelihood there is no
    lower and its score at 0 is ≤ 0; at the end every component at 0 must have a
    score ≤ 0 (the Karush–Kuhn–Tucker condition of a maximum on σ² ≥ 0), else it is
    released and the ascent resumed."""
    s2 = start.astype(np.float64).copy()
    active = free & (s2 > 0)
    tiny = 1e-12 * scale
    releases = 0
    it = 0
    ev = evaluate(blocks, s2, reml=reml)
    if not ev.ok:
        return Fit(s2, ev, ~active & free, False, 0, "the start values give a singular M", 1, 0)
    while it < maxiter:
        it += 1
        F = np.flatnonzero(active)
        if F.size == 0:
            step_norm = 0.0
        else:
            sF = s2[F]
            g_phi = sF * ev.score[F]
            H_phi = np.outer(sF, sF) * ev.hessian[np.ix_(F, F)] + np.diag(g_phi)
            try:
                np.linalg.cholesky(-H_phi)
                d = np.linalg.solve(-H_phi, g_phi)
            except np.linalg.LinAlgError:
                info = np.outer(sF, sF) * ev.information[np.ix_(F, F)]
                d = np.linalg.lstsq(info, g_phi, rcond=None)[0]
            big = float(np.max(np.abs(d)))
            if big > 3.0:
                d *= 3.0 / big
            t = 1.0
            improved = False
            for _ in range(60):
                trial = s2.copy()
                trial[F] = sF * np.exp(t * d)
                ev1 = evaluate(blocks, trial, reml=reml)
                if ev1.ok and ev1.ll >= ev.ll - 1e-13 * max(1.0, abs(ev.ll)):
                    improved = True
                    break
                t /= 2.0
            # Components heading for the boundary: jump to 0 if that is no worse than
            # the step (not merely than the current point: between them the
            # likelihood may rise to an interior maximum, which the step is nearer).
            jumped = False
            for j, comp in enumerate(F.tolist()):
                if d[j] < -0.5:
                    trial0 = s2.copy()
                    trial0[comp] = 0.0
                    ev0 = evaluate(blocks, trial0, reml=reml)
                    beaten = ev1.ll if improved else ev.ll
                    if ev0.ok and ev0.ll >= max(ev.ll, beaten) and ev0.score[comp] <= 0.0:
                        s2, ev, jumped = trial0, ev0, True
                        active[comp] = False
                        break
            if jumped:
                continue
            if not improved:
                return Fit(s2, ev, free & ~active, False, it, "the line search failed", 1, 0)
            step_norm = float(np.max(np.abs(t * d)))
            s2, ev = trial, ev1
            # Components that drifted to (numerically) zero.
            for comp in F.tolist():
                if s2[comp] < tiny:
                    trial = s2.copy()
                    trial[comp] = 0.0
                    ev0 = evaluate(blocks, trial, reml=reml)
                    if ev0.ok and ev0.score[comp] <= 0.0:
                        s2, ev = trial, ev0
                        active[comp] = False
        if step_norm < tol:
            # Karush–Kuhn–Tucker check of the components at 0, and of those so close to
            # it that the log scale no longer moves them (their information on the log
            # scale vanishes): a positive score means the likelihood rises into σ² > 0.
            near_zero = free & (~active | (s2 < 1e-6 * scale))
            bad = [
                j
                for j in np.flatnonzero(near_zero).tolist()
                if ev.score[j] > 1e-10 * max(1.0, scale**-1)
            ]
            if bad and releases < 2 * blocks.n_components:
                releases += 1
                for j in bad:
                    h = -ev.hessian[j, j]
                    s2[j] = max(ev.score[j] / h if h > 0 else 0.0, 1e-4 * scale)
                    active[j] = True
                ev = evaluate(blocks, s2, reml=reml)
                continue
            if bad:
                return Fit(s2, ev, free & ~active, False, it, "components kept leaving 0", 1, 0)
            return Fit(s2, ev, free & ~active, True, it, "", 1, 0)
    return Fit(s2, ev, free & ~active, False, it, f"no convergence in {maxiter} iterations", 1, 0)


#: Where :func:`_probe_boundaries` looks, as multiples of the scale of the data
#: (ten points per decade: an interior maximum can be a narrow bump).
_PROBE = 10.0 ** np.arange(-5.0, 1.05, 0.1)


def _probe_boundaries(
    blocks: Blocks,
    best: Fit,
    free: NDArray[np.bool_],
    *,
    reml: bool,
    scale: float,
    maxiter: int,
    tol: float,
) -> tuple[Fit, list[float]]:
    """Look past a boundary maximum: for each free component the ascent set to 0, the
    likelihood along that component (the others as fitted) on a geometric grid
    from 1e-5 to 10 times ``scale``, ten points per decade (the resolution of the
    univariate REML grid); where it exceeds the fit's, ascend again from
    the best grid point. (The likelihood in one σ² can have a maximum at 0 and a
    higher one inside, and an ascent from above can stop at 0.) Returns the best
    fit and the log-likelihoods of the extra ascents."""
    extra: list[float] = []
    for comp in np.flatnonzero(free & (best.sigma2 == 0.0)).tolist():
        top, at = best.evaluation.ll, None
        for value in _PROBE * scale:
            trial = best.sigma2.copy()
            trial[comp] = value
            ev = evaluate(blocks, trial, reml=reml, derivatives=False)
            if ev.ok and ev.ll > top + 1e-9 * max(1.0, abs(top)):
                top, at = ev.ll, trial
        if at is None:
            continue
        f = _newton(blocks, at, free.copy(), reml=reml, scale=scale, maxiter=maxiter, tol=tol)
        extra.append(f.evaluation.ll if f.converged else -math.inf)
        if f.converged and f.evaluation.ll > best.evaluation.ll:
            best = f
    return best, extra


def fit_components(
    blocks: Blocks,
    fixed: Array,
    *,
    reml: bool,
    start_total: float,
    scale: float,
    maxiter: int = 200,
    tol: float = 1e-10,
    starts: Sequence[Array] | None = None,
) -> Fit:
    """Maximise the (restricted) likelihood over the components not fixed (NaN in
    ``fixed``), from several starts; the best optimum is returned.

    Starts: ``start_total`` split equally over the free components (metafor's start),
    and, with two or more free components, all of it on one component at a time (the
    others at 1/100 of it), so that each way of dividing the heterogeneity is tried;
    then, for a component the best ascent set to 0, the interior is searched too
    (:func:`_probe_boundaries`).
    """
    L = blocks.n_components
    free = np.isnan(fixed)
    base = np.where(free, 0.0, fixed)
    n_free = int(free.sum())
    if starts is None:
        starts_list = []
        total = max(start_total, 1e-3 * scale)
        if n_free:
            s = base.copy()
            s[free] = total / n_free
            starts_list.append(s)
        if n_free >= 2:
            for j in np.flatnonzero(free).tolist():
                s = base.copy()
                s[free] = total / 100.0
                s[j] = total
                starts_list.append(s)
        if not starts_list:
            starts_list.append(base.copy())
    else:
        starts_list = [np.where(free, np.asarray(s, dtype=np.float64), fixed) for s in starts]
    best: Fit | None = None
    lls: list[float] = []
    for s in starts_list:
        f = _newton(blocks, s, free.copy(), reml=reml, scale=scale, maxiter=maxiter, tol=tol)
        lls.append(f.evaluation.ll if f.converged else -math.inf)
        if best is None or (
            f.converged and (not best.converged or f.evaluation.ll > best.evaluation.ll)
        ):
            best = f
    assert best is not None
    if starts is None and best.converged:
        best, extra = _probe_boundaries(
            blocks, best, free, reml=reml, scale=scale, maxiter=maxiter, tol=tol
        )
        lls.extend(extra)
    top = best.evaluation.ll
    others = sum(1 for v in lls if math.isfinite(v) and v < top - 1e-6 * max(1.0, abs(top)))
    del L
    return best._replace(starts=len(lls), other_optima=others)


def profile_interval(
    blocks: Blocks,
    fit: Fit,
    fixed: Array,
    comp: int,
    *,
    reml: bool,
    level: float,
    scale: float,
) -> tuple[float, float, bool]:
    """Profile-likelihood interval of component ``comp``: the σ² where
    ``-2 (ll_profile(σ²) - ll̂) = χ²₁(level)``, the other free components re-estimated
    at each value (as metafor's ``confint.rma.mv``); the lower bound is 0 when the
    profile at 0 stays within the cut-off. Returns ``(low, high, converged)``; a bound
    not found within ``10¹² · max(σ̂², scale)`` is ``inf``."""
    from scipy import stats

    crit = float(stats.chi2.ppf(level, 1))
    ll_hat = fit.evaluation.ll
    est = float(fit.sigma2[comp])
    others_free = np.isnan(fixed)
    others_free[comp] = False
    ok = [True]

    def objective(val: float) -> float:
        fx = fixed.copy()
        fx[comp] = max(val, 0.0)
        if others_free.any():
            # From the estimates (kept off 0); when that ends with another component
            # at 0, also from all of them well inside σ² > 0, since a component at 0
            # can be a local maximum of the constrained likelihood while the
            # profile's maximum is interior.
            near = fit.sigma2.copy()
            near[others_free] = np.maximum(near[others_free], 1e-6 * scale)
            f = fit_components(blocks, fx, reml=reml, start_total=0.0, scale=scale, starts=[near])
            if np.any(f.boundary & others_free):
                inside = fit.sigma2.copy()
                inside[others_free] = np.maximum(inside[others_free], 0.25 * scale)
                f2 = fit_components(
                    blocks, fx, reml=reml, start_total=0.0, scale=scale, starts=[inside]
                )
                if f2.converged and (not f.converged or f2.evaluation.ll > f.evaluation.ll):
                    f = f2
            if not f.converged:
                ok[0] = False
            ll = f.evaluation.ll
        else:
            ll = evaluate(blocks, fx, reml=reml, derivatives=False).ll
        return -2.0 * (ll - ll_hat) - crit

    xtol = 1e-13 * max(est, scale)
    if est <= 0.0 or objective(0.0) < 0.0:
        low = 0.0
    else:
        low = float(optimize.brentq(objective, 0.0, est, xtol=xtol, rtol=1e-15, maxiter=500))
    hi = max(10.0 * est, scale, 1e-8)
    high = math.inf
    while hi < 1e12 * max(est, scale):
        if objective(hi) > 0.0:
            high = float(optimize.brentq(objective, est, hi, xtol=xtol, rtol=1e-15, maxiter=500))
            break
        hi *= 10.0
    return low, high, ok[0]
