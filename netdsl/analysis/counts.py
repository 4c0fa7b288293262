"""Parameters, buffers, MACs and other operations per node (per sample)."""

from __future__ import annotations

import networkx as nx

from netdsl.layers.base import Counts


def count(graph: nx.MultiDiGraph) -> dict[str, Counts]:
    """Counts of every node, by each layer kind's rules (computed once per layer record)."""
    return {node: layer.counts() for node, layer in graph.nodes(data="layer")}
