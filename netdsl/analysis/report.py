"""The report: every analysis of one graph, as typed rows and totals.

Compute counts (MACs, FLOPs, other ops) and memory are for the whole batch; params
and buffers do not depend on it. Shapes exclude the batch.

The report is data; `netdsl.report` renders it (a table, JSON, YAML, CSV) and imports
nothing of `netdsl.analysis` at run time, so the rendering methods below call it
without an import cycle.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from netdsl.analysis.counts import count
from netdsl.analysis.memory import dtype_size, plan_memory
from netdsl.analysis.onepass import PendingRows, analyze_nodes
from netdsl.analysis.receptive_field import receptive_fields
from netdsl.analysis.rollup import rollup
from netdsl.analysis.rows import BlockRow, HeadRow, LayerRow, Totals, rf_dict
from netdsl.errors import Diagnostic, UnknownLayerError, UsageError
from netdsl.graph import PlainGraph, as_networkx, networkx_property
from netdsl.report import table

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["BlockRow", "HeadRow", "LayerRow", "Report", "Totals", "analyze_graph",
           "analyze_reference", "rf_dict"]

#: Largest batch size an analysis takes (a documented limit).
MAX_BATCH = 2**31 - 1


@dataclass(repr=False)
class Report:
    """What `netdsl analyze` prints: per-layer rows, totals and warnings.

    `print(report)` prints the table (`report.table()` takes a depth and a width);
    `to_dict`, `to_json`, `to_yaml`, `to_csv` and `to_dataframe` export it.
    """

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
    #: the analysed graph (for `draw`); not part of the report's data. A `PlainGraph`
    #: given here is read back as the networkx graph, made on first read.
    graph: nx.MultiDiGraph | None = field(default=None, repr=False, compare=False)
    #: The declared outputs (only for a spec with `output` statements).
    heads: list[HeadRow] = field(default_factory=list)
    #: The totals without the training-only heads (what inference runs); None when the
    #: network has none.
    inference_totals: Totals | None = None

    @property
    def layer_count(self) -> int:
        """How many layer rows the report has (without making them, see `PendingRows`)."""
        return len(self.__dict__["_layers"])

    def layer(self, name: str) -> LayerRow:
        """The row of the node called `name`; `UnknownLayerError` (a `KeyError`) naming the
        closest names otherwise."""
        pending = self.__dict__["_layers"]
        if type(pending) is PendingRows:
            found = pending.row(name)
            if found is not None:
                return found
        for row in self.layers:
            if row.name == name:
                return row
        names = [row.name for row in self.layers]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        if not close:  # a bare leaf name: the layers whose last part it is
            close = [n for n in names if n.rsplit(".", 1)[-1] == name][:3]
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"; it has {len(names)} layers, from {names[0]!r} to {names[-1]!r}"
        raise UnknownLayerError(f"network '{self.network}' has no layer {name!r}{hint}")

    def rollup(self, depth: int) -> list[BlockRow]:
        """Rows grouped by the first `depth` parts of their name, in order of appearance."""
        return rollup(self.layers, depth)

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The JSON/YAML form (keys as documented in the README); with `depth`, the rows
        rolled up to that depth as `blocks` in place of `layers`."""
        out: dict[str, Any] = {
            "network": self.network, "source": self.source, "batch": self.batch,
            "dtype": self.dtype, "optimizer": self.optimizer,
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "outputs": {k: list(v) for k, v in self.outputs.items()},
            "totals": asdict(self.totals),
        }
        if depth is None:
            out["layers"] = [row.to_dict() for row in self.layers]
        else:
            out["depth"] = depth
            out["blocks"] = [row.to_dict() for row in self.rollup(depth)]
        out["warnings"] = [{"message": w.message, "source": w.span.to_dict() if w.span else None}
                           for w in self.warnings]
        if self.heads:  # a spec with `output` statements
            out["heads"] = [h.to_dict() for h in self.heads]
        if self.inference_totals is not None:
            out["inference_totals"] = asdict(self.inference_totals)
        return out

    def table(self, depth: int | None = None, width: int | None = None) -> str:
        """The human table as plain text: every column, unless `width` asks to fit (see
        `netdsl.report.table`)."""
        return table.plain_report(self, depth, width)

    def to_json(self, depth: int | None = None) -> str:
        """The report as JSON (`to_dict`, indented)."""
        from netdsl.report import formats  # here: json and csv only for the exports

        return formats.to_json(self, depth)

    def to_yaml(self, depth: int | None = None) -> str:
        """The report as YAML (the same keys as JSON)."""
        from netdsl.report import formats

        return formats.to_yaml(self, depth)

    def to_csv(self, depth: int | None = None) -> str:
        """One CSV row per layer (or per block with `depth`), header first."""
        from netdsl.report import formats

        return formats.to_csv([self], depth)

    def to_dataframe(self, depth: int | None = None) -> Any:
        """The CSV's rows as a pandas DataFrame (needs pandas)."""
        from netdsl.report import formats

        return formats.to_dataframe([self], depth)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        t = self.totals
        return (f"<Report {self.network} ({self.source}): {self.layer_count} layers, "
                f"{t.params:,} params, {t.macs:,} MACs, batch {self.batch}, {self.dtype}>")

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """The styled table, fitted to the console (rich's protocol)."""
        yield table.render_report(self, None, options.max_width)

    def _repr_html_(self) -> str:
        return table.report_html(self)

    def with_graph(self, graph: nx.MultiDiGraph | PlainGraph | None) -> Report:
        """The same report (its rows, totals and warnings shared, rows still pending if
        they were) for another graph of the same network, or for none."""
        twin = copy.copy(self)  # not `dataclasses.replace`: it would make pending rows
        twin.graph = graph
        return twin

    def draw(self, **options: Any) -> Any:
        """The analysed graph as a picture (`netdsl.draw.draw_report`: depth, color,
        direction); needs the graph, which `analyze_graph` keeps on the report."""
        from netdsl.draw import draw_report

        return draw_report(self, self.graph, **options)


