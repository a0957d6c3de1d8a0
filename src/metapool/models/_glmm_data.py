"""The data of the GLMMs: designs for each model and measure, and the saturated fits.

Two-arm data: studies without events (or only events) in both arms carry no
information in UM.FS, CM.EL and CM.AL and are marked non-informative (left out of
the design). The saturated fit (one effect per study) gives metafor's
likelihood-ratio and Wald-type heterogeneity tests.
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.effects._base import EffectSet
from metapool.models._glmm_families import Binomial, NoncentralHypergeometric, Poisson
from metapool.models._glmm_fit import Design

__all__ = ["Prepared", "prepare", "wald_heterogeneity"]

Array = NDArray[np.float64]

_SINGLE = {"PLO": "binomial-normal", "IRLN": "Poisson-normal"}


@attrs.frozen(kw_only=True)
class Prepared:
    """A GLMM's data: the design, which studies inform it, the saturated fit."""

    design: Design | None
    informative: NDArray[np.bool_]
    saturated: float
    theta: Array  # saturated per-study effects (inf where the table has a zero margin cell)
    var: Array
    label: str


def _column(x: Array) -> Array:
    return np.asarray(x, dtype=np.float64)[:, None]


def prepare(effects: EffectSet, model: str, n_agq: int, X: Array | None = None) -> Prepared:
    """The design of ``model`` for an OR, IRR, PLO or IRLN effect set (not UM.RS).

    ``X`` (``(k, p)``, one row per study of ``effects``) holds the moderators of the
    effect (default: an intercept only); in two-arm models it multiplies the
    indicator of arm 1 (metafor's ``group1 * X``).
    """
    code = effects.measure.code
    arms = effects.arm_data()
    k = effects.k
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=np.float64)
    if code in _SINGLE:
        y = arms["events"]
        if code == "PLO":
            n = arms["n"]
            fam_b = Binomial(_column(y), _column(n))
            offset = np.zeros((k, 1))
            with np.errstate(divide="ignore"):
                theta = np.log(y) - np.log(n - y)
                var = 1.0 / y + 1.0 / (n - y)
            design = Design(
                family=fam_b,
                offset=offset,
                x=X[:, None, :],
                z=np.ones((k, 1)),
                nuisance=False,
                n_agq=n_agq,
            )
            sat = float(fam_b.saturated().sum())
        else:
            t = arms["time"]
            fam_p = Poisson(_column(y))
            with np.errstate(divide="ignore"):
                theta = np.log(y) - np.log(t)
                var = 1.0 / y
            design = Design(
                family=fam_p,
                offset=_column(np.log(t)),
                x=X[:, None, :],
                z=np.ones((k, 1)),
                nuisance=False,
                n_agq=n_agq,
            )
            sat = float(fam_p.saturated().sum())
        informative = np.ones(k, dtype=bool)
        return Prepared(
            design=design,
            informative=informative,
            saturated=sat,
            theta=theta,
            var=var,
            label=_SINGLE[code],
        )
    if code == "OR":
        counts = effects.counts
        assert counts is not None
        a, n1, c, n2 = (np.asarray(v, dtype=np.float64) for v in counts)
        b, d = n1 - a, n2 - c
        informative = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, n1, c, n2, b, d = (v[informative] for v in (a, n1, c, n2, b, d))
        ki = int(informative.sum())
        xi = X[informative]
        two_arm = np.stack([xi, np.zeros_like(xi)], axis=1)  # (ki, 2, p): arm 1 only
        with np.errstate(divide="ignore"):
            log_or = np.log(a) + np.log(d) - np.log(b) - np.log(c)
            var_w = 1 / a + 1 / b + 1 / c + 1 / d
        if model == "UM.FS":
            fam = Binomial(np.stack([a, c], -1), np.stack([n1, n2], -1))
            design = Design(
                family=fam,
                offset=np.zeros((ki, 2)),
                x=two_arm,
                z=np.tile([0.5, -0.5], (ki, 1)),
                nuisance=True,
                n_agq=n_agq,
            )
            sat = float(fam.saturated().sum())
            theta, var = log_or, var_w
        elif model == "CM.AL":
            fam_b = Binomial(_column(a), _column(a + c))
            design = Design(
                family=fam_b,
                offset=_column(np.log(n1 / n2)),
                x=xi[:, None, :],
                z=np.ones((ki, 1)),
                nuisance=False,
                n_agq=n_agq,
            )
            sat = float(fam_b.saturated().sum())
            with np.errstate(divide="ignore"):
                theta = np.log(a) - np.log(c) - np.log(n1 / n2)
                var = 1 / a + 1 / c
        else:  # CM.EL
            fam_h = NoncentralHypergeometric(_column(a), _column(n1), _column(c), _column(n2))
            design = Design(
                family=fam_h,
                offset=np.zeros((ki, 1)),
                x=xi[:, None, :],
                z=np.ones((ki, 1)),
                nuisance=False,
                n_agq=n_agq,
            )
            sat = float(fam_h.saturated().sum())
            theta, var = _conditional_mle(fam_h)
        return Prepared(
            design=design, informative=informative, saturated=sat, theta=theta, var=var, label=model
        )
    # IRR: events over person-time in both arms
    x1, t1, x2, t2 = (
        np.asarray(arms[n], dtype=np.float64) for n in ("events1", "time1", "events2", "time2")
    )
    informative = ~((x1 == 0) & (x2 == 0))
    x1, t1, x2, t2 = (v[informative] for v in (x1, t1, x2, t2))
    ki = int(informative.sum())
    xi = X[informative]
    with np.errstate(divide="ignore"):
        theta = np.log(x1) - np.log(x2) - np.log(t1 / t2)
        var = 1 / x1 + 1 / x2
    if model == "UM.FS":
        fam_p = Poisson(np.stack([x1, x2], -1))
        design = Design(
            family=fam_p,
            offset=np.log(np.stack([t1, t2], -1)),
            x=np.stack([xi, np.zeros_like(xi)], axis=1),
            z=np.tile([0.5, -0.5], (ki, 1)),
            nuisance=True,
            n_agq=n_agq,
        )
        sat = float(fam_p.saturated().sum())
        label = "UM.FS"
    else:  # conditional on the totals: binomial, exact (metafor: CM.AL is CM.EL for IRR)
        fam_b = Binomial(_column(x1), _column(x1 + x2))
        design = Design(
            family=fam_b,
            offset=_column(np.log(t1 / t2)),
            x=xi[:, None, :],
            z=np.ones((ki, 1)),
            nuisance=False,
            n_agq=n_agq,
        )
        sat = float(fam_b.saturated().sum())
        label = "CM.EL"
    return Prepared(
        design=design, informative=informative, saturated=sat, theta=theta, var=var, label=label
    )


