"""Roll-up of layer rows by block path (`--depth N`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netdsl.analysis.report import BlockRow, LayerRow


def rollup(rows: list[LayerRow], depth: int) -> list[BlockRow]:
    """Group rows by the first `depth` dotted parts of their names.

    The shape and receptive field of a group are those of its last layer (its output,
    in graph order); counts and bytes are sums.
    """
    from netdsl.analysis.report import BlockRow

    groups: dict[str, list[LayerRow]] = {}
    for row in rows:
        key = ".".join(row.name.split(".")[:max(depth, 1)])
        groups.setdefault(key, []).append(row)
    out = []
    for key, members in groups.items():
        last = members[-1]
        out.append(BlockRow(key, len(members), last.shape, sum(r.params for r in members),
                            sum(r.macs for r in members), sum(r.activation_bytes for r in members),
                            sum(r.saved_for_backward_bytes for r in members), last.rf))
    return out
