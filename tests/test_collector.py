"""What an analysis leaves to Python's cyclic garbage collector.

A search analyses thousands of candidates in one process, and every collection rescans
each tracked object still alive: the caches' records and memoised calls, the user's
own objects (torch's, Optuna's). So an analysis makes no reference cycles (what it made
is freed as soon as the caller drops it), and what the caches keep per candidate is a
few objects the collector tracks, not one per node and per fact
(benchmarks/README.md, "sustained"). The memos this relies on give the answers of the
rules they remember.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import netdsl
from netdsl.graph import format_ir
from netdsl.layers import REGISTRY, base, registry
from netdsl.layers.base import Field, intern_field
from netdsl.layers.registry import create

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.net"))


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The collector paused (and emptied first), restored after; networkx's first graph
    made before (its set-up makes a few cycles once)."""
    netdsl.loads("network tiny() {\n    input x: [3, 8, 8]\n    x -> relu\n}\n").graph()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_an_analysis_leaves_no_cyclic_garbage(path: Path, collector_off: None) -> None:
    def every_call(spec: netdsl.Spec, network: str) -> None:
        spec.analyze(network)  # the first (a fresh memo) and a memoised one
        spec.analyze(network)
        spec.graph(network)

    warm = netdsl.load(path)
    for network in warm.networks:  # networkx compiles some functions on their first call
        every_call(warm, network)
    gc.collect()
    spec = netdsl.load(path)
    for network in spec.networks:
        every_call(spec, network)
        assert gc.collect() == 0, f"{path.name}: {network} left cyclic garbage"


FAILING = {  # a search meets failing candidates all the time: each kind of mistake
    "a layer's argument": {"width": -4},
    "a block's assert": {"layers": [3, 4, 6, 3], "width": 64, "dilation": 2},
    "a parameter the network lacks": {"depth": 3},
    "a list index": {"layers": [3, 4]},
}
FAILING_SPEC = """
import std.resnet

network net(width = 64, layers = [3, 4, 6, 3], dilation = 1) {
    input image: [3, 64, 64]
    image -> resnet_stem -> stage(basic, width, layers[3], dilation = dilation)
}
"""


@pytest.mark.parametrize("values", FAILING.values(), ids=FAILING.keys())
def test_a_failed_elaboration_leaves_no_cyclic_garbage(values: dict,
                                                       collector_off: None) -> None:
    spec = netdsl.loads(FAILING_SPEC, "failing.net")
    spec.analyze()  # the spec itself is sound
    for _ in range(2):  # the first failure may set up what later ones reuse
        with pytest.raises(netdsl.NetdslError):
            spec.analyze(**values)
        assert gc.collect() == 0 or _ == 0


def _tracked() -> int:
    for _ in range(3):  # a tuple is untracked once its items are: a pass per nesting
        gc.collect()
    return len(gc.get_objects())


def test_caches_keep_few_tracked_objects_per_candidate() -> None:
    # 47 is measured (ResNet-50 width variants: 176 nodes, about 50 new layer records,
    # their keys and plans untracked); 205 when a replay kept memoised calls, and 838
    # before that. The bound leaves room for other CPython versions.
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    for width in range(16, 26):
        spec.analyze(width=width)
    before = _tracked()
    for width in range(26, 56):
        spec.analyze(width=width)
    per_candidate = (_tracked() - before) / 30
    assert per_candidate < 120, per_candidate


def test_a_variants_new_cache_entries_leave_the_collector_at_its_first_pass() -> None:
    """The layer cache's keys and its records' plans leave the garbage collector at
    its first young collection (one it tracks would be rescanned by every full
    collection of a search's process); the window rules are the earlier variants'."""
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    spec.analyze(width=977)  # widths no other test uses: their records are new
    spec.analyze(width=978)
    before = set(registry._LAYER_CACHE)
    rules = set(map(id, base._SHARED_CACHE.values()))
    spec.analyze(width=979)
    gc.collect(0)
    new = [registry._LAYER_CACHE[key] for key in registry._LAYER_CACHE if key not in before]
    assert len(new) > 20  # a width variant makes a new record for each convolution
    assert not [key for key in registry._LAYER_CACHE if key not in before and gc.is_tracked(key)]
    assert not [r for r in new if gc.is_tracked(r.plan_numbers(r._plan_in))]
    assert all(id(r.field_rule()) in rules for r in new if isinstance(r, base.SlidingWindow))


