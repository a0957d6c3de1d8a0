"""What a funnel plot shows: the studies, the pseudo-confidence region, contours, axes.

The content step of a funnel plot (content, then drawing): from a result it
decides the points, the lines and the axis range, and nothing about how they
look. A funnel plot is drawn on the analysis scale, where the region
``estimate ± z·SE`` has straight sides; a ratio's analysis scale is its log,
drawn as a log axis labelled with ratios. matplotlib is not imported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from metapool._validation import check_level
from metapool.exceptions import InvalidParameterError, MetapoolTypeError
from metapool.plotting._checks import check_limits, check_ticks, short_repr
from metapool.plotting._effect_axis import EffectAxis
from metapool.plotting._geometry import clip_segment, drawing_band
from metapool.plotting._ticks import MAX_LINEAR, MAX_LOG10, linear_ticks, log_ticks
from metapool.results import MetaResult

__all__ = ["FunnelContent", "funnel_content"]

Array = NDArray[np.float64]
_array_eq = attrs.cmp_using(eq=np.array_equal)


def _array(value: Any) -> Array:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


@attrs.frozen(kw_only=True)
class FunnelContent:
    """Everything a funnel plot shows, on the analysis scale (axis units).

    Attributes
    ----------
    axis : EffectAxis
        The measure's axis: logarithmic for ratios (then axis units are log
        ratios), linear otherwise.
    yi, se : ndarray
        The studies' effects and standard errors.
    filled_yi, filled_se : ndarray
        The studies imputed by trim and fill (empty without ``trimfill``);
        ``trimfill`` says whether there was one.
    centre : float
        The estimate the pseudo-confidence region is centred on (the adjusted
        one after trim and fill); ``observed`` is the observed estimate, drawn
        dotted, when it differs.
    z, se_max : float
        The region's half-width per unit of standard error, and the bottom of
        the y axis.
    pseudo_ci : bool
        Whether the region and the pooled estimate are drawn.
    levels : tuple of float
        Confidence levels of the significance contours around ``null`` (the
        null value on the analysis scale).
    limits, ticks
        The x axis on the natural scale; ``band`` is it in axis units and
        ``shapes`` the wider range shapes are cut to.
    xlabel, ylabel, title : str
        The axis labels and the title (``""`` for none).
    sunset : bool
        Whether the background shows the power of each study's test (a
        "sunset" funnel plot); then ``power_effect`` is the true effect assumed
        (axis units), ``power_alpha`` the two-sided significance level,
        ``power_levels`` the band edges and ``power_se`` the standard error at
        which the power equals each of them.
    """

    axis: EffectAxis
    yi: Array = attrs.field(converter=_array, eq=_array_eq)
    se: Array = attrs.field(converter=_array, eq=_array_eq)
    filled_yi: Array = attrs.field(converter=_array, eq=_array_eq)
    filled_se: Array = attrs.field(converter=_array, eq=_array_eq)
    trimfill: bool
    centre: float
    observed: float | None
    z: float
    se_max: float
    pseudo_ci: bool
    levels: tuple[float, ...]
    null: float | None
    limits: tuple[float, float]
    ticks: tuple[float, ...]
    band: tuple[float, float]
    shapes: tuple[float, float]
    xlabel: str
    ylabel: str
    title: str
    sunset: bool = False
    power_effect: float = math.nan
    power_alpha: float = 0.05
    power_levels: tuple[float, ...] = ()
    power_se: tuple[float, ...] = ()

    def power(self, se: Array) -> Array:
        """Power of a two-sided z test at ``power_alpha`` of a study with standard
        error ``se`` when the true effect is ``power_effect`` (its distance from the
        null)."""
        return study_power(se, abs(self.power_effect - (self.null or 0.0)), self.power_alpha)

    def median_power(self) -> float:
        """Median power of the studies (Kossmeier et al. 2020)."""
        return float(np.median(self.power(self.se)))

    def region(self) -> tuple[list[float], list[float]]:
        """The two sides of the pseudo-confidence region cut to the axis (axis units).

        Cut in axis units, the sides keep their slope; a side wholly beyond
        the axis is left out (NaN separates the two pieces).
        """
        centre, z, se_max = self.centre, self.z, self.se_max
        apex = (centre, 0.0)
        sides = [
            clip_segment(apex, (centre + sign * z * se_max, se_max), *self.shapes)
            for sign in (-1.0, 1.0)
        ]
        left, right = sides
        if left is not None and right is not None and left[0] == apex and right[0] == apex:
            points = [left[1], apex, right[1]]
            return [p[0] for p in points], [p[1] for p in points]
        xs: list[float] = []
        ys: list[float] = []
        for side in sides:
            if side is not None:
                xs += [side[0][0], side[1][0], math.nan]
                ys += [side[0][1], side[1][1], math.nan]
        return xs, ys


#: Power levels at which the sunset bands change colour.
POWER_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def study_power(se: Array, distance: float, alpha: float) -> Array:
    """Power of a two-sided z test at ``alpha`` for an effect ``distance`` from the null."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    nd = NormalDist()
    se = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore"):
        ratio = distance / se
    ncdf = np.vectorize(nd.cdf, otypes=[float])
    return np.asarray(ncdf(ratio - z) + ncdf(-ratio - z))


