"""metapool.testing.check_tau2_estimator must reject estimators that break the contract."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import metapool as mp
from metapool.testing import check_tau2_estimator


def _fit(tau2, converged=True):
    tau2 = np.asarray(tau2, dtype=float)
    return mp.tau2.Tau2Fit(
        tau2=tau2,
        converged=np.full(tau2.shape, converged),
        iterations=np.zeros(tau2.shape, np.int64),
        method="custom",
    )


@attrs.frozen
class OrderDependent:
    name: str = "order"

    def estimate(self, yi, vi, X=None):
        return _fit(np.abs(yi[..., 0] - yi[..., -1]) ** 2 / 4)


@attrs.frozen
class LocationDependent:
    name: str = "location"

    def estimate(self, yi, vi, X=None):
        return _fit(np.abs(yi.mean(axis=-1)) * 0.1)


@attrs.frozen
class ScaleBlind:
    name: str = "scale"

    def estimate(self, yi, vi, X=None):
        return _fit(np.full(yi.shape[:-1], 0.05))


@attrs.frozen
class Negative:
    name: str = "negative"

    def estimate(self, yi, vi, X=None):
        return _fit(np.full(yi.shape[:-1], -0.01))


@attrs.frozen
class NotConverged:
    name: str = "stuck"

    def estimate(self, yi, vi, X=None):
        return _fit(np.zeros(yi.shape[:-1]), converged=False)


@attrs.frozen
class NoBatch:
    name: str = "nobatch"

    def estimate(self, yi, vi, X=None):
        return mp.tau2.REML().estimate(
            yi.reshape(-1, yi.shape[-1])[0], vi.reshape(-1, vi.shape[-1])[0]
        )


@attrs.frozen
class WrongReturn:
    name: str = "tuple"

    def estimate(self, yi, vi, X=None):
        return (0.0, True)


@pytest.mark.parametrize(
    ("estimator", "pattern"),
    [
        (OrderDependent(), "not permutation invariant"),
        (LocationDependent(), "not location invariant"),
        (ScaleBlind(), "not scale equivariant"),
        (Negative(), "must be finite and >= 0"),
        (NotConverged(), "did not converge"),
        (NoBatch(), "batch of shape"),
        (WrongReturn(), "must return a metapool.tau2.Tau2Fit"),
    ],
)
def test_contract_violations_are_caught(estimator, pattern):
    with pytest.raises(AssertionError, match=pattern):
        check_tau2_estimator(estimator)


def test_a_correct_custom_estimator_passes_and_plugs_in():
    @attrs.frozen
    class HalfDL:
        """Half the DerSimonian-Laird estimate: silly but lawful."""

        name: str = "halfDL"

        def estimate(self, yi, vi, X=None):
            fit = mp.tau2.DerSimonianLaird().estimate(yi, vi, X)
            return attrs.evolve(fit, tau2=fit.tau2 / 2, method=self.name)

    check_tau2_estimator(HalfDL())
    eff = mp.GenericEffect(yi=[0.1, 0.6, 1.2], vi=[0.02, 0.03, 0.05])
    res = mp.RandomEffects(tau2=HalfDL()).fit(eff)
    dl = mp.RandomEffects(tau2="DL").fit(eff)
    assert res.tau2 == pytest.approx(dl.tau2 / 2)
    assert res.tau2_method == "halfDL"
