"""Forest, funnel and diagnostic plots (matplotlib is imported when a plot is drawn).

Each plot is built in steps: its content from a result (what is shown), for a
forest plot its layout (sizes and places), and the drawing on a matplotlib
Axes; all plots share one :class:`PlotStyle`.

>>> import metapool.plotting
>>> sorted(metapool.plotting.__all__)
... # doctest: +NORMALIZE_WHITESPACE
['PlotStyle', 'RobTool', 'baujat_plot', 'bubble_plot', 'forest_plot', 'funnel_plot',
 'gosh_plot', 'influence_plot', 'labbe_plot', 'prisma_flow', 'radial_plot', 'rob_summary',
 'rob_traffic_light']
"""

from metapool.plotting._style import PlotStyle
from metapool.plotting.baujat import baujat_plot
from metapool.plotting.bubble import bubble_plot
from metapool.plotting.forest import forest_plot
from metapool.plotting.funnel import funnel_plot
from metapool.plotting.gosh import gosh_plot
from metapool.plotting.influence import influence_plot
from metapool.plotting.labbe import labbe_plot
from metapool.plotting.prisma import prisma_flow
from metapool.plotting.radial import radial_plot
from metapool.plotting.rob import RobTool, rob_summary, rob_traffic_light

__all__ = [
    "PlotStyle",
    "RobTool",
    "baujat_plot",
    "bubble_plot",
    "forest_plot",
    "funnel_plot",
    "gosh_plot",
    "influence_plot",
    "labbe_plot",
    "prisma_flow",
    "radial_plot",
    "rob_summary",
    "rob_traffic_light",
]
