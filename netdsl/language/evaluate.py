"""The evaluator: expressions, statements and bodies, interpreted over the syntax tree.

Scalars are Python values; tensors are `Tensor`s naming the node that made them. Calls
(netdsl/language/calls.py) add nodes and open block scopes; shapes are known as nodes
are added, which is what lets blocks read `in.channels`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from netdsl.errors import Diagnostic, LimitError, NetdslError, Note, Span
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
from netdsl.language.memo import freeze
from netdsl.language.resolve import BLOCK, BUILTIN, CHECK, DECISION, LAYER, LOCAL
from netdsl.language.values import (
    BINARY,
    BUILTINS,
    MAX_NODES,
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
from netdsl.layers import REGISTRY

#: (decision, value) pairs a program keeps for sharing (`Evaluator.kept_read`); past
#: it, they are forgotten and made anew.
MAX_KEPT_READS = 100_000

#: Callees that are functions of values, not layers: they cannot be chain steps.
VALUE_FUNCTIONS = (BUILTIN, CHECK, DECISION)


class _IfEnv(Env):
    """The scope of an `if` applied to a tensor whose shape differs from the enclosing
    `in`: reading `in` there warns (see `Evaluator.warn_in_rebound`)."""

    __slots__ = ("outer", "where")

    def __init__(self, parent: Env, values: dict[str, Any], outer: Tensor, where: Span) -> None:
        super().__init__(parent, values)
        self.outer, self.where = outer, where


class Evaluator(Calls):
    """Interprets bodies and expressions; collects nodes and edges for the graph."""

    dispatch: ClassVar[dict[type, Callable[..., Any]]]  # the evaluator of each kind of expression (below)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.names = ctx.names  # what each Name and Call refers to: self.names[node]
        self.targets = ctx.names.targets  # the same by id(node), for the hot paths

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
        if result is not None and last is not None and type(last) is ast.ExprStmt:
            raise self.error("this expression's value is never used: only the last expression of "
                             "a body is its result (name it with `x = ...` to use it later)",
                             last.span)
        kind = type(st)
        if kind is ast.ExprStmt:  # the most common statement first
            expr = st.expr
            return self.dispatch[type(expr)](self, expr, env, cur), st
        if kind is ast.Assign:
            if st.name in ("in",) or st.name in BUILTINS:
                raise self.error(f"'{st.name}' is reserved and cannot be assigned", st.span)
            env.vars[st.name] = self.eval_named(st.value, env, cur, st.name)
            return None, st
        if isinstance(st, ast.Unpack):
            self.unpack(st, env, cur)
            return None, st
        if isinstance(st, ast.Defaults):
            self.set_defaults(st, env)
            return None, st
        if isinstance(st, ast.InputDecl):
            raise self.error("inputs are declared in networks, not in blocks", st.span)
        if isinstance(st, ast.OutputDecl):
            if self.ctx.frames or env.parent is not self.ctx.globals:
                raise self.error("outputs are declared at the top level of a network body, "
                                 "not in blocks nor inside braces", st.span)
            return None, st
        if isinstance(st, ast.Require):
            raise self.error("`require` constrains a whole network: write it in the network's "
                             "body, not in a block", st.span)
        return self.eval(st.expr, env, cur), st

    def unpack(self, st: ast.Unpack, env: Env, cur: Tensor | None) -> None:
        """`a, b = expr`: a list of exactly as many items; a single call names its parts."""
        for name in st.names:
            if name in BUILTINS:
                raise self.error(f"'{name}' is reserved and cannot be assigned", st.span)
        if len(set(st.names)) != len(st.names):
            raise self.error("a name is bound twice in one destructuring", st.span)
        if isinstance(st.value, ast.Call):
            value = self._call(st.value, env, cur, st.names)
        else:
            value = self.eval(st.value, env, cur)
        if not isinstance(value, list) or len(value) != len(st.names):
            got = (f"a list of {len(value)}" if isinstance(value, list)
                   else f"{value_type(value)} {show_value(value)}")
            raise self.error(f"{len(st.names)} names need a list of {len(st.names)} items, "
                             f"got {got}", st.value.span)
        for name, item in zip(st.names, value):
            env.vars[name] = item

    def set_defaults(self, st: ast.Defaults, env: Env) -> None:
        """`defaults layer(key = value)`: from here to the end of the body, and in every
        block called from there, the layer's arguments default to these values."""
        spec = REGISTRY.get(st.name)
        if spec is None or st.name in self.ctx.program.blocks:
            what = "a block" if st.name in self.ctx.program.blocks else "not a layer"
            raise self.error(f"defaults are for layers; '{st.name}' is {what}"
                             f"{suggest(st.name, list(REGISTRY)) if spec is None else ''}",
                             st.name_span)
        if st.args:
            raise self.error(f"defaults take keyword arguments only: `defaults {st.name}"
                             "(name = value)`", st.args[0].span)
        if not st.kwargs:
            raise self.error(f"defaults {st.name}() sets nothing: give keyword arguments",
                             st.name_span)
        names = spec.signature.names()
        values = dict(self.ctx.layer_defaults.get(st.name, {}))
        given: set[str] = set()
        for kw in st.kwargs:
            if kw.name not in names or spec.signature.variadic_inputs and kw.name != "axis":
                raise self.error(f"{st.name}() has no argument '{kw.name}'"
                                 f"{suggest(kw.name, names)}", kw.span)
            if kw.name in given:
                raise self.error(f"argument '{kw.name}' is given twice", kw.span)
            given.add(kw.name)
            values[kw.name] = self.argument(kw.value, env)
        self.ctx.layer_defaults = {**self.ctx.layer_defaults, st.name: values}

    def run_body(self, body: ast.Body, env: Env, cur: Tensor | None) -> Any:
        """Run a body's statements; its value is that of its last expression."""
        saved_defaults = self.ctx.layer_defaults  # `defaults` statements end with their body
        try:
            return self._run_statements(body, env, cur)
        finally:
            self.ctx.layer_defaults = saved_defaults

    def _run_statements(self, body: ast.Body, env: Env, cur: Tensor | None) -> Any:
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
        return self.dispatch[type(e)](self, e, env, cur)

    def _literal(self, e: ast.Literal, env: Env, cur: Tensor | None) -> Any:
        return e.value

    def _input_ref(self, e: ast.InputRef, env: Env, cur: Tensor | None) -> Any:
        value = env.lookup("in")
        binder: Env | None = env
        while binder is not None and "in" not in binder.vars:
            binder = binder.parent
        if isinstance(binder, _IfEnv):
            self.warn_in_rebound(e, binder)
        if value is MISSING or value is None:
            raise self.error("'in' has no value here: there is no single input to refer to "
                             "(a block called without one, a network parameter, or a network "
                             "with several inputs: name the input instead)", e.span)
        return value

    def warn_in_rebound(self, e: ast.InputRef, binder: _IfEnv) -> None:
        """The RegNet trap: inside `-> if ... { }`, `in` is the value on the left of the
        arrow, not the enclosing input, and here the two differ in shape."""
        ctx = self.ctx
        if e.span in ctx.warned:
            return
        ctx.warned.add(e.span)
        cur = binder.vars["in"]
        where = "the block's input" if ctx.frames else "the network's input"
        ctx.warnings.append(Diagnostic(
            f"here `in` is the value on the left of `->` ({list(cur.shape)}), not {where} "
            f"({list(binder.outer.shape)}): inside `-> if` braces `in` changes meaning; name the "
            "value you mean (`x = in` before the chain, or `y = ...` for the left side) and use "
            "the name", e.span, [Note("the `if` applied to that value", binder.where),
                                 *self.call_notes()]))

    def _name(self, e: ast.Name, env: Env, cur: Tensor | None, hint: str | None = None) -> Any:
        target = self.targets[id(e)]
        if target.kind is not LOCAL:  # a block or a layer (or identity): apply it to `cur`
            return self.apply(target, e, e.id, e.span, (), (), env, cur, hint)
        value = env.lookup(e.id)
        if type(value) is Callee and cur is not None:  # a block or layer passed as a value
            return self.apply_callee(value, e, e.span, (), (), env, cur, hint)
        return value

    def value_of(self, e: ast.Node, env: Env) -> Any:
        """An argument's or a list item's value: a bare block or layer name is passed as a
        value (`act = relu`), to be applied where the block it is passed to uses it; so is
        the branch an `if` chooses (`act = if se { hardswish } else { relu }`)."""
        kind = type(e)
        if kind is ast.Literal:
            return e.value
        if kind is ast.If:
            return self.chosen_value(e, env)
        if kind is ast.Name:
            target = self.targets[id(e)]
            if target.kind is LOCAL:  # `_name` without a current input: the value
                return env.lookup(e.id)
            if target.kind is BLOCK or target.kind is LAYER:
                return Callee(e.id, target.kind, target.ref)
        elif kind is ast.Call:  # a layer given some arguments: `batchnorm(eps = 0.001)`
            target = self.targets[id(e)]
            if target.kind is LAYER:
                return self.partial_layer(target.ref, e.name, e, env)
            if target.kind is LOCAL:
                value = env.lookup(e.name)
                if type(value) is Callee and value.kind == "layer":
                    return self.partial_layer(value.ref, e.name, e, env, value)
        return self.eval(e, env, None)

    def branch(self, e: ast.If, env: Env) -> ast.Node:
        """The branch an `if` takes (a body, or the `if` of an `else if`)."""
        return e.then if self.truth(self.eval(e.condition, env, None), e.condition.span) \
            else e.otherwise

    def chosen_value(self, e: ast.If, env: Env) -> Any:
        """The value of the branch an `if` in argument position takes: a branch that is a
        single expression is a value like an argument (a bare layer name is not applied)."""
        chosen = self.branch(e, env)
        if type(chosen) is ast.If:
            return self.chosen_value(chosen, env)
        statements = chosen.statements
        if len(statements) == 1 and type(statements[0]) is ast.ExprStmt:
            return self.value_of(statements[0].expr, Env(env))
        return self.eval(chosen, env, None)

    def _list(self, e: ast.ListExpr, env: Env, cur: Tensor | None) -> list:
        # Items are values, as arguments are: `[relu, hardswish]` is a list of two layers.
        return [self.value_of(item, env) for item in e.items]

    def _comprehension(self, e: ast.Comprehension, env: Env, cur: Tensor | None) -> list:
        """`[item for var in items if condition]`: items evaluated in order, as list items
        (no current input: start a chain from a name, `[p -> relu for p in parts]`)."""
        items = self.structural_value(e.items, env)
        if not isinstance(items, list):
            raise self.error(f"a comprehension iterates over a list or range(), got "
                             f"{value_type(items)} {show_value(items)}", e.items.span)
        self.check_count(len(items), e.items.span)
        out = []
        for item in items:
            local = Env(env, {e.var: item})
            if e.condition is None or self.truth(self.eval(e.condition, local, None),
                                                 e.condition.span):
                out.append(self.eval(e.item, local, None))
        return out

    def _index(self, e: ast.Index, env: Env, cur: Tensor | None) -> Any:
        return self.take(e, self.eval(e.target, env, None), env)

    def take(self, e: ast.Index, target: Any, env: Env) -> Any:
        """`target[index]` with the target's value known."""
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
                hint = ""
                if isinstance(value, list) and value and all(isinstance(v, Tensor) for v in value):
                    hint = (f": a list of {len(value)} tensors; take one with [i] (`-> chunk(2)[0]`)"
                            " or name them (`a, b = ...`)")
                raise self.error(f"'->' needs a tensor on its left, got {value_type(value)} "
                                 f"{show_value(value)}{hint}", step.span)
            value = self.step(step, env, value)
        return value

    def step(self, e: ast.Node, env: Env, cur: Tensor) -> Any:
        """A chain step: it must take `cur` as its input (not name another value)."""
        if type(e) is ast.Call:  # the most common step: the last branch below
            if self.targets[id(e)].kind in VALUE_FUNCTIONS:
                raise self.error(f"{e.name}() is a function of values, not a layer: it cannot "
                                 "be a chain step", e.name_span)
            return self._call(e, env, cur)
        if isinstance(e, ast.Name):
            bound = env.lookup(e.id) if self.targets[id(e)].kind is LOCAL else MISSING
            if bound is not MISSING and type(bound) is not Callee:
                raise self.error(f"'{e.id}' is a {value_type(bound)}, not a layer or block: it "
                                 "cannot take an input", e.span)
        elif isinstance(e, ast.Index) and isinstance(e.target, (ast.Call, ast.Name)):
            # a step that gives several tensors, one of them taken: `x -> chunk(2)[1]`
            return self.take(e, self.step(e.target, env, cur), env)
        elif isinstance(e, (ast.Literal, ast.InputRef, ast.ListExpr, ast.Binary, ast.Unary,
                            ast.Index, ast.Attr)):
            raise self.error("a chain step must be a layer, a block, a merge, or "
                             "if/for/repeat", e.span)
        elif isinstance(e, ast.Chain):
            for sub in e.steps:
                cur = self.step(sub, env, cur)
            return cur
        elif isinstance(e, ast.Call) and self.targets[id(e)].kind in VALUE_FUNCTIONS:
            raise self.error(f"{e.name}() is a function of values, not a layer: it cannot be "
                             "a chain step", e.name_span)
        return self.eval(e, env, cur)

    def _if(self, e: ast.If, env: Env, cur: Tensor | None) -> Any:
        # Applied to a tensor, an `if` (its condition and its bodies) sees it as `in`.
        if cur is not None:
            outer = env.lookup("in")
            if isinstance(outer, Tensor) and outer.shape != cur.shape:
                env = _IfEnv(env, {"in": cur}, outer, e.span)  # `in` changes meaning here
            else:
                env = Env(env, {"in": cur})
        return self.eval(self.branch(e, env), env, cur)

    def _body_value(self, e: ast.Body, env: Env, cur: Tensor | None) -> Any:
        statements = e.statements
        if len(statements) == 1 and type(statements[0]) is ast.ExprStmt:
            # `{ expr }` (an `if` branch): what `run_body` gives, without its bookkeeping (a
            # lone expression sets no `defaults` and its value is the body's)
            expr = statements[0].expr
            return self.dispatch[type(expr)](self, expr, Env(env), cur)
        return self.run_body(e, Env(env), cur)

    def _for(self, e: ast.For, env: Env, cur: Tensor | None) -> Any:
        items = self.structural_value(e.items, env)
        if not isinstance(items, list):
            raise self.error(f"'for' iterates over a list or range(), got {value_type(items)} "
                             f"{show_value(items)}", e.items.span)
        self.check_count(len(items), e.items.span)
        for item in items:
            cur = self.iteration(e.body, Env(env, {e.var: item, "in": cur}), cur, e.span)
        return cur

    def _repeat(self, e: ast.Repeat, env: Env, cur: Tensor | None) -> Any:
        count = self.structural_value(e.count, env)
        if not is_int(count) or count < 0:
            raise self.error(f"repeat() takes a count of 0 or more, got {show_value(count)}",
                             e.count.span)
        self.check_count(count, e.count.span)
        for _ in range(count):
            cur = self.iteration(e.body, Env(env, {"in": cur}), cur, e.span)
        return cur

    def structural_value(self, e: ast.Node, env: Env, whole: bool = False) -> Any:
        """A value the elaboration's structure depends on: what a loop iterates over (its
        length), `repeat`'s count, an input's shape (`whole`: every item). A replay's
        recording guards it (netdsl/language/replay.py)."""
        return self.eval(e, env, None)

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
        return type(e) is ast.Call and self.targets[id(e)].kind is DECISION

    def decision_parts(self, e: ast.Call, env: Env) -> tuple[Domain, Any, str | None]:
        """A decision call's domain, default and `name =` (None when not given); kept for
        a call written with literal scalars alone, which every evaluation gives alike (a
        search space reaches each of its decisions once per candidate)."""
        known = self.ctx.program.decision_parts.get(id(e))
        if known is not None:
            return known
        parts = self._decision_parts(e, env)
        if _literal_scalars(e):
            self.ctx.program.decision_parts[id(e)] = parts
            self.ctx.program.kept_domains.add(id(parts[0]))
        return parts

    def _decision_parts(self, e: ast.Call, env: Env) -> tuple[Domain, Any, str | None]:
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
            self.ctx.reads.append(known)
            if known[0].domain != decision.domain:
                raise self.error(f"decision '{decision.name}' is reached again with another "
                                 f"domain, {show_domain(decision.domain)}", decision.span,
                                 [Note(f"first reached with {show_domain(known[0].domain)}",
                                       known[0].span)])
            return known[1]
        decision = self.kept_decision(decision)  # (the source may keep what it is asked)
        value = fit(decision.domain, self.ctx.source.decide(decision))
        if not decision.domain.contains(value):
            raise self.error(f"decision '{decision.name}' is given {show_value(value)}, which is "
                             f"not in {show_domain(decision.domain)}", decision.span)
        self.ctx.decided[decision.name] = read = self.kept_read(decision, value)
        self.ctx.reached.append(read)
        self.ctx.reads.append(read)
        return value

    # A decision whose domain the program keeps (`decision_parts`) is one `Decision` per
    # name, and one (decision, value) pair per value, shared by every elaboration. A
    # search keeps hundreds of candidates (a space's kept assignments, a user's list),
    # and these were 120 of the 140 objects a kept mnas_space candidate left for the
    # collector to rescan.
    def kept_decision(self, decision: Decision) -> Decision:
        """The program's own object for a reached decision, when it keeps one."""
        program = self.ctx.program
        if id(decision.domain) not in program.kept_domains:
            return decision
        if len(program.kept_reads) >= MAX_KEPT_READS:
            program.kept_reads.clear()
            program.kept_decisions.clear()
        return program.kept_decisions.setdefault((decision.name, id(decision.domain)), decision)

    def kept_read(self, decision: Decision, value: Any) -> tuple[Decision, Any]:
        """The (decision, value) pair a candidate keeps: the program's own for a kept
        decision (`kept_decision`)."""
        program = self.ctx.program
        if program.kept_decisions.get((decision.name, id(decision.domain))) is not decision:
            return (decision, value)
        try:
            key = (decision.name, id(decision.domain), freeze(value))
        except TypeError:
            return (decision, value)
        read = program.kept_reads.get(key)
        if read is None:
            read = program.kept_reads[key] = (decision, value)
        return read

    # -------------------------------------------------------------------- graph
    def add_node(self, layer: Any, inputs: Sequence[Tensor], span: Span, hint: str | None,
                 root: bool = False) -> Tensor:
        ctx = self.ctx
        if ctx.node_count >= MAX_NODES:
            self.check_room(1, span)
        scope = ctx.scope
        name = scope.fresh(layer.op, hint)
        preds = (inputs[0].node,) if len(inputs) == 1 else tuple(t.node for t in inputs)
        ctx.append_node(name, layer, span, scope.path, preds)
        return Tensor(name, layer.out_shape)


