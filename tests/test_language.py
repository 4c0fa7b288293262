"""Elaboration semantics: values, blocks, merges, loops, imports, overrides, limits."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.errors import LimitError, NetdslError, UsageError
from netdsl.language import parser as parser_module
from netdsl.language.elaborate import Override

NET = "network n({params}) {{\n    input x: {shape}\n{body}\n}}\n"


def graph(body: str, shape: str = "[3, 16, 16]", params: str = "", blocks: str = "", **kw):
    text = blocks + NET.format(params=params, shape=shape, body=body)
    return netdsl.loads(text, "t.net").graph(**kw)


def out_shape(g) -> tuple:
    return g.nodes[g.graph["outputs"][0]]["layer"].out_shape


def ops(g) -> list[str]:
    return [layer.op for _, layer in g.nodes(data="layer")]


def test_chain_from_input_and_implicit_input():
    g = graph("    conv(8, 3, padding = 1) -> relu -> maxpool(2)")
    assert ops(g) == ["input", "conv", "relu", "maxpool"]
    assert out_shape(g) == (8, 8, 8)


@pytest.mark.parametrize("expr, value", [
    ("7 // 2", 3), ("7 / 2", 3.5), ("-7 % 3", 2), ("2 ** 5", 32), ("1 + 2 * 3", 7),
    ("3 > 2 and not (1 == 2)", True), ("[1, 2] + [3]", [1, 2, 3]), ("[4, 5, 6][-1]", 6),
    ("len([1, 2, 3])", 3), ("max(3, 9, 4)", 9), ("min([5, 2])", 2), ("range(2, 8, 3)", [2, 5]),
    ("if 2 > 3 { 10 } else if 1 < 2 { 20 } else { 30 }", 20), ("int(2.7) + round(2.5)", 4),
    ("in.channels * in.height + in.width", 3 * 16 + 16), ("in.shape", [3, 16, 16]),
    ("ceil(7 / 2) + floor(7 / 2)", 7), ("sum([1, 2, 3])", 6), ("abs(-3)", 3),
])
def test_scalar_expressions(expr, value):
    # the language's own equality keeps types apart (true is not 1, 3.5 is not 3)
    expected = {True: "true", False: "false"}.get(value, value) if isinstance(value, bool) \
        else str(value)
    g = graph(f"    v = {expr}\n    assert(v == {expected}, \"wrong value\")\n    relu")
    assert ops(g) == ["input", "relu"]
    with pytest.raises(NetdslError, match="wrong value"):
        graph(f"    v = {expr}\n    assert(v != {expected}, \"wrong value\")\n    relu")
    # evaluate again through a channel count to read the value back
    if isinstance(value, bool):
        g = graph(f"    conv(if {expr} {{ 5 }} else {{ 6 }}, 1)")
        assert out_shape(g)[0] == (5 if value else 6)
    elif isinstance(value, list):
        g = graph(f"    conv(len({expr}) + 1, 1)")
        assert out_shape(g)[0] == len(value) + 1
    else:
        g = graph(f"    conv(int(({expr}) * 2) + 1, 1)")
        assert out_shape(g)[0] == int(value * 2) + 1


def test_blocks_defaults_keywords_and_input_shape():
    blocks = ("block widen(factor = 2, extra = 0) {\n"
              "    conv(in.channels * factor + extra, 1)\n}\n")
    g = graph("    widen() -> widen(extra = 1) -> widen(3, extra = 2)", blocks=blocks)
    assert out_shape(g) == (((3 * 2) * 2 + 1) * 3 + 2, 16, 16)
    names = list(g)
    assert names[1:] == ["widen0.conv0", "widen1.conv0", "widen2.conv0"]


def test_parameter_default_reads_the_input():
    blocks = "block squeeze(reduced = in.channels // 2) {\n    conv(reduced, 1)\n}\n"
    assert out_shape(graph("    conv(16, 1) -> squeeze", blocks=blocks)) == (8, 16, 16)


def test_merges_with_inline_branches_and_identity():
    g = graph("    conv(8, 1) -> add(conv(8, 3, padding = 1) -> relu, identity) -> "
              "concat(identity, maxpool(3, stride = 1, padding = 1), conv(4, 1))")
    assert out_shape(g) == (20, 16, 16)
    add = next(n for n in g if g.nodes[n]["layer"].op == "add")
    assert g.nodes[add]["inputs"] == ("relu0", "conv0")
    assert sorted(k for _, _, k in g.in_edges(add, keys=True)) == [0, 1]


def test_add_of_the_same_tensor_twice_keeps_both_edges():
    g = graph("    y = conv(4, 1)\n    add(y, y)")
    add = g.graph["outputs"][0]
    assert len(list(g.in_edges(add, keys=True))) == 2


def test_mul_broadcasts_a_channel_gate():
    g = graph("    mul(identity, global_avgpool -> conv(3, 1) -> sigmoid)")
    assert out_shape(g) == (3, 16, 16)


def test_named_values_and_assignment_names_nodes():
    g = graph("    stem = conv(8, 3, padding = 1)\n    skip = stem -> relu\n"
              "    concat(skip, stem -> maxpool(3, stride = 1, padding = 1))")
    assert "stem" in g and out_shape(g) == (16, 16, 16)


def test_repeat_and_for_with_index():
    g = graph("    repeat(3) { conv(4, 3, padding = 1) } -> for i in range(3) { conv(2 ** i, 1) }")
    assert ops(g).count("conv") == 6 and out_shape(g) == (4, 16, 16)
    g = graph("    for c in [4, 8] { conv(c, 3, stride = 2, padding = 1) }")
    assert out_shape(g) == (8, 4, 4)
    g = graph("    relu -> repeat(0) { conv(4, 1) }")
    assert out_shape(g) == (3, 16, 16)


def test_rank_1_2_3_inputs():
    assert out_shape(graph("    conv(4, 5) -> maxpool(2)", shape="[2, 100]")) == (4, 48)
    assert out_shape(graph("    conv(4, 3) -> maxpool(2)", shape="[2, 8, 10, 12]")) == (4, 3, 4, 5)
    assert out_shape(graph("    linear(7)", shape="[20]")) == (7,)


def test_several_networks_need_a_name(write):
    path = write("two.net", "network a() {\n input x: [4]\n linear(2)\n}\n"
                            "network b() {\n input x: [4]\n linear(3)\n}\n")
    spec = netdsl.load(path)
    assert spec.networks == ["a", "b"]
    assert out_shape(spec.graph("b")) == (3,)
    with pytest.raises(UsageError, match="several networks"):
        spec.graph()
    with pytest.raises(UsageError, match="did you mean 'a'"):
        spec.graph("aa")


def test_imports_relative_once_and_stdlib(write, monkeypatch):
    write("lib/common.net", "block cb(c) {\n conv(c, 3, padding = 1) -> batchnorm\n}\n")
    write("lib/a.net", 'import "common.net"\nblock a(c) {\n cb(c) -> relu\n}\n')
    write("lib/b.net", 'import "common.net"\nblock b(c) {\n cb(c)\n}\n')
    main = write("main.net", 'import "lib/a.net"\nimport "lib/b.net"\n'
                             'network n() {\n input x: [3, 8, 8]\n a(4) -> b(5)\n}\n')
    calls = []
    real = parser_module.parse
    monkeypatch.setattr("netdsl.language.loader.parse", lambda t, p: calls.append(p) or real(t, p))
    g = netdsl.load(main).graph()
    assert out_shape(g) == (5, 8, 8)
    assert sum(p.endswith("common.net") for p in calls) == 1


def test_import_cycle_is_reported_at_the_closing_import(write):
    write("a.net", 'import "b.net"\nnetwork n() {\n input x: [4]\n x\n}\n')
    write("b.net", 'import "c.net"\n')
    c = write("c.net", '\nimport "a.net"\n')
    with pytest.raises(NetdslError, match=r"import cycle: a.net -> b.net -> c.net -> a.net") as info:
        netdsl.load(c.parent / "a.net")
    assert info.value.span.file.endswith("c.net") and info.value.span.line == 2


def test_missing_import_and_unknown_stdlib(write):
    p = write("m.net", 'import "nope.net"\n')
    with pytest.raises(NetdslError, match="cannot import 'nope.net'"):
        netdsl.load(p)
    p = write("s.net", "import std.nothing\n")
    with pytest.raises(NetdslError, match="no standard library module 'std.nothing'"):
        netdsl.load(p)


def test_duplicate_definition(write):
    p = write("d.net", "block f() {\n relu\n}\nblock f() {\n relu\n}\n")
    with pytest.raises(NetdslError, match="'f' is defined twice") as info:
        netdsl.load(p)
    assert info.value.span.line == 4 and info.value.notes[0].span.line == 1


def test_overrides_are_type_checked():
    spec = netdsl.loads("network n(classes: int = 10, scale = 1.0, tag = \"a\") {\n"
                        " input x: [4]\n linear(classes)\n}\n", "o.net")
    assert out_shape(spec.graph(classes=3)) == (3,)
    assert out_shape(spec.graph(scale=2)) == (10,)  # an int is a fine float
    with pytest.raises(UsageError, match="'classes' is an int, but --set classes=x gives str"):
        spec.graph(classes=Override("x", "--set classes=x"))
    with pytest.raises(UsageError, match="'tag' is a str, but the API gives int"):
        spec.graph(tag=3)
    with pytest.raises(UsageError, match="no parameter 'clases'.*did you mean 'classes'"):
        spec.graph(clases=3)


def test_required_network_parameter():
    spec = netdsl.loads("network n(classes) {\n input x: [4]\n linear(classes)\n}\n", "r.net")
    with pytest.raises(UsageError, match="no default; give it with --set classes=VALUE"):
        spec.graph()
    assert out_shape(spec.graph(classes=2)) == (2,)


def test_input_shape_override():
    spec = netdsl.loads("network n() {\n input image: [3, 32, 32]\n conv(4, 3)\n}\n", "i.net")
    assert out_shape(spec.graph(inputs={"image": (3, 64, 40)})) == (4, 62, 38)
    with pytest.raises(UsageError, match="no input 'img'"):
        spec.graph(inputs={"img": (3, 8, 8)})


@pytest.mark.parametrize("body, message", [
    ("    repeat(20000) { relu }", "a loop of 20000 iterations is past the limit of 10000"),
    ("    conv(4, 1) -> flatten -> linear(2 ** 40)", "has an axis larger than 2147483647"),
])
def test_limits_are_checked(body, message):
    with pytest.raises(NetdslError, match=message):
        graph(body)


def test_tensor_size_limit_applies_to_inputs_and_outputs():
    with pytest.raises(LimitError, match="more than 2\\*\\*40 elements per sample"):
        graph("    relu", shape="[4, 1048576, 524288]")
    with pytest.raises(NetdslError, match="more than 2\\*\\*40 elements per sample"):
        graph("    conv(2 ** 16, 1)", shape="[1, 8192, 4096]")


def test_recursion_hits_the_depth_limit_with_collapsed_notes():
    with pytest.raises(LimitError, match="nested more than 100 deep") as info:
        graph("    f", blocks="block f() {\n    f\n}\n")
    assert any("more identical call" in n.message for n in info.value.notes)
    assert len(info.value.notes) <= 4


@pytest.mark.parametrize("body, message", [
    ("    rleu", "unknown name 'rleu'; did you mean 'relu'?"),
    ("    conv(8, 3, strid = 2)", "conv\\(\\) has no argument 'strid'; did you mean 'stride'?"),
    ("    conv(8)", "conv\\(\\) is missing its argument 'kernel'"),
    ("    conv(8, 3, groups = 2)", "input channels 3 are not divisible by groups=2"),
    ("    conv(0, 3)", "argument 'channels' must be a positive integer, got 0"),
    ("    conv(8, 20)", "kernel extent 20 is larger than the padded input"),
    ("    conv(8, 3, stride = [1, 2, 3])", "expected 2 value\\(s\\), one per spatial axis"),
    ("    conv(8, 3, padding = \"sam\")", 'expected "same", "valid" or integers'),
    ("    maxpool(2, padding = 2)", "more than half the window"),
    ("    linear(10)", "linear\\(\\) expects a flat \\[F\\] input"),
    ("    add(conv(4, 1), conv(5, 1))", "add\\(\\) got branches of different shapes"),
    ("    concat(identity, maxpool(2))", "concat\\(\\) got branches whose shapes differ off axis 0"),
    ("    x -> 3", "a chain step must be a layer"),
    ("    y = 3\n    x -> y", "'y' is a int, not a layer or block"),
    ("    conv(8, 3)\n    relu", "this expression's value is never used"),
    ("    stem = conv(4, 1)\n    relu", "'stem.*' is computed but never reaches"),
    ("    conv(in, 3)", "a layer argument must be a number, word or list, not a tensor"),
    ("    conv(8, 1.5)", "argument 'kernel' expected an integer, got float 1.5"),
    ("    conv(8, 3, bias = 1)", "argument 'bias' expected true or false"),
    ("    conv(1 / 0, 1)", "division by zero"),
    ("    conv([1][3], 1)", "index 3 is out of range"),
    ("    conv(in.colour, 1)", "has no 'colour'"),
    ("    if 1 { relu } else { relu }", "expected true or false, got int 1"),
    ("    3", "must end with an expression that gives a tensor"),
    ("    upsample()", "takes exactly one of scale and size"),
    ("    center_crop(20)", "cannot crop"),
    ("    conv_transpose(4, 3, stride = 2, output_padding = 2)", "output_padding 2 on axis 0"),
])
def test_mistakes_are_located_errors(body, message):
    with pytest.raises(NetdslError, match=message) as info:
        graph(body)
    assert info.value.span is not None and info.value.span.file == "t.net"
    assert info.value.span.line >= 3


def test_errors_inside_blocks_carry_the_call_chain():
    blocks = ("block bad(c) {\n    conv(c, 3, groups = 2)\n}\n"
              "block outer() {\n    bad(5)\n}\n")
    with pytest.raises(NetdslError) as info:
        graph("    outer", blocks=blocks)
    err = info.value
    assert (err.span.line, err.span.column) == (2, 16)
    assert [n.message for n in err.notes] == ["in block 'bad' called from 'outer'",
                                             "in block 'outer' called from network 'n'"]
    assert [n.span.line for n in err.notes] == [5, 9]


def test_assert_and_fail_are_located():
    blocks = ('block stage(kind) {\n    assert(kind == "basic" or kind == "bottleneck", '
              '"unknown unit kind")\n    relu\n}\n')
    assert out_shape(graph('    stage("basic")', blocks=blocks)) == (3, 16, 16)
    with pytest.raises(NetdslError, match="^t.net:2:5: unknown unit kind") as info:
        graph('    stage("bottlenek")', blocks=blocks)
    assert "in block 'stage'" in info.value.notes[0].message
    with pytest.raises(NetdslError, match="not supported here"):
        graph('    if in.channels == 3 { fail("not supported here") } else { relu }')


def test_in_inside_loop_and_if_bodies_is_the_step_input():
    g = graph("    for i in range(3) { conv(in.channels * 2, 1) }")
    assert out_shape(g) == (24, 16, 16)
    g = graph("    conv(5, 1) -> repeat(2) { conv(in.channels + 1, 1) }")
    assert out_shape(g) == (7, 16, 16)
    # applied to a tensor, an if's condition and bodies both see that tensor as `in`
    g = graph("    conv(6, 1) -> if in.channels == 6 { conv(in.channels // 2, 1) } else { relu }")
    assert out_shape(g) == (3, 16, 16)


def test_library_blocks_resolve_names_in_their_own_module(write):
    # a spec's own `conv_bn` must not change what std.resnet's blocks call
    path = write("shadow.net", "import std.resnet\n"
                 "block conv_bn(x) {\n    relu\n}\n"
                 "network n() {\n    input x: [3, 32, 32]\n    x -> basic(8, 2) -> conv_bn(0)\n}\n")
    g = netdsl.load(path).graph()
    assert out_shape(g) == (8, 16, 16)
    assert sum(layer.op == "conv" for _, layer in g.nodes(data="layer")) == 3


def test_memoised_block_calls_build_identical_graphs():
    from netdsl.graph import check, format_ir
    from tests.conftest import SPECS

    for name in ("resnet50.net", "densenet121.net", "googlenet.net", "unet.net"):
        fresh = netdsl.load(SPECS / name)
        first = fresh.graph()
        again = fresh.graph()  # every block call now comes from the template cache
        assert fresh.program.templates
        check(again)
        assert format_ir(first) == format_ir(again)
        for (a, da), (b, db) in zip(first.nodes(data=True), again.nodes(data=True)):
            same_layer = da["layer"] is db["layer"] or da["layer"].op == "input"
            assert a == b and same_layer and da["span"] == db["span"]
            assert da["block"] == db["block"] and da["inputs"] == db["inputs"]
        assert sorted(first.edges(keys=True)) == sorted(again.edges(keys=True))


def test_memoised_call_nested_deep_still_hits_the_depth_limit():
    blocks = "block f(n) {\n    if n == 0 { relu } else { f(n - 1) }\n}\n"
    assert out_shape(graph("    f(50) -> f(50)", blocks=blocks)) == (3, 16, 16)
    with pytest.raises(LimitError):
        graph("    f(50) -> f(150)", blocks=blocks)


def test_deep_nesting_is_a_located_limit_not_a_crash():
    deep = "(" * 70 + "1" + ")" * 70
    with pytest.raises(LimitError, match="nested more than 64 deep"):
        graph(f"    conv({deep}, 1)")
    assert out_shape(graph(f"    conv({' + '.join(['1'] * 2000)}, 1)"))[0] == 2000
    with pytest.raises(LimitError, match="too deeply"):
        graph(f"    conv({' + '.join(['1'] * 20000)}, 1)")


@pytest.mark.parametrize("body, message", [
    ("    x -> add()", "add\\(\\) needs at least two branches, got 0"),
    ("    conv(none, 1)", "got none none"),
    ("    x -> max(1, 2) -> relu", "max\\(\\) is a function of values, not a layer"),
    ("    identity(3)", "identity takes no arguments"),
    ("    conv(in.features, 1)", "has no 'features'$"),
])
def test_reported_mistakes_have_clear_messages(body, message):
    with pytest.raises(NetdslError, match=message):
        graph(body)


def test_upsample_mode_rank_message():
    with pytest.raises(NetdslError, match="needs an input with 2 spatial axes"):
        graph("    upsample(2, mode = bilinear)", shape="[3, 8]")


def test_in_is_undefined_with_two_inputs():
    text = ("network n() {\n    input a: [3, 8, 8]\n    input b: [5, 8, 8]\n"
            "    add(a -> conv(4, 1), b -> conv(in.channels, 1))\n}\n")
    with pytest.raises(NetdslError, match="'in' has no value here"):
        netdsl.loads(text, "two.net").graph()


def test_in_inside_a_merge_branch_is_the_merge_input():
    g = graph("    conv(8, 1) -> add(identity, conv(in.channels, 1))")
    assert out_shape(g) == (8, 16, 16)


def test_mutual_recursion_notes_are_folded():
    with pytest.raises(LimitError) as info:
        graph("    f", blocks="block f() {\n    g\n}\nblock g() {\n    f\n}\n")
    assert len(info.value.notes) <= 8
    assert any("more block calls" in n.message for n in info.value.notes)


def test_unreachable_node_notes_its_block_call():
    with pytest.raises(NetdslError, match="'head.conv0' is computed but never reaches") as info:
        graph("    head = u\n    x -> relu", blocks="block u() {\n    conv(4, 1)\n}\n")
    assert info.value.notes[0].message == "'head' is the block call here"
    assert info.value.notes[0].span.line == 6


def test_assignment_names_in_loops_are_numbered():
    g = graph("    for i in [1, 2, 3] { t = conv(4 * i, 1)\n t -> relu }")
    assert [n for n in g if n.startswith("t")] == ["t", "t1", "t2"]


def test_types_are_checked_even_when_overridden_and_bools_are_not_numbers():
    spec = netdsl.loads("network n(k: tensor = 3) {\n input x: [4]\n linear(2)\n}\n", "t.net")
    with pytest.raises(NetdslError, match="unknown type 'tensor'"):
        spec.graph(k=4)
    assert out_shape(graph("    conv(if true == 1 { 5 } else { 6 }, 1)")) == (6, 16, 16)


def test_reshape_field_is_global_when_elements_move_between_axes():
    from netdsl.analysis.report import analyze_graph

    r = analyze_graph(graph("    conv(2, 3, padding = 1) -> reshape([-1, 32]) -> conv(2, 3)"))
    assert r.layers[-1].rf.is_global
    r = analyze_graph(graph("    conv(2, 3, padding = 1) -> reshape([1, 2, 16, 16]) -> relu",
                            shape="[2, 16, 16]"))
    assert r.layers[-1].rf.is_global  # rank changes: global
    r = analyze_graph(graph("    global_avgpool -> flatten -> reshape([3, 1, 1])"))
    assert r.layers[-1].rf.is_global


def test_a_line_ending_with_an_arrow_says_so():
    with pytest.raises(NetdslError, match="a line cannot end with '->'"):
        graph("    x ->\n    relu")


def test_blocks_and_layers_are_values_that_can_be_passed_and_called():
    blocks = ("block unit(act = relu, op = conv) {\n    op(4, 1) -> act\n}\n"
              "block gate() {\n    sigmoid\n}\n"
              "block outer(act) {\n    unit(act = act) -> act\n}\n")
    g = graph("    a = unit(act = gate)\n    b = a -> unit(act = tanh, op = conv)\n"
              "    b -> outer(sigmoid) -> unit", blocks=blocks)
    assert ops(g) == ["input", "conv", "sigmoid", "conv", "tanh", "conv", "sigmoid", "sigmoid",
                      "conv", "relu"]
    assert list(g)[1:3] == ["a.conv0", "a.gate0.sigmoid0"]
    fresh = netdsl.loads(blocks + NET.format(params="", shape="[3, 16, 16]", body=(
        "    a = unit(act = gate)\n    b = a -> unit(act = tanh, op = conv)\n"
        "    b -> outer(sigmoid) -> unit")), "t.net")
    from netdsl.language.elaborate import elaborate
    assert [d["layer"].op for _, d in elaborate(fresh.program, memoize=False).nodes(data=True)] \
        == ops(g)


def test_a_passed_value_that_is_not_a_block_cannot_be_called():
    blocks = "block unit(act) {\n    act(2)\n}\nblock k(size) {\n    conv(4, size)\n}\n"
    with pytest.raises(NetdslError, match="'act' is a int, not a block or layer"):
        graph("    unit(3)", blocks=blocks)
    with pytest.raises(NetdslError, match="argument 'kernel' expected an integer, got layer relu"):
        graph("    k(relu)", blocks=blocks)


def test_names_are_resolved_once_per_load():
    spec = netdsl.loads("block b() {\n    relu\n}\n"
                        + NET.format(params="", shape="[3, 8, 8]", body="    b -> b"), "t.net")
    spec.graph()
    names = spec.program.names
    spec.graph()
    assert spec.program.names is names and len(names.targets) >= 3
