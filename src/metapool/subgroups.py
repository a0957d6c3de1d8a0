"""Subgroup analysis with the test for subgroup differences."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._data import ExcludedStudy, is_frame, warn_excluded
from metapool._estimation import estimate_tau2
from metapool._moderators import cell_kind, column_names, marker_hint, read_cells, show
from metapool._validation import check_choice, study_name
from metapool._warnings import warn
from metapool.effects._base import EffectSet
from metapool.exceptions import (
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from metapool.models import RandomEffects
from metapool.models._engine import fit_iv
from metapool.models._protocol import Model
from metapool.results import MetaResult, SubgroupResult, SubgroupTest
from metapool.tau2 import Fixed

__all__ = ["SubgroupResult", "SubgroupTest", "subgroup_analysis"]


def _group_cells(
    effects: EffectSet, groups: Any, data: Any
) -> tuple[NDArray[Any], dict[int, str | None]]:
    """The subgroup cell of each study analysed (``groups`` resolved and checked), and
    the subgroup of each study the effect set excluded, by its index, when ``groups``
    has one entry per study as given (None for a missing one)."""
    owner = "subgroup_analysis"
    if isinstance(groups, str):
        if data is None:
            raise MetapoolTypeError(
                f"subgroup_analysis: 'groups' is the column name {groups!r} "
                "but no 'data' was given."
            )
        if not (isinstance(data, Mapping) or is_frame(data)):
            raise MetapoolTypeError(
                "The 'data' parameter of subgroup_analysis must be a mapping from column "
                f"name to values or a DataFrame. Got a {type(data).__name__} instead."
            )
        available = column_names(data)
        if groups not in available:
            raise InvalidDataError(
                f"subgroup_analysis: column {groups!r} given for 'groups' is not in 'data'; "
                f"its columns are {available}."
            )
        groups = data[groups]
    cells, _ = read_cells(owner, "'groups'", groups)
    k, n_given = effects.k, effects.k + len(effects.excluded)
    if cells.size == n_given and n_given != k:  # groups given for the input as passed
        known = {
            e.index: _group_name(cells[e.index])
            if cell_kind(cells[e.index]) not in ("missing", "marker")
            else None
            for e in effects.excluded
            if 0 <= e.index < cells.size
        }
        return cells[effects.index], known
    if cells.size != k:
        given = f" ({n_given} as given, {n_given - k} excluded)" if n_given != k else ""
        raise InvalidDataError(
            f"subgroup_analysis: 'groups' has {cells.size} entries but the effect set has "
            f"{k} studies{given}; give the subgroup of each study."
        )
    return cells, {}


def _group_name(value: Any) -> str:
    """A subgroup cell as the subgroup's name."""
    return str(value.item() if isinstance(value, np.generic) else value)


def _membership(
    effects: EffectSet, groups: Any, data: Any, nan_policy: str
) -> tuple[list[str], NDArray[np.bool_], tuple[ExcludedStudy, ...], dict[int, str | None]]:
    """Each study's subgroup label, which studies are kept, those left out, and the
    subgroups of the studies the effect set excluded (where known, by index)."""
    cells, known = _group_cells(effects, groups, data)
    kinds = [cell_kind(v) for v in cells]
    who = [study_name(int(i), lab) for i, lab in zip(effects.index, effects.labels, strict=True)]
    if "marker" in kinds:
        i = kinds.index("marker")
        raise InvalidDataError(
            f"subgroup_analysis: 'groups' has {show(cells[i])} for {who[i]}: "
            f"{marker_hint(cells[i])}."
        )
    missing = np.array([kind == "missing" for kind in kinds], dtype=bool)
    excluded: tuple[ExcludedStudy, ...] = ()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        if nan_policy == "raise":
            raise InvalidDataError(
                f"subgroup_analysis: 'groups' has a missing value ({show(cells[i])}) for "
                f"{who[i]}. Fix the data, or pass nan_policy='omit' to leave studies "
                "without a subgroup out."
            )
        excluded = tuple(
            ExcludedStudy(
                index=int(effects.index[j]),
                label=effects.labels[j],
                reason="missing subgroup in 'groups'",
            )
            for j in np.flatnonzero(missing)
        )
        warn_excluded("subgroup_analysis", excluded)
        if missing.all():
            raise InvalidDataError(
                "subgroup_analysis: every study has a missing subgroup; nothing is left."
            )
    labels = [_group_name(v) for v in cells[~missing]]
    return labels, ~missing, excluded, known