def check_batch(batch: int) -> None:
    """A UsageError unless the batch size is an integer from 1 to `MAX_BATCH`."""
    if not (isinstance(batch, int) and 1 <= batch <= MAX_BATCH):
        raise UsageError(f"the batch size must be an integer from 1 to {MAX_BATCH:,}, got "
                         f"{batch if not isinstance(batch, int) or batch.bit_length() < 64 else 'more'}")


def _get_layers(report: Report) -> list[LayerRow]:
    rows = report.__dict__["_layers"]
    if type(rows) is PendingRows:
        rows = report.__dict__["_layers"] = rows.build()
    return rows


def _set_layers(report: Report, rows: list[LayerRow] | PendingRows) -> None:
    report.__dict__["_layers"] = rows


# `layers` stays a dataclass field (the constructor, equality, `fields()`), read through a
# property so that rows an analysis left pending (`PendingRows`) are made on first read.
Report.layers = property(  # type: ignore[assignment]
    _get_layers, _set_layers, doc="The per-layer rows, in graph order (a list of `LayerRow`).")


# The same for `graph`: `Spec.analyze` keeps a `PlainGraph`, made networkx's when read.
Report.graph = networkx_property(  # type: ignore[assignment]
    "The analysed graph (a networkx MultiDiGraph), or None.")


def analyze_graph(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                  optimizer: str = "sgd") -> Report:
    """Run every analysis on an elaborated graph (in one pass: `netdsl.analysis.onepass`)."""
    return _complete(_one_pass(graph, batch, dtype, optimizer), graph, _one_pass)


def analyze_reference(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                      optimizer: str = "sgd") -> Report:
    """`analyze_graph` by its separate passes (counts, memory, receptive fields), each
    walking the graph: the straightforward definition the one-pass version is tested
    against. (A plain graph is made networkx's first: the passes read networkx's API.)"""
    graph = as_networkx(graph)
    return _complete(_separate_passes(graph, batch, dtype, optimizer), graph, _separate_passes)


def _complete(report: Report, graph: nx.MultiDiGraph,
              analyze: Callable[[nx.MultiDiGraph, int, str, str], Report]) -> Report:
    """What follows from the spec's own statements: its heads (`output`) and the warnings
    of its violated `require` statements."""
    if graph.graph.get("named_outputs"):
        add_heads(report, graph, analyze)
    if graph.graph.get("requires"):
        from netdsl.analysis.constraints import requirement_warnings

        report.warnings.extend(requirement_warnings(graph, report))
    return report


def add_heads(report: Report, graph: nx.MultiDiGraph,
              analyze: Callable[[nx.MultiDiGraph, int, str, str], Report]) -> None:
    """The report's heads, training-only marks and the totals of inference alone."""
    from netdsl.heads import eval_graph, feeders, has_training_heads, heads, training_only

    rows = {row.name: row for row in report.layers}
    for name in training_only(graph):
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
    if has_training_heads(graph):
        report.inference_totals = analyze(eval_graph(graph), report.batch, report.dtype,
                                          report.optimizer).totals


def _one_pass(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str) -> Report:
    check_batch(batch)
    rows, totals, warnings = analyze_nodes(graph, batch, dtype, optimizer)
    warnings = [*graph.graph.get("warnings", ()), *warnings]  # the elaborator's first
    return Report(graph.graph["network"], graph.graph["source"], batch, dtype, optimizer,
                  {k: rows.record(v).out_shape for k, v in graph.graph["inputs"].items()},
                  {o: rows.record(o).out_shape for o in graph.graph["outputs"]},
                  totals, rows, warnings, graph)


def _separate_passes(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str) -> Report:
    check_batch(batch)
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
    nodes = graph.nodes
    inputs = {k: nodes[v]["layer"].out_shape for k, v in graph.graph["inputs"].items()}
    input_bytes = sum(counts[v].out_elements for v in graph.graph["inputs"].values()) \
        * batch * dtype_size(dtype)
    all_outputs = sum(activation.values())
    totals = Totals(params, sum(c.buffers for c in counts.values()), macs, 2 * macs,
                    sum(r.other_ops for r in rows), memory.param_bytes, all_outputs,
                    memory.inference_peak_bytes, memory.saved_for_backward_bytes,
                    memory.training_peak_bytes, input_bytes,
                    input_bytes + memory.param_bytes + all_outputs)
    return Report(graph.graph["network"], graph.graph["source"], batch, dtype, optimizer,
                  inputs, {o: nodes[o]["layer"].out_shape for o in graph.graph["outputs"]},
                  totals, rows, warnings, graph)
