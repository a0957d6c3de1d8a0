"""What every pooling model declares about itself.

Subgroup analyses, sensitivity analyses, small-study-effect methods and plots
ask a model what it is — how it weights studies, whether it estimates τ² and
with what, its CI method and level, which effect sets it accepts — instead of
testing its class. A third-party model that declares the same attributes works
with all of them; :func:`metapool.testing.check_model` checks the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from metapool.tau2 import Tau2Estimator

if TYPE_CHECKING:
    from metapool.effects._base import EffectSet
    from metapool.results import MetaResult

__all__ = ["WEIGHTINGS", "Model"]

#: How a model weights the studies: inverse variance (``1/(v + τ²)``), the
#: Mantel–Haenszel weights of the 2×2 tables, Peto's one-step weights, or the
#: likelihood of the counts themselves (GLMMs: no study weights).
WEIGHTINGS = ("inverse-variance", "mantel-haenszel", "peto", "likelihood")


@runtime_checkable
class Model(Protocol):
    """The protocol of a pooling model.

    Attributes
    ----------
    weighting : str
        One of :data:`WEIGHTINGS`. Inverse-variance models can be refitted to any
        effect set of ``yi``, ``vi`` (trim-and-fill's filled studies, influence
        diagnostics); the others need the 2×2 tables (``effects.counts``).
    random_effects : bool
        Whether the model estimates a between-study variance.
    tau2 : Tau2Estimator or None
        The τ² estimator of a random-effects model, None otherwise. A
        likelihood-weighted model (a GLMM) estimates τ² jointly with the effect by
        maximum likelihood and may declare None with ``random_effects`` true.
    ci : str
        The method of the confidence interval of the pooled effect (``"z"``,
        ``"hksj"``, ``"hksj-adhoc"``, ``"t"``).
    level : float
        The confidence level.

    Methods
    -------
    accepts(effects)
        Whether the model can pool this effect set (``fit`` raises
        :class:`~metapool.exceptions.MetapoolTypeError` otherwise).
    fit(effects)
        The pooled :class:`~metapool.MetaResult`.

    A model may also offer ``fit_each_left_out(effects)``, returning the fits
    with each study left out in turn as ``(result, degenerate)`` pairs, when it
    can compute them faster than ``k`` calls of ``fit`` (the inverse-variance
    models do it in one batched call of the engine); leave-one-out analyses and
    influence diagnostics use it when it is there.
    """

    @property
    def weighting(self) -> str: ...

    @property
    def random_effects(self) -> bool: ...

    @property
    def tau2(self) -> Tau2Estimator | None: ...

    @property
    def ci(self) -> str: ...

    @property
    def level(self) -> float: ...

    def accepts(self, effects: EffectSet) -> bool: ...

    def fit(self, effects: EffectSet) -> MetaResult: ...
