"""Elaboration for drawing: every block call with its arguments, and the partial graph of a
spec that fails.

The drawing needs two things the analyses do not: the argument values of each block call
(boxes are labelled `stage(basic, 128, 2, stride = 2)`), and, when elaboration stops at
a mistake, the nodes made up to that point and the inputs of the call that failed. The
elaborator records both when asked (`Context(record_calls=True)`, `CallRecord`) and
leaves its context readable after a mistake (`elaborate_context`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import networkx as nx

from netdsl.errors import NetdslError, Span
from netdsl.graph import fill_graph, new_graph
from netdsl.language.choices import Fixed
from netdsl.language.context import CallRecord, Context
from netdsl.language.decisions import DecisionSource
from netdsl.language.elaborate import deep_enough, elaborate_context, select_network
from netdsl.language.loader import Program
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
        ctx = Context(program, definition, input_shapes, source, record_calls=True)
        try:
            graph = elaborate_context(ctx, overrides)
            error = None
        except NetdslError as exc:
            if not ctx.rows:
                raise
            graph, error = _partial(ctx), exc
    calls = cast(CallRecord, ctx.calls)  # made by `record_calls`
    return Capture(graph, dict(calls.labels), dict(ctx.scope_spans), error,
                   calls.failed_inputs or (), calls.failed_block or "")


def _partial(ctx: Context) -> nx.MultiDiGraph:
    """The nodes made before the error, as a graph (no outputs)."""
    graph = new_graph()
    graph.graph.update(ctx.graph.graph)
    graph.graph["outputs"] = []
    return fill_graph(graph, ctx.node_list(), ctx.edges)
