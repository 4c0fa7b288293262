"""The graph IR: invariants, the fast construction path, the --ir listing."""

from __future__ import annotations

import networkx as nx
import pytest

import netdsl
from netdsl.graph import check, fill_graph, format_ir, new_graph
from tests.conftest import SPECS


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "unet", "densenet121"])
def test_fast_fill_equals_the_public_networkx_api(name: str):
    graph = netdsl.load(SPECS / f"{name}.net").graph()
    nodes = list(graph.nodes(data=True))
    edges = list(graph.edges(keys=True))
    public = new_graph()
    public.add_nodes_from(nodes)
    public.add_edges_from(edges)
    fast = fill_graph(new_graph(), nodes, edges)
    assert nx.utils.graphs_equal(public, fast)
    assert list(public.nodes) == list(fast.nodes)
    assert sorted(public.in_edges(keys=True, data=True)) == sorted(fast.in_edges(keys=True, data=True))
    assert dict(public.in_degree) == dict(fast.in_degree)
    assert nx.is_directed_acyclic_graph(fast)
    out = graph.graph["outputs"][0]
    assert nx.ancestors(fast, out) == set(fast) - {out}  # every node feeds the output


def test_every_spec_graph_passes_the_structural_check():
    for path in SPECS.glob("*.net"):
        check(netdsl.load(path).graph())


def test_ir_listing_is_stable_and_complete():
    graph = netdsl.load(SPECS / "lenet5.net").graph()
    text = format_ir(graph)
    assert text == format_ir(netdsl.load(SPECS / "lenet5.net").graph())
    lines = text.splitlines()
    assert len(lines) == graph.number_of_nodes() + 2
    assert all(f"%{n} = " in text for n in graph)


def test_nodes_carry_layer_span_block_and_inputs():
    graph = netdsl.load(SPECS / "resnet18.net").graph()
    for node, data in graph.nodes(data=True):
        assert {"layer", "span", "block", "inputs"} <= set(data)
        assert node.startswith(data["block"])
        assert [u for u, _, _ in sorted(graph.in_edges(node, keys=True), key=lambda e: e[2])] \
            == list(data["inputs"])


def test_analysis_restores_the_garbage_collector():
    import gc

    spec = netdsl.load(SPECS / "lenet5.net")
    assert gc.isenabled()
    spec.analyze()
    assert gc.isenabled()
    gc.disable()
    try:
        spec.analyze()
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    try:
        spec.graph(classes="ten")
    except Exception:
        pass
    assert gc.isenabled()  # restored after an error too
