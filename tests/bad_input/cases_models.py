"""Bad-input cases for the models, the batch API, τ² plug-ins, sensitivity analyses
and the small-study-effect methods.

Expected numbers come from hand formulas in the case or from metafor 3.8.1
(``rma.mh``), never from metapool itself.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

import metapool as mp
from metapool.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolError,
    MetapoolTypeError,
    SmallSampleWarning,
)
from tests.bad_input._catalogue import Case

LABELS = ["Alpha 2001", "Beta 2003", "Gamma 2005", "Delta 2008"]


def _labels(k: int) -> list[str]:
    return LABELS[:k] if k <= len(LABELS) else [f"Trial {i + 1}" for i in range(k)]


def _effects(yi: Any = (0.1, 0.5, 0.3, 0.8), vi: Any = (0.04, 0.09, 0.05, 0.1)) -> Any:
    return mp.GenericEffect(yi=list(yi), vi=list(vi), labels=_labels(len(yi)))


def _forged(yi: list[float], vi: list[float]) -> Any:
    """An effect set whose arrays were changed after construction (as a user's own
    subclass or an in-place edit could): models must not trust it."""
    # the stored init (any call naming 'index') stores the fields without checking them
    return mp.GenericEffect(yi=yi, vi=vi, labels=LABELS[: len(yi)], index=np.arange(len(yi)))


@attrs.frozen
class _Plugin:
    """A τ² plug-in returning whatever it is told to."""

    value: Any
    converged: bool = True
    name: str = "plugin"

    def estimate(self, yi: Any, vi: Any, X: Any = None) -> Any:
        shape = np.shape(yi)[:-1]
        if not isinstance(self.value, (int, float)) or isinstance(self.value, np.floating):
            return self.value  # returned as is (e.g. a bare number: a broken plug-in)
        return mp.tau2.Tau2Fit(
            tau2=np.full(shape, float(self.value)),
            converged=np.full(shape, self.converged),
            iterations=np.zeros(shape, dtype=np.int64),
            method=self.name,
        )


@attrs.frozen
class _NegativeOnSubsets:
    """Valid on the full data, negative on any subset (a broken plug-in)."""

    full_k: int
    name: str = "broken"

    def estimate(self, yi: Any, vi: Any, X: Any = None) -> Any:
        shape = np.shape(yi)[:-1]
        value = 0.0 if np.shape(yi)[-1] >= self.full_k else -0.01
        return mp.tau2.Tau2Fit(
            tau2=np.full(shape, value),
            converged=np.ones(shape, dtype=bool),
            iterations=np.zeros(shape, dtype=np.int64),
            method=self.name,
        )


def _re(**kwargs: Any) -> Any:
    return mp.RandomEffects(**kwargs)


def _equal_effects() -> Any:
    return _effects(yi=(0.3, 0.3, 0.3, 0.3))


def _check_hksj_degenerate(res: Any) -> None:
    # metafor (rma, test="knha") gives SE 0 and the CI [0.3, 0.3] here too
    assert res.se == 0.0 and res.estimate == 0.3
    assert res.ci.low == res.ci.high == 0.3
    assert any("hksj-adhoc" in note for note in res.notes)


def _check_adhoc(res: Any) -> None:
    # hksj-adhoc never goes below Wald: SE = 1/sqrt(sum w) with tau2 = 0
    w = 1 / np.array([0.04, 0.09, 0.05, 0.1])
    assert math.isclose(res.se, 1 / math.sqrt(w.sum()), rel_tol=1e-12)
    assert not any("hksj-adhoc" in note for note in res.notes)


def _check_rescaled_tiny(res: Any) -> None:
    # DL by hand on the same data divided by 1e-150 (so vi = 1): Q = sum (y - ybar)^2,
    # tr(P) = k - 1 for equal weights, tau2 = (Q - (k - 1)) / (k - 1); then x 1e-300.
    y = np.array([1.0, 3.0, 2.0, 6.0])
    q = ((y - y.mean()) ** 2).sum()
    tau2 = (q - 3) / (4 - 4 / 4) * 1e-300
    assert math.isclose(res.tau2, tau2, rel_tol=1e-9)
    assert math.isclose(res.estimate, y.mean() * 1e-150, rel_tol=1e-12)


def _check_rescaled_huge(res: Any) -> None:
    # common-effect pooling by hand on the data as given: weights 1/vi
    y = np.array([1e100, 3e100, 2e100])
    v = np.array([1e200, 2e200, 4e200])
    w = 1 / v
    assert math.isclose(res.estimate, (w * y).sum() / w.sum(), rel_tol=1e-12)
    assert math.isclose(res.se, 1 / math.sqrt(w.sum()), rel_tol=1e-12)


def _check_mh_rd_no_events(res: Any) -> None:
    # metafor 3.8.1: rma.mh(ai=c(0,0), n1i=c(10,10), ci=c(0,0), n2i=c(10,20), measure="RD")
    # gives estimate 0, se 0, zval NaN, pval NaN, ci [0, 0]
    assert res.estimate == 0.0 and res.se == 0.0
    assert math.isnan(res.statistic) and math.isnan(res.pvalue)
    assert res.ci.low == res.ci.high == 0.0
    assert any("standard error 0" in note for note in res.notes)


def _check_mh_rr_all_events(res: Any) -> None:
    # metafor 3.8.1: rma.mh(ai=c(10,10), n1i=c(10,10), ci=c(10,20), n2i=c(10,20),
    # measure="RR") gives estimate 0 (RR 1), se 0, zval NaN
    assert res.estimate == 0.0 and res.se == 0.0 and math.isnan(res.statistic)


def _check_fell_back_to_z(res: Any) -> None:
    # k = 1: HKSJ needs k >= 2; the Wald interval 0.2 +- 1.959964 * sqrt(0.1) is used
    assert res.ci_method == "z"
    assert math.isclose(res.ci.high, 0.2 + 1.959963984540054 * math.sqrt(0.1), rel_tol=1e-12)


def _check_not_converged(res: Any) -> None:
    assert res.converged is False and res.tau2 == 0.05


def _check_empty_batch(res: Any) -> None:
    assert res.shape == (0,) and res.tau2.shape == (0,)


def _check_batch_degenerate(res: Any) -> None:
    assert res.se[1] == 0.0 and res.se[0] > 0  # row 1 holds equal effects


def _check_loo_degenerate(res: Any) -> None:
    assert np.all(res.se == 0.0)  # every refit of equal effects has Q = 0
    assert all(any("hksj-adhoc" in n for n in r.notes) for r in res.results)


def _check_collapse(res: Any) -> None:
    # keys 2003, 2001, 2003, 2005 -> rows 2001 (study 2), 2003 (+ 1, 3), 2005 (all)
    assert res.labels == ("2001", "2003", "2005")
    assert res.k.tolist() == [1, 3, 4]
    y = np.array([0.1, 0.5, 0.3, 0.8])
    w = 1 / np.array([0.04, 0.09, 0.05, 0.1])
    sel = [0, 1, 2]
    assert math.isclose(res.estimate[1], (w[sel] * y[sel]).sum() / w[sel].sum(), rel_tol=1e-12)
    assert math.isclose(res.estimate[0], 0.5, rel_tol=1e-12)


def _check_influence_degenerate(res: Any) -> None:
    assert np.all(np.isnan(res.rstudent)) and not res.is_influential.any()


def _loo_equal_hksj() -> Any:
    return mp.leave_one_out(_re(ci="hksj").fit(_equal_effects()))


def _influence_equal_hksj() -> Any:
    return mp.influence(_re(ci="hksj").fit(_equal_effects()))


def _cumulative(order: Any, **kwargs: Any) -> Any:
    return mp.cumulative(mp.CommonEffect().fit(_effects()), order, **kwargs)


def _mh(measure: type, a: list[int], n1: list[int], c: list[int], n2: list[int]) -> Any:
    return mp.MantelHaenszel().fit(measure(events1=a, n1=n1, events2=c, n2=n2))


_BATCH_Y = [[0.1, 0.4, 0.2], [0.3, 0.3, 0.3]]
_BATCH_V = [[0.04, 0.05, 0.06], [0.04, 0.05, 0.06]]
_TWELVE_Y = [0.1, 0.5, 0.3, 0.8, 0.2, 0.6, 0.4, 0.9, 0.05, 0.7, 0.35, 0.55]
_TWELVE_V = [0.04, 0.09, 0.05, 0.1, 0.03, 0.08, 0.06, 0.12, 0.02, 0.07, 0.05, 0.09]


CASES: list[Case] = [
    # --- model settings -------------------------------------------------------------
    Case(
        "re-tau2-class",
        lambda: _re(tau2=mp.tau2.REML),
        MetapoolTypeError,
        ("'tau2'", "class REML", "REML()"),
    ),
    Case("re-tau2-unknown", lambda: _re(tau2="XYZ"), InvalidParameterError, ("'tau2'", "'XYZ'")),
    Case("re-tau2-number", lambda: _re(tau2=5), MetapoolTypeError, ("'tau2'", "5")),
    Case("re-level-percent", lambda: _re(level=95), InvalidParameterError, ("'level'", "95")),
    Case(
        "re-level-string", lambda: _re(level="0.95"), InvalidParameterError, ("'level'", "'0.95'")
    ),
    Case("re-ci-unknown", lambda: _re(ci="wald"), InvalidParameterError, ("'ci'", "'wald'")),
    Case("re-ci-number", lambda: _re(ci=5), InvalidParameterError, ("'ci'", "5")),
    Case(
        "re-prediction-unknown",
        lambda: _re(prediction="cochrane"),
        InvalidParameterError,
        ("'prediction'", "'cochrane'"),
    ),
    Case(
        "re-convention-unknown",
        lambda: _re(convention="cochrane"),
        InvalidParameterError,
        ("'convention'", "RandomEffects", "'cochrane'", "'revman5'"),
    ),
    Case("re-i2-unknown", lambda: _re(i2="H"), InvalidParameterError, ("'i2'", "'H'")),
    Case(
        "ce-ci-hksj",
        lambda: mp.CommonEffect(ci="hksj"),
        InvalidParameterError,
        ("'ci'", "'hksj'"),
    ),
    Case(
        "mh-level-out-of-range",
        lambda: mp.MantelHaenszel(level=1.5),
        InvalidParameterError,
        ("'level'", "1.5"),
    ),
    Case("peto-level-zero", lambda: mp.Peto(level=0), InvalidParameterError, ("'level'", "0")),
    # --- tau^2 plug-ins ---------------------------------------------------------------
    Case(
        "plugin-returns-float",
        lambda: _re(tau2=_Plugin(np.float64(0.1))).fit(_effects()),
        MetapoolTypeError,
        ("Tau2Fit", "float64", "0.1"),
    ),
    Case(
        "plugin-wrong-shape",
        lambda: _re(
            tau2=_Plugin(
                mp.tau2.Tau2Fit(
                    tau2=np.zeros(5),
                    converged=np.ones(5, dtype=bool),
                    iterations=np.zeros(5, dtype=np.int64),
                    method="plugin",
                )
            )
        ).fit(_effects()),
        MetapoolTypeError,
        ("'plugin'", "'tau2'", "(5,)"),
    ),
    Case(
        "plugin-negative",
        lambda: _re(tau2=_Plugin(-0.01)).fit(_effects()),
        MetapoolError,
        ("'plugin'", "-0.01", ">= 0"),
    ),
    Case(
        "plugin-nan",
        lambda: _re(tau2=_Plugin(math.nan)).fit(_effects()),
        MetapoolError,
        ("'plugin'", "nan", "finite"),
    ),
    Case(
        "plugin-not-converged",
        lambda: _re(tau2=_Plugin(0.05, converged=False)).fit(_effects()),
        warns=ConvergenceWarning,
        check=_check_not_converged,
    ),
    Case(
        "plugin-without-estimate",
        lambda: _re(tau2=attrs.make_class("OnlyName", {"name": attrs.field(default="x")})()),
        MetapoolTypeError,
        ("'tau2'", "estimate(yi, vi, X=None)"),
    ),
    Case(
        "fixed-text",
        lambda: mp.tau2.Fixed("abc"),
        InvalidParameterError,
        ("'value'", "'abc'"),
    ),
    Case("fixed-negative", lambda: mp.tau2.Fixed(-1), InvalidParameterError, ("'value'", "-1")),
    Case("fixed-bool", lambda: mp.tau2.Fixed(True), InvalidParameterError, ("'value'", "True")),
    Case(
        "fixed-infinite",
        lambda: mp.tau2.Fixed(math.inf),
        InvalidParameterError,
        ("'value'", "inf"),
    ),
    # --- what a model receives ----------------------------------------------------------
    Case(
        "fit-a-list",
        lambda: _re().fit([0.1, 0.2]),
        MetapoolTypeError,
        ("RandomEffects.fit", "GenericEffect", "list"),
    ),
    Case(
        "fit-forged-infinite-yi",
        lambda: _re().fit(_forged([0.1, math.inf, 0.3], [0.1, 0.1, 0.1])),
        InvalidDataError,
        ("study 2 ('Beta 2003')", "yi=inf", "'yi'"),
    ),
    Case(
        "fit-forged-zero-vi",
        lambda: mp.CommonEffect().fit(_forged([0.1, 0.2, 0.3], [0.1, 0.1, 0.0])),
        InvalidDataError,
        ("study 3 ('Gamma 2005')", "vi=0.0", "'vi'"),
    ),
    Case(
        "fit-forged-negative-vi",
        lambda: _re().fit(_forged([0.1, 0.2], [-0.1, 0.1])),
        InvalidDataError,
        ("study 1 ('Alpha 2001')", "vi=-0.1"),
    ),
    Case(
        "fit-effects-overflow",
        lambda: _re().fit(_effects(yi=(1e200, -1e200, 1e200), vi=(1, 1, 1))),
        InvalidDataError,
        ("study 1 ('Alpha 2001')", "yi=1e+200", "overflow"),
    ),
    Case(
        "fit-variances-span-too-wide",
        lambda: _re(tau2="DL").fit(_effects(yi=(0.1, 0.2, 0.3), vi=(1e-100, 1.0, 1.0))),
        InvalidDataError,
        ("study 1 ('Alpha 2001')", "vi=1e-100"),
    ),
    Case(
        "fit-tiny-variances-rescaled",
        lambda: _re(tau2="DL").fit(_effects(yi=(1e-150, 3e-150, 2e-150, 6e-150), vi=(1e-300,) * 4)),
        check=_check_rescaled_tiny,
    ),
    Case(
        "fit-huge-variances-rescaled",
        lambda: mp.CommonEffect().fit(_effects(yi=(1e100, 3e100, 2e100), vi=(1e200, 2e200, 4e200))),
        check=_check_rescaled_huge,
    ),
    Case(
        "hksj-equal-effects",
        lambda: _re(ci="hksj").fit(_equal_effects()),
        warns=DegenerateDataWarning,
        check=_check_hksj_degenerate,
    ),
    Case(
        "hksj-adhoc-equal-effects",
        lambda: _re(ci="hksj-adhoc").fit(_equal_effects()),
        check=_check_adhoc,
    ),
    Case(
        "hksj-one-study",
        lambda: _re(ci="hksj").fit(_effects(yi=(0.2,), vi=(0.1,))),
        warns=SmallSampleWarning,
        check=_check_fell_back_to_z,
    ),
    # --- the batch API ------------------------------------------------------------------
    Case(
        "batch-ragged",
        lambda: _re().fit_batch([[0.1, 0.2], [0.1]], [[1, 1], [1]]),
        InvalidDataError,
        ("'yi'", "ragged"),
    ),
    Case(
        "batch-text",
        lambda: _re().fit_batch([[0.1, "0.2"]], [[1, 1]]),
        MetapoolTypeError,
        ("'yi'", "'0.2'", "study 2"),
    ),
    Case(
        "batch-booleans",
        lambda: mp.CommonEffect().fit_batch([[True, False]], [[1, 1]]),
        MetapoolTypeError,
        ("'yi'", "booleans"),
    ),
    Case(
        "batch-string",
        lambda: _re().fit_batch("yi", "vi"),
        MetapoolTypeError,
        ("'yi'", "'yi'"),
    ),
    Case(
        "batch-shapes-differ",
        lambda: _re().fit_batch(np.zeros((2, 3)), np.ones((3, 2))),
        InvalidDataError,
        ("'yi'", "(2, 3)", "(3, 2)"),
    ),
    Case(
        "batch-one-study",
        lambda: _re().fit_batch(np.zeros((4, 1)), np.ones((4, 1))),
        InvalidDataError,
        ("k >= 2", "k = 1"),
    ),
    Case(
        "batch-zero-variance",
        lambda: _re().fit_batch([[0.1, 0.2]], [[0.1, 0.0]]),
        InvalidDataError,
        ("'vi'", "study 2", "0.0"),
    ),
    Case(
        "batch-overflowing-row",
        lambda: _re().fit_batch([[0.1, 0.2], [1e200, -1e200]], [[0.1, 0.1], [1, 1]]),
        InvalidDataError,
        ("batch index (1,)", "1e+200"),
    ),
    Case(
        "batch-empty-reml",
        lambda: _re(tau2="REML").fit_batch(np.zeros((0, 5)), np.ones((0, 5))),
        check=_check_empty_batch,
    ),
    Case(
        "batch-hksj-equal-row",
        lambda: _re(ci="hksj").fit_batch(_BATCH_Y, _BATCH_V),
        warns=DegenerateDataWarning,
        check=_check_batch_degenerate,
    ),
    # --- Mantel-Haenszel and Peto ---------------------------------------------------------
    Case(
        "mh-generic-effects",
        lambda: mp.MantelHaenszel().fit(_effects()),
        MetapoolTypeError,
        ("MantelHaenszel", "GenericEffect"),
    ),
    Case(
        "mh-rd-no-events",
        lambda: _mh(mp.RiskDifference, [0, 0], [10, 10], [0, 0], [10, 20]),
        warns=DegenerateDataWarning,
        check=_check_mh_rd_no_events,
    ),
    Case(
        "mh-rr-all-events",
        lambda: _mh(mp.RiskRatio, [10, 10], [10, 10], [10, 20], [10, 20]),
        warns=DegenerateDataWarning,
        check=_check_mh_rr_all_events,
    ),
    Case(
        "mh-or-no-control-events",
        lambda: _mh(mp.OddsRatio, [3, 4], [10, 10], [0, 0], [10, 20]),
        InvalidDataError,
        ("MantelHaenszel", "OR", "not estimable"),
    ),
    Case(
        "peto-risk-ratio",
        lambda: mp.Peto().fit(
            mp.RiskRatio(events1=[1, 2], n1=[10, 10], events2=[2, 3], n2=[10, 10])
        ),
        MetapoolTypeError,
        ("Peto", "RiskRatio"),
    ),
    Case(
        "peto-no-information",
        lambda: mp.Peto().fit(
            mp.OddsRatio(events1=[0, 0], n1=[10, 10], events2=[0, 0], n2=[10, 10])
        ),
        InvalidDataError,
        ("Peto", "not estimable"),
    ),
    # --- sensitivity analyses -------------------------------------------------------------
    Case(
        "loo-one-study",
        lambda: mp.leave_one_out(_re().fit(_effects(yi=(0.2,), vi=(0.1,)))),
        InvalidDataError,
        ("leave_one_out", "two studies"),
    ),
    Case(
        "loo-not-a-result",
        lambda: mp.leave_one_out(_effects()),
        MetapoolTypeError,
        ("leave_one_out", "MetaResult", "GenericEffect"),
    ),
    Case(
        "loo-hksj-equal-effects",
        _loo_equal_hksj,
        warns=DegenerateDataWarning,
        check=_check_loo_degenerate,
    ),
    Case(
        "cumulative-order-length",
        lambda: _cumulative([2001, 2002]),
        InvalidDataError,
        ("'order'", "(4)", "(2,)"),
    ),
    Case(
        "cumulative-order-missing",
        lambda: _cumulative([2001, None, 2003, 2004]),
        InvalidDataError,
        ("'order'", "study 2 ('Beta 2003')", "None"),
    ),
    Case(
        "cumulative-order-nan",
        lambda: _cumulative([2001.0, 2002.0, math.nan, 2004.0]),
        InvalidDataError,
        ("'order'", "study 3 ('Gamma 2005')", "nan"),
    ),
    Case(
        "cumulative-order-mixed",
        lambda: _cumulative([2001, "2002", 2003, 2004]),
        MetapoolTypeError,
        ("'order'", "study 2 ('Beta 2003')", "'2002'"),
    ),
    Case(
        "cumulative-order-set",
        lambda: _cumulative({2001, 2002, 2003, 2004}),
        MetapoolTypeError,
        ("'order'", "set"),
    ),
    Case(
        "cumulative-order-scalar",
        lambda: _cumulative(2001),
        MetapoolTypeError,
        ("'order'", "2001"),
    ),
    Case(
        "cumulative-collapse",
        lambda: _cumulative([2003, 2001, 2003, 2005], collapse=True),
        check=_check_collapse,
    ),
    Case(
        "cumulative-collapse-without-order",
        lambda: _cumulative(None, collapse=True),
        MetapoolTypeError,
        ("collapse=True", "'order'"),
    ),
    Case(
        "cumulative-collapse-not-bool",
        lambda: _cumulative([1, 2, 3, 4], collapse="yes"),
        MetapoolTypeError,
        ("'collapse'", "'yes'"),
    ),
    Case(
        "influence-mantel-haenszel",
        lambda: mp.influence(
            mp.MantelHaenszel().fit(
                mp.RiskRatio(events1=[1, 2, 3], n1=[10] * 3, events2=[2, 3, 4], n2=[10] * 3)
            )
        ),
        MetapoolTypeError,
        ("influence", "inverse-variance", "Mantel-Haenszel"),
    ),
    Case(
        "influence-two-studies",
        lambda: mp.influence(_re().fit(_effects(yi=(0.1, 0.2), vi=(0.1, 0.1)))),
        InvalidDataError,
        ("influence", "three studies"),
    ),
    Case(
        "influence-hksj-equal-effects",
        _influence_equal_hksj,
        warns=DegenerateDataWarning,
        check=_check_influence_degenerate,
    ),
    # --- small-study effects --------------------------------------------------------------
    Case(
        "egger-two-studies",
        lambda: mp.egger_test(_effects(yi=(0.1, 0.2), vi=(0.1, 0.2))),
        InvalidDataError,
        ("egger_test", "k = 2"),
    ),
    Case(
        "egger-not-effects",
        lambda: mp.egger_test([0.1, 0.2, 0.3]),
        MetapoolTypeError,
        ("egger_test", "list"),
    ),
    Case(
        "egger-equal-variances",
        lambda: mp.egger_test(_effects(vi=(0.1, 0.1, 0.1, 0.1))),
        InvalidDataError,
        ("egger_test", "same variance"),
    ),
    Case(
        "egger-forged-infinite",
        lambda: mp.egger_test(_forged([0.1, 0.2, math.inf, 0.4], [0.1, 0.2, 0.3, 0.4])),
        InvalidDataError,
        ("egger_test", "study 3 ('Gamma 2005')", "yi=inf"),
    ),
    Case(
        "begg-two-studies",
        lambda: mp.begg_test(_effects(yi=(0.1, 0.2), vi=(0.1, 0.2))),
        InvalidDataError,
        ("begg_test", "k = 2"),
    ),
    Case(
        "trimfill-mantel-haenszel",
        lambda: mp.trim_and_fill(
            mp.MantelHaenszel().fit(
                mp.RiskRatio(events1=[1, 2, 3], n1=[10] * 3, events2=[2, 3, 4], n2=[10] * 3)
            )
        ),
        MetapoolTypeError,
        ("trim_and_fill", "inverse-variance", "Mantel-Haenszel"),
    ),
    Case(
        "trimfill-estimator-unknown",
        lambda: mp.trim_and_fill(_re().fit(_effects()), estimator="L1"),
        InvalidParameterError,
        ("'estimator'", "'L1'"),
    ),
    Case(
        "trimfill-side-unknown",
        lambda: mp.trim_and_fill(_re().fit(_effects()), side="up"),
        InvalidParameterError,
        ("'side'", "'up'"),
    ),
    Case(
        "trimfill-maxiter-zero",
        lambda: mp.trim_and_fill(_re().fit(_effects()), maxiter=0),
        InvalidParameterError,
        ("'maxiter'", "0"),
    ),
    Case(
        "trimfill-broken-plugin-on-trimmed-studies",
        lambda: mp.trim_and_fill(
            _re(tau2=_NegativeOnSubsets(12)).fit(_effects(yi=_TWELVE_Y, vi=_TWELVE_V)),
            side="left",
        ),
        MetapoolError,
        ("trim_and_fill", "'broken'", "-0.01", "trimmed"),
    ),
]
