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
