"""A hand-written parser for the netdsl grammar (grammars/netdsl.lark), about 20 times
faster than Lark's LALR parser with its tree transformer.

It accepts exactly the language of the grammar and builds the same syntax tree, spans
included (a span runs from the first to the last token of the grammar rule that made
the node; a parenthesised expression keeps its own span). Anything it does not accept
raises `Rejected` with the token where it stopped: the caller then lets the Lark
parser (the reference) say what is wrong, so every syntax error message stays the one
the grammar gives.

This module is the parser's entry point (`parse_text`) and needs no Lark: the Lark
parser (netdsl/language/parser.py) is imported only when a file has a syntax error.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import sys
from collections.abc import Callable
from functools import cache

from netdsl.errors import LimitError, Span, remember_source
from netdsl.language import syntax as ast

#: Words that are never names (kept equal to parser.RESERVED).
KEYWORDS = frozenset({"import", "block", "network", "input", "if", "else", "for", "in",
                      "repeat", "and", "or", "not", "true", "false", "output", "training",
                      "defaults"})
#: A word that is a keyword only where a statement starts (`require EXPR`).
REQUIRE = "require"

TOKEN = re.compile(r"""
[\t \f]*(?:\#[^\n]*)?                             # ignored: blanks, a comment; then one of
(?:([A-Za-z_][A-Za-z0-9_]*)                     # 1: a name or a keyword
|(\*\*|//|=(?!=)|-(?!>)|[+*/%()\[\]{},:.])         # 2: punctuation (not `==`, not `->`)
|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:KiB|MiB|GiB|K|M|G)?)  # 3: a number, maybe `600M`
|((?:\r?\n[\t \f]*(?:\#[^\n]*(?![^\n]))?)*->)       # 4: '->', maybe on a later line
|((?:\r?\n[\t \f]*(?:\#[^\n]*)?)+)              # 5: newline(s), blank and comment lines
|(\\[\t \f]*\r?\n)                            # 6: ignored: a line continuation
|("[^"\n]*")                                    # 7: a string
|(==|!=|<=|>=|<|>)                              # 8: a comparison
|([\s\S]))                                      # 9: anything else
""", re.VERBOSE)
# The commonest tokens come first: names, punctuation, numbers. A comment runs to the end
# of its line (`(?![^\n])`), so that group 4 never needs to give back a line it matched:
# backtracking over lines was 40% of the engine's time on a machine-made chain.

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")": "(", "]": "[", "}": "{"}
#: Binding strength of the binary operators (higher binds tighter); `not` sits at 3.
_PREC = {"or": 1, "and": 2, "CMP": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6}
_NOT = 3
#: Tokens that continue an expression after a name or a number (a call, an index, an
#: attribute, a power, a binary operator): anything else ends it.
_CONTINUES = frozenset({"(", "[", ".", "**", *_PREC})


class Rejected(Exception):
    """The text is not in the language (or not in the part this parser handles)."""

    def __init__(self, offset: int, item: int) -> None:
        super().__init__(offset)
        self.offset = offset  # where the parser stopped, as an offset in the text
        self.item = item  # where the top-level item it stopped in starts


class TooDeep(Exception):
    """An expression nests deeper than the limit; `span` is where its statement starts."""

    def __init__(self, span: Span) -> None:
        super().__init__(str(span))
        self.span = span


#: Syntax nodes may nest this deep below a statement (the evaluator recurses per level).
MAX_DEPTH = 2500
#: Brackets ( [ { may nest this deep (a documented limit).
MAX_NESTING = 64
#: A spec file holds at most this many bytes of text (a documented limit).
MAX_SOURCE_BYTES = 8 * 1024 * 1024
#: Python's recursion limit while parsing (an unbracketed chain of thousands of `+` is fine).
PARSE_RECURSION_LIMIT = 8000


class Tokens:
    """The token stream: parallel lists of kind, text, line, column and offset."""

    __slots__ = ("kinds", "values", "lines", "columns", "offsets", "stop")

    def __init__(self, text: str, max_nesting: int) -> None:
        kinds: list[str] = []
        values: list[str] = []
        lines: list[int] = []
        columns: list[int] = []
        offsets: list[int] = []
        add_kind, add_value, add_line = kinds.append, values.append, lines.append
        add_column, add_offset = columns.append, offsets.append
        stack: list[str] = []
        line, line_start, prev_end, prev_number = 1, 0, -1, False
        self.stop = -1  # offset of the first character no token may start at, if any
        for m in TOKEN.finditer(text):
            group = m.lastindex
            value = m[group]
            start = m.start(group)
            if group == 1:
                if prev_number and start == prev_end:
                    self.stop = start  # a word glued to a number: `3x`, `1and`
                    break
                kind = value if value in KEYWORDS else "NAME"
                prev_number = False
            elif group == 2:
                kind = value
                if kind in _OPEN:
                    stack.append(kind)
                    if len(stack) > max_nesting:
                        self.stop = start
                        break
                elif kind in _CLOSE and stack and stack[-1] == _CLOSE[kind]:
                    stack.pop()
                prev_number = False
            elif group == 3:
                kind, prev_number, prev_end = "NUMBER", True, m.end()
            elif group <= 6:
                if group != 6 and not (group == 5 and stack and stack[-1] != "{"):
                    add_kind("NL" if group == 5 else "ARROW")
                    add_value(value)
                    add_line(line)
                    add_column(start - line_start + 1)
                    add_offset(start)
                if "\n" in value:
                    line += value.count("\n")
                    line_start = start + value.rindex("\n") + 1
                prev_number = False
                continue
            elif group == 7:
                kind, prev_number = "STRING", False
            elif group == 8:
                kind, prev_number = "CMP", False
            else:
                self.stop = start
                break
            add_kind(kind)
            add_value(value)
            add_line(line)
            add_column(start - line_start + 1)
            add_offset(start)
        end = self.stop if self.stop >= 0 else len(text)
        for add, value in ((add_kind, "$END"), (add_value, ""), (add_line, line),
                           (add_column, end - line_start + 1), (add_offset, end)):
            add(value)
        self.kinds, self.values, self.lines, self.columns, self.offsets = (
            kinds, values, lines, columns, offsets)


#: Characters of a number literal (an integer stays below 10**308, like a float); checked
#: before int(), which Python refuses past 4,300 digits and does in quadratic time.
MAX_NUMBER_DIGITS = 308
#: Unit suffixes of number literals (`600M`, `4GiB`), as in parser._SUFFIXES.
_SUFFIXES = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def _number(text: str) -> int | float:
    if text[-1].isdigit():
        return float(text) if "." in text or "e" in text or "E" in text else int(text)
    digits = text.rstrip("KMGiB")
    value = float(digits) if "." in digits or "e" in digits or "E" in digits else int(digits)
    scaled = value * _SUFFIXES[text[len(digits):]]
    # 1.5M is the integer 1500000; an overflowing float stays a float (a later range error)
    return int(scaled) if isinstance(scaled, int) or scaled.is_integer() else scaled


class _Numbers(dict):
    """The value of each number literal's text, worked out once: a spec repeats few."""

    def __missing__(self, text: str) -> int | float:
        value = self[text] = _number(text)
        return value


class Parser:
    """Recursive descent over `Tokens`, one method per grammar rule (precedence climbing
    for the binary operators)."""

    def __init__(self, tokens: Tokens, path: str) -> None:
        self.t = tokens
        self.k = tokens.kinds
        self.v = tokens.values
        self.lines = tokens.lines
        self.cols = tokens.columns
        self.path = path
        self.pos = 0
        self.item = 0  # offset of the top-level item being parsed
        self.statement_start = 0  # token index where the innermost statement starts
        self.ops = 0  # operator nodes made so far (a cheap bound on expression depth)
        self.numbers = _Numbers()

    # ---- helpers
    def reject(self) -> Rejected:
        return Rejected(self.t.offsets[self.pos], self.item)

    def expect(self, kind: str) -> int:
        pos = self.pos
        if self.k[pos] != kind:
            raise self.reject()
        self.pos = pos + 1
        return pos

    def span(self, first: int) -> Span:
        """From the start of token `first` to the end of the last token consumed."""
        last = self.pos - 1
        return Span(self.path, self.lines[first], self.cols[first], self.lines[last],
                    self.cols[last] + len(self.v[last]))

    def token_span(self, i: int) -> Span:
        line = self.lines[i]
        column = self.cols[i]
        return Span(self.path, line, column, line, column + len(self.v[i]))

    # ---- top level
    def module(self) -> ast.Module:
        k = self.k
        imports: list[ast.Import] = []
        definitions: list[ast.BlockDef] = []
        if k[0] == "NL":
            self.pos = 1
        while k[self.pos] != "$END":
            kind = k[self.pos]
            self.item = self.t.offsets[self.pos]
            if kind == "import":
                imports.append(self.import_stmt())
            elif kind == "block" or kind == "network":
                definitions.append(self.definition())
            else:
                raise self.reject()
            if k[self.pos] == "NL":
                self.pos += 1
            elif k[self.pos] != "$END":
                raise self.reject()
        last = self.pos - 1
        if last < 0 or self.t.stop >= 0:  # empty, or the lexer stopped early
            raise self.reject()
        value = self.v[last]
        if "\n" in value:
            end_line = self.lines[last] + value.count("\n")
            end_column = len(value) - value.rindex("\n")
        else:
            end_line, end_column = self.lines[last], self.cols[last] + len(value)
        span = Span(self.path, self.lines[0], self.cols[0], end_line, end_column)
        return ast.Module(span, self.path, tuple(imports), tuple(definitions))

    def import_stmt(self) -> ast.Import:
        first = self.pos
        self.pos += 1
        kind = self.k[self.pos]
        if kind == "STRING":
            self.pos += 1
            return ast.Import(self.span(first), self.v[self.pos - 1][1:-1], False)
        names = [self.v[self.expect("NAME")]]
        while self.k[self.pos] == ".":
            self.pos += 1
            names.append(self.v[self.expect("NAME")])
        return ast.Import(self.span(first), ".".join(names), True)

    def definition(self) -> ast.BlockDef:
        first = self.pos
        is_network = self.k[first] == "network"
        self.pos += 1
        name = self.v[self.expect("NAME")]
        self.expect("(")
        params: list[ast.Param] = []
        if self.k[self.pos] != ")":
            params.append(self.param())
            while self.k[self.pos] == ",":
                self.pos += 1
                if self.k[self.pos] == ")":
                    break
                params.append(self.param())
        self.expect(")")
        body = self.body()
        return ast.BlockDef(self.span(first), name, tuple(params), body, is_network)

    def param(self) -> ast.Param:
        at = self.expect("NAME")
        type_ = default = None
        if self.k[self.pos] == ":":
            self.pos += 1
            type_ = self.v[self.expect("NAME")]
        if self.k[self.pos] == "=":
            self.pos += 1
            default = self.checked(self.expr)
        return ast.Param(self.token_span(at), self.v[at], type_, default)

    def body(self) -> ast.Body:
        first = self.expect("{")
        k = self.k
        if k[self.pos] == "NL":
            self.pos += 1
        statements: list[ast.Node] = []
        if k[self.pos] != "}":
            statements.append(self.checked(self.statement))
            while True:
                kind = k[self.pos]
                if kind == "NL":
                    self.pos += 1
                    if k[self.pos] == "}":
                        break
                    statements.append(self.checked(self.statement))
                elif kind == "}":
                    break
                else:
                    raise self.reject()
        self.pos += 1
        return ast.Body(self.span(first), tuple(statements))

    def checked(self, parse: Callable[[], ast.Node]) -> ast.Node:
        """`parse()`, with the depth of what it made checked when it could be too deep."""
        first, before, outer = self.pos, self.ops, self.statement_start
        self.statement_start = first
        try:
            node = parse()
        except RecursionError:
            raise TooDeep(self.token_span(first)) from None
        self.statement_start = outer
        # only operators nest without brackets, and brackets nest at most 64 deep
        if self.ops - before > MAX_DEPTH // 2 and depth(node) > MAX_DEPTH:
            raise TooDeep(self.token_span(first))
        return node

    # ---- statements
    def statement(self) -> ast.Node:
        first = self.pos
        kind = self.k[first]
        if kind == "NAME":
            if self.v[first] == REQUIRE:  # where a statement starts, always the keyword
                self.pos += 1
                value = self.expr()
                return ast.Require(self.span(first), value)
            after = self.k[first + 1]
            if after == "=":
                self.pos += 2
                value = self.expr()
                return ast.Assign(self.span(first), self.v[first], value)
            if after == ",":
                return self.unpack()
        elif kind == "output" or kind == "training":
            return self.output_decl()
        elif kind == "defaults":
            return self.defaults()
        if kind == "input":
            self.pos += 1
            name = self.v[self.expect("NAME")]
            self.expect(":")
            shape = self.expr()
            return ast.InputDecl(self.span(first), name, shape)
        value = self.expr()
        return ast.ExprStmt(self.span(first), value)

    def unpack(self) -> ast.Unpack:
        first = self.pos
        names = [self.v[first]]
        self.pos += 1
        while self.k[self.pos] == ",":
            self.pos += 1
            names.append(self.v[self.expect("NAME")])
        self.expect("=")
        value = self.expr()
        return ast.Unpack(self.span(first), tuple(names), value)

    def output_decl(self) -> ast.OutputDecl:
        first = self.pos
        training = self.k[first] == "training"
        if training:
            self.pos += 1
        self.expect("output")
        at = self.expect("NAME")
        self.expect("=")
        value = self.expr()
        return ast.OutputDecl(self.span(first), self.v[at], value, training, self.token_span(at))

    def defaults(self) -> ast.Defaults:
        first = self.pos
        self.pos += 1
        at = self.expect("NAME")
        if self.k[self.pos] != "(":
            raise self.reject()
        self.pos -= 1  # parse `NAME ( args )` as a call's arguments
        call = self.call()
        return ast.Defaults(self.span(first), self.v[at], call.name_span, call.args, call.kwargs)

    # ---- expressions
    def expr(self) -> ast.Node:
        """An expression: its steps `a -> b -> c` make a Chain, one step is itself."""
        first = self.pos
        k, v = self.k, self.v
        steps: list[ast.Node] = []
        while True:
            pos = self.pos
            kind = k[pos]
            # A lone name or number (most arguments and chain steps are) is made here, the
            # node the rules below make, with no call but its span's and its own.
            if (kind == "NAME" or kind == "NUMBER") and k[pos + 1] not in _CONTINUES \
                    and len(text := v[pos]) <= MAX_NUMBER_DIGITS:  # else the rules raise
                self.pos = pos + 1
                line, column = self.lines[pos], self.cols[pos]
                span = Span(self.path, line, column, line, column + len(text))
                step: ast.Node = ast.Name(span, text) if kind == "NAME" else \
                    ast.Literal(span, self.numbers[text])
            else:
                step = self.binary(0)
            if k[self.pos] != "ARROW":
                break
            steps.append(step)
            self.pos += 1
        if not steps:
            return step
        steps.append(step)
        return ast.Chain(self.span(first), tuple(steps))

    def binary(self, min_prec: int) -> ast.Node:
        first = self.pos
        k = self.k
        if k[first] == "not":
            if min_prec > _NOT:
                raise self.reject()
            self.pos += 1
            operand = self.binary(_NOT)
            self.ops += 1
            left: ast.Node = ast.Unary(self.span(first), "not", operand)
        else:
            left = self.unary()
        prec = _PREC.get(k[self.pos])
        chained = 0
        while prec is not None and prec >= min_prec:
            chained += 1
            if chained > MAX_DEPTH:  # each round nests the left operand one deeper
                raise TooDeep(self.token_span(self.statement_start))
            op = self.v[self.pos]
            self.pos += 1
            right = self.binary(prec + 1)
            self.ops += 1
            left = ast.Binary(self.span(first), op, left, right)
            kind = k[self.pos]
            if prec == 4 and kind == "CMP":  # comparisons do not chain
                raise self.reject()
            prec = _PREC.get(kind)
        return left

    def unary(self) -> ast.Node:
        kind = self.k[self.pos]
        if kind == "-":
            first = self.pos
            self.pos += 1
            operand = self.unary()
            self.ops += 1
            return ast.Unary(self.span(first), "-", operand)
        if kind == "+":  # `+x` is x itself (its span does not grow)
            self.pos += 1
            return self.unary()
        first = self.pos
        base = self.postfix()
        if self.k[self.pos] == "**":
            self.pos += 1
            exponent = self.unary()
            self.ops += 1
            return ast.Binary(self.span(first), "**", base, exponent)
        return base

    def postfix(self) -> ast.Node:
        first = pos = self.pos
        k = self.k
        kind = k[pos]
        if kind == "NAME":
            if k[pos + 1] == "(":
                node: ast.Node = self.call()
            else:
                self.pos = pos + 1
                node = ast.Name(self.token_span(pos), self.v[pos])
        else:
            node = self.atom()
        chained = 0
        while True:
            kind = k[self.pos]
            chained += 1
            if chained > MAX_DEPTH:
                raise TooDeep(self.token_span(self.statement_start))
            if kind == "[":
                self.pos += 1
                index = self.expr()
                self.expect("]")
                self.ops += 1
                node = ast.Index(self.span(first), node, index)
            elif kind == ".":
                self.pos += 1
                name = self.v[self.expect("NAME")]
                self.ops += 1
                node = ast.Attr(self.span(first), node, name)
            else:
                return node

    def call(self) -> ast.Call:
        first = self.pos
        name_span = self.token_span(first)
        self.pos += 2
        k = self.k
        args: list[ast.Node] = []
        keywords: list[ast.Keyword] = []
        while k[self.pos] != ")":  # arguments, each but the last before a comma
            pos = self.pos
            if k[pos] == "NAME" and k[pos + 1] == "=":
                self.pos = pos + 2
                keywords.append(ast.Keyword(self.token_span(pos), self.v[pos], self.expr()))
            else:
                args.append(self.expr())
            if k[self.pos] != ",":
                break
            self.pos += 1
        self.expect(")")
        return ast.Call(self.span(first), self.v[first], name_span, tuple(args), tuple(keywords))

    def atom(self) -> ast.Node:
        pos = self.pos
        kind = self.k[pos]
        if kind == "NUMBER":
            self.pos = pos + 1
            if len(self.v[pos]) > MAX_NUMBER_DIGITS:
                raise LimitError(f"a number of {len(self.v[pos]):,} characters is past the limit "
                                 f"of {MAX_NUMBER_DIGITS} (about 10**308)", self.token_span(pos))
            return ast.Literal(self.token_span(pos), self.numbers[self.v[pos]])
        if kind == "STRING":
            self.pos = pos + 1
            return ast.Literal(self.token_span(pos), self.v[pos][1:-1])
        if kind == "(":
            self.pos = pos + 1
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "[":
            return self.list_expr()
        if kind == "true" or kind == "false":
            self.pos = pos + 1
            return ast.Literal(self.token_span(pos), kind == "true")
        if kind == "in":
            self.pos = pos + 1
            return ast.InputRef(self.token_span(pos))
        if kind == "if":
            return self.if_expr()
        if kind == "for":
            return self.for_expr()
        if kind == "repeat":
            return self.repeat_expr()
        raise self.reject()

    def list_expr(self) -> ast.Node:
        first = self.pos
        self.pos += 1
        k = self.k
        items: list[ast.Node] = []
        if k[self.pos] != "]":
            items.append(self.expr())
            if k[self.pos] == "for":
                return self.comprehension(first, items[0])
            while k[self.pos] == ",":
                self.pos += 1
                if k[self.pos] == "]":
                    break
                items.append(self.expr())
        self.expect("]")
        return ast.ListExpr(self.span(first), tuple(items))

    def comprehension(self, first: int, item: ast.Node) -> ast.Comprehension:
        self.pos += 1
        var = self.v[self.expect("NAME")]
        self.expect("in")
        items = self.expr()
        condition = None
        if self.k[self.pos] == "if":
            self.pos += 1
            condition = self.expr()
        self.expect("]")
        return ast.Comprehension(self.span(first), item, var, items, condition)

    def if_expr(self) -> ast.If:
        first = self.pos
        self.pos += 1
        condition = self.expr()
        then = self.body()
        self.expect("else")
        otherwise = self.if_expr() if self.k[self.pos] == "if" else self.body()
        self.ops += 1
        return ast.If(self.span(first), condition, then, otherwise)

    def for_expr(self) -> ast.For:
        first = self.pos
        self.pos += 1
        var = self.v[self.expect("NAME")]
        self.expect("in")
        items = self.expr()
        body = self.body()
        return ast.For(self.span(first), var, items, body)

    def repeat_expr(self) -> ast.Repeat:
        first = self.pos
        self.pos += 1
        self.expect("(")
        count = self.expr()
        self.expect(")")
        body = self.body()
        return ast.Repeat(self.span(first), count, body)


def depth(root: ast.Node) -> int:
    """How deep syntax nodes nest in `root` (iteratively: the tree may be very deep)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for name in _fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, ast.Node):
                stack.append((value, level + 1))
            elif isinstance(value, tuple):
                stack.extend((item, level + 1) for item in value if isinstance(item, ast.Node))
    return deepest


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        from dataclasses import fields

        found = _FIELDS[kind] = tuple(f.name for f in fields(kind) if f.name != "span")
    return found


def parse(text: str, path: str, max_nesting: int = MAX_NESTING) -> ast.Module:
    """The syntax tree of `text` (which ends with a newline); raises Rejected or TooDeep."""
    return Parser(Tokens(text, max_nesting), path).module()


def parse_text(text: str, path: str) -> ast.Module:
    """Parse one source file into a syntax tree; syntax errors are located NetdslErrors."""
    if text.startswith("\ufeff"):  # a UTF-8 byte-order mark, as some editors write
        text = text[1:]
    _check_size(text, path)
    remember_source(path, text)
    if not text.endswith("\n"):
        text += "\n"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, PARSE_RECURSION_LIMIT))  # long operator chains nest deep
    # The garbage collector paused: parsing makes tokens and syntax nodes in one burst and
    # no reference cycles, and collections rescanning them were a third of its time on a
    # machine-made spec of 50,000 lines.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not grammar_is_known():  # the grammar changed: its own parser, until this one has
            from netdsl.language.parser import _parse_with_lark

            return _parse_with_lark(text, path)
        return parse(text, path)
    except Rejected as stop:
        from netdsl.language.parser import parse_rejected

        return parse_rejected(text, path, stop)
    except TooDeep as exc:
        raise too_deep(exc.span) from None
    finally:
        sys.setrecursionlimit(limit)
        if collecting:
            gc.enable()


#: SHA-256 of the grammar this parser implements (grammars/netdsl.lark). A changed grammar
#: makes every file go through Lark until this parser learns the change (a test fails).
GRAMMAR_SHA256 = "72ef3d10258d1cb5579e60a9c006e8538b5ccab2bec5106f606a173a03bb321d"


def grammar_text() -> str:
    """The grammar: beside the package's modules when installed (netdsl/grammars/), at
    the top of a source checkout (grammars/), or through importlib (a zipped package).

    The two paths are tried first because the first parse of a process checks the
    grammar (`grammar_is_known`), and importlib's search for `netdsl.grammars` alone took
    a tenth of a millisecond, a fiftieth of loading and analysing ResNet-50.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder in (package, os.path.dirname(package)):
        try:
            with open(os.path.join(folder, "grammars", "netdsl.lark"), encoding="utf-8") as file:
                return file.read()
        except OSError:
            continue
    from importlib.resources import files

    return (files("netdsl.grammars") / "netdsl.lark").read_text(encoding="utf-8")


def grammar_sha256() -> str:
    """SHA-256 of the installed grammar text (without Lark)."""
    return hashlib.sha256(grammar_text().encode("utf-8")).hexdigest()


@cache
def grammar_is_known() -> bool:
    """Whether the grammar is the one this parser implements."""
    return grammar_sha256() == GRAMMAR_SHA256


def _check_size(text: str, path: str) -> None:
    """A located limit error for a file over MAX_SOURCE_BYTES, before any parsing."""
    if len(text) > MAX_SOURCE_BYTES // 4 and len(text.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise LimitError(f"the file has more than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB of "
                         "text (the limit)", Span(path, 1, 1, 1, 2))


def too_deep(span: Span) -> LimitError:
    """The limit error for an expression nested deeper than MAX_DEPTH."""
    return LimitError(f"this expression is nested too deeply (more than {MAX_DEPTH} levels, "
                      "the limit): split it into named parts", span)
