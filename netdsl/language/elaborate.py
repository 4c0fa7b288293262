"""Elaboration: a program's network, with bound parameters, to the graph IR.

The elaborator interprets the syntax tree. Scalars are Python values; tensors are
`Tensor`s naming the node that made them. A call of a layer adds a node; a call of
a block evaluates its body in a new scope, so node names follow the block path
(`stage1.basic0.conv0`). Shapes are computed as nodes are added, which is what lets
blocks read `in.channels`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import networkx as nx

from netdsl.errors import LimitError, NetdslError, Note, Span, UsageError
from netdsl.graph import fill_graph, new_graph
from netdsl.language import memo
from netdsl.language import syntax as ast
from netdsl.language.loader import Program
from netdsl.language.values import (
    BINARY,
    BUILTINS,
    CONSTANTS,
    MAX_CALL_DEPTH,
    MAX_LIST,
    MAX_NODES,
    MAX_REPEAT,
    MISSING,
    TENSOR_ATTRIBUTES,
    Env,
    Scope,
    Tensor,
    ValueError_,
    show_value,
    tensor_attribute,
    value_type,
)
from netdsl.layers import REGISTRY, LayerError, LayerSpec, create
from netdsl.layers.base import Shape, check_shape
from netdsl.layers.io import Input
from netdsl.layers.registry import suggest

#: Declared parameter types and what values they accept.
PARAM_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,),
               "list": (list,)}


#: Memoised block calls kept per loaded spec before the cache is cleared.
MAX_TEMPLATES = 20_000


class Override:
    """A parameter value given from outside the spec, and where it came from."""

    __slots__ = ("value", "origin", "span")

    def __init__(self, value: Any, origin: str, span: Span | None = None) -> None:
        self.value, self.origin, self.span = value, origin, span


def elaborate(program: Program, network: str | None = None,
              overrides: dict[str, Any] | None = None,
              input_shapes: dict[str, Shape] | None = None) -> nx.MultiDiGraph:
    """Build the graph of one network of `program` with the given parameter values."""
    definition = select_network(program, network)
    # Each level of block nesting costs about a dozen Python frames; MAX_CALL_DEPTH is
    # the documented limit, so Python's own must not be reached first.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 40 * MAX_CALL_DEPTH + 2000))
    try:
        return _Elaborator(program).network(definition, overrides or {}, input_shapes or {})
    except RecursionError:
        raise LimitError(f"network '{definition.name}' nests expressions too deeply to evaluate",
                         definition.span) from None
    finally:
        sys.setrecursionlimit(limit)


def select_network(program: Program, name: str | None) -> ast.BlockDef:
    """The network called `name`; without a name, the file's only network."""
    nets = program.networks
    if name is not None:
        if name not in nets:
            listed = ", ".join(nets) or "none"
            raise UsageError(f"no network '{name}' in {program.path}"
                             f"{suggest(name, list(nets))} (networks: {listed})")
        return nets[name]
    if len(nets) == 1:
        return next(iter(nets.values()))
    if not nets:
        raise NetdslError(f"{program.path} defines no network", program.module.span)
    raise UsageError(f"{program.path} defines several networks ({', '.join(nets)}); "
                     "pick one with --network NAME")


class _Frame:
    """One active block call: for the notes of errors raised inside it."""

    __slots__ = ("block", "span")

    def __init__(self, block: str, span: Span) -> None:
        self.block, self.span = block, span


