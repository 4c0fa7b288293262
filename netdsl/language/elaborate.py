"""Elaboration: a program's network, with bound parameters, to the graph IR.

The entry point, the network's parameters and inputs, and the checks of the finished
graph. Evaluating expressions and calls is netdsl/language/evaluate.py and calls.py: a
block call opens a scope, so node names follow the block path (`stage1.basic0.conv0`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from netdsl.errors import LimitError, NetdslError, Note, SeveralErrors, Span, UsageError
from netdsl.graph import fill_graph
from netdsl.heads import DEFAULT_NAME, Head, mark_training_only, set_outputs
from netdsl.language import syntax as ast
from netdsl.language.choices import Fixed, fit, show_domain
from netdsl.language.context import Context
from netdsl.language.decisions import Categorical, DecisionSource
from netdsl.language.display import layer_message, literal, suggest
from netdsl.language.evaluate import Evaluator
from netdsl.language.loader import MAX_ERRORS, Program
from netdsl.language.resolve import BLOCK, LAYER
from netdsl.language.values import (
    MAX_CALL_DEPTH,
    MAX_LIST,
    PARAM_TYPES,
    Callee,
    Env,
    Tensor,
    article,
    is_int,
    is_type,
    show_value,
    value_type,
)
from netdsl.layers import REGISTRY, LayerError
from netdsl.layers.base import Shape, check_shape
from netdsl.layers.io import Input

if TYPE_CHECKING:
    import networkx as nx


class Override:
    """A parameter value given from outside the spec, and where it came from."""

    __slots__ = ("value", "origin", "span")

    def __init__(self, value: Any, origin: str, span: Span | None = None) -> None:
        self.value, self.origin, self.span = value, origin, span


def elaborate(program: Program, network: str | None = None,
              overrides: dict[str, Any] | None = None,
              input_shapes: dict[str, Shape] | None = None,
              decisions: DecisionSource | Mapping[str, Any] | None = None,
              memoize: bool = True) -> nx.MultiDiGraph:
    """Build the graph of one network of `program` with the given parameter values.

    `decisions` answers the search decisions elaboration reaches (a `DecisionSource`, or
    a mapping of decision names to values); without it each takes its default. The
    decisions reached, with their values, are `graph.graph["decisions"]`. `memoize=False`
    interprets every block call afresh (the memo must never change the graph).
    """
    definition = select_network(program, network)
    source = Fixed(decisions) if isinstance(decisions, Mapping) else decisions
    with deep_enough(definition):  # name resolution recurses too: the context inside
        ctx = Context(program, definition, input_shapes, source, memoize)
        if source is None and memoize:  # no search decisions: a replay may stand in
            if program.replays is None:  # the load's first elaboration: nothing to replay
                program.replays = definition.name  # (nor to import, for one `analyze`)
            else:
                from netdsl.language.replay import elaborate_replayed  # builds on this module

                return elaborate_replayed(ctx, overrides or {})
        return elaborate_context(ctx, overrides)


@contextmanager
def deep_enough(network: ast.BlockDef) -> Iterator[None]:
    """Python's recursion limit raised for resolving and elaborating `network`, and its
    `RecursionError` made a located limit error.

    Each level of block nesting costs about a dozen Python frames; MAX_CALL_DEPTH is the
    documented limit, so Python's own must not be reached first."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 40 * MAX_CALL_DEPTH + 2000))
    try:
        yield
    except RecursionError:
        raise LimitError(f"network '{network.name}' nests expressions too deeply to evaluate",
                         network.span) from None
    finally:
        sys.setrecursionlimit(limit)


def elaborate_context(ctx: Context, overrides: dict[str, Any] | None = None) -> nx.MultiDiGraph:
    """Build the graph of the network `ctx` was made for (within `deep_enough`). After a
    mistake, `ctx` still holds what was made up to it (its nodes and edges; its
    observer was told of the calls): the drawing of a broken spec shows that."""
    return _Elaborator(ctx).network(overrides or {})


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
        blocks = [b.name for b in program.module.definitions]
        if not blocks:
            raise NetdslError("this file defines no network (nothing but comments and imports)",
                              Span.of_file(program.path))
        listed = ", ".join(blocks[:5]) + (", ..." if len(blocks) > 5 else "")
        raise NetdslError(f"this file defines no network, only blocks ({listed}): a file of "
                          "blocks is a library to import from a file with a network",
                          Span.of_file(program.path))
    raise UsageError(f"{program.path} defines several networks ({', '.join(nets)}); "
                     "pick one with --network NAME")



