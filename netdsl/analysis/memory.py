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

import networkx as nx

from netdsl.errors import UsageError

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


def storages(graph: nx.MultiDiGraph, training: bool = False) -> dict[str, str]:
    """The node whose allocation each node's output lives in (views resolve to their base;
    at inference, so do layers that return their input, like dropout)."""
    base: dict[str, str] = {}
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        alias = layer.is_view or (layer.is_view_in_eval and not training)
        base[node] = base[data["inputs"][0]] if alias else node
    return base


def requires_grad(graph: nx.MultiDiGraph) -> dict[str, bool]:
    """Whether each node's output requires a gradient: it depends on some parameter
    (network inputs do not require gradients)."""
    out: dict[str, bool] = {}
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        out[node] = layer.op != "input" and (
            layer.counts()[0] > 0 or any(out[p] for p in data["inputs"]))
    return out


def tensor_bytes(graph: nx.MultiDiGraph, batch: int, itemsize: int) -> dict[str, int]:
    """Bytes of every node's output tensor (views included) for the batch."""
    scale = batch * itemsize
    return {node: layer.counts()[4] * scale for node, layer in graph.nodes(data="layer")}


def plan_memory(graph: nx.MultiDiGraph, batch: int = 1, dtype: str = "float32",
                optimizer: str = "sgd", params: int = 0) -> MemoryPlan:
    """All memory figures of the graph."""
    if optimizer not in OPTIMIZER_STATES:
        raise UsageError(f"unknown optimizer '{optimizer}'; choose one of "
                         f"{', '.join(OPTIMIZER_STATES)}")
    if batch < 1:
        raise UsageError(f"batch must be at least 1, got {batch}")
    itemsize = dtype_size(dtype)
    base = storages(graph)
    sizes = tensor_bytes(graph, batch, itemsize)
    inputs = set(graph.graph["inputs"].values())
    activation = {n: sizes[n] if base[n] == n and n not in inputs else 0 for n in graph}
    saved = saved_for_backward(graph, storages(graph, training=True), sizes, batch, itemsize)
    param_bytes = params * itemsize
    state = param_bytes * (2 + OPTIMIZER_STATES[optimizer])
    total_saved = sum(saved.values())
    return MemoryPlan(activation, saved, inference_peak(graph, base, activation), total_saved,
                      param_bytes, state + total_saved + backward_transient(graph, sizes))


def inference_peak(graph: nx.MultiDiGraph, base: dict[str, str], allocated: dict[str, int]) -> int:
    """Largest total of live allocations over the steps of a forward pass in graph order."""
    order = {node: i for i, node in enumerate(graph)}
    last_use = {node: order[node] for node in graph}
    for node, preds in graph.nodes(data="inputs"):
        for p in preds:
            b = base[p]
            last_use[b] = max(last_use[b], order[node])
    end = len(order)
    for out in graph.graph["outputs"]:
        last_use[base[out]] = end
    # +bytes when a storage is made, -bytes after its last use; scan the steps in order.
    delta = [0] * (end + 2)
    for node in graph:
        if allocated[node]:
            delta[order[node]] += allocated[node]
            delta[last_use[node] + 1] -= allocated[node]
    peak = live = 0
    for change in delta:
        live += change
        peak = max(peak, live)
    return peak


def saved_for_backward(graph: nx.MultiDiGraph, base: dict[str, str], sizes: dict[str, int],
                       batch: int, itemsize: int) -> dict[str, int]:
    """Bytes each node newly keeps for backward (storages already kept count once)."""
    kept: set[str] = set()
    out: dict[str, int] = {}
    grad = requires_grad(graph)
    for node, data in graph.nodes(data=True):
        total = 0
        for item in data["layer"].saved_for(tuple(grad[p] for p in data["inputs"])):
            if item.what == "extra":
                count = item.elements * (batch if item.per_sample else 1)
                total += count * (item.itemsize or itemsize)
                continue
            source = node if item.what == "output" else data["inputs"][item.index]
            storage = base[source]
            if storage not in kept:
                kept.add(storage)
                total += sizes[storage]
        out[node] = total
    return out


def backward_transient(graph: nx.MultiDiGraph, sizes: dict[str, int]) -> int:
    """The largest output gradient plus input gradients of one layer."""
    worst = 0
    for node, preds in graph.nodes(data="inputs"):
        worst = max(worst, sizes[node] + sum(sizes[p] for p in preds))
    return worst
