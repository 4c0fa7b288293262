"""The graph IR: a networkx MultiDiGraph, one node per primitive layer.

Node attributes: `layer` (a resolved `Layer`), `span` (source location), `block`
(the block path, e.g. "stage1.basic0"), `inputs` (producer node names, in argument
order; also present as edges keyed by argument position). Graph attributes:
`network`, `source`, `inputs` (input name -> node), `outputs` (node names).
Nodes are inserted in a topological order, which every pass walks.
"""

from __future__ import annotations

import networkx as nx

from netdsl.errors import NetdslError


def new_graph() -> nx.MultiDiGraph:
    """An empty IR graph."""
    graph = nx.MultiDiGraph()
    graph.graph.update(network="", source="", inputs={}, outputs=[])
    return graph


def check(graph: nx.MultiDiGraph) -> None:
    """Structural invariants: acyclic, insertion order topological, edges match inputs."""
    position = {node: i for i, node in enumerate(graph.nodes)}
    for node, data in graph.nodes(data=True):
        preds = data["inputs"]
        if any(position[p] >= position[node] for p in preds):
            raise NetdslError(f"graph check: '{node}' precedes one of its inputs", data["span"])
        edges = sorted((k, u) for u, _, k in graph.in_edges(node, keys=True))
        if [u for _, u in edges] != list(preds):
            raise NetdslError(f"graph check: edges of '{node}' disagree with its inputs", data["span"])
    if not nx.is_directed_acyclic_graph(graph):
        raise NetdslError("graph check: the graph has a cycle")
    for out in graph.graph["outputs"]:
        if out not in graph:
            raise NetdslError(f"graph check: output '{out}' is not a node")


def format_ir(graph: nx.MultiDiGraph) -> str:
    """The graph one line per node, in a stable order (for --ir and golden tests)."""
    lines = [f"network {graph.graph['network']}  # {graph.graph['source']}"]
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        args = layer.describe()
        ins = ", ".join(data["inputs"])
        call = f"{layer.op}({args})" if args else layer.op
        src = f"({ins})" if ins else ""
        span = data["span"]
        lines.append(f"%{node} = {call}{src} : {list(layer.out_shape)}  "
                     f"@{span.line}:{span.column}")
    lines.append("return " + ", ".join(f"%{o}" for o in graph.graph["outputs"]))
    return "\n".join(lines)
