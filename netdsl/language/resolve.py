"""Name resolution: what every identifier of a program is, decided once per load.

An identifier in a spec is a local value (a parameter, an assigned name, a loop
variable, an input, a predefined word), a block, a layer, a built-in function, a check
(`assert`, `fail`), a search decision (`choice`, ...), `identity`, or unknown. Which one
depends only on the text: the home module's blocks (a block's body resolves names in its
own file) and the local names bound before the use, lexically (a body's assignments are
visible to its later statements and nested bodies; the bodies of `if`, `for` and
`repeat` open their own scope). So the elaborator looks each use up instead of searching
scopes, namespaces and the registry on every evaluation.

Rules, as the evaluator always had them: in a call `f(...)`, a block named `f` wins over
everything, then the checks, decisions and built-ins, then `identity` and the layers, then
a local value (calling it: a block or layer passed as a value); a bare name `f` is a local
value first, then a block, `identity` or a layer. An unknown name is an error only where
it is evaluated (an `if` branch not taken never reports it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netdsl.language import syntax as ast
from netdsl.language.choices import DECISION_FUNCTIONS
from netdsl.language.loader import Program
from netdsl.language.values import BUILTINS, CONSTANTS
from netdsl.layers import REGISTRY

LOCAL, BLOCK, LAYER, BUILTIN, CHECK, DECISION, IDENTITY, UNKNOWN = (
    "local", "block", "layer", "builtin", "check", "decision", "identity", "unknown")


@dataclass(frozen=True, slots=True)
class Target:
    """What one use of a name refers to: its kind and, for blocks and layers, which."""

    kind: str
    ref: Any = None  # the BlockDef or LayerSpec


_LOCAL = Target(LOCAL)
_CALLABLE = {CHECK: Target(CHECK), DECISION: Target(DECISION), BUILTIN: Target(BUILTIN),
             IDENTITY: Target(IDENTITY), UNKNOWN: Target(UNKNOWN)}


class Names:
    """The resolution of every `Name` and `Call` of a program, by node identity."""

    def __init__(self, program: Program) -> None:
        self.targets: dict[int, Target] = {}
        self.blocks: dict[int, Target] = {}  # id(BlockDef) -> its Target (shared)
        for definition, namespace in _definitions(program):
            _Resolver(self, namespace).definition(definition)

    def __getitem__(self, node: ast.Node) -> Target:
        return self.targets[id(node)]

    def callee(self, name: str, namespace: dict[str, ast.BlockDef]) -> Target:
        """What `name` calls where `namespace` is visible (not being a local value): a block,
        `identity`, a layer, or unknown. Blocks shadow layers."""
        block = namespace.get(name)
        if block is not None:
            return self.block(block)
        if name == "identity":
            return _CALLABLE[IDENTITY]
        spec = REGISTRY.get(name)
        return _CALLABLE[UNKNOWN] if spec is None else Target(LAYER, spec)

    def block(self, definition: ast.BlockDef) -> Target:
        """The one Target of a block (so that equal blocks compare by identity)."""
        target = self.blocks.get(id(definition))
        if target is None:
            target = self.blocks[id(definition)] = Target(BLOCK, definition)
        return target


def names_of(program: Program) -> Names:
    """The program's resolution, computed on first use and kept with the program."""
    names = getattr(program, "names", None)
    if names is None:
        names = Names(program)
        program.names = names
    return names


def _definitions(program: Program) -> Iterable[tuple[ast.BlockDef, dict[str, ast.BlockDef]]]:
    """Every block with its home module's namespace; the root's networks with the root's."""
    for file, namespace in program.namespaces.items():
        for block in namespace.values():
            if block.span.file == file:
                yield block, namespace
    for network in program.networks.values():
        yield network, program.blocks


class _Resolver:
    """Walks one definition, with the local names bound at each point."""

    def __init__(self, names: Names, namespace: dict[str, ast.BlockDef]) -> None:
        self.names, self.namespace = names, namespace

    def definition(self, d: ast.BlockDef) -> None:
        scope = set(CONSTANTS)
        for param in d.params:
            if param.default is not None:
                self.expr(param.default, scope)
            scope.add(param.name)
        self.body(d.body, scope)

    def body(self, body: ast.Body, outer: set[str]) -> None:
        scope = set(outer)  # a body's assignments stay in it
        for st in body.statements:
            if isinstance(st, ast.Assign):
                self.expr(st.value, scope)
                scope.add(st.name)
            elif isinstance(st, ast.InputDecl):
                self.expr(st.shape, scope)
                scope.add(st.name)
            elif isinstance(st, ast.Unpack):
                self.expr(st.value, scope)
                scope.update(st.names)
            elif isinstance(st, ast.OutputDecl):
                self.expr(st.value, scope)
                scope.add(st.name)
            elif isinstance(st, ast.Defaults):
                for a in st.args:
                    self.expr(a, scope)
                for kw in st.kwargs:
                    self.expr(kw.value, scope)
            else:
                self.expr(st.expr, scope)

    def expr(self, e: ast.Node, scope: set[str]) -> None:
        kind = type(e)
        if kind is ast.Name:
            self.names.targets[id(e)] = _LOCAL if e.id in scope else self.callee(e.id)
        elif kind is ast.Call:
            self.names.targets[id(e)] = self.call(e.name, scope)
            for a in e.args:
                self.expr(a, scope)
            for kw in e.kwargs:
                self.expr(kw.value, scope)
        elif kind is ast.Chain:
            for step in e.steps:
                self.expr(step, scope)
        elif kind is ast.ListExpr:
            for item in e.items:
                self.expr(item, scope)
        elif kind is ast.Index:
            self.expr(e.target, scope)
            self.expr(e.index, scope)
        elif kind is ast.Attr:
            self.expr(e.target, scope)
        elif kind is ast.Unary:
            self.expr(e.operand, scope)
        elif kind is ast.Binary:
            self.expr(e.left, scope)
            self.expr(e.right, scope)
        elif kind is ast.If:
            self.expr(e.condition, scope)
            self.body(e.then, scope)
            self.expr(e.otherwise, scope)
        elif kind is ast.For:
            self.expr(e.items, scope)
            self.body(e.body, scope | {e.var})
        elif kind is ast.Repeat:
            self.expr(e.count, scope)
            self.body(e.body, scope)
        elif kind is ast.Body:
            self.body(e, scope)
        elif kind is ast.Comprehension:
            self.expr(e.items, scope)
            inner = scope | {e.var}
            self.expr(e.item, inner)
            if e.condition is not None:
                self.expr(e.condition, inner)
        # Literal and InputRef name nothing

    def call(self, name: str, scope: set[str]) -> Target:
        """A callee: blocks first, then checks, decisions, built-ins, layers, locals."""
        block = self.namespace.get(name)
        if block is not None:
            return self.names.block(block)
        if name in ("assert", "fail"):
            return _CALLABLE[CHECK]
        if name in DECISION_FUNCTIONS:
            return _CALLABLE[DECISION]
        if name in BUILTINS:
            return _CALLABLE[BUILTIN]
        target = self.callee(name)
        if target.kind == UNKNOWN and name in scope:
            return _LOCAL
        return target

    def callee(self, name: str) -> Target:
        """A name that is not a local value: a block, `identity`, a layer, or unknown."""
        return self.names.callee(name, self.namespace)


__all__ = ["BLOCK", "BUILTIN", "CHECK", "DECISION", "IDENTITY", "LAYER", "LOCAL", "Names",
           "Target", "UNKNOWN", "names_of"]
