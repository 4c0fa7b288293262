"""The report: every analysis of one graph, as typed rows and totals.

Compute counts (MACs, FLOPs, other ops) and memory are for the whole batch; params
and buffers do not depend on it. Shapes exclude the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx

from netdsl.analysis.counts import count
from netdsl.analysis.memory import plan_memory
from netdsl.analysis.receptive_field import receptive_fields
from netdsl.errors import Diagnostic, Span
from netdsl.layers.base import Field


def rf_dict(field: Field) -> dict[str, Any]:
    """A receptive field as the JSON report's `rf` object (fractions become floats)."""
    return {"size": _plain(field.size), "stride": _plain(field.stride),
            "padding": _plain(field.padding), "global": field.is_global, "exact": field.exact}


@dataclass(slots=True)
class LayerRow:
    """One node of the graph with everything the analyses say about it."""

    name: str
    op: str
    block: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    flops: int
    other_ops: int
    activation_bytes: int
    saved_for_backward_bytes: int
    rf: Field
    source: Span
    #: The layer feeds only training-only heads (skipped at inference).
    train_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """As one entry of the JSON report's `layers`."""
        out = {k: getattr(self, k) for k in ("name", "op", "block", "params", "buffers", "macs",
                                             "flops", "other_ops", "activation_bytes",
                                             "saved_for_backward_bytes")}
        out.update(inputs=list(self.inputs), shape=list(self.shape), rf=rf_dict(self.rf),
                   source=self.source.to_dict())
        if self.train_only:
            out["train_only"] = True
        return out


@dataclass(frozen=True, slots=True)
class HeadRow:
    """One declared output: its node and shape, the layers that feed it (itself included,
    in graph order) and those that feed it alone, with their params and MACs."""

    name: str
    node: str
    shape: tuple[int, ...]
    training: bool
    nodes: tuple[str, ...]
    own_nodes: tuple[str, ...]
    own_params: int
    own_macs: int

    def to_dict(self) -> dict[str, Any]:
        """As one entry of the JSON report's `heads`."""
        return {"name": self.name, "node": self.node, "shape": list(self.shape),
                "training": self.training, "nodes": list(self.nodes),
                "own_nodes": list(self.own_nodes), "own_params": self.own_params,
                "own_macs": self.own_macs}


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-network figures (bytes for the report's batch and dtype)."""

    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    other_ops: int
    param_bytes: int
    activation_bytes: int
    inference_peak_bytes: int
    saved_for_backward_bytes: int
    training_peak_bytes: int


@dataclass
class Report:
    """What `netdsl analyze` prints: per-layer rows, totals and warnings."""

    network: str
    source: str
    batch: int
    dtype: str
    optimizer: str
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    totals: Totals
    layers: list[LayerRow]
    warnings: list[Diagnostic] = field(default_factory=list)
    #: The declared outputs (only for a spec with `output` statements).
    heads: list[HeadRow] = field(default_factory=list)
    #: The totals without training-only heads and their layers (what inference runs);
    #: None when there are none.
    inference_totals: Totals | None = None

    def layer(self, name: str) -> LayerRow:
        """The row of the node called `name`."""
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML form (keys as documented in the README)."""
        return {
            "network": self.network, "source": self.source, "batch": self.batch,
            "dtype": self.dtype, "optimizer": self.optimizer,
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "outputs": {k: list(v) for k, v in self.outputs.items()},
            "totals": asdict(self.totals),
            "layers": [row.to_dict() for row in self.layers],
            "warnings": [{"message": w.message, "source": w.span.to_dict() if w.span else None}
                         for w in self.warnings],
        } | self._heads_dict()

    def _heads_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.heads:
            out["heads"] = [h.to_dict() for h in self.heads]
        if self.inference_totals is not None:
            out["inference_totals"] = asdict(self.inference_totals)
        return out

    def rollup(self, depth: int) -> list[BlockRow]:
        """Rows grouped by the first `depth` parts of their name, in order of appearance."""
        from netdsl.analysis.rollup import rollup

        return rollup(self.layers, depth)

    def __rich__(self) -> Any:
        from netdsl.report.table import render_report

        return render_report(self)

    def _repr_html_(self) -> str:
        from netdsl.report.table import report_html

        return report_html(self)


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A roll-up of the layers under one block path prefix."""

    name: str
    layers: int
    shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int
    saved_for_backward_bytes: int
    rf: Field


def analyze_graph(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                  optimizer: str = "sgd") -> Report:
    """Run every analysis on an elaborated graph (with its heads, when it names them)."""
    report = _analyze(graph, batch, dtype, optimizer)
    if graph.graph.get("named_outputs"):
        add_heads(report, graph)
    return report


def add_heads(report: Report, graph: nx.MultiDiGraph) -> None:
    """The report's heads, training-only marks and the totals of inference alone."""
    from netdsl.heads import eval_graph, feeders, heads, training_only

    rows = {row.name: row for row in report.layers}
    dropped = training_only(graph)
    for name in dropped:
        rows[name].train_only = True
    fed = feeders(graph)
    users: dict[str, int] = {}
    for nodes in fed.values():
        for n in nodes:
            users[n] = users.get(n, 0) + 1
    for head in heads(graph):
        own = tuple(n for n in fed[head.name] if users[n] == 1)
        report.heads.append(HeadRow(head.name, head.node, rows[head.node].shape, head.training,
                                    tuple(fed[head.name]), own,
                                    sum(rows[n].params for n in own),
                                    sum(rows[n].macs for n in own)))
    if dropped:
        report.inference_totals = _analyze(eval_graph(graph), report.batch, report.dtype,
                                           report.optimizer).totals


def _analyze(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str) -> Report:
    counts = count(graph)
    params = sum(c.params for c in counts.values())
    memory = plan_memory(graph, batch, dtype, optimizer, params)
    fields, warnings = receptive_fields(graph)
    warnings = [*graph.graph.get("warnings", ()), *warnings]  # the elaborator's first
    activation, saved = memory.activation_bytes, memory.saved_bytes
    rows = []
    for node, data in graph.nodes(data=True):
        c, layer = counts[node], data["layer"]
        rows.append(LayerRow(node, layer.op, data["block"], data["inputs"], layer.out_shape,
                             c.params, c.buffers, c.macs * batch, 2 * c.macs * batch,
                             c.other_ops * batch, activation[node], saved[node], fields[node],
                             data["span"]))
    macs = sum(r.macs for r in rows)
    totals = Totals(params, params, sum(c.buffers for c in counts.values()), macs, 2 * macs,
                    sum(r.other_ops for r in rows), memory.param_bytes,
                    sum(activation.values()), memory.inference_peak_bytes,
                    memory.saved_for_backward_bytes, memory.training_peak_bytes)
    nodes = graph.nodes
    return Report(graph.graph["network"], graph.graph["source"], batch, dtype, optimizer,
                  {k: nodes[v]["layer"].out_shape for k, v in graph.graph["inputs"].items()},
                  {o: nodes[o]["layer"].out_shape for o in graph.graph["outputs"]}, totals,
                  rows, warnings)


def _plain(values: tuple) -> list[int | float]:
    return [float(v) if isinstance(v, Fraction) else v for v in values]
