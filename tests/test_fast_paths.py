"""The fast paths of analysis and search give exactly the straightforward answers.

`analyze_graph` runs every analysis in one pass with per-record caches
(`netdsl.analysis.onepass`); `analyze_reference` composes the separate passes. The
canonical hash memoises per-node digests; `hashing.reference_hash` recomputes them. Both
pairs must agree on every spec, on random networks, and on search candidates.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from test_random_networks import networks

import netdsl
from netdsl.analysis.report import Report, analyze_graph, analyze_reference
from netdsl.errors import NetdslError
from netdsl.graph import PlainGraph, plain_graphs
from netdsl.search.hashing import network_hash, reference_hash
from tests.test_memo import signature

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.net"))
CONTEXTS = [(1, "float32", "sgd"), (3, "float16", "adam"), (2, "bfloat16", "momentum")]


def same_report(fast: Report, plain: Report) -> None:
    assert fast == plain  # every row, total and warning (dataclass equality)
    assert fast.to_dict() == plain.to_dict()


def check_graph(graph) -> None:
    for batch, dtype, optimizer in CONTEXTS:
        try:
            plain = analyze_reference(graph, batch, dtype, optimizer)
        except NetdslError as exc:  # the same error, from the same place
            with pytest.raises(type(exc)) as caught:
                analyze_graph(graph, batch, dtype, optimizer)
            assert caught.value == exc
            continue
        same_report(analyze_graph(graph, batch, dtype, optimizer), plain)
        same_report(analyze_graph(graph, batch, dtype, optimizer), plain)  # caches warm
    assert network_hash(graph) == reference_hash(graph)
    assert network_hash(graph) == reference_hash(graph)


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_every_spec(path: Path) -> None:
    spec = netdsl.load(path)
    for network in spec.networks:
        try:
            graph = spec.graph(network)
        except NetdslError:  # a network that needs its parameters bound
            continue
        check_graph(graph)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(networks())
def test_random_networks(text: str) -> None:
    check_graph(netdsl.loads(text, "random.net").graph())


@pytest.mark.parametrize("space", ["mnas_space.net", "resnet_space.net", "nb201.net"])
def test_search_candidates(space: str) -> None:
    spec = netdsl.load(ROOT / "specs" / "search" / space)
    rng = random.Random(7)
    for _ in range(6):
        candidate = spec.space().sample(rng)
        if candidate.graph is None:
            continue
        check_graph(candidate.graph)
        assert candidate.hash == reference_hash(candidate.graph)


@pytest.mark.parametrize("path", SPECS[::3], ids=[str(p.relative_to(ROOT)) for p in SPECS[::3]])
def test_a_plain_graph_hashes_as_its_networkx_graph(path: Path) -> None:
    """A search hashes its candidates' plain graphs by their columns, without making
    their node tables: the hash is the networkx graph's."""
    spec = netdsl.load(path)
    network = spec.networks[-1]
    try:
        graph = spec.graph(network)
    except NetdslError:  # a network that needs its parameters bound
        return
    with plain_graphs():
        plain = spec.graph(network)
    if graph.graph.get("named_outputs"):
        return  # (a graph with named outputs is made networkx's before it is hashed)
    assert isinstance(plain, PlainGraph) and plain.columns is not None
    assert network_hash(plain) == reference_hash(plain) == reference_hash(graph)
    assert plain.columns is not None  # read as they are
    same_report(analyze_graph(plain), analyze_reference(plain))  # (the bench swaps them)


@pytest.mark.parametrize("space", ["mnas_space.net", "resnet_space.net", "nb201.net"])
def test_a_candidate_keeps_its_graph_plain_until_read(space: str) -> None:
    """A candidate's graph is made networkx's when first read, once: the same graph as
    its report's, equal to the one `Spec.graph` elaborates for its decisions."""
    spec = netdsl.load(ROOT / "specs" / "search" / space)
    for candidate in (spec.space().sample(random.Random(seed)) for seed in range(4)):
        if candidate.error is not None:
            continue
        assert isinstance(candidate.__dict__["_graph"], PlainGraph)
        graph = candidate.graph
        assert graph is candidate.report.graph and graph is candidate.graph
        fresh = spec.graph(decisions=candidate.decisions)
        assert signature(graph) == signature(fresh)
        assert candidate.hash == reference_hash(fresh)


def test_bad_options_are_the_same_errors() -> None:
    graph = netdsl.load(ROOT / "specs" / "lenet5.net").graph()
    for options in [(0, "float32", "sgd"), (1, "int8", "sgd"), (1, "float32", "lbfgs")]:
        with pytest.raises(NetdslError) as plain:
            analyze_reference(graph, *options)
        with pytest.raises(NetdslError) as fast:
            analyze_graph(graph, *options)
        assert str(fast.value) == str(plain.value)


# ------------------------------------------------------------ kept structures
# `analyze_nodes` keeps each graph's structure (where outputs live, gradients, who keeps
# what for backward, the receptive fields and warnings) by node names, and reuses it for
# the next graph with the same names when its inputs, places and record signatures fit.

def _analyses_equal(graph) -> None:
    for batch, dtype, optimizer in CONTEXTS:
        same_report(analyze_graph(graph, batch, dtype, optimizer),
                    analyze_reference(graph, batch, dtype, optimizer))


