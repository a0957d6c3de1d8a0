"""REMLFisherScoring ("REML-FS"): RevMan Web's REML, Fisher scoring stopped early.

Its evidence on RevMan's own numbers (every "IV, Random (REML)" analysis of the
Cochrane export) is in tests/test_cochrane_revman.py; here: the algorithm
against metafor's, the boundary, honest non-convergence, batches, parameters.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import metapool as mp
from metapool.testing import check_tau2_estimator

# metafor's example of Fisher scoring (metafor-project.org, "convergence problems").
YI = np.array([-0.47, -1.56, 0.18, 0.88, 0.74, 0.89, -0.05, 0.52, 2.08, 0.81])
VI = np.array([0.663, 0.660, 0.125, 0.068, 0.971, 0.094, 0.509, 0.887, 0.704, 0.556])

# Fisher scoring oscillates with growing amplitude on these data (0.10 -> 0.18 -> 0.097
# -> 0.19 -> ...) although the REML maximum, 0.13795, is interior and unique.
YI_OSC = np.array([-1.2273520542445742, -0.6832266617805622, -0.07204367972722743,
                   -0.9447516230607774, -0.09826996785221727, 0.09548302746945433,
                   0.03558623705548571, -0.5062916583143148])  # fmt: skip
VI_OSC = np.array([0.778916283198875, 0.6168732680425101, 0.9181247277429937,
                   0.04919694789756083, 0.5333033706274214, 0.4647425240565497,
                   0.07172608335837684, 0.6449148874479812])  # fmt: skip


def test_is_metafors_fisher_scoring_from_dl_with_threshold_1e_8() -> None:
    # R 4.2, metafor 3.8-1:
    #   dl <- rma(yi, vi, method="DL")$tau2
    #   rma(yi, vi, method="REML", control=list(tau2.init=dl, threshold=1e-8))$tau2
    #   -> 0.19878123281107649 (DL: 0.21262942634348223)
    # The same iteration and stopping rule: agreement to rounding.
    fit = mp.tau2.REMLFisherScoring().estimate(YI, VI)
    assert float(fit.tau2) == pytest.approx(0.19878123281107649, rel=1e-13)
    assert bool(fit.converged) and int(fit.iterations) == 17
    assert fit.method == "REML-FS"
    # ... which stops 3.4e-9 short of the exact maximum (REML)
    exact = float(mp.tau2.REML().estimate(YI, VI).tau2)
    assert 0 < abs(float(fit.tau2) - exact) < 1e-8


def test_passes_the_contract_check_and_is_registered() -> None:
    check_tau2_estimator("REML-FS")
    check_tau2_estimator(mp.tau2.REMLFisherScoring(start="HE", tol=1e-10))
    assert "REML-FS" in mp.tau2.available()
    assert mp.tau2.get("REMLFisherScoring") == mp.tau2.REMLFisherScoring()
    model = mp.RandomEffects(tau2="reml-fs")
    assert model.tau2 == mp.tau2.REMLFisherScoring(start="DL", tol=1e-8, maxiter=100)


def test_start_and_tolerance_are_settings() -> None:
    slow = mp.tau2.REMLFisherScoring(start="DL", tol=1e-3).estimate(YI, VI)
    tight = mp.tau2.REMLFisherScoring(start=mp.tau2.HedgesOlkin(), tol=1e-12).estimate(YI, VI)
    exact = float(mp.tau2.REML().estimate(YI, VI).tau2)
    assert int(slow.iterations) < 17 < int(tight.iterations)
    assert abs(float(slow.tau2) - exact) > 1e-6
    assert float(tight.tau2) == pytest.approx(exact, rel=1e-10)


def test_boundary_gives_zero_and_never_goes_below() -> None:
    # equal effects: DL starts at 0 and the first step would go below 0: no step
    fit = mp.tau2.REMLFisherScoring().estimate(np.full(4, 0.3), np.array([0.1, 0.2, 0.05, 0.1]))
    assert float(fit.tau2) == 0.0 and bool(fit.converged)
    # a start above a maximum at 0: the steps below 0 are halved, stop below ~tol
    yi, vi = np.array([0.0, 0.3, 0.1, 0.2]), np.array([0.1, 0.2, 0.05, 0.1])
    assert float(mp.tau2.REML().estimate(yi, vi).tau2) == 0.0
    fit = mp.tau2.REMLFisherScoring(start=mp.tau2.Fixed(0.5)).estimate(yi, vi)
    assert 0.0 <= float(fit.tau2) < 1e-8 and bool(fit.converged)


def test_non_convergence_is_reported_and_the_model_warns() -> None:
    fit = mp.tau2.REMLFisherScoring().estimate(YI_OSC, VI_OSC)
    assert not bool(fit.converged) and int(fit.iterations) == 100
    assert float(fit.tau2) >= 0
    with pytest.warns(mp.exceptions.ConvergenceWarning):
        res = mp.RandomEffects(tau2="REML-FS").fit(mp.GenericEffect(yi=YI_OSC, vi=VI_OSC))
    assert not res.converged
    # the exact maximiser has no such problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = mp.RandomEffects(tau2="REML").fit(mp.GenericEffect(yi=YI_OSC, vi=VI_OSC))
    assert exact.converged and exact.tau2 == pytest.approx(0.13795, abs=1e-5)


def test_a_batch_is_a_loop_even_when_rows_stop_at_different_steps() -> None:
    ys = np.stack([YI[:8], YI_OSC, YI[2:], np.full(8, 0.3)])
    vs = np.stack([VI[:8], VI_OSC, VI[2:], VI[:8]])
    est = mp.tau2.REMLFisherScoring()
    batch = est.estimate(ys, vs)
    for i in range(4):
        one = est.estimate(ys[i], vs[i])
        assert float(batch.tau2[i]) == float(one.tau2)
        assert bool(batch.converged[i]) == bool(one.converged)
        assert int(batch.iterations[i]) == int(one.iterations)
    assert batch.converged.tolist() == [True, False, True, True]


def test_with_moderators() -> None:
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    fit = mp.tau2.REMLFisherScoring(tol=1e-12).estimate(YI, VI, X)
    exact = mp.tau2.REML().estimate(YI, VI, X)
    assert bool(fit.converged)
    assert float(fit.tau2) == pytest.approx(float(exact.tau2), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tol": 0.0}, "The 'tol' parameter of REMLFisherScoring must be a finite number > 0"),
        ({"tol": "1e-8"}, "The 'tol' parameter of REMLFisherScoring"),
        ({"tol": True}, "The 'tol' parameter of REMLFisherScoring"),
        ({"maxiter": 0}, "The 'maxiter' parameter of REMLFisherScoring must be a positive"),
        ({"start": "nope"}, "The 'start' parameter of REMLFisherScoring must be one of"),
    ],
)
def test_parameters_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(mp.exceptions.InvalidParameterError, match=message):
        mp.tau2.REMLFisherScoring(**kwargs)  # type: ignore[arg-type]
