"""Every analysis of `analyze_graph` in one walk over the graph's nodes.

The same figures as composing `count`, `plan_memory` (with its liveness schedule) and
`receptive_fields` and then building the rows (`report.analyze_reference` does exactly
that, and a test compares the two on every spec and on random networks), but each node
is visited once, with its layer record's constant facts (counts, whether its output is a
view of its input, whether it merges) read from one cache entry. Architecture search
analyses thousands of candidates; the separate passes each re-walked networkx's node
views and re-asked every record the same questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdsl.analysis.liveness import aliases_input
from netdsl.analysis.memory import OPTIMIZER_STATES, check_options
from netdsl.analysis.receptive_field import check_alignment
from netdsl.analysis.rows import LayerRow, Totals
from netdsl.errors import Diagnostic
from netdsl.layers.base import Field, Layer

if TYPE_CHECKING:
    import networkx as nx

#: The constant facts of a layer record: its counts (params, buffers, MACs, other ops,
#: output elements), whether its output is a view at inference and in training, whether
#: it merges, its input rank, whether its receptive field is pointwise.
Facts = tuple[int, int, int, int, int, bool, bool, bool, int, bool]

#: layer record -> its facts. Records are immutable and shared (the layer cache,
#: memoised block calls), so most of a candidate's records were met by an earlier one.
#: A plain tuple of numbers: the garbage collector stops tracking it, where a tuple
#: holding a `Counts` would be rescanned with every record a search keeps.
#: (Named *_CACHE: the benchmark's from-scratch runs clear it with the others.)
_FACTS_CACHE: dict[Layer, Facts] = {}
_FACTS_LIMIT = 200_000


def _facts(layer: Layer) -> Facts:
    if len(_FACTS_CACHE) >= _FACTS_LIMIT:
        _FACTS_CACHE.clear()
    rank = len(layer.in_shapes[0]) - 1 if layer.in_shapes else -1
    # a kind that keeps the default `receptive_field` passes its input's field on as is
    pointwise = type(layer).receptive_field is Layer.receptive_field
    facts = _FACTS_CACHE[layer] = (*layer.count_numbers(), aliases_input(layer, False),
                                   aliases_input(layer, True), layer.is_merge, rank, pointwise)
    return facts


def node_table(graph: nx.MultiDiGraph) -> Any:
    """The node -> data mapping in insertion (topological) order, without networkx views."""
    table = getattr(graph, "_node", None)
    return table if isinstance(table, dict) else dict(graph.nodes(data=True))


def analyze_nodes(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str
                  ) -> tuple[PendingRows, Totals, list[Diagnostic]]:
    """The rows (made when first read), totals and receptive-field warnings of
    `analyze_graph`, in one pass."""
    itemsize = check_options(batch, dtype, optimizer)
    scale = batch * itemsize
    get_facts = _FACTS_CACHE.get
    step: dict[str, int] = {}
    storage: dict[str, str] = {}  # where each output lives at inference
    storage_end: dict[str, int] = {}  # last step using each storage (liveness)
    train_base: dict[str, str] = {}  # where each output lives while training
    grad: dict[str, bool] = {}
    sizes: dict[str, int] = {}
    fields: dict[str, Field] = {}
    allocated: list[tuple[str, int]] = []
    kept: set[str] = set()
    warnings: list[Diagnostic] = []
    activations: list[int] = []
    saved_bytes: list[int] = []
    field_list: list[Field] = []
    # the rows' other columns (see PendingRows)
    records: list[Layer] = []
    blocks: list[str] = []
    inputs: list[tuple[str, ...]] = []
    spans: list[Any] = []
    transient = params = buffers = macs = other_ops = total_saved = all_outputs = 0
    table = node_table(graph)
    for i, (node, data) in enumerate(table.items()):
        layer, preds = data["layer"], data["inputs"]
        records.append(layer)
        blocks.append(data["block"])
        inputs.append(preds)
        spans.append(data["span"])
        (n_params, n_buffers, n_macs, n_other_ops, out_elements, view, train_view, merges,
         rank, pointwise) = get_facts(layer) or _facts(layer)
        sizes[node] = size = out_elements * scale
        step[node] = storage_end[node] = i
        if not preds:  # a network input: given, not computed; needs no gradient
            storage[node] = train_base[node] = node
            grad[node] = False
            activation = saved = 0
            field = fields[node] = layer.field_of(())
        else:
            first = preds[0]
            storage[node] = storage[first] if view else node
            train_base[node] = train_base[first] if train_view else node
            if len(preds) == 1:  # most layers: the same as below, without the loops
                storage_end[storage[first]] = i
                flags: tuple[bool, ...] = (grad[first],)
                in_bytes = sizes[first]
            else:
                for p in preds:
                    storage_end[storage[p]] = i
                flags = tuple(map(grad.__getitem__, preds))
                in_bytes = sum(map(sizes.__getitem__, preds))
            activation = size if storage[node] == node else 0
            grad[node] = n_params > 0 or True in flags
            kept_inputs, kept_output, sample_elements, sample_bytes, elements, extra_bytes = (
                layer.plan_numbers(flags))
            saved = (batch * (sample_elements * itemsize + sample_bytes)
                     + elements * itemsize + extra_bytes)
            for k in kept_inputs:
                base = train_base[preds[k]]
                if base not in kept:  # each storage counted once, by its first saver
                    kept.add(base)
                    saved += sizes[base]
            if kept_output:
                base = train_base[node]
                if base not in kept:
                    kept.add(base)
                    saved += sizes[base]
            if size + in_bytes > transient:
                transient = size + in_bytes
            if merges:
                ins = tuple(map(fields.__getitem__, preds))
                warning = check_alignment(graph, node, preds, list(ins))
                if warning is not None:
                    warnings.append(warning)
                field = layer.field_of(ins)
            else:
                field = fields[first]
                if len(field.size) != rank:
                    # a reshape moved elements between axes: the field is global (see
                    # receptive_field.receptive_fields)
                    field = field.as_global()
                elif not pointwise:  # not pointwise: the field of the inputs' fields
                    field = layer.field_of(tuple(map(fields.__getitem__, preds)))
            fields[node] = field
        if activation:
            allocated.append((node, activation))
        total_saved += saved
        all_outputs += activation
        params += n_params
        buffers += n_buffers
        macs += n_macs
        other_ops += n_other_ops
        activations.append(activation)
        saved_bytes.append(saved)
        field_list.append(field)
    end = len(step)
    for out in graph.graph["outputs"]:
        storage_end[storage[out]] = end
    peak = _peak(allocated, step, storage_end, end)
    param_bytes = params * itemsize
    state = param_bytes * (2 + OPTIMIZER_STATES[optimizer])
    input_bytes = sum(sizes[v] for v in graph.graph["inputs"].values())
    macs *= batch
    totals = Totals(params, buffers, macs, 2 * macs, other_ops * batch, param_bytes,
                    all_outputs, peak, total_saved, state + total_saved + transient,
                    input_bytes, input_bytes + param_bytes + all_outputs)
    rows = PendingRows(list(table), records, blocks, inputs, spans, batch, activations,
                       saved_bytes, field_list)
    return rows, totals, warnings


class PendingRows:
    """A report's layer rows, made when first read (`Report.layers`).

    The analysis keeps only the columns rows are made of (the nodes' names, records,
    blocks, inputs and spans; the activation and saved bytes and receptive fields it
    computed); a search reads a candidate's totals and rarely its rows, so most
    candidates never make them. Columns, not the graph's node dicts: a report kept
    without its graph (a search's analyses of known networks) then keeps a few lists for
    the garbage collector to rescan, not a dict per node. Made rows are exactly those the
    separate passes make (`report.analyze_reference`).
    """

    __slots__ = ("names", "records", "blocks", "inputs", "spans", "batch", "activation",
                 "saved", "fields", "_index")

    def __init__(self, names: list[str], records: list[Layer], blocks: list[str],
                 inputs: list[tuple[str, ...]], spans: list[Any], batch: int,
                 activation: list[int], saved: list[int], fields: list[Field]) -> None:
        self.names, self.records, self.blocks = names, records, blocks
        self.inputs, self.spans, self.batch = inputs, spans, batch
        self.activation, self.saved, self.fields = activation, saved, fields
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def make(self, i: int) -> LayerRow:
        """The row of the i-th node."""
        layer, batch = self.records[i], self.batch
        params, buffers, macs, other_ops, _ = layer.count_numbers()
        return LayerRow(self.names[i], layer.op, self.blocks[i], self.inputs[i], layer.out_shape,
                        params, buffers, macs * batch, 2 * macs * batch, other_ops * batch,
                        self.activation[i], self.saved[i], self.fields[i], self.spans[i])

    def build(self) -> list[LayerRow]:
        """Every row, in graph order."""
        return [self.make(i) for i in range(len(self.names))]

    def row(self, name: str) -> LayerRow | None:
        """The row of the node called `name` (None when there is none)."""
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        i = self._index.get(name)
        return None if i is None else self.make(i)


def _peak(allocated: list[tuple[str, int]], step: dict[str, int],
          storage_end: dict[str, int], end: int) -> int:
    """The largest total of live allocations over the steps (`Schedule.peak`)."""
    delta = [0] * (end + 2)
    for node, size in allocated:
        delta[step[node]] += size
        delta[storage_end[node] + 1] -= size
    live = peak = 0
    for change in delta[:end]:
        live += change
        if live > peak:
            peak = live
    return peak
