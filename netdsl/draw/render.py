"""The three outputs: SVG (ELK run in an embedded V8), self-contained HTML, Graphviz DOT.

The layout is ELK's (elkjs, vendored in assets/ with its license). The HTML carries ELK
and the renderer and lays the picture out in the browser, again after every click; the
SVG runs the very same scripts in V8 (the `mini-racer` wheel), so no browser and no
system package is needed.
"""

from __future__ import annotations

import atexit
import html
import json
import threading
from functools import cache
from importlib import resources
from typing import Any

from netdsl.errors import UsageError

# V8 is single-threaded per context; one context is kept and used under a lock.
_LOCK = threading.Lock()
_SETUP = """
globalThis.global = globalThis;          // elkjs looks for a global object
var __tasks = [];                        // ELK's in-process worker posts through setTimeout
globalThis.setTimeout = function (f) { __tasks.push(f); return __tasks.length; };
function __drain() { while (__tasks.length) { __tasks.shift()(); } }
var __result = null, __error = null;
function __svg(modelJson) {
  __result = __error = null;
  NETDSL.svg(JSON.parse(modelJson)).then(function (s) { __result = s; },
                                          function (e) { __error = String(e && e.stack || e); });
  __drain();
}
"""


def asset(name: str) -> str:
    """The text of a file of netdsl/draw/assets/."""
    return resources.files("netdsl.draw").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def _context() -> Any:
    try:
        from py_mini_racer import MiniRacer
    except ImportError:
        raise UsageError("SVG output needs the mini-racer package (pip install mini-racer); "
                         "HTML and DOT do not") from None
    ctx = MiniRacer()
    # Closed at exit, while mini-racer's event-loop thread still runs: left to its __del__
    # at interpreter teardown, freeing a context that laid out a large graph never returned
    # (`netdsl draw googlenet.net -o g.svg` wrote the file, then hung).
    atexit.register(ctx.close)
    ctx.eval(_SETUP)
    ctx.eval(asset("elk.bundled.js"))
    ctx.eval(asset("draw.js"))
    return ctx


