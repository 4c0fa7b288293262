"""Traced elaboration, and the exact size of a search space.

A search space is the tree of decisions elaboration reaches: elaboration is deterministic,
so which decision comes next depends only on the values given to the earlier ones. A
*prefix* (the values of the first k decisions asked, in order) replays exactly; the
decisions after it take their defaults. Counting the tree's leaves by brute force costs one
elaboration per leaf, which no MnasNet-style space allows (12 ** 20 leaves and more).

`count` walks the tree depth first but collapses block calls. A block is a pure function of
its arguments and its input's shape (the same fact the block memo relies on,
netdsl/language/memo.py), so the decisions reached inside a call, and which of them gate
which, depend only on the call's key (block, argument values, input shape): not on where
it is made. And what follows the call depends only on the value it returns (tensors by
shape: no construct of the language looks at a tensor's identity). So for a call whose body
reaches decisions, `count` enumerates its body's assignments once per key, groups them by
the value returned (`inner table`: result -> number of assignments, one representative), and
continues after the call once per distinct result, multiplying. A MnasNet unit with kernel
x expansion x SE decisions is explored 12 ways once per distinct (channels, stride, input
shape), however many stages reach it, and the stage's depth decision multiplies the
product of its units' counts.

Cost: one elaboration per node of the collapsed tree: for each distinct call key, the nodes
of its body's own tree (its nested calls collapsed in turn), plus, per distinct result, the
continuation. For the shipped spaces that is hundreds to a few thousand elaborations; a
space where every decision gates the next (nothing to collapse) still costs one elaboration
per leaf. Sound modulo one documented assumption: the limit on the number of layers
(MAX_NODES), which depends on the nodes made before a call, is not part of the key.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from netdsl.errors import NetdslError
from netdsl.language import syntax as ast
from netdsl.language.choices import same_value
from netdsl.language.context import Context
from netdsl.language.decisions import Decision
from netdsl.language.elaborate import deep_enough, elaborate_context, select_network
from netdsl.language.loader import Program
from netdsl.language.memo import Pending, Template
from netdsl.language.values import Tensor


def freeze(value: Any) -> Any:
    """A hashable stand-in for a value: tensors by shape, 1/1.0/true kept apart."""
    kind = type(value)
    if kind is Tensor:
        return ("tensor", value.shape)
    if kind is list or kind is tuple:
        return ("list", tuple(freeze(v) for v in value))
    if kind is dict:
        return ("dict", tuple(sorted((k, freeze(v)) for k, v in value.items())))
    if value is None or kind in (int, str, bool, float):
        return (kind.__name__, value)
    return ("object", id(value))  # never equal to another: no grouping, still exact


class Script:
    """A decision source replaying a prefix of values by position, then the defaults."""

    def __init__(self, prefix: Sequence[Any]) -> None:
        self.prefix = prefix
        self.asked: list[tuple[Decision, Any]] = []

    def decide(self, decision: Decision) -> Any:
        k = len(self.asked)
        value = self.prefix[k] if k < len(self.prefix) else decision.default
        self.asked.append((decision, value))
        return value


@dataclass
class _Frame:
    ordinal: int
    cur: Any
    key: Any = None
    entry: int = -1  # decisions asked when the body started (after the arguments)
    scope: str = ""


@dataclass
class Run:
    """What one traced elaboration saw."""

    asked: list[tuple[Decision, Any]]
    #: per block call (by scope path, which the prefix determines; a call's ordinal would
    #: depend on which calls the memo replayed): (decisions asked at exit, frozen result)
    exits: dict[str, tuple[int, Any]]
    #: per decision asked, the calls open (outermost first) when it was asked
    open_stacks: list[list[_Frame]]
    graph: nx.MultiDiGraph | None = None
    error: NetdslError | None = None
    layer_args: dict[int, tuple[str, list[Any], dict[str, Any]]] = field(default_factory=dict)


class _Tracer:
    """What search watches of one elaboration: its decision source (the script) and its
    call observer (`CallObserver`), noting each block call's key, entry, exit and result
    as decisions are asked."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.stack: list[_Frame] = []
        self.calls = 0
        self.exits: dict[str, tuple[int, Any]] = {}
        self.open_stacks: list[list[_Frame]] = []  # the open calls at each decision asked

    def decide(self, decision: Decision) -> Any:
        self.open_stacks.append([_Frame(f.ordinal, None, f.key, f.entry, f.scope)
                                 for f in self.stack])
        return self.script.decide(decision)

    def may_replay(self, template: Template | Pending) -> bool:
        # A memoised call whose body reached decisions is interpreted again, so that its
        # nested calls are frames too; calls without decisions replay as usual.
        return not template.reads

    def call_opened(self, cur: Tensor | None) -> None:
        self.stack.append(_Frame(self.calls, cur))
        self.calls += 1

    def call_entered(self, block: ast.BlockDef, given: dict[str, tuple[Any, Any]],
                     scope_path: str) -> None:
        frame = self.stack[-1]
        frame.key = (id(block), freeze({k: v for k, (v, _) in given.items()}), freeze(frame.cur))
        frame.entry = len(self.script.asked)
        frame.scope = scope_path

    def call_bound(self, block: ast.BlockDef, positional: int, keywords: Any,
                   variables: dict[str, Any], scope_path: str) -> None:
        pass  # (the call's key is what it was given: `call_entered`)

    def call_closed(self, result: Any, failed: bool) -> None:
        frame = self.stack.pop()
        if not failed:
            self.exits[frame.scope] = (len(self.script.asked), freeze(result))

    def call_failed(self, inputs: tuple[str, ...], block_path: str) -> None:
        pass  # (a failed run's decisions are what it asked)


