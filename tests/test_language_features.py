"""Language features: math builtins, comprehensions, destructuring, several tensors from
one layer, layers as values, scoped defaults, the `in` trap, `--ir` arguments, file errors."""

from __future__ import annotations

import math

import pytest

import netdsl
from netdsl.errors import NetdslError
from netdsl.graph import format_ir
from netdsl.language import parser
from netdsl.language import syntax as ast
from netdsl.layers import REGISTRY
from netdsl.layers.registry import create


def check_value(expr: str, expected) -> None:
    """Elaborate a network that asserts `expr` equals `expected` (an int stays an int)."""
    checks = [f"assert(abs(({expr}) - ({expected!r})) < 1e-9, \"wrong value\")"]
    if type(expected) is int:
        checks.append(f"assert(len(range({expr})) == {expected}, \"not an int\")")
    else:
        checks.append(f"assert(({expr}) == float({expr}), \"not a number\")")
    body = "\n ".join(checks)
    netdsl.loads(f"network n() {{\n input x: [4]\n {body}\n linear(2)\n}}\n", "v.net").graph()


def error_of(text: str) -> NetdslError:
    with pytest.raises(NetdslError) as info:
        netdsl.loads(text, "e.net").graph()
    return info.value


# ------------------------------------------------------------------------- builtins
@pytest.mark.parametrize("expr, expected", [
    ("sqrt(16)", 4.0), ("exp(0)", 1.0), ("log(8, 2)", 3.0), ("log2(1024)", 10.0),
    ("log10(1000)", 3.0), ("log(exp(2))", 2.0), ("pow(2, 10)", 1024), ("pow(4, 0.5)", 2.0),
    ("floor(log2(48))", 5), ("ceil(sqrt(10))", 4),
    ("round(log(112 / 48, 2.5))", round(math.log(112 / 48, 2.5))),
])
def test_math_builtins(expr: str, expected):
    check_value(expr, expected)


@pytest.mark.parametrize("expr, message", [
    ("sqrt(-1)", "sqrt(-1) is not defined"), ("log(0)", "log(0) is not defined"),
    ("log(8, 1)", "log(8, 1) is not defined"), ("exp(1000)", "exp(1000) overflows"),
    ("pow(-8, 0.5)", "real"), ("(-8) ** 0.5", "real"),  # "no real value" / "not a real number"
    ("log(\"e\")", "log() takes a number"), ("pow(2)", "pow() takes two numbers"),
])
def test_math_builtins_refuse_what_has_no_finite_real_value(expr: str, message: str):
    error = error_of(f"network n() {{\n input x: [4]\n assert({expr} == 1, \"m\")\n linear(2)\n}}\n")
    assert message in error.message
    assert error.span is not None and error.span.line == 3


# ----------------------------------------------------------------------- --ir args
def _alternatives(default):
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [default + 1, default + 2, 2]
    if isinstance(default, float):
        return [default * 2, default / 2, 0.5]
    if default is None:
        return [1, 2, [1, 2]]
    return []


def test_ir_shows_every_argument_that_changes_the_layer():
    """For every layer, every example and every defaulted argument: when another value
    changes the lowered module, it changes the IR line too (nothing hidden)."""
    hidden = []
    for name, spec in sorted(REGISTRY.items()):
        for example in spec.examples:
            base = create(spec, [], dict(example.args), example.inputs)
            for arg in spec.signature.args:
                if arg.required or arg.name in example.args:
                    continue
                for value in _alternatives(arg.default):
                    try:
                        other = create(spec, [], {**example.args, arg.name: value}, example.inputs)
                    except Exception:  # not a valid value here: try the next one
                        continue
                    if (other.torch_recipe() != base.torch_recipe()
                            and other.describe() == base.describe()):
                        hidden.append(f"{name}({arg.name}={value!r})")
                    break
    assert hidden == []


def test_ir_lists_batchnorm_momentum():
    text = "network n() {\n input x: [4, 8, 8]\n batchnorm(momentum = 0.01) -> maxpool(2, dilation = 2)\n}\n"
    ir = format_ir(netdsl.loads(text, "m.net").graph())
    assert "momentum=0.01" in ir and "d=2" in ir
    plain = format_ir(netdsl.loads(text.replace("momentum = 0.01", "eps = 0.1"), "m.net").graph())
    assert "momentum" not in plain


