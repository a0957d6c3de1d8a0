"""Forest and funnel plots (matplotlib is imported when a plot is drawn).

>>> import metapool.plotting
>>> sorted(metapool.plotting.__all__)
['forest_plot', 'funnel_plot']
"""

from metapool.plotting._forest import forest_plot
from metapool.plotting._funnel import funnel_plot

__all__ = ["forest_plot", "funnel_plot"]