#: The evaluator of each kind of expression, called as `self.dispatch[type(e)](self, e,
#: env, cur)`. Plain functions, not a dict of bound methods on each evaluator: such a
#: dict makes a reference cycle, which kept each elaboration's context, nodes and graph
#: alive until the cyclic garbage collector found them (a thousand objects per ResNet-50).
_DISPATCH: dict[type, Callable[..., Any]] = {
    ast.Literal: Evaluator._literal, ast.Name: Evaluator._name,
    ast.InputRef: Evaluator._input_ref, ast.ListExpr: Evaluator._list,
    ast.Index: Evaluator._index, ast.Attr: Evaluator._attr, ast.Call: Evaluator._call,
    ast.Unary: Evaluator._unary, ast.Binary: Evaluator._binary, ast.Chain: Evaluator._chain,
    ast.If: Evaluator._if, ast.For: Evaluator._for, ast.Repeat: Evaluator._repeat,
    ast.Body: Evaluator._body_value, ast.Comprehension: Evaluator._comprehension,
}
Evaluator.dispatch = _DISPATCH  # a subclass that evaluates a kind otherwise has its own


def _literal_scalars(e: ast.Call) -> bool:
    """Whether every argument of a call is a literal or a list of literals (no list in a
    list: a value that could be changed is never shared)."""
    for value in (*e.args, *(kw.value for kw in e.kwargs)):
        if type(value) is ast.ListExpr:
            if not all(type(item) is ast.Literal for item in value.items):
                return False
        elif type(value) is not ast.Literal:
            return False
    return True
