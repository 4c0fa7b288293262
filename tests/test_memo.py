"""The block memo never changes a graph: every memoised elaboration equals one without it.

Each shipped spec, and random networks whose random blocks are called several times on
equal shapes (returning tensors, lists of tensors, or their input), are elaborated with
the memo (twice: the second from a warm cache) and without; the graphs must be the same
node for node: names, layers, inputs, block paths, source spans and outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.language import memo
from netdsl.language.elaborate import elaborate
from netdsl.layers import Field
from tests.test_random_networks import Value, random_chain, render

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.net"))


def signature(graph: Any) -> list:
    """Everything of a graph that a pass reads."""
    nodes = [(n, d["layer"].op, d["layer"].describe(), d["layer"].out_shape, d["inputs"],
              d["block"], d["span"]) for n, d in graph.nodes(data=True)]
    edges = sorted(graph.edges(keys=True))
    return [nodes, edges, graph.graph["outputs"], dict(graph.graph["inputs"])]


def same_with_and_without_memo(text: str, path: str, network: str | None = None) -> None:
    spec = netdsl.loads(text, path)
    cold = elaborate(spec.program, network)
    warm = elaborate(spec.program, network)  # served from the templates of the first
    fresh = elaborate(netdsl.loads(text, path).program, network, memoize=False)
    assert signature(cold) == signature(fresh)
    assert signature(warm) == signature(fresh)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_elaborates_the_same_without_the_memo(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for network in netdsl.loads(text, str(path)).networks:
        same_with_and_without_memo(text, str(path), network)


@st.composite
def blocky_networks(draw: Any) -> str:
    """A network calling random blocks twice each, on equal shapes: a block giving a pair
    of tensors (one of them, sometimes, its own input) and a shape-keeping unit."""
    rank = draw(st.sampled_from([0, 1, 2, 2, 3]))
    top = {0: 24, 1: 24, 2: 12, 3: 6}[rank]
    shape = (draw(st.integers(1, 4)), *[draw(st.integers(2, top)) for _ in range(rank)])
    start = Value("in", shape, Field.unit(rank))
    first, _ = random_chain(draw, start, draw(st.integers(0, 3)))
    second, _ = random_chain(draw, start, draw(st.integers(1, 3)))
    unit, _ = random_chain(draw, start, draw(st.integers(1, 3)), keep="shape")
    a = " -> ".join(["in", *first]) if first else "in"
    b = " -> ".join(["in", *second])
    u = " -> ".join(["in", *unit]) if unit else "in -> relu"
    return (f"block pair() {{\n    a = {a}\n    b = {b}\n    [a, b]\n}}\n"
            f"block unit() {{\n    {u}\n}}\n"
            f"block twice() {{\n    p = pair\n    q = pair\n"
            f"    concat(add(p[0], q[0]) -> flatten, add(p[1], q[1]) -> flatten)\n}}\n"
            f"network random() {{\n    input x: {render(list(shape))}\n"
            f"    u = unit -> unit\n    left = u -> twice\n    right = u -> twice\n"
            f"    add(left, right)\n}}\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(blocky_networks())
def test_random_blocks_elaborate_the_same_without_the_memo(text: str) -> None:
    try:
        netdsl.loads(text, "random.net").graph(network="random")
    except netdsl.NetdslError:  # a random unit that does not keep the shape, and the like
        return
    same_with_and_without_memo(text, "random.net")


def test_the_memo_is_used_and_bounded_by_use(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "specs" / "resnet50.net").read_text(encoding="utf-8")
    spec = netdsl.loads(text, "resnet50.net")
    spec.graph()
    assert len(spec.program.templates) > 0
    monkeypatch.setattr(memo, "MAX_TEMPLATES", 3)
    spec.graph(width=80)  # many new templates: only the 3 last used stay
    assert len(spec.program.templates) == 3


class Watcher:
    """A `CallObserver` that writes down what it is told, and may forbid replays."""

    def __init__(self, replay: bool) -> None:
        self.replay = replay
        self.events: list[tuple] = []

    def call_opened(self, cur: Any) -> None:
        self.events.append(("open", cur.shape if cur is not None else None))

    def call_entered(self, block: Any, given: dict, scope_path: str) -> None:
        self.events.append(("enter", block.name, {k: v for k, (v, _) in given.items()},
                            scope_path))

    def call_bound(self, block: Any, positional: int, keywords: Any, variables: dict,
                   scope_path: str) -> None:
        self.events.append(("bound", positional, [kw.name for kw in keywords],
                            {p.name: variables[p.name] for p in block.params}))

    def call_closed(self, result: Any, failed: bool) -> None:
        self.events.append(("close", failed, getattr(result, "shape", None)))

    def call_failed(self, inputs: tuple[str, ...], block_path: str) -> None:
        self.events.append(("failed", inputs, block_path))

    def may_replay(self, template: Any) -> bool:
        return self.replay


WATCHED = """
block unit(c) { conv(c, 3, padding = 1) -> relu }
block pair(c) { unit(c) -> unit(c) }
network n(bad = 1) {
    input x: [3, 8, 8]
    x -> conv(4, 1) -> pair(4) -> pair(4) -> unit(if bad == 1 { 5 } else { -2 })
}
"""


def watched(replay: bool, bad: int = 1) -> tuple[Watcher, Any]:
    from netdsl.errors import NetdslError
    from netdsl.language.context import Context
    from netdsl.language.elaborate import elaborate_context, select_network

    program = netdsl.loads(WATCHED, "watched.net").program
    watcher = Watcher(replay)
    ctx = Context(program, select_network(program, None), observer=watcher)
    try:
        graph = elaborate_context(ctx, {"bad": bad})
    except NetdslError:
        graph = None
    return watcher, graph


def test_an_observer_is_told_each_call_in_order() -> None:
    """Opened before its arguments, entered with their values and its scope, closed with
    its result; a memoised call (the second `unit(4)` and `pair(4)`) is told too, as one
    call without nested ones."""
    watcher, graph = watched(replay=True)
    assert graph is not None
    ev = watcher.events
    assert [e[0] for e in ev] == ["open", "enter", "bound", "open", "enter", "bound", "close",
                                  "open", "enter", "bound", "close", "close",
                                  "open", "enter", "bound", "close",
                                  "open", "enter", "bound", "close"]
    assert ev[1] == ("enter", "pair", {"c": 4}, "pair0")
    assert ev[2] == ("bound", 1, [], {"c": 4})
    assert ev[4] == ("enter", "unit", {"c": 4}, "pair0.unit0")
    assert ev[13] == ("enter", "pair", {"c": 4}, "pair1")  # replayed: no nested calls
    assert ev[0] == ("open", (4, 8, 8)) and ev[-1] == ("close", False, (5, 8, 8))


def test_an_observer_that_forbids_replays_sees_every_nested_call() -> None:
    """`may_replay` false: the memo's template does not stand in, and the graph is the
    same as with replays."""
    watcher, graph = watched(replay=False)
    replayed = watched(replay=True)[1]
    assert sum(e[0] == "enter" for e in watcher.events) == 7  # 2 pairs x 3 + the last unit
    assert signature(graph) == signature(replayed)


def test_an_observer_is_told_of_a_failing_call() -> None:
    """Closed as failed; the failing calls are told innermost first (the conv in `unit0`
    on its input, then the call of `unit` itself, made at the top)."""
    watcher, graph = watched(replay=True, bad=2)
    assert graph is None
    kinds = [e[0] for e in watcher.events]
    last_enter = len(kinds) - 1 - kinds[::-1].index("enter")
    assert watcher.events[last_enter][:2] == ("enter", "unit")
    after = watcher.events[last_enter + 2:]
    assert [e[0] for e in after] == ["failed", "failed", "close", "failed"]
    assert after[0] == ("failed", ("pair1.unit1.relu0",), "unit0")
    assert after[2] == ("close", True, None) and after[3][2] == ""
