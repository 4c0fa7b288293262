"""`netdsl analyze` without networkx: plain graphs (`netdsl.graph.plain_graphs`) give the
same graph and the same report as the networkx IR."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import pytest

import netdsl
from netdsl.analysis.report import analyze_graph
from netdsl.graph import PlainGraph, as_networkx, format_ir, plain_graphs
from tests.conftest import ROOT, SPECS

# a spec with `output` statements and a training-only head, and one with `require`
HEADS = """network n() {
    input x: [3, 16, 16]
    y = x -> conv(8, 3, padding = 1) -> relu
    output main = y -> global_avgpool -> flatten -> linear(10)
    training output aux = y -> conv(4, 1) -> global_avgpool -> flatten -> linear(10)
}
"""
REQUIRE = """network n() {
    require params <= 10
    input x: [3, 16, 16]
    x -> conv(8, 3) -> relu
}
"""


def _specs() -> list:
    return sorted(p for p in SPECS.glob("*.net"))


@pytest.mark.parametrize("path", _specs(), ids=lambda p: p.stem)
def test_a_plain_graph_is_the_networkx_graph(path):
    spec = netdsl.load(path)
    graph = spec.graph()
    with plain_graphs():
        plain = spec.graph()
    assert type(plain) is PlainGraph and isinstance(graph, nx.MultiDiGraph)
    again = plain.to_networkx()
    assert isinstance(again, nx.MultiDiGraph) and as_networkx(graph) is graph
    assert list(again.graph) == list(graph.graph)
    assert list(again.nodes) == list(graph.nodes) == list(plain.nodes)
    assert sorted(again.edges(keys=True)) == sorted(graph.edges(keys=True))
    assert format_ir(again) == format_ir(graph)
    assert [sorted(d) for _, d in again.nodes(data=True)] == \
        [sorted(d) for _, d in graph.nodes(data=True)]


@pytest.mark.parametrize("path", _specs(), ids=lambda p: p.stem)
def test_a_plain_graph_analyses_alike(path):
    spec = netdsl.load(path)
    report = spec.analyze(batch=2)
    with plain_graphs():
        plain = spec.graph()
    if plain.graph.get("named_outputs"):  # what `netdsl analyze` does with heads
        plain = as_networkx(plain)
    other = analyze_graph(plain, batch=2)
    assert other.to_dict() == report.to_dict()
    assert other.table() == report.table()


@pytest.mark.parametrize("text", [HEADS, REQUIRE], ids=["heads", "require"])
def test_heads_and_requirements_analyse_alike(text):
    spec = netdsl.loads(text, "t.net")
    with plain_graphs():
        plain = spec.graph()
    if plain.graph.get("named_outputs"):
        plain = as_networkx(plain)
    assert analyze_graph(plain).to_dict() == spec.analyze().to_dict()


def test_the_context_ends_with_its_block():
    spec = netdsl.load(SPECS / "lenet5.net")
    with plain_graphs():
        pass
    assert isinstance(spec.graph(), nx.MultiDiGraph)
    with pytest.raises(KeyError), plain_graphs():
        {}["missing"]
    assert isinstance(spec.graph(), nx.MultiDiGraph)


# `python -m netdsl ARGS`, then whether networkx was imported, on stderr (the command ends
# its process with os._exit: the wrapper's own os._exit says it first)
_CHECK = ("import os, runpy, sys\n"
          "quit_now = os._exit\n"
          "def end(code):\n"
          "    assert not code, code\n"
          "    print('networkx' in sys.modules, file=sys.stderr, flush=True)\n"
          "    quit_now(0)\n"
          "os._exit = end\n"
          "sys.argv = ['netdsl', *sys.argv[1:]]\n"
          "try:\n    runpy.run_module('netdsl', run_name='__main__')\n"
          "except SystemExit as e:\n    end(e.code)\n")


@pytest.mark.parametrize("args", [["specs/resnet50.net"], ["specs/resnet50.net", "-f", "json"],
                                  ["specs/resnet18.net", "--input", "3x64x64", "--depth", "1"]],
                         ids=["table", "json", "input"])
def test_analyze_never_imports_networkx(args):
    done = subprocess.run([sys.executable, "-c", _CHECK, "analyze", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
    assert "Training peak" in done.stdout or '"totals"' in done.stdout