def test_width_variants_reuse_one_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    from netdsl.analysis import onepass

    built: list[int] = []
    original = onepass._structure
    monkeypatch.setattr(onepass, "_structure", lambda *a: built.append(1) or original(*a))
    monkeypatch.setattr(onepass, "_STRUCTURE_CACHE", {})
    monkeypatch.setattr(onepass, "_NAMES_SEEN_CACHE", set())
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    for width in (40, 41, 42, 64):
        _analyses_equal(spec.graph(width=width))
    # one structure: the first width's, kept from its second analysis on (names met once
    # are not kept)
    assert len(built) == 2
    _analyses_equal(spec.graph(width=16))  # another path (an identity shortcut)
    assert len(built) == 4


CONV = "network n() {{\n input x: [3, 16, 16]\n x -> conv(4, 3, {}) -> relu\n}}\n"


@pytest.mark.parametrize(("first", "second", "builds", "refits"), [
    ("stride = 1", "stride = 2", 4, 0),  # another window: another signature
    ("stride = 2, padding = 0", "stride = 2, padding = same", 4, 2),  # the same window; a padded copy is saved
    ("bias = false", "groups = 1", 2, 0),  # other counts only: one structure
])
def test_a_structure_that_does_not_fit_is_made_anew(
        monkeypatch: pytest.MonkeyPatch, first: str, second: str, builds: int, refits: int) -> None:
    from netdsl.analysis import onepass

    built, numbers = [], []
    original_structure, original_numbers = onepass._structure, onepass._numbers
    monkeypatch.setattr(onepass, "_structure", lambda *a: built.append(1) or original_structure(*a))
    monkeypatch.setattr(onepass, "_numbers", lambda *a: numbers.append(original_numbers(*a)) or numbers[-1])
    monkeypatch.setattr(onepass, "_STRUCTURE_CACHE", {})
    monkeypatch.setattr(onepass, "_NAMES_SEEN_CACHE", set())
    # (the first graph's structure is made twice: names met once are not kept)
    for args in (first, second, first):
        _analyses_equal(netdsl.loads(CONV.format(args), "same_names.net").graph())
    assert (len(built), numbers.count(None)) == (builds, refits)


def test_the_same_names_wired_otherwise() -> None:
    # nodes x, conv0, conv1, add0 either way; conv1 reads x, or conv0
    wired = ["a = x -> conv(4, 1)\n b = x -> conv(4, 1)", "a = x -> conv(4, 1)\n b = a -> conv(4, 1)"]
    texts = [f"network n() {{\n input x: [4, 8, 8]\n {w}\n add(a, b)\n}}\n" for w in wired]
    graphs = [netdsl.loads(text, "wired.net").graph() for text in (*texts, texts[0])]
    assert len({tuple(g.nodes) for g in graphs}) == 1
    for graph in graphs:
        _analyses_equal(graph)


def test_warnings_keep_their_own_file_and_place() -> None:
    body = "x -> add(conv(4, 3, stride = 2, padding = same), conv(4, 1, stride = 2))"
    for indent, name in ((" ", "a.net"), ("      ", "b.net"), (" ", "c.net")):
        text = f"network n() {{\n input x: [3, 16, 16]\n{indent}{body}\n}}\n"
        report = netdsl.loads(text, name).analyze()
        (warning,) = report.warnings
        assert (warning.span.file, warning.span.column) == (name, len(indent) + 6)


def test_a_changed_graph_is_analysed_anew() -> None:
    spec = netdsl.load(ROOT / "specs" / "lenet5.net")
    graph = spec.graph()
    _analyses_equal(graph)
    # another record in a node's place: a view (flatten) where a relu was, same shape
    nodes = list(graph.nodes)
    relu = next(n for n in nodes if graph.nodes[n]["layer"].op == "relu")
    other = netdsl.loads("network m() {\n input x: [6, 28, 28]\n x -> dropout(0.5)\n}\n").graph()
    graph.nodes[relu]["layer"] = next(d["layer"] for _, d in other.nodes(data=True)
                                      if d["layer"].op == "dropout")
    _analyses_equal(graph)


def test_kept_structures_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from netdsl.analysis import onepass

    monkeypatch.setattr(onepass, "_STRUCTURE_CACHE", {})
    monkeypatch.setattr(onepass, "_NAMES_SEEN_CACHE", set())
    netdsl.loads("network once() {\n input x: [3, 8, 8]\n x -> relu\n}\n").analyze()
    assert not onepass._STRUCTURE_CACHE  # names met once are not kept
    monkeypatch.setattr(onepass, "_STRUCTURE_LIMIT", 3)
    monkeypatch.setattr(onepass, "_STRUCTURE_NODES_LIMIT", 4)
    for n in range(1, 8):  # chains of 2 to 8 nodes, each analysed twice
        chain = " -> ".join(["x", *["relu"] * n])
        spec = netdsl.loads(f"network n{n}() {{\n input x: [3, 8, 8]\n {chain}\n}}\n")
        spec.analyze()
        spec.analyze()
        assert len(onepass._STRUCTURE_CACHE) <= 3
        assert sum(map(len, onepass._STRUCTURE_CACHE)) <= 4
    assert onepass._STRUCTURE_CACHE
