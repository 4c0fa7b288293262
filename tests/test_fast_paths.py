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
from netdsl.search.hashing import network_hash, reference_hash

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


def test_bad_options_are_the_same_errors() -> None:
    graph = netdsl.load(ROOT / "specs" / "lenet5.net").graph()
    for options in [(0, "float32", "sgd"), (1, "int8", "sgd"), (1, "float32", "lbfgs")]:
        with pytest.raises(NetdslError) as plain:
            analyze_reference(graph, *options)
        with pytest.raises(NetdslError) as fast:
            analyze_graph(graph, *options)
        assert str(fast.value) == str(plain.value)