class _Elaborator:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.graph = new_graph()
        self.nodes: list[tuple[str, dict[str, Any]]] = []
        self.edges: list[tuple[str, str, int]] = []
        self.frames: list[_Frame] = []
        self.deepest = 0  # deepest block nesting reached (for memoised calls' depth)
        self.scope_spans: dict[str, Span] = {}  # block path -> the call that opened it
        self.blocks = program.blocks  # the namespace of the module being evaluated
        self.scope = Scope("")
        self.globals = Env(None, dict(CONSTANTS))
        self.dispatch = {
            ast.Literal: self._literal, ast.Name: self._name, ast.InputRef: self._input_ref,
            ast.ListExpr: self._list, ast.Index: self._index, ast.Attr: self._attr,
            ast.Call: self._call, ast.Unary: self._unary, ast.Binary: self._binary,
            ast.Chain: self._chain, ast.If: self._if, ast.For: self._for,
            ast.Repeat: self._repeat, ast.Body: self._body_value,
        }

    # ------------------------------------------------------------------ errors
    def error(self, message: str, span: Span | None, notes: Sequence[Note] = (),
              kind: type[NetdslError] = NetdslError) -> NetdslError:
        """A located error with the chain of block calls as notes."""
        return kind(message, span, list(notes) + self.call_notes())

    def call_notes(self) -> list[Note]:
        """Innermost call first; a run of identical calls (recursion) is shown once."""
        notes: list[Note] = []
        repeats = 0
        for i in range(len(self.frames) - 1, -1, -1):
            caller = f"'{self.frames[i - 1].block}'" if i > 0 else f"network '{self.network_name}'"
            note = Note(f"in block '{self.frames[i].block}' called from {caller}", self.frames[i].span)
            if notes and notes[-1] == note:
                repeats += 1
                continue
            if repeats:
                notes.append(Note(f"... and {repeats} more identical call(s)"))
                repeats = 0
            notes.append(note)
        if repeats:
            notes.append(Note(f"... and {repeats} more identical call(s)"))
        if len(notes) > 8:  # mutual recursion and the like: the innermost and the outermost
            notes = [*notes[:4], Note(f"... {len(notes) - 6} more block calls ..."), *notes[-2:]]
        return notes

    # ----------------------------------------------------------------- network
    def network(self, net: ast.BlockDef, overrides: dict[str, Any],
                input_shapes: dict[str, Shape]) -> nx.MultiDiGraph:
        self.network_name = net.name
        self.graph.graph.update(network=net.name, source=self.program.path)
        env = Env(self.globals)
        self.bind_network_params(net, env, overrides)
        self.input_shapes = dict(input_shapes)
        cur = None
        result = None
        last: ast.Node | None = None
        for statement in net.body.statements:
            if isinstance(statement, ast.InputDecl):
                tensor = self.declare_input(statement, env)
                env.vars[statement.name] = tensor
                # `in` (and chains that start with a call) mean the input only while there
                # is exactly one; with several, a chain must name the one it starts from
                cur = tensor if len(self.graph.graph["inputs"]) == 1 else None
                env.vars["in"] = cur
            else:
                result, last = self.statement(statement, env, cur, result, last)
        unknown = set(self.input_shapes) - set(self.graph.graph["inputs"])
        if unknown:
            raise UsageError(f"network '{net.name}' has no input '{sorted(unknown)[0]}'"
                             f"{suggest(sorted(unknown)[0], list(self.graph.graph['inputs']))}")
        return self.finish(net, result, last)

    def bind_network_params(self, net: ast.BlockDef, env: Env, overrides: dict[str, Any]) -> None:
        names = {p.name for p in net.params}
        for param in net.params:
            self.check_declared_type(param)
        for key, given in overrides.items():
            if key not in names:
                origin = given.origin if isinstance(given, Override) else "the API"
                raise UsageError(f"network '{net.name}' has no parameter '{key}' (from {origin})"
                                 f"{suggest(key, sorted(names))}",
                                 given.span if isinstance(given, Override) else None)
        for param in net.params:
            if param.name in overrides:
                env.vars[param.name] = self.override_value(param, overrides[param.name], env)
            elif param.default is not None:
                env.vars[param.name] = self.check_type(param, self.eval(param.default, env, None),
                                                       param.default.span)
            else:
                raise self.error(f"network parameter '{param.name}' has no default; give it "
                                 f"with --set {param.name}=VALUE", param.span, kind=UsageError)

    def override_value(self, param: ast.Param, given: Any, env: Env) -> Any:
        override = given if isinstance(given, Override) else Override(given, "the API")
        declared = param.type or (value_type(self.eval(param.default, env, None))
                                  if param.default is not None else None)
        value = override.value
        if declared in PARAM_TYPES and not _is_type(value, declared):
            raise UsageError(
                f"parameter '{param.name}' is {_article(declared)} {declared}, but {override.origin} "
                f"gives {value_type(value)} {show_value(value)}", override.span,
                [Note(f"'{param.name}' is declared here", param.span)])
        return float(value) if declared == "float" else value

    def check_declared_type(self, param: ast.Param) -> None:
        if param.type is not None and param.type not in PARAM_TYPES:
            raise self.error(f"unknown type '{param.type}' for parameter '{param.name}' (types: "
                             f"{', '.join(PARAM_TYPES)}){suggest(param.type, list(PARAM_TYPES))}",
                             param.span)

    def check_type(self, param: ast.Param, value: Any, span: Span) -> Any:
        if param.type is None:
            return value
        self.check_declared_type(param)
        if not _is_type(value, param.type):
            raise self.error(f"parameter '{param.name}' is {_article(param.type)} {param.type}, "
                             f"got {value_type(value)} {show_value(value)}", span,
                             [Note(f"'{param.name}' is declared here", param.span)])
        return float(value) if param.type == "float" else value

    def declare_input(self, decl: ast.InputDecl, env: Env) -> Tensor:
        if decl.name in self.graph.graph["inputs"]:
            raise self.error(f"input '{decl.name}' is declared twice", decl.span)
        shape = self.input_shapes.get(decl.name)
        if shape is None:
            value = self.eval(decl.shape, env, None)
            if not isinstance(value, list) or not all(_is_int(v) for v in value):
                raise self.error(f"an input shape is a list of integers like [3, 224, 224], got "
                                 f"{show_value(value)}", decl.shape.span)
            shape = tuple(value)
        if not 1 <= len(shape) <= 4 or any(d < 1 for d in shape):
            raise self.error(f"input '{decl.name}' must have 1 to 4 positive sizes ([F], [C, L], "
                             f"[C, H, W] or [C, D, H, W]), got {list(shape)}", decl.shape.span)
        try:
            check_shape(shape)
        except LayerError as exc:
            raise self.error(f"input '{decl.name}': {exc.message.replace('the output shape', 'shape')}",
                             decl.shape.span, kind=LimitError) from None
        tensor = self.add_node(Input(tuple(shape)), (), decl.span, decl.name, root=True)
        self.graph.graph["inputs"][decl.name] = tensor.node
        return tensor

    def finish(self, net: ast.BlockDef, result: Any, last: ast.Node | None) -> nx.MultiDiGraph:
        if not isinstance(result, Tensor):
            where = last.span if last is not None else net.span
            raise self.error(f"network '{net.name}' must end with an expression that gives a "
                             f"tensor (its output), got {value_type(result) if result is not None else 'nothing'}",
                             where)
        self.graph.graph["outputs"] = [result.node]
        self.check_reachability(result.node)
        return fill_graph(self.graph, self.nodes, self.edges)

    def check_reachability(self, output: str) -> None:
        """Every node must feed the output (walk the inputs backwards from it)."""
        live = {output}
        for node, data in reversed(self.nodes):
            if node in live:
                live.update(data["inputs"])
        for node, data in self.nodes:
            if node not in live:
                raise self.error(f"'{node}' is computed but never reaches the network's output",
                                 data["span"], self.scope_notes(data["block"]))

    def scope_notes(self, block_path: str) -> list[Note]:
        """Where the block calls on a node's path were made (outermost first)."""
        parts = block_path.split(".") if block_path else []
        notes = []
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in self.scope_spans:
                notes.append(Note(f"'{prefix}' is the block call here", self.scope_spans[prefix]))
        return notes

    # --------------------------------------------------------------- statements
    def statement(self, st: ast.Node, env: Env, cur: Tensor | None, result: Any,
                  last: ast.Node | None) -> tuple[Any, ast.Node | None]:
        if result is not None and last is not None and isinstance(last, ast.ExprStmt):
            raise self.error("this expression's value is never used: only the last expression of "
                             "a body is its result (name it with `x = ...` to use it later)",
                             last.span)
        if isinstance(st, ast.Assign):
            if st.name in ("in",) or st.name in BUILTINS:
                raise self.error(f"'{st.name}' is reserved and cannot be assigned", st.span)
            env.vars[st.name] = self.eval_named(st.value, env, cur, st.name)
            return None, st
        if isinstance(st, ast.InputDecl):
            raise self.error("inputs are declared in networks, not in blocks", st.span)
        return self.eval(st.expr, env, cur), st

    def run_body(self, body: ast.Body, env: Env, cur: Tensor | None) -> Any:
        """Run a body's statements; its value is that of its last expression."""
        result, last = None, None
        for st in body.statements:
            result, last = self.statement(st, env, cur, result, last)
        if not isinstance(last, ast.ExprStmt):
            raise self.error("this body gives no value: its last statement must be an expression",
                             (last or body).span)
        return result

    def eval_named(self, e: ast.Node, env: Env, cur: Tensor | None, hint: str) -> Any:
        """Evaluate an assignment's value; a single call takes the variable's name."""
        if isinstance(e, ast.Call):
            return self._call(e, env, cur, hint)
        if isinstance(e, ast.Name) and env.lookup(e.id) is MISSING:
            return self.apply(e.id, e, e.span, (), (), env, cur, hint)
        return self.eval(e, env, cur)

    # -------------------------------------------------------------- expressions
    def eval(self, e: ast.Node, env: Env, cur: Tensor | None) -> Any:
        """The value of an expression; calls of layers and blocks apply to `cur`."""
        return self.dispatch[type(e)](e, env, cur)

    def _literal(self, e: ast.Literal, env: Env, cur: Tensor | None) -> Any:
        return e.value

    def _input_ref(self, e: ast.InputRef, env: Env, cur: Tensor | None) -> Any:
        value = env.lookup("in")
        if value is MISSING or value is None:
            raise self.error("'in' has no value here: there is no single input to refer to "
                             "(a block called without one, a network parameter, or a network "
                             "with several inputs: name the input instead)", e.span)
        return value

    def _name(self, e: ast.Name, env: Env, cur: Tensor | None) -> Any:
        value = env.lookup(e.id)
        if value is not MISSING:
            return value
        return self.apply(e.id, e, e.span, (), (), env, cur, None)

    def _list(self, e: ast.ListExpr, env: Env, cur: Tensor | None) -> list:
        return [self.eval(item, env, None) for item in e.items]

    def _index(self, e: ast.Index, env: Env, cur: Tensor | None) -> Any:
        target = self.eval(e.target, env, None)
        index = self.eval(e.index, env, None)
        if not isinstance(target, list):
            raise self.error(f"cannot index {value_type(target)} {show_value(target)}", e.target.span)
        if not _is_int(index):
            raise self.error(f"a list index must be an integer, got {show_value(index)}", e.index.span)
        if not -len(target) <= index < len(target):
            raise self.error(f"index {index} is out of range for a list of {len(target)}",
                             e.index.span)
        return target[index]

    def _attr(self, e: ast.Attr, env: Env, cur: Tensor | None) -> Any:
        target = self.eval(e.target, env, None)
        if not isinstance(target, Tensor):
            raise self.error(f"{value_type(target)} {show_value(target)} has no attribute "
                             f"'{e.name}'", e.span)
        value = tensor_attribute(target, e.name)
        if value is None:
            others = [a for a in TENSOR_ATTRIBUTES if a != e.name]
            raise self.error(f"a tensor of shape {list(target.shape)} has no '{e.name}'"
                             f"{suggest(e.name, others)}", e.span)
        return value

    def _unary(self, e: ast.Unary, env: Env, cur: Tensor | None) -> Any:
        value = self.eval(e.operand, env, None)
        if e.op == "not":
            return not self.truth(value, e.operand.span)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"cannot negate {value_type(value)} {show_value(value)}", e.span)
        return -value

    def _binary(self, e: ast.Binary, env: Env, cur: Tensor | None) -> Any:
        if e.op in ("and", "or"):
            left = self.truth(self.eval(e.left, env, None), e.left.span)
            if left == (e.op == "or"):
                return left
            return self.truth(self.eval(e.right, env, None), e.right.span)
        left, right = self.eval(e.left, env, None), self.eval(e.right, env, None)
        try:
            return BINARY[e.op](left, right)
        except ValueError_ as exc:
            raise self.error(str(exc), e.span) from None

    def truth(self, value: Any, span: Span) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"expected true or false, got {value_type(value)} "
                             f"{show_value(value)}", span)
        return value

    def _chain(self, e: ast.Chain, env: Env, cur: Tensor | None) -> Any:
        value = self.eval(e.steps[0], env, cur)
        for step in e.steps[1:]:
            if not isinstance(value, Tensor):
                raise self.error(f"'->' needs a tensor on its left, got {value_type(value)} "
                                 f"{show_value(value)}", step.span)
            value = self.step(step, env, value)
        return value

    def step(self, e: ast.Node, env: Env, cur: Tensor) -> Any:
        """A chain step: it must take `cur` as its input (not name another value)."""
        if isinstance(e, ast.Name):
            bound = env.lookup(e.id)
            if bound is not MISSING:
                raise self.error(f"'{e.id}' is a {value_type(bound)}, not a layer or block: it "
                                 "cannot take an input", e.span)
        elif isinstance(e, (ast.Literal, ast.InputRef, ast.ListExpr, ast.Binary, ast.Unary,
                            ast.Index, ast.Attr)):
            raise self.error("a chain step must be a layer, a block, a merge, or "
                             "if/for/repeat", e.span)
        elif isinstance(e, ast.Chain):
            for sub in e.steps:
                cur = self.step(sub, env, cur)
            return cur
        elif isinstance(e, ast.Call) and e.name not in self.blocks and (
                e.name in BUILTINS or e.name in ("assert", "fail")):
            raise self.error(f"{e.name}() is a function of values, not a layer: it cannot be "
                             "a chain step", e.name_span)
        return self.eval(e, env, cur)

    def _if(self, e: ast.If, env: Env, cur: Tensor | None) -> Any:
        # Applied to a tensor, an `if` (its condition and its bodies) sees it as `in`.
        if cur is not None:
            env = Env(env, {"in": cur})
        chosen = e.then if self.truth(self.eval(e.condition, env, None), e.condition.span) \
            else e.otherwise
        return self.eval(chosen, env, cur)

    def _body_value(self, e: ast.Body, env: Env, cur: Tensor | None) -> Any:
        return self.run_body(e, Env(env), cur)

    def _for(self, e: ast.For, env: Env, cur: Tensor | None) -> Any:
        items = self.eval(e.items, env, None)
        if not isinstance(items, list):
            raise self.error(f"'for' iterates over a list or range(), got {value_type(items)} "
                             f"{show_value(items)}", e.items.span)
        self.check_count(len(items), e.items.span)
        for item in items:
            cur = self.iteration(e.body, Env(env, {e.var: item, "in": cur}), cur, e.span)
        return cur

    def _repeat(self, e: ast.Repeat, env: Env, cur: Tensor | None) -> Any:
        count = self.eval(e.count, env, None)
        if not _is_int(count) or count < 0:
            raise self.error(f"repeat() takes a count of 0 or more, got {show_value(count)}",
                             e.count.span)
        self.check_count(count, e.count.span)
        for _ in range(count):
            cur = self.iteration(e.body, Env(env, {"in": cur}), cur, e.span)
        return cur

    def iteration(self, body: ast.Body, env: Env, cur: Tensor | None, span: Span) -> Tensor:
        result = self.run_body(body, env, cur)
        if not isinstance(result, Tensor):
            raise self.error(f"a loop body must give a tensor, got {value_type(result)} "
                             f"{show_value(result)}", body.statements[-1].span)
        return result

    def check_count(self, count: int, span: Span) -> None:
        if count > MAX_REPEAT:
            raise self.error(f"a loop of {count} iterations is past the limit of {MAX_REPEAT}",
                             span, kind=LimitError)

    # -------------------------------------------------------------------- calls
    def _call(self, e: ast.Call, env: Env, cur: Tensor | None, hint: str | None = None) -> Any:
        if e.name in ("assert", "fail") and e.name not in self.blocks:
            return self.check(e, env)
        if e.name in BUILTINS and e.name not in self.blocks:
            args = [self.eval(a, env, None) for a in e.args]
            if e.kwargs:
                raise self.error(f"{e.name}() takes no keyword arguments", e.kwargs[0].span)
            try:
                return BUILTINS[e.name](*args)
            except ValueError_ as exc:
                raise self.error(str(exc), e.span) from None
        return self.apply(e.name, e, e.name_span, e.args, e.kwargs, env, cur, hint)

    def check(self, e: ast.Call, env: Env) -> None:
        """`assert(condition, "message")` and `fail("message")`: a spec's own checks."""
        values = [self.eval(a, env, None) for a in e.args]
        wanted = 2 if e.name == "assert" else 1
        if len(values) != wanted or e.kwargs or not isinstance(values[-1], str):
            usage = 'assert(condition, "message")' if e.name == "assert" else 'fail("message")'
            raise self.error(f"{e.name}() is called as {usage}", e.span)
        if e.name == "fail" or not self.truth(values[0], e.args[0].span):
            raise self.error(values[-1], e.span)
        return None

    def apply(self, name: str, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
              kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
              hint: str | None) -> Any:
        """Call a block or a layer (or `identity`) on `cur`."""
        block = self.blocks.get(name)
        if block is not None:
            return self.call_block(block, e, name_span, args, kwargs, env, cur, hint)
        if name == "identity":
            if args or kwargs:
                raise self.error("identity takes no arguments", name_span)
            return self.need_input(cur, name, name_span)
        spec = REGISTRY.get(name)
        if spec is not None:
            return self.call_layer(spec, e, name_span, args, kwargs, env, cur, hint)
        if env.lookup(name) is not MISSING:
            raise self.error(f"'{name}' is a {value_type(env.lookup(name))}, not a block or layer; "
                             "it cannot be called", name_span)
        known = [*self.blocks, *REGISTRY, *BUILTINS, "assert", "fail", *env.names()]
        raise self.error(f"unknown name '{name}'{suggest(name, known)}", name_span)

    def need_input(self, cur: Tensor | None, name: str, span: Span) -> Tensor:
        if cur is None:
            raise self.error(f"{name} has no input here: start the chain from a tensor "
                             f"(for example `image -> {name}`)", span)
        return cur

    def call_layer(self, spec: LayerSpec, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
                   kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
                   hint: str | None) -> Tensor:
        keywords = self.keyword_values(kwargs, env)
        if spec.signature.variadic_inputs:
            if len(args) < 2:
                raise self.error(f"{spec.name}() needs at least two branches, got {len(args)}",
                                 name_span)
            # each branch is applied to the merge's input, which it sees as `in`
            branch_env = Env(env, {"in": cur}) if cur is not None else env
            inputs = [self.branch(a, branch_env, cur, spec.name) for a in args]
            positional: list[Any] = []
        else:
            inputs = [self.need_input(cur, spec.name + "()", name_span)]
            positional = [self.argument(a, env) for a in args]
        shapes = tuple(t.shape for t in inputs)
        try:
            layer = create(spec, positional, keywords, shapes)
        except LayerError as exc:
            raise self.layer_error(exc, spec, name_span, args, kwargs, shapes) from None
        return self.add_node(layer, inputs, name_span, hint)

    def branch(self, e: ast.Node, env: Env, cur: Tensor | None, merge: str) -> Tensor:
        value = self.eval(e, env, cur)
        if not isinstance(value, Tensor):
            raise self.error(f"a branch of {merge}() must give a tensor, got {value_type(value)} "
                             f"{show_value(value)}", e.span)
        return value

    def argument(self, e: ast.Node, env: Env) -> Any:
        value = self.eval(e, env, None)
        if isinstance(value, Tensor):
            raise self.error("a layer argument must be a number, word or list, not a tensor "
                             f"(did you mean {_source_hint(e)}.channels?)", e.span)
        return value

    def keyword_values(self, kwargs: Sequence[ast.Keyword], env: Env) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for kw in kwargs:
            if kw.name in values:
                raise self.error(f"argument '{kw.name}' is given twice", kw.span)
            values[kw.name] = self.argument(kw.value, env)
        return values

    def layer_error(self, exc: LayerError, spec: LayerSpec, name_span: Span,
                    args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword],
                    shapes: tuple[Shape, ...]) -> NetdslError:
        span = name_span
        if exc.arg is not None:
            for kw in kwargs:
                if kw.name == exc.arg:
                    span = kw.span
            names = spec.signature.names()
            if spec.signature.variadic_inputs:
                names = []
            for i, a in enumerate(args):
                if i < len(names) and names[i] == exc.arg or exc.arg == f"#{i}":
                    span = a.span
        notes = []
        if spec.signature.variadic_inputs and len(args) > 1:
            notes = [Note(f"branch {i + 1} gives {list(shape)}", a.span)
                     for i, (a, shape) in enumerate(zip(args, shapes))]
        message = exc.message if exc.message.startswith(spec.name) else f"{spec.name}(): {exc.message}"
        return self.error(message, span, notes)

    def call_block(self, block: ast.BlockDef, e: ast.Node, name_span: Span,
                   args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
                   cur: Tensor | None, hint: str | None) -> Any:
        if len(self.frames) >= MAX_CALL_DEPTH:
            raise self.error(f"block calls are nested more than {MAX_CALL_DEPTH} deep "
                             f"(is '{block.name}' recursive?)", name_span, kind=LimitError)
        inner = Env(self.globals, {"in": cur})
        self.bind_block_args(block, name_span, args, kwargs, env, inner)
        outer_scope = self.scope
        scope_path = outer_scope.fresh(block.name, hint)
        self.scope_spans[scope_path] = name_span
        bound = dict(inner.vars)  # the body's assignments add to inner.vars; keep the inputs
        key = memo.call_key(block, bound)
        template = self.program.templates.get(key) if key is not None else None
        if template is not None and len(self.frames) + template.depth < MAX_CALL_DEPTH:
            self.check_room(len(template.nodes), name_span)
            return memo.instantiate(template, scope_path, bound, self.nodes, self.edges)
        start, entry_depth, deepest = len(self.nodes), len(self.frames), self.deepest
        self.scope = Scope(scope_path)
        self.frames.append(_Frame(block.name, name_span))
        self.deepest = len(self.frames)
        outer_blocks, self.blocks = self.blocks, self.program.namespaces[block.span.file]
        try:
            result = self.run_body(block.body, inner, cur)
        finally:
            self.frames.pop()
            self.scope, self.blocks = outer_scope, outer_blocks
            depth, self.deepest = self.deepest - entry_depth, max(deepest, self.deepest)
        if key is not None:
            template = memo.record(scope_path, self.nodes[start:], result, bound, depth)
            if template is not None:
                if len(self.program.templates) >= MAX_TEMPLATES:
                    self.program.templates.clear()
                self.program.templates[key] = template
        return result

    def check_room(self, count: int, span: Span) -> None:
        """Raise when adding `count` nodes would pass the node limit."""
        if len(self.nodes) + count > MAX_NODES:
            raise self.error(f"the network has more than {MAX_NODES} layers (the limit)", span,
                             kind=LimitError)

    def bind_block_args(self, block: ast.BlockDef, name_span: Span, args: Sequence[ast.Node],
                        kwargs: Sequence[ast.Keyword], env: Env, inner: Env) -> None:
        params = block.params
        if len(args) > len(params):
            raise self.error(f"{block.name}() takes {len(params)} argument(s), got {len(args)}",
                             args[len(params)].span, [Note(f"'{block.name}' is defined here",
                                                           block.span)])
        given: dict[str, tuple[Any, Span]] = {}
        for param, a in zip(params, args):
            given[param.name] = (self.eval(a, env, None), a.span)
        names = [p.name for p in params]
        for kw in kwargs:
            if kw.name not in names:
                raise self.error(f"{block.name}() has no parameter '{kw.name}'"
                                 f"{suggest(kw.name, names)}", kw.span,
                                 [Note(f"'{block.name}' is defined here", block.span)])
            if kw.name in given:
                raise self.error(f"{block.name}() got parameter '{kw.name}' twice", kw.span)
            given[kw.name] = (self.eval(kw.value, env, None), kw.value.span)
        for param in params:
            if param.name in given:
                value, span = given[param.name]
            elif param.default is not None:
                value, span = self.eval(param.default, inner, None), param.default.span
            else:
                raise self.error(f"{block.name}() is missing its argument '{param.name}'",
                                 name_span, [Note(f"'{block.name}' is defined here", block.span)])
            inner.vars[param.name] = self.check_type(param, value, span)

    # -------------------------------------------------------------------- graph
    def add_node(self, layer: Any, inputs: Sequence[Tensor], span: Span, hint: str | None,
                 root: bool = False) -> Tensor:
        # Nodes and edges are collected here and added to the graph in bulk at the end.
        self.check_room(1, span)
        name = self.scope.fresh(layer.op, hint)
        preds = tuple(t.node for t in inputs)
        self.nodes.append((name, {"layer": layer, "span": span, "block": self.scope.path,
                                  "inputs": preds}))
        self.edges.extend((p, name, position) for position, p in enumerate(preds))
        return Tensor(name, layer.out_shape)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_type(value: Any, declared: str) -> bool:
    if declared in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, PARAM_TYPES[declared])


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _source_hint(e: ast.Node) -> str:
    return e.id if isinstance(e, ast.Name) else "in"


__all__ = ["MAX_LIST", "Override", "elaborate", "select_network"]
