"""Parameters, buffers, MACs and other operations per node (per sample)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdsl.layers.base import Counts

if TYPE_CHECKING:
    import networkx as nx


def count(graph: nx.MultiDiGraph) -> dict[str, Counts]:
    """Counts of every node, by each layer kind's rules (computed once per layer record)."""
    return {node: layer.counts() for node, layer in graph.nodes(data="layer")}
