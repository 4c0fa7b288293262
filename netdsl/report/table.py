"""The human report: a table of layers (or blocks) with totals underneath.

Columns are aligned here, in one pass over the rows (rich's general table layout took
most of a whole `netdsl analyze` run on a 176-layer network); rich does the styling and
the output. On a terminal narrower than the table, only the name column gives way
(long names keep their tail, which says most); numbers are never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from netdsl.report import units

if TYPE_CHECKING:
    from rich.console import Group

    from netdsl.analysis.report import BlockRow, LayerRow, Report
    from netdsl.layers.base import Field

def headers(unit: str) -> tuple[str, ...]:
    """The columns after the first two, the memory unit stated."""
    return ("Output", "Params", "MACs", f"Act. {unit}", f"Saved {unit}", "RF size/stride")
GAP = "  "


def rf_text(rf: Field) -> str:
    """"size/stride" of the local field, with "global" when the output sees everything."""
    if not rf.size:
        return "-"
    if not rf.exact:  # after up-sampling the window depends on the position: not printed
        return "global (varies)" if rf.is_global else "varies"
    local = f"{units.axes(rf.size)}/{units.axes(rf.stride)}"
    return f"global ({local})" if rf.is_global else local


def layer_rows(report: Report) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and cells, one row per node."""
    unit, factor = _unit(report.layers)
    rows = [(row.name, row.op, units.shape(row.shape), *_numbers(row, factor), rf_text(row.rf))
            for row in report.layers]
    return ("Layer", "Op", *headers(unit)), rows


def block_rows(report: Report, depth: int) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and cells, one row per block at the given depth of the block path."""
    blocks = report.rollup(depth)
    unit, factor = _unit(blocks)
    rows = [(row.name, str(row.layers), units.shape(row.shape), *_numbers(row, factor),
             rf_text(row.rf)) for row in blocks]
    return ("Block", "Layers", *headers(unit)), rows


def _unit(rows: Sequence[LayerRow | BlockRow]) -> tuple[str, int]:
    largest = max((max(r.activation_bytes, r.saved_for_backward_bytes) for r in rows), default=0)
    return units.memory_unit(largest)


def _numbers(row: LayerRow | BlockRow, factor: int) -> tuple[str, ...]:
    return (units.count(row.params) if row.params else "-",
            units.count(row.macs) if row.macs else "-",
            units.in_unit(row.activation_bytes, factor) if row.activation_bytes else "-",
            units.in_unit(row.saved_for_backward_bytes, factor)
            if row.saved_for_backward_bytes else "-")


def align(header: Sequence[str], rows: list[tuple[str, ...]], width: int | None = None) -> list[str]:
    """Lines of a table: the first two columns left-aligned, the rest right-aligned.

    With `width`, the first column is shortened (keeping its end) to fit, if it can.
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    if width is not None:
        rest = sum(widths[1:]) + len(GAP) * (len(widths) - 1)
        widths[0] = max(12, min(widths[0], width - rest))

    def line(cells: Sequence[str]) -> str:
        first = cells[0] if len(cells[0]) <= widths[0] else "…" + cells[0][-(widths[0] - 1):]
        parts = [first.ljust(widths[0]), cells[1].ljust(widths[1])]
        parts += [c.rjust(w) for c, w in zip(cells[2:], widths[2:])]
        return GAP.join(parts).rstrip()

    return [line(header), *(line(r) for r in rows)]


def totals_lines(report: Report) -> list[tuple[str, str]]:
    """The totals, each with its unit and exact value."""
    t = report.totals
    return [
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


def report_lines(report: Report, depth: int | None = None,
                 width: int | None = None) -> list[tuple[str, str, int]]:
    """The full human report as (style, text, bold prefix length) lines: title, table,
    units, totals, warnings. One source for plain text (files, pipes) and the terminal."""
    header, rows = block_rows(report, depth) if depth else layer_rows(report)
    table = align(header, rows, width)
    inputs = ", ".join(f"{k} {units.shape(v)}" for k, v in report.inputs.items())
    outputs = ", ".join(units.shape(v) for v in report.outputs.values())
    if report.heads:  # named outputs: each by name
        outputs = ", ".join(f"{h.name} {units.shape(h.shape)}" for h in report.heads)
    totals = totals_lines(report)
    label = max(len(name) for name, _ in totals)
    lines = [
        ("italic", f"{report.network} — {report.source} — batch {report.batch}, {report.dtype}", 0),
        ("bold", table[0], 0), *(("", line, 0) for line in table[1:]), ("", "", 0),
        ("dim", f"Input {inputs} -> output {outputs}. Counts: K/M/G = 10^3/10^6/10^9; memory: "
                "KiB = 2^10, MiB = 2^20 bytes; MACs and memory for the whole batch.", 0),
        ("", "", 0),
    ]
    lines += [("", f"{name.ljust(label)}  {value}", label) for name, value in totals]
    lines += heads_lines(report)
    lines += [("yellow", line, 0) for w in report.warnings for line in w.render().splitlines()]
    return lines


def heads_lines(report: Report) -> list[tuple[str, str, int]]:
    """The declared outputs: node, shape, the layers feeding each (and it alone), and the
    cost of inference without the training-only heads."""
    if not report.heads:
        return []
    rows = [(h.name, h.node, units.shape(h.shape),
             f"{len(h.nodes)} layers, {len(h.own_nodes)} its own"
             + (f" ({units.count(h.own_params)} params, {units.count(h.own_macs)} MACs)"
                if h.own_nodes else ""),
             "training only" if h.training else "") for h in report.heads]
    table = align(("Output", "Node", "Shape", "Fed by", ""), rows)
    lines = [("", "", 0), ("bold", table[0], 0), *(("", line, 0) for line in table[1:])]
    t = report.inference_totals
    if t is not None:
        lines.append(("", f"Without training-only heads (inference): {units.count(t.params)} "
                          f"params, {units.count(t.macs)} MACs, inference peak "
                          f"{units.bytes_long(t.inference_peak_bytes)}", 0))
    return lines


def plain_report(report: Report, depth: int | None = None) -> str:
    """The report as plain text (no styling, nothing shortened)."""
    return "\n".join(text for _, text, _ in report_lines(report, depth))


def render_report(report: Report, depth: int | None = None, width: int | None = None) -> Group:
    """The report as rich renderables, styled, the name column fitted to `width`."""
    from rich.console import Group
    from rich.text import Text

    parts = []
    for style, text, bold in report_lines(report, depth, width):
        line = Text(text, style=style)
        if bold:
            line.stylize("bold", 0, bold)
        parts.append(line)
    return Group(*parts)


def report_html(report: Report) -> str:
    """HTML for notebooks (rich's export of the same report)."""
    from rich.console import Console

    console = Console(record=True, width=200, file=_Null())
    console.print(render_report(report))
    return console.export_html(inline_styles=True)


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
