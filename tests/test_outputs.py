"""Several outputs: syntax, graph contract, report, lowering (module, model.py, ONNX), oracle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import netdsl
from netdsl.errors import NetdslError
from netdsl.graph import format_ir
from netdsl.heads import eval_graph, heads, training_only

HEADS = """
network heads(aux_on = true) {
    input image: [3, 16, 16]

    a = conv(8, 3, padding = 1) -> relu
    training output aux = if aux_on { a -> conv(32, 3, padding = 1) -> global_avgpool -> flatten -> linear(10) } else { none }
    b = a -> conv(16, 3, stride = 2, padding = 1)
    output p4 = b
    output logits = b -> global_avgpool -> flatten -> linear(10)
}
"""

PYRAMID = """
network pyramid() {
    input image: [3, 32, 32]

    c3 = conv(8, 3, stride = 2, padding = 1) -> relu
    c4 = c3 -> conv(16, 3, stride = 2, padding = 1) -> relu
    output p4 = c4 -> conv(8, 1)
    output p3 = add(c3 -> conv(8, 1), p4 -> upsample(2))
}
"""


def graph_of(text: str, **params):
    return netdsl.loads(text, "heads.net").graph(params=params or None)


def error_of(text: str) -> NetdslError:
    with pytest.raises(NetdslError) as info:
        graph_of(text)
    return info.value


# ------------------------------------------------------------------- graph contract
def test_graph_records_outputs_in_order_with_names_and_flags():
    g = graph_of(HEADS)
    assert g.graph["output_names"] == ["aux", "p4", "logits"]
    assert g.graph["output_training"] == [True, False, False]
    assert len(g.graph["outputs"]) == 3
    assert g.graph["outputs"][1] == "conv2"  # p4 is b, the stride-2 conv
    marked = sorted(n for n, d in g.nodes(data=True) if d.get("train_only"))
    assert marked == sorted(training_only(g))
    assert marked == ["conv1", "flatten0", "global_avgpool0", "linear0"]
    assert not g.nodes["relu0"].get("train_only")  # it feeds p4 and logits too


def test_single_call_output_takes_its_name_and_outputs_feed_later_layers():
    g = graph_of(PYRAMID)
    assert g.graph["output_names"] == ["p4", "p3"]
    assert g.graph["outputs"][1] == "p3"  # a single call (the add) takes the name
    ir = format_ir(g)
    assert ir.splitlines()[-1] == f"return p4 = %{g.graph['outputs'][0]}, p3 = %{g.graph['outputs'][1]}"
    assert not training_only(g)


def test_output_none_leaves_the_head_out():
    g = graph_of(HEADS, aux_on=False)
    assert g.graph["output_names"] == ["p4", "logits"]
    assert not training_only(g)
    assert "training aux" in format_ir(graph_of(HEADS))


def test_unnamed_network_keeps_its_single_output():
    g = graph_of("network n() {\n input x: [4, 8, 8]\n conv(4, 1)\n}\n")
    assert g.graph["output_names"] == ["output"]
    assert [h.name for h in heads(g)] == ["output"]
    assert format_ir(g).splitlines()[-1] == "return %conv0"


def test_eval_graph_drops_the_training_heads():
    g = graph_of(HEADS)
    sub = eval_graph(g)
    assert sub.graph["output_names"] == ["p4", "logits"]
    assert set(g.nodes) - set(sub.nodes) == training_only(g)
    assert list(sub.nodes) == [n for n in g.nodes if n in sub]


# -------------------------------------------------------------------------- errors
@pytest.mark.parametrize("body, message, line", [
    ("output a = conv(4, 1)\n output a = conv(4, 1)", "output 'a' is declared twice", 4),
    ("a = conv(4, 1)\n output b = a\n output c = a", "the same tensor as output 'b'", 5),
    ("output a = x", "is the network input 'x'", 3),
    ("output a = [1, 2]", "must be one tensor (or none), got list", 3),
    ("training output a = conv(4, 1)", "no output that runs at inference", 3),
    ("output a = conv(4, 1)\n conv(4, 1)", "this last expression is not an output", 4),
    ("output a = conv(4, 1)\n output c = relu\n b = x -> relu",
     "'relu0' is computed but never reaches the network's outputs", 5),
    ("y = if true { output a = conv(4, 1)\n a } else { x }\n output b = y",
     "outputs are declared at the top level", 3),
])
def test_misused_outputs_are_located_errors(body: str, message: str, line: int):
    error = error_of(f"network n() {{\n input x: [4, 8, 8]\n {body}\n}}\n")
    assert message in error.message
    assert error.span is not None and error.span.line == line


def test_output_in_a_block_is_an_error():
    error = error_of("block b() {\n output o = relu\n relu\n}\n"
                     "network n() {\n input x: [4, 8, 8]\n b\n}\n")
    assert "outputs are declared at the top level" in error.message
    assert error.span.line == 2


def test_output_and_training_are_reserved_words():
    for word in ("output", "training"):
        with pytest.raises(NetdslError, match="reserved word"):
            netdsl.loads(f"network n() {{\n input x: [4]\n linear({word})\n}}\n", "r.net")
        with pytest.raises(NetdslError, match="unexpected '='"):
            netdsl.loads(f"network n() {{\n input x: [4]\n {word} = relu\n {word}\n}}\n", "r.net")


# -------------------------------------------------------------------------- report
def test_report_lists_heads_their_feeders_and_inference_totals():
    g = graph_of(HEADS)
    report = netdsl.loads(HEADS, "heads.net").analyze()
    by_name = {h.name: h for h in report.heads}
    assert list(by_name) == ["aux", "p4", "logits"]
    aux = by_name["aux"]
    assert aux.training and aux.node == g.graph["outputs"][0]
    assert aux.own_nodes == ("conv1", "global_avgpool0", "flatten0", "linear0")
    assert aux.own_params == report.layer("conv1").params + report.layer("linear0").params
    assert by_name["p4"].own_nodes == ()  # logits reads it too
    assert "conv0" in by_name["logits"].nodes and "conv1" not in by_name["logits"].nodes
    assert {r.name for r in report.layers if r.train_only} == training_only(g)
    inference = report.inference_totals
    assert inference is not None
    assert inference.params == report.totals.params - aux.own_params
    assert inference.macs == report.totals.macs - sum(report.layer(n).macs for n in aux.own_nodes)
    # the head's 32-channel conv is the largest tensor: inference never holds it
    assert inference.inference_peak_bytes < report.totals.inference_peak_bytes
    data = report.to_dict()
    assert [h["name"] for h in data["heads"]] == ["aux", "p4", "logits"]
    assert data["inference_totals"]["params"] == inference.params
    assert next(r for r in data["layers"] if r["name"] == "linear0")["train_only"] is True


def test_report_text_shows_each_output():
    from netdsl.report.table import plain_report

    text = plain_report(netdsl.loads(HEADS, "heads.net").analyze())
    assert "Output" in text and "training only" in text
    assert "Without training-only heads (inference)" in text


def test_single_output_report_is_unchanged():
    report = netdsl.loads("network n() {\n input x: [4, 8, 8]\n conv(4, 1)\n}\n", "n.net").analyze()
    data = report.to_dict()
    assert "heads" not in data and "inference_totals" not in data
    assert "train_only" not in data["layers"][1]


# ------------------------------------------------------------------------ lowering
def test_module_returns_a_dict_and_skips_training_heads_in_eval():
    model = netdsl.build(HEADS)
    x = torch.randn(2, 3, 16, 16)
    out = model(x)
    assert list(out) == ["aux", "p4", "logits"]
    assert out["p4"].shape == (2, 16, 8, 8) and out["aux"].shape == (2, 10)
    model.eval()
    with torch.no_grad():
        evaluated = model(x)
    assert list(evaluated) == ["p4", "logits"]
    assert torch.allclose(evaluated["logits"], out["logits"], atol=1e-6)
    model.training_heads = True
    with torch.no_grad():
        assert list(model(x)) == ["aux", "p4", "logits"]


def test_one_output_is_a_tensor_named_or_not(tmp_path: Path):
    named = "network n() {\n input x: [4, 8, 8]\n output y = conv(4, 1)\n}\n"
    assert isinstance(netdsl.build(named)(torch.randn(1, 4, 8, 8)), torch.Tensor)
    plain = netdsl.build("network n() {\n input x: [4, 8, 8]\n conv(4, 1)\n}\n")
    assert isinstance(plain(torch.randn(1, 4, 8, 8)), torch.Tensor)
    # heads switched off: one output left, a tensor in both modes
    model = netdsl.build(HEADS.replace("aux_on = true", "aux_on = false").replace(
        "    output p4 = b\n", ""))
    assert isinstance(model(torch.randn(2, 3, 16, 16)), torch.Tensor)
    pytest.importorskip("onnx")
    import onnx

    from netdsl.lowering.onnx_export import export_onnx

    path = export_onnx(None, named, tmp_path / "y.onnx", dynamo=False)
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["y"]


def test_generated_model_matches_in_both_modes(tmp_path: Path):
    from netdsl.lowering.codegen import generate_source

    path = tmp_path / "model.py"
    path.write_text(generate_source(graph_of(HEADS)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("generated_heads", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = netdsl.build(HEADS)
    generated = module.Heads()
    generated.load_state_dict(built.state_dict())
    x = torch.randn(2, 3, 16, 16)
    for training in (True, False):
        built.train(training)
        generated.train(training)
        a, b = built(x), generated(x)
        assert list(a) == list(b)
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert "if self.training:" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_onnx_keeps_every_inference_output_by_name(tmp_path: Path, dynamo: bool):
    pytest.importorskip("onnx")
    if dynamo:
        pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    import onnx
    from onnx.reference import ReferenceEvaluator

    from netdsl.lowering.onnx_export import export_onnx

    model = netdsl.build(HEADS).eval()
    x = torch.randn(2, 3, 16, 16)
    for training_heads, names in ((False, ["p4", "logits"]), (True, ["aux", "p4", "logits"])):
        path = export_onnx(model, HEADS, tmp_path / "heads.onnx", training_heads=training_heads,
                           dynamo=dynamo)
        assert [o.name for o in onnx.load(str(path)).graph.output] == names
        got = ReferenceEvaluator(str(path)).run(None, {"image": x.numpy()})
        model.training_heads = training_heads
        with torch.no_grad():
            want = model(x)
        model.training_heads = False
        for name, value in zip(names, got):
            assert torch.allclose(torch.from_numpy(value), want[name], atol=1e-5), name


# -------------------------------------------------------------------------- oracle
@pytest.mark.parametrize("text", [HEADS, PYRAMID], ids=["training-heads", "pyramid"])
def test_oracle_measures_what_the_analysis_says(text: str):
    from netdsl.oracle import verify

    checks = verify(graph_of(text))
    bad = [(c.name, c.static, c.measured, c.detail) for c in checks if not c.ok]
    assert bad == []
    names = {c.name for c in checks}
    if text is HEADS:  # the evaluation module (heads skipped) is measured too
        assert "outputs in evaluation (training heads skipped)" in names
        assert "inference peak without training heads (batch 2, bytes)" in names


FED = """
network fed() {
    input a: [4, 8, 8]
    input b: [4, 8, 8]

    training output t = a -> conv(4, 3, padding = 1)
    mid = add(t, b) -> relu
    training output t2 = mid -> conv(8, 1)
    output o = mid -> maxpool(2)
    output o2 = t2 -> relu -> maxpool(2) -> conv(4, 1) -> add(identity, o)
}
"""


def test_training_heads_that_feed_other_layers(tmp_path: Path):
    """A training output read by the inference outputs: no layer is training-only, but in
    evaluation it is not returned, so it is freed after its last reader (a lower peak)."""
    from netdsl.lowering.codegen import generate_source
    from netdsl.oracle import verify

    g = graph_of(FED)
    assert not training_only(g) and eval_graph(g) is not g
    report = netdsl.loads(FED, "fed.net").analyze(batch=2)
    assert report.inference_totals.params == report.totals.params
    assert report.inference_totals.inference_peak_bytes < report.totals.inference_peak_bytes
    checks = verify(g)
    assert [(c.name, c.detail) for c in checks if not c.ok] == []
    assert any(c.name == "inference peak without training heads (batch 2, bytes)" for c in checks)
    path = tmp_path / "fed.py"
    path.write_text(generate_source(g), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("generated_fed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built, generated = netdsl.build(FED), module.Fed()
    generated.load_state_dict(built.state_dict())
    xs = (torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8))
    for training in (True, False):
        built.train(training)
        generated.train(training)
        a, b = built(*xs), generated(*xs)
        assert list(a) == list(b) == (["t", "t2", "o", "o2"] if training else ["o", "o2"])
        assert all(torch.equal(a[k], b[k]) for k in a)
