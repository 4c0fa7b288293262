"""Calls: of layers (a node), of blocks (a scope, memoised), and of `assert`/`fail`.

Part of the evaluator (netdsl/language/evaluate.py): these methods keep no state; what a
call reads and builds is in the elaboration's `Context` (netdsl/language/context.py).
What a call's name refers to was resolved once per load (netdsl/language/resolve.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.errors import LimitError, NetdslError, Note, Span
from netdsl.language import memo
from netdsl.language import syntax as ast
from netdsl.language.choices import same_value
from netdsl.language.context import Frame
from netdsl.language.decisions import Decision
from netdsl.language.display import layer_message, suggest
from netdsl.language.resolve import BLOCK, BUILTIN, CHECK, DECISION, IDENTITY, LAYER, LOCAL, Target
from netdsl.language.values import (
    BUILTINS,
    MAX_CALL_DEPTH,
    MAX_NODES,
    MISSING,
    Callee,
    Env,
    Scope,
    Tensor,
    ValueError_,
    show_value,
    value_type,
)
from netdsl.layers import REGISTRY, LayerError, LayerSpec, create
from netdsl.layers.base import Shape


class Calls:
    """Calling layers and blocks (part of `Evaluator`)."""

    def _call(self, e: ast.Call, env: Env, cur: Tensor | None,
              hint: str | tuple[str, ...] | None = None) -> Any:
        target = self.targets[id(e)]
        kind = target.kind
        if kind is CHECK:
            return self.check(e, env)
        if kind is DECISION:  # reached here, it is not what a name or parameter takes
            return self.decision(e, env, self.ctx.scope.prefix, None)
        if kind is BUILTIN:
            args = [self.eval(a, env, None) for a in e.args]
            if e.kwargs:
                raise self.error(f"{e.name}() takes no keyword arguments", e.kwargs[0].span)
            try:
                return BUILTINS[e.name](*args)
            except ValueError_ as exc:
                raise self.error(str(exc), e.span) from None
        return self.apply(target, e, e.name, e.name_span, e.args, e.kwargs, env, cur, hint)

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

    def apply(self, target: Target, e: ast.Node, name: str, name_span: Span,
              args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
              cur: Tensor | None, hint: str | tuple[str, ...] | None) -> Any:
        """Call what `name` refers to (a block, a layer, `identity`, a value) on `cur`;
        `hint` names the node (a tuple: the names of a destructuring, for a layer's parts)."""
        try:
            kind = target.kind
            if kind is BLOCK:
                return self.call_block(target.ref, e, name_span, args, kwargs, env, cur, hint)
            if kind is LAYER:
                return self.call_layer(target.ref, e, name_span, args, kwargs, env, cur, hint)
            if kind is IDENTITY:
                if args or kwargs:
                    raise self.error("identity takes no arguments", name_span)
                return self.need_input(cur, name, name_span)
            value = env.lookup(name) if kind is LOCAL else MISSING
            if type(value) is Callee:
                return self.apply_callee(value, e, name_span, args, kwargs, env, cur, hint)
            if value is not MISSING:
                raise self.error(f"'{name}' is a {value_type(value)}, not a block or layer; "
                                 "it cannot be called", name_span)
            known = [*self.ctx.program.blocks, *REGISTRY, *BUILTINS, "assert", "fail",
                     *env.names()]
            raise self.error(f"unknown name '{name}'{suggest(name, known)}", name_span)
        except NetdslError:
            self.note_failure([cur])
            raise

    def note_failure(self, inputs: Sequence[Tensor | None]) -> None:
        """Tell the observer, if any, the inputs of a call that failed (innermost first:
        the calls around it see the same error pass)."""
        observer = self.ctx.observer
        if observer is not None:
            observer.call_failed(tuple(t.node for t in inputs if t is not None),
                                 self.ctx.scope.path)

    def apply_callee(self, callee: Callee, e: ast.Node, name_span: Span,
                     args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
                     cur: Tensor | None, hint: str | tuple[str, ...] | None) -> Any:
        """Call a block or layer that was passed as a value."""
        if callee.kind == "block":
            return self.call_block(callee.ref, e, name_span, args, kwargs, env, cur, hint)
        return self.call_layer(callee.ref, e, name_span, args, kwargs, env, cur, hint, callee)

    def partial_layer(self, spec: LayerSpec, name: str, e: ast.Call, env: Env,
                      base: Callee | None = None) -> Callee:
        """A layer call where no input exists (an argument: `norm = batchnorm(eps = 0.001)`):
        the layer as a value, its arguments given so far kept (checked by name here, by
        value where it is applied)."""
        if spec.signature.variadic_inputs and e.args:
            raise self.error(f"{spec.name}() passed as a value takes keyword arguments only "
                             "(its branches are given where it is applied)", e.args[0].span)
        args = (*(base.args if base else ()), *(self.argument(a, env) for a in e.args))
        names = spec.signature.names()
        if len(args) > len(names):
            raise self.error(f"{spec.name}() takes at most {len(names)} positional argument(s), "
                             f"got {len(args)}", e.args[-1].span)
        keywords = dict(base.kwargs) if base else {}
        taken = set(names[:len(args)])
        for kw, value in zip(e.kwargs, self.keyword_values(e.kwargs, env).values()):
            if kw.name not in names:
                raise self.error(f"{spec.name}() has no argument '{kw.name}'"
                                 f"{suggest(kw.name, names)}", kw.span)
            if kw.name in taken:
                raise self.error(f"{spec.name}() got argument '{kw.name}' twice", kw.span)
            keywords[kw.name] = value
        return Callee(base.name if base else name, "layer", spec, args, tuple(keywords.items()),
                      e.span)

    def need_input(self, cur: Tensor | None, name: str, span: Span) -> Tensor:
        if cur is None:
            raise self.error(f"{name} has no input here: start the chain from a tensor "
                             f"(for example `image -> {name}`)", span)
        return cur

    def call_layer(self, spec: LayerSpec, e: ast.Node, name_span: Span, args: Sequence[ast.Node],
                   kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
                   hint: str | tuple[str, ...] | None, callee: Callee | None = None) -> Any:
        inputs: list[Tensor] = []  # filled as the branches are evaluated
        try:
            return self._call_layer(spec, name_span, args, kwargs, env, cur, hint, callee, inputs)
        except NetdslError:
            self.note_failure(inputs or [cur])
            raise

    def _call_layer(self, spec: LayerSpec, name_span: Span, args: Sequence[ast.Node],
                    kwargs: Sequence[ast.Keyword], env: Env, cur: Tensor | None,
                    hint: str | tuple[str, ...] | None, callee: Callee | None,
                    inputs: list[Tensor]) -> Any:
        keywords = self.keyword_values(kwargs, env)
        before = callee.args if callee is not None else ()  # a layer value's own arguments
        if callee is not None and callee.kwargs:
            keywords = {**dict(callee.kwargs), **keywords}  # the call's own win
        defaults = self.ctx.layer_defaults.get(spec.name)
        if defaults:  # `defaults` in effect; the call's own arguments win
            positional_names = () if spec.signature.variadic_inputs else spec.signature.names()
            given = {n for n, _ in zip(positional_names, (*before, *args))} | set(keywords)
            keywords = {**{k: v for k, v in defaults.items() if k not in given}, **keywords}
        if spec.signature.variadic_inputs:
            # each branch is applied to the merge's input, which it sees as `in`; a branch
            # that gives a list of tensors (`concat(parts)`) adds each of them
            branch_env = Env(env, {"in": cur}) if cur is not None else env
            args = self.branches(args, branch_env, cur, spec.name, inputs)
            if len(inputs) < 2:
                raise self.error(f"{spec.name}() needs at least two branches, got {len(inputs)}",
                                 name_span)
            positional: list[Any] = []
        else:
            inputs.append(self.need_input(cur, spec.name + "()", name_span))
            positional = [*before, *(self.argument(a, env) for a in args)]
        shapes = tuple(t.shape for t in inputs)
        try:
            layer = self.make_layer(spec, positional, keywords, shapes, inputs)
        except LayerError as exc:
            error = self.layer_error(exc, spec, name_span, args, kwargs, shapes)
            if callee is not None and callee.span is not None:
                error.notes.insert(0, Note(f"the layer value {callee!r} was made here",
                                           callee.span))
            try:
                raise error from None
            finally:  # this frame, in the error's traceback, must not hold the error: a
                del error  # cycle would keep the failed elaboration for the collector
        parts = layer.parts() if hasattr(layer, "parts") else None
        if parts is not None:
            return self.add_parts(layer, parts, inputs, name_span, hint)
        return self.add_node(layer, inputs, name_span, hint if isinstance(hint, str) else None)

    def make_layer(self, spec: LayerSpec, positional: list[Any], keywords: dict[str, Any],
                   shapes: tuple[Shape, ...], inputs: Sequence[Tensor]) -> Any:
        """The layer record of a call on `inputs` (a replay's recording watches this:
        netdsl/language/replay.py)."""
        return create(spec, positional, keywords, shapes)

    def add_parts(self, layer: Any, parts: Sequence[Any], inputs: Sequence[Tensor],
                  span: Span, hint: str | tuple[str, ...] | None) -> list[Tensor]:
        """A layer that gives several tensors (`chunk`, `split`): one node per part, named
        `NAME_0`, `NAME_1`, ... or after the names of a destructuring (`a, b = chunk(2)`)."""
        if isinstance(hint, tuple) and len(hint) == len(parts):
            names: list[str | None] = list(hint)
        else:
            scope = self.ctx.scope
            base = scope.fresh(layer.op, hint if isinstance(hint, str) else None)
            local = base[len(scope.prefix):]
            names = [f"{local}_{i}" for i in range(len(parts))]
        return [self.add_node(part, inputs, span, name) for part, name in zip(parts, names)]

    def branches(self, args: Sequence[ast.Node], env: Env, cur: Tensor | None, merge: str,
                 inputs: list[Tensor]) -> list[ast.Node]:
        """The tensors of a merge's branches, added to `inputs` one branch at a time (after
        a mistake, those before it are known), and the syntax each came from (for notes)."""
        sources: list[ast.Node] = []
        for a in args:
            value = self.eval(a, env, cur)
            items = value if isinstance(value, list) and value else [value]
            for item in items:
                if not isinstance(item, Tensor):
                    what = ("a list of tensors, got a list with" if isinstance(value, list)
                            else "a tensor, got")
                    raise self.error(f"a branch of {merge}() must give {what} {value_type(item)} "
                                     f"{show_value(item)}", a.span)
                inputs.append(item)
                sources.append(a)
        return sources

    def argument(self, e: ast.Node, env: Env) -> Any:
        kind = type(e)
        if kind is ast.Literal:  # never a tensor
            return e.value
        if kind is ast.Name and self.targets[id(e)].kind is LOCAL:  # `_name` without input
            value = env.lookup(e.id)
        else:
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
                   cur: Tensor | None, hint: str | tuple[str, ...] | None) -> Any:
        """Call a block on `cur`: its body interpreted, or its memoised template replayed;
        the context's observer, if any, is told (`CallObserver`)."""
        observer = self.ctx.observer
        if observer is None:
            return self._call_block(block, e, name_span, args, kwargs, env, cur, hint)
        observer.call_opened(cur)
        try:
            result = self._call_block(block, e, name_span, args, kwargs, env, cur, hint)
        except BaseException:
            observer.call_closed(None, True)
            raise
        observer.call_closed(result, False)
        return result

    def _call_block(self, block: ast.BlockDef, e: ast.Node, name_span: Span,
                    args: Sequence[ast.Node], kwargs: Sequence[ast.Keyword], env: Env,
                    cur: Tensor | None, hint: str | tuple[str, ...] | None) -> Any:
        ctx = self.ctx
        if len(ctx.frames) >= MAX_CALL_DEPTH:
            raise self.error(f"block calls are nested more than {MAX_CALL_DEPTH} deep "
                             f"(is '{block.name}' recursive?)", name_span, kind=LimitError)
        inner = Env(ctx.globals, {"in": cur})
        given = self.block_arguments(block, args, kwargs, env)
        outer_scope = ctx.scope
        scope_path = outer_scope.fresh(block.name, hint if isinstance(hint, str) else None)
        ctx.scope_spans[scope_path] = name_span
        if ctx.observer is not None:
            ctx.observer.call_entered(block, given, scope_path)
        self.bind_block_args(block, name_span, given, inner, scope_path)
        if ctx.observer is not None:
            ctx.observer.call_bound(block, len(args), kwargs, inner.vars, scope_path)
        bound = dict(inner.vars)  # the body's assignments add to inner.vars; keep the inputs
        key = memo.call_key(block, bound) if ctx.memoize else None
        if key is not None and ctx.layer_defaults:  # the body's layers depend on them too
            defaults = {f"defaults {n}": sorted(v.items()) for n, v in ctx.layer_defaults.items()}
            extra = memo.call_key(block, defaults)
            key = (key, extra) if extra is not None else None
        found = memo.lookup(ctx.program.templates, key) if key is not None else None
        first_read = len(ctx.reads)  # before a replay: what it asks, the body read
        if (found is not None and key is not None and len(ctx.frames) + found.depth < MAX_CALL_DEPTH
                and (ctx.observer is None or ctx.observer.may_replay(found))
                and self.replay_reads(found, scope_path)):
            # (recorded only now: a call whose reads differ would not use the template)
            template = memo.realize(ctx.program.templates, key, found)
            if template is not None:
                self.check_room(len(template.nodes) // memo.ROW_WIDTH, name_span)
                return memo.instantiate(template, scope_path, bound, ctx.append_node)
        start, entry_depth, deepest = len(ctx.rows), len(ctx.frames), ctx.deepest
        warned = len(ctx.warnings)
        ctx.scope = Scope(scope_path)
        ctx.frames.append(Frame(block.name, name_span))
        ctx.deepest = len(ctx.frames)
        try:
            result = self.run_body(block.body, inner, cur)
        finally:
            ctx.frames.pop()
            ctx.scope = outer_scope
            depth, ctx.deepest = ctx.deepest - entry_depth, max(deepest, ctx.deepest)
        if key is not None and len(ctx.warnings) == warned:  # a replay would not warn
            reads = (memo.relative_reads(scope_path, ctx.reads[first_read:])
                     if len(ctx.reads) > first_read else ())
            if reads is not None:  # (a read outside the call's scope: never replayed)
                memo.store(ctx.program.templates, key, memo.Pending(
                    scope_path, ctx.rows[start:], result, bound, depth, reads))
        return result

    def check_room(self, count: int, span: Span) -> None:
        """Raise when adding `count` nodes would pass the node limit."""
        if self.ctx.node_count + count > MAX_NODES:
            raise self.error(f"the network has more than {MAX_NODES} layers (the limit)", span,
                             kind=LimitError)

    def replay_reads(self, template: memo.Template | memo.Pending, scope_path: str) -> bool:
        """Read again, in order, what a template's body read besides its arguments (the
        search decisions it reached); whether every value is the same as then.

        Reading stops at the first that differs: the body is then interpreted again, and
        it reaches that read first (a decision's answer is kept, so it is asked once).
        """
        for kind, rel, what, value in template.reads:
            if kind == "decision":
                here = Decision(scope_path + rel, what.domain, what.default, what.span)
                if not same_value(self.ask(here), value):
                    return False
            else:  # a kind of read this evaluator does not know: never reuse
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
        value_of = self.value_of
        for param, a in zip(params, args):
            given[param.name] = (value_of(a, env), a.span)
        if not kwargs:
            return given
        names = [p.name for p in params]
        for kw in kwargs:
            if kw.name not in names:
                raise self.error(f"{block.name}() has no parameter '{kw.name}'"
                                 f"{suggest(kw.name, names)}", kw.span,
                                 [Note(f"'{block.name}' is defined here", block.span)])
            if kw.name in given:
                raise self.error(f"{block.name}() got parameter '{kw.name}' twice", kw.span)
            given[kw.name] = (self.value_of(kw.value, env), kw.value.span)
        return given

    def bind_block_args(self, block: ast.BlockDef, name_span: Span,
                        given: dict[str, tuple[Any, Span]], inner: Env, scope_path: str) -> None:
        """Bind the parameters of a call at `scope_path`; defaults are evaluated in `inner`."""
        variables = inner.vars
        for param in block.params:
            name, default = param.name, param.default
            found = given.get(name)
            if found is not None:
                value, span = found
            elif default is not None:
                span = default.span
                if type(default) is ast.Literal:  # the common default: no evaluation
                    value = default.value
                elif self.is_decision(default):  # the decision `<call path>.<param>`
                    value = self.decision(default, inner, scope_path + ".", name)
                else:
                    value = self.value_of(default, inner)
            else:
                raise self.error(f"{block.name}() is missing its argument '{name}'",
                                 name_span, [Note(f"'{block.name}' is defined here", block.span)])
            variables[name] = value if param.type is None else self.check_type(param, value, span)


def _source_hint(e: ast.Node) -> str:
    return e.id if isinstance(e, ast.Name) else "in"
