"""The human report: the layers as a tree of blocks, with totals underneath.

The table reads like torchinfo's. Each name is the last part of a node's dotted path,
indented two spaces per block level; a row without an op is a block and totals the
layers under it (its output and receptive field are its last layer's). `depth` folds
everything deeper into its block's row. Each layer's (and block's) share of the
network's params and MACs is printed beside the count.

Fitting a width. Without a width (a file, a pipe) every column is printed. With one (a
terminal, `--width N`), columns are left out in `DROP_ORDER` until the table fits, and a
line under the table says which; then the names are cut (ending in "…"). Numbers are
never cut. The legend and the totals' notes wrap at the width.

Columns are aligned here, in one pass over the rows (rich's general table layout took
most of a whole `netdsl analyze` run on a 176-layer network); rich only styles the lines.
Nothing here imports `netdsl.analysis` at run time (the analysis renders itself with
this module), nor rich until a styled report is asked for.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdsl.report import units

if TYPE_CHECKING:
    from rich.console import Group

    from netdsl.analysis.report import LayerRow, Report
    from netdsl.layers.base import Field

GAP = "  "
INDENT = "  "
#: Width the legend and totals wrap at when the table is not fitted to a terminal.
TEXT_WIDTH = 100
#: The columns that give way when the table is too wide, first to go first. The layer
#: name, output shape, params and MACs always stay.
DROP_ORDER = ("saved", "params_share", "rf", "activation", "op", "macs_share")


@dataclass(slots=True)
class TreeRow:
    """One line of the table: a layer, or a block with its layers' totals. (Not frozen:
    a frozen dataclass's `__init__` is 6x slower, and a table makes one per layer.)"""

    depth: int  # block nesting level (0: the network's own nodes and top blocks)
    name: str  # the last part of the dotted path
    path: str  # the whole dotted path
    op: str  # "" for a block
    layers: int
    shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int
    saved_for_backward_bytes: int
    rf: Field
    more: bool = False  # a block met again after other rows (its numbers are on its first row)


def tree_rows(report: Report, depth: int | None = None) -> list[TreeRow]:
    """The rows in graph order, each block's row before its first layer; with `depth`,
    nothing deeper than `depth` levels (a deeper layer counts in its block's row)."""
    layers = report.layers
    members: dict[str, list[LayerRow]] = {}
    for row in layers:
        if "." in row.name:
            parts = row.name.split(".")
            for k in range(1, len(parts)):
                members.setdefault(".".join(parts[:k]), []).append(row)
    out: list[TreeRow] = []
    shown: set[str] = set()
    previous: list[str] = []
    top = depth is None or depth >= 1
    for row in layers:
        name = row.name
        if top and "." not in name:  # a node of the network itself (most, in a chain)
            out.append(TreeRow(0, name, name, row.op, 1, row.shape, row.params, row.macs,
                               row.activation_bytes, row.saved_for_backward_bytes, row.rf))
            previous = [name]
            continue
        parts = name.split(".")
        levels = len(parts) if depth is None else min(len(parts), depth)
        for k in range(1, levels + 1):
            path = ".".join(parts[:k])
            if k == len(parts):
                out.append(_layer_row(row, k - 1))
            elif path not in shown:
                shown.add(path)
                out.append(_block_row(path, k - 1, members[path]))
            elif previous[:k] != parts[:k] and k < levels:
                out.append(_block_row(path, k - 1, members[path], more=True))
        previous = parts[:levels]
    return out


def _layer_row(row: LayerRow, depth: int) -> TreeRow:
    return TreeRow(depth, row.name.rsplit(".", 1)[-1], row.name, row.op, 1, row.shape, row.params,
                   row.macs, row.activation_bytes, row.saved_for_backward_bytes, row.rf)


def _block_row(path: str, depth: int, rows: list[LayerRow], more: bool = False) -> TreeRow:
    last = rows[-1]
    return TreeRow(depth, path.rsplit(".", 1)[-1], path, "", len(rows), last.shape,
                   sum(r.params for r in rows), sum(r.macs for r in rows),
                   sum(r.activation_bytes for r in rows),
                   sum(r.saved_for_backward_bytes for r in rows), last.rf, more)


def rf_text(rf: Field) -> str:
    """"size/stride" of the local field, with "global" when the output sees everything."""
    return _rf_text(rf.size, rf.stride, rf.is_global, rf.exact)


