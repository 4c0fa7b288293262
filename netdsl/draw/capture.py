"""Elaboration for drawing: every block call with its arguments, and the partial graph of a
spec that fails.

The drawing needs two things the analyses do not: the argument values of each block call
(boxes are labelled `stage(basic, 128, 2, stride = 2)`), and, when elaboration stops at
a mistake, the nodes made up to that point and the inputs of the call that failed. The
elaborator tells both to its context's observer (`CallObserver`; here `CallLabels`) and
leaves its context readable after a mistake (`elaborate_context`).
"""

from __future__ import annotations

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
from netdsl.language.elaborate import deep_enough, elaborate_context, select_network
from netdsl.language.loader import Program
from netdsl.language.values import show_value
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


def capture(program: Program, network: str | None = None,
            overrides: dict[str, Any] | None = None,
            input_shapes: dict[str, Shape] | None = None,
            decisions: DecisionSource | Mapping[str, Any] | None = None) -> Capture:
    """Elaborate for drawing; a mistake in the spec is kept in the capture, not raised.

    `decisions` answers search decisions as in `Spec.graph`. Errors that leave nothing to
    draw (no such network, a bad override) are raised."""
    definition = select_network(program, network)
    source = Fixed(decisions) if isinstance(decisions, Mapping) else decisions
    with deep_enough(definition):
        calls = CallLabels()  # every call interpreted (not memoised), so every one is labelled
        ctx = Context(program, definition, input_shapes, source, memoize=False, observer=calls)
        try:
            graph = elaborate_context(ctx, overrides)
            error = None
        except NetdslError as exc:
            if not ctx.rows:
                raise
            graph, error = _partial(ctx), exc
    return Capture(graph, dict(calls.labels), dict(ctx.scope_spans), error,
                   calls.failed_inputs or (), calls.failed_block or "")


class CallLabels:
    """The observer a picture elaborates with (`CallObserver`): each block call as written,
    with its argument values (`stage(basic, 128, 2, stride = 2)`), by block path; and the
    inputs of the innermost call that failed, with the block path it was made in."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}
        self.failed_inputs: tuple[str, ...] | None = None
        self.failed_block: str | None = None

    def call_opened(self, cur: Any) -> None:
        """(Nothing to note.)"""

    def call_entered(self, block: ast.BlockDef, given: dict[str, tuple[Any, Span]],
                     scope_path: str) -> None:
        """(Nothing to note: the label shows the bound values.)"""

    def call_bound(self, block: ast.BlockDef, positional: int, keywords: Sequence[ast.Keyword],
                   variables: dict[str, Any], scope_path: str) -> None:
        """Label the call: positional values, then keywords (as written)."""
        shown = [show_value(variables[p.name]) for p in block.params[:positional]]
        shown += [f"{kw.name} = {show_value(variables[kw.name])}" for kw in keywords]
        self.labels[scope_path] = f"{block.name}({', '.join(shown)})"

    def call_closed(self, result: Any, failed: bool) -> None:
        """(Nothing to note.)"""

    def call_failed(self, inputs: tuple[str, ...], block_path: str) -> None:
        """Keep the innermost failing call's inputs (told first)."""
        if self.failed_inputs is None:
            self.failed_inputs, self.failed_block = inputs, block_path

    def may_replay(self, template: Any) -> bool:
        """Never: a replayed call would label none of its nested calls."""
        return False


def _partial(ctx: Context) -> nx.MultiDiGraph:
    """The nodes made before the error, as a graph (no outputs)."""
    graph = new_graph()
    graph.graph.update(ctx.graph.graph)
    graph.graph["outputs"] = []
    return fill_graph(graph, ctx.node_list(), ctx.edges)