def traced_run(program: Program, network: str | None, params: Mapping[str, Any],
               inputs: Mapping[str, Any] | None, prefix: Sequence[Any]) -> Run:
    """Elaborate with `prefix` replayed (then defaults), noting calls and decisions."""
    definition = select_network(program, network)
    script = Script(prefix)
    tracer = _Tracer(script)
    graph, error = None, None
    try:
        with deep_enough(definition):
            ctx = Context(program, definition, dict(inputs or {}), tracer, observer=tracer)
            graph = elaborate_context(ctx, dict(params))
    except NetdslError as exc:
        error = exc
    return Run(script.asked, tracer.exits, tracer.open_stacks, graph, error)


# ------------------------------------------------------------------------------- counting
_END = ("end",)
_ERROR = ("error",)


@dataclass
class Found:
    """A decision met while counting, with the values of earlier branched decisions."""

    decision: Decision
    #: earlier decision name -> the values under which this one was reached
    under: dict[str, set] = field(default_factory=dict)
    gated_by: set[str] = field(default_factory=set)


class Counter:
    """Exact count of a space's decision assignments (see the module docstring)."""

    def __init__(self, program: Program, network: str | None, params: Mapping[str, Any],
                 inputs: Mapping[str, Any] | None, max_runs: int = 2_000_000) -> None:
        self.program, self.network, self.params, self.inputs = program, network, params, inputs
        self.runs = 0
        self.max_runs = max_runs
        self.tables: dict[Any, dict[Any, list]] = {}
        self.cache: dict[tuple, Run] = {}
        self.found: dict[str, Found] = {}
        self.inner: dict[Any, tuple[str, list[Found]]] = {}
        self.collectors: list[list[str]] = []  # names noted inside the calls being explored

    def run(self, prefix: tuple) -> Run:
        """The traced run for `prefix`: it also answers every longer prefix that extends it
        with the defaults it took (the same elaboration), so those are cached too."""
        key = tuple(freeze(v) for v in prefix)
        got = self.cache.get(key)
        if got is None:
            self.runs += 1
            if self.runs > self.max_runs:
                raise NetdslError(f"counting this space needs more than {self.max_runs} "
                                  "elaborations")
            got = traced_run(self.program, self.network, self.params, self.inputs, prefix)
            got.graph = None  # only the trace is needed: keep the cache small
            if len(self.cache) > 65536:
                self.cache.clear()
            covered = key
            for _, value in got.asked[len(prefix):]:
                covered = covered + (freeze(value),)
                self.cache[covered] = got
            self.cache[key] = got
        return got

    def count(self) -> int | float:
        """The number of distinct complete assignments, conditions respected."""
        table = self.explore((), None, ())
        return sum(n for n, _ in table.values())

    def explore(self, prefix: tuple, boundary: _Frame | None,
                path: tuple[tuple[str, Any], ...]) -> dict[Any, list]:
        """result -> [count, representative segment] of the assignments extending `prefix`
        until `boundary` (a block call) returns, or the elaboration ends."""
        run = self.run(prefix)
        k = len(prefix)
        if boundary is not None:
            exit_ = run.exits.get(boundary.scope)
            if exit_ is not None and exit_[0] <= k:
                return {exit_[1]: [1, ()]}
        if len(run.asked) <= k:
            return {(_ERROR if boundary is not None else _END): [1, ()]}
        decision = run.asked[k][0]
        self.note(decision, path)
        stack = run.open_stacks[k]
        if boundary is not None:
            at = next(i for i, f in enumerate(stack) if f.scope == boundary.scope)
            stack = stack[at + 1:]
        candidate = next((f for f in stack if f.entry == k and f.key is not None), None)
        if candidate is not None:
            return self.collapse(prefix, boundary, candidate, path)
        return self.branch(prefix, boundary, decision, path)

    def collapse(self, prefix: tuple, boundary: _Frame | None, call: _Frame,
                 path: tuple) -> dict[Any, list]:
        table = self.tables.get(call.key)
        if table is None:
            self.collectors.append(names := [])
            try:
                table = self.tables[call.key] = self.explore(prefix, call, path)
            finally:
                self.collectors.pop()
            self.inner[call.key] = (call.scope, [self.found[n] for n in dict.fromkeys(names)])
        else:  # the same body elsewhere: its decisions exist here too, under this call's path
            scope, inner = self.inner[call.key]
            for f in inner:
                if f.decision.name.startswith(scope + "."):
                    name = call.scope + f.decision.name[len(scope):]
                    d = f.decision
                    self.note(Decision(name, d.domain, d.default, d.span), path,
                              (f, scope + ".", call.scope + "."))
        total: dict[Any, list] = {}
        for result, (n, segment) in table.items():
            if result == _ERROR:
                _add(total, _ERROR if boundary is not None else _END, n, segment)
                continue
            rest = self.explore(prefix + segment, boundary, path)
            for r2, (n2, seg2) in rest.items():
                _add(total, r2, n * n2, segment + seg2)
        return total

    def branch(self, prefix: tuple, boundary: _Frame | None, decision: Decision,
               path: tuple) -> dict[Any, list]:
        values = decision.domain.values()
        infinite = values is None
        if infinite:
            values = [decision.default]
        total: dict[Any, list] = {}
        for value in values:
            sub = self.explore(prefix + (value,), boundary, path + ((decision.name, value),))
            for r, (n, seg) in sub.items():
                _add(total, r, math.inf if infinite else n, (value,) + seg)
        return total

    def note(self, decision: Decision, path: tuple,
             like: tuple[Found, str, str] | None = None) -> None:
        found = self.found.get(decision.name)
        if found is None:
            found = self.found[decision.name] = Found(decision)
        for names in self.collectors:
            names.append(decision.name)
        for name, value in path:
            found.under.setdefault(name, set()).add(freeze(value))
        if like is not None:  # a copy of a decision inside an equal call elsewhere
            original, scope_old, scope_new = like
            for name, seen in original.under.items():
                if name.startswith(scope_old):
                    found.under.setdefault(scope_new + name[len(scope_old):], set()).update(seen)


