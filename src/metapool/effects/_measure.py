"""What an effect measure is: its name, its analysis scale and how to go back.

A :class:`Measure` (``RR``, ``MD``, ...) holds a :class:`Scale`, the transform
between the natural scale of the measure (a risk ratio, a proportion, a
correlation) and the scale on which it is pooled (log RR, logit, Fisher's z).
Every consumer — back-transforms, summaries, forest and funnel axes, null lines,
"favours" labels — asks the measure, as scipy's transformed distributions ask
their transform: nothing tests a flag or a class.

Adding a measure is one :class:`Measure` value (and, for a new transform, one
:class:`Scale` subclass) in this module; see ``docs/architecture.rst``.

References
----------
.. [1] Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine
   transformation. Am Stat 32(4):138.
.. [2] Freeman MF, Tukey JW (1950). Transformations related to the angular and
   the square root. Ann Math Stat 21(4):607-611.
.. [3] Fisher RA (1921). On the "probable error" of a coefficient of correlation
   deduced from a small sample. Metron 1:3-32.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from metapool._serialize import jsonable
from metapool.exceptions import InvalidParameterError

__all__ = [
    "ARCSINE",
    "ARM_LAYOUTS",
    "FISHER_Z",
    "IDENTITY",
    "LOG",
    "LOGIT",
    "MEASURES",
    "SQRT",
    "Arcsine",
    "FisherZ",
    "FreemanTukey",
    "FreemanTukeyRate",
    "Identity",
    "Log",
    "Logit",
    "Measure",
    "Scale",
    "Sqrt",
    "generic_measure",
    "get_scale",
]

Array = NDArray[np.float64]


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


@attrs.frozen
class Scale:
    """The analysis scale of a measure: ``forward`` maps the natural scale to it,
    ``inverse`` maps pooled values back.

    Every built-in transform is increasing, so an interval on the analysis scale
    back-transforms endpoint by endpoint (:meth:`inverse_interval`).

    Attributes
    ----------
    name : str
        ``"identity"``, ``"log"``, ``"logit"``, ``"arcsine"``, ``"freeman-tukey"``,
        ``"fisher-z"``, ``"sqrt"`` or ``"freeman-tukey-rate"``.
    axis : {"linear", "log"}
        How a plot draws natural-scale values: ratios on a logarithmic axis, the
        rest on a linear one.
    """

    name: ClassVar[str] = "identity"
    axis: ClassVar[str] = "linear"

    @property
    def is_identity(self) -> bool:
        """Whether the analysis scale is the natural scale (no back-transform)."""
        return self.name == "identity"

    def forward(self, x: ArrayLike) -> Array:
        """Natural scale → analysis scale."""
        return _arr(x)

    def inverse(self, y: ArrayLike) -> Array:
        """Analysis scale → natural scale."""
        return _arr(y)

    def inverse_interval(self, low: ArrayLike, high: ArrayLike) -> tuple[Array, Array]:
        """Back-transform an interval (both bounds; the transforms are increasing)."""
        return self.inverse(low), self.inverse(high)

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class Identity(Scale):
    """No transform (mean differences, risk differences, raw proportions)."""

    name: ClassVar[str] = "identity"


@attrs.frozen
class Log(Scale):
    """Natural logarithm (ratios): ``y = log x``, ``x = exp y``."""

    name: ClassVar[str] = "log"
    axis: ClassVar[str] = "log"

    def forward(self, x: ArrayLike) -> Array:
        with np.errstate(divide="ignore"):
            return np.log(_arr(x))

    def inverse(self, y: ArrayLike) -> Array:
        with np.errstate(over="ignore"):
            return np.exp(_arr(y))


@attrs.frozen
class Logit(Scale):
    """Log odds of a proportion: ``y = log(p / (1 - p))``, ``p = 1 / (1 + exp(-y))``."""

    name: ClassVar[str] = "logit"

    def forward(self, x: ArrayLike) -> Array:
        p = _arr(x)
        with np.errstate(divide="ignore"):
            return np.log(p) - np.log1p(-p)

    def inverse(self, y: ArrayLike) -> Array:
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-_arr(y)))


@attrs.frozen
class Arcsine(Scale):
    """Arcsine square root of a proportion: ``y = asin(sqrt(p))``, ``p = sin(y)²``
    (with ``y`` clipped to ``[0, π/2]``)."""

    name: ClassVar[str] = "arcsine"

    def forward(self, x: ArrayLike) -> Array:
        return np.arcsin(np.sqrt(_arr(x)))

    def inverse(self, y: ArrayLike) -> Array:
        return np.sin(np.clip(_arr(y), 0.0, math.pi / 2)) ** 2


@attrs.frozen
class FreemanTukey(Scale):
    """Freeman–Tukey double arcsine of a proportion, inverted with the harmonic
    mean of the sample sizes (Miller 1978; metafor's ``transf.ipft.hm``).

    ``t = (asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1)))) / 2`` for ``x`` events out
    of ``n``; with ``u = sin(2t)`` the inverse is
    ``p = (1 - sign(cos 2t) sqrt(1 - (u + (u - 1/u)/n)²)) / 2``, taking 0 and 1 at
    the ends of the range. The single ``n`` of the inverse (the harmonic mean
    over studies) is what makes back-transformed pooled values unreliable when
    sample sizes differ much (Schwarzer et al. 2019).

    Parameters
    ----------
    n : float
        The sample size of the inverse (the harmonic mean of the studies').
    """

    n: float = attrs.field(converter=float)
    name: ClassVar[str] = "freeman-tukey"

    @n.validator
    def _positive(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise InvalidParameterError(
                f"The 'n' parameter of FreemanTukey must be a finite number > 0. Got {value!r}."
            )

    def forward(self, x: ArrayLike) -> Array:
        """Proportion ``x`` (``events / n`` with this scale's ``n``) → double arcsine."""
        events, m = _arr(x) * self.n, self.n + 1
        return 0.5 * (np.arcsin(np.sqrt(events / m)) + np.arcsin(np.sqrt((events + 1) / m)))

    def inverse(self, y: ArrayLike) -> Array:
        t = _arr(y)
        u = np.sin(2.0 * t)
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = 1.0 - (u + (u - 1.0 / u) / self.n) ** 2
            p = 0.5 * (1.0 - np.sign(np.cos(2.0 * t)) * np.sqrt(inner))
        low = 0.5 * np.arcsin(np.sqrt(1.0 / (self.n + 1)))  # t of x = 0
        high = 0.5 * (np.arcsin(np.sqrt(self.n / (self.n + 1))) + math.pi / 2)  # t of x = n
        p = np.where(t <= low, 0.0, np.where(t >= high, 1.0, p))
        return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)


@attrs.frozen
class Sqrt(Scale):
    """Square root (incidence rates, metafor's ``IRS``): ``y = sqrt(x)``,
    ``x = y²`` for ``y >= 0`` and 0 below (metafor's ``transf.isqrt``)."""

    name: ClassVar[str] = "sqrt"

    def forward(self, x: ArrayLike) -> Array:
        return np.sqrt(_arr(x))

    def inverse(self, y: ArrayLike) -> Array:
        t = _arr(y)
        return np.where(t < 0.0, 0.0, t * t)


@attrs.frozen
class FreemanTukeyRate(Scale):
    """Freeman–Tukey transform of an incidence rate, inverted with the harmonic
    mean of the person-times (metafor's ``transf.irft`` and ``transf.iirft``).

    For ``x`` events in person-time ``t`` (rate ``r = x/t``) the transform is
    ``y = (sqrt(r) + sqrt(r + 1/t)) / 2`` (Freeman & Tukey 1950); its inverse is
    ``r = (y - 1/(4 y t))² = (1/t - 8 y² + 16 t y⁴) / (16 y² t)`` for
    ``y >= 1/(2 sqrt(t))`` (the transform of ``r = 0``) and 0 below. This differs
    from the double arcsine of a proportion (:class:`FreemanTukey`): it has no
    upper bound and its parameter is a person-time, not a sample size.

    Parameters
    ----------
    time : float
        The person-time of the transform (the harmonic mean of the studies').
    """

    time: float = attrs.field(converter=float)
    name: ClassVar[str] = "freeman-tukey-rate"

    @time.validator
    def _positive(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise InvalidParameterError(
                "The 'time' parameter of FreemanTukeyRate must be a finite number > 0. "
                f"Got {value!r}."
            )

    def forward(self, x: ArrayLike) -> Array:
        """Rate ``x`` (events per unit of person-time) → Freeman–Tukey scale."""
        r = _arr(x)
        return 0.5 * (np.sqrt(r) + np.sqrt(r + 1.0 / self.time))

    def inverse(self, y: ArrayLike) -> Array:
        t = _arr(y)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = (t - 1.0 / (4.0 * t * self.time)) ** 2
        low = 0.5 / math.sqrt(self.time)  # the transform of r = 0
        return np.asarray(np.where(t <= low, 0.0, r), dtype=np.float64)


@attrs.frozen
class FisherZ(Scale):
    """Fisher's z of a correlation: ``z = atanh(r)``, ``r = tanh(z)``."""

    name: ClassVar[str] = "fisher-z"

    def forward(self, x: ArrayLike) -> Array:
        with np.errstate(divide="ignore"):
            return np.arctanh(_arr(x))

    def inverse(self, y: ArrayLike) -> Array:
        return np.tanh(_arr(y))


IDENTITY = Identity()
LOG = Log()
LOGIT = Logit()
ARCSINE = Arcsine()
FISHER_Z = FisherZ()
SQRT = Sqrt()

_SCALES: dict[str, Scale] = {s.name: s for s in (IDENTITY, LOG, LOGIT, ARCSINE, FISHER_Z, SQRT)}


def get_scale(scale: str | Scale, *, owner: str = "Measure") -> Scale:
    """A :class:`Scale` by name (``"identity"``, ``"log"``, ``"logit"``, ``"arcsine"``,
    ``"fisher-z"``, ``"sqrt"``) or the object itself. The Freeman–Tukey scales need
    their parameter: give ``FreemanTukey(n)`` or ``FreemanTukeyRate(time)``."""
    if isinstance(scale, Scale):
        return scale
    if isinstance(scale, str) and scale.lower() in _SCALES:
        return _SCALES[scale.lower()]
    names = ", ".join(repr(n) for n in _SCALES)
    raise InvalidParameterError(
        f"The 'scale' parameter of {owner} must be one of {names} or a Scale. Got {scale!r}."
    )


#: How the studies of a measure are laid out (what a forest plot shows per arm).
ARM_LAYOUTS = (
    "two-arm counts",
    "two-arm means",
    "one-arm counts",
    "correlation",
    "paired means",
    "generic",
)


@attrs.frozen(kw_only=True)
class Measure:
    """An effect measure: what it is called, its analysis scale and its null value.

    Attributes
    ----------
    code : str
        Short code, as metafor's ``measure`` (``"RR"``, ``"MD"``, ``"GEN"``, ...).
    name : str
        Name in words (``"risk ratio"``).
    title : str
        Axis and column title in plots (``"Risk Ratio"``).
    scale : Scale
        The analysis scale (``LOG`` for ratios, ``IDENTITY`` for differences).
    null : float or None
        The value of "no effect" on the natural scale (1 for ratios, 0 for
        differences), or None where there is none (a proportion, a correlation).
    arms : str
        The layout of the study data, one of ``ARM_LAYOUTS``.

    Examples
    --------
    >>> from metapool.effects._measure import MEASURES
    >>> rr = MEASURES["RR"]
    >>> str(rr), rr.scale.name, rr.null
    ('RR', 'log', 1.0)
    >>> round(float(rr.scale.inverse(-0.693)), 3)
    0.5
    """

    code: str
    name: str
    title: str
    scale: Scale = IDENTITY
    null: float | None = 0.0
    arms: str = "generic"

    @property
    def comparative(self) -> bool:
        """Whether the measure compares two groups (so plots show a null line and
        "favours" labels)."""
        return self.null is not None

    def back_transform(self, y: ArrayLike) -> Array:
        """Analysis-scale values on the natural scale."""
        return self.scale.inverse(y)

    def __str__(self) -> str:
        return self.code

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "scale": self.scale.name,
            "null": self.null,
            "arms": self.arms,
        }
        if isinstance(self.scale, FreemanTukey):
            out["scale_n"] = self.scale.n
        if isinstance(self.scale, FreemanTukeyRate):
            out["scale_time"] = self.scale.time
        return {name: jsonable(value) for name, value in out.items()}


#: The built-in measures by code.
MEASURES: dict[str, Measure] = {
    m.code: m
    for m in (
        Measure(code="MD", name="mean difference", title="Mean Difference", arms="two-arm means"),
        Measure(
            code="SMD",
            name="standardised mean difference (Hedges' g)",
            title="Std. Mean Difference",
            arms="two-arm means",
        ),
        Measure(
            code="RR",
            name="risk ratio",
            title="Risk Ratio",
            scale=LOG,
            null=1.0,
            arms="two-arm counts",
        ),
        Measure(
            code="OR",
            name="odds ratio",
            title="Odds Ratio",
            scale=LOG,
            null=1.0,
            arms="two-arm counts",
        ),
        Measure(code="RD", name="risk difference", title="Risk Difference", arms="two-arm counts"),
        Measure(code="IR", name="incidence rate", title="Rate", null=None, arms="one-arm counts"),
        Measure(
            code="IRLN",
            name="incidence rate (log)",
            title="Rate",
            scale=LOG,
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="IRS",
            name="incidence rate (square root)",
            title="Rate",
            scale=SQRT,
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="IRFT",
            name="incidence rate (Freeman-Tukey)",
            title="Rate",
            scale=FreemanTukeyRate(1.0),  # an effect set stores its own (harmonic-mean time)
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="IRR",
            name="incidence rate ratio",
            title="Rate Ratio",
            scale=LOG,
            null=1.0,
            arms="two-arm counts",
        ),
        Measure(
            code="IRD",
            name="incidence rate difference",
            title="Rate Difference",
            arms="two-arm counts",
        ),
        Measure(code="PR", name="proportion", title="Proportion", null=None, arms="one-arm counts"),
        Measure(
            code="PLN",
            name="proportion (log)",
            title="Proportion",
            scale=LOG,
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="PLO",
            name="proportion (logit)",
            title="Proportion",
            scale=LOGIT,
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="PAS",
            name="proportion (arcsine square root)",
            title="Proportion",
            scale=ARCSINE,
            null=None,
            arms="one-arm counts",
        ),
        Measure(
            code="PFT",
            name="proportion (Freeman-Tukey double arcsine)",
            title="Proportion",
            scale=FreemanTukey(1.0),  # an effect set stores its own (harmonic-mean n)
            null=None,
            arms="one-arm counts",
        ),
        Measure(code="COR", name="correlation", title="Correlation", null=None, arms="correlation"),
        Measure(
            code="UCOR",
            name="correlation (unbiased, Olkin-Pratt)",
            title="Correlation",
            null=None,
            arms="correlation",
        ),
        Measure(
            code="ZCOR",
            name="correlation (Fisher's z)",
            title="Correlation",
            scale=FISHER_Z,
            null=None,
            arms="correlation",
        ),
        Measure(
            code="ROM",
            name="ratio of means (log)",
            title="Ratio of Means",
            scale=LOG,
            null=1.0,
            arms="two-arm means",
        ),
        Measure(
            code="SMDH",
            name="standardised mean difference (heteroscedastic)",
            title="Std. Mean Difference",
            arms="two-arm means",
        ),
        Measure(code="MC", name="mean change", title="Mean Change", null=None, arms="paired means"),
        Measure(
            code="SMCC",
            name="standardised mean change (change-score SD)",
            title="Std. Mean Change",
            null=None,
            arms="paired means",
        ),
        Measure(
            code="SMCR",
            name="standardised mean change (raw-score SD)",
            title="Std. Mean Change",
            null=None,
            arms="paired means",
        ),
        Measure(code="GEN", name="generic effect", title="Effect"),
    )
}

#: Names of effect measures often given as generic inverse-variance input.
_GENERIC_NAMES = {
    "HR": ("hazard ratio", "Hazard Ratio"),
    "IRR": ("incidence rate ratio", "Rate Ratio"),
    "RoM": ("ratio of means", "Ratio of Means"),
    "ROM": ("ratio of means", "Ratio of Means"),
}


def generic_measure(code: str, scale: str | Scale = IDENTITY) -> Measure:
    """The measure of generic inverse-variance input named ``code`` on ``scale``.

    A built-in code on its own scale gives the built-in measure (so a
    ``GenericEffect(measure="RR", log_scale=True)`` is plotted and summarised as
    risk ratios); other codes get a name where one is known (``"HR"``: hazard
    ratio) and the code otherwise. Ratios (a log scale) have the null value 1,
    identity-scale effects 0, other scales none.
    """
    scale = get_scale(scale, owner="GenericEffect")
    known = MEASURES.get(code)
    if known is not None and known.scale == scale:
        return attrs.evolve(known, arms="generic")
    name, title = _GENERIC_NAMES.get(code, (None, None))
    if name is None:
        name = "generic effect" if code == "GEN" else code
        title = "Effect" if code == "GEN" else code
        if scale.axis == "log" and code.lower().startswith("log") and len(code) > 3:
            title = code[3:]  # "logHR" analysed on the log scale is drawn as "HR"
    null = 1.0 if scale.axis == "log" else (0.0 if scale.is_identity else None)
    return Measure(code=code, name=name, title=str(title), scale=scale, null=null, arms="generic")
