"""The effect axis of a plot, as the measure describes it.

Plots never test a flag or a class to decide how to draw an effect: they ask
the result's :class:`~metapool.effects.Measure`. Its scale says whether the
axis is logarithmic (``scale.axis``) and how to go back to the natural scale
(``scale.inverse``); its ``null`` says where the line of no effect is, or
that there is none (a proportion, a correlation: no null line and no
"favours" labels); its ``title`` names the axis. :class:`EffectAxis` puts
those answers in one place. matplotlib is not imported here.

Positions are handled in *axis units*: the natural value on a linear axis, its
natural logarithm on a logarithmic one. Straight lines in axis units are
straight on the drawn axis, so shapes are cut there; a log ratio is its own
axis unit, so that ratios far beyond the range of floats (``exp(800)``) are
placed and written exactly.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from metapool.effects._measure import Measure
from metapool.plotting._numbers import MAX_EXP, fmt_exp, fmt_num

__all__ = ["EffectAxis"]


@attrs.frozen
class EffectAxis:
    """How a measure's effects are placed on, and written beside, a plot's axis.

    Parameters
    ----------
    measure : Measure
        The measure of the result being plotted.

    Examples
    --------
    >>> from metapool.effects._measure import MEASURES
    >>> rr = EffectAxis(MEASURES["RR"])
    >>> rr.kind, rr.null, rr.has_null, rr.text(math.log(2.0), 2)
    ('log', 1.0, True, '2.00')
    >>> md = EffectAxis(MEASURES["MD"])
    >>> md.kind, md.null, md.x(-1.5)
    ('linear', 0.0, -1.5)
    """

    measure: Measure

    @property
    def kind(self) -> str:
        """``"log"`` or ``"linear"``: how the axis draws natural-scale values."""
        return str(self.measure.scale.axis)

    @property
    def is_log(self) -> bool:
        """Whether the axis is logarithmic (ratios)."""
        return self.kind == "log"

    @property
    def null(self) -> float | None:
        """The value of no effect on the natural scale, or None (no null line)."""
        null = self.measure.null
        return None if null is None else float(null)

    @property
    def has_null(self) -> bool:
        """Whether plots draw a line of no effect and "favours" labels."""
        return bool(self.measure.comparative) and self.null is not None

    @property
    def title(self) -> str:
        """The measure's title, e.g. ``"Risk Ratio"``."""
        return self.measure.title

    # --------------------------------------------------------------- positions
    def u(self, y: float) -> float:
        """An analysis-scale value in axis units (see the module's docstring)."""
        scale = self.measure.scale
        if self.is_log:
            if scale.name == "log":  # a log ratio is its own axis unit, however large
                return float(y)
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(np.log(scale.inverse(y)))
        return float(scale.inverse(y))

    def u_of_x(self, x: float) -> float:
        """A natural-scale value (an axis limit) in axis units."""
        return math.log(x) if self.is_log else float(x)

    def x_of_u(self, u: float) -> float:
        """Axis units back to the natural scale, finite also for huge log ratios."""
        if self.is_log:
            return math.exp(min(max(u, -MAX_EXP), MAX_EXP))
        return float(u)

    def x_of_u_array(self, u: ArrayLike) -> NDArray[np.float64]:
        """:meth:`x_of_u` of every element (NaN stays NaN)."""
        values = np.asarray(u, dtype=np.float64)
        if self.is_log:
            return np.exp(np.clip(values, -MAX_EXP, MAX_EXP))
        return values

    def x(self, y: float) -> float:
        """An analysis-scale value at its place on the axis (natural scale)."""
        return self.x_of_u(self.u(y))

    # ------------------------------------------------------------------- texts
    def text(self, y: float, decimals: int) -> str:
        """An analysis-scale value as the table writes it, on the natural scale.

        Ratios are written from their logarithm, so that ``exp(800)`` reads
        ``2.73e+347`` and a ratio never reads ``0.00``.
        """
        if self.is_log:
            return fmt_exp(self.u(y), decimals)
        return fmt_num(self.u(y), decimals)