def with_overrides(error: NetdslError, overrides: Mapping[str, Any]) -> NetdslError:
    """`error` with a note naming the network parameters given from outside the spec
    (`--set`, `--params`, the API), on its first error only (it would repeat on each): an
    error is often located deep in a library block (`width = -3` fails at a conv of
    std/resnet.net), far from the value that caused it."""
    if not overrides:
        return error
    first = error.errors[0] if isinstance(error, SeveralErrors) else error
    shown = []
    for name, given in overrides.items():
        value, origin = (given.value, given.origin) if isinstance(given, Override) else \
            (given, "the API")
        origin = "--set" if origin.startswith("--set") else origin
        shown.append(f"{name} = {show_value(value)} (from {origin})")
    first.with_note("parameters given to this run: " + ", ".join(shown))
    return error


class _Elaborator(Evaluator):
    """Elaborates one network: parameters, inputs, body, output, reachability (the state
    is the `Context`; this class adds the network level to the evaluator's rules)."""

    # ----------------------------------------------------------------- network
    def network(self, overrides: dict[str, Any]) -> nx.MultiDiGraph:
        net = self.ctx.network
        env = Env(self.ctx.globals)
        self.bind_network_params(net, env, overrides)
        return self.network_rest(net, env, overrides)

    def network_rest(self, net: ast.BlockDef, env: Env, overrides: dict[str, Any]) -> nx.MultiDiGraph:
        """The network past its parameters (bound in `env`)."""
        try:
            return self.network_body(net, env)
        except NetdslError as exc:  # past the parameters' own checks, which name them
            with_overrides(exc, overrides)
            raise

    def network_body(self, net: ast.BlockDef, env: Env) -> nx.MultiDiGraph:
        """The network's statements, each independent failing one reported, then the
        finished graph."""
        ctx = self.ctx
        cur = None
        result = None
        last: ast.Node | None = None
        errors: list[NetdslError] = []
        failed: set[str] = set()  # names whose statement failed: what reads them is skipped
        for statement in net.body.statements:
            if isinstance(statement, ast.InputDecl):
                tensor = self.declare_input(statement, env)
                env.vars[statement.name] = tensor
                # `in` (and chains that start with a call) mean the input only while there
                # is exactly one; with several, a chain must name the one it starts from
                cur = tensor if len(self.ctx.graph.graph["inputs"]) == 1 else None
                env.vars["in"] = cur
            elif isinstance(statement, ast.Require):  # checked against the report (constraints.py)
                ctx.graph.graph.setdefault("requires", []).append((statement, env))
            elif errors and failed & names_read(statement):
                failed.update(_bound(statement))  # its error would be a consequence
            else:
                # each independent statement that fails is reported (docs/language.md,
                # "Several errors per run"); a limit or usage error ends the run at once
                try:
                    result, last = self.statement(statement, env, cur, result, last)
                    if isinstance(statement, ast.OutputDecl):
                        self.declare_output(statement, env, cur)
                except (LimitError, UsageError):
                    raise
                except NetdslError as exc:
                    errors.append(exc)
                    failed.update(_bound(statement))
                    result, last = None, None
                    if len(errors) >= MAX_ERRORS:
                        break
        if errors:
            try:
                raise errors[0] if len(errors) == 1 else SeveralErrors(errors)
            finally:  # not held by this frame, in their traceback: see `_call_layer`
                del errors
        unknown = set(self.ctx.input_shapes) - set(self.ctx.graph.graph["inputs"])
        if unknown:
            raise UsageError(f"network '{net.name}' has no input '{sorted(unknown)[0]}'"
                             f"{suggest(sorted(unknown)[0], list(self.ctx.graph.graph['inputs']))}")
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
            elif param.default is not None and self.is_decision(param.default):
                env.vars[param.name] = self.check_type(
                    param, self.decision(param.default, env, "", param.name), param.default.span)
            elif param.default is not None:  # a value, as a block's default is (`act = relu`)
                env.vars[param.name] = self.check_type(param, self.value_of(param.default, env),
                                                       param.default.span)
            else:
                raise self.error(f"network parameter '{param.name}' has no default; give it "
                                 f"with --set {param.name}=VALUE", param.span, kind=UsageError)

    def override_value(self, param: ast.Param, given: Any, env: Env) -> Any:
        override = given if isinstance(given, Override) else Override(given, "the API")
        if param.default is not None and self.is_decision(param.default):
            return self.override_decision(param, override, env)
        default = self.value_of(param.default, env) if param.default is not None else None
        declared = param.type or (value_type(default) if param.default is not None else None)
        value = override.value
        if type(default) is Callee and isinstance(value, str):
            return self.named_callee(param, override, default)
        if declared in PARAM_TYPES and not is_type(value, declared):
            raise UsageError(
                f"parameter '{param.name}' is {article(declared)} {declared}, but {override.origin} "
                f"gives {value_type(value)} {show_value(value)}", override.span,
                [Note(f"'{param.name}' is declared here", param.span)])
        return float(value) if declared == "float" else value

    def named_callee(self, param: ast.Param, override: Override, default: Callee) -> Callee:
        """A layer or block given by its name to a parameter whose default is one
        (`--set act=mish`): blocks of the spec shadow layers, as they do in the spec."""
        name = override.value
        target = self.ctx.names.callee(name, self.ctx.program.blocks)  # as the spec resolves it
        if target.kind is BLOCK or target.kind is LAYER:
            return Callee(name, target.kind, target.ref)
        known = sorted({*self.ctx.program.blocks, *REGISTRY})
        raise UsageError(f"parameter '{param.name}' is a {default.kind} (default "
                         f"{show_value(default)}), but {override.origin} gives {show_value(name)}, "
                         f"which names no layer or block{suggest(name, known)}", override.span,
                         [Note(f"'{param.name}' is declared here", param.span)])

    def override_decision(self, param: ast.Param, override: Override, env: Env) -> Any:
        """A value bound from outside to a decision parameter: it must lie in the domain."""
        assert isinstance(param.default, ast.Call)
        domain, _, _ = self.decision_parts(param.default, env)
        value = fit(domain, override.value)
        if not domain.contains(value):
            hint = ""
            if isinstance(value, str) and isinstance(domain, Categorical):
                hint = suggest(value, [o if isinstance(o, str) else literal(o)
                                       for o in domain.options])
            raise UsageError(f"parameter '{param.name}' is {show_domain(domain)}, but "
                             f"{override.origin} gives {show_value(value)}{hint}", override.span,
                             [Note(f"'{param.name}' is declared here", param.span)])
        return self.check_type(param, value, override.span or param.span)

    def declare_input(self, decl: ast.InputDecl, env: Env) -> Tensor:
        if decl.name in self.ctx.graph.graph["inputs"]:
            raise self.error(f"input '{decl.name}' is declared twice", decl.span)
        shape = self.ctx.input_shapes.get(decl.name)
        if shape is None:
            value = self.structural_value(decl.shape, env, whole=True)
            if not isinstance(value, list) or not all(is_int(v) for v in value):
                raise self.error(f"an input shape is a list of integers like [3, 224, 224], got "
                                 f"{show_value(value)}", decl.shape.span)
            shape = tuple(value)
        if not 1 <= len(shape) <= 4 or any(d < 1 for d in shape):
            raise self.error(f"input '{decl.name}' must have 1 to 4 positive sizes ([F], [C, L], "
                             f"[C, H, W] or [C, D, H, W]), got {list(shape)}", decl.shape.span)
        try:
            check_shape(shape)
        except LayerError as exc:
            raise self.error(f"input '{decl.name}': {layer_message(exc).replace('the output shape', 'shape')}",
                             decl.shape.span, kind=LimitError) from None
        tensor = self.add_node(Input(tuple(shape)), (), decl.span, decl.name, root=True)
        self.ctx.graph.graph["inputs"][decl.name] = tensor.node
        return tensor

    def declare_output(self, decl: ast.OutputDecl, env: Env, cur: Tensor | None) -> None:
        """`output NAME = EXPR`: bind NAME and record the head (`none`: no head)."""
        value = self.eval_named(decl.value, env, cur, decl.name)
        env.vars[decl.name] = value
        kind = "training output" if decl.training else "output"
        for other, _ in self.ctx.heads:
            if other.name == decl.name:
                raise self.error(f"output '{decl.name}' is declared twice", decl.name_span,
                                 [Note("the first declaration is here", other.name_span)])
        if value is None:
            self.ctx.heads.append((decl, Head(decl.name, "", decl.training)))  # left out
            return
        if not isinstance(value, Tensor):
            raise self.error(f"{kind} '{decl.name}' must be one tensor (or none), got "
                             f"{value_type(value)} {show_value(value)}", decl.value.span)
        if value.node in self.ctx.graph.graph["inputs"].values():
            raise self.error(f"{kind} '{decl.name}' is the network input '{value.node}': an "
                             "output must be computed by a layer", decl.value.span)
        for other, head in self.ctx.heads:
            if head.node == value.node:
                raise self.error(f"{kind} '{decl.name}' is the same tensor as output "
                                 f"'{other.name}'", decl.value.span,
                                 [Note(f"'{other.name}' is declared here", other.name_span)])
        self.ctx.heads.append((decl, Head(decl.name, value.node, decl.training)))

    def finish(self, net: ast.BlockDef, result: Any, last: ast.Node | None) -> nx.MultiDiGraph:
        if self.ctx.warnings:
            self.ctx.graph.graph["warnings"] = list(self.ctx.warnings)
        if self.ctx.heads:
            return self.finish_heads(net, result, last)
        if not isinstance(result, Tensor):
            where = last.span if last is not None else net.span
            raise self.error(f"network '{net.name}' must end with an expression that gives a "
                             f"tensor (its output), got {value_type(result) if result is not None else 'nothing'}",
                             where)
        set_outputs(self.ctx.graph, [Head(DEFAULT_NAME, result.node)], named=False)
        self.check_reachability(result.node)
        return self.ctx.filled_graph()

    def finish_heads(self, net: ast.BlockDef, result: Any, last: ast.Node | None) -> nx.MultiDiGraph:
        """A network with `output` statements: every output is named, one is not training."""
        ctx = self.ctx
        if isinstance(last, ast.ExprStmt):
            raise self.error(f"network '{net.name}' declares its outputs with `output` "
                             "statements, so this last expression is not an output: name it "
                             "with `output NAME = ...`", last.span)
        heads = [head for _, head in ctx.heads if head.node]
        if not any(not head.training for head in heads):
            first = ctx.heads[0][0]
            raise self.error(f"network '{net.name}' has no output that runs at inference: "
                             "every output is `training` or none", first.span)
        set_outputs(ctx.graph, heads, named=True)
        self.check_reachability(*(head.node for head in heads))
        nodes = ctx.node_list()
        mark_training_only(nodes, heads)
        return fill_graph(ctx.graph, nodes, ctx.edges)

    def check_reachability(self, *outputs: str) -> None:
        """Every node must feed an output (walk the inputs backwards from them)."""
        ctx = self.ctx
        live = set(outputs)
        names, layers, _, _, inputs = ctx.columns()
        for node, preds in zip(reversed(names), reversed(inputs)):
            if node in live:
                live.update(preds)
        if len(live) == len(names):  # (every name in it is a node's): all reach
            return
        unused = {node for node, layer in zip(names, layers)
                  if node not in live and _is_part(layer)}
        if unused:  # a part of a split nobody uses (`a, b = chunk(2)`, b unused): a view,
            # nothing is computed; it is dropped rather than an error
            ctx.keep_nodes(lambda node: node not in unused)
        names, _, spans, blocks, _ = ctx.columns()
        for node, span, block in zip(names, spans, blocks):
            if node not in live:
                where = "output" if len(outputs) == 1 else "outputs"
                raise self.error(f"'{node}' is computed but never reaches the network's {where}",
                                 span, self.scope_notes(block))

    def scope_notes(self, block_path: str) -> list[Note]:
        """Where the block calls on a node's path were made (outermost first)."""
        parts = block_path.split(".") if block_path else []
        notes = []
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in self.ctx.scope_spans:
                notes.append(Note(f"'{prefix}' is the block call here", self.ctx.scope_spans[prefix]))
        return notes



def _bound(statement: ast.Node) -> set[str]:
    """The names a statement binds (an assignment's, an output's, a destructuring's)."""
    if isinstance(statement, ast.Unpack):
        return set(statement.names)
    return {getattr(statement, "name", "")}


def _is_part(layer: Any) -> bool:
    """Whether a layer is one part of a layer that gives several tensors (chunk, split)."""
    spec = REGISTRY.get(layer.op)
    return spec is not None and hasattr(spec.kind, "parts") and type(layer) is not spec.kind


def names_read(node: Any) -> set[str]:
    """Every name a statement reads (variables and called names), for skipping the
    statements that depend on one that failed."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            if isinstance(item, ast.Name):
                names.add(item.id)
            elif isinstance(item, ast.Call):
                names.add(item.name)
            stack.extend(getattr(item, f) for f in item.__dataclass_fields__ if f != "span")
    return names


__all__ = ["MAX_LIST", "Override", "elaborate", "select_network"]
