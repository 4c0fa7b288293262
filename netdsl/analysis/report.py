"""The report: every analysis of one graph, as typed rows and totals.

Compute counts (MACs, FLOPs, other ops) and memory are for the whole batch; params
and buffers do not depend on it. Shapes exclude the batch.

The report is data; `netdsl.report` renders it (a table, JSON, YAML, CSV) and imports
nothing of `netdsl.analysis` at run time, so the rendering methods below call it
without an import cycle.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from netdsl.analysis.counts import count
from netdsl.analysis.memory import dtype_size, plan_memory
from netdsl.analysis.onepass import PendingRows, analyze_nodes, node_table
from netdsl.analysis.receptive_field import receptive_fields
from netdsl.analysis.rollup import rollup
from netdsl.analysis.rows import BlockRow, LayerRow, Totals, rf_dict
from netdsl.errors import Diagnostic, UnknownLayerError, UsageError
from netdsl.report import formats, table

__all__ = ["BlockRow", "LayerRow", "Report", "Totals", "analyze_graph", "analyze_reference",
           "rf_dict"]

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
    #: the analysed graph (for `draw`); not part of the report's data
    graph: nx.MultiDiGraph | None = field(default=None, repr=False, compare=False)

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
        return out

    def table(self, depth: int | None = None, width: int | None = None) -> str:
        """The human table as plain text: every column, unless `width` asks to fit (see
        `netdsl.report.table`)."""
        return table.plain_report(self, depth, width)

    def to_json(self, depth: int | None = None) -> str:
        """The report as JSON (`to_dict`, indented)."""
        return formats.to_json(self, depth)

    def to_yaml(self, depth: int | None = None) -> str:
        """The report as YAML (the same keys as JSON)."""
        return formats.to_yaml(self, depth)

    def to_csv(self, depth: int | None = None) -> str:
        """One CSV row per layer (or per block with `depth`), header first."""
        return formats.to_csv([self], depth)

    def to_dataframe(self, depth: int | None = None) -> Any:
        """The CSV's rows as a pandas DataFrame (needs pandas)."""
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


def analyze_graph(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                  optimizer: str = "sgd") -> Report:
    """Run every analysis on an elaborated graph (in one pass: `netdsl.analysis.onepass`)."""
    check_batch(batch)
    rows, totals, warnings = analyze_nodes(graph, batch, dtype, optimizer)
    nodes = node_table(graph)
    report = Report(graph.graph["network"], graph.graph["source"], batch, dtype, optimizer,
                    {k: nodes[v]["layer"].out_shape for k, v in graph.graph["inputs"].items()},
                    {o: nodes[o]["layer"].out_shape for o in graph.graph["outputs"]},
                    totals, rows, warnings, graph)
    if graph.graph.get("requires"):  # a spec's `require` statements: warnings when violated
        from netdsl.analysis.constraints import requirement_warnings

        report.warnings.extend(requirement_warnings(graph, report))
    return report


def analyze_reference(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                      optimizer: str = "sgd") -> Report:
    """`analyze_graph` by its separate passes (counts, memory, receptive fields), each
    walking the graph: the straightforward definition the one-pass version is tested
    against."""
    check_batch(batch)
    counts = count(graph)
    params = sum(c.params for c in counts.values())
    memory = plan_memory(graph, batch, dtype, optimizer, params)
    fields, warnings = receptive_fields(graph)
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
    report = Report(graph.graph["network"], graph.graph["source"], batch, dtype, optimizer,
                    inputs, {o: nodes[o]["layer"].out_shape for o in graph.graph["outputs"]},
                    totals, rows, warnings, graph)
    if graph.graph.get("requires"):  # a spec's `require` statements: warnings when violated
        from netdsl.analysis.constraints import requirement_warnings

        report.warnings.extend(requirement_warnings(graph, report))
    return report
