"""Forest and funnel plots (matplotlib is imported when a plot is drawn).

Each plot is built in steps: its content from a result (what is shown), for a
forest plot its layout (sizes and places), and the drawing on a matplotlib
Axes; all plots share one :class:`PlotStyle`.

>>> import metapool.plotting
>>> sorted(metapool.plotting.__all__)
['PlotStyle', 'forest_plot', 'funnel_plot']
"""

from metapool.plotting._style import PlotStyle
from metapool.plotting.forest import forest_plot
from metapool.plotting.funnel import funnel_plot

__all__ = ["PlotStyle", "forest_plot", "funnel_plot"]