# ---------------------------------------------------------------------- file errors
@pytest.mark.parametrize("text, message", [
    ("# a library\n\nblock b() { relu }\n", "this file defines no network, only blocks (b)"),
    ("# nothing at all\n", "this file defines no network (nothing but comments and imports)"),
])
def test_a_file_without_a_network_is_an_error_about_the_file(text: str, message: str):
    error = error_of(text)
    assert message in error.message
    assert str(error.span) == "e.net"
    assert error.render().splitlines()[0] == f"e.net: error: {error.message}"


# ------------------------------------------------------------------ comprehensions
def test_comprehension_parses_with_and_without_condition():
    module = parser.parse("network n(a = [i * 2 for i in range(4) if i > 0], b = [x for x in [1]]) "
                          "{\n input x: [4]\n linear(2)\n}\n", "c.net")
    first, second = (p.default for p in module.definitions[0].params)
    assert isinstance(first, ast.Comprehension) and first.var == "i"
    assert isinstance(first.condition, ast.Binary)
    assert isinstance(second, ast.Comprehension) and second.condition is None


def elaborate(text: str, **params):
    return netdsl.loads(text, "f.net").graph(params=params or None)


def test_comprehension_values_and_condition():
    g = elaborate("network n() {\n input x: [4]\n"
                  " widths = [w * 2 for w in [1, 2, 3, 4] if w % 2 == 0]\n"
                  " assert(widths == [4, 8], \"comprehension\")\n"
                  " assert([[i, j] for i in range(2)] == [[0, 0], [1, 0]], \"outer names\")\n"
                  " linear(sum(widths))\n}\n".replace("j]", "0]"))
    assert g.nodes[g.graph["outputs"][0]]["layer"].out_shape == (12,)


def test_comprehension_of_tensors_feeds_a_merge():
    g = elaborate("network n() {\n input x: [4, 8, 8]\n"
                  " concat([x -> conv(c, 1) for c in [2, 3, 5] if c > 2])\n}\n")
    out = g.nodes[g.graph["outputs"][0]]
    assert out["layer"].op == "concat" and out["layer"].out_shape == (8, 8, 8)
    assert len(out["inputs"]) == 2


@pytest.mark.parametrize("body, message, line", [
    ("v = [i for i in 3]\n linear(2)", "a comprehension iterates over a list or range(), got int 3", 3),
    ("v = [i for i in [1] if i]\n linear(2)", "expected true or false, got int 1", 3),
    ("v = [conv(2, 1) for i in [1]]\n linear(2)", "has no input here", 3),
    ("v = [j for i in [1]]\n linear(2)", "unknown name 'j'", 3),
])
def test_comprehension_errors_are_located(body: str, message: str, line: int):
    error = error_of(f"network n() {{\n input x: [4]\n {body}\n}}\n")
    assert message in error.message and error.span.line == line


def test_destructuring_binds_each_item():
    g = elaborate("network n() {\n input x: [4]\n a, b, c = [1, 2.5, \"s\"]\n"
                  " assert(a == 1 and b == 2.5 and c == \"s\", \"unpacked\")\n linear(a)\n}\n")
    assert g.nodes[g.graph["outputs"][0]]["layer"].out_shape == (1,)


@pytest.mark.parametrize("body, message", [
    ("a, b = [1, 2, 3]", "2 names need a list of 2 items, got a list of 3"),
    ("a, b = 4", "2 names need a list of 2 items, got int 4"),
    ("a, a = [1, 2]", "a name is bound twice"),
    ("a, len = [1, 2]", "'len' is reserved"),
])
def test_destructuring_errors(body: str, message: str):
    error = error_of(f"network n() {{\n input x: [4]\n {body}\n linear(2)\n}}\n")
    assert message in error.message and error.span.line == 3


# ------------------------------------------------- several tensors from one layer
class _Part:
    """Built lazily (the Layer base is imported inside the fixture)."""


@pytest.fixture
def chunk_layer():
    """A test-only `tchunk(n)` giving n channel parts (the real chunk/split are zoo's)."""
    from netdsl.layers import base
    from netdsl.layers.registry import LayerSpec, Signature

    class Part(base.Layer):
        __slots__ = ("start", "length")
        is_view = True

        def configure(self, args):
            self.start, self.length = args["start"], args["length"]

        def infer_shape(self):
            return (self.length, *self.in_shape[1:])

        def describe(self):
            return f"start={self.start}, length={self.length}"

    class Chunk(base.Layer):
        __slots__ = ("n",)

        def configure(self, args):
            self.n = args["n"]
            if self.in_shape[0] % self.n:
                raise base.LayerError(f"{self.in_shape[0]} channels do not split in {self.n}", "n")

        def parts(self):
            size = self.in_shape[0] // self.n
            return tuple(Part(self.op, {"start": i * size, "length": size}, self.in_shapes)
                         for i in range(self.n))

    REGISTRY["tchunk"] = LayerSpec("tchunk", Chunk, Signature((base.Arg("n", base.positive),)))
    try:
        yield
    finally:
        del REGISTRY["tchunk"]


