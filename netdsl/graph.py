"""The graph IR: a networkx MultiDiGraph, one node per primitive layer.

Node attributes: `layer` (a resolved `Layer`), `span` (source location), `block`
(the block path, e.g. "stage1.basic0"), `inputs` (producer node names, in argument
order; also present as edges keyed by argument position). Graph attributes:
`network`, `source`, `inputs` (input name -> node), `outputs` (node names).
Nodes are inserted in a topological order, which every pass walks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from netdsl.errors import NetdslError

if TYPE_CHECKING:  # imported where a graph is made: a third of a `netdsl analyze` start-up
    import networkx as nx

#: Within `plain_graphs()`: elaboration makes `PlainGraph`s, not networkx graphs.
_PLAIN: ContextVar[bool] = ContextVar("netdsl_plain_graphs", default=False)


class PlainGraph:
    """An elaborated network as plain data, for a caller that never hands the graph on:
    `netdsl analyze` makes one (`plain_graphs`) so that it never imports networkx, a
    third of its start-up. `to_networkx()` makes the graph IR proper.

    It has what the analyses read of an IR graph, and alike: `graph` (the graph
    attributes) and `nodes` (node -> data, in insertion order: networkx's own node
    table); `edges` are the keyed edges. An elaboration gives its nodes as `columns`
    instead (names, layers, spans, block paths, inputs, in order: a replay's all but the
    layers the same lists on every replay), and the node table is made from them only
    when read; the analysis reads the columns.
    """

    __slots__ = ("graph", "_table", "edges", "columns", "_networkx")

    def __init__(self) -> None:
        self.graph: dict[str, Any] = {"network": "", "source": "", "inputs": {}, "outputs": []}
        self._table: dict[str, dict[str, Any]] | None = {}
        self.edges: list[tuple[str, str, int]] = []
        self.columns: Columns | None = None
        self._networkx: nx.MultiDiGraph | None = None

    def set_columns(self, columns: Columns) -> None:
        """The nodes, as columns (see the class); replaces any node table."""
        self.columns, self._table = columns, None

    @property
    def _node(self) -> dict[str, dict[str, Any]]:
        """Node -> data (networkx's name for its node table), made from the columns
        when first read."""
        table = self._table
        if table is None:
            assert self.columns is not None
            names, layers, spans, blocks, inputs = self.columns
            table = self._table = {
                name: {"layer": layer, "span": span, "block": block, "inputs": preds}
                for name, layer, span, block, preds in zip(names, layers, spans, blocks, inputs)}
            self.columns = None  # the table may be changed now: the columns would be stale
        return table

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        """Node -> data, in insertion (topological) order."""
        return self._node

    def to_networkx(self) -> nx.MultiDiGraph:
        """The same graph as elaboration makes outside `plain_graphs` (the same node data,
        attributes and edges); made once, so that all who read it (a search candidate and
        its report) share one graph, as they would without plain graphs."""
        if self._networkx is None:
            graph = _networkx_graph()
            graph.graph.update(self.graph)
            self._networkx = fill_graph(graph, list(self._node.items()), self.edges)
        return self._networkx


#: A graph's nodes as columns: names, layer records, spans, block paths, inputs.
Columns = tuple[list[str], list[Any], list[Any], list[str], list[tuple[str, ...]]]


def node_columns(graph: nx.MultiDiGraph | PlainGraph) -> Columns:
    """An elaborated graph's nodes as columns (names, layers, spans, block paths, inputs,
    in order): a plain graph's own, read as they are (its node table is made only when a
    user reads it), else made from the node table."""
    table = node_table(graph)
    if table is None:
        return graph.columns  # type: ignore[union-attr,return-value]
    datas = list(table.values())
    return (list(table), [d["layer"] for d in datas], [d["span"] for d in datas],
            [d["block"] for d in datas], [d["inputs"] for d in datas])


@contextmanager
def plain_graphs() -> Iterator[None]:
    """Within: `new_graph` makes a `PlainGraph` (and `fill_graph` fills it), so the
    graphs elaborated here are `PlainGraph`s and networkx is not imported."""
    token = _PLAIN.set(True)
    try:
        yield
    finally:
        _PLAIN.reset(token)


def node_table(graph: nx.MultiDiGraph | PlainGraph) -> dict[str, dict[str, Any]] | None:
    """An elaborated graph's node -> data mapping, in order; None for a plain graph that
    holds its nodes as columns (`node_columns`)."""
    if isinstance(graph, PlainGraph):
        return None if graph.columns is not None else graph._node
    table = getattr(graph, "_node", None)
    if not isinstance(table, dict):  # a networkx without its internals: the public view
        table = dict(graph.nodes(data=True))
    return table


def networkx_property(doc: str) -> property:
    """A dataclass's `graph` field read through a property: kept as given (a `PlainGraph`
    too) and read as networkx's, a plain graph made networkx's on first read (once per
    plain graph: a search candidate and its report share it)."""

    def get(owner: Any) -> nx.MultiDiGraph | None:
        graph = owner.__dict__["_graph"]
        if isinstance(graph, PlainGraph):
            graph = owner.__dict__["_graph"] = graph.to_networkx()
        return graph  # type: ignore[no-any-return]

    def put(owner: Any, graph: nx.MultiDiGraph | PlainGraph | None) -> None:
        owner.__dict__["_graph"] = graph

    return property(get, put, doc=doc)


def as_networkx(graph: nx.MultiDiGraph | PlainGraph) -> nx.MultiDiGraph:
    """The graph IR of an elaborated graph, plain or not."""
    return graph.to_networkx() if isinstance(graph, PlainGraph) else graph


def new_graph() -> nx.MultiDiGraph:
    """An empty IR graph (a `PlainGraph` within `plain_graphs()`)."""
    return PlainGraph() if _PLAIN.get() else _networkx_graph()  # type: ignore[return-value]


def _networkx_graph() -> nx.MultiDiGraph:
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.graph.update(network="", source="", inputs={}, outputs=[])
    return graph


def fill_graph(graph: nx.MultiDiGraph, nodes: list[tuple[str, dict[str, Any]]],
               edges: list[tuple[str, str, int]]) -> nx.MultiDiGraph:
    """Add nodes (in order) and keyed edges to an empty graph.

    Equivalent to `add_nodes_from` + `add_edges_from` (a test checks that), but writes
    networkx's adjacency dicts directly: through the public API this step was a third of
    the time of a whole ResNet-50 analysis, and architecture search does thousands.
    A `PlainGraph` takes them as they are.
    """
    if isinstance(graph, PlainGraph):
        graph._node.update(nodes)
        graph.edges.extend(edges)
        return graph  # type: ignore[return-value]
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
    import networkx as nx

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
    import networkx as nx

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
