"""Roll-up of layer rows by block path (`--depth N`, `Report.rollup`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdsl.layers.base import Field

if TYPE_CHECKING:
    from netdsl.analysis.report import LayerRow


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
        from netdsl.analysis.report import rf_dict

        return {"name": self.name, "layers": self.layers, "shape": list(self.shape),
                "params": self.params, "macs": self.macs,
                "activation_bytes": self.activation_bytes,
                "saved_for_backward_bytes": self.saved_for_backward_bytes,
                "rf": rf_dict(self.rf)}


def prefix(name: str, depth: int) -> str:
    """The first `depth` dotted parts of a node name."""
    return ".".join(name.split(".")[:max(depth, 1)])


def summarize(name: str, members: list[LayerRow]) -> BlockRow:
    """One row for a group of layers: counts and bytes summed; the shape and receptive
    field of its last layer (its output, in graph order)."""
    last = members[-1]
    return BlockRow(name, len(members), last.shape, sum(r.params for r in members),
                    sum(r.macs for r in members), sum(r.activation_bytes for r in members),
                    sum(r.saved_for_backward_bytes for r in members), last.rf)


def groups(rows: Iterable[LayerRow], depth: int) -> dict[str, list[LayerRow]]:
    """Rows by the first `depth` parts of their names, in order of first appearance."""
    out: dict[str, list[LayerRow]] = {}
    for row in rows:
        out.setdefault(prefix(row.name, depth), []).append(row)
    return out


def rollup(rows: list[LayerRow], depth: int) -> list[BlockRow]:
    """Group rows by the first `depth` dotted parts of their names (see `summarize`)."""
    return [summarize(key, members) for key, members in groups(rows, depth).items()]
