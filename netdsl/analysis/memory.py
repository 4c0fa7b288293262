"""Memory: activations, inference peak by liveness, tensors saved for backward, training peak.

Definitions (docs/conventions.md):
- A node's activation bytes: the bytes its output *allocates* at inference (0 for views
  such as flatten and center_crop, which share their input's storage, and for dropout,
  which returns its input at inference).
- Inference peak: nodes run in graph order; a storage is live from the step that makes
  it until the last consumer of it (or of a view of it) has run; the network output
  stays live to the end. Parameters and the network inputs are not counted.
- Saved for backward: the distinct storages autograd keeps when training (each
  counted once, attributed to the first node that saves it), parameters and buffers
  excluded, the network input included when a layer saves it. A layer none of whose
  inputs or parameters requires a gradient keeps nothing.
- Training peak: parameters + gradients + optimizer state + saved for backward + the
  largest input-plus-output gradient pair of one layer (the backward pass's transient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netdsl.analysis.liveness import aliases_input, schedule
from netdsl.errors import UsageError
from netdsl.layers.base import SavedPlan

if TYPE_CHECKING:
    import networkx as nx

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
#: Optimizer state per parameter, in parameter-sized tensors.
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """Memory figures in bytes for one batch size and dtype."""

    activation_bytes: dict[str, int]
    saved_bytes: dict[str, int]
    inference_peak_bytes: int
    saved_for_backward_bytes: int
    param_bytes: int
    training_peak_bytes: int


def dtype_size(dtype: str) -> int:
    """Bytes per element of an activation dtype."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise UsageError(f"unknown dtype '{dtype}'; choose one of {', '.join(DTYPE_BYTES)}") from None


def check_options(batch: int, dtype: str, optimizer: str) -> int:
    """Validate an analysis context (UsageError otherwise); the dtype's item size."""
    if optimizer not in OPTIMIZER_STATES:
        raise UsageError(f"unknown optimizer '{optimizer}'; choose one of "
                         f"{', '.join(OPTIMIZER_STATES)}")
    if batch < 1:
        raise UsageError(f"batch must be at least 1, got {batch}")
    return dtype_size(dtype)


def storages(graph: nx.MultiDiGraph, training: bool = False) -> dict[str, str]:
    """The node whose allocation each node's output lives in."""
    return schedule(graph, training).storage


def tensor_bytes(graph: nx.MultiDiGraph, batch: int, itemsize: int) -> dict[str, int]:
    """Bytes of every node's output tensor (views included) for the batch."""
    scale = batch * itemsize
    return {node: layer.counts().out_elements * scale for node, layer in graph.nodes(data="layer")}


def plan_memory(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                optimizer: str = "sgd", params: int = 0) -> MemoryPlan:
    """All memory figures of the graph, in one walk over its nodes, and the inference
    peak from the graph's liveness schedule (netdsl/analysis/liveness.py). Architecture
    search runs this thousands of times."""
    itemsize = check_options(batch, dtype, optimizer)
    scale = batch * itemsize
    live = schedule(graph)  # where each output lives at inference, and until when
    base = live.storage
    train_base: dict[str, str] = {}  # where each output lives while training
    grad: dict[str, bool] = {}
    sizes: dict[str, int] = {}
    activation: dict[str, int] = {}
    saved: dict[str, int] = {}
    kept: set[str] = set()
    transient = 0
    for node, data in graph.nodes(data=True):
        layer, preds = data["layer"], data["inputs"]
        counts = layer.counts()
        sizes[node] = size = counts.out_elements * scale
        if not preds:  # a network input: given, not computed; needs no gradient
            train_base[node] = node
            grad[node] = False
            activation[node] = saved[node] = 0
            continue
        train_base[node] = train_base[preds[0]] if aliases_input(layer, True) else node
        activation[node] = size if base[node] == node else 0
        flags = tuple(map(grad.__getitem__, preds))
        grad[node] = counts.params > 0 or True in flags
        saved[node] = _saved_bytes(layer.saved_plan(flags), node, preds, train_base, sizes,
                                   kept, batch, itemsize)
        in_bytes = sum(map(sizes.__getitem__, preds))
        if size + in_bytes > transient:
            transient = size + in_bytes
    param_bytes = params * itemsize
    total_saved = sum(saved.values())
    state = param_bytes * (2 + OPTIMIZER_STATES[optimizer])
    return MemoryPlan(activation, saved, live.peak(activation), total_saved,
                      param_bytes, state + total_saved + transient)


def _saved_bytes(plan: SavedPlan, node: str, preds: tuple[str, ...], train_base: dict[str, str],
                 sizes: dict[str, int], kept: set[str], batch: int, itemsize: int) -> int:
    """Bytes a node newly keeps for backward: storages not kept already, and its extras."""
    total = (batch * (plan.sample_elements * itemsize + plan.sample_bytes)
             + plan.elements * itemsize + plan.bytes)
    sources = [preds[i] for i in plan.inputs] + ([node] if plan.output else [])
    for source in sources:
        storage = train_base[source]
        if storage not in kept:
            kept.add(storage)
            total += sizes[storage]
    return total
