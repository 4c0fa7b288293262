"""Memoised block calls: a block is a pure function of its arguments, its input shapes
and what it reads besides them.

A block's body sees only the globals (constants and blocks), its parameters and `in`,
and it may read search decisions from the elaboration's source. So two calls with equal
argument values, equally shaped tensors and equal reads build the same subgraph, up to
the name prefix and the nodes their tensor arguments come from. The first call is
recorded as a `Template` with what its body read (`Template.reads`, in order); a later
call with equal arguments reads the same things again under its own path (the evaluator's
`replay_reads`) and, when every value agrees, re-instantiates the template under its own
prefix without interpreting the body again. A new kind of read (a scoped default, say)
is one more kind in `reads` and in the replay; a kind the replay does not know is never
reused. ResNet-50 repeats 12 of its 16 units exactly, and architecture search
re-elaborates mostly unchanged blocks. The cache is bounded by use: the least recently
used templates are dropped first (`MAX_TEMPLATES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.language.decisions import Decision
from netdsl.language.values import Callee, Tensor


class Template:
    """The nodes one block call made, relative to its scope, and what it returned."""

    __slots__ = ("externals", "nodes", "result", "depth", "reads")

    def __init__(self, externals: tuple[str, ...], nodes: list[tuple], result: tuple,
                 depth: int, reads: tuple[tuple[str, str, Any, Any], ...] = ()) -> None:
        self.externals = externals  # names of the tensor-valued variables, in order
        self.nodes = nodes  # (relative name, layer, span, relative block path, inputs)
        # ("node", relative name, shape) | ("ext", index) | ("value", v) | ("list", parts)
        self.result = result
        self.depth = depth  # how deep the call's own block calls nested
        # What the body read besides its arguments, in order: (kind, name relative to the
        # call's path, what was read, its value); kind "decision": a search decision. A
        # later call reuses the template only when its own reads give the same values.
        self.reads = reads


#: Templates kept per loaded spec; the least recently used go first.
MAX_TEMPLATES = 20_000


def lookup(templates: dict[tuple, Template], key: tuple) -> Template | None:
    """The template of a call, marked as just used (a dict keeps insertion order: the
    least recently used template is the first)."""
    template = templates.pop(key, None)
    if template is not None:
        templates[key] = template
    return template


def store(templates: dict[tuple, Template], key: tuple, template: Template) -> None:
    """Keep a template, dropping the least recently used when the cache is full."""
    templates.pop(key, None)
    while len(templates) >= MAX_TEMPLATES:
        del templates[next(iter(templates))]
    templates[key] = template


def call_key(block: Any, variables: dict[str, Any]) -> tuple | None:
    """A hashable key for a call: the block and its bound values (tensors by shape)."""
    try:
        return (id(block), tuple((name, _freeze(v)) for name, v in variables.items()),
                _aliases(variables))
    except TypeError:
        return None


def _aliases(variables: dict[str, Any]) -> tuple[int, ...]:
    """Which tensor variables are the same tensor (a template's result names the first of
    them): `f(in, x)` with x = in and with x a new tensor of the same shape differ."""
    first: dict[str, int] = {}
    return tuple(first.setdefault(v.node, i) for i, v in enumerate(variables.values())
                 if type(v) is Tensor)


def _freeze(value: Any) -> Any:
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    if kind is Tensor:
        return ("tensor", value.shape)
    if kind is list or kind is tuple:
        return ("list", tuple(_freeze(v) for v in value))
    if kind is bool or kind is float:
        return (kind, value)  # 1, 1.0 and true hash alike: keep them apart
    if kind is Callee:  # a block or layer passed as a value: which one it is
        return ("callee", id(value.ref), _freeze(list(value.args)),
                _freeze([list(kv) for kv in value.kwargs]))
    raise TypeError(kind)


def record(scope_path: str, made: list[tuple[str, dict]], result: Any,
           variables: dict[str, Any], depth: int,
           reads: Sequence[tuple[str, Decision, Any]] = ()) -> Template | None:
    """Describe the nodes a call made; None when the call reached outside its inputs."""
    ext_names = tuple(n for n, v in variables.items() if type(v) is Tensor)
    ext_index: dict[str, int] = {}
    for i, name in enumerate(ext_names):
        ext_index.setdefault(variables[name].node, i)
    prefix = scope_path + "."
    cut = len(prefix)
    nodes = []
    for name, data in made:
        inputs = []
        for p in data["inputs"]:
            if p.startswith(prefix):
                inputs.append(p[cut:])
            elif p in ext_index:
                inputs.append(ext_index[p])
            else:
                return None
        nodes.append((name[cut:], data["layer"], data["span"], data["block"][len(scope_path):],
                      tuple(inputs)))
    kept = _result(result, prefix, ext_index)
    if kept is None:
        return None
    relative = []
    for kind, what, value in reads:
        if not what.name.startswith(prefix):  # read outside the call's scope: no template
            return None
        relative.append((kind, what.name[len(scope_path):], what, value))
    return Template(ext_names, nodes, kept, depth, tuple(relative))


def _result(value: Any, prefix: str, ext_index: dict[str, int]) -> tuple | None:
    """A call's value relative to its scope; None when it cannot be replayed."""
    if type(value) is Tensor:
        if value.node.startswith(prefix):
            return ("node", value.node[len(prefix):], value.shape)
        if value.node in ext_index:
            return ("ext", ext_index[value.node])
        return None
    if type(value) is list and any(type(v) is Tensor or type(v) is list for v in value):
        # A list holding tensors: each tensor must be renamed, as a result of its own.
        parts = []
        for item in value:
            part = _result(item, prefix, ext_index)
            if part is None:
                return None
            parts.append(part)
        return ("list", tuple(parts))
    try:
        _freeze(value)
    except TypeError:
        return None
    return ("value", value)


def instantiate(template: Template, scope_path: str, variables: dict[str, Any],
                nodes: list[tuple[str, dict]], edges: list[tuple[str, str, int]]) -> Any:
    """Append the template's nodes under `scope_path`; return the call's value."""
    externals = [variables[name].node for name in template.externals]
    prefix = scope_path + "."
    for rel, layer, span, block_rel, ins in template.nodes:
        name = prefix + rel
        preds = tuple(prefix + x if type(x) is str else externals[x] for x in ins)
        nodes.append((name, {"layer": layer, "span": span, "block": scope_path + block_rel,
                             "inputs": preds}))
        edges.extend((p, name, position) for position, p in enumerate(preds))
    return _value(template.result, prefix, template.externals, variables)


def _value(kept: tuple, prefix: str, externals: tuple[str, ...], variables: dict[str, Any]) -> Any:
    kind = kept[0]
    if kind == "node":
        return Tensor(prefix + kept[1], kept[2])
    if kind == "ext":
        return variables[externals[kept[1]]]
    if kind == "list":
        return [_value(part, prefix, externals, variables) for part in kept[1]]
    value = kept[1]
    return list(value) if isinstance(value, list) else value
