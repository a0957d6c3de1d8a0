"""Contract checks for plug-in components.

:func:`check_tau2_estimator` does for τ² estimators what scikit-learn's
``check_estimator`` does for estimators: it runs an estimator on a fixed set
of datasets and checks the laws every τ² estimator must obey. Third-party
estimators can call it in their own test suites.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from metapool.tau2 import Tau2Estimator, Tau2Fit
from metapool.tau2 import get as get_tau2

__all__ = ["check_tau2_estimator"]

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
