"""Sensitivity analyses: leave-one-out, cumulative meta-analysis, influence diagnostics."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from metapool._data import is_missing
from metapool._validation import study_name
from metapool._warnings import warn
from metapool.exceptions import (
    DegenerateDataWarning,
    InvalidDataError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from metapool.results import (
    CumulativeResult,
    InfluenceResult,
    IntervalArray,
    LeaveOneOutResult,
    MetaResult,
)

__all__ = [
    "CumulativeResult",
    "InfluenceResult",
    "IntervalArray",
    "LeaveOneOutResult",
    "cumulative",
    "influence",
    "leave_one_out",
]

Array = NDArray[np.float64]


def _refit(result: MetaResult, keep: Any) -> tuple[MetaResult | None, bool]:
    """Refit on a subset; None when that subset is not estimable (e.g. an MH
    ratio with no events in one arm), which becomes a NaN row as in metafor.

    The second value says whether the refit met degenerate data (e.g. HKSJ with
    Q = 0); its warning is collected so that the caller warns once, and the
    refit's ``notes`` record it."""
    effects = result.effects.subset(keep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # t-based CIs fall back to z for k = 1 (recorded in the refit's notes).
        warnings.simplefilter("ignore", SmallSampleWarning)
        try:
            refit: MetaResult | None = result.model.fit(effects)
        except InvalidDataError:
            refit = None
    degenerate = False
    for w in caught:
        if issubclass(w.category, DegenerateDataWarning):
            degenerate = True
        else:  # everything else (e.g. a ConvergenceWarning) reaches the user
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return refit, degenerate


def _warn_degenerate_refits(owner: str, degenerate: Sequence[bool]) -> None:
    """One warning for all refits that met degenerate data (their notes say which)."""
    if any(degenerate):
        warn(
            f"{owner}: {sum(degenerate)} refit(s) met degenerate data (e.g. HKSJ with Q = 0: "
            "a zero-width CI); each such refit's notes say so.",
            DegenerateDataWarning,
        )


def _check_result(owner: str, result: object) -> MetaResult:
    if not isinstance(result, MetaResult):
        raise MetapoolTypeError(f"{owner} expects a MetaResult. Got {type(result).__name__}.")
    return result


def leave_one_out(result: MetaResult) -> LeaveOneOutResult:
    """Refit the model of ``result`` with each study left out in turn.

    Works with every model (common effect, random effects with any τ² estimator
    and CI method, Mantel–Haenszel, Peto), as metafor's ``leave1out``.

    Parameters
    ----------
    result : MetaResult
        A fitted analysis with at least two studies.

    Returns
    -------
    LeaveOneOutResult
        Arrays over the omitted study: ``estimate``, ``se``, ``statistic``,
        ``pvalue``, ``ci``, ``tau2``, ``i2``, ``h2``, ``q``, ``q_pvalue``, ``k``,
        ``converged``; the full refits are in ``results``. A refit that is not
        estimable (e.g. a Mantel–Haenszel ratio with no events left in one arm)
        is a row of NaN with ``estimable`` False, as in metafor.

    References
    ----------
    .. [1] Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for
       meta-analysis. Res Synth Methods 1(2):112-125.

    Examples
    --------
    >>> import metapool as mp
    >>> res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1, 0.3, 0.9], vi=[0.04] * 3))
    >>> mp.leave_one_out(res).estimate.round(2).tolist()
    [0.6, 0.5, 0.2]
    """
    result = _check_result("leave_one_out", result)
    if result.k < 2:
        raise InvalidDataError("leave_one_out needs at least two studies.")
    batched = getattr(result.model, "fit_each_left_out", None)  # an optional capability
    if batched is not None and result.k >= 3:
        # one batched call of the engine on the (k, k - 1) array of the refits
        fits, degenerate = zip(*batched(result.effects), strict=True)
    else:  # Mantel-Haenszel, Peto, other models, and refits of a single study
        fits, degenerate = zip(
            *(_refit(result, np.arange(result.k) != i) for i in range(result.k)), strict=True
        )
    _warn_degenerate_refits("leave_one_out", degenerate)
    out: LeaveOneOutResult = LeaveOneOutResult._from(
        result, result.labels, fits, [result.k - 1] * result.k
    )
    return out


def cumulative(
    result: MetaResult, order: Sequence[Any] | None = None, *, collapse: bool = False
) -> CumulativeResult:
    """Cumulative meta-analysis: refit after adding each study in turn.

    Parameters
    ----------
    result : MetaResult
        A fitted analysis.
    order : sequence, optional
        Sort keys (e.g. publication years), one per study; studies are added in
        ascending order of the keys (ties keep the given order). Default: the
        order of the studies in ``result``. Keys must be numbers or strings (one
        kind, no missing values).
    collapse : bool, default False
        Add studies with the same ``order`` key together in one step (metafor's
        ``cumul(..., collapse=TRUE)``): one row per distinct key, labelled by the
        key, ``k`` the number of studies up to and including it.

    Returns
    -------
    CumulativeResult
        Arrays after each added study (or key); the last row equals ``result``.

    Raises
    ------
    InvalidDataError
        If ``order`` does not have one key per study or a key is missing.
    MetapoolTypeError
        If ``order`` is not a sequence of numbers or strings, or ``collapse`` is
        given without ``order``.

    References
    ----------
    .. [1] Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis
       of therapeutic trials for myocardial infarction. N Engl J Med 327(4):248-254.

    Examples
    --------
    >>> import metapool as mp
    >>> res = mp.CommonEffect().fit(mp.GenericEffect(yi=[0.1, 0.3, 0.9], vi=[0.04] * 3))
    >>> mp.cumulative(res, order=[2003, 2001, 2002]).estimate.round(2).tolist()
    [0.3, 0.6, 0.43]
    >>> mp.cumulative(res, order=[2002, 2001, 2002], collapse=True).labels
    ('2001', '2002')
    """
    result = _check_result("cumulative", result)
    if not isinstance(collapse, bool):
        raise MetapoolTypeError(
            f"The 'collapse' parameter of cumulative must be True or False. Got {collapse!r}."
        )
    if order is None:
        if collapse:
            raise MetapoolTypeError(
                "cumulative: collapse=True needs 'order' (the keys whose ties are added together)."
            )
        perm = np.arange(result.k)
        keys = None
    else:
        keys = _order_keys(result, order)
        perm = np.argsort(keys, kind="stable")
    steps = [perm[: j + 1] for j in range(result.k)]
    labels = [result.labels[i] for i in perm]
    if collapse and keys is not None:
        sorted_keys = keys[perm]
        last = [
            j for j in range(result.k) if j + 1 == result.k or sorted_keys[j + 1] != sorted_keys[j]
        ]
        steps = [perm[: j + 1] for j in last]
        labels = [_key_label(sorted_keys[j]) for j in last]
    fits, degenerate = zip(*(_refit(result, step) for step in steps), strict=True)
    _warn_degenerate_refits("cumulative", degenerate)
    out: CumulativeResult = CumulativeResult._from(
        result, labels, fits, [len(step) for step in steps], order=perm
    )
    return out


def _key_label(key: Any) -> str:
    value = key.item() if isinstance(key, np.generic) else key
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _order_keys(result: MetaResult, order: Any) -> NDArray[Any]:
    """The sort keys of ``cumulative``: one per study, all numbers or all strings."""
    if isinstance(order, (str, bytes)) or not hasattr(order, "__len__"):
        raise MetapoolTypeError(
            f"cumulative: 'order' must be a sequence with one key per study. Got {order!r:.60}."
        )
    if isinstance(order, (set, frozenset)):
        raise MetapoolTypeError("cumulative: 'order' must be ordered (a list or array), not a set.")
    cells = list(np.asarray(order, dtype=object).reshape(-1)) if np.ndim(order) else []
    if np.ndim(order) != 1 or len(cells) != result.k:
        raise InvalidDataError(
            f"cumulative: 'order' must have one key per study ({result.k}); got {np.shape(order)}."
        )
    for i, cell in enumerate(cells):
        if is_missing(cell):
            who = study_name(int(result.effects.index[i]), result.labels[i])
            raise InvalidDataError(f"cumulative: 'order' is missing for {who} (order={cell!r}).")
    numeric = [
        isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_))
        for c in cells
    ]
    text = [isinstance(c, str) for c in cells]
    if all(numeric):
        return np.asarray(cells, dtype=np.float64)
    if all(text):
        return np.asarray(cells, dtype=object)
    # the first key that is neither a number nor a string, else the first string among numbers
    odd = [j for j in range(len(cells)) if not (numeric[j] or text[j])]
    i = odd[0] if odd else text.index(True)
    raise MetapoolTypeError(
        f"cumulative: 'order' must hold numbers or strings of one kind; "
        f"{study_name(int(result.effects.index[i]), result.labels[i])} has order={cells[i]!r}."
    )


