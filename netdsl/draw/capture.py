"""Elaboration for drawing: every block call with its arguments, and the partial graph of a
spec that fails.

The drawing needs two things the analyses do not: the argument values of each block call
(boxes are labelled `stage("basic", 128, 2, stride = 2)`), and, when elaboration stops at
a mistake, the nodes made up to that point and the inputs of the call that failed. This
subclass of the elaborator records both; the core stays unaware of drawing. Memoised
calls are switched off here (a template would skip the nested calls' records).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from netdsl.errors import NetdslError, Span
from netdsl.graph import fill_graph, new_graph
from netdsl.language import syntax as ast
from netdsl.language.elaborate import _Elaborator, select_network
from netdsl.language.loader import Program
from netdsl.language.values import MAX_CALL_DEPTH, Env, Tensor, show_value
from netdsl.layers.base import Shape


@dataclass
class Capture:
    """A graph to draw: whole, or as far as elaboration got before `error`."""

    graph: nx.MultiDiGraph
    #: block path -> the call as text with its argument values, e.g. `stage(64, 2)`
    calls: dict[str, str] = field(default_factory=dict)
    #: block path -> where the call is written
    call_spans: dict[str, Span] = field(default_factory=dict)
    error: NetdslError | None = None
    #: for a failed elaboration: the nodes the failing call was given (its branches)
    failed_inputs: tuple[str, ...] = ()
    #: the block path the failing call was made in
    failed_block: str = ""


class _NoMemo(dict):
    """A template cache that never keeps anything (so every call is interpreted)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _Recording(_Elaborator):
    """The elaborator, also keeping each block call's label and the failing call's inputs."""

    def __init__(self, program: Program) -> None:
        super().__init__(program)
        self.labels: list[str] = []  # one per block call, in the order of scope_spans
        self.failed_inputs: tuple[str, ...] | None = None
        self.failed_block: str | None = None
        self._branches: list[list[Tensor]] = []

    def bind_block_args(self, block: ast.BlockDef, name_span: Span, args: Sequence[ast.Node],
                        kwargs: Sequence[ast.Keyword], env: Env, inner: Env) -> None:
        super().bind_block_args(block, name_span, args, kwargs, env, inner)
        # call_block records the call's span right after binding, so the labels line up
        # with scope_spans; the label shows what was written: positional, then keywords
        shown = [show_value(inner.vars[p.name]) for p in block.params[:len(args)]]
        shown += [f"{kw.name} = {show_value(inner.vars[kw.name])}" for kw in kwargs]
        self.labels.append(f"{block.name}({', '.join(shown)})")

    def apply(self, name: str, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
              kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
              hint: str | None) -> Any:
        try:
            return super().apply(name, e, name_span, args, kwargs, env, cur, hint)
        except NetdslError:
            self._note_failure([cur] if cur is not None else [])
            raise

    def call_layer(self, spec: Any, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
                   kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
                   hint: str | None) -> Tensor:
        self._branches.append([])
        try:
            return super().call_layer(spec, e, name_span, args, kwargs, env, cur, hint)
        except NetdslError:
            branches = self._branches[-1]
            self._note_failure(branches if branches else [cur] if cur is not None else [])
            raise
        finally:
            self._branches.pop()

    def branch(self, e: ast.Node, env: Env, cur: Tensor | None, merge: str) -> Tensor:
        tensor = super().branch(e, env, cur, merge)
        if self._branches:
            self._branches[-1].append(tensor)
        return tensor

    def _note_failure(self, inputs: list[Tensor]) -> None:
        """Keep the innermost failing call's inputs (outer calls re-raise the same error)."""
        if self.failed_inputs is None:
            self.failed_inputs = tuple(t.node for t in inputs)
            self.failed_block = self.scope.path


def capture(program: Program, network: str | None = None,
            overrides: dict[str, Any] | None = None,
            input_shapes: dict[str, Shape] | None = None) -> Capture:
    """Elaborate for drawing; a mistake in the spec is kept in the capture, not raised.

    Errors that leave nothing to draw (no such network, a bad override) are raised."""
    definition = select_network(program, network)
    program = copy.copy(program)
    program.templates = _NoMemo()
    recorder = _Recording(program)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 40 * MAX_CALL_DEPTH + 2000))
    try:
        graph = recorder.network(definition, overrides or {}, input_shapes or {})
        error = None
    except NetdslError as exc:
        if not recorder.nodes:
            raise
        graph, error = _partial(recorder), exc
    except RecursionError:
        raise NetdslError(f"network '{definition.name}' nests expressions too deeply to draw",
                          definition.span) from None
    finally:
        sys.setrecursionlimit(limit)
    calls = dict(zip(recorder.scope_spans, recorder.labels))
    return Capture(graph, calls, dict(recorder.scope_spans), error,
                   recorder.failed_inputs or (), recorder.failed_block or "")


def _partial(recorder: _Recording) -> nx.MultiDiGraph:
    """The nodes made before the error, as a graph (no outputs)."""
    graph = new_graph()
    graph.graph.update(recorder.graph.graph)
    graph.graph["outputs"] = []
    return fill_graph(graph, recorder.nodes, recorder.edges)
