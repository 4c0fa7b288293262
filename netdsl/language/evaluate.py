"""The evaluator: expressions, statements and bodies, interpreted over the syntax tree.

Scalars are Python values; tensors are `Tensor`s naming the node that made them. Calls
(netdsl/language/calls.py) add nodes and open block scopes; shapes are known as nodes
are added, which is what lets blocks read `in.channels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.errors import LimitError, NetdslError, Note, Span
from netdsl.language import syntax as ast
from netdsl.language.calls import Calls
from netdsl.language.choices import (
    DomainError,
    fit,
    make_domain,
    show_domain,
)
from netdsl.language.context import Context
from netdsl.language.decisions import Decision, Domain
from netdsl.language.display import suggest
from netdsl.language.resolve import BLOCK, BUILTIN, CHECK, DECISION, LAYER, LOCAL
from netdsl.language.values import (
    BINARY,
    BUILTINS,
    MAX_REPEAT,
    MISSING,
    PARAM_TYPES,
    TENSOR_ATTRIBUTES,
    Callee,
    Env,
    Tensor,
    ValueError_,
    article,
    is_int,
    is_type,
    show_value,
    tensor_attribute,
    value_type,
)

#: Callees that are functions of values, not layers: they cannot be chain steps.
VALUE_FUNCTIONS = (BUILTIN, CHECK, DECISION)


class Evaluator(Calls):
    """Interprets bodies and expressions; collects nodes and edges for the graph."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.names = ctx.names
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
        for i in range(len(self.ctx.frames) - 1, -1, -1):
            caller = f"'{self.ctx.frames[i - 1].block}'" if i > 0 else f"network '{self.ctx.network.name}'"
            note = Note(f"in block '{self.ctx.frames[i].block}' called from {caller}", self.ctx.frames[i].span)
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

    def check_declared_type(self, param: ast.Param) -> None:
        if param.type is not None and param.type not in PARAM_TYPES:
            raise self.error(f"unknown type '{param.type}' for parameter '{param.name}' (types: "
                             f"{', '.join(PARAM_TYPES)}){suggest(param.type, list(PARAM_TYPES))}",
                             param.span)

    def check_type(self, param: ast.Param, value: Any, span: Span) -> Any:
        if param.type is None:
            return value
        self.check_declared_type(param)
        if not is_type(value, param.type):
            raise self.error(f"parameter '{param.name}' is {article(param.type)} {param.type}, "
                             f"got {value_type(value)} {show_value(value)}", span,
                             [Note(f"'{param.name}' is declared here", param.span)])
        return float(value) if param.type == "float" else value

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
        if self.is_decision(e):
            return self.decision(e, env, self.ctx.scope.prefix, hint)
        if isinstance(e, ast.Call):
            return self._call(e, env, cur, hint)
        if isinstance(e, ast.Name):
            return self._name(e, env, cur, hint)
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

    def _name(self, e: ast.Name, env: Env, cur: Tensor | None, hint: str | None = None) -> Any:
        target = self.names[e]
        if target.kind is not LOCAL:  # a block or a layer (or identity): apply it to `cur`
            return self.apply(target, e, e.id, e.span, (), (), env, cur, hint)
        value = env.lookup(e.id)
        if type(value) is Callee and cur is not None:  # a block or layer passed as a value
            return self.apply_callee(value, e, e.span, (), (), env, cur, hint)
        return value

    def value_of(self, e: ast.Node, env: Env) -> Any:
        """An argument's value: a bare block or layer name is passed as a value (`act =
        relu`), to be applied where the block it is passed to uses it."""
        if type(e) is ast.Name:
            target = self.names[e]
            if target.kind is BLOCK or target.kind is LAYER:
                return Callee(e.id, target.kind, target.ref)
        return self.eval(e, env, None)

    def _list(self, e: ast.ListExpr, env: Env, cur: Tensor | None) -> list:
        return [self.eval(item, env, None) for item in e.items]

    def _index(self, e: ast.Index, env: Env, cur: Tensor | None) -> Any:
        target = self.eval(e.target, env, None)
        index = self.eval(e.index, env, None)
        if not isinstance(target, list):
            raise self.error(f"cannot index {value_type(target)} {show_value(target)}", e.target.span)
        if not is_int(index):
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
            bound = env.lookup(e.id) if self.names[e].kind is LOCAL else MISSING
            if bound is not MISSING and type(bound) is not Callee:
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
        elif isinstance(e, ast.Call) and self.names[e].kind in VALUE_FUNCTIONS:
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
        if not is_int(count) or count < 0:
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

    # ---------------------------------------------------------------- decisions
    def is_decision(self, e: ast.Node) -> bool:
        """Whether `e` is a decision expression (`choice(...)` and the like)."""
        return type(e) is ast.Call and self.names[e].kind is DECISION

    def decision_parts(self, e: ast.Call, env: Env) -> tuple[Domain, Any, str | None]:
        """A decision call's domain, default and `name =` (None when not given)."""
        args = [self.eval(a, env, None) for a in e.args]
        keywords: dict[str, Any] = {}
        spans: dict[str | int, Span] = {i: a.span for i, a in enumerate(e.args)}
        for kw in e.kwargs:
            if kw.name in keywords:
                raise self.error(f"argument '{kw.name}' is given twice", kw.span)
            keywords[kw.name] = self.eval(kw.value, env, None)
            spans[kw.name] = kw.value.span
        default_given = "default" in keywords
        default, name = keywords.pop("default", None), keywords.pop("name", None)
        try:
            domain = make_domain(e.name, args, keywords)
        except DomainError as exc:
            raise self.error(exc.message, spans.get(exc.arg, e.span)) from None
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise self.error(f"a decision's name is a word like \"kernel\", got {show_value(name)}",
                             spans["name"])
        if not default_given:
            return domain, domain.first(), name
        default = fit(domain, default)
        if not domain.contains(default):
            raise self.error(f"the default {show_value(default)} is not in {show_domain(domain)}",
                             spans["default"])
        return domain, default, name

    def decision(self, e: ast.Call, env: Env, prefix: str, var: str | None) -> Any:
        """The value of a decision taken under `prefix` (a block path and a dot, or "")."""
        domain, default, name = self.decision_parts(e, env)
        if name is None and var is None:
            raise self.error(f"this {e.name}() has no name: assign it to a variable (`kernel = "
                             f"{e.name}(...)`), make it a parameter's default, or name it with "
                             f'{e.name}(..., name = "kernel")', e.span)
        return self.ask(Decision(prefix + (name or var or ""), domain, default, e.span))

    def ask(self, decision: Decision) -> Any:
        """The value of a reached decision: asked of the source once, checked, recorded."""
        known = self.ctx.decided.get(decision.name)
        if known is not None:
            if known[0].domain != decision.domain:
                raise self.error(f"decision '{decision.name}' is reached again with another "
                                 f"domain, {show_domain(decision.domain)}", decision.span,
                                 [Note(f"first reached with {show_domain(known[0].domain)}",
                                       known[0].span)])
            return known[1]
        value = fit(decision.domain, self.ctx.source.decide(decision))
        if not decision.domain.contains(value):
            raise self.error(f"decision '{decision.name}' is given {show_value(value)}, which is "
                             f"not in {show_domain(decision.domain)}", decision.span)
        self.ctx.decided[decision.name] = (decision, value)
        self.ctx.reached.append((decision, value))
        return value

    # -------------------------------------------------------------------- graph
    def add_node(self, layer: Any, inputs: Sequence[Tensor], span: Span, hint: str | None,
                 root: bool = False) -> Tensor:
        # Nodes and edges are collected here and added to the graph in bulk at the end.
        self.check_room(1, span)
        name = self.ctx.scope.fresh(layer.op, hint)
        preds = tuple(t.node for t in inputs)
        self.ctx.nodes.append((name, {"layer": layer, "span": span, "block": self.ctx.scope.path,
                                  "inputs": preds}))
        self.ctx.edges.extend((p, name, position) for position, p in enumerate(preds))
        return Tensor(name, layer.out_shape)