def influence(result: MetaResult) -> InfluenceResult:
    """Outlier and influence diagnostics for an inverse-variance fit.

    For each study ``i`` the model is refitted without it (same τ² estimator and
    CI method), giving ``μ̂₍₋ᵢ₎``, its variance, ``τ̂²₍₋ᵢ₎``, ``Q₍₋ᵢ₎`` and the HKSJ
    scale ``s²₍₋ᵢ₎`` (1 for Wald). Then, with the full-data leverage
    ``hᵢ = wᵢ / Σw``:

    * ``rstudent = (yᵢ - μ̂₍₋ᵢ₎) / sqrt(s²₍₋ᵢ₎ (vᵢ + τ̂²₍₋ᵢ₎) + Var(μ̂₍₋ᵢ₎))``
    * ``dffits = (μ̂ - μ̂₍₋ᵢ₎) / sqrt(s²₍₋ᵢ₎ hᵢ (τ̂²₍₋ᵢ₎ + vᵢ))``
    * ``cooks_distance = (μ̂ - μ̂₍₋ᵢ₎)² / Var(μ̂)``,  ``cov_ratio = Var(μ̂₍₋ᵢ₎) / Var(μ̂)``
    * ``dfbetas = (μ̂ - μ̂₍₋ᵢ₎) / sqrt(s²₍₋ᵢ₎ / Σⱼ 1/(vⱼ + τ̂²₍₋ᵢ₎))`` (sum over all k)

    Parameters
    ----------
    result : MetaResult
        A :class:`~metapool.CommonEffect` or :class:`~metapool.RandomEffects` fit
        with at least three studies.

    References
    ----------
    .. [1] Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for
       meta-analysis. Res Synth Methods 1(2):112-125.

    Examples
    --------
    >>> import metapool as mp
    >>> res = mp.RandomEffects(tau2="DL").fit(
    ...     mp.GenericEffect(yi=[0.1, 0.2, 0.15, 0.12, 1.5], vi=[0.01] * 5))
    >>> mp.influence(res).is_influential.tolist()
    [False, False, False, False, True]
    """
    result = _check_result("influence", result)
    if result.model.weighting != "inverse-variance":
        raise MetapoolTypeError(
            "influence needs an inverse-variance fit (CommonEffect or RandomEffects); "
            f"got a {result.method}."
        )
    k, p = result.k, 1
    if k < 3:
        raise InvalidDataError("influence needs at least three studies.")
    yi, vi = result.yi, result.vi
    with warnings.catch_warnings():
        # the degenerate case is warned about once, below, in the terms of influence
        warnings.simplefilter("ignore", DegenerateDataWarning)
        loo = leave_one_out(result)
    w = 1.0 / (vi + result.tau2)
    hat = w / w.sum()
    var_full = result.se**2
    rstudent, dffits, dfbetas = (np.empty(k) for _ in range(3))
    degenerate = var_full == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, fit in enumerate(loo.results):
            if fit is None:  # pragma: no cover - inverse-variance refits are always estimable
                raise MetapoolTypeError(
                    f"influence: the fit without {study_name(i, result.labels[i])} "
                    "is not estimable."
                )
            keep = np.arange(k) != i
            sw_del = (1.0 / (vi[keep] + fit.tau2)).sum()
            var_del = fit.se**2
            s2w = var_del * sw_del  # 1 for Wald, the HKSJ scale otherwise
            degenerate = degenerate or s2w == 0.0
            resid = yi[i] - fit.estimate
            if abs(resid) < 100 * np.finfo(float).eps:
                resid = 0.0
            rstudent[i] = np.float64(resid) / np.sqrt(s2w * (vi[i] + fit.tau2) + var_del)
            change = np.float64(result.estimate - fit.estimate)
            dffits[i] = change / np.sqrt(s2w * hat[i] * (fit.tau2 + vi[i]))
            dfbetas[i] = change / np.sqrt(s2w / (1.0 / (vi + fit.tau2)).sum())
        cooks = (result.estimate - loo.estimate) ** 2 / var_full
        cov_ratio = loo.se**2 / var_full
    if degenerate:
        # HKSJ with Q = 0 (in the full fit or a leave-one-out fit): a variance scale of 0
        # makes the scaled diagnostics 0/0. metafor stops with an error here.
        bad = ~np.isfinite(rstudent) | ~np.isfinite(dffits) | ~np.isfinite(cooks)
        for arr in (rstudent, dffits, dfbetas, cooks, cov_ratio):
            arr[~np.isfinite(arr)] = np.nan
        warn(
            "influence: the HKSJ variance scale is 0 (the remaining effects agree exactly) "
            f"in {int(bad.sum())} fit(s), so the diagnostics scaled by it are not defined "
            "(NaN) there; refit with ci='hksj-adhoc' or ci='z' for defined diagnostics.",
            DegenerateDataWarning,
        )
    infl = (
        (np.abs(dffits) > 3 * math.sqrt(p / (k - p)))
        | (special.chdtr(p, cooks) > 0.5)
        | (hat > 3 * p / k)
        | (np.abs(dfbetas) > 1)
    )
    return InfluenceResult(
        labels=result.labels,
        rstudent=rstudent,
        dffits=dffits,
        cooks_distance=cooks,
        cov_ratio=cov_ratio,
        tau2_deleted=loo.tau2,
        q_deleted=loo.q,
        hat=hat,
        weight=np.asarray(result.weights, dtype=np.float64),
        dfbetas=dfbetas,
        is_influential=np.asarray(infl, dtype=bool),
    )
