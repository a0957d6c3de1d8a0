"""Session-wide defaults: ``set_config``, ``get_config`` and ``config_context``."""

from __future__ import annotations

import threading

import pytest

import metapool as mp
from metapool.exceptions import InvalidParameterError


@pytest.fixture(autouse=True)
def _restore() -> object:
    before = mp.get_config()
    yield
    mp.set_config(**before)


def test_default_is_metafor() -> None:
    assert mp.get_config() == {"convention": "metafor"}
    assert mp.RandomEffects().tau2.name == "REML"


def test_set_config_changes_every_default_and_explicit_arguments_win() -> None:
    mp.set_config(convention="revman5")
    assert mp.get_config()["convention"] == "revman5"
    re = mp.RandomEffects()
    assert (re.tau2.name, re.i2) == ("DL", "q")
    assert mp.MetaRegression().tau2.name == "DL"
    smd = mp.SMD(mean1=[1, 2], sd1=[1, 1], n1=[10, 12], mean2=[0, 1], sd2=[1, 1], n2=[10, 12])
    assert smd.correction == "approx" and smd.variance == "revman"
    with pytest.warns(mp.exceptions.ExcludedStudyWarning, match="double-zero"):
        rr = mp.RiskRatio(events1=[0, 3], n1=[10, 10], events2=[0, 4], n2=[10, 10])
    assert rr.k == 1 and len(rr.excluded) == 1  # revman5 drops the double-zero study
    # an explicit argument always wins
    assert mp.RandomEffects(tau2="REML").tau2.name == "REML"
    assert mp.RandomEffects(convention="metafor").tau2.name == "REML"


def test_config_context_restores_on_exit_and_on_error() -> None:
    with mp.config_context(convention="revman5"):
        assert mp.RandomEffects().tau2.name == "DL"
        with mp.config_context(convention="metafor"):
            assert mp.RandomEffects().tau2.name == "REML"
        assert mp.RandomEffects().tau2.name == "DL"
    assert mp.get_config()["convention"] == "metafor"
    with pytest.raises(RuntimeError), mp.config_context(convention="revman5"):
        raise RuntimeError
    assert mp.get_config()["convention"] == "metafor"


def test_threads_do_not_share_a_context() -> None:
    seen: list[str] = []

    def worker() -> None:
        seen.append(mp.get_config()["convention"])

    with mp.config_context(convention="revman5"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == ["metafor"]  # a new thread starts from the defaults


def test_unknown_convention_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'convention' parameter of set_config"):
        mp.set_config(convention="cochrane")
    with (
        pytest.raises(InvalidParameterError, match=r"'convention'"),
        mp.config_context(convention="x"),
    ):
        pass


@pytest.mark.parametrize(
    "make",
    [
        lambda c: mp.CommonEffect(convention=c),
        lambda c: mp.MantelHaenszel(convention=c),
        lambda c: mp.Peto(convention=c),
        lambda c: mp.MetaRegression(convention=c),
        lambda c: mp.RandomEffects(convention=c),
        lambda c: mp.MeanDifference(
            mean1=[1], sd1=[1], n1=[10], mean2=[0], sd2=[1], n2=[10], convention=c
        ),
        lambda c: mp.SMD(mean1=[1], sd1=[1], n1=[10], mean2=[0], sd2=[1], n2=[10], convention=c),
        lambda c: mp.OddsRatio(events1=[1], n1=[10], events2=[2], n2=[10], convention=c),
    ],
)
def test_every_class_accepts_convention(make: object) -> None:
    for name in ("metafor", "revman5", mp.conventions.CONVENTIONS["revman5"]):
        make(name)  # type: ignore[operator]
    with pytest.raises(InvalidParameterError, match=r"'convention'.*'nope'"):
        make("nope")  # type: ignore[operator]