def power_se(level: float, distance: float, alpha: float) -> float:
    """The standard error at which the power equals ``level`` (inf if never above it)."""
    if distance <= 0 or level <= alpha:
        return math.inf
    # power(se) decreases from 1 (se -> 0) to alpha (se -> inf): bisect on log(se).
    lo, hi = math.log(distance) - 10.0, math.log(distance) + 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if float(study_power(np.array([math.exp(mid)]), distance, alpha)[0]) > level:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def check_levels(contours: Sequence[float] | float | None) -> list[float]:
    """The contour levels, sorted; an error names the parameter and the value."""
    if contours is None:
        return []
    if isinstance(contours, (int, float)):
        contours = [contours]
    try:
        levels = sorted(float(c) for c in contours)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "The 'contours' parameter of funnel_plot must be a sequence of confidence levels "
            f"in (0, 1), e.g. (0.90, 0.95, 0.99). Got {contours!r}."
        ) from exc
    if not levels or any(not 0 < c < 1 for c in levels) or len(set(levels)) != len(levels):
        raise InvalidParameterError(
            "The 'contours' parameter of funnel_plot must be distinct confidence levels in "
            f"(0, 1), e.g. (0.90, 0.95, 0.99). Got {contours!r}."
        )
    return levels


def _trimfill_parts(trimfill: Any) -> tuple[Array, Array, float | None]:
    filled = getattr(trimfill, "filled", None)
    if filled is None or not hasattr(filled, "yi") or not hasattr(filled, "vi"):
        raise MetapoolTypeError(
            "The 'trimfill' parameter of funnel_plot must be a trim-and-fill result with "
            "'.filled' (the imputed studies: yi, vi) and '.adjusted' (a MetaResult), as "
            f"returned by metapool.bias.trim_and_fill. Got {type(trimfill).__name__}."
        )
    yi = _array(filled.yi)
    vi = _array(filled.vi)
    adjusted = getattr(trimfill, "adjusted", None)
    estimate = getattr(adjusted, "estimate", None)
    return yi, vi, None if estimate is None else float(estimate)


def _labels(axis: EffectAxis) -> tuple[str, str]:
    """Default axis labels: the measure's title, and where the standard errors live."""
    scale = axis.measure.scale
    if scale.is_identity:
        return axis.title, "Standard error"
    if axis.is_log:
        return f"{axis.title} (log scale)", f"Standard error of log {axis.measure}"
    return f"{axis.title} ({scale.name} scale)", f"Standard error of {scale.name} {axis.measure}"


