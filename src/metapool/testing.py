"""Contract checks for plug-in components.

:func:`check_tau2_estimator` does for τ² estimators what scikit-learn's
``check_estimator`` does for estimators: it runs an estimator on a fixed set
of datasets and checks the laws every τ² estimator must obey.
:func:`check_model` does the same for pooling models (the
:class:`~metapool.models.Model` protocol) and :func:`check_effect_set` for
effect-size sets. Third-party components can call them in their own test suites.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.tau2 import Tau2Estimator, Tau2Fit
from metapool.tau2 import get as get_tau2

__all__ = ["check_effect_set", "check_model", "check_tau2_estimator"]

Array = NDArray[np.float64]


def _datasets() -> Iterator[tuple[str, Array, Array]]:
    rng = np.random.default_rng(20261125)
    yield "two studies", np.array([0.1, 0.9]), np.array([0.04, 0.09])
    yield "homogeneous (equal yi)", np.array([0.3, 0.3, 0.3, 0.3]), np.array([0.1, 0.2, 0.05, 0.1])
    yield (
        "heterogeneous",
        np.array([-0.9, 0.2, 1.3, 0.4, 2.0]),
        np.array([0.02, 0.05, 0.01, 0.2, 0.04]),
    )
    vi = 10.0 ** rng.uniform(-3, 3, size=12)
    yield "variances over six orders of magnitude", rng.normal(0, 1, 12) * np.sqrt(vi + 0.5), vi
    vi = rng.uniform(0.01, 0.1, size=30)
    yield "thirty studies", rng.normal(0.5, 0.3, 30) + rng.normal(0, np.sqrt(vi)), vi


def _tau2(est: Tau2Estimator, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
    fit = est.estimate(yi, vi) if X is None else est.estimate(yi, vi, X)
    if not isinstance(fit, Tau2Fit):
        raise AssertionError(
            f"{est.name}: estimate() must return a metapool.tau2.Tau2Fit; got {type(fit).__name__}"
        )
    return fit


def check_tau2_estimator(estimator: Tau2Estimator | str, *, rtol: float = 1e-7) -> None:
    """Check that ``estimator`` obeys the :class:`~metapool.tau2.Tau2Estimator` contract.

    On a fixed set of datasets (k = 2, homogeneous, heterogeneous, variances over
    six orders of magnitude, k = 30) it checks that

    * the result is a :class:`~metapool.tau2.Tau2Fit` of the batch shape;
    * τ² is finite and >= 0, and ``converged`` is True;
    * τ² does not change when the studies are permuted;
    * τ² does not change when a constant is added to every ``yi`` (location invariance);
    * τ²(c·y, c²·v) = c²·τ²(y, v) (scale equivariance);
    * a batch of analyses (study axis last) gives the same τ² as a loop;
    * with an intercept-only design matrix ``X`` the answer equals ``X=None``.

    Parameters
    ----------
    estimator : Tau2Estimator or str
        The estimator object (or a registered name).
    rtol : float, default 1e-7
        Relative tolerance of the invariance checks; an iterative estimator must
        be converged at least this tightly.

    Raises
    ------
    AssertionError
        Naming the estimator, the dataset and the law that failed.

    Examples
    --------
    >>> from metapool.testing import check_tau2_estimator
    >>> check_tau2_estimator("REML")
    """
    est = get_tau2(estimator, owner="check_tau2_estimator")
    name = est.name
    if not isinstance(name, str) or not name:
        raise AssertionError("an estimator must have a non-empty string 'name'")
    rng = np.random.default_rng(7)
    batch_y, batch_v, looped = [], [], []
    for label, yi, vi in _datasets():
        fit = _tau2(est, yi, vi)
        tau2 = np.asarray(fit.tau2, dtype=float)
        where = f"{name} on '{label}'"
        if tau2.shape != ():
            raise AssertionError(f"{where}: tau2 must be 0-d for 1-d input; got shape {tau2.shape}")
        if not (np.isfinite(tau2) and tau2 >= 0):
            raise AssertionError(f"{where}: tau2 must be finite and >= 0; got {float(tau2)!r}")
        if not bool(np.all(fit.converged)):
            raise AssertionError(f"{where}: did not converge")
        value = float(tau2)
        scale = rtol * (value + float(np.mean(vi)))

        perm = rng.permutation(yi.size)
        got = float(_tau2(est, yi[perm], vi[perm]).tau2)
        if abs(got - value) > scale:
            raise AssertionError(f"{where}: not permutation invariant ({value!r} vs {got!r})")

        got = float(_tau2(est, yi + 3.7, vi).tau2)
        if abs(got - value) > scale:
            raise AssertionError(f"{where}: not location invariant ({value!r} vs {got!r})")

        c = 5.0
        got = float(_tau2(est, c * yi, c**2 * vi).tau2)
        if abs(got - c**2 * value) > c**2 * scale:
            raise AssertionError(
                f"{where}: not scale equivariant: tau2(c y, c^2 v) = {got!r}, "
                f"expected c^2 tau2 = {c**2 * value!r}"
            )

        got = float(_tau2(est, yi, vi, np.ones((yi.size, 1))).tau2)
        if abs(got - value) > scale:
            raise AssertionError(f"{where}: intercept-only X gives {got!r}, X=None gives {value!r}")
        if yi.size == 5:
            batch_y.append(yi)
            batch_v.append(vi)
            looped.append(value)

    # Batch = loop, on several datasets with the same k.
    for shift in (0.5, -1.0):
        batch_y.append(batch_y[0] * (1 + shift) + shift)
        batch_v.append(batch_v[0] * (1 + abs(shift)))
        looped.append(float(_tau2(est, batch_y[-1], batch_v[-1]).tau2))
    ys, vs = np.stack(batch_y), np.stack(batch_v)
    fit = _tau2(est, ys, vs)
    tau2 = np.asarray(fit.tau2, dtype=float)
    if tau2.shape != ys.shape[:-1]:
        raise AssertionError(f"{name}: batch of shape {ys.shape} gave tau2 of shape {tau2.shape}")
    expected = np.asarray(looped)
    if not np.allclose(tau2, expected, rtol=rtol, atol=rtol * vs.mean()):
        raise AssertionError(f"{name}: batched {tau2.tolist()} differs from looped {looped}")
    if np.asarray(fit.converged).shape != ys.shape[:-1]:
        raise AssertionError(f"{name}: 'converged' must have the batch shape {ys.shape[:-1]}")


# ------------------------------------------------------------------ effect sets
def check_effect_set(effects: Any) -> None:
    """Check that ``effects`` obeys the effect-set contract every model relies on.

    * it is an :class:`~metapool.EffectSet` and frozen;
    * ``yi`` and ``vi`` are 1-d float arrays of length ``k >= 1``, ``yi`` finite,
      ``vi`` finite and > 0;
    * ``labels`` are ``k`` strings; ``index`` holds ``k`` increasing positions
      >= 0 (the rows of the input as given) and no excluded study is among them;
    * ``measure`` is a :class:`~metapool.effects.Measure`;
    * ``counts`` is None or four arrays of length ``k`` with ``0 <= events <= n``;
      every array of ``arm_data()`` has length ``k``;
    * ``subset`` of every position returns an equal set, and of one position a
      set of that one study;
    * ``to_dict()`` is JSON-serialisable.

    Raises
    ------
    AssertionError
        Naming the law that failed.

    Examples
    --------
    >>> import metapool as mp
    >>> from metapool.testing import check_effect_set
    >>> check_effect_set(mp.RiskRatio(events1=[3, 5], n1=[20, 30], events2=[6, 9], n2=[20, 30]))
    """
    from metapool.effects._base import EffectSet
    from metapool.effects._measure import Measure

    name = type(effects).__name__
    if not isinstance(effects, EffectSet):
        raise AssertionError(f"{name} is not an EffectSet")
    k = effects.k
    yi, vi = effects.yi, effects.vi
    for field, arr in (("yi", yi), ("vi", vi)):
        if not (isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (k,)):
            raise AssertionError(f"{name}: '{field}' must be a float64 array of shape (k,)")
    if k < 1:
        raise AssertionError(f"{name}: an effect set needs at least one study")
    if not np.all(np.isfinite(yi)):
        raise AssertionError(f"{name}: every yi must be finite")
    if not np.all(np.isfinite(vi) & (vi > 0)):
        raise AssertionError(f"{name}: every vi must be finite and > 0")
    if len(effects.labels) != k or not all(isinstance(x, str) for x in effects.labels):
        raise AssertionError(f"{name}: 'labels' must be k strings")
    index = np.asarray(effects.index)
    if index.shape != (k,) or index.dtype.kind not in "iu" or np.any(index < 0):
        raise AssertionError(f"{name}: 'index' must be k positions >= 0")
    if np.any(np.diff(index) <= 0):
        raise AssertionError(f"{name}: 'index' must increase (rows of the input as given)")
    if {e.index for e in effects.excluded} & set(index.tolist()):
        raise AssertionError(f"{name}: an excluded study is also in 'index'")
    if not isinstance(effects.measure, Measure):
        raise AssertionError(f"{name}: 'measure' must be a metapool.effects.Measure")
    counts = effects.counts
    if counts is not None:
        if len(counts) != 4 or any(np.shape(c) != (k,) for c in counts):
            raise AssertionError(f"{name}: 'counts' must be four arrays of length k")
        e1, n1, e2, n2 = (np.asarray(c, dtype=float) for c in counts)
        if np.any(e1 < 0) or np.any(e1 > n1) or np.any(e2 < 0) or np.any(e2 > n2):
            raise AssertionError(f"{name}: 'counts' must have 0 <= events <= n")
    for column, values in effects.arm_data().items():
        if np.shape(values) != (k,):
            raise AssertionError(f"{name}: arm column {column!r} must have length k")
    try:
        effects.yi = yi  # type: ignore[misc]
    except (attrs.exceptions.FrozenInstanceError, AttributeError):
        pass
    else:
        raise AssertionError(f"{name}: an effect set must be frozen")
    if effects.subset(np.arange(k)) != effects:
        raise AssertionError(f"{name}: subset of every study must equal the set")
    one = effects.subset([k - 1])
    if one.k != 1 or one.labels != (effects.labels[-1],) or one.yi[0] != yi[-1]:
        raise AssertionError(f"{name}: subset([k - 1]) must hold the last study")
    try:
        json.dumps(effects.to_dict())
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{name}: to_dict() is not JSON-serialisable: {exc}") from exc


# ---------------------------------------------------------------------- models
def _model_fixtures() -> Iterator[tuple[str, Any]]:
    """Effect sets of every kind, for check_model."""
    import metapool as mp

    counts: dict[str, Any] = {
        "events1": [4, 6, 3, 62, 33, 18],
        "n1": [123, 306, 231, 1359, 506, 154],
        "events2": [11, 29, 11, 248, 47, 37],
        "n2": [139, 303, 220, 1286, 580, 145],
        "labels": ["A", "B", "C", "D", "E", "F"],
    }
    yield "risk ratios", mp.RiskRatio(**counts)
    yield "odds ratios", mp.OddsRatio(**counts)
    yield "risk differences", mp.RiskDifference(**counts)
    yield (
        "generic effects",
        mp.GenericEffect(
            yi=[-0.9, 0.2, 1.3, 0.4, 2.0, 0.1], vi=[0.02, 0.05, 0.01, 0.2, 0.04, 0.03]
        ),
    )
    yield (
        "mean differences",
        mp.MeanDifference(
            mean1=[5.1, 4.8, 6.0, 5.5],
            sd1=[1.2, 1.5, 1.1, 1.4],
            n1=[30, 25, 40, 35],
            mean2=[6.0, 5.5, 6.4, 5.9],
            sd2=[1.3, 1.4, 1.2, 1.1],
            n2=[30, 26, 38, 33],
        ),
    )


def check_model(model: Any) -> None:
    """Check that ``model`` obeys the :class:`~metapool.models.Model` contract.

    * it declares ``weighting`` (one of ``metapool.models.WEIGHTINGS``),
      ``random_effects``, ``tau2`` (an estimator exactly when ``random_effects``;
      a likelihood-weighted model, which estimates τ² jointly with the effect, may
      declare None),
      ``ci``, ``level`` in (0, 1), and ``accepts``;
    * on every fixture it accepts (risk ratios, odds ratios, risk differences,
      generic effects, mean differences; at least one), ``fit`` returns a
      :class:`~metapool.MetaResult` that records the model, its level and the
      studies, whose estimate lies in its CI, whose weights sum to 100, that does
      not change when the studies are permuted, and whose ``to_dict()`` is
      JSON-serialisable;
    * on every fixture it does not accept, and on a list, ``fit`` raises
      :class:`~metapool.exceptions.MetapoolTypeError`.

    Raises
    ------
    AssertionError
        Naming the model, the fixture and the law that failed.

    Examples
    --------
    >>> import metapool as mp
    >>> from metapool.testing import check_model
    >>> check_model(mp.MantelHaenszel())
    """
    from metapool.exceptions import MetapoolTypeError
    from metapool.models._protocol import WEIGHTINGS, Model
    from metapool.results import MetaResult

    name = type(model).__name__
    if not isinstance(model, Model):
        raise AssertionError(f"{name} does not declare the metapool.models.Model attributes")
    if model.weighting not in WEIGHTINGS:
        raise AssertionError(f"{name}: 'weighting' must be one of {WEIGHTINGS}")
    if not isinstance(model.random_effects, bool):
        raise AssertionError(f"{name}: 'random_effects' must be a bool")
    if model.weighting == "likelihood":
        # τ² estimated jointly with the effect by maximum likelihood (GLMMs): no estimator
        # object is needed, but a model without random effects declares none
        tau2_ok = model.random_effects or model.tau2 is None
    else:
        tau2_ok = model.random_effects == (model.tau2 is not None)
    if not tau2_ok:
        raise AssertionError(f"{name}: 'tau2' must be an estimator exactly when random_effects")
    if model.tau2 is not None and not isinstance(model.tau2, Tau2Estimator):
        raise AssertionError(f"{name}: 'tau2' must be a Tau2Estimator")
    if not (isinstance(model.ci, str) and 0.0 < float(model.level) < 1.0):
        raise AssertionError(f"{name}: 'ci' must be a string and 'level' in (0, 1)")
    accepted = 0
    rng = np.random.default_rng(3)
    for label, effects in _model_fixtures():
        where = f"{name} on {label}"
        if not model.accepts(effects):
            try:
                model.fit(effects)
            except MetapoolTypeError:
                continue
            raise AssertionError(f"{where}: fit must raise MetapoolTypeError when not accepted")
        accepted += 1
        res = model.fit(effects)
        if not isinstance(res, MetaResult):
            raise AssertionError(f"{where}: fit must return a MetaResult")
        if res.model is not model or res.level != model.level or res.k != effects.k:
            raise AssertionError(f"{where}: the result must record the model, level and k")
        if res.labels != effects.labels or res.measure != effects.measure:
            raise AssertionError(f"{where}: the result must keep the labels and the measure")
        if not (res.ci.low <= res.estimate <= res.ci.high):
            raise AssertionError(f"{where}: the estimate must lie in its confidence interval")
        if not np.isclose(float(np.sum(res.weights)), 100.0, rtol=1e-9):
            raise AssertionError(f"{where}: the weights must sum to 100 (percent)")
        perm = rng.permutation(effects.k)
        again = model.fit(effects.subset(np.sort(perm)))
        shuffled = model.fit(_permuted(effects, perm))
        if not np.isclose(shuffled.estimate, again.estimate, rtol=1e-9, atol=1e-12):
            raise AssertionError(f"{where}: the estimate depends on the order of the studies")
        try:
            json.dumps(res.to_dict())
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"{where}: to_dict() is not JSON-serialisable: {exc}") from exc
    if not accepted:
        raise AssertionError(f"{name} accepts none of the fixtures")
    try:
        model.fit([0.1, 0.2])
    except MetapoolTypeError:
        pass
    else:
        raise AssertionError(f"{name}: fit of a list must raise MetapoolTypeError")


def _permuted(effects: Any, perm: NDArray[np.intp]) -> Any:
    """The same studies in another order (a fresh effect set built from the arrays)."""
    import metapool as mp

    counts = effects.counts
    labels = [effects.labels[i] for i in perm]
    if counts is not None:
        cls = type(effects)
        e1, n1, e2, n2 = (np.asarray(c)[perm] for c in counts)
        return cls(events1=e1, n1=n1, events2=e2, n2=n2, labels=labels)
    return mp.GenericEffect(
        yi=effects.yi[perm], vi=effects.vi[perm], labels=labels, measure=effects.measure
    )
