"""Text to syntax tree, and friendly syntax errors.

The hand-written parser of netdsl/language/fastparse.py builds the tree; where it stops
(a syntax error), the Lark parser of grammars/netdsl.lark, the reference, parses the
top-level item in question again and says what is wrong in the grammar's words.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from netdsl.errors import LimitError, NetdslError, Span
from netdsl.language import fastparse
from netdsl.language import syntax as ast

_OPENERS = {"LPAR": "(", "LSQB": "[", "LBRACE": "{"}
_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB", "RBRACE": "LBRACE"}

# Human names for the terminals Lark reports in "expected ..." lists.
_TOKEN_NAMES = {
    "_NL": "a newline", "_ARROW": "'->'", "NAME": "a name", "NUMBER": "a number",
    "STRING": "a string", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "LBRACE": "'{'", "RBRACE": "'}'", "COMMA": "','", "EQUAL": "'='", "COLON": "':'",
    "DOT": "'.'", "COMPARE": "a comparison", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "SLASH": "'/'", "$END": "the end of the file",
}


#: Words that can never be names. The contextual lexer would otherwise read a keyword
#: as a NAME wherever the keyword itself cannot appear, and errors would land late.
RESERVED = frozenset({"import", "block", "network", "input", "if", "else", "for", "in", "repeat",
                      "and", "or", "not", "true", "false", "output", "training", "defaults"})


#: Brackets ( [ { may nest this deep (a documented limit).
MAX_NESTING = fastparse.MAX_NESTING
#: Characters of a number literal (an integer stays below 10**308, like a float).
MAX_NUMBER_DIGITS = fastparse.MAX_NUMBER_DIGITS
#: Syntax nodes nest at most this deep below a statement (a documented limit).
MAX_DEPTH = fastparse.MAX_DEPTH
#: A spec file holds at most this many bytes of text (a documented limit).
MAX_SOURCE_BYTES = fastparse.MAX_SOURCE_BYTES
#: A syntax error in a top-level item longer than this is described by the fast parser
#: alone (Lark would take seconds to re-parse it for its list of expected tokens).
LARK_ERROR_BYTES = 256 * 1024


class NestingError(Exception):
    """Brackets nested past MAX_NESTING."""

    def __init__(self, token: Token) -> None:
        super().__init__(str(token))
        self.token = token


class ReservedWordError(Exception):
    """A reserved word was used as a name."""

    def __init__(self, token: Token) -> None:
        super().__init__(str(token))
        self.token = token


class GluedWordsError(Exception):
    """A keyword or number runs into the word after it (`importstd`, `blockb`, `3x`)."""

    def __init__(self, first: Token, second: Token) -> None:
        super().__init__(f"{first}{second}")
        self.first, self.second = first, second


def _wordy(token: Token, at_end: bool) -> bool:
    """Whether the token's last (or first) character could continue a name."""
    if token.type in ("_NL", "_ARROW", "STRING") or not token.value:
        return False
    char = token.value[-1] if at_end else token.value[0]
    return char.isalnum() or char == "_"


