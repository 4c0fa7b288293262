"""netdsl.draw without a browser: the drawing model, SVG (ELK in V8), DOT, the command."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import netdsl
from netdsl.cli import main
from netdsl.draw import draw_report, draw_spec
from netdsl.draw.capture import capture
from netdsl.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = ROOT / "tests" / "golden" / "draw"
SVG = "{http://www.w3.org/2000/svg}"

BROKEN = """network broken() {
    input x: [3, 32, 32]
    x -> conv(8, 3) -> add(conv(8, 3), conv(9, 3, padding = 1)) -> relu
}
"""


def nodes_of(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg.split("\n", 1)[1])
    return [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "googlenet", "unet"])
def test_svg_is_xml_with_one_element_per_node(name: str) -> None:
    spec = netdsl.load(SPECS / f"{name}.net")
    graph = spec.graph()
    svg = draw_spec(spec, color="params").svg()
    drawn = nodes_of(svg)
    assert sorted(g.get("data-node") for g in drawn) == sorted(graph.nodes)
    title = drawn[1].find(f"{SVG}title")
    assert title is not None and "params:" in title.text and "source:" in title.text


def test_svg_boxes_do_not_overlap() -> None:
    svg = draw_spec(netdsl.load(SPECS / "googlenet.net")).svg()
    boxes = []
    for g in nodes_of(svg):
        r = g.find(f"{SVG}rect")
        x, y, w, h = (float(r.get(k)) for k in ("x", "y", "width", "height"))
        boxes.append((x, y, x + w, y + h))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])


@pytest.mark.parametrize("path, color", [(GOLDEN / "residual.net", None),
                                         (SPECS / "lenet5.net", "macs")],
                         ids=["residual", "lenet5-macs"])
def test_golden_dot(path: Path, color: str | None) -> None:
    """Small specs' DOT, byte for byte (regenerate: NETDSL_UPDATE_GOLDEN=1)."""
    import os

    spec = netdsl.load(path.relative_to(ROOT) if Path.cwd() == ROOT else path)
    dot = draw_spec(spec, color=color).dot().replace(str(ROOT) + "/", "")
    golden = GOLDEN / f"{path.stem}.dot"
    if os.environ.get("NETDSL_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(dot, encoding="utf-8")
    assert dot == golden.read_text(encoding="utf-8")


def test_block_labels_carry_argument_values() -> None:
    model = draw_spec(netdsl.load(SPECS / "resnet18.net")).model
    labels = {b["label"] for b in model["blocks"]}
    assert 'stage(basic, 128, 2, stride = 2, se_ratio = 0)' in labels
    assert 'resnet_stages(basic, [2, 2, 2, 2])' in labels
    runs = [b for b in model["blocks"] if b["kind"] == "run"]
    assert runs and all(b["label"].endswith("× 2") for b in runs)
    # each run is a chain of calls, never parallel branches
    inception = draw_spec(netdsl.load(SPECS / "googlenet.net")).model
    assert not [b for b in inception["blocks"] if b["kind"] == "run"]


def test_depth_collapses_and_dot_draws_collapsed_boxes() -> None:
    drawing = draw_spec(netdsl.load(SPECS / "resnet50.net"), depth=2)
    collapsed = [b for b in drawing.model["blocks"] if b["collapsed"]]
    assert {b["label"].split("(")[0] for b in collapsed} >= {"conv_bn", "stage"}
    dot = drawing.dot()
    assert "▸ stage(" in dot and "conv0" not in dot


def test_peak_marked_where_the_inference_peak_is() -> None:
    spec = netdsl.load(SPECS / "vgg16.net")
    model = draw_spec(spec).model
    peaks = [n for n in model["nodes"] if n["peak"]]
    assert len(peaks) == 1 and model["peak"] == peaks[0]["id"]
    # the live bytes at that step are the report's inference peak
    report = spec.analyze()
    names = [r.name for r in report.layers]
    step = names.index(peaks[0]["name"])
    graph = spec.graph()
    from netdsl.analysis.memory import storages

    base = storages(graph)
    live = 0
    for row in report.layers:
        if not row.activation_bytes or names.index(row.name) > step:
            continue
        users = [names.index(n) for n in graph.successors(row.name)]
        users += [names.index(v) for u in graph.nodes if base[u] == row.name
                  for v in graph.successors(u)]
        if row.name in graph.graph["outputs"] or max(users, default=-1) >= step:
            live += row.activation_bytes
    assert live == report.totals.inference_peak_bytes


def test_training_only_heads_are_drawn_dashed() -> None:
    spec = netdsl.load(SPECS / "googlenet.net")
    drawing = draw_spec(spec, params={"aux_logits": True})
    training = {n["name"] for n in drawing.model["nodes"] if n["training"]}
    graph = spec.graph(params={"aux_logits": True})
    from netdsl.heads import training_only

    assert training == training_only(graph) and len(training) == 2 * 9  # two aux heads of 9
    assert drawing.model["training"] and not draw_spec(spec).model["training"]
    hovered = next(n for n in drawing.model["nodes"] if n["training"])["hover"]
    assert ["runs", "only while training (eval mode skips it)"] in hovered
    svg = ET.fromstring(drawing.svg())
    dashed = [g for g in svg.iter("{http://www.w3.org/2000/svg}g")
              if "training" in g.get("class", "").split()]
    assert len(dashed) >= 2 and all(g.find("{http://www.w3.org/2000/svg}rect").get("stroke-dasharray")
                                    == "6,3" for g in dashed)


def test_the_draw_command_exits_after_a_large_svg(tmp_path: Path) -> None:
    # mini-racer's context used to be freed at interpreter teardown, which never returned
    # after laying out a large graph: the file was written and the process hung
    import subprocess
    import sys

    out = tmp_path / "g.svg"
    done = subprocess.run([sys.executable, "-m", "netdsl", "draw", str(SPECS / "googlenet.net"),
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.stat().st_size > 10_000, done.stderr


def test_color_legend_and_shades() -> None:
    model = draw_spec(netdsl.load(SPECS / "lenet5.net"), color="macs").model
    assert model["legend"]["title"] == "MACs"
    shades = {n["name"]: n["shade"] for n in model["nodes"]}
    assert shades["conv1"] > shades["linear2"] > 0 and shades["relu0"] == 0
    for metric in ("params", "activation", "saved", "rf"):
        assert draw_spec(netdsl.load(SPECS / "lenet5.net"), color=metric).model["legend"]


def test_error_drawn_up_to_the_mistake(tmp_path: Path) -> None:
    spec = netdsl.loads(BROKEN, str(tmp_path / "broken.net"))
    drawing = draw_spec(spec)
    assert drawing.error is not None and "different shapes" in drawing.error.message
    names = {n["name"]: n for n in drawing.model["nodes"]}
    assert set(names) == {"x", "conv0", "conv1", "conv2", "error", "message"}
    assert names["conv1"]["branch"] and names["conv2"]["branch"] and names["error"]["failed"]
    assert "broken.net:3:24: error:" in names["message"]["text"][0]
    svg = drawing.svg()
    assert len(nodes_of(svg)) == 6 and "different shapes" in svg


def test_capture_records_the_failing_block(tmp_path: Path) -> None:
    text = ("block pair(c) {\n    conv(c, 3) -> add(conv(c, 3), conv(c + 1, 3))\n}\n"
            "network n() {\n    input x: [3, 16, 16]\n    x -> relu -> pair(4)\n}\n")
    captured = capture(netdsl.loads(text, str(tmp_path / "p.net")).program)
    assert captured.error is not None and captured.failed_block == "pair0"
    assert captured.failed_inputs == ("pair0.conv1", "pair0.conv2")
    assert captured.calls == {"pair0": "pair(4)"}


#: (spec body after `input x: [3, 16, 16]`, failing block, failing call's inputs)
FAILURES = [
    ("x -> relu -> add(conv(4, 3), relu, conv(5, 3))", "", ("conv0", "relu1", "conv1")),
    ("x -> relu -> add(conv(4, 3), 7)", "", ("conv0",)),  # a branch that is no tensor
    ("x -> relu -> conv(4, 3, groups = 2)", "", ("relu0",)),  # a layer's bad argument
    ("x -> relu -> pair(4, c = 5)", "", ("relu0",)),  # a block's bad arguments
    ("x -> relu -> twice(4, 3, wide = true)", "twice0", ("twice0.conv0", "twice0.conv1")),
]
LIBRARY = ("block pair(c) {\n    conv(c, 3) -> add(conv(c, 3), conv(c + 1, 3))\n}\n"
           "block twice(c, k, wide = false) {\n"
           "    conv(c, k, padding = same)\n"
           "        -> add(in, conv(if wide { c + 1 } else { c }, k, padding = same))\n}\n")


@pytest.mark.parametrize("body, block, inputs", FAILURES)
def test_capture_records_the_innermost_failing_call(tmp_path: Path, body: str, block: str,
                                                    inputs: tuple[str, ...]) -> None:
    text = LIBRARY + f"network n() {{\n    input x: [3, 16, 16]\n    {body}\n}}\n"
    captured = capture(netdsl.loads(text, str(tmp_path / "p.net")).program)
    assert captured.error is not None
    assert (captured.failed_block, captured.failed_inputs) == (block, inputs)


def test_capture_labels_each_block_call_as_written(tmp_path: Path) -> None:
    text = LIBRARY + ("network n() {\n    input x: [3, 16, 16]\n"
                      "    x -> twice(4, k = 1) -> twice(4, 3, wide = false) -> pair(4 + 4)\n}\n")
    captured = capture(netdsl.loads(text, str(tmp_path / "p.net")).program)
    assert captured.calls == {"twice0": "twice(4, k = 1)", "twice1": "twice(4, 3, wide = false)",
                              "pair0": "pair(8)"}
    assert set(captured.call_spans) == {"twice0", "twice1", "pair0"}


def test_report_draw_and_spec_html() -> None:
    spec = netdsl.load(SPECS / "lenet5.net")
    report = spec.analyze()
    drawing = report.draw(color="macs")
    assert len(drawing.model["nodes"]) == len(report.layers)
    assert "lenet5" in report._repr_html_() and "<iframe" not in report._repr_html_()
    html = spec._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "NETDSL.mount" in html
    with pytest.raises(UsageError):
        draw_report(report, None)


def test_html_is_self_contained(tmp_path: Path) -> None:
    html = draw_spec(netdsl.load(SPECS / "unet.net")).html()
    for fetching in ("<script src", "<link", 'src="http', "src='http", 'href="http', "url(http",
                     "@import"):
        assert fetching not in html
    model = json.loads(html.split('id="netdsl-model">', 1)[1].split("</script>", 1)[0])
    assert len(model["nodes"]) == len(netdsl.load(SPECS / "unet.net").graph())


def test_cli_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "net.svg"
    assert main(["draw", str(SPECS / "lenet5.net"), "-o", str(out), "--set", "classes=7",
                 "--input", "1x28x28", "--color", "rf", "--direction", "LR"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "1x28x28" in svg and ">linear 7<" in svg
    assert main(["draw", str(SPECS / "resnet18.net"), "-o", str(tmp_path / "r.dot"),
                 "--depth", "1"]) == 0
    assert "rankdir=TB" in (tmp_path / "r.dot").read_text(encoding="utf-8")
    assert main(["draw", str(SPECS / "lenet5.net"), "-o", str(tmp_path / "x.png")]) == 2
    assert main(["draw", str(SPECS / "lenet5.net"), "-o", str(out), "--depth", "0"]) == 2
    broken = tmp_path / "broken.net"
    broken.write_text(BROKEN, encoding="utf-8")
    capsys.readouterr()
    assert main(["draw", str(broken), "-o", str(tmp_path / "b.html")]) == 1
    err = capsys.readouterr().err
    assert "broken.net:3:24: error: add() got branches" in err and "drawn up to the error" in err
    assert (tmp_path / "b.html").exists()


def test_search_decisions_are_drawn_as_chosen() -> None:
    text = ("block unit(kernel = choice([3, 5])) {\n    conv(8, kernel, padding = kernel // 2) -> relu\n}\n"
            "network n(width = choice([16, 32])) {\n    input x: [3, 16, 16]\n"
            "    x -> conv(width, 3) -> unit() -> flatten -> linear(2)\n}\n")
    spec = netdsl.loads(text, "space.net")
    model = draw_spec(spec, decisions={"width": 32, "unit0.kernel": 5}).model
    args = {n["name"]: n["args"] for n in model["nodes"]}
    assert args["conv0"].startswith("32, k=3") and args["unit0.conv0"].startswith("8, k=5")


def test_wheel_ships_the_layout_engine_and_its_license(tmp_path: Path) -> None:
    """`pip install netdsl` brings ELK, the renderer and ELK's license (package data)."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    names = zipfile.ZipFile(next(tmp_path.glob("netdsl-*.whl"))).namelist()
    for asset in ("elk.bundled.js", "draw.js", "LICENSE-elkjs.md"):
        assert f"netdsl/draw/assets/{asset}" in names
    assert "netdsl/draw/cli.py" in names


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "golden" / "errors").glob("*.net")),
                         ids=lambda p: p.stem)
def test_every_error_spec_is_drawn_or_refused(path: Path) -> None:
    """Each spec of the error gallery: a picture that marks the mistake and quotes it, or,
    when it does not even load, the error itself."""
    from netdsl.errors import NetdslError

    try:
        spec = netdsl.load(path)
    except NetdslError:
        return  # a syntax error or an import cycle: nothing was elaborated
    drawing = draw_spec(spec)
    assert drawing.error is not None
    assert any(n.get("failed") for n in drawing.model["nodes"])
    message = next(n for n in drawing.model["nodes"] if n["kind"] == "message")
    assert message["text"][0] == drawing.error.render().splitlines()[0]
    assert drawing.dot().count("->") >= 1
