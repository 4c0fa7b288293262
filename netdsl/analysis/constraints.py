"""Constraints: `require macs <= 600M and params <= 5M`, checked against a report's totals.

A network body may hold `require EXPR` statements; the search adds more (`--constraint`).
An expression is arithmetic, comparisons, `and`/`or`/`not` over number literals (with unit
suffixes: `600M`, `4GiB`), the report's quantities (`QUANTITIES`) and the network's own
scalar variables and parameters (a quantity name wins over a variable of the same name).

Counts (`macs`, `flops`, `other_ops`) are per sample, whatever the analysis batch; memory
(`*_bytes`, `training_peak`, ...) is for the analysis context, the batch and dtype the
report was made with (default batch 1, float32), so `require training_peak <= 8GiB` at
`--batch 32` means what it says. A top-level `and` is split, so each violated part is
reported on its own. A plain analysis reports violated requirements as warnings; the search
rejects the candidate as infeasible.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdsl.errors import Diagnostic, NetdslError, Span, UsageError, remember_source, source_line
from netdsl.language import syntax as ast
from netdsl.language.display import suggest
from netdsl.language.values import BINARY, ValueError_

if TYPE_CHECKING:
    import networkx as nx

#: What each quantity means, for `netdsl search --help` and the docs.
QUANTITIES: dict[str, str] = {
    "params": "parameters",
    "buffers": "buffer elements (batch norm statistics)",
    "macs": "multiply-accumulates per sample", "flops": "FLOPs per sample (2 x MACs)",
    "other_ops": "other operations per sample (activations, pooling, adds)",
    "param_bytes": "parameter memory", "activation_bytes": "memory of all activations",
    "inference_peak_bytes": "peak memory of inference", "inference_peak": "= inference_peak_bytes",
    "saved_for_backward_bytes": "activations kept for the backward pass",
    "training_peak_bytes": "peak memory of a training step", "training_peak": "= training_peak_bytes",
    "layers": "number of layers (graph nodes)",
    "rf": "receptive field of the output (largest axis; the input size when global)",
    "batch": "the analysis batch size",
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Constraint:
    """One requirement: its expression, where it was written and its source text."""

    expr: ast.Node
    span: Span
    text: str
    env: Any = None  # the network's environment (netdsl.language.values.Env) or None

    def names(self) -> set[str]:
        """The names the expression reads."""
        found: set[str] = set()
        _walk_names(self.expr, found)
        return found


@dataclass(frozen=True)
class Violation:
    """A constraint a report does not meet, with the quantities it read."""

    constraint: Constraint
    values: dict[str, int | float]

    @property
    def message(self) -> str:
        shown = ", ".join(f"{k} = {_show(v)}" for k, v in sorted(self.values.items()))
        return f"requirement not met: {self.constraint.text}" + (f" ({shown})" if shown else "")

    def __repr__(self) -> str:  # what a notebook shows for `candidate.violations`
        return f"<Violation {self.message.removeprefix('requirement not met: ')}>"


def quantities(report: Any) -> dict[str, int | float]:
    """The values constraints and objectives may name, from a `Report`."""
    t, batch = report.totals, max(report.batch, 1)
    values: dict[str, int | float] = {
        "params": t.params, "buffers": t.buffers,
        "macs": t.macs // batch, "flops": t.flops // batch, "other_ops": t.other_ops // batch,
        "param_bytes": t.param_bytes, "activation_bytes": t.activation_bytes,
        "inference_peak_bytes": t.inference_peak_bytes,
        "inference_peak": t.inference_peak_bytes,
        "saved_for_backward_bytes": t.saved_for_backward_bytes,
        "training_peak_bytes": t.training_peak_bytes, "training_peak": t.training_peak_bytes,
        "layers": report.layer_count, "batch": report.batch,
    }
    values["rf"] = _output_rf(report)
    return values


def _output_rf(report: Any) -> int | float:
    """The largest receptive-field size over the axes of the (first) output."""
    if not report.layer_count:
        return 0
    out = next(iter(report.outputs), None)
    row = report.layer(out) if out is not None else report.layers[-1]
    if row.rf.is_global:
        spatial = [s for shape in report.inputs.values() for s in shape[1:]]
        return max(spatial, default=0)
    return max((float(s) if not isinstance(s, int) else s for s in row.rf.size), default=0)


def constraints_of(graph: nx.MultiDiGraph) -> list[Constraint]:
    """The spec's `require` statements reached by elaboration, top-level `and`s split."""
    found: list[Constraint] = []
    for statement, env in graph.graph.get("requires", ()):
        found.extend(_split(statement.expr, env))
    return found


def _split(expr: ast.Node, env: Any) -> list[Constraint]:
    if isinstance(expr, ast.Binary) and expr.op == "and":
        return _split(expr.left, env) + _split(expr.right, env)
    return [Constraint(expr, expr.span, _text(expr.span), env)]


def _text(span: Span) -> str:
    line = source_line(span.file, span.line)
    if line is None:
        return "<constraint>"
    if span.end_line == span.line:
        return line[span.column - 1:span.end_column - 1].strip()
    return line[span.column - 1:].strip() + " ..."


