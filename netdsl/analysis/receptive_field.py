"""Receptive fields per node and spatial axis, with the branch alignment check.

Output index i of a node sees input pixels i*S - P to i*S - P + r - 1 along each axis
(r: size, S: effective stride, P: effective padding). Each layer kind gives its own
transfer (netdsl/layers); merges take the union of their branches and are checked:
exact branches with different effective strides are an error, branches whose windows are
centred differently get a warning (TensorFlow-style "same" padding on even inputs
does this on purpose in some published networks).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from netdsl.errors import Diagnostic, NetdslError, Note
from netdsl.layers.base import Field

if TYPE_CHECKING:
    import networkx as nx


def receptive_fields(graph: nx.MultiDiGraph) -> tuple[dict[str, Field], list[Diagnostic]]:
    """The field of every node, and the alignment warnings of merges."""
    fields: dict[str, Field] = {}
    warnings: list[Diagnostic] = []
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        ins = tuple(fields[p] for p in data["inputs"])
        if layer.is_merge:
            warning = check_alignment(graph, node, data["inputs"], list(ins))
            if warning is not None:
                warnings.append(warning)
        if ins and not layer.is_merge and len(ins[0].size) != len(layer.in_shape) - 1:
            # a reshape moved elements between axes: the input's axes are no longer the
            # network input's, so no window rule applies; the field is global
            fields[node] = ins[0].as_global()
        else:
            fields[node] = layer.field_of(ins)
    return fields, warnings


def centre(field: Field) -> tuple[Fraction | int, ...]:
    """Twice the offset of the window's centre from i*S, per axis (kept exact)."""
    return tuple(r - 1 - 2 * p for r, p in zip(field.size, field.padding))


def check_alignment(graph: nx.MultiDiGraph, node: str, preds: tuple[str, ...],
                    fields: Sequence[Field]) -> Diagnostic | None:
    """Raise when local branches step differently; warn when their centres differ.

    Only exact fields take part: after resampling to a size (an FPN's nearest upsampling
    of an 8x8 map to 15x15) the window depends on the position, so a branch's stride is
    an average that cannot disagree with anything; the merged field is inexact too.
    """
    local = [(p, f) for p, f in zip(preds, fields) if not f.is_global and f.exact]
    if len(local) < 2:
        return None
    strides = {f.stride for _, f in local}
    centres = {centre(f) for _, f in local}
    if len(strides) == 1 and len(centres) == 1:
        return None
    span = graph.nodes[node]["span"]
    notes = [Note(f"branch from '{p}': field {_fmt(f.size)}, stride {_fmt(f.stride)}, "
                  f"padding {_fmt(f.padding)}", graph.nodes[p]["span"]) for p, f in local]
    op = graph.nodes[node]["layer"].op
    if len(strides) > 1:
        raise NetdslError(f"{op}() merges branches with different effective strides: "
                          + " and ".join(_fmt(s) for s in strides), span, notes)
    offsets = " vs ".join(_fmt(tuple(Fraction(v) / 2 for v in c)) for c in sorted(centres))
    return Diagnostic(f"{op}() merges branches whose receptive fields are not centred alike "
                      f"(centre offsets {offsets} input pixels)", span, notes)


def _fmt(values: tuple) -> str:
    shown = [str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)