def to_svg(model: dict[str, Any]) -> str:
    """The picture as one SVG document (laid out by ELK in V8)."""
    with _LOCK:
        ctx = _context()
        ctx.eval(f"__svg({json.dumps(json.dumps(model))})")
        for _ in range(1000):  # promise callbacks and posted tasks, until the layout is done
            if ctx.eval("__result !== null || __error !== null"):
                break
            ctx.eval("__drain()")
        error, svg = ctx.eval("__error"), ctx.eval("__result")
    if error or not isinstance(svg, str):
        raise RuntimeError(f"the layout failed: {error}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ margin: 0; font-family: DejaVu Sans Mono, Menlo, Consolas, monospace; background: #fff; }}
#netdsl-bar {{ background: #f4f6fa; border-bottom: 1px solid #ccd; padding: 4px 10px;
  font-size: 12px; color: #445; }}
#netdsl-info {{ position: fixed; right: 8px; bottom: 8px; max-width: 60%; padding: 6px 10px;
  background: rgba(255, 255, 250, 0.96); border: 1px solid #aab; border-radius: 4px;
  font-size: 12px; white-space: pre-wrap; color: #223; pointer-events: none; z-index: 1; }}
#netdsl-info:empty {{ display: none; }}
svg.netdsl g.node:hover rect, svg.netdsl g.collapsed:hover rect {{ stroke: #1565c0; stroke-width: 2.4; }}
svg.netdsl text.toggle:hover {{ text-decoration: underline; }}
@media print {{ #netdsl-bar, #netdsl-info {{ display: none; }} }}
</style>
</head>
<body>
<div id="netdsl-bar">{hint}</div>
<div id="netdsl-info"></div>
<div id="netdsl-picture"></div>
<script>{elk}</script>
<script>{draw}</script>
<script type="application/json" id="netdsl-model">{model}</script>
<script>
NETDSL.mount(document.getElementById("netdsl-picture"),
             JSON.parse(document.getElementById("netdsl-model").textContent));
</script>
</body>
</html>
"""

_HINT = ("Click a box's title to collapse it, a collapsed box to expand it; "
         "hover over a node for its numbers.")


def to_html(model: dict[str, Any]) -> str:
    """One self-contained page: ELK, the renderer and the model inline, nothing fetched."""
    data = json.dumps(model).replace("</", "<\\/")  # never closes the script element
    return _PAGE.format(title=html.escape(model["title"]), hint=html.escape(_HINT),
                        elk=asset("elk.bundled.js"), draw=asset("draw.js"), model=data)


def to_iframe(model: dict[str, Any], height: int = 640) -> str:
    """The page in an iframe (for notebooks: its scripts and ids stay its own)."""
    return (f'<iframe srcdoc="{html.escape(to_html(model), quote=True)}" '
            f'style="width: 100%; height: {height}px; border: 1px solid #ccd;"></iframe>')


# ------------------------------------------------------------------------------- DOT
def to_dot(model: dict[str, Any]) -> str:
    """Graphviz source: blocks as nested clusters (collapsed ones as one node), shapes on
    the edges, the same labels and colours as the picture."""
    blocks = {b["id"]: b for b in model["blocks"]}
    collapsed = {b["id"] for b in model["blocks"] if b["collapsed"]}

    def owner(node_id: str, parent: str) -> str:
        found = node_id
        while parent:
            if parent in collapsed:
                found = parent
            parent = blocks[parent]["parent"]
        return found

    def hidden(parent: str) -> bool:
        while parent:
            if parent in collapsed:
                return True
            parent = blocks[parent]["parent"]
        return False

    children: dict[str, list[str]] = {}
    for b in model["blocks"]:
        children.setdefault(b["parent"], []).append(b["id"])
    members: dict[str, list[dict[str, Any]]] = {}
    for n in model["nodes"]:
        members.setdefault(n["block"], []).append(n)
    rankdir = "LR" if model["direction"] == "LR" else "TB"
    lines = [f"digraph {_quote(model['title'].split()[0] if model['title'].split() else 'net')} {{",
             f"  rankdir={rankdir};",
             '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10, '
             'fillcolor="#f7f7f7"];',
             '  edge [fontname="monospace", fontsize=8, color="#666666"];',
             f"  label={_quote(model['title'])}; labelloc=t;"]

    def emit(container: str, indent: str) -> None:
        for block_id in children.get(container, []):
            b = blocks[block_id]
            if hidden(b["parent"]):
                continue
            if block_id in collapsed:
                label = f"▸ {b['label']}\n{b['layers']} layers · {b['shape']}"
                lines.append(f"{indent}{block_id} [label={_quote(label)}, penwidth=2"
                             f"{_fill(b)}];")
                continue
            lines.append(f"{indent}subgraph cluster_{block_id} {{")
            style = "dashed,rounded" if b["kind"] == "run" else "rounded"
            lines.append(f"{indent}  label={_quote(b['label'])}; "
                         f'style="{style}"; color="#9aa5b8";')
            emit(block_id, indent + "  ")
            lines.append(f"{indent}}}")
        for n in members.get(container, []):
            if n["kind"] == "message":
                label = "\\l".join(line.replace("\\", "\\\\").replace('"', '\\"')
                                   for line in n["text"]) + "\\l"
                lines.append(f'{indent}{n["id"]} [label="{label}", shape=note, fillcolor="#fff8e6"];')
                continue
            head = f"{n['op']} {n['args']}".strip()
            extra = ', color="#c00000", penwidth=2' if n.get("failed") or n.get("branch") else (
                ', color="#6a1b9a", penwidth=2, xlabel="inference peak"' if n["peak"] else "")
            lines.append(f"{indent}{n['id']} [label={_quote(head + chr(10) + n['shape'])}"
                         f"{_fill(n)}{extra}];")

    emit("", "  ")
    node_owner = {n["id"]: owner(n["id"], n["block"]) for n in model["nodes"]}
    seen = set()
    for e in model["edges"]:
        s, t = node_owner[e["src"]], node_owner[e["dst"]]
        if s == t or (s, t) in seen:
            continue
        seen.add((s, t))
        attrs = f" [label={_quote(e['label'])}]" if e["label"] else (
            " [style=dashed, arrowhead=none]" if e.get("note") else "")
        lines.append(f"  {s} -> {t}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _fill(item: dict[str, Any]) -> str:
    if item.get("failed"):
        return ', fillcolor="#ffdddd"'
    if "shade" in item:
        t = item["shade"]
        rgb = [round(lo + (hi - lo) * t) for lo, hi in zip((255, 255, 255), (222, 45, 38))]
        return f', fillcolor="#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"'
    return ""
