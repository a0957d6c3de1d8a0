"""Reading Cochrane and RevMan data: the Cochrane Library's "Data and analyses" CSV
export (:func:`read_cochrane_csv`) and RevMan 5 review files (:func:`read_rm5`).

Both return a :class:`Review` whose :class:`Analysis` objects turn into metapool
effect sets (:meth:`Analysis.effects`) and fits (:meth:`Analysis.fit`). See
:doc:`/howto/cochrane_data`.
"""

from metapool.io._analysis import DATA_TYPES, MEASURES_BY_TYPE, Analysis, AnalysisMethod, Review
from metapool.io._cochrane_csv import read_cochrane_csv
from metapool.io._rm5 import read_rm5

__all__ = [
    "DATA_TYPES",
    "MEASURES_BY_TYPE",
    "Analysis",
    "AnalysisMethod",
    "Review",
    "read_cochrane_csv",
    "read_rm5",
]
