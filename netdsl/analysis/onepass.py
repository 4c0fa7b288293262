"""Every analysis of `analyze_graph` in two walks over the graph's nodes: its structure,
remembered, and its numbers.

The same figures as composing `count`, `plan_memory` (with its liveness schedule) and
`receptive_fields` and then building the rows (`report.analyze_reference` does exactly
that, and a test compares the two on every spec and on random networks). Each node's
layer record is asked its constant facts once (`_facts`: counts, whether its output is a
view, whether it merges, its field rule), and the walk is split in two:

- the *structure* (`Structure`): where each output lives, which inputs need gradients,
  which node first keeps each saved storage, which storages live until when, the
  receptive fields and their warnings. It depends on the nodes, their inputs and their
  records' kinds and windows, not on their channels;
- the *numbers* (`_numbers`): the bytes and counts, read from the structure.

Architecture search analyses the same structure with new numbers thousands of times (a
width variant changes every record's channels and no window), so structures are kept,
by node names (from the second graph with them on), and reused when a graph has the
same nodes, inputs, outputs, record signatures and tensors kept for backward; every such
graph is checked against the kept structure, never trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdsl.analysis.liveness import aliases_input
from netdsl.analysis.memory import OPTIMIZER_STATES, check_options
from netdsl.analysis.receptive_field import check_alignment
from netdsl.analysis.rows import LayerRow, Totals
from netdsl.errors import Diagnostic
from netdsl.graph import node_columns
from netdsl.layers.base import Field, Layer, keep

if TYPE_CHECKING:
    import networkx as nx

#: What the structure of an analysis reads of a layer record: whether its output is a
#: view at inference and in training, whether it merges, its input rank, whether its
#: receptive field is pointwise, whether it has parameters, and what its field reads
#: besides the input fields (`Layer.field_rule`; the record itself for a kind without
#: a rule; None when pointwise). Interned: equal signatures are one object.
Signature = tuple[bool, bool, bool, int, bool, bool, Any]

#: The constant facts of a layer record: its counts (params, buffers, MACs, other ops,
#: output elements) and its signature.
Facts = tuple[int, int, int, int, int, Signature]

#: layer record -> its facts. Records are immutable and shared (the layer cache,
#: memoised block calls), so most of a candidate's records were met by an earlier one.
#: (Named *_CACHE: the benchmark's from-scratch runs clear it with the others.)
_FACTS_CACHE: dict[Layer, Facts] = {}
_FACTS_LIMIT = 200_000
_SIGNATURE_CACHE: dict[Signature, Signature] = {}


def _facts(layer: Layer) -> Facts:
    if len(_FACTS_CACHE) >= _FACTS_LIMIT:
        _FACTS_CACHE.clear()
        _SIGNATURE_CACHE.clear()
    counts = layer.count_numbers()
    rank = len(layer.in_shapes[0]) - 1 if layer.in_shapes else -1
    # a kind that keeps the default `receptive_field` passes its input's field on as is
    pointwise = type(layer).receptive_field is Layer.receptive_field
    rule = None if pointwise else layer.field_rule()
    signature = (aliases_input(layer, False), aliases_input(layer, True), layer.is_merge,
                 rank, pointwise, counts[0] > 0, layer if rule is None and not pointwise else rule)
    if signature[6] is not layer:  # not interned with a record in it: it would stay alive
        signature = _SIGNATURE_CACHE.setdefault(signature, signature)
    facts = _FACTS_CACHE[layer] = (*counts, signature)
    return facts


class Structure:
    """What the analysis of a graph computes from its structure alone, by node position:
    each computed node's inputs, the gradient pattern of its inputs and the inputs and
    output it keeps for backward (its record's `plan_numbers` for that pattern), the
    storages it is the first to keep; which nodes allocate and until which step their
    storage lives; every receptive field and the alignment warnings. Kept with what it
    was computed from (`fits`)."""

    __slots__ = ("names", "inputs", "spans", "signatures", "outputs", "position", "computed",
                 "allocations", "fields", "warnings")

    def __init__(self, names: tuple[str, ...], inputs: list[tuple[str, ...]], spans: list[Any],
                 signatures: list[Signature], outputs: tuple[str, ...]) -> None:
        self.names, self.inputs, self.spans = names, inputs, spans
        self.signatures, self.outputs = signatures, outputs
        self.position = {name: i for i, name in enumerate(names)}
        #: per computed node: (position, input positions, gradient pattern, kept inputs,
        #: kept output, positions of the storages it keeps first)
        self.computed: list[tuple[int, tuple[int, ...], tuple[bool, ...], tuple[int, ...],
                                  bool, tuple[int, ...]]] = []
        self.allocations: list[tuple[int, int]] = []  # (position, last step of its storage)
        self.fields: list[Field] = []
        self.warnings: list[Diagnostic] = []

    def fits(self, inputs: list[tuple[str, ...]], spans: list[Any],
             signatures: list[Signature], outputs: tuple[str, ...]) -> bool:
        """Whether a graph with these node names (the key it was found by) has this
        structure; its places matter only to the warnings. (Lists of the same objects
        are compared item by item by identity.)"""
        return (signatures == self.signatures and inputs == self.inputs
                and outputs == self.outputs and (not self.warnings or spans == self.spans))


#: node names -> the last structure analysed with them. Bounded: 64 structures, 100,000
#: nodes in all (a 50,000-layer chain's is kept; a ResNet-50 structure takes ~0.1 KB per node).
_STRUCTURE_CACHE: dict[tuple[str, ...], Structure] = {}
_STRUCTURE_LIMIT = 64
#: ids of input fields a merge found aligned (no warning, no error) -> those fields,
#: which the entry keeps alive (so the ids cannot be another field's while it is kept)
_ALIGNED_CACHE: dict[tuple[int, ...], tuple[Field, ...]] = {}
#: the hashes of node names met once (`_keep`)
_NAMES_SEEN_CACHE: set[int] = set()
_STRUCTURE_NODES_LIMIT = 100_000


def analyze_nodes(graph: nx.MultiDiGraph, batch: int, dtype: str, optimizer: str
                  ) -> tuple[PendingRows, Totals, list[Diagnostic]]:
    """The rows (made when first read), totals and receptive-field warnings of
    `analyze_graph`."""
    itemsize = check_options(batch, dtype, optimizer)
    listed, records, spans, blocks, inputs = node_columns(graph)
    get_facts = _FACTS_CACHE.get
    facts = [get_facts(layer) or _facts(layer) for layer in records]
    signatures = [f[5] for f in facts]
    names = tuple(listed)
    outputs = tuple(graph.graph["outputs"])
    structure = _STRUCTURE_CACHE.get(names)
    if structure is None or not structure.fits(inputs, spans, signatures, outputs):
        structure = _structure(graph, names, records, inputs, spans, signatures, outputs)
    numbers = _numbers(structure, records, facts, batch, itemsize)
    if numbers is None:  # a record keeps other tensors than the structure's: anew
        structure = _structure(graph, names, records, inputs, spans, signatures, outputs)
        numbers = _numbers(structure, records, facts, batch, itemsize)
        assert numbers is not None
    sizes, activations, saved_bytes, transient, peak = numbers
    params, buffers, macs, other_ops = map(sum, list(zip(*facts))[:4]) if facts else (0,) * 4
    param_bytes = params * itemsize
    total_saved = sum(saved_bytes)
    state = param_bytes * (2 + OPTIMIZER_STATES[optimizer])
    position = structure.position
    input_bytes = sum(sizes[position[v]] for v in graph.graph["inputs"].values())
    all_outputs = sum(activations)
    macs *= batch
    totals = Totals(params, buffers, macs, 2 * macs, other_ops * batch, param_bytes,
                    all_outputs, peak, total_saved, state + total_saved + transient,
                    input_bytes, input_bytes + param_bytes + all_outputs)
    rows = PendingRows(listed, records, blocks, inputs, spans, batch, activations, saved_bytes,
                       structure.fields, position)
    return rows, totals, list(structure.warnings)


def _structure(graph: nx.MultiDiGraph, names: tuple[str, ...], records: list[Layer],
               inputs: list[tuple[str, ...]], spans: list[Any], signatures: list[Signature],
               outputs: tuple[str, ...]) -> Structure:
    """The structure of an analysis (see `Structure`), kept for the next graph with these
    node names. Raises where branches with different strides merge."""
    structure = Structure(names, inputs, spans, signatures, outputs)
    position, fields, computed = structure.position, structure.fields, structure.computed
    count = len(names)
    storage = list(range(count))  # where each output lives at inference
    train_base = list(range(count))  # where each output lives while training
    storage_end = list(range(count))  # last step using each storage (liveness)
    grad = [False] * count  # network inputs need no gradient
    kept: set[int] = set()
    for i, (layer, preds, signature) in enumerate(zip(records, inputs, signatures)):
        if not preds:  # a network input: given, not computed
            fields.append(layer.field_of(()))
            continue
        view, train_view, merges, rank, pointwise, has_params, _ = signature
        if len(preds) == 1:  # most layers: the same as below, without the loops
            first = position[preds[0]]
            at: tuple[int, ...] = (first,)
            storage_end[storage[first]] = i
            flags: tuple[bool, ...] = (grad[first],)
        else:
            at = tuple(map(position.__getitem__, preds))
            first = at[0]
            for p in at:
                storage_end[storage[p]] = i
            flags = tuple(map(grad.__getitem__, at))
        if view:
            storage[i] = storage[first]
        if train_view:
            train_base[i] = train_base[first]
        grad[i] = has_params or True in flags
        plan = layer.plan_numbers(flags)
        kept_inputs, kept_output = plan[0], plan[1]
        firsts: tuple[int, ...] = ()  # each storage counted once, by its first saver
        for k in kept_inputs:
            base = train_base[at[k]]
            if base not in kept:
                kept.add(base)
                firsts += (base,)
        if kept_output and train_base[i] not in kept:
            kept.add(train_base[i])
            firsts += (train_base[i],)
        computed.append((i, at, flags, kept_inputs, kept_output, firsts))
        if merges:
            fields.append(_merged_field(graph, structure, layer, i, at))
            continue
        field = fields[first]
        if len(field.size) != rank:
            # a reshape moved elements between axes: the field is global (see
            # receptive_field.receptive_fields)
            field = field.as_global()
        elif not pointwise:  # the field of the inputs' fields
            field = layer.field_of((field,) if len(at) == 1 else tuple(fields[p] for p in at))
        fields.append(field)
    for out in outputs:
        storage_end[storage[position[out]]] = count
    structure.allocations = [(i, storage_end[i]) for i, *_ in computed if storage[i] == i]
    _keep(names, structure)
    return structure


def _keep(names: tuple[str, ...], structure: Structure) -> None:
    """Keep a structure for the next graph with its node names, from the second graph
    with them on: most names are met once (a layers variant's, a report's), and a kept
    structure is garbage for the collector to scan until the cache is cleared."""
    if names not in _STRUCTURE_CACHE:
        seen = hash(names)
        if seen not in _NAMES_SEEN_CACHE:
            if len(_NAMES_SEEN_CACHE) >= 4096:
                _NAMES_SEEN_CACHE.clear()
            _NAMES_SEEN_CACHE.add(seen)
            return
    if len(names) <= _STRUCTURE_NODES_LIMIT:
        if (len(_STRUCTURE_CACHE) >= _STRUCTURE_LIMIT
                or sum(map(len, _STRUCTURE_CACHE)) + len(names) > _STRUCTURE_NODES_LIMIT):
            _STRUCTURE_CACHE.clear()
        _STRUCTURE_CACHE[names] = structure


def _merged_field(graph: nx.MultiDiGraph, structure: Structure, layer: Layer, i: int,
                  at: tuple[int, ...]) -> Field:
    """The receptive field of the i-th node, a merge of the nodes at `at`; its alignment
    warning goes to the structure's."""
    ins = tuple([structure.fields[p] for p in at])
    aligned = tuple(map(id, ins))  # (the fields are interned: a ResNet meets few tuples)
    if _ALIGNED_CACHE.get(aligned) is None:
        warning = check_alignment(graph, structure.names[i], structure.inputs[i], ins)
        if warning is not None:
            structure.warnings.append(warning)
        else:  # kept with the fields, so that their ids stay theirs while it is kept
            keep(_ALIGNED_CACHE, aligned, ins, 4096)
    return layer.field_of(ins)


def _numbers(structure: Structure, records: list[Layer], facts: list[Facts], batch: int,
             itemsize: int) -> tuple[list[int], list[int], list[int], int, int] | None:
    """Each node's output, activation and saved bytes, the largest input-plus-output pair
    (the backward transient) and the inference peak; None when a record keeps other
    tensors for backward than the structure says."""
    scale = batch * itemsize
    sizes = [f[4] * scale for f in facts]
    saved_bytes = [0] * len(records)
    transient = 0
    for i, at, flags, kept_inputs, kept_output, firsts in structure.computed:
        (now_inputs, now_output, sample_elements, sample_bytes, elements,
         extra_bytes) = records[i].plan_numbers(flags)
        if now_output is not kept_output or now_inputs != kept_inputs:
            return None
        saved = (batch * (sample_elements * itemsize + sample_bytes)
                 + elements * itemsize + extra_bytes)
        for base in firsts:
            saved += sizes[base]
        saved_bytes[i] = saved
        pair = sizes[i] + (sizes[at[0]] if len(at) == 1 else sum(map(sizes.__getitem__, at)))
        if pair > transient:
            transient = pair
    activations = [0] * len(records)
    end = len(records)
    delta = [0] * (end + 2)
    for i, last in structure.allocations:
        activations[i] = size = sizes[i]
        delta[i] += size
        delta[last + 1] -= size
    live = peak = 0
    for change in delta[:end]:
        live += change
        if live > peak:
            peak = live
    return sizes, activations, saved_bytes, transient, peak


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
                 activation: list[int], saved: list[int], fields: list[Field],
                 index: dict[str, int] | None = None) -> None:
        # (the columns are read, never changed: a replay's names, blocks, inputs and spans
        # are the same lists for every report of its recording)
        self.names, self.records, self.blocks = names, records, blocks
        self.inputs, self.spans, self.batch = inputs, spans, batch
        self.activation, self.saved, self.fields = activation, saved, fields
        self._index = index  # name -> position, made when first needed

    def record(self, name: str) -> Layer:
        """The layer record of the node called `name` (KeyError when there is none)."""
        return self.records[self._positions()[name]]

    def _positions(self) -> dict[str, int]:
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        return self._index

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
        i = self._positions().get(name)
        return None if i is None else self.make(i)
