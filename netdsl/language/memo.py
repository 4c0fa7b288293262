"""Memoised block calls: a block is a pure function of its arguments, its input shapes
and what it reads besides them.

A block's body sees only the globals (constants and blocks), its parameters and `in`,
and it may read search decisions from the elaboration's source. So two calls with equal
argument values, equally shaped tensors and equal reads build the same subgraph, up to
the name prefix and the nodes their tensor arguments come from. The first call is
kept as a `Pending` call (the immutable rows of the nodes it made, its result and what
its body read, in order); a later equal call records it as a `Template`, which most first
calls never need (a whole-network variant of ResNet-50 makes 49 calls, 13 of them met
again). A later call with equal arguments reads the same things again under its own path
(the evaluator's `replay_reads`) and, when every value agrees, re-instantiates the
template under its own prefix without interpreting the body again. A new kind of read (a
scoped default, say) is one more kind in `reads` and in the replay; a kind the replay does
not know is never reused. ResNet-50 repeats 12 of its 16 units exactly, and architecture
search re-elaborates mostly unchanged blocks. The cache is bounded by use: the least
recently used templates are dropped first (`MAX_TEMPLATES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from netdsl.language.decisions import Decision
from netdsl.language.values import Callee, Tensor


class Template:
    """The nodes one block call made, relative to its scope, and what it returned."""

    __slots__ = ("externals", "nodes", "result", "depth", "reads")

    def __init__(self, externals: tuple[str, ...], nodes: list[Any], result: tuple,
                 depth: int, reads: tuple[tuple[str, str, Any, Any], ...] = ()) -> None:
        self.externals = externals  # names of the tensor-valued variables, in order
        # ROW_WIDTH items per node, flat (as `Pending.rows`): relative name, layer, span,
        # relative block path, inputs
        self.nodes = nodes
        # ("node", relative name, shape) | ("ext", index) | ("value", v) | ("list", parts)
        self.result = result
        self.depth = depth  # how deep the call's own block calls nested
        # What the body read besides its arguments, in order: (kind, name relative to the
        # call's path, what was read, its value); kind "decision": a search decision. A
        # later call reuses the template only when its own reads give the same values.
        self.reads = reads


class Pending:
    """A call met once: what `record` needs, kept until an equal call asks for it.

    `rows` are the immutable rows of the nodes the call made, ROW_WIDTH items each (name,
    layer, span, block path, inputs) in one flat list, so the template recorded later is
    the one recording it now would give. (Flat: most pending calls are never met again,
    and a tuple per node would be one more object kept for the garbage collector to
    rescan; a search keeps thousands of pending calls.) `tensors` are the call's
    tensor-valued variables as (name, node) pairs, in order: all `record` reads of them.
    """

    __slots__ = ("scope_path", "rows", "result", "tensors", "depth", "reads")

    def __init__(self, scope_path: str, rows: list[Any], result: Any,
                 variables: dict[str, Any], depth: int,
                 reads: tuple[tuple[str, str, Any, Any], ...]) -> None:
        self.scope_path, self.rows, self.result = scope_path, rows, result
        self.tensors = tuple((n, v.node) for n, v in variables.items() if type(v) is Tensor)
        # (as `Template.reads`: a later call is served only if its reads give the same
        # values, checked before the template is recorded)
        self.depth, self.reads = depth, reads


def relative_reads(scope_path: str, reads: Sequence[tuple[Decision, Any]]
                   ) -> tuple[tuple[str, str, Any, Any], ...] | None:
    """A call's decision reads (`Context.reads` while it ran) as a template keeps them:
    each decision once, in the order first read, named relative to the call's path;
    None when one was made outside the call's scope (no template then).

    Every read counts, not only a decision's first: an enclosing call's replay may have
    asked one of this call's decisions before the call began (it stops at the first
    answer that differs). Left out, the template would serve later calls whatever that
    decision's answer, with the network of the answer it was recorded with.
    """
    prefix = scope_path + "."
    relative = []
    seen = set()
    for what, value in reads:
        name = what.name
        if name in seen:
            continue
        if not name.startswith(prefix):
            return None
        seen.add(name)
        relative.append(("decision", name[len(scope_path):], what, value))
    return tuple(relative)


#: Items per node in `Context.rows` and `Pending.rows`: name, layer, span, block path, inputs.
ROW_WIDTH = 5

#: Templates kept per loaded spec; the least recently used go first.
MAX_TEMPLATES = 20_000


def lookup(templates: dict[tuple, Template | Pending], key: tuple) -> Template | Pending | None:
    """The template or pending call of a call, marked as just used (a dict keeps insertion
    order: the least recently used is the first)."""
    template = templates.pop(key, None)
    if template is not None:
        templates[key] = template
    return template


def realize(templates: dict[tuple, Template | Pending], key: tuple,
            template: Template | Pending) -> Template | None:
    """The template of a call found by `lookup`: a pending call is recorded now (and kept
    as its template); None, and forgotten, when it cannot be replayed."""
    if isinstance(template, Template):
        return template
    made = record(template.scope_path, template.rows, template.result, template.tensors,
                  template.depth, template.reads)
    if made is None:  # the call cannot be replayed: it is interpreted again
        del templates[key]
    else:
        templates[key] = made
    return made


def store(templates: dict[tuple, Template | Pending], key: tuple,
          template: Template | Pending) -> None:
    """Keep a template, dropping the least recently used when the cache is full."""
    templates.pop(key, None)
    while len(templates) >= MAX_TEMPLATES:
        del templates[next(iter(templates))]
    templates[key] = template


def call_key(block: Any, variables: dict[str, Any]) -> tuple | None:
    """A hashable key for a call: the block, its bound values (tensors by shape) and which
    tensor variables are the same tensor (a template's result names the first of them:
    `f(in, x)` with x = in and with x a new tensor of the same shape differ)."""
    # one flat run (name, value, name, value, ...): names are strings and every value is
    # one item, so the run is unambiguous (and makes no tuple per variable)
    items: list[Any] = [id(block)]
    first: dict[str, int] = {}
    aliases = []  # for each tensor variable, the first variable holding the same tensor
    try:
        for i, (name, v) in enumerate(variables.items()):
            items.append(name)
            kind = type(v)
            if kind is int or kind is str or v is None:  # `freeze` of the common values
                items.append(v)
            elif kind is Tensor:
                items.append(("tensor", v.shape))
                aliases.append(first.setdefault(v.node, i))
            else:
                items.append(freeze(v))
    except TypeError:
        return None
    items.append(tuple(aliases))
    return tuple(items)


def freeze(value: Any) -> Any:
    """A hashable stand-in for a value, equal for values an elaboration takes alike
    (tensors by shape; 1, 1.0 and true kept apart); TypeError for one it cannot take."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    if kind is Tensor:
        return ("tensor", value.shape)
    if kind is list or kind is tuple:
        return ("list", tuple(freeze(v) for v in value))
    if kind is bool or kind is float:
        return (kind, value)  # 1, 1.0 and true hash alike: keep them apart
    if kind is Callee:  # a block or layer passed as a value: which one it is
        return ("callee", id(value.ref), freeze(list(value.args)),
                freeze([list(kv) for kv in value.kwargs]))
    raise TypeError(kind)


