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

from typing import Any

import networkx as nx

from netdsl.analysis.liveness import aliases_input
from netdsl.analysis.memory import OPTIMIZER_STATES, check_options
from netdsl.analysis.receptive_field import check_alignment
from netdsl.analysis.rows import LayerRow, Totals
from netdsl.errors import Diagnostic
from netdsl.layers.base import Counts, Field, Layer

#: layer record -> (counts, view at inference, view in training, merges, input rank).
#: Records are immutable and shared (the layer cache, memoised block calls), so most of
#: a candidate's records were met by an earlier candidate.
_FACTS: dict[Layer, tuple[Counts, bool, bool, bool, int]] = {}
_FACTS_LIMIT = 200_000


def _facts(layer: Layer) -> tuple[Counts, bool, bool, bool, int]:
    if len(_FACTS) >= _FACTS_LIMIT:
        _FACTS.clear()
    rank = len(layer.in_shapes[0]) - 1 if layer.in_shapes else -1
    facts = _FACTS[layer] = (layer.counts(), aliases_input(layer, False),
                             aliases_input(layer, True), layer.is_merge, rank)
    return facts


def node_table(graph: nx.MultiDiGraph) -> Any:
    """The node -> data mapping in insertion (topological) order, without networkx views."""
    table = getattr(graph, "_node", None)
    return table if isinstance(table, dict) else dict(graph.nodes(data=True))


def analyze_nodes(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str
                  ) -> tuple[list[LayerRow], Totals, list[Diagnostic]]:
    """The rows, totals and receptive-field warnings of `analyze_graph`, in one pass."""
    itemsize = check_options(batch, dtype, optimizer)
    scale = batch * itemsize
    get_facts = _FACTS.get
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
    rows: list[LayerRow] = []
    append = rows.append
    transient = params = buffers = macs = other_ops = total_saved = all_outputs = 0
    for i, (node, data) in enumerate(node_table(graph).items()):
        layer, preds = data["layer"], data["inputs"]
        facts = get_facts(layer) or _facts(layer)
        counts = facts[0]
        sizes[node] = size = counts.out_elements * scale
        step[node] = storage_end[node] = i
        if not preds:  # a network input: given, not computed; needs no gradient
            storage[node] = train_base[node] = node
            grad[node] = False
            activation = saved = 0
            field = fields[node] = layer.field_of(())
        else:
            storage[node] = storage[preds[0]] if facts[1] else node
            train_base[node] = train_base[preds[0]] if facts[2] else node
            for p in preds:
                storage_end[storage[p]] = i
            activation = size if storage[node] == node else 0
            flags = tuple(map(grad.__getitem__, preds))
            grad[node] = counts.params > 0 or True in flags
            plan = layer.saved_plan(flags)
            saved = (batch * (plan.sample_elements * itemsize + plan.sample_bytes)
                     + plan.elements * itemsize + plan.bytes)
            for source in [preds[k] for k in plan.inputs] + ([node] if plan.output else []):
                base = train_base[source]
                if base not in kept:  # each storage counted once, by its first saver
                    kept.add(base)
                    saved += sizes[base]
            in_bytes = sum(map(sizes.__getitem__, preds))
            if size + in_bytes > transient:
                transient = size + in_bytes
            ins = tuple(map(fields.__getitem__, preds))
            if facts[3]:
                warning = check_alignment(graph, node, preds, list(ins))
                if warning is not None:
                    warnings.append(warning)
                field = layer.field_of(ins)
            elif len(ins[0].size) != facts[4]:
                # a reshape moved elements between axes: the field is global (see
                # receptive_field.receptive_fields)
                field = ins[0].as_global()
            else:
                field = layer.field_of(ins)
            fields[node] = field
        if activation:
            allocated.append((node, activation))
        total_saved += saved
        all_outputs += activation
        params += counts.params
        buffers += counts.buffers
        macs += counts.macs
        other_ops += counts.other_ops
        append(LayerRow(node, layer.op, data["block"], preds, layer.out_shape, counts.params,
                        counts.buffers, counts.macs * batch, 2 * counts.macs * batch,
                        counts.other_ops * batch, activation, saved, field, data["span"]))
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
    return rows, totals, warnings


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
