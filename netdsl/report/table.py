"""The human report: a rich table of layers (or blocks) with totals underneath."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from netdsl.report import units

if TYPE_CHECKING:
    from netdsl.analysis.report import BlockRow, LayerRow, Report
    from netdsl.layers.base import Field


def rf_text(rf: Field) -> str:
    """"size/stride" of the local field, with "global" when the output sees everything."""
    if not rf.size:
        return "-"
    local = f"{units.axes(rf.size)}/{units.axes(rf.stride)}"
    return f"global ({local})" if rf.is_global else local


HEADERS = ("Output", "Params", "MACs", "Act. MiB", "Saved MiB", "RF size/stride")


def layer_table(report: Report) -> Table:
    """One row per node."""
    rows = [(row.name, row.op, units.shape(row.shape), *_numbers(row), rf_text(row.rf))
            for row in report.layers]
    return _table(report, ("Layer", "Op"), rows)


def block_table(report: Report, depth: int) -> Table:
    """One row per block at the given depth of the block path."""
    rows = [(row.name, str(row.layers), units.shape(row.shape), *_numbers(row), rf_text(row.rf))
            for row in report.rollup(depth)]
    return _table(report, ("Block", "Layers"), rows)


def _table(report: Report, first: tuple[str, str], rows: list[tuple[str, ...]]) -> Table:
    title = f"{report.network} — {report.source} — batch {report.batch}, {report.dtype}"
    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False,
                  pad_edge=False, box=None)
    # Only the name column may fold on a narrow terminal; numbers are never cut.
    table.add_column(first[0], overflow="fold", ratio=1)
    headers = (first[1], *HEADERS)
    for i, name in enumerate(headers):
        width = max([len(name)] + [len(r[i + 1]) for r in rows])
        table.add_column(name, justify="left" if i < 2 else "right", no_wrap=True, min_width=width)
    for r in rows:
        table.add_row(*r)
    return table


def table_width(report: Report, depth: int | None = None) -> int:
    """Columns needed to print the report's table without folding anything."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=1000, file=_Null())
    table = block_table(report, depth) if depth else layer_table(report)
    return Measurement.get(console, console.options, table).maximum


def _numbers(row: LayerRow | BlockRow) -> tuple[str, ...]:
    return (units.count(row.params) if row.params else "-",
            units.count(row.macs) if row.macs else "-",
            units.mib(row.activation_bytes) if row.activation_bytes else "-",
            units.mib(row.saved_for_backward_bytes) if row.saved_for_backward_bytes else "-")


def totals_table(report: Report) -> Table:
    """The totals, each with its unit and exact value."""
    t = report.totals
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Parameters", f"{units.count(t.params)} ({t.params:,}; trainable {t.trainable_params:,})"),
        ("Buffers", f"{t.buffers:,} elements (batch-norm statistics; not parameters)"),
        ("MACs", f"{units.count(t.macs)} ({t.macs:,} multiply-accumulates; FLOPs = 2 x MACs "
                 f"= {units.count(t.flops)})"),
        ("Other ops", f"{units.count(t.other_ops)} (norm, activation, pooling, merge, bias)"),
        ("Parameter memory", units.bytes_long(t.param_bytes)),
        ("Activations", units.bytes_long(t.activation_bytes) + " (all outputs)"),
        ("Inference peak", units.bytes_long(t.inference_peak_bytes)
         + " (live activations; weights and inputs excluded)"),
        ("Saved for backward", units.bytes_long(t.saved_for_backward_bytes)),
        ("Training peak", units.bytes_long(t.training_peak_bytes)
         + f" (weights, gradients, {report.optimizer} state, saved tensors)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def render_report(report: Report, depth: int | None = None) -> Group:
    """The full human report: table, totals, warnings."""
    body = block_table(report, depth) if depth else layer_table(report)
    inputs = ", ".join(f"{k} {units.shape(v)}" for k, v in report.inputs.items())
    outputs = ", ".join(units.shape(v) for v in report.outputs.values())
    parts: list[Any] = [body, Text(""),
                        Text(f"Input {inputs} -> output {outputs}. Counts: K/M/G = 10^3/10^6/10^9; "
                             f"memory in MiB = 2^20 bytes; MACs and memory for the whole batch.",
                             style="dim"),
                        Text(""), totals_table(report)]
    for warning in report.warnings:
        parts.append(Text(warning.render(), style="yellow"))
    return Group(*parts)


def report_html(report: Report) -> str:
    """HTML for notebooks (rich's export of the same report)."""
    from rich.console import Console

    console = Console(record=True, width=160, file=_Null())
    console.print(render_report(report))
    return console.export_html(inline_styles=True)


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
