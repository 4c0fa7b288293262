"""A network's outputs (heads) in the graph IR: names, training-only heads, what feeds what.

`graph.graph["outputs"]` is the ordered list of output nodes, `["output_names"]` the
parallel list of their names and `["output_training"]` the parallel list of flags (True:
the head runs only while training). Nodes that feed only training heads carry
`train_only = True`. Graphs made by other means (a test's, a sub-graph of the oracle's)
may lack the names or have stale ones: the readers here then fall back to the node names
and to "no training heads", so they never mislabel an output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

#: The name of the output of a network that declares no `output` statements.
DEFAULT_NAME = "output"


@dataclass(frozen=True, slots=True)
class Head:
    """One declared output: its name, its node, and whether it runs only while training."""

    name: str
    node: str
    training: bool = False


def set_outputs(graph: nx.MultiDiGraph, heads: Sequence[Head], named: bool) -> None:
    """Record the outputs of an elaborated graph and mark the training-only nodes.

    `named`: the spec declared its outputs with `output` statements (the report lists
    them; with several, the lowered module returns a dict)."""
    graph.graph["outputs"] = [h.node for h in heads]
    graph.graph["output_names"] = [h.name for h in heads]
    graph.graph["output_training"] = [h.training for h in heads]
    graph.graph["named_outputs"] = named


def mark_training_only(nodes: Sequence[tuple[str, dict]], heads: Sequence[Head]) -> set[str]:
    """Set `train_only` on the node data (in graph order) of every node that feeds no
    evaluation head; return their names. Inputs are never marked: they are given."""
    live = {h.node for h in heads if not h.training}
    for node, data in reversed(nodes):
        if node in live:
            live.update(data["inputs"])
    marked = set()
    for node, data in nodes:
        if node not in live and data["inputs"]:
            data["train_only"] = True
            marked.add(node)
    return marked


def heads(graph: nx.MultiDiGraph) -> list[Head]:
    """The graph's outputs as heads (names and flags when they are recorded consistently)."""
    outputs = list(graph.graph.get("outputs", ()))
    names = list(graph.graph.get("output_names", ()))
    flags = list(graph.graph.get("output_training", ()))
    if len(names) != len(outputs) or len(set(names)) != len(names):
        names = outputs if len(outputs) != 1 else [DEFAULT_NAME]
    if len(flags) != len(outputs):
        flags = [False] * len(outputs)
    return [Head(n, o, bool(f)) for n, o, f in zip(names, outputs, flags)]


def returns_dict(graph: nx.MultiDiGraph) -> bool:
    """Whether the lowered module returns a dict of outputs: the spec named several (a
    network left with one output, its other heads switched off with `none`, returns the
    tensor; a graph with several unnamed outputs, which only code makes, a tuple)."""
    outputs = graph.graph.get("outputs", ())
    names = graph.graph.get("output_names", ())
    return (bool(graph.graph.get("named_outputs")) and len(outputs) > 1
            and len(names) == len(outputs))


def training_only(graph: nx.MultiDiGraph) -> set[str]:
    """The nodes that only training heads need (computed from the outputs, not trusted
    from node data: a sub-graph may have other outputs)."""
    hs = heads(graph)
    if not any(h.training for h in hs):
        return set()
    live = {h.node for h in hs if not h.training}
    for node in reversed(list(graph.nodes)):
        if node in live:
            live.update(graph.nodes[node]["inputs"])
    return {n for n, data in graph.nodes(data=True) if n not in live and data["inputs"]}


def has_training_heads(graph: nx.MultiDiGraph) -> bool:
    """Whether some output runs only while training."""
    return any(h.training for h in heads(graph))


def eval_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The graph as evaluation runs it: without training-only heads and their layers (the
    graph itself when it has no training heads). A training head read by other layers
    stays as a node, but is no longer an output."""
    if not has_training_heads(graph):
        return graph
    import networkx as nx

    drop = training_only(graph)
    keep = [n for n in graph.nodes if n not in drop]
    sub = nx.MultiDiGraph(graph.subgraph(keep))
    sub.graph.update(graph.graph)
    kept = [h for h in heads(graph) if not h.training]
    sub.graph.update(outputs=[h.node for h in kept], output_names=[h.name for h in kept],
                     output_training=[False] * len(kept))
    for node in sub.nodes:
        sub.nodes[node].pop("train_only", None)
    return sub


def feeders(graph: nx.MultiDiGraph) -> dict[str, list[str]]:
    """For each head (by name), the non-input nodes it depends on, itself included, in
    graph order."""
    position = {n: i for i, n in enumerate(graph.nodes)}
    out: dict[str, list[str]] = {}
    for head in heads(graph):
        seen = {head.node}
        todo = [head.node]
        while todo:
            for p in graph.nodes[todo.pop()]["inputs"]:
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        out[head.name] = sorted((n for n in seen if graph.nodes[n]["inputs"]),
                                key=position.__getitem__)
    return out
