"""The drawing model: what the picture shows, as plain data (JSON for the renderer).

Nodes (one per layer, plus the failing call of a broken spec and its message), the block
tree (each block call a box, runs of identical sibling calls grouped), edges with the
tensor shape they carry, the hover text of every node and box, and the shade of each by
the chosen metric. The renderer (assets/draw.js) lays this out with ELK and draws SVG,
in the browser and, for `.svg` output, in an embedded V8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import networkx as nx

from netdsl.analysis.memory import storages
from netdsl.analysis.report import LayerRow, Report
from netdsl.draw.capture import Capture
from netdsl.errors import Span, source_line
from netdsl.heads import training_only
from netdsl.report import units

#: --color choices: metric name -> (legend title, the value of one report row)
METRICS: dict[str, tuple[str, Callable[[LayerRow], float]]] = {
    "macs": ("MACs", lambda r: r.macs),
    "params": ("parameters", lambda r: r.params),
    "activation": ("activation bytes", lambda r: r.activation_bytes),
    "saved": ("saved for backward (bytes)", lambda r: r.saved_for_backward_bytes),
    "rf": ("receptive field (largest side)", lambda r: 0 if r.rf.is_global else max(r.rf.size, default=0)),
}

#: Arguments left out of node labels when they have their usual value (hover shows all).
_USUAL = {"s=1", "p=0", "d=1", "g=1", "bias=True", "op=0"}
_LABEL_ARGS = 30  # characters of arguments on a node before "..."


@dataclass
class Options:
    """How to draw: what starts collapsed, the shading metric, the direction."""

    depth: int | None = None  # blocks nested this deep (1 = top level) start collapsed
    color: str | None = None
    direction: str = "TB"
    fold_runs: bool = False  # runs of identical block calls start folded to one box


@dataclass
class Block:
    """One box: a block call, or a run of identical sibling calls (`kind == "run"`)."""

    id: str
    path: str
    label: str
    parent: str
    kind: str = "block"
    count: int = 1
    collapsed: bool = False
    members: list[str] = field(default_factory=list)  # node ids inside, at any depth


def build_model(capture: Capture, report: Report | None, options: Options) -> dict[str, Any]:
    """The picture of a captured graph (with its report's numbers when it has one)."""
    graph = capture.graph
    rows = {row.name: row for row in report.layers} if report else {}
    ids = {name: f"n{i}" for i, name in enumerate(graph.nodes)}
    blocks = _blocks(graph, capture, ids, options)
    node_block = {name: _innermost(blocks, data["block"]) for name, data in graph.nodes(data=True)}
    peak = _peak_node(graph, rows) if report else None
    training = training_only(graph)  # aux heads: drawn dashed, as eval mode skips them
    nodes = [_node(ids[name], name, data, rows.get(name), node_block[name], name == peak,
                   name in training) for name, data in graph.nodes(data=True)]
    position = {name: i for i, name in enumerate(graph.nodes)}
    edges = [{"src": ids[u], "dst": ids[v], "label": units.shape(graph.nodes[u]["layer"].out_shape)}
             for u, v, _ in sorted(graph.edges(keys=True), key=lambda e: (position[e[1]], e[2]))]
    model: dict[str, Any] = {
        "title": f"{graph.graph['network']}  ({PurePath(graph.graph['source']).name})",
        "direction": options.direction,
        "nodes": nodes, "edges": edges,
        "blocks": [_block_json(b, graph, rows, ids, training) for b in blocks.values()],
        "peak": ids[peak] if peak else None, "training": bool(training),
        "legend": None, "error": None,
        "totals": _totals(report) if report else [],
    }
    if capture.error is not None:
        _add_error(model, capture, ids, blocks)
    if options.color and rows:
        _shade(model, graph, rows, ids, options.color)
    return model


# ----------------------------------------------------------------------------- blocks
def _blocks(graph: nx.MultiDiGraph, capture: Capture, ids: dict[str, str],
            options: Options) -> dict[str, Block]:
    """Every block path on the graph's nodes (outermost first), then runs of identical
    consecutive sibling calls grouped under a run box."""
    blocks: dict[str, Block] = {}
    for name, data in graph.nodes(data=True):
        parts = data["block"].split(".") if data["block"] else []
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            if path not in blocks:
                parent = blocks[".".join(parts[:depth - 1])].id if depth > 1 else ""
                label = capture.calls.get(path) or _strip_counter(parts[depth - 1])
                collapsed = options.depth is not None and depth >= options.depth
                blocks[path] = Block(f"b{len(blocks)}", path, label, parent, collapsed=collapsed)
            blocks[path].members.append(ids[name])
    _group_runs(graph, blocks, options)
    return blocks


def _group_runs(graph: nx.MultiDiGraph, blocks: dict[str, Block], options: Options) -> None:
    """Consecutive sibling calls with the same label and the same layers (ops and shapes)
    become members of one run box, `× N`."""
    signature: dict[str, tuple] = {}
    under: dict[str, set[str]] = {}  # block path -> the nodes inside it
    for name, data in graph.nodes(data=True):
        for path in _prefixes(data["block"]):
            signature.setdefault(path, ())
            under.setdefault(path, set()).add(name)
            layer = data["layer"]
            signature[path] += ((data["block"][len(path):], layer.op, layer.describe(),
                                 layer.out_shape),)
    siblings: dict[str, list[Block]] = {}
    for block in list(blocks.values()):
        siblings.setdefault(block.parent, []).append(block)
    runs: dict[str, Block] = {}  # first member's path -> its run
    for parent, children in siblings.items():
        i = 0
        while i < len(children):
            j = i + 1
            key = (children[i].label, signature[children[i].path])
            while (j < len(children) and (children[j].label, signature[children[j].path]) == key
                   and _feeds(graph, under[children[j - 1].path], under[children[j].path])):
                j += 1
            if j - i >= 2:
                run = Block(f"r{children[i].id}", children[i].path + "*", children[i].label,
                            parent, kind="run", count=j - i, collapsed=options.fold_runs)
                for child in children[i:j]:
                    child.parent = run.id
                    run.members.extend(child.members)
                runs[children[i].path] = run
            i = j
    ordered = list(blocks.items())  # a run goes just before its first member (parents first)
    blocks.clear()
    for path, block in ordered:
        if path in runs:
            blocks[runs[path].path] = runs[path]
        blocks[path] = block


def _feeds(graph: nx.MultiDiGraph, first: set[str], second: set[str]) -> bool:
    """Whether a call's nodes consume the previous call's (a chain, not parallel branches)."""
    return any(p in first for n in second for p in graph.nodes[n]["inputs"])


def _prefixes(block: str) -> list[str]:
    parts = block.split(".") if block else []
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _strip_counter(part: str) -> str:
    """`stage1` -> `stage` (a block path part without its call counter)."""
    return part.rstrip("0123456789") or part


def _innermost(blocks: dict[str, Block], path: str) -> str:
    return blocks[path].id if path else ""


def _block_json(block: Block, graph: nx.MultiDiGraph, rows: dict[str, LayerRow],
                ids: dict[str, str], training: set[str]) -> dict[str, Any]:
    members = set(block.members)
    names = [n for n in graph.nodes if ids[n] in members]
    only_training = bool(names) and all(n in training for n in names)
    last = graph.nodes[names[-1]]["layer"] if names else None
    hover: list[list[str]] = [["block", block.path.rstrip("*")], ["layers", str(len(names))]]
    inside = [rows[n] for n in names if n in rows]
    if inside:
        hover += [["params", f"{sum(r.params for r in inside):,}"],
                  ["MACs", units.count(sum(r.macs for r in inside))],
                  ["activation", units.bytes_long(sum(r.activation_bytes for r in inside))],
                  ["saved for backward", units.bytes_long(sum(r.saved_for_backward_bytes
                                                              for r in inside))]]
    label = f"{block.label} × {block.count}" if block.kind == "run" else block.label
    return {"id": block.id, "label": label, "parent": block.parent, "kind": block.kind,
            "collapsed": block.collapsed, "layers": len(names), "training": only_training,
            "shape": units.shape(last.out_shape) if last else "", "hover": hover}


# ------------------------------------------------------------------------------ nodes
def _node(node_id: str, name: str, data: dict[str, Any], row: LayerRow | None, block: str,
          peak: bool, training: bool) -> dict[str, Any]:
    layer = data["layer"]
    hover = _hover(name, layer, data["span"], row)
    if training:
        hover.insert(3, ["runs", "only while training (eval mode skips it)"])
    return {"id": node_id, "name": name, "op": layer.op, "args": _main_args(layer.describe()),
            "shape": units.shape(layer.out_shape), "block": block, "peak": peak,
            "training": training, "hover": hover, "kind": "layer"}


def _main_args(described: str) -> str:
    """The arguments worth a node label: usual values dropped, long lists cut."""
    kept = [a for a in _split_args(described) if a.replace(" ", "") not in _USUAL]
    text = ", ".join(kept)
    return text if len(text) <= _LABEL_ARGS else text[:_LABEL_ARGS - 3] + "..."


def _split_args(text: str) -> list[str]:
    """Split `a, b=(1, 2), c` at top-level commas."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def _hover(name: str, layer: Any, span: Span, row: LayerRow | None) -> list[list[str]]:
    args = layer.describe()
    lines = [["node", name], ["layer", f"{layer.op}({args})" if args else layer.op],
             ["output", units.shape(layer.out_shape)]]
    if row is not None:
        rf = row.rf
        field = "global" if rf.is_global else (
            f"{units.axes(rf.size)} (stride {units.axes(rf.stride)}, "
            f"padding {units.axes(rf.padding)}{'' if rf.exact else ', not exact'})")
        lines += [["params", f"{row.params:,}"], ["buffers", f"{row.buffers:,}"],
                  ["MACs", f"{units.count(row.macs)} ({row.macs:,})"],
                  ["FLOPs", units.count(row.flops)], ["other ops", units.count(row.other_ops)],
                  ["activation", units.bytes_long(row.activation_bytes)],
                  ["saved for backward", units.bytes_long(row.saved_for_backward_bytes)],
                  ["receptive field", field]]
    text = source_line(span.file, span.line)
    lines.append(["source", f"{span}" + (f"  {text.strip()}" if text else "")])
    return lines


def _totals(report: Report) -> list[list[str]]:
    t = report.totals
    return [["params", f"{t.params:,}"], ["MACs", units.count(t.macs)],
            ["inference peak", units.bytes_long(t.inference_peak_bytes)],
            ["training peak", units.bytes_long(t.training_peak_bytes)],
            ["batch", f"{report.batch} · {report.dtype}"]]


def _peak_node(graph: nx.MultiDiGraph, rows: dict[str, LayerRow]) -> str | None:
    """The step at which the inference peak is reached (the liveness scan of
    netdsl/analysis/memory.py, keeping where the maximum is)."""
    base = storages(graph)
    order = {node: i for i, node in enumerate(graph.nodes)}
    last_use = dict(order)
    for node, data in graph.nodes(data=True):
        for p in data["inputs"]:
            last_use[base[p]] = max(last_use[base[p]], order[node])
    for out in graph.graph["outputs"]:
        last_use[base[out]] = len(order)
    delta = [0] * (len(order) + 2)
    for node, row in rows.items():
        if row.activation_bytes:
            delta[order[node]] += row.activation_bytes
            delta[last_use[node] + 1] -= row.activation_bytes
    live, best, where = 0, 0, None
    names = list(graph.nodes)
    for step in range(len(names)):
        live += delta[step]
        if live > best:
            best, where = live, names[step]
    return where


# ------------------------------------------------------------------------------ error
def _add_error(model: dict[str, Any], capture: Capture, ids: dict[str, str],
               blocks: dict[str, Block]) -> None:
    """The failing call as a node fed by its inputs, its inputs marked, the message beside."""
    error = capture.error
    assert error is not None
    span = error.span
    call = _call_name(span) if span else "error"
    block = _innermost(blocks, capture.failed_block) if capture.failed_block in blocks else ""
    failing = [n for n in model["nodes"]
               if span and n["hover"][-1][1].startswith(f"{span}")] if not capture.failed_inputs else []
    if failing and not capture.failed_inputs:  # an existing node is the mistake
        for node in failing:
            node["failed"] = True
        anchor = failing[0]["id"]
        block = failing[0]["block"]
    else:
        anchor = "error"
        model["nodes"].append({"id": anchor, "name": "error", "op": f"✖ {call}", "args": "",
                               "shape": "failed", "block": block, "peak": False,
                               "failed": True, "kind": "layer",
                               "hover": [["error", error.message],
                                         ["source", f"{span}" if span else "-"]]})
        for name in capture.failed_inputs:
            if name in ids:
                model["edges"].append({"src": ids[name], "dst": anchor, "label": "",
                                       "failed": True})
                for node in model["nodes"]:
                    if node["id"] == ids[name]:
                        node["branch"] = True
    model["nodes"].append({"id": "message", "name": "message", "op": "", "args": "",
                           "shape": "", "block": block, "peak": False, "kind": "message",
                           "text": error.render().splitlines(), "hover": []})
    model["edges"].append({"src": anchor, "dst": "message", "label": "", "note": True})
    model["error"] = {"node": anchor, "message": error.render()}


def _call_name(span: Span) -> str:
    """The name written at the error's span (the call that failed)."""
    text = source_line(span.file, span.line) or ""
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    word = text[start:end].strip()
    return word if word.isidentifier() else "error"


# ---------------------------------------------------------------------------- shading
def _shade(model: dict[str, Any], graph: nx.MultiDiGraph, rows: dict[str, LayerRow],
           ids: dict[str, str], metric: str) -> None:
    """Shade each node (and collapsed box: the sum, or for rf the largest) on a log scale."""
    title, value = METRICS[metric]
    by_id = {ids[name]: float(value(row)) for name, row in rows.items()}
    for block in model["blocks"]:
        inside = [by_id[m] for m in _members(model, block["id"]) if m in by_id]
        by_id[block["id"]] = max(inside, default=0.0) if metric == "rf" else sum(inside)
    positive = [v for v in by_id.values() if v > 0]
    if not positive:
        return
    low, high = min(positive), max(positive)
    span = math.log(high) - math.log(low) or 1.0
    for item in model["nodes"] + model["blocks"]:
        v = by_id.get(item["id"])
        if v is not None:
            item["shade"] = 0.0 if v <= 0 else 0.08 + 0.92 * (math.log(v) - math.log(low)) / span
            if v > 0:
                item["value"] = _metric_text(metric, v)
    model["legend"] = {"title": title, "low": _metric_text(metric, low),
                       "high": _metric_text(metric, high), "scale": "log"}


def _members(model: dict[str, Any], block_id: str) -> list[str]:
    """Node ids under a box at any depth."""
    children: dict[str, list[str]] = {}
    for b in model["blocks"]:
        children.setdefault(b["parent"], []).append(b["id"])
    under, stack = {block_id}, [block_id]
    while stack:
        for c in children.get(stack.pop(), []):
            under.add(c)
            stack.append(c)
    return [n["id"] for n in model["nodes"] if n["block"] in under]


def _metric_text(metric: str, v: float) -> str:
    if metric in ("activation", "saved"):  # bytes in binary units, as in the report
        return f"{v / units.MIB:,.2f} MiB" if v >= units.MIB / 100 else f"{v / 1024:,.1f} KiB"
    return units.count(int(v))
