"""The report's row and total types: plain data, shared by the analyses that fill them
(`report.analyze_graph`, `rollup`) and the renderers in `netdsl.report`."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from netdsl.errors import Span
from netdsl.layers.base import Field


def rf_dict(field: Field) -> dict[str, Any]:
    """A receptive field as the JSON report's `rf` object (fractions become floats)."""
    return {"size": _plain(field.size), "stride": _plain(field.stride),
            "padding": _plain(field.padding), "global": field.is_global, "exact": field.exact}


@dataclass(slots=True)
class LayerRow:
    """One node of the graph with everything the analyses say about it."""

    name: str
    op: str
    block: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    flops: int
    other_ops: int
    activation_bytes: int
    saved_for_backward_bytes: int
    rf: Field
    source: Span
    #: The layer feeds only training-only heads (skipped at inference).
    train_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """As one entry of the JSON report's `layers`."""
        out = {k: getattr(self, k) for k in ("name", "op", "block", "params", "buffers", "macs",
                                             "flops", "other_ops", "activation_bytes",
                                             "saved_for_backward_bytes")}
        out.update(inputs=list(self.inputs), shape=list(self.shape), rf=rf_dict(self.rf),
                   source=self.source.to_dict())
        if self.train_only:
            out["train_only"] = True
        return out


@dataclass(frozen=True, slots=True)
class HeadRow:
    """One declared output: its node and shape, the layers that feed it (itself included,
    in graph order) and those that feed it alone, with their params and MACs."""

    name: str
    node: str
    shape: tuple[int, ...]
    training: bool
    nodes: tuple[str, ...]
    own_nodes: tuple[str, ...]
    own_params: int
    own_macs: int

    def to_dict(self) -> dict[str, Any]:
        """As one entry of the JSON report's `heads`."""
        return {"name": self.name, "node": self.node, "shape": list(self.shape),
                "training": self.training, "nodes": list(self.nodes),
                "own_nodes": list(self.own_nodes), "own_params": self.own_params,
                "own_macs": self.own_macs}


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-network figures (bytes for the report's batch and dtype).

    `estimated_total_bytes` is torchinfo's "estimated total size" made exact:
    `input_bytes + param_bytes + activation_bytes`, the inputs, the parameters and every
    layer's output at once (each storage once; buffers, gradients and optimizer state
    not included). It bounds the memory of an inference forward that keeps everything;
    `inference_peak_bytes` (live activations only) is what a forward really needs on top
    of the weights and inputs, `training_peak_bytes` what one training step needs.
    """

    params: int
    buffers: int
    macs: int
    flops: int
    other_ops: int
    param_bytes: int
    activation_bytes: int
    inference_peak_bytes: int
    saved_for_backward_bytes: int
    training_peak_bytes: int
    input_bytes: int
    estimated_total_bytes: int


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A roll-up of the layers under one block path prefix (or one layer, when the
    layer's own name is no longer than the prefix)."""

    name: str
    layers: int
    shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int
    saved_for_backward_bytes: int
    rf: Field

    def to_dict(self) -> dict[str, Any]:
        """As one entry of the JSON report's `blocks` (`--depth N`)."""
        return {"name": self.name, "layers": self.layers, "shape": list(self.shape),
                "params": self.params, "macs": self.macs,
                "activation_bytes": self.activation_bytes,
                "saved_for_backward_bytes": self.saved_for_backward_bytes,
                "rf": rf_dict(self.rf)}


def _plain(values: tuple) -> list[int | float]:
    return [float(v) if isinstance(v, Fraction) else v for v in values]