def _rf_text(size: tuple, stride: tuple, is_global: bool, exact: bool) -> str:
    if not size:
        return "-"
    if not exact:  # after up-sampling the window depends on the position: not printed
        return "global (varies)" if is_global else "varies"
    local = f"{units.axes(size)}/{units.axes(stride)}"
    return f"global ({local})" if is_global else local


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its key (for `DROP_ORDER`), header, what it is called when left out,
    and its alignment (`cells` makes its texts)."""

    key: str
    header: str
    title: str
    left: bool


def columns(report: Report, rows: Sequence[TreeRow]) -> list[Column]:
    """The table's columns, in order; memory in KiB or MiB (whichever suits the largest
    cell), stated in the header."""
    unit = units.memory_unit(_largest_memory(rows))[0]
    return [Column("layer", "Layer", "Layer", True), Column("op", "Op", "Op", True),
            Column("output", "Output", "Output", False),
            Column("params", "Params", "Params", False),
            Column("params_share", "%", "% params", False),
            Column("macs", "MACs", "MACs", False),
            Column("macs_share", "%", "% MACs", False),
            Column("activation", f"Act. {unit}", f"Act. {unit}", False),
            Column("saved", f"Saved {unit}", f"Saved {unit}", False),
            Column("rf", "RF size/stride", "RF", False)]


def _largest_memory(rows: Sequence[TreeRow]) -> int:
    return max((max(r.activation_bytes, r.saved_for_backward_bytes) for r in rows), default=0)


class _Texts(dict):
    """value -> what `make` makes of it (a text, or a kind's index), made once, on first
    use (a hit is one dict lookup)."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> Any:
        text = self[key] = self.make(key)
        return text


@dataclass(frozen=True)
class Cells:
    """The table's texts: each row's name, op and RF, and which of the distinct texts of
    the columns between (output to saved memory, in the order of `columns`) it shows.
    Rows repeat a few numbers and shapes (a chain of 50,000 layers has three kinds of
    row, though every row's field differs), so those texts are made, measured and
    aligned once per kind, not once per row."""

    names: list[str]
    ops: list[str]
    kinds: list[int]  # per row, an index into `distinct`
    distinct: list[tuple[str, ...]]
    rfs: list[str]

    def widths(self) -> list[int]:
        """Each column's widest text."""
        middle = [max(map(len, column)) for column in zip(*self.distinct)] or [0] * 7
        return [max(map(len, self.names), default=0), max(map(len, self.ops), default=0),
                *middle, max(map(len, set(self.rfs)), default=0)]


def cells(report: Report, rows: Sequence[TreeRow]) -> Cells:
    """Every row's texts. A row met again (`more`) shows only its name."""
    factor = units.memory_unit(_largest_memory(rows))[1]
    params, macs = report.totals.params, report.totals.macs
    distinct: list[tuple[str, ...]] = []

    def new_kind(key: tuple[Any, ...] | None) -> int:
        if key is None:  # a row met again: blank
            distinct.append(("",) * 7)
        else:
            shape, n_params, n_macs, activation, saved = key
            distinct.append((units.shape(shape), units.count(n_params) if n_params else "-",
                             units.share(n_params, params),
                             units.count(n_macs) if n_macs else "-", units.share(n_macs, macs),
                             units.in_unit(activation, factor) if activation else "-",
                             units.in_unit(saved, factor) if saved else "-"))
        return len(distinct) - 1

    kind_of = _Texts(new_kind)
    rf = _Texts(lambda key: _rf_text(*key))
    names, ops, kinds, rfs = [], [], [], []
    for r in rows:
        name = INDENT * r.depth + r.name if r.depth else r.name
        ops.append(r.op)
        if r.more:
            names.append(name + " (cont.)")
            kinds.append(kind_of[None])
            rfs.append("")
            continue
        f = r.rf
        names.append(name)
        kinds.append(kind_of[r.shape, r.params, r.macs, r.activation_bytes,
                             r.saved_for_backward_bytes])
        # keyed by what the text shows (field values are ints and Fractions, and equal
        # ones print alike)
        rfs.append(rf[f.size, f.stride, f.is_global, f.exact])
    return Cells(names, ops, kinds, distinct, rfs)


@dataclass(frozen=True)
class Layout:
    """The table's lines (header first), the rows they show, and the titles of the
    columns left out to fit the width."""

    lines: list[str]
    rows: list[TreeRow]
    dropped: list[str]


def layout(report: Report, depth: int | None = None, width: int | None = None) -> Layout:
    """The table aligned, fitted to `width` if given (see the module docstring)."""
    rows = tree_rows(report, depth)
    cols = columns(report, rows)
    table = cells(report, rows)
    widths = [max(len(c.header), w) for c, w in zip(cols, table.widths())]
    keep = list(range(len(cols)))

    def total() -> int:
        return sum(widths[i] for i in keep) + len(GAP) * (len(keep) - 1)

    dropped = []
    for key in DROP_ORDER:
        if width is None or total() <= width:
            break
        index = next(i for i, c in enumerate(cols) if c.key == key)
        keep.remove(index)
        dropped.append(cols[index].title)
    names = table.names
    if width is not None and total() > width:  # then the names give way, down to 12
        widths[0] = max(12, widths[0] - (total() - width))
        cut = widths[0]  # only names are cut: every other column is as wide as its widest text
        names = [name[:cut - 1] + "…" if len(name) > cut else name for name in names]
    return Layout(_lines(cols, widths, keep, names, table), rows, dropped)


def _lines(cols: list[Column], widths: list[int], keep: list[int], names: list[str],
           table: Cells) -> list[str]:
    """The header and a line per row: the name padded to its column, the op and middle
    columns as formatted once per distinct (op, kind), then the RF (the last column),
    formatted once per distinct text."""

    def cell(i: int, text: str) -> str:
        return f"{text:{'<' if cols[i].left else '>'}{widths[i]}}"

    last = len(cols) - 1
    middle = [i for i in keep if 0 < i < last]
    rest = _Texts(lambda key: "".join(GAP + cell(i, (key[0], *table.distinct[key[1]])[i - 1])
                                      for i in middle))
    rf = _Texts(lambda text: GAP + cell(last, text) if last in keep else "")
    pad = widths[0]
    return [GAP.join(cell(i, cols[i].header) for i in keep).rstrip(),
            *[(name.ljust(pad) + rest[op, kind] + rf[text]).rstrip()
              for name, op, kind, text in zip(names, table.ops, table.kinds, table.rfs)]]


def totals_rows(report: Report) -> list[tuple[str, str, str, str]]:
    """The totals as (name, short value, exact value, what it is); bytes are for the
    report's batch and dtype (docs/conventions.md defines each figure)."""
    t = report.totals

    def mem(name: str, n: int, note: str) -> tuple[str, str, str, str]:
        return name, units.mib(n) + " MiB", f"{n:,} B", note

    return [
        ("Parameters", units.count(t.params), f"{t.params:,}", "elements"),
        ("Buffers", units.count(t.buffers), f"{t.buffers:,}", "batch-norm statistics"),
        ("MACs", units.count(t.macs), f"{t.macs:,}", "FLOPs = 2 x MACs"),
        ("Other ops", units.count(t.other_ops), f"{t.other_ops:,}", "norm, activation, pool, add"),
        mem("Input size", t.input_bytes, "the network inputs"),
        mem("Params size", t.param_bytes, "parameters, not buffers"),
        mem("Activations", t.activation_bytes, "every layer's output once"),
        mem("Estimated total size", t.estimated_total_bytes, "input + params + activations"),
        mem("Inference peak", t.inference_peak_bytes, "activations live at once"),
        mem("Saved for backward", t.saved_for_backward_bytes, "kept by autograd"),
        mem("Training peak", t.training_peak_bytes,
            f"weights, grads, {report.optimizer}, saved"),
    ]


def totals_lines(report: Report, width: int | None = None) -> list[tuple[str, int]]:
    """The totals aligned, each as (text, length of its bold label); a note that does not
    fit beside its numbers goes, wrapped, on the lines under them."""
    rows = totals_rows(report)
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    limit = width or TEXT_WIDTH
    out: list[tuple[str, int]] = []
    for name, short, exact, note in rows:
        head = f"{name.ljust(w[0])}  {short.rjust(w[1])}  {exact.rjust(w[2])}"
        if len(head) + 2 + len(note) <= limit:
            out.append((f"{head}  {note}", len(name)))
            continue
        out.append((head, len(name)))
        indent = " " * (w[0] + 2)
        out += [(text, 0) for text in textwrap.wrap(note, max(limit, 40), initial_indent=indent,
                                                    subsequent_indent=indent)]
    return out


def legend(report: Report, fitted: Layout, depth: int | None, width: int | None) -> list[str]:
    """What the table's names, numbers and units mean, wrapped at the width."""
    inputs = ", ".join(f"{k} {units.shape(v)}" for k, v in report.inputs.items())
    outputs = ", ".join(units.shape(v) for v in report.outputs.values())
    if report.heads:  # named outputs: each by name
        outputs = ", ".join(f"{h.name} {units.shape(h.shape)}" for h in report.heads)
    blocks = any(not r.op for r in fitted.rows)
    texts = [f"Input {inputs} -> output {outputs} (shapes exclude the batch)."]
    if blocks:
        texts.append("Names are indented by block: a row without an op is a block and totals "
                     "the layers under it" + (f" (down to depth {depth})" if depth else "") + ".")
    texts.append("% = share of the network's params or MACs. Counts: K/M/G = 10^3/10^6/10^9; "
                 "memory: B = bytes, KiB = 2^10 B, MiB = 2^20 B; MACs and memory are for the "
                 "whole batch. RF = receptive field, size/stride in input elements.")
    if fitted.dropped:
        texts.append(f"Left out to fit {width} columns: {', '.join(fitted.dropped)} "
                     "(a wider terminal, --width 0 or --format csv shows every column).")
    limit = max(min(width or TEXT_WIDTH, TEXT_WIDTH), 40)
    return [line for text in texts for line in textwrap.wrap(text, limit)]


def report_lines(report: Report, depth: int | None = None,
                 width: int | None = None) -> list[tuple[str, str, int]]:
    """The full human report as (style, text, bold prefix length) lines: title, table,
    legend, totals, warnings. One source for plain text (files, pipes) and the terminal."""
    fitted = layout(report, depth, width)
    title = f"{report.network} — {report.source} — batch {report.batch}, {report.dtype}"
    lines = [("italic", title, 0), ("bold", fitted.lines[0], 0)]
    lines += [("bold" if not row.op and not row.more else "", text, 0)
              for row, text in zip(fitted.rows, fitted.lines[1:])]
    lines.append(("", "", 0))
    lines += [("dim", text, 0) for text in legend(report, fitted, depth, width)]
    lines.append(("", "", 0))
    lines += [("", text, bold) for text, bold in totals_lines(report, width)]
    lines += heads_lines(report)
    lines += [("yellow", line, 0) for w in report.warnings for line in w.render().splitlines()]
    return lines


def heads_lines(report: Report) -> list[tuple[str, str, int]]:
    """The declared outputs: node, shape, the layers feeding each (and it alone), and the
    cost of inference without the training-only heads."""
    if not report.heads:
        return []
    cells = [("Output", "Node", "Shape", "Fed by", "")]
    cells += [(h.name, h.node, units.shape(h.shape),
               f"{len(h.nodes)} layers, {len(h.own_nodes)} its own"
               + (f" ({units.count(h.own_params)} params, {units.count(h.own_macs)} MACs)"
                  if h.own_nodes else ""),
               "training only" if h.training else "") for h in report.heads]
    widths = [max(len(row[i]) for row in cells) for i in range(5)]
    texts = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines = [("", "", 0), ("bold", texts[0], 0), *(("", text, 0) for text in texts[1:])]
    t = report.inference_totals
    if t is not None:
        lines.append(("", f"Without training-only heads (inference): {units.count(t.params)} "
                          f"params, {units.count(t.macs)} MACs, inference peak "
                          f"{units.bytes_long(t.inference_peak_bytes)}", 0))
    return lines


def plain_report(report: Report, depth: int | None = None, width: int | None = None) -> str:
    """The report as plain text (no styling; every column unless `width` is given)."""
    return "\n".join(text for _, text, _ in report_lines(report, depth, width))


def render_report(report: Report, depth: int | None = None, width: int | None = None) -> Group:
    """The report as rich renderables, styled, fitted to `width`."""
    from rich.console import Group
    from rich.text import Text

    parts = []
    for style, text, bold in report_lines(report, depth, width):
        line = Text(text, style=style, no_wrap=True, overflow="ignore")
        if bold:
            line.stylize("bold", 0, bold)
        parts.append(line)
    return Group(*parts)


def styled_text(report: Report, depth: int | None, width: int) -> str:
    """The report with terminal styles (ANSI escapes), fitted to `width`."""
    from rich.console import Console

    console = Console(width=max(width, 40), record=True, force_terminal=True, file=_Null())
    console.print(render_report(report, depth, width), soft_wrap=True)
    return console.export_text(styles=True).rstrip("\n")


def report_html(report: Report) -> str:
    """HTML for notebooks (rich's export of the same report)."""
    from rich.console import Console

    console = Console(record=True, width=200, file=_Null())
    console.print(render_report(report))
    return console.export_html(inline_styles=True)


class _Null:
    """A file that keeps nothing (the console records what it prints)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
