"""A candidate as a frozen, standalone `.net`: its layers with every decision bound.

A decision inside a block takes a value per block instance (`stages.stage2.unit1.kernel`),
which no rewrite of the block's source can express, so the frozen spec is the elaborated
network written out flat: one statement per layer, with the very arguments the
elaborator gave the layer (recorded while the candidate is elaborated again, without the
block memo), the inputs, the output, and the constraints (network variables they read are
replaced by their values). It imports nothing, has no decisions, and analyses to the
same report (the same layers, shapes and numbers; node names follow the frozen statements).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from netdsl.analysis.constraints import QUANTITIES, Constraint
from netdsl.language import calls
from netdsl.language import syntax as ast
from netdsl.language.display import literal
from netdsl.language.elaborate import elaborate
from netdsl.language.loader import Program


@contextmanager
def _recording_layers(record: dict[int, tuple[str, list[Any], dict[str, Any]]]):
    """Note the arguments each layer is created with (by the layer's identity)."""
    original = calls.create

    def create(spec: Any, positional: Sequence[Any], keywords: dict[str, Any],
               in_shapes: tuple) -> Any:
        layer = original(spec, positional, keywords, in_shapes)
        record[id(layer)] = (spec.name, list(positional), dict(keywords))
        return layer

    calls.create = create
    try:
        yield
    finally:
        calls.create = original


def _variable(node: str, used: set[str]) -> str:
    base = "t_" + re.sub(r"[^A-Za-z0-9_]", "_", node)
    name, n = base, 1
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def frozen_text(program: Program, network: str | None, params: Mapping[str, Any],
                inputs: Mapping[str, Any] | None, decisions: Mapping[str, Any],
                constraints: Sequence[Constraint] = (), comment: str = "") -> str:
    """The standalone `.net` of one candidate (see the module docstring)."""
    record: dict[int, tuple[str, list[Any], dict[str, Any]]] = {}
    with _recording_layers(record):
        graph = elaborate(program, network, dict(params), dict(inputs or {}), dict(decisions),
                          memoize=False)
    from netdsl.analysis.constraints import constraints_of

    names: dict[str, str] = {}
    used: set[str] = set()
    input_of = {node: name for name, node in graph.graph["inputs"].items()}
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
    lines.append(f"network {graph.graph['network']}_frozen() {{")
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        if node in input_of:
            names[node] = input_of[node]
            used.add(input_of[node])
            lines.append(f"    input {input_of[node]}: {literal(list(layer.out_shape))}")
            continue
        op, positional, keywords = record[id(layer)]
        args = [literal(v) for v in positional] + [f"{k} = {literal(v)}"
                                                   for k, v in keywords.items()]
        var = names[node] = _variable(node, used)
        preds = [names[p] for p in data["inputs"]]
        if len(preds) == 1 and not calls.REGISTRY[op].signature.variadic_inputs:
            call = f"{op}({', '.join(args)})" if args else op
            lines.append(f"    {var} = {preds[0]} -> {call}")
        else:
            lines.append(f"    {var} = {op}({', '.join(preds + args)})")
    for constraint in [*constraints_of(graph), *constraints]:
        lines.append(f"    require {render(constraint.expr, constraint.env)}")
    outputs = graph.graph["outputs"]
    lines.append(f"    {names[outputs[0]]}")
    lines.append("}")
    return "\n".join(lines) + "\n"


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "<=": 4, "<": 4, ">=": 4, ">": 4, "==": 4, "!=": 4,
               "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7, "**": 8}


def render(e: ast.Node, env: Any = None) -> str:
    """A constraint expression as source, network variables replaced by their values."""
    return _render(e, env, 0)


def _render(e: ast.Node, env: Any, outer: int) -> str:
    if isinstance(e, ast.Literal):
        return literal(e.value)
    if isinstance(e, ast.Name):
        if e.id in QUANTITIES or env is None:
            return e.id
        from netdsl.language.values import MISSING

        value = env.lookup(e.id)
        return e.id if value is MISSING else literal(value)
    if isinstance(e, ast.Unary):
        level = _PRECEDENCE["not" if e.op == "not" else "neg"]
        text = ("not " if e.op == "not" else "-") + _render(e.operand, env, level)
    elif isinstance(e, ast.Binary):
        level = _PRECEDENCE[e.op]
        text = f"{_render(e.left, env, level)} {e.op} {_render(e.right, env, level + 1)}"
    else:
        raise TypeError(type(e).__name__)
    return f"({text})" if level < outer else text


__all__ = ["frozen_text", "literal", "render"]