class _BracketAwareNewlines:
    """Drops newlines inside ( ) and [ ], keeps them inside { } and at top level."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        # the brackets open at the point a syntax error stops the parse, for its note
        self.open: list[Token] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        stack: list[Token] = []
        self.open = stack
        previous: Token | None = None
        for token in stream:
            kind = token.type
            if (previous is not None and previous.end_pos == token.start_pos
                    and _wordy(previous, True) and _wordy(token, False)):
                raise GluedWordsError(previous, token)
            previous = token
            if kind == "NAME" and token.value in RESERVED:
                raise ReservedWordError(token)
            if kind in _OPENERS:
                stack.append(token)
                if len(stack) > MAX_NESTING:
                    raise NestingError(token)
            elif kind in _CLOSERS and stack and stack[-1].type == _CLOSERS[kind]:
                stack.pop()  # a mismatched closer is left for the parser to report
            elif kind == "_NL" and stack and stack[-1].type != "LBRACE":
                continue
            yield token


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        fastparse.grammar_text(), parser="lalr", lexer="contextual", postlex=_BracketAwareNewlines(),
        propagate_positions=True, maybe_placeholders=True,
        cache=True,  # grammar analysis cached in the temp dir, keyed by grammar hash
    )


#: The entry point (netdsl/language/fastparse.py); this module is its error path.
parse = fastparse.parse_text


def _too_deep(span: Span) -> LimitError:
    return LimitError(f"this expression is nested too deeply (more than {MAX_DEPTH} levels, "
                      "the limit): split it into named parts", span)


def parse_rejected(text: str, path: str, stop: fastparse.Rejected) -> ast.Module:
    """The fast parser stopped at `stop`: Lark parses the top-level item again and reports
    the error; should Lark accept it, Lark parses the whole file (the reference)."""
    end = text.find("\n", stop.offset)
    end = len(text) if end < 0 else end + 1
    if end - stop.item > LARK_ERROR_BYTES:
        raise _fast_syntax_error(text, path, stop) from None
    # the lines before the item become empty lines, so that positions stay the same
    line_start = text.rfind("\n", 0, stop.item) + 1
    excerpt = ("\n" * text.count("\n", 0, stop.item) + " " * (stop.item - line_start)
               + text[stop.item:end])
    try:
        _parse_with_lark(excerpt, path)
    except NetdslError as error:
        at_end = error.span is not None and (error.span.line, error.span.column) == \
            _last_position(excerpt)
        if end == len(text) or not (at_end and error.message.startswith("unexpected end")):
            raise
    return _parse_with_lark(text, path)


def _fast_syntax_error(text: str, path: str, stop: fastparse.Rejected) -> NetdslError:
    """The error at `stop` in words of the fast parser's own (no list of expected tokens)."""
    line = text.count("\n", 0, stop.offset) + 1
    column = stop.offset - (text.rfind("\n", 0, stop.offset) + 1) + 1
    match = fastparse.TOKEN.match(text, stop.offset)
    word = match.group() if match else ""
    if stop.offset >= len(text) - 1 and not word.strip():
        line, column = _last_position(text)
        message = "unexpected end of file"
    elif match is None or match.lastindex == 9:
        message = f"unexpected character {text[stop.offset]!r}"
    elif "\n" in word:  # TOKEN's group 5 is newlines, its group 4 an `->` on a later line
        message = "unexpected end of line" if match.lastindex == 5 else "unexpected '->'"
    elif match.lastindex == 1 and word not in RESERVED:  # group 1: a name or keyword
        message = f"unexpected name '{word}'"
    else:
        message = f"unexpected '{word}'"
    width = 1 if "\n" in word else max(1, min(len(word), 40))
    return NetdslError(message, Span(path, line, column, line, column + width))


def _parse_with_lark(text: str, path: str) -> ast.Module:
    """Parse with the Lark parser (the grammar's reference); errors as NetdslErrors."""
    try:
        module = _ToSyntax(path).transform(_lark().parse(text))
    except UnexpectedInput as exc:
        error = _syntax_error(exc, text, path)
        unclosed = [t for t in _lark().options.postlex.open if t.type != "LBRACE"]
        if unclosed:
            t = unclosed[-1]
            error.with_note(f"the '{t}' opened here is not closed",
                            Span(path, t.line, t.column, t.line, t.column + 1))
        raise error from None
    except NestingError as exc:
        t = exc.token
        raise LimitError(f"brackets are nested more than {MAX_NESTING} deep (the limit)",
                         Span(path, t.line, t.column, t.line, t.column + 1)) from None
    except (RecursionError, VisitError) as exc:
        if isinstance(exc, VisitError) and isinstance(exc.orig_exc, NetdslError):
            raise exc.orig_exc from None  # a located error raised while building the tree
        if isinstance(exc, VisitError) and not isinstance(exc.orig_exc, RecursionError):
            raise
        raise _too_deep(Span(path, 1, 1, 1, 2)) from None
    except ReservedWordError as exc:
        t = exc.token
        raise NetdslError(f"unexpected '{t}': it is a reserved word and cannot be used here",
                          Span(path, t.line, t.column, t.line, t.column + len(t))) from None
    except GluedWordsError as exc:
        raise _glued_error(exc, path) from None
    for definition in module.definitions:
        for node in (*(p.default for p in definition.params if p.default is not None),
                     *definition.body.statements):
            if fastparse.depth(node) > MAX_DEPTH:
                raise _too_deep(node.span)
    return module


