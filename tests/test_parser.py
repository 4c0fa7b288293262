"""The grammar and parser: constructs, layout rules, located syntax errors."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from netdsl.errors import LimitError, NetdslError
from netdsl.language import fastparse, parser
from netdsl.language import syntax as ast
from netdsl.language.fastparse import MAX_SOURCE_BYTES
from netdsl.language.parser import _parse_with_lark, parse


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


# ---------------------------------------------------------------- the fast parser and Lark

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted({*ROOT.glob("specs/**/*.net"), *ROOT.glob("netdsl/stdlib/*.net"),
                  *ROOT.glob("examples/**/*.net"), *ROOT.glob("tests/golden/**/*.net")})


def _outcome(fn, text: str):
    """The syntax tree, or the first line of the error."""
    try:
        return fn(text, "f.net")
    except NetdslError as exc:
        return ("error", exc.render().splitlines()[0])


def _reference(text: str, path: str):
    return _parse_with_lark(text if text.endswith("\n") else text + "\n", path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_parser_builds_the_tree_lark_builds(path: Path):
    text = path.read_text(encoding="utf-8")
    assert _outcome(parse, text) == _outcome(_reference, text)


#: Every statement and expression form of the grammar, for the agreement tests.
EVERY_CONSTRUCT = """\
import std.resnet
import "blocks/x.net"
block b(a, c: int = 2, d = -1.5e3,) {
    s = a ** -2 ** 3 + (c - 1) * 4 // 2 % 3 / 1
    t = not a and b or c == d
    u = [1, 2.5, "s", true, false, in.channels, x[0], -y, +z,]
    v = if a { 1 } else if b { 2 } else { 3 }
    w = for i in range(3) { conv(8, 3, stride = 2,) } -> repeat(n - 1) { relu }
    q = [i * 2 for i in range(3) if i > 0] + [j for j in k]
    p, r = chunk(2)
    defaults batchnorm(eps = 0.001)
    f(a)[0].channels
    in
}
network n(width = 1.5M, memory = 4GiB) {
    input x: [3, 8, 8]
    require macs <= 600M and params <= 5K
    output logits = x
        -> relu  # a comment -> here
        # a comment line -> too
        -> conv(width, 3)
    training output aux = x \\
        -> relu
    x
}
"""


def test_fast_parser_builds_the_tree_lark_builds_for_every_construct():
    tree = parse(EVERY_CONSTRUCT, "f.net")
    assert tree == _reference(EVERY_CONSTRUCT, "f.net")
    assert len(tree.definitions) == 2


def test_fast_parser_implements_this_grammar():
    # a grammar change must be made in fastparse.py too (then update GRAMMAR_SHA256)
    assert fastparse.grammar_sha256() == fastparse.GRAMMAR_SHA256
    assert fastparse.grammar_is_known()
    assert parser.RESERVED == fastparse.KEYWORDS


def test_fast_parser_agrees_with_lark_on_mutated_specs():
    # deterministic mutations of the shipped specs: same tree, spans included, or the
    # same error message
    rng = random.Random(8)
    corpus = [p.read_text(encoding="utf-8") for p in SHIPPED] + [EVERY_CONSTRUCT] * 8
    pieces = ["->", "(", ")", "[", "]", "{", "}", ",", "=", "==", "<", "+", "-", "**", "//",
              "not ", "and", " or ", " in ", "if ", "else", "for ", "repeat", "\n", "\n  -> ",
              "# c -> x\n", "1", "2.5", "1e3", "x", "true", '"s"', " ", ".", ":", "input",
              "\\\n", "3x", "elseif", "andb", "\t", "@", "+", "require ", "output ",
              "training ", "defaults ", "M", "KiB", "1G", ", "]
    for _ in range(400):
        text = rng.choice(corpus)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            roll = rng.random()
            if roll < 0.4:
                text = text[:at] + rng.choice(pieces) + text[at:]
            elif roll < 0.7:
                text = text[:at] + text[at + rng.randint(1, 8):]
            else:
                src = rng.randrange(len(text) + 1)
                text = text[:at] + text[src:src + rng.randint(1, 30)] + text[at:]
        assert _outcome(parse, text) == _outcome(_reference, text), text


def test_a_comment_with_an_arrow_continues_no_chain():
    m = parse("network n() {\n  input x: [3, 8, 8]\n  y = x\n  # note: a -> relu\n  y\n}\n",
              "t.net")
    assign = m.definitions[0].body.statements[1]
    assert isinstance(assign.value, ast.Name) and assign.span.end_line == 3


def test_byte_order_mark_is_skipped():
    m = parse("\ufeffnetwork n() {\n  input x: [3, 8, 8]\n  x\n}\n", "t.net")
    assert m.definitions[0].span.column == 1


@pytest.mark.parametrize("text, column, message", [
    ("importstd.se\n", 1, "unexpected name 'importstd': 'import' is a keyword"),
    ("blockb() {\n  relu\n}\n", 1, "unexpected name 'blockb': 'block' is a keyword"),
    ("network n() {\n  x = if a { 1 } elseif b { 2 } else { 3 }\n}\n", 18,
     "unexpected name 'elseif'"),
    ("network n() {\n  x = a andb\n}\n", 9, "unexpected name 'andb'"),
    ("network n() {\n  x = 3x\n}\n", 8, "unexpected name 'x'"),
    ("network n() {\n  x = 1and b\n}\n", 7, "unexpected '1and'"),
])
def test_keywords_and_numbers_glued_to_words_are_errors(text, column, message):
    with pytest.raises(NetdslError) as info:
        parse(text, "bad.net")
    assert info.value.span.column == column
    assert info.value.message.startswith(message)


@pytest.mark.parametrize("expr", ["2 ** " * 100_000 + "2", " + ".join(["1"] * 500_000),
                                  "-" * 50_000 + "1", "not " * 50_000 + "true",
                                  "x" + "[0]" * 30_000],
                         ids=["power", "sum", "minus", "not", "index"])
def test_very_deep_expressions_are_located_limit_errors_and_quick(expr):
    start = time.process_time()
    with pytest.raises(LimitError, match="nested too deeply") as info:
        parse(f"network n() {{\n  input x: [3, 8, 8]\n  k = {expr}\n  x\n}}\n", "t.net")
    span = info.value.span
    assert (span.line, span.column) == (3, 3), span
    assert time.process_time() - start < 10


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    start = time.process_time()
    with pytest.raises(LimitError, match="MiB of text"):
        parse("# x\n" * (MAX_SOURCE_BYTES // 4 + 1), "big.net")
    assert time.process_time() - start < 1


def test_a_syntax_error_at_the_end_of_a_huge_network_is_located_quickly():
    lines = "".join("    -> conv(8, 3, padding = 1)\n" for _ in range(20_000))
    text = f"network n() {{\n  input x: [8, 16, 16]\n  x\n{lines}    -> conv(8,, 3)\n}}\n"
    start = time.process_time()
    with pytest.raises(NetdslError) as info:
        parse(text, "big.net")
    assert (info.value.span.line, info.value.span.column) == (20_004, 15)
    assert info.value.message.startswith("unexpected ','")
    assert time.process_time() - start < 5


@pytest.mark.parametrize("tail, column, message", [
    ("    b = 1 +\n", 12, "unexpected end of line"),
    ("    b = foo bar\n", 13, "unexpected name 'bar'"),
])
def test_a_huge_items_error_is_worded_as_a_small_ones(tail, column, message):
    """Past parser.LARK_ERROR_BYTES the fast parser words the error itself: in the words
    Lark gives the same mistake in a small network."""
    def network(lines: int) -> str:
        return ("network n() {\n    input x: [3, 8, 8]\n" + "    x -> relu\n" * lines + tail
                + "    x -> relu\n}\n")

    errors = []
    for lines in (3, 30_000):  # a small item (Lark's words), one over 256 KiB
        text = network(lines)
        assert (len(text) > parser.LARK_ERROR_BYTES) == (lines > 3)
        with pytest.raises(NetdslError) as info:
            parse(text, "t.net")
        errors.append((info.value.span.line - lines, info.value.span.column, info.value.message))
    assert errors[0] == errors[1] == (3, column, message)
