"""The grammar and parser: constructs, layout rules, located syntax errors."""

from __future__ import annotations

import pytest

from netdsl.errors import NetdslError
from netdsl.language import syntax as ast
from netdsl.language.parser import parse


def body_expr(text: str) -> ast.Node:
    module = parse(f"network n() {{\n    {text}\n}}\n", "t.net")
    return module.definitions[0].body.statements[-1].expr


def test_definitions_imports_and_params():
    m = parse('import std.resnet\nimport "a/b.net"\n\nblock f(a, b: int = 2) {\n  a\n}\n'
              'network g(classes = 10) {\n  input x: [3, 8, 8]\n  x\n}\n', "t.net")
    assert [(i.target, i.is_std) for i in m.imports] == [("std.resnet", True), ("a/b.net", False)]
    f, g = m.definitions
    assert (f.name, f.is_network, [p.name for p in f.params]) == ("f", False, ["a", "b"])
    assert f.params[1].type == "int" and f.params[1].default.value == 2
    assert g.is_network and isinstance(g.body.statements[0], ast.InputDecl)


def test_chain_continues_on_lines_starting_with_arrow_even_after_comments():
    e = body_expr("x\n        -> relu  # stem\n        # a comment line\n        -> conv(8, 3)")
    assert isinstance(e, ast.Chain) and len(e.steps) == 3
    assert isinstance(e.steps[2], ast.Call) and e.steps[2].span.line == 5


def test_an_arrow_inside_a_comment_is_text():
    module = parse("block a() {\n    relu\n}\n\n# a -> relu\nblock b() { relu }\n", "t.net")
    assert [d.name for d in module.definitions] == ["a", "b"]


def test_newlines_inside_parentheses_and_brackets_are_ignored():
    e = body_expr("add(\n        conv(8, 3),\n        identity,\n    )")
    assert isinstance(e, ast.Call) and len(e.args) == 2
    e = body_expr("[1,\n  2,\n  3]")
    assert isinstance(e, ast.ListExpr) and len(e.items) == 3


def test_operator_precedence():
    e = body_expr("1 + 2 * 3 ** 2 // 4")
    assert isinstance(e, ast.Binary) and e.op == "+"
    assert e.right.op == "//" and e.right.left.op == "*" and e.right.left.right.op == "**"
    e = body_expr("not a and b or c == d")
    assert e.op == "or" and e.left.op == "and" and isinstance(e.left.left, ast.Unary)


def test_literals_keywords_and_postfix():
    e = body_expr('[1, 2.5, 1e-3, "s", true, false, in.channels, x[0], -y]')
    values = [getattr(i, "value", None) for i in e.items[:6]]
    assert values == [1, 2.5, 1e-3, "s", True, False]
    assert isinstance(e.items[2].value, float)
    assert isinstance(e.items[6], ast.Attr) and isinstance(e.items[6].target, ast.InputRef)
    assert isinstance(e.items[7], ast.Index) and isinstance(e.items[8], ast.Unary)


def test_control_expressions():
    e = body_expr("if a { x } else if b { y } else { z }")
    assert isinstance(e, ast.If) and isinstance(e.otherwise, ast.If)
    e = body_expr("for i in range(3) { conv(8, 3) }")
    assert isinstance(e, ast.For) and e.var == "i"
    e = body_expr("repeat(n - 1) { relu }")
    assert isinstance(e, ast.Repeat) and isinstance(e.count, ast.Binary)


def test_keyword_arguments_and_spans():
    e = body_expr("conv(64, 3, stride = 2)")
    assert [k.name for k in e.kwargs] == ["stride"]
    assert (e.name_span.line, e.name_span.column, e.name_span.end_column) == (2, 5, 9)


@pytest.mark.parametrize("text, line, column, message", [
    ("network n() {\n  x -> conv(16, 3 -> relu\n}\n", 3, 1, "unexpected '}'; expected ')' or ','"),
    ("network n() {\n  x = = 3\n}\n", 2, 7, "unexpected '='"),
    ("network n() {\n  x -> @\n}\n", 2, 8, "unexpected character '@'"),
    ("block f( {\n}\n", 1, 10, "unexpected '{'"),
    ("network n() {\n  x\n", 2, 4, "unexpected end of file"),
    ("network n() {\n  block = 3\n}\n", 2, 3, "unexpected 'block'"),
])
def test_syntax_errors_are_located(text, line, column, message):
    with pytest.raises(NetdslError) as info:
        parse(text, "bad.net")
    err = info.value
    assert (err.span.file, err.span.line, err.span.column) == ("bad.net", line, column)
    assert err.message.startswith(message)
    assert err.render().startswith(f"bad.net:{line}:{column}: error: ")