def test_report_graph_is_the_networkx_graph_made_on_first_read() -> None:
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    report = spec.analyze(width=32)
    graph, direct = report.graph, spec.graph(width=32)
    assert report.graph is graph  # made once
    assert type(graph) is type(direct)
    assert format_ir(graph) == format_ir(direct)  # nodes, layers, shapes, blocks, inputs
    assert [d["span"] for _, d in graph.nodes(data=True)] == [
        d["span"] for _, d in direct.nodes(data=True)]
    assert list(graph.edges(keys=True)) == list(direct.edges(keys=True))
    assert graph.graph.keys() == direct.graph.keys()


def _conv(in_shape: tuple[int, ...]) -> netdsl.layers.base.Layer:
    return create(REGISTRY["conv"], [8, 3], {"stride": 2, "padding": 1}, (in_shape,))


def test_receptive_field_memo_answers_as_the_rule_for_each_input() -> None:
    layer = _conv((4, 32, 32))
    inputs = [Field((1, 1), (1, 1), (0, 0)), Field((3, 3), (1, 1), (1, 1)),
              Field((7, 7), (2, 2), (3, 3), True), Field((5, 5), (2, 2), (2, 2))]
    for _ in range(2):  # met first, then remembered: the first and the later ones
        for field in inputs:
            assert layer.field_of((field,)) == layer.receptive_field((field,))
    merge = create(REGISTRY["add"], [], {}, ((4, 8, 8), (4, 8, 8)))
    for _ in range(2):
        for pair in [(inputs[0], inputs[1]), (inputs[1], inputs[0]), (inputs[2], inputs[3])]:
            assert merge.field_of(pair) == merge.receptive_field(pair)


def test_saved_plan_memo_answers_as_the_rule_for_each_pattern() -> None:
    layer = create(REGISTRY["mul"], [], {}, ((4, 8, 8), (4, 8, 8), (4, 8, 8)))
    patterns = [(True, True, True), (False, True, False), (True, False, False),
                (False, False, False)]
    for _ in range(2):
        for flags in patterns:
            fresh = layer._plan(flags)
            assert layer.plan_numbers(flags) == fresh
            assert tuple(layer.saved_plan(flags)) == fresh


def test_interned_fields_are_equal_and_keep_their_numbers() -> None:
    from fractions import Fraction

    field = Field((3, 3), (1, 1), (1, 1))
    assert intern_field(Field((3, 3), (1, 1), (1, 1))) is intern_field(field)
    halves = Field((Fraction(3, 2),), (Fraction(1, 2),), (0,), False, False)
    assert intern_field(halves) is halves  # fractions are not interned
    whole = Field((Fraction(2),), (1,), (0,))  # equal to (2,), and kept as it was made
    assert type(intern_field(whole).size[0]) is Fraction


def test_a_search_keeps_few_tracked_objects_per_candidate() -> None:
    # 87 was measured (specs/search/resnet_space.net); 499 when the space's analyses of
    # known networks kept each candidate's report with its networkx graph.
    import random

    space = netdsl.load(ROOT / "specs" / "search" / "resnet_space.net").space()
    rng = random.Random(1)
    for _ in range(20):
        space.sample(rng)
    before = _tracked()
    for _ in range(60):
        space.sample(rng)
    per_candidate = (_tracked() - before) / 60
    assert per_candidate < 150, per_candidate


def test_a_duplicate_candidate_has_its_own_graph_and_the_same_report() -> None:
    space = netdsl.load(ROOT / "specs" / "search" / "resnet_space.net").space()
    first, again = space.evaluate({}), space.evaluate({})
    assert first.hash == again.hash
    assert again.report.graph is again.graph and first.report.graph is first.graph
    assert again.report.to_dict() == first.report.to_dict()


def test_with_graph_shares_the_analysis_and_keeps_rows_pending() -> None:
    report = netdsl.load(ROOT / "specs" / "resnet18.net").analyze()
    bare = report.with_graph(None)
    assert bare.graph is None and report.graph is not None
    assert "_layers" in bare.__dict__ and type(bare.__dict__["_layers"]).__name__ == "PendingRows"
    assert bare.totals is report.totals
    assert bare.to_dict() == report.to_dict()
