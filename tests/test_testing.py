"""metapool.testing.check_tau2_estimator must reject estimators that break the contract."""

from __future__ import annotations

import re
import warnings

import attrs
import numpy as np
import pytest

import metapool as mp
from metapool.testing import check_effect_set, check_model, check_tau2_estimator


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


# ----------------------------------------------------------- check_model, check_effect_set
BUILT_IN_MODELS = [
    mp.CommonEffect(),
    mp.CommonEffect(ci="t"),
    *(mp.RandomEffects(tau2=name) for name in mp.tau2.available()),
    *(mp.RandomEffects(ci=ci) for ci in ("hksj", "hksj-adhoc", "t")),
    mp.RandomEffects(tau2=mp.tau2.Fixed(0.1)),
    mp.MantelHaenszel(),
    mp.MantelHaenszel(random=True),
    mp.MantelHaenszel(convention="revman5"),
    mp.MantelHaenszel(random=True, convention="revman-web"),
    mp.Peto(),
    mp.GLMM(),
    mp.GLMM("CM.AL"),
    mp.GLMM("UM.RS"),
    mp.GLMM(method="EE"),
]


@pytest.mark.parametrize("model", BUILT_IN_MODELS, ids=repr)
def test_every_built_in_model_passes_check_model(model: object) -> None:
    check_model(model)


def _counts() -> dict[str, object]:
    return {"events1": [3, 0, 8], "n1": [20, 15, 30], "events2": [6, 2, 8], "n2": [21, 15, 30]}


BUILT_IN_EFFECT_SETS = {
    "RiskRatio": lambda: mp.RiskRatio(**_counts()),
    "OddsRatio": lambda: mp.OddsRatio(**_counts()),
    "RiskDifference": lambda: mp.RiskDifference(**_counts()),
    "RiskRatio double zero dropped": lambda: mp.RiskRatio(
        events1=[0, 3, 2], n1=[10, 10, 10], events2=[0, 4, 5], n2=[10, 10, 10], double_zero="drop"
    ),
    "MeanDifference": lambda: mp.MeanDifference(
        mean1=[5.0, 4.0], sd1=[2.0, 1.0], n1=[20, 10], mean2=[4.0, 4.5], sd2=[2.0, 1.5], n2=[20, 10]
    ),
    "SMD": lambda: mp.SMD(
        mean1=[5.0, 4.0], sd1=[2.0, 1.0], n1=[20, 10], mean2=[4.0, 4.5], sd2=[2.0, 1.5], n2=[20, 10]
    ),
    "GenericEffect": lambda: mp.GenericEffect(yi=[0.1, 0.2, 0.4], se=[0.1, 0.2, 0.3]),
    "GenericEffect with omitted study": lambda: mp.GenericEffect(
        yi=[0.1, None, 0.4], vi=[0.1, 0.2, 0.3], nan_policy="omit"
    ),
}


@pytest.mark.parametrize("make", BUILT_IN_EFFECT_SETS.values(), ids=BUILT_IN_EFFECT_SETS.keys())
def test_every_built_in_effect_set_passes_check_effect_set(make: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
        effects = make()  # type: ignore[operator]
    check_effect_set(effects)


@attrs.frozen
class _ClaimsRandomWithoutTau2:
    """Declares random effects but has no estimator: breaks the contract."""

    level: float = 0.95
    weighting = "inverse-variance"
    random_effects = True
    tau2 = None
    ci = "z"

    def accepts(self, effects: object) -> bool:
        return True

    def fit(self, effects: object) -> object:
        return mp.RandomEffects().fit(effects)  # type: ignore[arg-type]


@attrs.frozen
class _CommonLikelihoodWithTau2:
    """A likelihood-weighted model without random effects that declares an estimator."""

    level: float = 0.95
    weighting = "likelihood"
    random_effects = False
    tau2 = mp.tau2.get("REML")
    ci = "z"

    def accepts(self, effects: object) -> bool:
        return True

    def fit(self, effects: object) -> object:
        return mp.GLMM(method="EE").fit(effects)  # type: ignore[arg-type]


@attrs.frozen
class _ForgetsTheModel:
    """Returns a result that records another model."""

    level: float = 0.95
    weighting = "inverse-variance"
    random_effects = False
    tau2 = None
    ci = "z"

    def accepts(self, effects: object) -> bool:
        return isinstance(effects, mp.EffectSet)

    def fit(self, effects: object) -> object:
        if not self.accepts(effects):
            raise mp.exceptions.MetapoolTypeError("no")
        return mp.CommonEffect().fit(effects)  # type: ignore[arg-type]


@attrs.frozen
class _AcceptsButRaisesTypeErrorForEverything:
    level: float = 0.95
    weighting = "peto"
    random_effects = False
    tau2 = None
    ci = "z"

    def accepts(self, effects: object) -> bool:
        return False

    def fit(self, effects: object) -> object:
        return mp.Peto().fit(effects)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "law"),
    [
        (_ClaimsRandomWithoutTau2(), "'tau2' must be an estimator exactly when random_effects"),
        (_CommonLikelihoodWithTau2(), "'tau2' must be an estimator exactly when random_effects"),
        (_ForgetsTheModel(), "must record the model"),
        (_AcceptsButRaisesTypeErrorForEverything(), "must raise MetapoolTypeError"),
        (object(), "does not declare the metapool.models.Model attributes"),
    ],
)
def test_check_model_catches_broken_models(model: object, law: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(law)):
        check_model(model)


def test_check_effect_set_catches_a_broken_set() -> None:
    good = mp.GenericEffect(yi=[0.1, 0.2], vi=[0.1, 0.2])
    # the stored init only stores: it builds sets the public constructor would refuse
    forged = mp.GenericEffect(yi=[0.1, np.inf], vi=good.vi, labels=good.labels, index=good.index)
    with pytest.raises(AssertionError, match="every yi must be finite"):
        check_effect_set(forged)
    backwards = mp.GenericEffect(yi=good.yi, vi=good.vi, labels=good.labels, index=[1, 0])
    with pytest.raises(AssertionError, match="'index' must increase"):
        check_effect_set(backwards)
    with pytest.raises(AssertionError, match="is not an EffectSet"):
        check_effect_set([0.1, 0.2])