def _add(total: dict[Any, list], result: Any, n: int | float, segment: tuple) -> None:
    entry = total.get(result)
    if entry is None:
        total[result] = [n, segment]
    else:
        entry[0] += n


def conditions(found: dict[str, Found], domains: dict[str, Decision]) -> dict[str, dict]:
    """Per decision, the earlier decisions that gate it and the values under which it is reached.

    A decision D gates X when X was reached under some of D's values only.
    """
    out: dict[str, dict] = {}
    for name, f in found.items():
        gates = {}
        for earlier, seen in f.under.items():
            d = domains.get(earlier)
            options = d.domain.values() if d is not None else None
            if options is None:
                continue
            reached = [v for v in options if freeze(v) in seen]
            if len(reached) < len(options):
                gates[earlier] = reached
        out[name] = gates
    return out


__all__ = ["Counter", "Run", "Script", "conditions", "freeze", "same_value", "traced_run"]


# --------------------------------------------------------------------- up-front decisions
def _walk(node: Any) -> Any:
    """Every syntax node under `node` (itself included)."""
    if isinstance(node, ast.Node):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _walk(item)


def _literal(e: Any) -> bool:
    if isinstance(e, ast.Literal):
        return True
    if isinstance(e, ast.Unary) and e.op == "-":
        return _literal(e.operand)
    if isinstance(e, ast.ListExpr):
        return all(_literal(i) for i in e.items)
    return False