def _leave_out(
    effects: EffectSet, keep: NDArray[np.bool_], extra: tuple[ExcludedStudy, ...]
) -> EffectSet:
    """``effects`` without the studies not kept, recording them in ``excluded``."""
    excluded = tuple(sorted((*effects.excluded, *extra), key=lambda e: e.index))
    return attrs.evolve(effects.subset(keep), excluded=excluded)


def subgroup_analysis(
    effects: EffectSet,
    groups: Sequence[Any] | str,
    model: Model | None = None,
    *,
    common_tau2: bool = False,
    data: Any = None,
    nan_policy: str = "raise",
) -> SubgroupResult:
    """Pool each subgroup, pool all studies, and test for subgroup differences.

    Parameters
    ----------
    effects : EffectSet
        The studies.
    groups : sequence or str
        The subgroup of each study, in the order of the studies: a list, tuple,
        1-d array or Series (labels of any type, compared and shown as strings), or
        a column name in ``data``. It may also have one entry per study as given to
        the effect set (entries of studies the effect set excluded are skipped).
    model : model, default ``RandomEffects(tau2="DL")``
        Any metapool model; it is used for every subgroup and for the overall fit.
    common_tau2 : bool, default False
        With a random-effects model, estimate one τ² shared by all subgroups (the
        model's estimator applied to a mixed-effects model with one indicator per
        subgroup; as meta's ``tau.common`` and metafor's ``rma(mods = ~ group)``)
        instead of a separate τ² per subgroup.
    data : mapping or DataFrame, optional
        Where to look up ``groups`` if it is a column name.
    nan_policy : {"raise", "omit"}, default "raise"
        What to do with a study whose subgroup is missing (None, NaN, pandas' NA or
        NaT): raise, naming the study, or leave it out of every fit (subgroups and
        overall) with an :class:`~metapool.exceptions.ExcludedStudyWarning`,
        recorded in ``excluded``. Text that reads like a missing-value marker
        (``""``, ``"NA"``, ``"nan"``, ``"None"``, ...) is refused under either
        policy, never guessed.

    Returns
    -------
    SubgroupResult

    Raises
    ------
    MetapoolTypeError
        If ``effects`` is not an effect set, ``model`` is not a metapool model
        instance, ``groups`` is not an ordered one-dimensional collection (a number,
        a set, a mapping, an iterator) or a column name given without ``data``.
    InvalidParameterError
        If ``common_tau2`` is not a bool, is True for a model other than
        RandomEffects, or ``nan_policy`` is not "raise" or "omit".
    InvalidDataError
        If ``groups`` has the wrong length, names a column not in ``data``, has a
        missing subgroup (with ``nan_policy="raise"``) or a missing-value marker
        text (naming the study as ``study 2 ('Beta 2003')`` and the value), or if a
        common τ² is asked for with no more studies than subgroups.

    Warns
    -----
    ExcludedStudyWarning
        If ``nan_policy="omit"`` leaves studies out.
    SmallSampleWarning
        If there is only one subgroup.

    Notes
    -----
    The test for subgroup differences is Cochran's Q computed from the subgroup
    estimates and their standard errors, ``Q_b = Σ_g (θ̂_g - θ̄)² / se_g²`` with
    ``θ̄`` their inverse-variance weighted mean, compared with χ²(G - 1), as in
    RevMan and meta (Borenstein & Higgins 2013). Subgroups with one study are
    kept; their heterogeneity is not estimable.

    References
    ----------
    .. [1] Borenstein M, Higgins JPT (2013). Meta-analysis and subgroups. Prev Sci
       14(2):134-143.
    .. [2] Deeks JJ, Higgins JPT, Altman DG (eds.). Cochrane Handbook, chapter 10.11.3.1
       (Is the effect different in different subgroups?).

    Examples
    --------
    >>> import metapool as mp
    >>> eff = mp.GenericEffect(yi=[0.1, 0.3, 0.2, 0.8, 0.9, 0.7], vi=[0.02] * 6)
    >>> sg = mp.subgroup_analysis(eff, ["a", "a", "a", "b", "b", "b"])
    >>> round(sg.test.statistic, 2), sg.test.df
    (27.0, 1)
    """
    owner = "subgroup_analysis"
    if not isinstance(effects, EffectSet):
        raise MetapoolTypeError(
            f"{owner}: 'effects' must be an effect-size set (MeanDifference, SMD, RiskRatio, "
            f"OddsRatio, RiskDifference or GenericEffect). Got {type(effects).__name__}."
        )
    model = RandomEffects(tau2="DL") if model is None else model
    if isinstance(model, type):
        raise MetapoolTypeError(
            f"{owner}: 'model' must be a model instance. Got the class {model.__name__}; "
            f"pass {model.__name__}() instead."
        )
    if not isinstance(model, Model):
        raise MetapoolTypeError(
            f"{owner}: 'model' must be a metapool model (a pooling model such as "
            "CommonEffect, RandomEffects, MantelHaenszel or Peto; see metapool.models.Model). "
            f"Got {type(model).__name__}."
        )
    if not isinstance(common_tau2, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'common_tau2' parameter of {owner} must be True or False. Got "
            f"{common_tau2!r} instead."
        )
    common_tau2 = bool(common_tau2)
    nan_policy = check_choice(owner, "nan_policy", nan_policy, ("raise", "omit"))
    membership, keep, omitted, known = _membership(effects, groups, data, nan_policy)
    if omitted:
        effects = _leave_out(effects, keep, omitted)
    names = list(dict.fromkeys(membership))
    member = np.asarray(membership)
    if len(names) < 2:
        warn(
            "subgroup_analysis: only one subgroup; the test for differences is not estimable.",
            SmallSampleWarning,
        )

    sub_model: Any = model
    tau2_common: float | None = None
    common_converged = True
    if common_tau2:
        if not model.random_effects or model.tau2 is None:
            raise InvalidParameterError(
                "The 'common_tau2' parameter of subgroup_analysis needs a random-effects model "
                "(RandomEffects). "
                f"Got {type(model).__name__}."
            )
        X = (member[:, None] == np.asarray(names)[None, :]).astype(np.float64)
        if effects.k <= len(names):
            raise InvalidDataError(
                f"subgroup_analysis: a common tau^2 needs more studies ({effects.k}) than "
                f"subgroups ({len(names)})."
            )
        fit = estimate_tau2(
            model.tau2,
            effects.yi,
            effects.vi,
            X,
            owner="subgroup_analysis",
            where=" for the common tau^2",
        )
        tau2_common = float(fit.tau2)
        common_converged = bool(np.all(fit.converged))
        # the same model with τ² fixed at the common value (random-effects models are
        # attrs classes with a ``tau2`` field)
        sub_model = attrs.evolve(model, tau2=Fixed(tau2_common))  # type: ignore[misc]

    results: dict[str, MetaResult] = {
        name: sub_model.fit(effects.subset(member == name, keep_excluded=False)) for name in names
    }
    overall = model.fit(effects)

    # The test for subgroup differences: Cochran's Q of the subgroup estimates, i.e. a
    # common-effect fit of the estimates with their variances (the one engine).
    est = np.array([r.estimate for r in results.values()])
    var = np.array([r.se for r in results.values()]) ** 2
    df = len(names) - 1
    if df >= 1 and np.all(np.isfinite(est)) and np.all(np.isfinite(var) & (var > 0)):
        between = fit_iv(est, var, 0.0, i2="q", profile=False)
        q, pvalue, i2 = float(between.q), float(between.q_pvalue), float(between.i2)
    else:  # one subgroup, or a subgroup estimate that is not estimable
        q = pvalue = i2 = math.nan
    return SubgroupResult(
        results=results,
        overall=overall,
        test=SubgroupTest(statistic=q, df=df, pvalue=pvalue, i2=i2),
        membership=tuple(membership),
        model=model,
        common_tau2=common_tau2,
        tau2=tau2_common,
        converged=common_converged
        and overall.converged
        and all(r.converged for r in results.values()),
        excluded=effects.excluded,
        excluded_membership=tuple(known.get(e.index) for e in effects.excluded),
    )
