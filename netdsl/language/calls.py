"""Calls: of layers (a node), of blocks (a scope, memoised), and of `assert`/`fail`.

A mixin of the evaluator (netdsl/language/evaluate.py): the methods here share its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.errors import LimitError, NetdslError, Note, Span
from netdsl.language import memo
from netdsl.language import syntax as ast
from netdsl.language.choices import same_value
from netdsl.language.decisions import Decision
from netdsl.language.display import layer_message, suggest
from netdsl.language.values import (
    BUILTINS,
    MAX_CALL_DEPTH,
    MAX_NODES,
    MISSING,
    Env,
    Scope,
    Tensor,
    ValueError_,
    show_value,
    value_type,
)
from netdsl.layers import REGISTRY, LayerError, LayerSpec, create
from netdsl.layers.base import Shape

#: Memoised block calls kept per loaded spec before the cache is cleared.
MAX_TEMPLATES = 20_000


class _Frame:
    """One active block call: for the notes of errors raised inside it."""

    __slots__ = ("block", "span")

    def __init__(self, block: str, span: Span) -> None:
        self.block, self.span = block, span


class Calls:
    """Calling layers and blocks (part of `Evaluator`)."""

    def _call(self, e: ast.Call, env: Env, cur: Tensor | None, hint: str | None = None) -> Any:
        if e.name in ("assert", "fail") and e.name not in self.blocks:
            return self.check(e, env)
        if self.is_decision(e):  # reached here, it is not what a name or parameter takes
            return self.decision(e, env, self.scope.prefix, None)
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
        message = layer_message(exc)
        if not message.startswith(spec.name):
            message = f"{spec.name}(): {message}"
        return self.error(message, span, notes)

    def call_block(self, block: ast.BlockDef, e: ast.Node, name_span: Span,
                   args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
                   cur: Tensor | None, hint: str | None) -> Any:
        if len(self.frames) >= MAX_CALL_DEPTH:
            raise self.error(f"block calls are nested more than {MAX_CALL_DEPTH} deep "
                             f"(is '{block.name}' recursive?)", name_span, kind=LimitError)
        inner = Env(self.globals, {"in": cur})
        given = self.block_arguments(block, args, kwargs, env)
        outer_scope = self.scope
        scope_path = outer_scope.fresh(block.name, hint)
        self.scope_spans[scope_path] = name_span
        self.bind_block_args(block, name_span, given, inner, scope_path)
        bound = dict(inner.vars)  # the body's assignments add to inner.vars; keep the inputs
        key = memo.call_key(block, bound) if self.memoize else None
        template = self.program.templates.get(key) if key is not None else None
        first_decision = len(self.reached)  # before a replay: what it asks, the body reached
        if (template is not None and len(self.frames) + template.depth < MAX_CALL_DEPTH
                and self.replay_decisions(template, scope_path)):
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
            template = memo.record(scope_path, self.nodes[start:], result, bound, depth,
                                   self.reached[first_decision:])
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

    def replay_decisions(self, template: memo.Template, scope_path: str) -> bool:
        """Ask the decisions a template's body reached, in order; whether all agree.

        Asking stops at the first that differs: the body is interpreted again, and it
        reaches that decision (its answer is kept) before any other it did not reach.
        """
        for rel, decision, value in template.decisions:
            here = Decision(scope_path + rel, decision.domain, decision.default, decision.span)
            if not same_value(self.ask(here), value):
                return False
        return True

    def block_arguments(self, block: ast.BlockDef, args: Sequence[ast.Node],
                        kwargs: Sequence[ast.Keyword], env: Env) -> dict[str, tuple[Any, Span]]:
        """The values a call gives its block's parameters, by name (evaluated in `env`)."""
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
        return given

    def bind_block_args(self, block: ast.BlockDef, name_span: Span,
                        given: dict[str, tuple[Any, Span]], inner: Env, scope_path: str) -> None:
        """Bind the parameters of a call at `scope_path`; defaults are evaluated in `inner`."""
        for param in block.params:
            if param.name in given:
                value, span = given[param.name]
            elif param.default is not None:
                span = param.default.span
                if self.is_decision(param.default):  # the decision `<call path>.<param>`
                    value = self.decision(param.default, inner, scope_path + ".", param.name)
                else:
                    value = self.eval(param.default, inner, None)
            else:
                raise self.error(f"{block.name}() is missing its argument '{param.name}'",
                                 name_span, [Note(f"'{block.name}' is defined here", block.span)])
            inner.vars[param.name] = self.check_type(param, value, span)


def _source_hint(e: ast.Node) -> str:
    return e.id if isinstance(e, ast.Name) else "in"
