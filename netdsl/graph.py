"""The graph IR: a networkx MultiDiGraph, one node per primitive layer.

Node attributes: `layer` (a resolved `Layer`), `span` (source location), `block`
(the block path, e.g. "stage1.basic0"), `inputs` (producer node names, in argument
order; also present as edges keyed by argument position). Graph attributes:
`network`, `source`, `inputs` (input name -> node), `outputs` (node names).
Nodes are inserted in a topological order, which every pass walks.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from netdsl.errors import NetdslError


def new_graph() -> nx.MultiDiGraph:
    """An empty IR graph."""
    graph = nx.MultiDiGraph()
    graph.graph.update(network="", source="", inputs={}, outputs=[])
    return graph


def fill_graph(graph: nx.MultiDiGraph, nodes: list[tuple[str, dict[str, Any]]],
               edges: list[tuple[str, str, int]]) -> nx.MultiDiGraph:
    """Add nodes (in order) and keyed edges to an empty graph.

    Equivalent to `add_nodes_from` + `add_edges_from` (a test checks that), but writes
    networkx's adjacency dicts directly: through the public API this step was a third of
    the time of a whole ResNet-50 analysis, and architecture search does thousands.
    """
    if not (hasattr(graph, "_succ") and hasattr(graph, "_pred") and hasattr(graph, "_node")):
        graph.add_nodes_from(nodes)  # a networkx without these internals: the public API
        graph.add_edges_from(edges)
        return graph
    node_table, succ, pred = graph._node, graph._succ, graph._pred
    for name, data in nodes:
        node_table[name] = data
        succ[name] = {}
        pred[name] = {}
    for u, v, key in edges:
        keydict = succ[u].get(v)
        if keydict is None:
            keydict = succ[u][v] = pred[v][u] = {}
        keydict[key] = {}
    nx._clear_cache(graph)
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
    if graph.graph.get("named_outputs"):  # `output` statements: each output by name
        from netdsl.heads import heads

        lines.append("return " + ", ".join(f"{'training ' if h.training else ''}{h.name} = "
                                           f"%{h.node}" for h in heads(graph)))
    else:
        lines.append("return " + ", ".join(f"%{o}" for o in graph.graph["outputs"]))
    return "\n".join(lines)