def test_parts_are_one_node_each_and_destructure_by_name(chunk_layer):
    g = elaborate("network n() {\n input x: [8, 4, 4]\n a, b = tchunk(2)\n"
                  " parts = x -> tchunk(4)\n"
                  " concat(a, b -> relu, parts)\n}\n")
    assert [g.nodes[n]["layer"].out_shape for n in ("a", "b")] == [(4, 4, 4), (4, 4, 4)]
    assert g.nodes["a"]["inputs"] == ("x",) and g.nodes["b"]["inputs"] == ("x",)
    chunk_nodes = [n for n in g if n.startswith("tchunk")]
    assert chunk_nodes == ["tchunk0_0", "tchunk0_1", "tchunk0_2", "tchunk0_3"]
    merge = g.nodes[g.graph["outputs"][0]]
    assert merge["inputs"] == ("a", "relu0", *chunk_nodes)
    assert merge["layer"].out_shape == (16, 4, 4)


def test_parts_by_index_and_in_loops(chunk_layer):
    g = elaborate("network n() {\n input x: [6, 4, 4]\n parts = tchunk(3)\n"
                  " ys = [p -> conv(2, 1) for p in parts]\n"
                  " add(ys[0], ys[1], ys[2] -> relu, parts[1] -> conv(2, 1))\n}\n")
    assert g.nodes[g.graph["outputs"][0]]["layer"].out_shape == (2, 4, 4)
    assert [n for n in g if n.startswith("parts")] == ["parts_0", "parts_1", "parts_2"]
    assert [g.nodes[f"conv{i}"]["inputs"] for i in range(4)] == [
        ("parts_0",), ("parts_1",), ("parts_2",), ("parts_1",)]


@pytest.mark.parametrize("body, message", [
    ("x -> tchunk(2) -> relu", "got list [[4, 4, 4], [4, 4, 4]]: a list of 2 tensors; take one with [i]"),
    ("a, b, c = tchunk(2)\n a", "3 names need a list of 3 items, got a list of 2"),
    ("concat(tchunk(2), [1])", "a branch of concat() must give a list of tensors, got a list with int 1"),
    ("add(x -> tchunk(1))", "add() needs at least two branches, got 1"),
])
def test_misused_parts_are_located_errors(chunk_layer, body: str, message: str):
    error = error_of(f"network n() {{\n input x: [8, 4, 4]\n {body}\n}}\n")
    assert message in error.message and error.span.line == 3


def test_a_merge_of_one_list_counts_its_tensors():
    error = error_of("network n() {\n input x: [4, 4, 4]\n concat([x])\n}\n")
    assert "concat() needs at least two branches, got 1" in error.message


# ------------------------------------------------------------------------ defaults
DEFAULTS = """
block cbn(c) {
    conv(c, 3, padding = 1, bias = false) -> batchnorm
}

network n(eps = 0.001) {
    input x: [4, 8, 8]

    a = batchnorm                           # before the statement: PyTorch's defaults
    defaults batchnorm(eps = eps, momentum = 0.01)
    b = a -> cbn(8)                         # inside a block called from here too
    c = b -> batchnorm(momentum = 0.2)      # the call's own argument wins
    c -> if true { defaults batchnorm(eps = 0.1)
        batchnorm } else { identity } -> batchnorm   # braces end the inner statement
}
"""


def test_defaults_apply_to_the_rest_of_the_body_and_called_blocks():
    g = elaborate(DEFAULTS)
    norms = [(n, d["layer"]) for n, d in g.nodes(data=True) if d["layer"].op == "batchnorm"]
    got = [(n, layer.eps, layer.momentum) for n, layer in norms]
    assert got == [("a", 1e-5, 0.1), ("cbn0.batchnorm0", 0.001, 0.01), ("batchnorm0", 0.001, 0.2),
                   ("batchnorm1", 0.1, 0.01), ("batchnorm2", 0.001, 0.01)]
    assert [layer.eps for _, layer in norms] == [1e-5, 0.001, 0.001, 0.1, 0.001]
    assert elaborate(DEFAULTS, eps=0.01).nodes["cbn0.batchnorm0"]["layer"].eps == 0.01