def funnel_content(
    result: MetaResult,
    *,
    contours: Sequence[float] | None = None,
    trimfill: Any = None,
    pseudo_ci: bool = True,
    level: float | None = None,
    xlim: Sequence[float] | None = None,
    xticks: Sequence[float] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    sunset: bool = False,
    sunset_effect: float | None = None,
    sunset_alpha: float = 0.05,
) -> FunnelContent:
    """What the funnel plot of ``result`` shows (parameters of :func:`~metapool.funnel_plot`)."""
    owner = "funnel_plot"
    if not isinstance(result, MetaResult):
        raise MetapoolTypeError(
            "The 'result' parameter of funnel_plot must be a MetaResult (the result of a "
            f"model's fit()). Got {type(result).__name__} ({short_repr(result)})."
        )
    axis = EffectAxis(result.measure)
    levels = check_levels(contours)
    null: float | None = None
    if axis.null is not None:
        null = float(result.measure.scale.forward(axis.null))
    if levels and null is None:
        raise InvalidParameterError(
            "The 'contours' parameter of funnel_plot needs a null value to draw contours "
            f"around, and the measure {result.measure.code!r} has none (its null is None). "
            f"Got {contours!r}."
        )
    if sunset and levels:
        raise InvalidParameterError(
            "The 'sunset' parameter of funnel_plot cannot be combined with 'contours' (both "
            f"shade the background). Got sunset=True and contours={contours!r}."
        )
    if sunset and null is None:
        raise InvalidParameterError(
            "The 'sunset' parameter of funnel_plot needs a null value to compute power "
            f"against, and the measure {result.measure.code!r} has none. Got sunset=True."
        )
    if (
        isinstance(sunset_alpha, bool)
        or not isinstance(sunset_alpha, (int, float))
        or not (0 < float(sunset_alpha) < 1)
    ):
        raise InvalidParameterError(
            "The 'sunset_alpha' parameter of funnel_plot must be in (0, 1). "
            f"Got {short_repr(sunset_alpha)}."
        )
    effect = math.nan
    if sunset:
        if sunset_effect is None:
            effect = float(result.estimate)
        else:
            if isinstance(sunset_effect, bool) or not isinstance(sunset_effect, (int, float)):
                raise InvalidParameterError(
                    "The 'sunset_effect' parameter of funnel_plot must be a number (the "
                    "true effect on the natural scale). Got "
                    f"{short_repr(sunset_effect)}."
                )
            effect = float(result.measure.scale.forward(float(sunset_effect)))
        if not math.isfinite(effect):
            raise InvalidParameterError(
                "The 'sunset_effect' parameter of funnel_plot must give a finite effect on "
                f"the analysis scale. Got {short_repr(sunset_effect)}."
            )
    limits = check_limits(owner, "xlim", xlim, axis)
    given_ticks = check_ticks(owner, "xticks", xticks, axis)
    z = NormalDist().inv_cdf(
        0.5 + (result.level if level is None else check_level(owner, level)) / 2
    )

    yi, se = _array(result.yi), np.sqrt(_array(result.vi))
    fy, fse = np.zeros(0), np.zeros(0)
    centre = float(result.estimate)
    if trimfill is not None:
        fy, fvi, adjusted = _trimfill_parts(trimfill)
        fse = np.sqrt(fvi)
        if adjusted is not None:
            centre = adjusted
    all_se = np.concatenate([se, fse])
    all_se = all_se[np.isfinite(all_se)]
    se_max = float(all_se.max()) * 1.08 if all_se.size and all_se.max() > 0 else 1.0
    has_centre = math.isfinite(centre)

    if limits is None:
        # Every study, the pseudo-confidence region at its widest and the null
        # with contours; never beyond 10**±300 (ratios) or ±1e300.
        bound = MAX_LOG10 * math.log(10.0) if axis.is_log else MAX_LINEAR
        xs = [yi, fy]
        if pseudo_ci and has_centre:
            xs.append(np.array([centre - z * se_max, centre + z * se_max]))
        if levels and null is not None:
            xs.append(np.array([null]))
        values = np.clip(np.concatenate(xs), -bound, bound)
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (-1.0, 1.0)
        pad = 0.04 * (high - low) if high > low else 0.5
        low, high = max(low - pad, -bound), min(high + pad, bound)
        limits = (axis.x_of_u(low), axis.x_of_u(high))
    band = (axis.u_of_x(limits[0]), axis.u_of_x(limits[1]))
    ticks = (
        given_ticks
        if given_ticks is not None
        else (log_ticks(*limits) if axis.is_log else linear_ticks(*limits))
    )
    default_x, default_y = _labels(axis)
    observed = float(result.estimate)
    return FunnelContent(
        axis=axis,
        yi=yi,
        se=se,
        filled_yi=fy,
        filled_se=fse,
        trimfill=trimfill is not None,
        centre=centre,
        observed=observed if centre != observed and math.isfinite(observed) else None,
        z=z,
        se_max=se_max,
        pseudo_ci=bool(pseudo_ci) and has_centre,
        levels=tuple(levels),
        null=null,
        limits=limits,
        ticks=tuple(ticks),
        band=band,
        shapes=drawing_band(band, axis.is_log),
        xlabel=default_x if xlabel is None else xlabel,
        ylabel=default_y if ylabel is None else ylabel,
        title=title or "",
        sunset=bool(sunset),
        power_effect=effect,
        power_alpha=float(sunset_alpha),
        power_levels=POWER_LEVELS if sunset else (),
        power_se=tuple(
            power_se(lv, abs(effect - (null or 0.0)), float(sunset_alpha)) for lv in POWER_LEVELS
        )
        if sunset
        else (),
    )
