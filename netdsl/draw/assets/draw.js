/* netdsl drawing renderer: the drawing model (netdsl/draw/model.py) -> an ELK graph ->
 * laid out by ELK (elk.bundled.js) -> one SVG string.
 *
 * The same code runs in the browser (the interactive HTML: click a box to collapse or
 * expand it, and the picture is laid out again) and in V8 embedded in Python (`.svg`
 * output), so both pictures agree. Text is measured from the font size: labels use a
 * monospace font, whose advance is 0.6 em in every common monospace face.
 */
"use strict";

var NETDSL = (function () {
  var FONT = 11, SMALL = 9.5, CHAR = 0.62, LINE = 14;
  var TRAINING = "#b26a00";  // the border of what runs only while training (aux heads)
  var FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace";

  function textWidth(text, size) { return Math.ceil(String(text).length * size * CHAR); }

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;")
      .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  /* Which boxes are visible: the model's blocks indexed, and each node's outermost
   * collapsed ancestor (the box it is drawn inside of, as one node). */
  function index(model) {
    var blocks = {}, i;
    for (i = 0; i < model.blocks.length; i++) blocks[model.blocks[i].id] = model.blocks[i];
    return blocks;
  }

  function owner(id, parent, blocks, collapsed) {
    var found = id;
    while (parent) {
      if (collapsed.has(parent)) found = parent;
      parent = blocks[parent].parent;
    }
    return found;
  }

  function nodeLines(node) {
    if (node.kind === "message") return node.text;
    var head = node.args ? node.op + " " + node.args : node.op;
    return [head, node.value ? node.shape + " · " + node.value : node.shape];
  }

  function boxLines(block) {
    var text = block.layers + " layers · " + block.shape;
    return ["▸ " + block.label, block.value ? text + " · " + block.value : text];
  }

  function leaf(id, lines) {
    var w = 0, i;
    for (i = 0; i < lines.length; i++) w = Math.max(w, textWidth(lines[i], FONT));
    return { id: id, width: w + 16, height: lines.length * LINE + 12 };
  }

  /* The ELK graph for the current collapsed set. */
  function elkGraph(model, collapsed) {
    var blocks = index(model), containers = { "": [] }, i, b, n;
    var root = {
      id: "root", children: containers[""], edges: [],
      layoutOptions: {
        "elk.algorithm": "layered",
        "elk.direction": model.direction === "LR" ? "RIGHT" : "DOWN",
        "elk.hierarchyHandling": "INCLUDE_CHILDREN",
        "elk.edgeRouting": "ORTHOGONAL",
        "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
        "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
        "elk.spacing.nodeNode": "18",
        "elk.layered.spacing.nodeNodeBetweenLayers": "26",
        "elk.spacing.edgeLabel": "2",
        "elk.edgeLabels.placement": "CENTER",
        "elk.json.shapeCoords": "ROOT",
        "elk.json.edgeCoords": "ROOT",
        "elk.padding": "[top=12,left=12,bottom=12,right=12]"
      }
    };
    var hidden = function (parent) {
      while (parent) { if (collapsed.has(parent)) return true; parent = blocks[parent].parent; }
      return false;
    };
    for (i = 0; i < model.blocks.length; i++) {  // parents come before their children
      b = model.blocks[i];
      if (hidden(b.parent)) continue;
      var item;
      if (collapsed.has(b.id)) {
        item = leaf(b.id, boxLines(b));
      } else {
        var head = "▾ " + b.label;
        item = {
          id: b.id, children: [],
          layoutOptions: {
            "elk.padding": "[top=26,left=10,bottom=10,right=10]",
            "elk.nodeSize.constraints": "MINIMUM_SIZE",
            "elk.nodeSize.minimum": "(" + (textWidth(head, FONT) + 20) + ", 40)"
          }
        };
        containers[b.id] = item.children;
      }
      containers[b.parent].push(item);
    }
    for (i = 0; i < model.nodes.length; i++) {
      n = model.nodes[i];
      if (hidden(n.block)) continue;
      containers[n.block].push(leaf(n.id, nodeLines(n)));
    }
    var seen = {}, nodeOwner = {};
    for (i = 0; i < model.nodes.length; i++) {
      n = model.nodes[i];
      nodeOwner[n.id] = owner(n.id, n.block, blocks, collapsed);
    }
    for (i = 0; i < model.edges.length; i++) {
      var e = model.edges[i], s = nodeOwner[e.src], t = nodeOwner[e.dst];
      if (s === t || seen[s + ">" + t]) continue;
      seen[s + ">" + t] = true;
      var edge = { id: "e" + i, sources: [s], targets: [t] };
      if (e.label) edge.labels = [{ text: e.label, width: textWidth(e.label, SMALL) + 4, height: 12 }];
      root.edges.push(edge);
    }
    return root;
  }

  /* ------------------------------------------------------------------ SVG */
  var SHADE_LOW = [255, 255, 255], SHADE_HIGH = [222, 45, 38];

  function shade(t) {
    var c = [0, 1, 2].map(function (k) { return Math.round(SHADE_LOW[k] + (SHADE_HIGH[k] - SHADE_LOW[k]) * t); });
    return "rgb(" + c.join(",") + ")";
  }

  function fill(item) {
    if (item.failed) return "#fdd";
    if (item.shade !== undefined) return shade(item.shade);
    if (item.kind === "message") return "#fff8e6";
    return item.op === "input" ? "#e8f1fb" : "#f7f7f7";
  }

  function tooltip(lines) {
    if (!lines || !lines.length) return "";
    return "<title>" + esc(lines.map(function (l) { return l[0] + ": " + l[1]; }).join("\n")) + "</title>";
  }

  function walk(node, visit, depth) {
    visit(node, depth);
    (node.children || []).forEach(function (c) { walk(c, visit, depth + 1); });
  }

  function render(model, laid, collapsed, interactive) {
    var blocks = index(model), nodes = {}, out = [], boxes = [], leaves = [], i;
    for (i = 0; i < model.nodes.length; i++) nodes[model.nodes[i].id] = model.nodes[i];
    var top = 34 + (model.legend ? 26 : 0);
    var totals = model.totals.map(function (t) { return t[0] + " " + t[1]; }).join(" · ");
    if (model.training) totals += (totals ? " · " : "") + "dashed amber: runs only while training";
    var width = Math.max(laid.width, textWidth(model.title, 13) + 24, textWidth(totals, SMALL) + 24, 320);
    var height = laid.height + top + 8;
    out.push('<svg xmlns="http://www.w3.org/2000/svg" class="netdsl" width="' + Math.ceil(width) +
      '" height="' + Math.ceil(height) + '" viewBox="0 0 ' + Math.ceil(width) + " " + Math.ceil(height) +
      '" font-family="' + FAMILY + '" font-size="' + FONT + '">');
    out.push('<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" ' +
      'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>');
    out.push('<rect x="0" y="0" width="100%" height="100%" fill="white"/>');
    out.push('<text x="12" y="20" font-size="13" font-weight="bold">' + esc(model.title) + "</text>");
    if (model.totals.length) {
      out.push('<text x="12" y="32" font-size="' + SMALL + '" fill="#444">' +
        esc(totals) + "</text>");
    }
    if (model.legend) out.push(legend(model.legend, 40));
    out.push('<g transform="translate(0,' + top + ')">');
    (laid.children || []).forEach(function (c) {
      walk(c, function (n, depth) { (n.children ? boxes : leaves).push([n, depth]); }, 0);
    });
    boxes.forEach(function (pair) {
      var n = pair[0], b = blocks[n.id], run = b.kind === "run";
      out.push('<g class="block' + (run ? " run" : "") + (b.training ? " training" : "") + '" data-block="' +
        n.id + '">' + tooltip(b.hover));
      out.push('<rect x="' + n.x + '" y="' + n.y + '" width="' + n.width + '" height="' + n.height +
        '" rx="6" fill="' + (pair[1] % 2 ? "#f4f7fb" : "#fbfbfd") +
        '" stroke="' + (b.training ? TRAINING : run ? "#7a8aa6" : "#9aa5b8") + '"' + boxDash(b) + "/>");
      out.push('<text class="toggle" data-toggle="' + n.id + '" x="' + (n.x + 8) + '" y="' + (n.y + 16) +
        '" font-weight="bold" fill="#2b3a55"' + (interactive ? ' style="cursor:pointer"' : "") + ">" +
        esc("▾ " + b.label) + "</text></g>");
    });
    (laid.edges || []).forEach(function (e) {
      (e.sections || []).forEach(function (s) {
        var pts = [s.startPoint].concat(s.bendPoints || [], [s.endPoint]);
        out.push('<path class="edge" d="M' + pts.map(function (p) { return p.x + "," + p.y; }).join(" L") +
          '" fill="none" stroke="#666" stroke-width="1.1" marker-end="url(#arrow)"/>');
      });
      (e.labels || []).forEach(function (l) {
        out.push('<text class="edge-label" x="' + (l.x + 2) + '" y="' + (l.y + 9) + '" font-size="' + SMALL +
          '" fill="#666">' + esc(l.text) + "</text>");
      });
    });
    leaves.forEach(function (pair) {
      var n = pair[0], item = nodes[n.id], box = blocks[n.id];
      if (box) { out.push(collapsedBox(n, box, interactive)); return; }
      out.push(leafNode(n, item, model.error && model.error.node === item.id));
    });
    out.push("</g></svg>");
    return out.join("\n");
  }

  /* A block box's dash: training-only blocks, then runs of identical calls (x N). */
  function boxDash(b) {
    return b.training ? ' stroke-dasharray="6,3"' : b.kind === "run" ? ' stroke-dasharray="5,3"' : "";
  }

  function collapsedBox(n, b, interactive) {
    var lines = boxLines(b), s = [];
    s.push('<g class="collapsed' + (b.training ? " training" : "") + '" data-block="' + n.id +
      '" data-toggle="' + n.id + '"' + (interactive ? ' style="cursor:pointer"' : "") + ">" + tooltip(b.hover));
    s.push('<rect x="' + n.x + '" y="' + n.y + '" width="' + n.width + '" height="' + n.height +
      '" rx="6" fill="' + (b.shade !== undefined ? shade(b.shade) : "#eef2f8") + '" stroke="' +
      (b.training ? TRAINING : "#2b3a55") + '" stroke-width="1.6"' + boxDash(b) + "/>");
    s.push(textLines(n, lines, true, b.shade > 0.6));
    s.push("</g>");
    return s.join("");
  }

  function leafNode(n, item, isError) {
    var s = [], stroke = item.failed ? "#c00" : item.branch ? "#c00" : item.peak ? "#6a1b9a" :
      item.training ? TRAINING : "#555";
    var wide = item.failed || item.branch || item.peak ? 2.4 : item.training ? 1.4 : 1;
    var dash = item.branch && !item.failed ? "4,2" : item.training ? "6,3" : "";
    s.push('<g class="node' + (item.kind === "message" ? " message" : "") + (item.training ? " training" : "") +
      '" data-node="' + esc(item.name) +
      '" data-id="' + item.id + '">' + tooltip(item.hover));
    s.push('<rect x="' + n.x + '" y="' + n.y + '" width="' + n.width + '" height="' + n.height +
      '" rx="' + (item.kind === "message" ? 2 : 4) + '" fill="' + fill(item) + '" stroke="' + stroke +
      '" stroke-width="' + wide + '"' + (dash ? ' stroke-dasharray="' + dash + '"' : "") + "/>");
    s.push(textLines(n, nodeLines(item), item.kind !== "message", item.shade > 0.6));
    if (item.peak) {
      s.push('<text x="' + (n.x + n.width + 4) + '" y="' + (n.y + 12) + '" font-size="' + SMALL +
        '" fill="#6a1b9a" font-weight="bold">◆ inference peak</text>');
    }
    s.push("</g>");
    return s.join("");
  }

  function textLines(n, lines, boldFirst, dark) {
    var s = [];
    for (var i = 0; i < lines.length; i++) {
      s.push('<text x="' + (n.x + 8) + '" y="' + (n.y + 6 + LINE * (i + 1) - 3) + '"' +
        (dark ? ' fill="white"' : i === 0 && boldFirst ? "" : ' fill="#333"') +
        (i === 0 && boldFirst ? ' font-weight="bold"' : "") +
        ' xml:space="preserve">' + esc(lines[i]) + "</text>");
    }
    return s.join("");
  }

  function legend(l, y) {
    var s = ['<g class="legend"><text x="12" y="' + (y + 10) + '" font-size="' + SMALL + '">' +
      esc("color: " + l.title + " (" + l.scale + " scale)") + "</text>"];
    var x0 = 12 + textWidth("color: " + l.title + " (" + l.scale + " scale)", SMALL) + 10;
    s.push('<text x="' + x0 + '" y="' + (y + 10) + '" font-size="' + SMALL + '" text-anchor="start">' + esc(l.low) + "</text>");
    x0 += textWidth(l.low, SMALL) + 6;
    for (var k = 0; k < 10; k++) {
      s.push('<rect x="' + (x0 + k * 14) + '" y="' + (y + 1) + '" width="14" height="11" fill="' +
        shade(0.08 + 0.92 * k / 9) + '" stroke="#999" stroke-width="0.5"/>');
    }
    s.push('<text x="' + (x0 + 146) + '" y="' + (y + 10) + '" font-size="' + SMALL + '">' + esc(l.high) + "</text></g>");
    return s.join("");
  }

  function initial(model) {
    return new Set(model.blocks.filter(function (b) { return b.collapsed; }).map(function (b) { return b.id; }));
  }

  /* The whole picture, as a promise of the SVG text (the initial collapsed set, or one
   * given as a list of box ids). */
  function svg(model, collapsedIds) {
    var collapsed = collapsedIds ? new Set(collapsedIds) : initial(model);
    return new ELK().layout(elkGraph(model, collapsed)).then(function (laid) {
      return render(model, laid, collapsed, false);
    });
  }

  /* The interactive picture in `container`: click a box's title (or a collapsed box) to
   * collapse or expand it. `container.dataset.renders` counts finished layouts. */
  function mount(container, model) {
    var elk = new ELK(), collapsed = initial(model), renders = 0;
    function redraw() {
      container.dataset.ready = "0";
      return elk.layout(elkGraph(model, collapsed)).then(function (laid) {
        container.innerHTML = render(model, laid, collapsed, true);
        renders += 1;
        container.dataset.renders = String(renders);
        container.dataset.ready = "1";
      }).catch(function (err) {
        container.textContent = "netdsl: the layout failed: " + err;
        throw err;
      });
    }
    container.addEventListener("click", function (event) {
      var target = event.target.closest("[data-toggle]");
      if (!target) return;
      var id = target.getAttribute("data-toggle");
      if (collapsed.has(id)) collapsed.delete(id); else collapsed.add(id);
      redraw();
    });
    container.addEventListener("mouseover", function (event) {
      var panel = document.getElementById("netdsl-info");
      var g = event.target.closest("g.node, g.block, g.collapsed");
      if (!panel || !g) return;
      var title = g.querySelector("title");
      panel.textContent = title ? title.textContent : "";
    });
    return redraw();
  }

  return { elkGraph: elkGraph, render: render, svg: svg, mount: mount };
})();