def test_defaults_take_part_in_the_block_memo():
    text = ("block cbn() {\n batchnorm\n}\n"
            "network n() {\n input x: [4, 8, 8]\n a = cbn\n defaults batchnorm(eps = 0.5)\n"
            " a -> cbn\n}\n")
    g = elaborate(text)
    assert [g.nodes[n]["layer"].eps for n in ("a.batchnorm0", "cbn0.batchnorm0")] == [1e-5, 0.5]


@pytest.mark.parametrize("statement, message", [
    ("defaults batchnorm(eps = 0.1, eps = 0.2)", "argument 'eps' is given twice"),
    ("defaults batchnorm(epsilon = 0.1)", "batchnorm() has no argument 'epsilon'; did you mean 'eps'?"),
    ("defaults batchnrm(eps = 0.1)", "'batchnrm' is not a layer; did you mean 'batchnorm'?"),
    ("defaults batchnorm()", "defaults batchnorm() sets nothing"),
    ("defaults batchnorm(0.1)", "defaults take keyword arguments only"),
    ("defaults unit(eps = 0.1)", "defaults are for layers; 'unit' is a block"),
    ("defaults batchnorm(eps = in)", "a layer argument must be a number"),
])
def test_defaults_misuse_is_located(statement: str, message: str):
    error = error_of(f"block unit() {{\n relu\n}}\nnetwork n() {{\n input x: [4]\n {statement}\n"
                     " batchnorm\n}\n")
    assert message in error.message and error.span.line == 6


def test_a_default_the_layer_refuses_is_an_error_at_the_call():
    error = error_of("network n() {\n input x: [4]\n defaults batchnorm(eps = -1)\n batchnorm\n}\n")
    assert "eps must be positive" in error.message


# ------------------------------------------------------------------------ `in` trap
TRAP = """
block unit(w) {
    conv(w, 1) -> if in.channels > 8 { conv(in.channels, 3, padding = 1) } else { identity }
}

block fine(w) {
    x = in
    conv(w, 1) -> if w > 8 { conv(x.channels, 1) } else { identity }
}

network n() {
    input x: [8, 16, 16]
    x -> unit(16) -> unit(16) -> fine(32) -> repeat(2) { conv(in.channels, 1) }
}
"""


def test_in_inside_an_if_step_warns_when_it_changes_meaning():
    spec = netdsl.loads(TRAP, "trap.net")
    for _ in range(2):  # memoised calls warn again: a call that warned is not replayed
        warnings = [w for w in spec.analyze().warnings if "`in`" in w.message]
        spans = sorted({(w.span.line, w.span.column) for w in warnings})
        assert spans == [(3, 22), (3, 45)]  # the condition's `in` and the body's, once each
        first = warnings[0]
        assert "[16, 16, 16]" in first.message and "the block's input ([8, 16, 16])" in first.message
        assert first.notes[0].span.line == 3


def test_in_of_the_same_shape_does_not_warn():
    spec = netdsl.loads("network n() {\n input x: [8, 4, 4]\n"
                        " x -> relu -> if in.channels == 8 { identity } else { relu }\n}\n", "t.net")
    assert not spec.analyze().warnings


# ------------------------------------------------------------- layers as values
LAYER_VALUES = """
block cna(c, norm = batchnorm, act = relu) {
    conv(c, 3, padding = 1, bias = false) -> norm -> act
}

block deeper(norm) {
    cna(8, norm = norm(momentum = 0.01)) -> norm
}

network n() {
    input x: [3, 16, 16]

    x -> cna(8, norm = batchnorm(eps = 0.001), act = hardswish)
      -> cna(8, act = leaky_relu(0.2))
      -> deeper(batchnorm(0.002))
}
"""


def test_partially_applied_layers_are_passed_and_completed_where_used():
    g = elaborate(LAYER_VALUES)
    norms = {n: (d["layer"].eps, d["layer"].momentum) for n, d in g.nodes(data=True)
             if d["layer"].op == "batchnorm"}
    assert norms == {"cna0.batchnorm0": (0.001, 0.1), "cna1.batchnorm0": (1e-5, 0.1),
                     "deeper0.cna0.batchnorm0": (0.002, 0.01), "deeper0.batchnorm0": (0.002, 0.1)}
    assert g.nodes["cna0.hardswish0"]["layer"].op == "hardswish"
    assert g.nodes["cna1.leaky_relu0"]["layer"].slope == 0.2