def _glued_error(exc: GluedWordsError, path: str) -> NetdslError:
    first, second = exc.first, exc.second
    word = f"{first}{second}"
    span = Span(path, first.line, first.column, second.end_line, second.end_column)
    if first.type == "NUMBER":
        return NetdslError(f"unexpected '{word}': put a space or an operator between the "
                           f"number {first} and '{second}'", span)
    return NetdslError(f"unexpected name '{word}': '{first}' is a keyword; write "
                       f"'{first} {second}'", span)


def _syntax_error(exc: UnexpectedInput, text: str, path: str) -> NetdslError:
    line, column = exc.line if exc.line > 0 else 1, exc.column if exc.column > 0 else 1
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
        message = f"unexpected character {char!r}"
    elif isinstance(exc, UnexpectedToken):
        message = f"unexpected {_describe(exc.token)}{_expected(exc.expected)}"
        before = text[:exc.token.start_pos].rstrip(" \t") if exc.token.start_pos else ""
        if exc.token.type == "_NL" and before.endswith("->"):
            message = ("a line cannot end with '->': put the next step after it, or start the "
                       "next line with '->' to continue the chain")
        if exc.token.type == "$END":
            line, column = _last_position(text)
    elif isinstance(exc, UnexpectedEOF):
        line, column = _last_position(text)
        message = f"unexpected end of file{_expected(exc.expected)}"
    else:  # pragma: no cover - Lark has no other kinds today
        message = "syntax error"
    width = len(str(exc.token)) if isinstance(exc, UnexpectedToken) else 1
    width = max(1, min(width, 40)) if "\n" not in str(getattr(exc, "token", "")) else 1
    return NetdslError(message, Span(path, line, column, line, column + width))


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    if token.type == "_ARROW":
        return "'->'"
    if token.type == "NAME":
        return f"name '{token}'"
    return f"'{token}'"


def _expected(expected: set[str]) -> str:
    names = sorted({_TOKEN_NAMES.get(t, _keyword(t)) for t in expected})
    names = [n for n in names if n]
    if not names or len(names) > 8:
        return ""
    return "; expected " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1])


def _keyword(terminal: str) -> str:
    # Lark names keyword terminals after the keyword itself (IF, FOR, ...).
    return f"'{terminal.lower()}'" if terminal.isalpha() and terminal.isupper() else ""


def _last_position(text: str) -> tuple[int, int]:
    lines = text.rstrip("\n").split("\n")
    return len(lines), len(lines[-1]) + 1


#: Unit suffixes of number literals (`600M`, `4GiB`).
_SUFFIXES = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def _number(text: str) -> int | float:
    digits = text.rstrip("KMGiB")
    value = float(digits) if any(c in digits for c in ".eE") else int(digits)
    if digits == text:
        return value
    scaled = value * _SUFFIXES[text[len(digits):]]
    # 1.5M is the integer 1500000; an overflowing float stays a float (a later range error)
    return int(scaled) if isinstance(scaled, int) or scaled.is_integer() else scaled


_BINARY_OPS = {
    "add_op": "+", "sub_op": "-", "mul_op": "*", "div_op": "/", "floordiv_op": "//",
    "mod_op": "%", "pow_op": "**", "and_op": "and", "or_op": "or",
}