def record(scope_path: str, made: list[Any], result: Any,
           tensors: tuple[tuple[str, str], ...], depth: int,
           reads: tuple[tuple[str, str, Any, Any], ...] = ()) -> Template | None:
    """Describe the nodes a call made (their flat rows: name, layer, span, block path,
    inputs, ROW_WIDTH items each), given its tensor variables' (name, node) in order and
    its reads (`relative_reads`); None when the call reached outside its inputs."""
    ext_names = tuple(name for name, _ in tensors)
    ext_index: dict[str, int] = {}
    for i, (_, node) in enumerate(tensors):
        ext_index.setdefault(node, i)
    prefix = scope_path + "."
    cut = len(prefix)
    nodes: list[Any] = []
    items = iter(made)
    for name, layer, span, block, preds in zip(*[items] * ROW_WIDTH):
        inputs = []
        for p in preds:
            if p.startswith(prefix):
                inputs.append(p[cut:])
            elif p in ext_index:
                inputs.append(ext_index[p])
            else:
                return None
        nodes.extend((name[cut:], layer, span, block[len(scope_path):], tuple(inputs)))
    kept = _result(result, prefix, ext_index)
    if kept is None:
        return None
    return Template(ext_names, nodes, kept, depth, reads)


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
        freeze(value)
    except TypeError:
        return None
    return ("value", value)


def instantiate(template: Template, scope_path: str, variables: dict[str, Any],
                append: Callable[[str, Any, Any, str, tuple[str, ...]], None]) -> Any:
    """Add the template's nodes under `scope_path` with `append` (`Context.append_node`);
    return the call's value."""
    externals = [variables[name].node for name in template.externals]
    prefix = scope_path + "."
    items = iter(template.nodes)
    for rel, layer, span, block_rel, ins in zip(*[items] * ROW_WIDTH):
        if len(ins) == 1:  # most layers (the same as below, without a generator)
            x = ins[0]
            preds: tuple[str, ...] = (prefix + x if type(x) is str else externals[x],)
        else:
            preds = tuple(prefix + x if type(x) is str else externals[x] for x in ins)
        append(prefix + rel, layer, span, scope_path + block_rel, preds)
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