def test_layer_values_take_part_in_the_memo():
    from netdsl.language.elaborate import elaborate as run

    spec = netdsl.loads(LAYER_VALUES, "lv.net")
    memoised = [(n, d["layer"].describe()) for n, d in spec.graph().nodes(data=True)]
    fresh = [(n, d["layer"].describe()) for n, d in run(spec.program, memoize=False).nodes(data=True)]
    assert memoised == fresh


def test_scoped_defaults_sit_under_a_layer_value_and_a_call():
    g = elaborate("block f(norm) {\n norm -> norm(momentum = 0.3)\n}\n"
                  "network n() {\n input x: [4]\n defaults batchnorm(eps = 0.5, momentum = 0.2)\n"
                  " f(batchnorm(eps = 0.25))\n}\n")
    got = [(d["layer"].eps, d["layer"].momentum) for _, d in g.nodes(data=True)
           if d["layer"].op == "batchnorm"]
    assert got == [(0.25, 0.2), (0.25, 0.3)]


CHOSEN_LAYERS = """
block unit(act) {
    linear(4) -> act
}

network n(fancy = true) {
    input x: [4]

    table = [[4, relu], [4, hardswish], [4, batchnorm(eps = 0.5)]]
    x -> for row in table {
        width, act = row
        unit(act = act)
    }
      -> unit(act = if fancy { mish } else { relu })
      -> unit(if not fancy { relu } else if true { elu(0.5) } else { relu })
}
"""


def test_list_items_and_if_arguments_take_layers_as_values():
    ops = [(d["layer"].op, d["layer"].describe()) for _, d in elaborate(CHOSEN_LAYERS).nodes(data=True)
           if d["layer"].op != "linear"]
    assert ops[1:] == [("relu", ""), ("hardswish", ""), ("batchnorm", "4, eps=0.5"),
                       ("mish", ""), ("elu", "alpha=0.5")]
    plain = [d["layer"].op for _, d in elaborate(CHOSEN_LAYERS, fancy=False).nodes(data=True)]
    assert plain[-4:] == ["linear", "relu", "linear", "relu"]


def test_a_network_parameter_takes_a_layer_and_is_set_by_name():
    text = "block unit() {\n relu -> relu\n}\nnetwork n(act = mish) {\n input x: [4]\n x -> act\n}\n"
    ops = lambda **p: [d["layer"].op for _, d in elaborate(text, **p).nodes(data=True)][1:]  # noqa: E731
    assert ops() == ["mish"] and ops(act="elu") == ["elu"] and ops(act="unit") == ["relu", "relu"]
    with pytest.raises(NetdslError, match="'act' is a layer \\(default mish\\), but the API gives "
                                          "\"mihs\", which names no layer or block; did you mean 'mish'"):
        elaborate(text, act="mihs")


def test_a_misspelled_choice_is_refused_with_a_suggestion():
    text = "network n(act = choice([relu, mish]), k = choice([\"avg\", \"max\"])) {\n input x: [4]\n x -> act\n}\n"
    with pytest.raises(NetdslError, match="gives \"mihs\"; did you mean 'mish'"):
        elaborate(text, act="mihs")
    with pytest.raises(NetdslError, match="gives \"mx\"; did you mean 'max'"):
        elaborate(text, k="mx")


def test_an_if_step_still_applies_a_bare_layer_name():
    g = elaborate("network n(a = true) {\n input x: [4]\n x -> if a { relu } else { sigmoid }\n}\n")
    assert [d["layer"].op for _, d in g.nodes(data=True)] == ["input", "relu"]


def test_a_list_of_layers_is_not_a_chain_step():
    error = error_of("network n() {\n input x: [4]\n acts = [relu, mish]\n x -> acts\n}\n")
    assert "'acts' is a list, not a layer or block" in error.message and error.span.line == 4


@pytest.mark.parametrize("call, message, line", [
    ("f(batchnorm(epsilon = 0.1))", "batchnorm() has no argument 'epsilon'; did you mean 'eps'?", 9),
    ("f(batchnorm(0.1, 0.1, 1))", "batchnorm() takes at most 2 positional argument(s), got 3", 9),
    ("f(batchnorm(0.1, eps = 0.2))", "batchnorm() got argument 'eps' twice", 9),
    ("f(concat(x))", "concat() passed as a value takes keyword arguments only", 9),
    ("f(batchnorm(eps = -1))", "eps must be positive", 2),
    ("g(batchnorm(eps = 0.1))", "argument 'features' expected an integer, got layer batchnorm(eps = 0.1)", 5),
])
def test_layer_value_misuse_is_located(call: str, message: str, line: int):
    error = error_of("block f(norm) {\n relu -> norm\n}\nblock g(k) {\n linear(k)\n}\n"
                     f"network n() {{\n input x: [4]\n {call}\n}}\n")
    assert message in error.message and error.span.line == line


