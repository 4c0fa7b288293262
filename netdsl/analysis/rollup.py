"""Roll-up of layer rows by block path (`--depth N`, `Report.rollup`)."""

from __future__ import annotations

from collections.abc import Iterable

from netdsl.analysis.rows import BlockRow, LayerRow


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
