"""Elaboration for drawing: every block call with its arguments, and the partial graph of a
spec that fails.

The drawing needs two things the analyses do not: the argument values of each block call
(boxes are labelled `stage(basic, 128, 2, stride = 2)`), and, when elaboration stops at
a mistake, the nodes made up to that point and the inputs of the call that failed. This
subclass of the elaborator records both; the core stays unaware of drawing. Memoised
calls are switched off here (a replayed template would skip the nested calls' records).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from netdsl.errors import NetdslError, Span
from netdsl.graph import fill_graph, new_graph
from netdsl.language import syntax as ast
from netdsl.language.choices import Fixed
from netdsl.language.context import Context
from netdsl.language.decisions import DecisionSource
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


class _Recording(_Elaborator):
    """The elaborator, also keeping each block call's label and the failing call's inputs."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.labels: dict[str, str] = {}  # block path -> the call with its values
        self.failed_inputs: tuple[str, ...] | None = None
        self.failed_block: str | None = None
        self._branches: list[list[Tensor]] = []
        self._written: tuple[int, list[str]] = (0, [])  # the call being bound: how written

    def block_arguments(self, block: ast.BlockDef, args: Sequence[ast.Node],
                        kwargs: Sequence[ast.Keyword], env: Env) -> dict[str, tuple[Any, Span]]:
        given = super().block_arguments(block, args, kwargs, env)
        self._written = (len(args), [kw.name for kw in kwargs])  # bind_block_args is next
        return given

    def bind_block_args(self, block: ast.BlockDef, name_span: Span,
                        given: dict[str, tuple[Any, Span]], inner: Env, scope_path: str) -> None:
        super().bind_block_args(block, name_span, given, inner, scope_path)
        # the label shows what was written, with values: positional, then keywords
        positional, keywords = self._written
        shown = [show_value(inner.vars[p.name]) for p in block.params[:positional]]
        shown += [f"{name} = {show_value(inner.vars[name])}" for name in keywords]
        self.labels[scope_path] = f"{block.name}({', '.join(shown)})"

    def apply(self, target: Any, e: ast.Node, name: str, name_span: Span,
              args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
              cur: Tensor | None, hint: str | tuple[str, ...] | None) -> Any:
        try:
            return super().apply(target, e, name, name_span, args, kwargs, env, cur, hint)
        except NetdslError:
            self._note_failure([cur] if cur is not None else [])
            raise

    def call_layer(self, spec: Any, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
                   kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
                   hint: str | tuple[str, ...] | None, callee: Any = None) -> Any:
        self._branches.append([])
        try:
            return super().call_layer(spec, e, name_span, args, kwargs, env, cur, hint, callee)
        except NetdslError:
            branches = self._branches[-1]
            self._note_failure(branches if branches else [cur] if cur is not None else [])
            raise
        finally:
            self._branches.pop()

    def branches(self, args: Sequence[ast.Node], env: Env, cur: Tensor | None,
                 merge: str) -> tuple[list[Tensor], list[ast.Node]]:
        # a branch that fails leaves the ones before it recorded, for the picture
        if not self._branches:
            return super().branches(args, env, cur, merge)
        inputs: list[Tensor] = []
        sources: list[ast.Node] = []
        for a in args:
            got, where = super().branches([a], env, cur, merge)
            self._branches[-1].extend(got)
            inputs.extend(got)
            sources.extend(where)
        return inputs, sources

    def _note_failure(self, inputs: list[Tensor]) -> None:
        """Keep the innermost failing call's inputs (outer calls re-raise the same error)."""
        if self.failed_inputs is None:
            self.failed_inputs = tuple(t.node for t in inputs)
            self.failed_block = self.ctx.scope.path


def capture(program: Program, network: str | None = None,
            overrides: dict[str, Any] | None = None,
            input_shapes: dict[str, Shape] | None = None,
            decisions: DecisionSource | Mapping[str, Any] | None = None) -> Capture:
    """Elaborate for drawing; a mistake in the spec is kept in the capture, not raised.

    `decisions` answers search decisions as in `Spec.graph`. Errors that leave nothing to
    draw (no such network, a bad override) are raised."""
    definition = select_network(program, network)
    source = Fixed(decisions) if isinstance(decisions, Mapping) else decisions
    # memo off: a replayed template would skip its nested calls' labels
    ctx = Context(program, definition, input_shapes, source, memoize=False)
    recorder = _Recording(ctx)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 40 * MAX_CALL_DEPTH + 2000))
    try:
        graph = recorder.network(overrides or {})
        error = None
    except NetdslError as exc:
        if not ctx.nodes:
            raise
        graph, error = _partial(ctx), exc
    except RecursionError:
        raise NetdslError(f"network '{definition.name}' nests expressions too deeply to draw",
                          definition.span) from None
    finally:
        sys.setrecursionlimit(limit)
    return Capture(graph, dict(recorder.labels), dict(ctx.scope_spans), error,
                   recorder.failed_inputs or (), recorder.failed_block or "")


def _partial(ctx: Context) -> nx.MultiDiGraph:
    """The nodes made before the error, as a graph (no outputs)."""
    graph = new_graph()
    graph.graph.update(ctx.graph.graph)
    graph.graph["outputs"] = []
    return fill_graph(graph, ctx.nodes, ctx.edges)