@v_args(meta=True, inline=True)
class _ToSyntax(Transformer):
    """Lark tree to syntax dataclasses, attaching spans."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 1, 1, 1, 2)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _token_span(self, token: Token) -> Span:
        return Span(self.path, token.line, token.column, token.end_line, token.end_column)

    # ---- top level
    def start(self, meta, *items):
        imports = tuple(i for i in items if isinstance(i, ast.Import))
        defs = tuple(i for i in items if isinstance(i, ast.BlockDef))
        return ast.Module(self._span(meta), self.path, imports, defs)

    def import_stmt(self, meta, target):
        if isinstance(target, Token):
            return ast.Import(self._span(meta), target[1:-1], False)
        return ast.Import(self._span(meta), target, True)

    def dotted_name(self, meta, *names):
        return ".".join(str(n) for n in names)

    def _definition(self, meta, name, params, body, is_network):
        return ast.BlockDef(self._span(meta), str(name), params or (), body, is_network)

    def block_def(self, meta, name, params, body):
        return self._definition(meta, name, params, body, False)

    def network_def(self, meta, name, params, body):
        return self._definition(meta, name, params, body, True)

    def param_list(self, meta, *params):
        return tuple(params)

    def param(self, meta, name, type_, default):
        return ast.Param(self._token_span(name), str(name), str(type_) if type_ else None, default)

    def body(self, meta, *statements):
        return ast.Body(self._span(meta), tuple(s for s in statements if s is not None))

    # ---- statements
    def assign(self, meta, name, value):
        return ast.Assign(self._span(meta), str(name), value)

    def input_decl(self, meta, name, shape):
        return ast.InputDecl(self._span(meta), str(name), shape)

    def require_stmt(self, meta, expr):
        return ast.Require(self._span(meta), expr)

    def unpack(self, meta, *parts):
        return ast.Unpack(self._span(meta), tuple(str(n) for n in parts[:-1]), parts[-1])

    def output_decl(self, meta, training, name, value):
        return ast.OutputDecl(self._span(meta), str(name), value, training is not None,
                              self._token_span(name))

    def defaults_stmt(self, meta, name, args):
        positional = tuple(a for a in (args or ()) if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in (args or ()) if isinstance(a, ast.Keyword))
        return ast.Defaults(self._span(meta), str(name), self._token_span(name), positional,
                            keywords)

    def expr_stmt(self, meta, expr):
        return ast.ExprStmt(self._span(meta), expr)

    # ---- expressions
    def chain(self, meta, *steps):
        return ast.Chain(self._span(meta), tuple(steps))

    def compare(self, meta, left, op, right):
        return ast.Binary(self._span(meta), str(op), left, right)

    def not_op(self, meta, operand):
        return ast.Unary(self._span(meta), "not", operand)

    def neg_op(self, meta, operand):
        return ast.Unary(self._span(meta), "-", operand)

    def index(self, meta, target, idx):
        return ast.Index(self._span(meta), target, idx)

    def attr(self, meta, target, name):
        return ast.Attr(self._span(meta), target, str(name))

    def call(self, meta, name, args):
        positional = tuple(a for a in (args or ()) if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in (args or ()) if isinstance(a, ast.Keyword))
        return ast.Call(self._span(meta), str(name), self._token_span(name), positional, keywords)

    def arg_list(self, meta, *args):
        return tuple(args)

    def kwarg(self, meta, name, value):
        return ast.Keyword(self._token_span(name), str(name), value)

    def number(self, meta, token):
        if len(token) > MAX_NUMBER_DIGITS:  # before int(), which is slow on long ones
            raise LimitError(f"a number of {len(token):,} characters is past the limit of "
                             f"{MAX_NUMBER_DIGITS} (about 10**308)", self._token_span(token))
        return ast.Literal(self._span(meta), _number(str(token)))

    def string(self, meta, token):
        return ast.Literal(self._span(meta), str(token)[1:-1])

    def true(self, meta):
        return ast.Literal(self._span(meta), True)

    def false(self, meta):
        return ast.Literal(self._span(meta), False)

    def name(self, meta, token):
        return ast.Name(self._span(meta), str(token))

    def input_ref(self, meta):
        return ast.InputRef(self._span(meta))

    def list(self, meta, *items):
        return ast.ListExpr(self._span(meta), tuple(i for i in items if i is not None))

    def comprehension(self, meta, item, var, items, condition):
        return ast.Comprehension(self._span(meta), item, str(var), items, condition)

    def if_expr(self, meta, condition, then, otherwise):
        return ast.If(self._span(meta), condition, then, otherwise)

    def for_expr(self, meta, var, items, body):
        return ast.For(self._span(meta), str(var), items, body)

    def repeat_expr(self, meta, count, body):
        return ast.Repeat(self._span(meta), count, body)


def _binary(op: str):
    def method(self, meta, left, right):
        return ast.Binary(self._span(meta), op, left, right)

    return v_args(meta=True, inline=True)(method)


for _rule, _op in _BINARY_OPS.items():
    setattr(_ToSyntax, _rule, _binary(_op))
