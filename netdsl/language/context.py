"""The elaboration context: everything one elaboration of a network reads and builds.

One `Context` is made per elaboration, complete, before the first statement runs; the
evaluator (netdsl/language/evaluate.py and calls.py) carries it and keeps no state of
its own. What the program gives (its blocks, its name resolution, the memo of block
calls) is read from `program`; what the caller gives (the network, input shapes, the
decision source) is fixed here; the rest is what elaboration builds: the nodes and edges,
the scope of the current block call, the calls open now, and the decisions reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from netdsl.errors import Diagnostic, Span
from netdsl.graph import Columns, PlainGraph, fill_graph, new_graph
from netdsl.heads import Head
from netdsl.language import syntax as ast
from netdsl.language.decisions import Decision, DecisionSource, Defaults
from netdsl.language.loader import Program
from netdsl.language.memo import ROW_WIDTH
from netdsl.language.resolve import Names, names_of
from netdsl.language.values import CONSTANTS, Env, Scope
from netdsl.layers.base import Shape

if TYPE_CHECKING:
    import networkx as nx

    from netdsl.language.memo import Pending, Template
    from netdsl.language.values import Tensor


class Frame:
    """One active block call: for the notes of errors raised inside it."""

    __slots__ = ("block", "span")

    def __init__(self, block: str, span: Span) -> None:
        self.block, self.span = block, span


class CallObserver(Protocol):
    """Told of every block call of an elaboration, as it is made (`Context(observer=...)`):
    how search traces an elaboration (netdsl/search/trace.py) and how a picture learns
    its calls' labels and where a broken spec failed (netdsl/draw/capture.py). A call is
    opened before its arguments are evaluated, entered once they are (before its
    defaults are bound and its body runs), bound once its parameters are, and closed
    when it returns or fails; calls nest."""

    def call_opened(self, cur: Tensor | None) -> None:
        """A block call on `cur` starts (its arguments are not evaluated yet)."""

    def call_entered(self, block: ast.BlockDef, given: dict[str, tuple[Any, Span]],
                     scope_path: str) -> None:
        """The call's arguments are known (`given`: parameter -> (value, span), defaults
        not yet bound) and its nodes will be named under `scope_path`."""

    def call_bound(self, block: ast.BlockDef, positional: int, keywords: Sequence[ast.Keyword],
                   variables: dict[str, Any], scope_path: str) -> None:
        """The call's parameters are bound (`variables`); it was written with `positional`
        arguments, then `keywords`."""

    def call_closed(self, result: Any, failed: bool) -> None:
        """The innermost open call returned `result`, or failed (`result` is then None)."""

    def call_failed(self, inputs: tuple[str, ...], block_path: str) -> None:
        """A call (of a block, a layer or a name) failed on the nodes `inputs`, made in
        `block_path`; told innermost first, then for each call the error passes."""

    def may_replay(self, template: Template | Pending) -> bool:
        """Whether a memoised template may stand in for the call's body (a replayed call
        makes no nested calls)."""


class Context:
    """The state of one elaboration (see the module docstring)."""

    __slots__ = ("program", "names", "network", "input_shapes", "source", "memoize",
                 "graph", "rows", "edges", "frames", "deepest", "scope_spans", "scope",
                 "globals", "decided", "reached", "reads", "heads", "layer_defaults", "warnings", "warned",
                 "observer")

    def __init__(self, program: Program, network: ast.BlockDef,
                 input_shapes: dict[str, Shape] | None = None,
                 source: DecisionSource | None = None, memoize: bool = True,
                 observer: CallObserver | None = None) -> None:
        self.program = program
        self.names: Names = names_of(program)
        self.network = network
        self.input_shapes: dict[str, Shape] = dict(input_shapes or {})
        self.source: DecisionSource = source if source is not None else Defaults()
        # off: every block call interprets its body (for tests, and for a picture's labels:
        # a replayed template would skip its nested calls)
        self.memoize = memoize
        self.observer = observer  # told of every block call (see `CallObserver`)
        # what elaboration builds: nodes and edges are added to `graph` in bulk at the end
        self.decided: dict[str, tuple[Decision, Any]] = {}  # decision name -> (it, value)
        self.reached: list[tuple[Decision, Any]] = []  # in the order reached
        # every read of a decision, in order, a decision already decided too: what a
        # memoised call's body read (`memo.relative_reads`), also when an enclosing
        # call's replay had asked it before the call began
        self.reads: list[tuple[Decision, Any]] = []
        self.graph: nx.MultiDiGraph = new_graph()
        self.graph.graph.update(network=network.name, source=program.path,
                                decisions=self.reached)
        # the nodes, ROW_WIDTH items per node in one flat list (name, layer, span, block
        # path, inputs): immutable rows the memo keeps a slice of (a memoised call then
        # keeps no tuple per node alive for the garbage collector to rescan:
        # memo.Pending), and the graph's nodes as columns (`columns`) or, for networkx's
        # graph, as data dicts made at the end (`node_list`)
        self.rows: list[Any] = []
        self.edges: list[tuple[str, str, int]] = []
        self.frames: list[Frame] = []  # the block calls open now, outermost first
        self.deepest = 0  # deepest block nesting reached (for memoised calls' depth)
        self.scope_spans: dict[str, Span] = {}  # block path -> the call that opened it
        self.scope = Scope("")  # names the nodes of the current block call
        self.globals = Env(None, dict(CONSTANTS))
        # the network's `output` statements, in order (netdsl/heads.py)
        self.heads: list[tuple[ast.OutputDecl, Head]] = []
        # `defaults layer(key = value)` in effect: layer name -> keyword values; dynamic
        # (a block called from there sees them too), restored when the body ends
        self.layer_defaults: dict[str, dict[str, Any]] = {}
        self.warnings: list[Diagnostic] = []  # found while elaborating (the report's)
        self.warned: set[Span] = set()  # the places warned about (once each)

    def append_node(self, name: str, layer: Any, span: Span, block: str,
                    preds: tuple[str, ...]) -> None:
        """Add a node made by a layer call or a replayed template: its row and its edges
        (added to the graph in bulk at the end)."""
        self.rows.extend((name, layer, span, block, preds))
        if len(preds) == 1:  # most layers
            self.edges.append((preds[0], name, 0))
        else:
            self.edges.extend((p, name, position) for position, p in enumerate(preds))

    @property
    def node_count(self) -> int:
        """How many nodes were added."""
        return len(self.rows) // ROW_WIDTH

    def columns(self) -> Columns:
        """The nodes as columns: names, layers, spans, block paths, inputs (in order)."""
        rows = self.rows
        return rows[0::ROW_WIDTH], rows[1::ROW_WIDTH], rows[2::ROW_WIDTH], rows[3::ROW_WIDTH], rows[4::ROW_WIDTH]

    def node_list(self) -> list[tuple[str, dict[str, Any]]]:
        """The nodes as networkx adds them: (name, data) in order."""
        items = iter(self.rows)
        return [(name, {"layer": layer, "span": span, "block": block, "inputs": preds})
                for name, layer, span, block, preds in zip(*[items] * ROW_WIDTH)]

    def keep_nodes(self, keep: Callable[[str], bool]) -> None:
        """Drop the nodes whose name `keep` refuses, with the edges into them."""
        items = iter(self.rows)
        self.rows = [item for row in zip(*[items] * ROW_WIDTH) if keep(row[0]) for item in row]
        self.edges = [edge for edge in self.edges if keep(edge[1])]

    def filled_graph(self) -> nx.MultiDiGraph:
        """`graph` with the nodes and edges: a `PlainGraph` takes them as columns."""
        graph = self.graph
        if isinstance(graph, PlainGraph):
            graph.set_columns(self.columns())
            graph.edges.extend(self.edges)
            return graph  # type: ignore[return-value]
        return fill_graph(graph, self.node_list(), self.edges)


__all__ = ["CallObserver", "Context", "Frame"]
