"""Liveness: when each tensor of a graph is made and when it is used for the last time.

Nodes run in graph order (step i runs the i-th node). A tensor is read for the last time
by its last consumer; the network's outputs are read "at the end" (step `len(graph)`).
A *storage* is an allocation: a view (flatten, center_crop) or, at inference, a layer that
returns its input (dropout) lives in its input's storage, which then lives until the last
use of any tensor in it.

Computed once here, and read by every pass that needs it: the inference peak of the
memory analysis (`netdsl.analysis.memory`), the lowered module and the generated source,
which drop each tensor after its last consumer (`netdsl.lowering.module`, `.codegen`),
and the oracle's step-by-step live bytes (`netdsl.oracle.measure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netdsl.layers.base import Layer

if TYPE_CHECKING:
    import networkx as nx


def aliases_input(layer: Layer, training: bool) -> bool:
    """Whether a layer's output is its input's storage: views, and at inference the
    layers that return their input (dropout)."""
    return layer.is_view or (layer.is_view_in_eval and not training)


@dataclass(frozen=True, slots=True)
class Schedule:
    """The liveness of a graph's tensors, nodes run in graph order (see the module)."""

    #: Step of each node (its position in graph order).
    step: dict[str, int]
    #: The node whose allocation each node's output lives in.
    storage: dict[str, str]
    #: The last step that reads each node's output directly (outputs: `len(graph)`).
    last_read: dict[str, int]
    #: For each storage, the last step that uses it or a view of it (outputs: the end).
    storage_end: dict[str, int]

    @property
    def end(self) -> int:
        """The step after the last node: where the outputs are read."""
        return len(self.step)

    def dead_after(self, graph: nx.MultiDiGraph) -> dict[str, tuple[str, ...]]:
        """For each node, the tensors it reads for the last time (never an output), in the
        order of its inputs: what a runner may drop once the node has run."""
        dead: dict[str, tuple[str, ...]] = {}
        for node, preds in graph.nodes(data="inputs"):
            here = self.step[node]
            dead[node] = tuple(dict.fromkeys(p for p in preds if self.last_read[p] == here))
        return dead

    def live_bytes(self, allocated: dict[str, int]) -> list[int]:
        """Bytes live during each step, given the bytes each storage allocates: a storage
        is live from the step that makes it to its last use (inclusive)."""
        delta = [0] * (self.end + 2)
        for node, size in allocated.items():
            if size:
                delta[self.step[node]] += size
                delta[self.storage_end[node] + 1] -= size
        live, out = 0, []
        for change in delta[:self.end]:
            live += change
            out.append(live)
        return out

    def peak(self, allocated: dict[str, int]) -> int:
        """The largest total of live allocations over the steps (outputs included)."""
        return max(self.live_bytes(allocated), default=0)


def schedule(graph: nx.MultiDiGraph, training: bool = False) -> Schedule:
    """The liveness of `graph`'s tensors, in one walk over its nodes."""
    step: dict[str, int] = {}
    storage: dict[str, str] = {}
    last_read: dict[str, int] = {}
    storage_end: dict[str, int] = {}
    for i, (node, data) in enumerate(graph.nodes(data=True)):
        preds = data["inputs"]
        step[node] = last_read[node] = storage_end[node] = i
        storage[node] = (storage[preds[0]] if preds and aliases_input(data["layer"], training)
                         else node)
        for p in preds:
            last_read[p] = i
            storage_end[storage[p]] = i
    end = len(step)
    for out in graph.graph["outputs"]:
        last_read[out] = end
        storage_end[storage[out]] = end
    return Schedule(step, storage, last_read, storage_end)


__all__ = ["Schedule", "aliases_input", "schedule"]
