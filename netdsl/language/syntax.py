"""The syntax tree: frozen dataclasses, each with the source span it came from.

Literals, names, calls and keyword arguments are two thirds of a spec's nodes (all of a
machine-made chain's): their __init__ is `slot_init`'s, a quarter faster to build.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import Span, slot_init


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every syntax node."""

    span: Span


# ----------------------------------------------------------------------- expressions
@slot_init
@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A number, string or boolean written in the source."""

    value: int | float | str | bool


@slot_init
@dataclass(frozen=True, slots=True)
class Name(Node):
    """An identifier: a variable, parameter, tensor, block, layer or builtin."""

    id: str


@dataclass(frozen=True, slots=True)
class InputRef(Node):
    """`in`: the current input of the enclosing block (or chain step)."""


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    """`[a, b, c]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Comprehension(Node):
    """`[item for var in items if condition]` (the condition is optional)."""

    item: Node
    var: str
    items: Node
    condition: Node | None


@dataclass(frozen=True, slots=True)
class Index(Node):
    """`target[index]`."""

    target: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Attr(Node):
    """`target.name` (tensor attributes: channels, height, width, shape, ...)."""

    target: Node
    name: str


@slot_init
@dataclass(frozen=True, slots=True)
class Keyword(Node):
    """A keyword argument `name = value` in a call."""

    name: str
    value: Node


@slot_init
@dataclass(frozen=True, slots=True)
class Call(Node):
    """`name(args, key = value)`. `name_span` covers the callee's name alone."""

    name: str
    name_span: Span
    args: tuple[Node, ...]
    kwargs: tuple[Keyword, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """`-x` or `not x`."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic, comparison or boolean operator with two operands."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """`a -> b -> c`: each step takes the value of the one before as its input."""

    steps: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Body(Node):
    """A braced list of statements; its value is that of its last expression."""

    statements: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class If(Node):
    """`if cond { ... } else { ... }` (an expression: it has the value of the branch taken)."""

    condition: Node
    then: Body
    otherwise: Node  # Body or If


@dataclass(frozen=True, slots=True)
class For(Node):
    """`for i in items { body }`: the body is applied once per item, chained."""

    var: str
    items: Node
    body: Body


@dataclass(frozen=True, slots=True)
class Repeat(Node):
    """`repeat(n) { body }`: the body applied n times, chained."""

    count: Node
    body: Body


# ------------------------------------------------------------------------ statements
@dataclass(frozen=True, slots=True)
class Assign(Node):
    """`name = expr`."""

    name: str
    value: Node


@dataclass(frozen=True, slots=True)
class Unpack(Node):
    """`a, b = expr`: one name per item of a list."""

    names: tuple[str, ...]
    value: Node


@dataclass(frozen=True, slots=True)
class OutputDecl(Node):
    """`output name = expr` or `training output name = expr` (networks only)."""

    name: str
    value: Node
    training: bool
    name_span: Span


@dataclass(frozen=True, slots=True)
class Defaults(Node):
    """`defaults layer(key = value, ...)`: argument defaults for the rest of the body."""

    name: str
    name_span: Span
    args: tuple[Node, ...]  # an error: defaults are keywords
    kwargs: tuple[Keyword, ...]


@dataclass(frozen=True, slots=True)
class InputDecl(Node):
    """`input name: [C, H, W]` (networks only)."""

    name: str
    shape: Node


@dataclass(frozen=True, slots=True)
class Require(Node):
    """`require EXPR`: a constraint on the analysed network (netdsl/analysis/constraints.py)."""

    expr: Node


@dataclass(frozen=True, slots=True)
class ExprStmt(Node):
    """An expression on its own line; the last one is the body's value."""

    expr: Node


# ----------------------------------------------------------------------- definitions
@dataclass(frozen=True, slots=True)
class Param(Node):
    """A block or network parameter, with optional type and default."""

    name: str
    type: str | None
    default: Node | None


@dataclass(frozen=True, slots=True)
class BlockDef(Node):
    """`block name(params) { body }` or `network name(params) { body }`."""

    name: str
    params: tuple[Param, ...]
    body: Body
    is_network: bool


@dataclass(frozen=True, slots=True)
class Import(Node):
    """`import "relative/path.net"` or `import std.name`."""

    target: str
    is_std: bool


@dataclass(frozen=True, slots=True)
class Module(Node):
    """One parsed source file."""

    path: str
    imports: tuple[Import, ...]
    definitions: tuple[BlockDef, ...]