def test_a_bad_value_in_a_layer_value_notes_where_it_was_made():
    error = error_of("block f(norm) {\n relu -> norm\n}\n"
                     "network n() {\n input x: [4]\n f(batchnorm(eps = -1))\n}\n")
    assert "eps must be positive" in error.message and error.span.line == 2
    assert error.notes[0].message == "the layer value batchnorm(eps = -1) was made here"
    assert error.notes[0].span.line == 6


def test_an_unused_part_is_dropped_and_a_step_can_take_one_part(chunk_layer):
    g = elaborate("network n() {\n input x: [8, 4, 4]\n a, b = tchunk(2)\n"
                  " c = x -> tchunk(4)[3] -> relu\n concat(b, c)\n}\n")
    assert "a" not in g and "b" in g
    assert [n for n in g if n.startswith("tchunk")] == ["tchunk0_3"]
    assert g.nodes[g.graph["outputs"][0]]["layer"].out_shape == (6, 4, 4)
    error = error_of("network n() {\n input x: [8, 4, 4]\n x -> tchunk(2)[2]\n}\n")
    assert "index 2 is out of range for a list of 2" in error.message


SHUFFLE = """
block shuffle_unit() {
    a, b = chunk(2)
    concat(a, b -> conv(b.channels, 1, bias = false) -> batchnorm -> relu
                -> depthwise_conv(3, padding = 1, bias = false) -> batchnorm
                -> conv(b.channels, 1, bias = false) -> batchnorm -> relu)
        -> channel_shuffle(2)
}

block grouped(widths) {
    parts = split(widths)
    concat([p -> conv(p.channels, 3, padding = 1) for p in parts])
}

network shuffle() {
    input x: [3, 16, 16]

    y = x -> conv(8, 3, padding = 1) -> relu -> shuffle_unit -> shuffle_unit -> grouped([2, 6])
    output features = y
    training output aux = y -> chunk(2)[1] -> global_avgpool -> flatten -> linear(4)
    output logits = y -> global_avgpool -> flatten -> linear(10)
}
"""


def test_oracle_on_parts_comprehensions_and_several_outputs():
    from netdsl.oracle import verify

    g = elaborate(SHUFFLE)
    assert "shuffle_unit0.a" in g and "grouped0.parts_1" in g and "chunk0_0" not in g
    checks = verify(g)
    assert [(c.name, c.static, c.measured, c.detail) for c in checks if not c.ok] == []
    assert any(c.name.startswith("outputs in evaluation") for c in checks)


# ------------------------------------------------------------------- memo vs none
REPEATED = """
block halves() {
    both = [in -> conv(in.channels, 1), in -> relu]      # a block giving a list of tensors
    both
}

block pair(norm = batchnorm) {
    a, b = halves
    add(a -> norm, b)
}

network repeated() {
    input x: [4, 8, 8]

    defaults batchnorm(eps = 0.01)
    y = x -> pair -> pair(batchnorm(momentum = 0.3)) -> pair
    training output aux = y -> pair -> global_avgpool -> flatten -> linear(3)
    output main = y -> pair(norm = relu) -> pair
}
"""


def _nodes(graph):
    return [(n, d["layer"].op, d["layer"].describe(), d["inputs"], d["block"],
             d.get("train_only", False)) for n, d in graph.nodes(data=True)]


@pytest.mark.parametrize("text", [REPEATED, DEFAULTS, LAYER_VALUES, TRAP],
                         ids=["repeated", "defaults", "layer-values", "trap"])
def test_memoised_elaboration_equals_the_memo_off(text: str):
    from netdsl.language.elaborate import elaborate as run

    spec = netdsl.loads(text, "memo.net")
    for _ in range(2):  # the second load of templates replays them
        on, off = spec.graph(), run(spec.program, memoize=False)
        assert _nodes(on) == _nodes(off)
        assert {k: v for k, v in on.graph.items() if k != "warnings"} == \
            {k: v for k, v in off.graph.items() if k != "warnings"}
        assert [w.render() for w in on.graph.get("warnings", ())] == \
            [w.render() for w in off.graph.get("warnings", ())]
