"""The oracle: every static number of a graph against what PyTorch measures on its lowering.

    >>> from netdsl.oracle import verify
    >>> checks = verify(netdsl.load("specs/lenet5.net").graph())
    >>> all(c.ok for c in checks)
    True

`verify` builds the module (`netdsl.build`), runs it, and returns one `Check` per number:
params and buffers (exact), every node's output shape (exact), MACs at batch 1
(exact), bytes saved for backward (exact), the inference peak at layer boundaries
(exact) and with layer temporaries (within one layer's temporaries, see below), the
estimated total size (inputs + parameters + every output storage, exact), and the
receptive fields of a few nodes. How each is measured: `netdsl.oracle.measure`.

The inference peak. netdsl's peak is the largest total of live tensors *between*
layers: each node's output lives from its step to its last consumer's. PyTorch's
measured peak of live tensors at the same moments (right after each node's module
returns) must equal it exactly, and so must every node's activation bytes. Inside a
layer, the lowered module may also make tensors that it drops before returning, which
netdsl's model does not count: the int64 argmax indices that the CPU max pool allocates
even under `no_grad` (twice the output's bytes in float32), the zero-padded copy of the
input made by an asymmetric ("same" at stride 2) convolution or pool (up to several
times the input when the input is small next to the padding), the partial sums of a
three-way add, local response normalisation's squares and window averages. The true peak
of live tensors (every op) is therefore checked apart, with a tolerance: it may exceed
netdsl's by at most the temporaries of one layer (the largest, measured per layer as
the rise of its step above the live bytes before and after it), and it may never be
below it. There is no fixed ratio to give instead: a padded copy's size depends on the
padding, not on the layer's input or output. Memory a kernel allocates without making
it a tensor (a convolution's workspace) is not seen at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx


@dataclass(frozen=True)
class Check:
    """One static number against its measurement.

    `tolerance` is 0 for an exact comparison; for the peak with layer temporaries, the
    bytes by which the measurement may exceed the static number; for a receptive field
    judged over several positions, the rule (see `measure.FieldCheck`). `detail` says
    where a mismatch is (the first nodes that differ) or what the measurement includes.
    """

    name: str
    static: Any
    measured: Any
    tolerance: Any
    ok: bool
    detail: str = ""
    #: What is checked: params, buffers, shapes, macs, saved, activation, peak or fields.
    kind: str = ""


#: The most memory `verify` may need to run a network (a documented limit): beyond it the
#: network is refused before anything is allocated, instead of failing in PyTorch's
#: allocator. (`netdsl analyze` runs nothing and has no such limit.)
MAX_VERIFY_BYTES = 8 * 2**30


def check_memory(report: Any, report_one: Any, fields: bool) -> None:
    """Refuse, located at the largest layer output, a network whose measurements would need
    more than MAX_VERIFY_BYTES: a training step at the report's batch (float32), or for the
    receptive fields one at batch 1 in float64 (twice the float32 bytes)."""
    need = report.totals.training_peak_bytes
    if fields:
        need = max(need, 2 * report_one.totals.training_peak_bytes)
    if need <= MAX_VERIFY_BYTES:
        return
    from netdsl.errors import LimitError
    from netdsl.report import units

    largest = max(report.layers, key=lambda row: row.activation_bytes)
    raise LimitError(f"verify would need about {units.bytes_long(need)} to run this network, "
                     f"past its limit of {MAX_VERIFY_BYTES // 2**30} GiB; the largest output is "
                     f"{largest.name}'s, {units.bytes_long(largest.activation_bytes)} at batch "
                     f"{report.batch} (`netdsl analyze` runs nothing and has no such limit)",
                     largest.source)


def exact(name: str, static: Any, measured: Any, detail: str = "", kind: str = "") -> Check:
    """A check that passes only on equality."""
    return Check(name, static, measured, 0, static == measured, detail, kind)


def verify(graph: nx.MultiDiGraph, *, batch: int = 2, fields: bool = True,
           field_nodes: list[str] | None = None,
           progress: Callable[[str], None] | None = None) -> list[Check]:
    """Run every measurement on the lowered graph and compare with the static analyses.

    Totals and per-node numbers (the report's columns): params and buffers; output
    shapes, saved bytes, activation bytes and the inference peak at `batch` (float32);
    MACs and the inference peak also at batch 1. `fields=False` skips the receptive
    fields; `field_nodes` chooses the nodes whose field is checked (default: a few spread
    over the network, and the first global node; none for a network without exactly one
    spatial input). `progress`, if given, is called with the name of each measurement as
    it starts.
    """
    import torch

    from netdsl.analysis.receptive_field import receptive_fields
    from netdsl.analysis.report import analyze_graph
    from netdsl.lowering.module import build
    from netdsl.oracle import measure as m

    step = progress or (lambda _: None)
    reports = {b: analyze_graph(graph, batch=b) for b in sorted({1, batch})}
    report = reports[batch]
    check_memory(report, reports[1], fields)
    step("building the model")
    torch.manual_seed(0)
    model = build(graph)
    model.training_heads = True  # the whole graph, every head, in both modes
    rows = {row.name: row for row in report.layers if row.op != "input"}
    params, buffers = m.measure_params(graph, model), m.measure_buffers(graph, model)
    step("counting MACs (FlopCounterMode)")
    macs = m.measure_macs(graph, model)
    step(f"measuring bytes saved for backward (batch {batch})")
    saved = m.measure_saved_bytes(graph, model, batch)
    step(f"measuring output shapes (batch {batch})")
    shapes = m.measure_shapes(graph, model, batch)
    checks = [exact("params", report.totals.params, params.total, kind="params"),
              per_node("params per node", {n: r.params for n, r in rows.items()}, params.nodes,
                       "params"),
              exact("buffers", report.totals.buffers, buffers.total, kind="buffers"),
              per_node("buffers per node", {n: r.buffers for n, r in rows.items()},
                       buffers.nodes, "buffers"),
              shape_check(graph, shapes, batch),
              exact("MACs (batch 1)", reports[1].totals.macs, macs.total, kind="macs"),
              per_node("MACs per node (batch 1)",
                       {r.name: r.macs for r in reports[1].layers if r.name in rows}, macs.nodes,
                       "macs"),
              exact(f"saved for backward (batch {batch}, bytes)",
                    report.totals.saved_for_backward_bytes, saved.total, kind="saved"),
              per_node(f"saved for backward per node (batch {batch})",
                       {n: r.saved_for_backward_bytes for n, r in rows.items()}, saved.nodes,
                       "saved")]
    for b, rep in reports.items():
        step(f"tracking live tensors of a forward (batch {b})")
        live = m.measure_inference_memory(graph, model, b)
        if b == batch:
            checks.append(per_node(f"activation bytes per node (batch {b})",
                                   {n: r.activation_bytes for n, r in rows.items()},
                                   live.activation, "activation"))
            checks.append(exact(f"estimated total size (batch {b}, bytes)",
                                rep.totals.estimated_total_bytes,
                                m.measure_total_size(graph, model, live, b),
                                "input + parameters + every node's output storage",
                                kind="total"))
        checks += peak_checks(graph, rep.totals.inference_peak_bytes, live, b)
    checks += inference_head_checks(graph, model, batch)
    if fields:
        static_fields, _ = receptive_fields(graph)
        nodes = field_nodes if field_nodes is not None else m.field_nodes(graph, static_fields)
        if nodes:
            step(f"measuring receptive fields of {len(nodes)} nodes (float64 gradients)")
            checks += [field_check(c) for c in m.measure_fields(graph, static_fields, nodes)]
    return checks


def inference_head_checks(graph: nx.MultiDiGraph, model: Any, batch: int) -> list[Check]:
    """For a network with training-only heads: the module in evaluation mode (heads off)
    against the analysis of the graph without them: the outputs it returns, MACs, every
    node's activation bytes and the inference peak."""
    import torch

    from netdsl.analysis.report import analyze_graph
    from netdsl.heads import eval_graph, has_training_heads, heads
    from netdsl.oracle import measure as m

    if not has_training_heads(graph):
        return []
    sub = eval_graph(graph)
    model.training_heads = False
    try:
        model.eval()
        with torch.no_grad():
            returned = list(model(*m.example_inputs(graph, batch)))
        wanted = [h.name for h in heads(graph) if not h.training]
        checks = [exact("outputs in evaluation (training heads skipped)", wanted, returned,
                        kind="outputs")]
        one = analyze_graph(sub, batch=1)
        macs = m.measure_macs(sub, model)
        checks.append(exact("MACs without training heads (batch 1)", one.totals.macs,
                            macs.total, kind="macs"))
        for b in sorted({1, batch}):
            rep = one if b == 1 else analyze_graph(sub, batch=b)
            live = m.measure_inference_memory(sub, model, b)
            rows = {r.name: r.activation_bytes for r in rep.layers if r.op != "input"}
            checks.append(per_node(f"activation bytes without training heads (batch {b})",
                                   rows, live.activation, kind="activation"))
            checks += [Check(c.name.replace("inference peak", "inference peak without training "
                                            "heads"), c.static, c.measured, c.tolerance, c.ok,
                             c.detail, c.kind)
                       for c in peak_checks(sub, rep.totals.inference_peak_bytes, live, b)]
    finally:
        model.training_heads = True
    return checks


def per_node(name: str, static: dict[str, int], measured: dict[str, int],
             kind: str = "") -> Check:
    """Every node's number at once (a node missing from `measured` measured 0)."""
    wrong = [n for n in static if measured.get(n, 0) != static[n]]
    wrong += [n for n in measured if n not in static and measured[n]]
    detail = "; ".join(f"{n}: {static.get(n)} vs {measured.get(n, 0)}" for n in wrong[:4])
    return Check(name, f"{len(static)} nodes", f"{len(static) - len(wrong)} equal", 0, not wrong,
                 detail + (f" (+{len(wrong) - 4} more)" if len(wrong) > 4 else ""), kind)


def shape_check(graph: nx.MultiDiGraph, measured: dict[str, tuple[int, ...]], batch: int) -> Check:
    """All node output shapes at once; the detail names the first mismatches."""
    static = {n: tuple(graph.nodes[n]["layer"].out_shape) for n in graph}
    wrong = [n for n in static if measured.get(n) != static[n]]
    detail = "; ".join(f"{n}: {list(static[n])} vs {list(measured.get(n) or [])}"
                       for n in wrong[:5])
    return Check(f"output shapes (batch {batch})", f"{len(static)} nodes",
                 f"{len(static) - len(wrong)} equal", 0, not wrong, detail, "shapes")


def peak_checks(graph: nx.MultiDiGraph, static: int, live: Any, batch: int) -> list[Check]:
    """The peak at layer boundaries (exact) and with layer temporaries (within one layer's
    temporaries); the details name the first steps that differ and the largest temporaries."""
    from netdsl.oracle.measure import static_live_after_step

    steps = static_live_after_step(graph, batch)
    wrong = [n for n in steps if live.after_step.get(n) != steps[n]]
    detail = "; ".join(f"after {n}: {steps[n]} vs {live.after_step.get(n)}" for n in wrong[:3])
    node, largest = max(live.temporaries.items(), key=lambda kv: kv[1], default=(None, 0))
    extra = f"largest layer temporaries: {largest} bytes in {node}" if largest else \
        "no layer temporaries"
    return [exact(f"inference peak (batch {batch}, bytes)", static, live.boundary_peak, detail,
                  "peak"),
            Check(f"inference peak with layer temporaries (batch {batch}, bytes)", static,
                  live.peak, largest, static <= live.peak <= static + largest, extra, "peak")]


def field_check(check: Any) -> Check:
    """A receptive-field comparison as a `Check`: the windows (first..last input index
    per axis) of the centre position, judged over the positions of one period."""
    def show(box: Any) -> str:
        return "none" if box is None else " x ".join(f"{a}..{b}" for a, b in box)

    if check.is_global:
        return Check(f"receptive field of {check.node} (global)", show(check.static[0]),
                     show(check.measured[0]), 0, check.ok, check.problem, "fields")
    where = ",".join(map(str, check.positions[0]))
    extra = f"; {len(check.positions)} positions" if len(check.positions) > 1 else ""
    rule = "exact" if len(check.positions) == 1 else "inside, same start, same largest"
    return Check(f"receptive field of {check.node} (at {where}{extra})", show(check.static[0]),
                 show(check.measured[0]), rule, check.ok, check.problem, "fields")


__all__ = ["Check", "verify"]
