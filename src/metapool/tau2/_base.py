"""The τ² estimator protocol, its result, and the registry of estimators by name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool.exceptions import (
    InvalidParameterError,
    MetapoolTypeError,
)

__all__ = [
    "Tau2Estimator",
    "Tau2Fit",
    "available",
    "get",
    "register",
]

Array = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class Tau2Fit:
    """What a τ² estimator returns, for one analysis or a batch.

    Attributes
    ----------
    tau2 : ndarray
        Estimated between-study variance, shape ``yi.shape[:-1]`` (0-d for one analysis).
    converged : ndarray of bool
        Whether the estimate reached its tolerance (always True for closed forms).
    iterations : ndarray of int
        Iterations used (0 for closed forms and boundary solutions).
    method : str
        Name of the estimator.
    """

    tau2: Array = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    converged: NDArray[np.bool_] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    iterations: NDArray[np.int64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    method: str


@runtime_checkable
class Tau2Estimator(Protocol):
    """Protocol of a τ² estimator: anything with a ``name`` and an ``estimate`` method.

    ``estimate(yi, vi, X=None)`` receives effect sizes and sampling variances of
    shape ``(..., k)`` (study axis last; all ``vi > 0`` and finite, ``k`` greater
    than the number of coefficients) and an optional design matrix ``X`` of
    shape ``(k, p)``, and returns a :class:`Tau2Fit` whose arrays have shape
    ``yi.shape[:-1]``. The estimate must be finite and >= 0, invariant to the
    order of the studies and to adding a constant to ``yi``, scale as ``c²``
    when ``yi`` is multiplied by ``c`` and ``vi`` by ``c²``, and a batch must
    give the same answers as a loop. :func:`metapool.testing.check_tau2_estimator`
    checks all of this.

    Examples
    --------
    A custom estimator (here: τ² fixed at a value chosen in advance):

    >>> import numpy as np
    >>> import attrs
    >>> import metapool as mp
    >>> @attrs.frozen
    ... class Fixed:
    ...     value: float
    ...     name: str = "fixed"
    ...     def estimate(self, yi, vi, X=None):
    ...         shape = np.shape(yi)[:-1]
    ...         return mp.tau2.Tau2Fit(tau2=np.full(shape, self.value),
    ...                                converged=np.ones(shape, bool),
    ...                                iterations=np.zeros(shape, np.int64), method=self.name)
    >>> effects = mp.GenericEffect(yi=[0.1, 0.5], vi=[0.01, 0.02])
    >>> res = mp.RandomEffects(tau2=Fixed(0.05)).fit(effects)
    >>> res.tau2
    0.05
    """

    @property
    def name(self) -> str:
        """Short name shown in results (e.g. ``"REML"``)."""
        ...

    def estimate(self, yi: Array, vi: Array, X: Array | None = None) -> Tau2Fit:
        """Estimate τ² along the last axis."""
        ...


_REGISTRY: dict[str, type] = {}
_CANONICAL: dict[str, str] = {}


def register(*aliases: str):  # type: ignore[no-untyped-def]
    """Class decorator adding an estimator class to the registry under ``cls.name`` and aliases.

    Examples
    --------
    >>> import metapool as mp
    >>> "REML" in mp.tau2.available()
    True
    """

    def decorate(cls: type) -> type:
        name: str = cls.name  # type: ignore[attr-defined]
        for key in (name, *aliases):
            _REGISTRY[key.lower()] = cls
        _CANONICAL[name.lower()] = name
        return cls

    return decorate


def available() -> tuple[str, ...]:
    """Canonical names of the registered estimators."""
    return tuple(sorted(_CANONICAL.values()))


def get(
    estimator: str | Tau2Estimator, *, owner: str = "RandomEffects", parameter: str = "tau2"
) -> Tau2Estimator:
    """Coerce a name (case-insensitive) or an estimator object to an estimator object.

    ``owner`` and ``parameter`` name the class and the argument in error messages.

    Raises
    ------
    InvalidParameterError
        For an unknown name, listing the known ones.
    MetapoolTypeError
        For an object that does not implement :class:`Tau2Estimator`.
    """
    if isinstance(estimator, str):
        cls = _REGISTRY.get(estimator.lower())
        if cls is None:
            names = ", ".join(repr(n) for n in available())
            raise InvalidParameterError(
                f"The '{parameter}' parameter of {owner} must be one of {names} or a "
                f"Tau2Estimator. Got {estimator!r} instead."
            )
        instance: Tau2Estimator = cls()
        return instance
    if isinstance(estimator, type):
        raise MetapoolTypeError(
            f"The '{parameter}' parameter of {owner} must be an estimator object, not a class. "
            f"Got the class {estimator.__name__}; pass an instance instead: "
            f"{parameter}={estimator.__name__}()."
        )
    if not isinstance(estimator, Tau2Estimator):
        raise MetapoolTypeError(
            f"The '{parameter}' parameter of {owner} must be an estimator name or an object with a "
            f"'name' and an 'estimate(yi, vi, X=None)' method. Got {estimator!r} instead."
        )
    return estimator


def closed_form(tau2: Array, method: str) -> Tau2Fit:
    """Wrap a closed-form estimate (always converged, no iterations)."""
    # ``+ 0.0`` turns a -0.0 (e.g. max(0, -0.0)) into 0.0
    tau2 = np.asarray(tau2, dtype=np.float64) + 0.0
    return Tau2Fit(
        tau2=tau2,
        converged=np.ones(tau2.shape, dtype=bool),
        iterations=np.zeros(tau2.shape, dtype=np.int64),
        method=method,
    )
