"""Every analysis on small networks, checked against numbers worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

import netdsl
from netdsl.errors import NetdslError
from tests.conftest import SPECS, analyze_text

# input [3, 8, 8] -> conv 4@3x3 pad 1 (bias) -> relu -> maxpool 2 -> flatten -> linear 5
SMALL = """network small() {
    input x: [3, 8, 8]
    x -> conv(4, 3, padding = 1) -> relu -> maxpool(2) -> flatten -> linear(5)
}
"""


def test_counts_by_hand():
    r = analyze_text(SMALL)
    rows = {row.op: row for row in r.layers}
    # conv: 3*3*3*4 weights + 4 bias; MACs = 4*8*8 outputs * 27 taps; bias adds 256
    assert (rows["conv"].params, rows["conv"].macs, rows["conv"].other_ops) == (112, 6912, 256)
    assert rows["relu"].other_ops == 256
    assert rows["maxpool"].other_ops == 64 * 4  # 64 outputs, a 2x2 window each
    assert (rows["linear"].params, rows["linear"].macs, rows["linear"].other_ops) == (325, 320, 5)
    t = r.totals
    assert (t.params, t.buffers) == (437, 0)
    assert (t.macs, t.flops, t.other_ops) == (7232, 14464, 256 + 256 + 256 + 5)


def test_memory_by_hand():
    t = analyze_text(SMALL).totals
    # allocations: conv 1024 B, relu 1024, maxpool 256, flatten 0 (a view), linear 20
    assert t.activation_bytes == 1024 + 1024 + 256 + 20
    # peak while relu runs: conv output (last used by relu) + relu output
    assert t.inference_peak_bytes == 2048
    # saved: image (conv input) 768, relu output 1024, maxpool int64 indices 64*8,
    # linear's input is a view of maxpool's output: 256. The relu output maxpool saves
    # is the storage relu already keeps, counted once.
    assert t.saved_for_backward_bytes == 768 + 1024 + 512 + 256
    # training (sgd): params + grads 2*437*4, saved, worst layer's in+out gradients (relu: 2048)
    assert t.param_bytes == 437 * 4
    assert t.training_peak_bytes == 2 * 437 * 4 + 2560 + 2048


def test_batch_dtype_and_optimizer_scaling():
    one, four = analyze_text(SMALL).totals, analyze_text(SMALL, batch=4).totals
    assert four.macs == 4 * one.macs and four.params == one.params
    assert four.activation_bytes == 4 * one.activation_bytes
    assert four.inference_peak_bytes == 4 * one.inference_peak_bytes
    half = analyze_text(SMALL, dtype="float16").totals
    assert half.activation_bytes * 2 == one.activation_bytes
    # int64 indices keep 8 bytes per element whatever the activation dtype
    assert half.saved_for_backward_bytes == (768 + 1024 + 256) // 2 + 512
    adam = analyze_text(SMALL, optimizer="adam").totals
    assert adam.training_peak_bytes - one.training_peak_bytes == 2 * 437 * 4


def test_receptive_fields_by_hand():
    r = analyze_text(SMALL)
    rf = {row.op: row.rf for row in r.layers}
    assert (rf["conv"].size, rf["conv"].stride, rf["conv"].padding) == ((3, 3), (1, 1), (1, 1))
    assert (rf["maxpool"].size, rf["maxpool"].stride, rf["maxpool"].padding) == ((4, 4), (2, 2), (1, 1))
    assert not rf["flatten"].is_global and rf["linear"].is_global
    assert rf["linear"].size == (4, 4)  # the local path's field is kept


def test_dilation_and_transposed_fields():
    r = analyze_text("network n() {\n input x: [1, 32]\n"
                     " x -> conv(1, 3, dilation = 2) -> conv_transpose(1, 4, stride = 2, padding = 1)\n}\n")
    conv, up = r.layers[1].rf, r.layers[2].rf
    assert (conv.size, conv.stride, conv.padding) == ((5,), (1,), (0,))
    # each output i of a k=4, s=2, p=1 transposed conv reads ceil(4/2) = 2 inputs, the
    # first being ceil((i - 2) / 2) = floor(i/2 - 1/2): stride 1/2, padding 1/2
    assert (up.size, up.stride, up.padding) == ((6,), (Fraction(1, 2),), (Fraction(1, 2),))


def test_merge_field_is_the_union_and_alignment_is_checked():
    r = analyze_text("network n() {\n input x: [3, 16, 16]\n"
                     " x -> add(conv(4, 3, stride = 2, padding = 1) -> conv(4, 3, padding = 1),"
                     " conv(4, 1, stride = 2))\n}\n")
    assert r.warnings == []
    assert r.layers[-1].rf.size == (7, 7) and r.layers[-1].rf.stride == (2, 2)


def test_misaligned_centres_warn_with_location():
    # TF "same" with stride 2 on an even input pads 0 before and 1 after: off-centre
    r = analyze_text("network n() {\n input x: [3, 16, 16]\n"
                     " x -> add(conv(4, 3, stride = 2, padding = same), conv(4, 1, stride = 2))\n}\n")
    assert len(r.warnings) == 1
    w = r.warnings[0]
    assert "not centred alike" in w.message and (w.span.line, w.span.column) == (3, 7)
    assert w.render().startswith("test.net:3:7: warning: add() merges branches")


def test_different_effective_strides_are_an_error():
    with pytest.raises(NetdslError, match="different effective strides: 1 and 2|2 and 1") as info:
        analyze_text("network n() {\n input x: [3, 16, 16]\n"
                     " x -> concat(center_crop(8), maxpool(2))\n}\n")
    assert info.value.span.line == 3 and len(info.value.notes) == 2


def test_a_branch_resampled_to_a_size_merges_without_a_stride_check():
    # an FPN's top-down sum: 8 -> 15 is no whole scale, so that branch's stride (256/15 of
    # the input's 16) is an average; the merge is allowed and its field marked inexact
    r = analyze_text("network n() {\n input x: [3, 225, 225]\n"
                     " c4 = x -> conv(4, 3, stride = 16, padding = 1)\n"
                     " c5 = c4 -> conv(4, 3, stride = 2, padding = 1)\n"
                     " add(c4, c5 -> upsample(size = c4.size))\n}\n")
    assert r.layers[-1].shape == (4, 15, 15) and not r.layers[-1].rf.exact
    assert r.layers[1].rf.exact and not r.warnings


def test_global_after_pooling_and_se_gate():
    r = analyze_text("network n() {\n input x: [8, 16, 16]\n"
                     " x -> conv(8, 3, padding = 1) -> mul(identity, global_avgpool -> conv(8, 1) -> sigmoid)\n}\n")
    gate, out = r.layers[-2].rf, r.layers[-1].rf
    assert gate.is_global and out.is_global and out.size == (3, 3)


def test_views_do_not_allocate_and_crop_copies():
    r = analyze_text("network n() {\n input x: [2, 10, 10]\n"
                     " x -> relu -> center_crop(6) -> flatten -> reshape([2, 36]) -> conv(3, 3)\n}\n")
    relu, crop, flatten, reshape, conv = r.layers[1:]
    assert flatten.activation_bytes == reshape.activation_bytes == 0  # views
    # the crop is a tensor of its own: the uncropped relu output can be freed
    assert crop.activation_bytes == 2 * 6 * 6 * 4
    # relu on the image needs no gradient and keeps nothing; conv keeps its input, a view
    # of the crop's storage
    assert relu.saved_for_backward_bytes == 0
    assert conv.saved_for_backward_bytes == 2 * 6 * 6 * 4


def test_layers_without_gradients_keep_nothing_and_mul_keeps_per_operand():
    r = analyze_text("network n() {\n input x: [3, 8, 8]\n"
                     " mul(x -> relu, x -> conv(3, 1))\n}\n")
    relu, conv, mul = r.layers[1:]
    t = 3 * 8 * 8 * 4
    assert relu.saved_for_backward_bytes == 0  # the image requires no gradient
    assert conv.saved_for_backward_bytes == t  # its input, for the weight's gradient
    # mul keeps relu's output (for the conv branch's gradient), not the conv output
    assert mul.saved_for_backward_bytes == t


def test_dropout_returns_its_input_at_inference():
    r = analyze_text("network n() {\n input x: [3, 8, 8]\n"
                     " x -> conv(4, 1) -> dropout(0.5) -> relu\n}\n")
    dropout = r.layers[2]
    assert dropout.activation_bytes == 0
    assert dropout.saved_for_backward_bytes == 4 * 8 * 8  # its one-byte mask, in training
    assert r.totals.inference_peak_bytes == 2 * 4 * 8 * 8 * 4


def test_branching_liveness():
    # the skip keeps x's conv output alive across the branch
    r = analyze_text("network n() {\n input x: [1, 10, 10]\n"
                     " a = conv(4, 1)\n b = a -> conv(4, 1) -> conv(4, 1)\n add(a, b)\n}\n")
    t = 4 * 100 * 4  # one [4, 10, 10] float32 tensor
    # while the second conv of b runs: a, its input and its output are live; then add
    assert r.totals.inference_peak_bytes == 3 * t


def test_textbook_layer():
    r = netdsl.load(SPECS / "textbook_conv.net").analyze() if (SPECS / "textbook_conv.net").exists() \
        else analyze_text("network t() {\n input image: [3, 150, 100]\n"
                          " image -> conv(200, 5, padding = same)\n}\n")
    conv = r.layers[-1]
    assert (conv.params, conv.macs, conv.shape) == (15_200, 225_000_000, (200, 150, 100))
    assert conv.activation_bytes == 12_000_000
    r100 = analyze_text("network t() {\n input image: [3, 150, 100]\n"
                        " image -> conv(200, 5, padding = same)\n}\n", batch=100)
    assert r100.layers[-1].activation_bytes == 1_200_000_000


def test_resnet34_reference_figures():
    r = netdsl.load(SPECS / "resnet34.net").analyze()
    assert r.totals.params == 21_797_672
    assert round(r.totals.macs / 1e9, 2) == 3.66
    pool = next(row for row in r.layers if row.op == "global_avgpool")
    last = r.layer(pool.inputs[0])  # the output of the last stage
    assert last.shape == (512, 7, 7)
    assert (last.rf.size, last.rf.stride, last.rf.padding) == ((899, 899), (32, 32), (449, 449))


def test_rollup_by_block_path():
    r = netdsl.load(SPECS / "resnet34.net").analyze()
    for depth in (1, 2, 3):
        blocks = r.rollup(depth)
        assert sum(b.params for b in blocks) == r.totals.params
        assert sum(b.macs for b in blocks) == r.totals.macs
        assert sum(b.layers for b in blocks) == len(r.layers)
    assert len(r.rollup(2)) > len(r.rollup(1))


def test_report_json_shape():
    d = analyze_text(SMALL).to_dict()
    assert {"network", "source", "batch", "dtype", "inputs", "totals", "layers"} <= set(d)
    assert set(d["totals"]) >= {"params", "buffers", "macs", "flops",
                                "other_ops", "param_bytes", "activation_bytes",
                                "inference_peak_bytes", "saved_for_backward_bytes",
                                "training_peak_bytes"}
    layer = d["layers"][1]
    assert set(layer) >= {"name", "op", "block", "inputs", "shape", "params", "buffers", "macs",
                          "flops", "other_ops", "activation_bytes", "saved_for_backward_bytes",
                          "rf", "source"}
    assert set(layer["rf"]) == {"size", "stride", "padding", "global", "exact"}
    assert set(layer["source"]) == {"file", "line", "column"}
    assert d["inputs"] == {"x": [3, 8, 8]}


def test_se_gate_keeps_the_local_field_through_the_residual_add():
    plain = netdsl.load(SPECS / "resnet50.net").analyze()
    se = netdsl.load(SPECS / "se_resnet50.net").analyze()

    def last_map(r):
        pool = [row for row in r.layers if row.op == "global_avgpool"][-1]  # the head's
        return r.layer(pool.inputs[0]).rf

    assert last_map(se).size == last_map(plain).size == (427, 427)
    assert last_map(se).is_global and not last_map(plain).is_global