def _conditional_mle(fam: NoncentralHypergeometric) -> tuple[Array, Array]:
    """Each table's conditional MLE of the log OR and its variance (inf at a support edge)."""
    y = fam.y[:, 0]
    lo, hi = fam.support[:, 0, 0], fam.support[:, 0, :].max(axis=-1)
    edge = (y == lo) | (y == hi)
    psi = np.zeros_like(fam.y)
    for _ in range(200):
        _, d1, d2 = fam.loglik(psi)
        step = np.where(edge[:, None], 0.0, np.clip(-d1 / np.where(d2 < 0, d2, -1.0), -5, 5))
        psi = psi + step
        if np.all(np.abs(step) < 1e-13 * (1 + np.abs(psi))):
            break
    var = -1.0 / fam.loglik(psi)[2][:, 0]
    theta = np.where(edge, np.where(y == lo, -np.inf, np.inf), psi[:, 0])
    return theta, np.where(edge, np.inf, var)


def wald_heterogeneity(theta: Array, var: Array, X: Array) -> float:
    """Metafor's ``QE.Wld``: the Wald test, in the saturated model (one effect per
    study), that the study effects lie on ``X β``. The saturated estimates are
    independent with variances ``var``, so the statistic is the weighted residual
    sum of squares of their regression on ``X`` (Wald tests are invariant to the
    parametrisation); studies whose estimate is infinite have weight 0 (the limit)."""
    finite = np.isfinite(theta) & np.isfinite(var) & (var > 0)
    Xf = X[finite]
    if not finite.any() or finite.sum() <= np.linalg.matrix_rank(Xf):
        return 0.0
    w = 1.0 / var[finite]
    y = theta[finite]
    sw = np.sqrt(w)
    beta = np.linalg.lstsq(Xf * sw[:, None], y * sw, rcond=None)[0]
    r = y - Xf @ beta
    return float(max(0.0, (w * r**2).sum()))
