"""Static analyses of the graph IR: pure functions, each returning one dict per node.

`report.analyze_graph` runs them all and assembles the typed `Report`.
"""

from netdsl.analysis.counts import Counts, count
from netdsl.analysis.memory import DTYPE_BYTES, MemoryPlan, plan_memory
from netdsl.analysis.receptive_field import receptive_fields
from netdsl.analysis.report import Report, analyze_graph

__all__ = ["DTYPE_BYTES", "Counts", "MemoryPlan", "Report", "analyze_graph", "count",
           "plan_memory", "receptive_fields"]