def up_front(program: Program, network: str | None, params: Mapping[str, Any],
             is_decision: Any) -> list[tuple[str, ast.Call]] | None:
    """The decisions when every one is made up front, else None.

    Up front: no block has a decision; the network's decisions are the defaults of its
    untyped parameters and the values of its first assignments (after inputs and
    requirements only), each a decision with literal arguments or a list of them. Then
    every decision is reached by every assignment, with a fixed domain, so the space is
    the product of the domains (no elaboration needed).
    """
    definition = select_network(program, network)
    seen: set[int] = set()
    for namespace in program.namespaces.values():
        for block in namespace.values():
            if id(block) in seen or block is definition:
                continue
            seen.add(id(block))
            if any(is_decision(n) for n in _walk(block)):
                return None
    found: list[tuple[str, ast.Call]] = []
    for param in definition.params:
        if param.default is None or param.name in params:
            continue
        if any(is_decision(n) for n in _walk(param.default)):
            if param.type is not None or not _fixed(param.default, is_decision):
                return None
            found.append((_named(param.default) or param.name, param.default))
    closed = False  # past the up-front assignments: no decision may follow
    for st in definition.body.statements:
        has = any(is_decision(n) for n in _walk(st))
        if isinstance(st, (ast.InputDecl, ast.Require)) and not has:
            continue
        if has and (closed or not isinstance(st, ast.Assign)):
            return None
        if not has:
            closed = True
            continue
        items = st.value.items if isinstance(st.value, ast.ListExpr) else (st.value,)
        for item in items:
            if not _fixed(item, is_decision):
                return None
            name = _named(item) or (st.name if item is st.value else None)
            if name is None:
                return None  # an anonymous decision: elaboration reports it
            found.append((name, item))
    names = [n for n, _ in found]
    return found if len(set(names)) == len(names) else None


def _fixed(e: Any, is_decision: Any) -> bool:
    """A decision call whose arguments are all literals."""
    return (isinstance(e, ast.Call) and is_decision(e) and all(_literal(a) for a in e.args)
            and all(_literal(k.value) for k in e.kwargs))


def _named(call: ast.Call) -> str | None:
    for kw in call.kwargs:
        if kw.name == "name" and isinstance(kw.value, ast.Literal):
            return str(kw.value.value)
    return None
