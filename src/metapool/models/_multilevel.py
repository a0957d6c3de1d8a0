"""Multilevel (nested random-effects) models for dependent effect sizes.

:class:`MultilevelModel` fits ``y = Xβ + Σ_l Z_l u_l + ε`` with
``u_l ~ N(0, σ²_l I)`` for each nested level (e.g. effect sizes within samples
within studies) and ``ε ~ N(0, V)``, by REML or ML, as metafor's ``rma.mv`` with
``random = ~ 1 | outer/inner``. The likelihood engine is
:mod:`metapool.models._multilevel_engine`; the result is
:class:`~metapool.results.MultilevelResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._inference import t_crit, two_sided_p, z_crit
from metapool._moderators import group_codes, moderator_design, read_cells
from metapool._validation import check_choice, check_level
from metapool._warnings import warn
from metapool.effects._base import EffectSet
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.models._inverse_variance import check_effects
from metapool.models._multilevel_engine import (
    Blocks,
    Fit,
    blocks_of,
    evaluate,
    fit_components,
    logdet_v,
    marginal_covariance,
    profile_interval,
)
from metapool.results._intervals import NOT_ESTIMABLE, Interval, IntervalArray
from metapool.results._multilevel import MultilevelBatchResult, MultilevelResult

__all__ = ["MultilevelModel"]

Array = NDArray[np.float64]
IntArray = NDArray[np.intp]

_OWNER = "MultilevelModel"


def _check_sigma2(value: Any) -> tuple[float, ...] | None:
    """``sigma2=``: None, or one value per level (None/NaN: estimated; a number ≥ 0: fixed)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise InvalidParameterError(
            f"The 'sigma2' parameter of {_OWNER} must be None or a sequence with one value "
            f"per level (None or NaN to estimate it, a number >= 0 to fix it). Got {value!r} "
            "instead."
        )
    out = []
    for j, v in enumerate(list(value)):
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            out.append(math.nan)
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise InvalidParameterError(
                f"The 'sigma2' parameter of {_OWNER} must hold numbers, None or NaN; entry "
                f"{j + 1} is {v!r}."
            )
        if not (math.isfinite(float(v)) and float(v) >= 0.0):
            raise InvalidParameterError(
                f"The 'sigma2' parameter of {_OWNER} must hold values >= 0 (or None/NaN to "
                f"estimate them); entry {j + 1} is {v!r}."
            )
        out.append(float(v))
    return tuple(out)


def _level_codes(
    levels: Any, index: IntArray, labels: tuple[str, ...], n_given: int
) -> tuple[tuple[str, ...], IntArray, list[list[str]]]:
    """The nested group codes ``(L, k)`` of the levels, outermost first: the group of
    level ``l`` is the combination of the ids of levels ``1..l`` (as ``~ 1 | a/b``)."""
    owner = f"{_OWNER}.fit"
    if not isinstance(levels, Mapping) and not hasattr(levels, "columns"):
        raise MetapoolTypeError(
            f"{owner}: 'levels' must be a mapping from level name to group ids (one per "
            "effect size), outermost level first, e.g. {'study': study, 'esid': esid}. Got "
            f"{type(levels).__name__}."
        )
    names = [str(n) for n in (levels.keys() if isinstance(levels, Mapping) else levels.columns)]
    if not names:
        raise InvalidDataError(f"{owner}: 'levels' is empty; give at least one level.")
    k = index.size
    codes = []
    texts: list[list[str]] = []
    combined: list[tuple[int, ...]] = [() for _ in range(k)]
    for name in names:
        cells, _ = read_cells(owner, f"level {name!r}", levels[name])
        if cells.size == n_given and n_given != k:
            cells = cells[index]
        elif cells.size != k:
            raise InvalidDataError(
                f"{owner}: level {name!r} has {cells.size} values; expected one per effect "
                f"size ({k}" + (f", or {n_given} as given" if n_given != k else "") + ")."
            )
        level_codes, _ = group_codes(
            owner,
            f"level {name!r}",
            cells,
            index,
            labels,
            "every effect size needs a group id at every level",
        )
        combined = [(*c, int(j)) for c, j in zip(combined, level_codes, strict=True)]
        texts.append([str(c.item() if isinstance(c, np.generic) else c) for c in cells])
        lookup: dict[tuple[int, ...], int] = {}
        codes.append(np.array([lookup.setdefault(c, len(lookup)) for c in combined]))
    code_arr = np.asarray(np.stack(codes), dtype=np.intp)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            if np.unique(code_arr[a]).size == np.unique(code_arr[b]).size:
                raise InvalidDataError(
                    f"{owner}: levels {names[a]!r} and {names[b]!r} group the effect sizes "
                    f"in the same way ({np.unique(code_arr[a]).size} groups each), so their "
                    "variance components cannot be told apart. Drop one of them."
                )
    return tuple(names), code_arr, texts


