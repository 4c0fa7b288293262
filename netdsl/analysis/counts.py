"""Parameters, buffers, MACs and other operations per node (per sample)."""

from __future__ import annotations

from typing import NamedTuple

import networkx as nx


class Counts(NamedTuple):
    """What one node costs: elements of parameters and buffers; MACs and other ops per sample."""

    params: int
    buffers: int
    macs: int
    other_ops: int


def count(graph: nx.MultiDiGraph) -> dict[str, Counts]:
    """Counts of every node, by each layer kind's rules."""
    return {node: Counts(*layer.counts()[:4]) for node, layer in graph.nodes(data="layer")}
