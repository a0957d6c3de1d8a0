"""metapool.convert and GenericEffect.from_ci/from_p/from_statistic.

Expected numbers come from hand formulas written out here with scipy's quantiles
(independently of the module), from worked examples of the Cochrane Handbook
(§6.3, §6.5.2) and Altman & Bland (2011) to their printed precision, and from
simulation where no published example is at hand: normal samples with a fixed
seed, whose summaries the estimators must turn back into the true mean and SD
within a stated Monte-Carlo tolerance. No R package in the CI image (metafor
3.8.1) implements the median estimators, so there is no R reference file.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import metapool as mp
from metapool import convert
from metapool.exceptions import (
    AsymmetricIntervalWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)
from metapool.testing import check_effect_set

# Closed forms evaluated twice in double precision (a few roundings apart).
RTOL = 1e-12


def _xi(n):
    return 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n):
    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


# ------------------------------------------------------------ median → mean, SD
A, Q1, M, Q3, B, N = 2.0, 10.0, 14.0, 20.0, 41.0, 40


@pytest.mark.parametrize(
    ("kwargs", "scenario", "mean", "sd"),
    [
        # Luo (2018) mean, Shi (2020) SD
        (
            {"minimum": A, "maximum": B},
            "S1",
            4 / (4 + N**0.75) * (A + B) / 2 + (1 - 4 / (4 + N**0.75)) * M,
            (B - A) / _xi(N),
        ),
        (
            {"q1": Q1, "q3": Q3},
            "S2",
            (0.7 + 0.39 / N) * (Q1 + Q3) / 2 + (0.3 - 0.39 / N) * M,
            (Q3 - Q1) / _eta(N),
        ),
        (
            {"minimum": A, "q1": Q1, "q3": Q3, "maximum": B},
            "S3",
            2.2 / (2.2 + N**0.75) * (A + B) / 2
            + (0.7 - 0.72 / N**0.55) * (Q1 + Q3) / 2
            + (1 - 2.2 / (2.2 + N**0.75) - 0.7 + 0.72 / N**0.55) * M,
            (B - A) / _xi(N) / (1 + 0.07 * N**0.6)
            + (1 - 1 / (1 + 0.07 * N**0.6)) * (Q3 - Q1) / _eta(N),
        ),
    ],
)
def test_luo_shi_by_hand(kwargs, scenario, mean, sd):
    est = convert.mean_sd_from_median(M, n=N, **kwargs)
    assert est.scenario == scenario
    assert (est.mean_method, est.sd_method) == ("luo", "shi")
    assert est.mean == pytest.approx(mean, rel=RTOL)
    assert est.sd == pytest.approx(sd, rel=RTOL)


def test_wan_by_hand():
    # above n = 50 Wan's xi(n) is the formula (below it, Table 1: see the test further down)
    s1 = convert.mean_sd_from_median(
        M, minimum=A, maximum=B, n=60, mean_method="wan", sd_method="wan"
    )
    assert s1.mean == pytest.approx((A + 2 * M + B) / 4, rel=RTOL)
    assert s1.sd == pytest.approx((B - A) / _xi(60), rel=RTOL)
    s2 = convert.mean_sd_from_median(M, q1=Q1, q3=Q3, n=N, mean_method="wan", sd_method="wan")
    assert s2.mean == pytest.approx((Q1 + M + Q3) / 3, rel=RTOL)
    assert s2.sd == pytest.approx((Q3 - Q1) / _eta(N), rel=RTOL)
    s3 = convert.mean_sd_from_median(
        M, minimum=A, q1=Q1, q3=Q3, maximum=B, n=60, mean_method="wan", sd_method="wan"
    )
    assert s3.mean == pytest.approx((A + 2 * Q1 + 2 * M + 2 * Q3 + B) / 8, rel=RTOL)
    # Wan (2014) eq. 16: (b - a) / (4 Φ⁻¹(...)) + (q3 - q1) / (4 Φ⁻¹(...))
    assert s3.sd == pytest.approx((B - A) / (2 * _xi(60)) + (Q3 - Q1) / (2 * _eta(60)), rel=RTOL)


@pytest.mark.parametrize(("n", "sd"), [(10, None), (40, (B - A) / 4), (100, (B - A) / 6)])
def test_hozo_by_hand(n, sd):
    est = convert.mean_sd_from_median(
        M, minimum=A, maximum=B, n=n, mean_method="hozo", sd_method="hozo"
    )
    assert est.mean == pytest.approx((A + 2 * M + B) / 4 + (A - 2 * M + B) / (4 * n), rel=RTOL)
    if sd is None:
        sd = math.sqrt(((A - 2 * M + B) ** 2 / 4 + (B - A) ** 2) / 12)
    assert est.sd == pytest.approx(sd, rel=RTOL)


def test_wan_xi_matches_expected_range_of_normal_samples():
    # ξ(n) approximates E(range)/σ of a normal sample (Wan 2014, Table 1 compares it with
    # the exact value); check against a direct simulation: 1e-2 relative suffices for a
    # 40 000-sample Monte-Carlo mean whose SE is about 0.2% of it.
    rng = np.random.default_rng(20240611)
    for n in (10, 50, 200):
        x = rng.standard_normal((40_000, n))
        expected_range = np.mean(x.max(axis=1) - x.min(axis=1))
        assert _xi(n) == pytest.approx(expected_range, rel=1e-2)


@pytest.mark.parametrize("n", [30, 120, 400])
def test_estimators_recover_normal_mean_and_sd(n):
    """Summaries of normal samples (μ = 50, σ = 10) turn back into μ and σ.

    Averaged over 4000 samples with a fixed seed: the Monte-Carlo SE of the average mean
    is about σ/sqrt(n·4000) < 0.03 and that of the average SD about 0.1% of σ, so the
    tolerances (0.15 for the mean, 2.5% for the SD, which also allows for the small
    approximation bias of ξ and η) are several Monte-Carlo SEs wide.
    """
    rng = np.random.default_rng(12345 + n)
    x = 50 + 10 * rng.standard_normal((4000, n))
    q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0], axis=1)
    a, lq, m, uq, b = q
    patterns = {
        "S1": {"minimum": a, "maximum": b},
        "S2": {"q1": lq, "q3": uq},
        "S3": {"minimum": a, "q1": lq, "q3": uq, "maximum": b},
    }
    for scenario, kwargs in patterns.items():
        for mean_method, sd_method in (("luo", "shi"), ("wan", "wan")):
            est = convert.mean_sd_from_median(
                m, n=n, mean_method=mean_method, sd_method=sd_method, **kwargs
            )
            assert est.scenario == scenario
            assert est.mean.shape == (4000,)
            assert np.mean(est.mean) == pytest.approx(50, abs=0.15), (scenario, mean_method)
            assert np.mean(est.sd) == pytest.approx(10, rel=0.025), (scenario, sd_method)


def test_median_conversion_broadcasts_and_passes_nan():
    est = convert.mean_sd_from_median(
        [14.0, np.nan], q1=[10.0, 1.0], q3=[20.0, 3.0], n=[[40], [80]]
    )
    assert est.mean.shape == (2, 2)
    assert np.isnan(est.mean[:, 1]).all()
    one = convert.mean_sd_from_median(14.0, q1=10.0, q3=20.0, n=80)
    assert est.mean[1, 0] == one.mean
    assert isinstance(one.mean, np.floating)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"maximum": 40.0}, "maximum fits no scenario"),
        ({"q1": 10.0}, "q1 fits no scenario"),
        ({"minimum": 1.0, "q3": 20.0}, "minimum, q3 fits no scenario"),
        ({}, "nothing fits no scenario"),
    ],
)
def test_patterns_that_fit_no_scenario_are_refused(kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        convert.mean_sd_from_median(14.0, n=40, **kwargs)


def test_hozo_only_for_the_range():
    with pytest.raises(InvalidParameterError, match="'hozo' is defined for the range"):
        convert.mean_sd_from_median(14.0, q1=10.0, q3=20.0, n=40, sd_method="hozo")


def test_order_statistics_out_of_order_name_row_and_values():
    with pytest.raises(InvalidDataError, match=r"'q1' must be <= 'median'; row 2 has q1=15 > "):
        convert.mean_sd_from_median([14.0, 14.0], q1=[10.0, 15.0], q3=[20.0, 20.0], n=40)


# ------------------------------------------------------ SD from SE, CI, t and P
def test_sd_from_se():
    assert convert.sd_from_se([0.5, 1.0], [25, 100]).sd.tolist() == [2.5, 10.0]


def test_sd_from_ci_handbook_example():
    # Handbook §6.5.2.2: 95% CI 3.0 to 7.0, n = 25: SD = 5 × 4 / 3.92 = 5.10 with the
    # normal quantile; with t(24) = 2.0639 it is 5 × 4 / 4.128 = 4.85.
    assert round(float(convert.sd_from_ci(3.0, 7.0, 25, dist="normal").sd), 2) == 5.10
    t = convert.sd_from_ci(3.0, 7.0, 25).sd
    assert round(float(t), 2) == 4.85
    assert t == pytest.approx(5 * 4 / (2 * stats.t.ppf(0.975, 24)), rel=RTOL)
    ninety = convert.sd_from_ci(3.0, 7.0, 25, level=0.9, dist="normal").sd
    assert ninety == pytest.approx(5 * 4 / (2 * stats.norm.ppf(0.95)), rel=RTOL)


def test_sd_from_t_and_p_handbook_example():
    # Handbook §6.5.2.3: MD 3.8, P = 0.008, n1 = 25, n2 = 22; t(45) = 2.78 (as printed),
    # SE = MD / t, SD = SE / sqrt(1/25 + 1/22).
    t = stats.t.ppf(1 - 0.008 / 2, 45)
    assert round(t, 2) == 2.78
    expected = 3.8 / t / math.sqrt(1 / 25 + 1 / 22)
    assert convert.sd_from_p(0.008, 25, 22, 3.8).sd == pytest.approx(expected, rel=RTOL)
    assert round(float(convert.sd_from_p(0.008, 25, 22, 3.8).sd), 2) == 4.68
    assert convert.sd_from_t(-t, 25, 22, 3.8).sd == pytest.approx(expected, rel=RTOL)
    z = stats.norm.ppf(1 - 0.004)
    assert convert.sd_from_p(0.008, 25, 22, -3.8, dist="normal").sd == pytest.approx(
        3.8 / z / math.sqrt(1 / 25 + 1 / 22), rel=RTOL
    )


def test_sd_from_t_recovers_pooled_sd_of_two_samples():
    rng = np.random.default_rng(7)
    x, y = rng.normal(5, 2, 25), rng.normal(3, 2, 22)
    sp = math.sqrt((24 * x.var(ddof=1) + 21 * y.var(ddof=1)) / 45)
    t = stats.ttest_ind(x, y).statistic
    md = x.mean() - y.mean()
    assert convert.sd_from_t(t, 25, 22, md).sd == pytest.approx(sp, rel=1e-12)
    p = stats.ttest_ind(x, y).pvalue
    assert convert.sd_from_p(p, 25, 22, md).sd == pytest.approx(sp, rel=1e-9)


# ----------------------------------------------------------------- other helpers
def test_combine_groups_equals_the_pooled_sample():
    rng = np.random.default_rng(3)
    x, y = rng.normal(5, 1, 10), rng.normal(6, 2, 20)
    g = convert.combine_groups(10, x.mean(), x.std(ddof=1), 20, y.mean(), y.std(ddof=1))
    both = np.concatenate([x, y])
    assert g.n == 30
    assert g.mean == pytest.approx(both.mean(), rel=RTOL)
    assert g.sd == pytest.approx(both.std(ddof=1), rel=1e-12)


def test_correlation_from_sds_is_the_sample_correlation():
    rng = np.random.default_rng(11)
    pre = rng.normal(10, 3, 50)
    post = 0.6 * pre + rng.normal(2, 2, 50)
    r = convert.correlation_from_sds(pre.std(ddof=1), post.std(ddof=1), (post - pre).std(ddof=1))
    assert r == pytest.approx(np.corrcoef(pre, post)[0, 1], rel=1e-12)
    with pytest.raises(InvalidDataError, match=r"'sd_change' must be between .* row 2 has"):
        convert.correlation_from_sds([4.0, 4.0], [4.5, 1.0], [3.0, 9.0])


def test_chinn_conversion_both_ways():
    res = convert.log_odds_ratio_from_smd([0.5, -0.2], vi=[0.04, 0.01])
    assert res.yi == pytest.approx(np.array([0.5, -0.2]) * math.pi / math.sqrt(3), rel=RTOL)
    assert res.vi == pytest.approx(np.array([0.04, 0.01]) * math.pi**2 / 3, rel=RTOL)
    back = convert.smd_from_log_odds_ratio(res.yi, vi=res.vi)
    assert back.yi == pytest.approx([0.5, -0.2], rel=RTOL)
    assert back.vi == pytest.approx([0.04, 0.01], rel=RTOL)
    assert convert.smd_from_log_odds_ratio(0.3).vi is None


def test_errors_name_parameter_row_and_value():
    with pytest.raises(InvalidDataError, match=r"'se' must be >= 0; row 3 has se=-1"):
        convert.sd_from_se([1.0, 2.0, -1.0], 20)
    with pytest.raises(InvalidDataError, match=r"'n' must be a whole number >= 2; row 1 has n=1"):
        convert.sd_from_ci([1.0, 2.0], [3.0, 4.0], [1, 10])
    with pytest.raises(InvalidDataError, match=r"'p' must be in \(0, 1\); the value has p=0"):
        convert.sd_from_p(0.0, 10, 10, 1.0)
    with pytest.raises(InvalidDataError, match=r"'n1' must be a whole number >= 1; row 2"):
        convert.combine_groups([10, 2.5], 1.0, 1.0, 10, 1.0, 1.0)
    with pytest.raises(InvalidDataError, match="do not broadcast"):
        convert.sd_from_se([1.0, 2.0], [1, 2, 3])
    with pytest.raises(MetapoolTypeError, match="'se' must be a number"):
        convert.sd_from_se("1.2", 20)
    with pytest.raises(InvalidParameterError, match="'dist' parameter"):
        convert.sd_from_ci(1.0, 2.0, 10, dist="z")


# --------------------------------------------------- GenericEffect from summaries
def test_from_ci_altman_bland_example():
    # Altman & Bland (2011): RR 0.81 (95% CI 0.70 to 0.94): log RR -0.211, SE 0.075,
    # z = 2.80, P = 0.005.
    rr = mp.GenericEffect.from_ci([0.81], [0.70], [0.94], measure="RR")
    assert round(float(rr.yi[0]), 3) == -0.211
    assert round(float(rr.se[0]), 3) == 0.075
    assert round(float(abs(rr.yi[0]) / rr.se[0]), 2) == 2.80
    expected = (math.log(0.94) - math.log(0.70)) / (2 * stats.norm.ppf(0.975))
    assert rr.se[0] == pytest.approx(expected, rel=RTOL)
    assert rr.measure.code == "RR"
    assert rr.measure.scale.name == "log"
    # and back: P from the z statistic
    p = 2 * stats.norm.sf(abs(rr.yi[0]) / rr.se[0])
    assert round(p, 3) == 0.005


def test_from_ci_levels_and_scales():
    md = mp.GenericEffect.from_ci(
        [1.0, 2.0], [0.0, 1.5], [2.0, 2.5], level=0.9, scale="identity", measure="MD"
    )
    assert md.vi == pytest.approx(
        (np.array([2.0, 1.0]) / (2 * stats.norm.ppf(0.95))) ** 2, rel=RTOL
    )
    assert md.measure.null == 0.0
    check_effect_set(md)
    hr = mp.GenericEffect.from_ci([0.75, 1.2], [0.61, 0.9], [0.92, 1.6], labels=["a", "b"])
    check_effect_set(hr)
    res = mp.RandomEffects(tau2="DL").fit(hr)
    assert math.isfinite(res.estimate)


def test_from_p_and_statistic_agree_with_from_ci():
    hr = mp.GenericEffect.from_ci([0.75], [0.6], [0.9375])
    z = abs(math.log(0.75)) / hr.se[0]
    p = 2 * stats.norm.sf(z)
    assert mp.GenericEffect.from_p([0.75], [p]).se[0] == pytest.approx(hr.se[0], rel=1e-12)
    assert mp.GenericEffect.from_statistic([0.75], [-z]).se[0] == pytest.approx(hr.se[0], rel=RTOL)
    t = mp.GenericEffect.from_p(
        [3.8, 2.0], [0.008, 0.04], dist="t", df=[45, 30], scale="identity", measure="MD"
    )
    expected = np.array([3.8, 2.0]) / stats.t.ppf(1 - np.array([0.004, 0.02]), [45, 30])
    assert t.se == pytest.approx(expected, rel=RTOL)
    one_df = mp.GenericEffect.from_p(
        [3.8, 2.0], [0.008, 0.04], dist="t", df=45, scale="identity", measure="MD"
    )
    assert one_df.se[0] == pytest.approx(expected[0], rel=RTOL)


def test_from_ci_warns_for_a_ratio_read_on_the_identity_scale():
    with pytest.warns(AsymmetricIntervalWarning, match=r"study 2 \('Beta'\)"):
        mp.GenericEffect.from_ci(
            [0.81, 0.50],
            [0.70, 0.30],
            [0.94, 0.83],
            scale="identity",
            measure="RR",
            labels=["Alpha", "Beta"],
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", AsymmetricIntervalWarning)
        # symmetric on the log scale up to the rounding of the printed digits
        mp.GenericEffect.from_ci([0.50, 1.02, 0.75], [0.30, 1.01, 0.61], [0.83, 1.04, 0.92])


def test_from_ci_errors():
    with pytest.raises(InvalidDataError, match=r"'low' must be <= the estimate; study 2 \('b'\)"):
        mp.GenericEffect.from_ci([0.8, 0.8], [0.7, 0.9], [0.9, 1.0], labels=["a", "b"])
    with pytest.raises(InvalidDataError, match=r"'low' must be > 0 .*study 1"):
        mp.GenericEffect.from_ci([0.8], [-0.1], [0.9])
    with pytest.raises(InvalidDataError, match="'estimate' must be away from the null"):
        mp.GenericEffect.from_p([1.0], [0.5])
    with pytest.raises(InvalidParameterError, match="'df' parameter"):
        mp.GenericEffect.from_p([1.2], [0.5], dist="t")
    with pytest.raises(InvalidDataError, match=r"'statistic' must be non-zero"):
        mp.GenericEffect.from_statistic([1.2], [0.0])


def test_forest_plot_of_effects_from_ci_draws():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    hr = mp.GenericEffect.from_ci(
        [0.75, 1.2, 0.9], [0.61, 0.9, 0.7], [0.92, 1.6, 1.16], labels=["A", "B", "C"]
    )
    fig = mp.forest_plot(mp.RandomEffects(tau2="REML").fit(hr))
    assert fig is not None
    import matplotlib.pyplot as plt

    plt.close("all")


def test_shi_sd_equals_the_papers_shortcut_form() -> None:
    # Shi et al. (2020), eq. (11), written with theta1 = (2 + 0.14 n^0.6) Phi^-1(...)
    # and theta2 = (2 + 2 / (0.07 n^0.6)) Phi^-1(...): algebraically the weighted form
    # w (b - a)/xi + (1 - w)(q3 - q1)/eta with w = 1/(1 + 0.07 n^0.6)
    from scipy.stats import norm

    n = np.array([12, 40, 150, 900])
    a, q1, m, q3, b = 2.0, 4.1, 5.0, 6.3, 9.4
    theta1 = (2 + 0.14 * n**0.6) * norm.ppf((n - 0.375) / (n + 0.25))
    theta2 = (2 + 2 / (0.07 * n**0.6)) * norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    expected = (b - a) / theta1 + (q3 - q1) / theta2
    got = mp.convert.mean_sd_from_median(m, q1=q1, q3=q3, minimum=a, maximum=b, n=n).sd
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("n", "published"),
    # Wan et al. (2014), Table 1: xi(n) for n <= 50, printed to 3 decimals
    [(2, 1.128), (3, 1.693), (5, 2.326), (10, 3.078), (11, 3.173), (25, 3.931), (50, 4.498)],
)
def test_wan_uses_the_exact_expected_range_of_its_table_1(n: int, published: float) -> None:
    # with range b - a = 1 the Wan S1 SD is 1/xi(n): xi(n) must equal the table to 3 decimals
    got = mp.convert.mean_sd_from_median(0.5, minimum=0.0, maximum=1.0, n=n, sd_method="wan")
    assert round(1.0 / float(got.sd), 3) == published