def _check_v(V: Any, keep: NDArray[np.bool_], index: IntArray, n_given: int) -> Array:
    owner = f"{_OWNER}.fit"
    try:
        arr = np.asarray(V, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetapoolTypeError(f"{owner}: 'V' must be a square numeric matrix ({exc}).") from exc
    n_eff = index.size
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidDataError(f"{owner}: 'V' must be a square matrix; got shape {arr.shape}.")
    if arr.shape[0] == n_given and n_given != n_eff:
        arr = arr[np.ix_(index, index)]
    elif arr.shape[0] != n_eff:
        raise InvalidDataError(
            f"{owner}: 'V' must be {n_eff} x {n_eff} (one row per effect size); got "
            f"{arr.shape[0]} x {arr.shape[1]}."
        )
    if not np.all(np.isfinite(arr)):
        i = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise InvalidDataError(f"{owner}: 'V' has a non-finite value in row {i + 1}.")
    if not np.allclose(arr, arr.T, rtol=1e-10, atol=0.0):
        i, j = np.argwhere(~np.isclose(arr, arr.T, rtol=1e-10, atol=0.0))[0]
        raise InvalidDataError(
            f"{owner}: 'V' must be symmetric; V[{i + 1}, {j + 1}] = {float(arr[i, j])!r} but "
            f"V[{j + 1}, {i + 1}] = {float(arr[j, i])!r}."
        )
    diag = np.diagonal(arr)
    if np.any(diag <= 0):
        i = int(np.flatnonzero(diag <= 0)[0])
        raise InvalidDataError(
            f"{owner}: the sampling variances on the diagonal of 'V' must be > 0; row "
            f"{i + 1} has {float(diag[i])!r}."
        )
    arr = (arr + arr.T) / 2.0
    return np.asarray(arr[np.ix_(keep, keep)], dtype=np.float64)


def _contain_df(X: Array, codes: IntArray, k: int, p: int) -> Array:
    """metafor's ``dfs="contain"``: for each coefficient, the number of groups of the
    coarsest level within whose groups its column is constant (``k`` if none), minus p,
    at least 1."""
    n_groups = [int(np.unique(c).size) for c in codes]
    out = np.full(p, float(k))
    for j in range(p):
        cands = []
        for lv, c in enumerate(codes):
            col = X[:, j]
            lo = np.full(n_groups[lv], np.inf)
            hi = np.full(n_groups[lv], -np.inf)
            np.minimum.at(lo, c, col)
            np.maximum.at(hi, c, col)
            if np.all(lo == hi):
                cands.append(n_groups[lv])
        if cands:
            out[j] = min(cands)
    return np.asarray(np.maximum(out - p, 1.0), dtype=np.float64)


def _at_zero(blocks: Blocks) -> tuple[float, float, bool]:
    """``QE = yᵀ P₀ y`` and ``tr(P₀)`` with ``P₀`` built from ``W = V⁻¹`` alone."""
    p = blocks.p
    A = np.zeros((p, p))
    B = np.zeros((p, p))
    c = np.zeros(p)
    tr = 0.0
    parts = []
    for g in blocks.groups:
        try:
            Winv = np.linalg.inv(g.V)
            np.linalg.cholesky(g.V)
        except np.linalg.LinAlgError:
            return math.nan, math.nan, False
        WX = Winv @ g.X
        Wy = np.einsum("bij,bj->bi", Winv, g.y)
        A += np.einsum("bip,biq->pq", g.X, WX)
        B += np.einsum("bip,biq->pq", WX, WX)
        c += np.einsum("bip,bi->p", g.X, Wy)
        tr += float(np.einsum("bii->", Winv))
        parts.append((WX, Wy))
    Ainv = np.linalg.inv(A)
    beta = Ainv @ c
    qe = 0.0
    for g, (WX, Wy) in zip(blocks.groups, parts, strict=True):
        qe += float(np.einsum("bi,bi->", g.y - g.X @ beta, Wy - WX @ beta))
    return qe, tr - float(np.trace(Ainv @ B)), True


def _estimate(
    blocks: Blocks, X: Array, yi: Array, vi: Array, fixed: Array, reml: bool
) -> tuple[Fit, float, float, float, bool]:
    """The fit of the components, the scale used, ``QE``, ``tr(P₀)`` and whether V is
    positive definite."""
    L = fixed.size
    # The scale of the variance components, for tolerances and search ranges.
    scale = max(float(np.var(yi, ddof=1)), float(np.mean(vi)))
    qe, tr_p0, v_ok = _at_zero(blocks)
    # metafor's start: the residual variance of the common-effect fit beyond the
    # typical sampling variance.
    beta_fe = np.linalg.lstsq(X, yi, rcond=None)[0]
    if v_ok:
        ev0 = evaluate(blocks, np.zeros(L), reml=reml, derivatives=False)
        beta_fe = ev0.beta if ev0.ok else beta_fe
    resid = yi - X @ beta_fe
    total = float(np.var(resid, ddof=1)) - 1.0 / float(np.mean(1.0 / vi))
    n_free = int(np.isnan(fixed).sum())
    total = max(total, 1e-3 * max(n_free, 1) * scale)
    fit = fit_components(blocks, fixed, reml=reml, start_total=total, scale=scale)
    return fit, scale, qe, tr_p0, v_ok


@attrs.frozen(init=False)
class MultilevelModel:
    """Multilevel random-effects model (nested levels), fitted by REML or ML.

    Fits ``y = Xβ + Σ_l u_l + ε`` where ``u_l`` has one N(0, σ²_l) effect per group of
    level ``l`` (levels nested, outermost first) and ``ε ~ N(0, V)`` with ``V`` the
    known sampling covariance (``diag(vi)`` unless given). β is estimated by
    generalised least squares; the σ²_l maximise the restricted (REML) or full (ML)
    log-likelihood, the same model as metafor's ``rma.mv(yi, V, random = ~ 1 |
    outer/inner)``.

    Parameters
    ----------
    method : {"REML", "ML"}, default "REML"
        Restricted or full maximum likelihood.
    ci : {"z", "t"}, default "z"
        Wald z tests and intervals, or t with ``dfs`` degrees of freedom (metafor's
        ``test="t"``).
    dfs : {"residual", "contain"}, default "residual"
        Degrees of freedom of the t tests: ``k - p`` for every coefficient, or
        metafor's containment rule (for each coefficient, the number of groups of the
        coarsest level within whose groups its column is constant, minus ``p``).
    level : float, default 0.95
        Confidence level.
    sigma2 : sequence of float or None, optional
        Fixed values for the variance components, one per level (None or NaN: to be
        estimated), as metafor's ``sigma2=``.
    profile : bool, default True
        Compute the profile-likelihood interval of each estimated σ² (as metafor's
        ``confint``); it costs one constrained refit per likelihood evaluation, so
        large analyses that do not need it can turn it off.
    nan_policy : {"raise", "omit"}, default "raise"
        What to do with an effect whose moderator value is missing.

    Raises
    ------
    InvalidParameterError
        If an argument is not an allowed value.

    Notes
    -----
    The log-likelihoods are those of metafor (the REML one includes
    ``½ log|XᵀX|``). The optimiser works on ``log σ²`` with the analytic score and
    observed Hessian (damped Newton; Fisher scoring where the Hessian is not negative
    definite), from metafor's start (the excess residual variance of the
    common-effect fit split equally over the levels) and, with two or more levels,
    from starts that put it all on one level at a time; the highest optimum is kept
    (the restricted likelihood of several components need not be concave, so one
    start could stop at a local maximum). A component whose estimate reaches 0 is set
    to exactly 0 and reported in ``boundary`` when the likelihood does not increase
    into σ² > 0 there (score at 0 ≤ 0, the Karush–Kuhn–Tucker condition); the fit
    stops when the Newton step in ``log σ²`` is below 1e-10. A fit that fails to
    converge is returned with ``converged=False`` and a
    :class:`~metapool.exceptions.ConvergenceWarning` saying why.

    References
    ----------
    .. [1] Konstantopoulos S (2011). Fixed effects and variance components estimation
       in three-level meta-analysis. Res Synth Methods 2(1):61-76.
    .. [2] Cheung MWL (2014). Modeling dependent effect sizes with three-level
       meta-analyses: a structural equation modeling approach. Psychol Methods
       19(2):211-229.
    .. [3] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
       package. J Stat Softw 36(3):1-48.
    .. [4] Harville DA (1977). Maximum likelihood approaches to variance component
       estimation and to related problems. J Am Stat Assoc 72(358):320-338.

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(
    ...     yi=[0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4], vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.05, 0.02]
    ... )
    >>> res = mp.MultilevelModel().fit(
    ...     eff, levels={"study": [1, 1, 2, 2, 3, 3, 3], "es": [1, 2, 1, 2, 1, 2, 3]}
    ... )
    >>> res.coef.round(4).tolist(), res.sigma2.round(4).tolist()
    ([0.374], [0.0167, 0.0161])
    >>> res.ci.low.round(4).tolist(), res.boundary.tolist()
    ([0.1603], [False, False])
    """

    method: str
    ci: str
    dfs: str
    level: float
    sigma2: tuple[float, ...] | None
    profile: bool
    nan_policy: str

    def __init__(
        self,
        method: str = "REML",
        ci: str = "z",
        *,
        dfs: str = "residual",
        level: float = 0.95,
        sigma2: Sequence[float | None] | None = None,
        profile: bool = True,
        nan_policy: str = "raise",
    ) -> None:
        if not isinstance(profile, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'profile' parameter of {_OWNER} must be True or False. Got {profile!r} "
                "instead."
            )
        self.__attrs_init__(
            method=check_choice(_OWNER, "method", method, ("REML", "ML")),
            ci=check_choice(_OWNER, "ci", ci, ("z", "t")),
            dfs=check_choice(_OWNER, "dfs", dfs, ("residual", "contain")),
            level=check_level(_OWNER, level),
            sigma2=_check_sigma2(sigma2),
            profile=bool(profile),
            nan_policy=check_choice(_OWNER, "nan_policy", nan_policy, ("raise", "omit")),
        )

    def fit(
        self,
        effects: EffectSet,
        levels: Any,
        moderators: Any = None,
        V: Any = None,
        *,
        intercept: bool = True,
    ) -> MultilevelResult:
        """Fit the model.

        Parameters
        ----------
        effects : EffectSet
            The effect sizes (``mp.GenericEffect(yi=, vi=)`` for precomputed ones).
        levels : mapping or DataFrame
            Level name -> group id of each effect size, outermost level first. Inner
            ids are read within the outer groups (``{"district": d, "school": s}``
            is metafor's ``~ 1 | district/school``: school 1 of district 1 and school 1
            of district 2 are different schools). Ids may be numbers, text or booleans.
        moderators : array_like, mapping or DataFrame, optional
            As :meth:`metapool.MetaRegression.fit`; None fits the intercept-only model.
        V : array_like, optional
            ``k × k`` known sampling covariance matrix replacing ``diag(vi)`` (e.g. from
            :func:`metapool.vcalc`); the effect set's ``vi`` are then not used.
        intercept : bool, default True
            Add an intercept column.

        Returns
        -------
        MultilevelResult

        Raises
        ------
        MetapoolTypeError
            If ``effects`` is not an effect set or ``levels`` not a mapping.
        InvalidDataError
            If a level or moderator has the wrong length or a missing id (naming the
            level and the study), two levels group the effects identically, ``V`` is
            not a symmetric matrix of the right size with a positive diagonal, the
            design is singular, there are not more effects than coefficients, or the
            number of fixed ``sigma2`` values differs from the number of levels.

        Warns
        -----
        ConvergenceWarning
            If the optimiser or a profile-likelihood interval did not converge.
        """
        owner = f"{_OWNER}.fit"
        effects = check_effects(_OWNER, effects)
        if not isinstance(intercept, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'intercept' parameter of {owner} must be True or False. Got "
                f"{intercept!r} instead."
            )
        n_given = effects.k + len(effects.excluded)
        level_names, codes_all, id_texts = _level_codes(
            levels, effects.index, effects.labels, n_given
        )
        design, keep, omitted = moderator_design(
            _OWNER,
            {} if moderators is None else moderators,
            effects.index,
            effects.labels,
            n_given,
            intercept=bool(intercept),
            nan_policy=self.nan_policy,
        )
        yi = np.asarray(effects.yi, dtype=np.float64)[keep]
        Vm = None if V is None else _check_v(V, keep, effects.index, n_given)
        labels = tuple(lab for lab, kept in zip(effects.labels, keep, strict=True) if kept)
        codes = np.stack([np.unique(c[keep], return_inverse=True)[1].ravel() for c in codes_all])
        codes = np.asarray(codes, dtype=np.intp)
        kept_rows = np.flatnonzero(keep)
        group_ids = tuple(
            tuple(
                id_texts[lv][int(kept_rows[np.flatnonzero(codes[lv] == g)[0]])]
                for g in range(int(codes[lv].max()) + 1)
            )
            for lv in range(codes.shape[0])
        )
        X = design.X
        k, p = X.shape
        L = len(level_names)
        if k - p < 1:
            raise InvalidDataError(
                f"{owner}: {p} coefficient(s) need more than {p} effect sizes; got k = {k}."
            )
        if self.sigma2 is not None and len(self.sigma2) != L:
            raise InvalidDataError(
                f"{owner}: 'sigma2' of the model has {len(self.sigma2)} value(s) but there "
                f"are {L} level(s) ({', '.join(level_names)})."
            )
        fixed = np.full(L, np.nan) if self.sigma2 is None else np.array(self.sigma2)
        reml = self.method == "REML"

        if Vm is None:
            vi = np.asarray(effects.vi, dtype=np.float64)[keep]
            blocks = blocks_of(yi, X, codes, vi=vi)
        else:
            vi = np.diagonal(Vm).copy()
            blocks = blocks_of(yi, X, codes, V=Vm)
        fit, scale, qe, tr_p0, v_ok = _estimate(blocks, X, yi, vi, fixed, reml)
        ev = fit.evaluation
        notes: list[str] = []
        n_groups = tuple(int(np.unique(c).size) for c in codes)
        for j, name in enumerate(level_names):
            if n_groups[j] == 1 and np.isnan(fixed[j]):
                note = (
                    f"level {name!r} has a single group: its sigma^2 is not identified "
                    "(confounded with the intercept)"
                )
                notes.append(note)
                warn(f"{owner}: {note}; drop the level or fix its sigma2.", DegenerateDataWarning)
        converged = bool(fit.converged and ev.ok)
        if not ev.ok:
            raise InvalidDataError(
                f"{owner}: the marginal covariance V + sum(sigma2 Z Z') is not positive "
                "definite at the estimates; check that V is positive definite."
            )
        if not fit.converged:
            notes.append(f"the optimiser did not converge: {fit.reason}")
            warn(
                f"{owner}: the (restricted) likelihood maximisation did not converge "
                f"({fit.reason}); the result is flagged converged=False.",
                ConvergenceWarning,
            )
        if fit.other_optima:
            notes.append(
                f"{fit.other_optima} of {fit.starts} starts ended at a lower local maximum; "
                "the highest is reported"
            )
        sigma2 = fit.sigma2.copy()
        boundary = np.asarray(fit.boundary & np.isnan(fixed), dtype=bool)
        for j in np.flatnonzero(boundary).tolist():
            notes.append(f"sigma^2 of level {level_names[j]!r} is at the boundary 0")

        coef = ev.beta
        vcov = ev.vcov
        se = np.sqrt(np.diagonal(vcov))
        stat = coef / se
        df: Array | None
        if self.ci == "t":
            df_t = (
                np.full(p, float(k - p)) if self.dfs == "residual" else _contain_df(X, codes, k, p)
            )
            crit = np.asarray(t_crit(self.level, df_t), dtype=np.float64)
            df = df_t
        else:
            df = None
            crit = np.full(p, z_crit(self.level))
        pvalue = two_sided_p(stat, df)
        ci = IntervalArray(coef - crit * se, coef + crit * se)

        # Omnibus test of the moderators.
        btt = np.arange(1, p) if intercept else np.arange(p)
        m = int(btt.size)
        qm_df2: float | None = None
        if m == 0:
            qm, qm_p = math.nan, math.nan
        else:
            b = coef[btt]
            qm = float(b @ np.linalg.solve(vcov[np.ix_(btt, btt)], b))
            if df is None:
                qm_p = float(special.chdtrc(m, qm))
            else:
                qm = qm / m
                qm_df2 = float(np.min(df[btt]))
                qm_p = float(special.fdtrc(m, qm_df2, qm))

        # Fit statistics as metafor's fitstats().
        n_par = p + int(np.isnan(fixed).sum())
        ll = float(ev.ll)
        if reml:
            deviance = -2.0 * ll
            n_eff = k - p
        else:
            ll_sat = -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_v(blocks)
            deviance = -2.0 * (ll - ll_sat)
            n_eff = k
        aic = -2.0 * ll + 2.0 * n_par
        bic = -2.0 * ll + n_par * math.log(n_eff)
        big = max(n_eff, n_par + 2)
        aicc = -2.0 * ll + 2.0 * n_par * big / (big - n_par - 1)

        qe_df = k - p
        qe_p = float(special.chdtrc(qe_df, qe)) if v_ok else math.nan
        # I² per level (Cheung 2014; metafor's FAQ): the typical sampling variance
        # (k - p) / tr(P₀), P₀ = W - WX(XᵀWX)⁻¹XᵀW with W = V⁻¹.
        typical = (k - p) / tr_p0 if v_ok else math.nan
        total_s2 = float(sigma2.sum())
        i2 = 100.0 * sigma2 / (total_s2 + typical)
        i2_total = 100.0 * total_s2 / (total_s2 + typical)

        # Profile-likelihood intervals of the estimated components.
        low = np.full(L, np.nan)
        high = np.full(L, np.nan)
        if self.profile and converged:
            for j in np.flatnonzero(np.isnan(fixed)).tolist():
                lo, hi, ok = profile_interval(
                    blocks, fit, fixed, j, reml=reml, level=self.level, scale=scale
                )
                low[j], high[j] = lo, hi
                if not ok:
                    notes.append(
                        f"a refit inside the profile interval of level {level_names[j]!r} "
                        "did not converge"
                    )
                    warn(
                        f"{owner}: a constrained refit in the profile-likelihood interval of "
                        f"sigma^2 of level {level_names[j]!r} did not converge.",
                        ConvergenceWarning,
                    )
                if math.isinf(hi):
                    notes.append(
                        f"the profile-likelihood upper bound of sigma^2 of level "
                        f"{level_names[j]!r} was not reached (reported as inf)"
                    )

        # Prediction interval of the average effect (intercept-only models).
        if p == 1 and intercept:
            half = float(crit[0]) * math.sqrt(float(se[0]) ** 2 + total_s2)
            pi = Interval(float(coef[0]) - half, float(coef[0]) + half)
        else:
            pi = NOT_ESTIMABLE

        return MultilevelResult(
            model=self,
            method=self.method,
            ci_method=self.ci,
            dfs=self.dfs,
            level=self.level,
            coef=coef,
            se=se,
            statistic=stat,
            pvalue=pvalue,
            ci=ci,
            df=df,
            coef_names=design.names,
            vcov=vcov,
            sigma2=sigma2,
            sigma2_ci=IntervalArray(low, high),
            level_names=level_names,
            n_groups=n_groups,
            boundary=boundary,
            fixed=~np.isnan(fixed),
            loglik=ll,
            deviance=deviance,
            aic=aic,
            bic=bic,
            aicc=aicc,
            qe=qe,
            qe_df=qe_df,
            qe_pvalue=qe_p,
            qm=qm,
            qm_df=m,
            qm_df2=qm_df2,
            qm_pvalue=qm_p,
            i2=i2,
            i2_total=i2_total,
            pi=pi,
            k=k,
            p=p,
            converged=converged,
            iterations=fit.iterations,
            yi=yi,
            vi=vi,
            V=marginal_covariance(blocks, np.zeros(L)),
            design=X,
            design_info=design,
            level_codes=codes,
            group_ids=group_ids,
            marginal_covariance=marginal_covariance(blocks, sigma2),
            labels=labels,
            measure=effects.measure,
            excluded=tuple(sorted((*effects.excluded, *omitted), key=lambda e: e.index)),
            notes=tuple(notes),
        )

    def fit_batch(
        self,
        yi: Any,
        vi: Any,
        levels: Any,
        moderators: Any = None,
        V: Any = None,
        *,
        intercept: bool = True,
    ) -> MultilevelBatchResult:
        """Fit many analyses of the same structure (e.g. simulated data sets).

        Every analysis has the same ``k`` effect sizes in the same levels with the same
        moderators; only the effects (and their variances) differ. The design, the group
        codes and the t degrees of freedom are built once; each analysis is then fitted
        exactly as :meth:`fit` would (profile-likelihood intervals are not computed).

        Parameters
        ----------
        yi : array_like
            ``(n, k)`` effect sizes, one row per analysis.
        vi : array_like
            ``(n, k)`` or ``(k,)`` sampling variances (ignored where ``V`` is given).
        levels, moderators : mapping
            As :meth:`fit`, one value per effect size (``k``).
        V : array_like, optional
            ``(k, k)`` or ``(n, k, k)`` sampling covariance.
        intercept : bool, default True
            Add an intercept column.

        Returns
        -------
        MultilevelBatchResult

        Raises
        ------
        InvalidDataError
            If the shapes disagree, an effect is not finite or a variance not > 0
            (naming the analysis and the effect size), or as :meth:`fit`.

        Warns
        -----
        ConvergenceWarning
            If some analyses did not converge (they are flagged in ``converged``).

        Examples
        --------
        >>> import numpy as np
        >>> import metapool as mp
        >>> rng = np.random.default_rng(1)
        >>> study = np.repeat(np.arange(8), 3)
        >>> y = 0.3 + rng.normal(0, 0.2, (5, 8))[:, study] + rng.normal(0, 0.2, (5, 24))
        >>> batch = mp.MultilevelModel().fit_batch(
        ...     y, np.full(24, 0.04), levels={"study": study, "es": np.tile([1, 2, 3], 8)}
        ... )
        >>> batch.coef.shape, batch.sigma2.shape, bool(batch.converged.all())
        ((5, 1), (5, 2), True)
        """
        owner = f"{_OWNER}.fit_batch"
        try:
            Y = np.asarray(yi, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise MetapoolTypeError(f"{owner}: 'yi' must be numbers ({exc}).") from exc
        if Y.ndim != 2 or Y.shape[1] < 2:
            raise InvalidDataError(
                f"{owner}: 'yi' must have shape (n_analyses, k) with k >= 2; got {Y.shape}."
            )
        n, k = Y.shape
        if V is None:
            Vi = np.broadcast_to(np.asarray(vi, dtype=np.float64), (n, k)).copy()
            Vs: Array | None = None
        else:
            Vs = np.broadcast_to(np.asarray(V, dtype=np.float64), (n, k, k)).copy()
            Vi = np.diagonal(Vs, axis1=1, axis2=2).copy()
        bad = np.argwhere(~np.isfinite(Y) | ~(np.isfinite(Vi) & (Vi > 0)))
        if bad.size:
            a, i = (int(x) for x in bad[0])
            raise InvalidDataError(
                f"{owner}: analysis {a + 1}, effect size {i + 1}: yi must be finite and the "
                f"sampling variance finite and > 0 (got yi = {float(Y[a, i])!r}, variance = "
                f"{float(Vi[a, i])!r})."
            )
        index = np.arange(k, dtype=np.intp)
        labels = tuple(f"Study {i + 1}" for i in range(k))
        level_names, codes, _ = _level_codes(levels, index, labels, k)
        design, _, _ = moderator_design(
            _OWNER,
            {} if moderators is None else moderators,
            index,
            labels,
            k,
            intercept=bool(intercept),
            nan_policy="raise",
        )
        X = design.X
        p = X.shape[1]
        L = len(level_names)
        if k - p < 1:
            raise InvalidDataError(
                f"{owner}: {p} coefficient(s) need more than {p} effect sizes; got k = {k}."
            )
        if self.sigma2 is not None and len(self.sigma2) != L:
            raise InvalidDataError(
                f"{owner}: 'sigma2' of the model has {len(self.sigma2)} value(s) but there "
                f"are {L} level(s) ({', '.join(level_names)})."
            )
        fixed = np.full(L, np.nan) if self.sigma2 is None else np.array(self.sigma2)
        reml = self.method == "REML"
        coef = np.full((n, p), np.nan)
        se = np.full((n, p), np.nan)
        sigma2 = np.full((n, L), np.nan)
        boundary = np.zeros((n, L), dtype=bool)
        loglik = np.full(n, np.nan)
        converged = np.zeros(n, dtype=bool)
        iterations = np.zeros(n, dtype=np.intp)
        for a in range(n):
            if Vs is None:
                blocks = blocks_of(Y[a], X, codes, vi=Vi[a])
            else:
                _check_v(Vs[a], np.ones(k, dtype=bool), index, k)
                blocks = blocks_of(Y[a], X, codes, V=Vs[a])
            fit, *_ = _estimate(blocks, X, Y[a], Vi[a], fixed, reml)
            ev = fit.evaluation
            if not ev.ok:
                continue
            coef[a], se[a] = ev.beta, np.sqrt(np.diagonal(ev.vcov))
            sigma2[a], loglik[a] = fit.sigma2, ev.ll
            boundary[a] = fit.boundary & np.isnan(fixed)
            converged[a], iterations[a] = fit.converged, fit.iterations
        if not converged.all():
            failed = np.flatnonzero(~converged)
            warn(
                f"{owner}: {failed.size} of {n} analyses did not converge (first: analysis "
                f"{failed[0] + 1}); they are flagged in 'converged'.",
                ConvergenceWarning,
            )
        stat = coef / se
        df: Array | None = None
        if self.ci == "t":
            df = np.full(p, float(k - p)) if self.dfs == "residual" else _contain_df(X, codes, k, p)
            crit = np.asarray(t_crit(self.level, df), dtype=np.float64)
        else:
            crit = np.full(p, z_crit(self.level))
        return MultilevelBatchResult(
            model=self,
            method=self.method,
            ci_method=self.ci,
            dfs=self.dfs,
            level=self.level,
            coef=coef,
            se=se,
            statistic=stat,
            pvalue=two_sided_p(stat, df),
            ci=IntervalArray(coef - crit * se, coef + crit * se),
            df=df,
            coef_names=design.names,
            level_names=level_names,
            sigma2=sigma2,
            boundary=boundary,
            loglik=loglik,
            converged=converged,
            iterations=iterations,
            k=k,
            p=p,
        )