def parse_constraint(text: str, origin: str = "--constraint") -> Constraint:
    """A constraint given outside a spec (`netdsl search --constraint "macs <= 600M"`)."""
    from netdsl.language.parser import parse

    path = f"<{origin}>"
    prefix = "network constraint() { require "
    try:
        module = parse(prefix + text + " }", path)
    except NetdslError as exc:
        remember_source(path, text)
        span = exc.span
        if span is not None:  # point into the text as the user wrote it
            shift = len(prefix)
            span = Span(path, 1, max(span.column - shift, 1), 1,
                        max(span.end_column - shift, 2))
        raise UsageError(exc.message, span) from None
    finally:
        remember_source(path, text)
    statement = module.definitions[0].body.statements
    if len(statement) != 1 or not isinstance(statement[0], ast.Require):
        raise UsageError(f"a constraint is one expression like \"macs <= 600M\", got {text!r}")
    expr = _shifted(statement[0].expr, len(prefix))
    return Constraint(expr, expr.span, text.strip())


def _shifted(node: Any, shift: int) -> Any:
    """A syntax tree with its spans moved `shift` columns left (parse_constraint's prefix)."""
    if isinstance(node, Span):
        return Span(node.file, node.line, node.column - shift, node.end_line,
                    node.end_column - shift)
    if isinstance(node, tuple):
        return tuple(_shifted(item, shift) for item in node)
    if isinstance(node, ast.Node):
        return dataclasses.replace(node, **{f.name: _shifted(getattr(node, f.name), shift)
                                            for f in dataclasses.fields(node)})
    return node


def check(constraints: list[Constraint], report: Any) -> list[Violation]:
    """The constraints `report` violates (unknown names are located errors)."""
    values = quantities(report)
    violated = []
    for constraint in constraints:
        validate(constraint)  # also the names of a part `and`/`or` would skip
        read: dict[str, int | float] = {}
        result = _eval(constraint.expr, values, constraint.env, read)
        if not isinstance(result, bool):
            raise NetdslError(f"a requirement must be true or false, got {_show(result)} "
                              "(compare a quantity, like `macs <= 600M`)", constraint.span)
        if not result:
            violated.append(Violation(constraint, read))
    return violated


def validate(constraint: Constraint, env: Any = None) -> None:
    """Raise the located error for a name that is neither a quantity nor a variable."""
    for name in sorted(constraint.names()):
        _lookup_known(name, constraint, env or constraint.env)


def requirement_warnings(graph: nx.MultiDiGraph, report: Any) -> list[Diagnostic]:
    """Violated `require` statements of a plain analysis, as warnings."""
    return [Diagnostic(v.message, v.constraint.span) for v in check(constraints_of(graph), report)]


# --------------------------------------------------------------------------- evaluation
def _eval(e: ast.Node, values: dict[str, int | float], env: Any,
          read: dict[str, int | float]) -> Any:
    if isinstance(e, ast.Literal):
        return e.value
    if isinstance(e, ast.Name):
        if e.id in values:
            read[e.id] = values[e.id]
            return values[e.id]
        return _variable(e, env)
    if isinstance(e, ast.Unary):
        operand = _eval(e.operand, values, env, read)
        if e.op == "not":
            return not _boolean(operand, e.operand)
        return -_number(operand, e.operand)
    if isinstance(e, ast.Binary):
        if e.op in ("and", "or"):
            truth = _boolean(_eval(e.left, values, env, read), e.left)
            if truth == (e.op == "or"):
                return truth
            return _boolean(_eval(e.right, values, env, read), e.right)
        left = _number(_eval(e.left, values, env, read), e.left)
        right = _number(_eval(e.right, values, env, read), e.right)
        if e.op in _COMPARE:
            return _COMPARE[e.op](left, right)
        try:  # the language's own arithmetic: its limits (a power's exponent, an
            # integer's size) hold here too, or `2 ** 64 ** 64G` runs out of memory
            return BINARY[e.op](left, right)
        except ValueError_ as exc:
            raise NetdslError(f"cannot compute this requirement: {exc}", e.span) from None
    raise NetdslError("a requirement is made of numbers, quantities (macs, params, ...), "
                      "arithmetic, comparisons and and/or/not", e.span)


def _variable(e: ast.Name, env: Any) -> Any:
    value = env.lookup(e.id) if env is not None else None
    from netdsl.language.values import MISSING

    if env is None or value is MISSING or not isinstance(value, (int, float, bool)):
        raise _unknown(e.id, e.span)
    return value


def _lookup_known(name: str, constraint: Constraint, env: Any) -> None:
    if name in QUANTITIES:
        return
    node = _find_name(constraint.expr, name)
    _variable(node, env)


def _unknown(name: str, span: Span) -> NetdslError:
    return NetdslError(f"unknown quantity '{name}' in a requirement{suggest(name, list(QUANTITIES))} "
                       f"(quantities: {', '.join(QUANTITIES)})", span)


def _find_name(e: ast.Node, name: str) -> ast.Name:
    if isinstance(e, ast.Name) and e.id == name:
        return e
    for child in _children(e):
        try:
            return _find_name(child, name)
        except LookupError:
            continue
    raise LookupError(name)


def _walk_names(e: ast.Node, found: set[str]) -> None:
    if isinstance(e, ast.Name):
        found.add(e.id)
    for child in _children(e):
        _walk_names(child, found)


def _children(e: ast.Node) -> tuple[ast.Node, ...]:
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Unary):
        return (e.operand,)
    return ()


def _boolean(value: Any, e: ast.Node) -> bool:
    if not isinstance(value, bool):
        raise NetdslError(f"expected true or false, got {_show(value)}", e.span)
    return value


def _number(value: Any, e: ast.Node) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetdslError(f"expected a number, got {_show(value)}", e.span)
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10_000:
        from netdsl.report import units

        return units.count(value)
    return str(value)


__all__ = ["QUANTITIES", "Constraint", "Violation", "check", "constraints_of",
           "parse_constraint", "quantities", "requirement_warnings", "validate"]
