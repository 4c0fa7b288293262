"""Guarded replays never change an answer: every replayed elaboration equals a fresh one.

A network elaborated twice with the same fixed parameters is recorded
(netdsl/language/replay.py); later elaborations with new numbers replay the recording
when its guards hold. Each shipped spec with numeric parameters, and random networks whose
numbers flow into layers, branches, loops, builtins and tensor attributes, are elaborated
for sequences of values (some of which fail) and compared with a fresh, unmemoised
elaboration of a freshly loaded spec: the same graph node for node, or the same error.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.errors import NetdslError
from netdsl.language import replay
from netdsl.language.elaborate import elaborate
from netdsl.language.replay import Traced, TraceEscape
from tests.test_memo import signature

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.net"))


def outcome(program: Any, values: dict[str, Any], memoize: bool = True) -> Any:
    """The graph's signature, or the error as the user reads it."""
    try:
        return signature(elaborate(program, None, values, memoize=memoize))
    except NetdslError as exc:
        return ("error", type(exc).__name__, exc.render() if hasattr(exc, "render") else str(exc))


def entries(spec: Any) -> list[Any]:
    replays = spec.program.replays  # None, then the first network's name, then Replays
    return list(replays.entries.values()) if isinstance(replays, replay.Replays) else []


def same_as_fresh(text: str, path: str, runs: list[dict[str, Any]]) -> Any:
    """Elaborate `runs` in order on one loaded spec; each equals a fresh elaboration."""
    spec = netdsl.loads(text, path)
    for values in runs:
        got = outcome(spec.program, values)
        fresh = outcome(netdsl.loads(text, path).program, values, memoize=False)
        assert got == fresh, values
    return spec


def numeric_params(spec: Any, network: str) -> dict[str, Any]:
    """The network's parameters whose defaults are numbers."""
    found = {}
    for param in spec.program.networks[network].params:
        value = getattr(param.default, "value", None)  # a literal default's
        if type(value) in (int, float):
            found[param.name] = value
    return found


def variations(defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """Each numeric parameter moved alone, then all together (each run twice, so the
    second is recorded and the later ones replay)."""
    runs: list[dict[str, Any]] = [{}, {}]
    for name, value in defaults.items():
        for new in (value, value * 2, value + 1, value // 2 if type(value) is int else value / 2):
            runs.append({name: new})
    runs.append({name: v * 2 for name, v in defaults.items()})
    runs.append({name: v + 1 for name, v in defaults.items()})
    return runs


def _numeric_specs() -> list[Path]:
    """The shipped specs of one network with numeric parameters (the others have
    nothing to replay: their elaborations are the memo's, tests/test_memo.py)."""
    found = []
    for path in SPECS:
        spec = netdsl.load(path)
        if len(spec.networks) == 1 and numeric_params(spec, spec.networks[0]):
            found.append(path)
    return found


NUMERIC_SPECS = _numeric_specs()


def test_most_shipped_specs_have_numbers_to_replay() -> None:
    assert len(NUMERIC_SPECS) >= len(SPECS) - 3


@pytest.mark.parametrize("path", NUMERIC_SPECS, ids=[p.stem for p in NUMERIC_SPECS])
def test_every_spec_replays_as_it_elaborates(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spec = netdsl.loads(text, str(path))
    same_as_fresh(text, str(path), variations(numeric_params(spec, spec.networks[0])))


def test_resnet50_width_variants_are_replayed() -> None:
    """The case replays are for: after two elaborations, new widths replay (width 16
    takes another path, the identity shortcut of the first unit, and is recorded too)."""
    path = ROOT / "specs" / "resnet50.net"
    text = path.read_text(encoding="utf-8")
    runs = [{"width": w} for w in (20, 21, 22, 23, 16, 16, 16, 17, 64, 96)]
    spec = same_as_fresh(text, str(path), runs)
    (entry,) = entries(spec)
    assert len(entry.recordings) == 2  # width 20's path and width 16's
    assert entry.hits >= 6


def test_a_replay_skips_the_reachability_walk_only_where_every_node_reaches() -> None:
    """The first replay's finish finds whether every node reaches the output; later ones
    skip that walk only then (a split's unused part is dropped on every replay)."""
    path = ROOT / "specs" / "resnet50.net"
    spec = same_as_fresh(path.read_text(encoding="utf-8"), str(path),
                         [{"width": w} for w in (20, 21, 22, 23)])
    assert all(r.reaches for r in entries(spec)[0].recordings)
    text = ("network n(width = 8) {\n input x: [4, 8, 8]\n"
            " a, b = x -> conv(width * 2, 1) -> chunk(2)\n a -> conv(width, 1)\n}\n")
    spec = same_as_fresh(text, "unused.net", [{"width": w} for w in (8, 9, 10, 11, 12)])
    (entry,) = entries(spec)
    assert entry.hits >= 2 and not any(r.reaches for r in entry.recordings)


def test_an_analysis_reads_the_nodes_as_columns() -> None:
    """`Spec.analyze` keeps the nodes as columns (graph.PlainGraph), elaborated or
    replayed; the report's graph, made from them when read, is the graph a fresh
    elaboration makes."""
    from netdsl.analysis import report as reports
    from netdsl.graph import PlainGraph

    seen: list[Any] = []
    original = reports._one_pass

    def one_pass(graph: Any, *options: Any) -> Any:
        seen.append(isinstance(graph, PlainGraph) and graph.columns is not None)
        return original(graph, *options)

    path = ROOT / "specs" / "resnet50.net"
    spec = netdsl.load(path)
    try:
        reports._one_pass = one_pass
        made = [spec.analyze(width=w) for w in (40, 41, 42, 43)]
    finally:
        reports._one_pass = original
    assert seen == [True, True, True, True]  # elaborated; recorded (and checked); replayed
    fresh = netdsl.load(path)
    for width, report in zip((40, 41, 42, 43), made):
        assert signature(report.graph) == signature(fresh.graph(width=width))
        assert report.to_dict() == fresh.analyze(width=width).to_dict()


def test_a_replay_gives_the_report_a_fresh_analysis_gives() -> None:
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    for width in (40, 41, 42):
        replayed = spec.analyze(width=width)
        fresh = netdsl.load(ROOT / "specs" / "resnet50.net").analyze(width=width)
        assert replayed.to_dict() == fresh.to_dict()
    assert entries(spec)[0].hits == 1


def test_errors_after_a_recording_are_the_fresh_ones() -> None:
    """A value the layers refuse fails the replay; the ordinary elaboration then gives
    the located error, with its note on the parameters given."""
    path = ROOT / "specs" / "resnet50.net"
    text = path.read_text(encoding="utf-8")
    same_as_fresh(text, str(path), [{"width": 20}, {"width": 21}, {"width": 0}, {"width": -3},
                                    {"width": 22}, {"classes": 0}, {"width": 1.5}])
    spec = netdsl.loads(text, str(path))
    for width in (30, 31, 32):
        spec.graph(width=width)
    with pytest.raises(NetdslError) as caught:
        spec.graph(width=-3)
    assert "width = -3 (from the API)" in str(caught.value.render())


@pytest.mark.parametrize("body", [
    "    require params <= 10K\n    x -> conv(a, 3)\n",  # constraints read the report
    "    k = choice([1, 3])\n    x -> conv(a, k)\n",  # a search decision
], ids=["require", "decision"])
def test_what_cannot_be_recorded_is_elaborated(body: str) -> None:
    text = f"network n(a = 4) {{\n    input x: [3, 8, 8]\n{body}}}\n"
    spec = same_as_fresh(text, "n.net", [{"a": a} for a in (4, 5, 6, 7)])
    assert entries(spec) and all(not e.recordings for e in entries(spec))


def test_a_warning_is_never_replayed_away() -> None:
    """The RegNet trap's warning depends on two shapes being equal: recorded as a guard,
    and a network that warns is not recorded at all."""
    text = ("network n(a = 4) {\n    input x: [4, 8, 8]\n"
            "    x -> conv(a, 1) -> if true { conv(in.channels, 1) } else { relu }\n}\n")
    spec = same_as_fresh(text, "n.net", [{"a": a} for a in (4, 4, 5, 4, 6, 4)])
    for a in (4, 5, 4):
        graph = spec.graph(a=a)
        assert bool(graph.graph.get("warnings")) == (a != 4)


def test_a_traced_value_refuses_python() -> None:
    """A use the recorder does not follow ends the recording, never passes for a number."""
    value = Traced(3, 0)
    for use in (lambda: value + 1, lambda: 1 + value, lambda: bool(value), lambda: int(value),
                lambda: value == 3, lambda: hash(value), lambda: [0, 1, 2, 3][value],
                lambda: str(value), lambda: f"{value}", lambda: value < 4, lambda: range(value)):
        with pytest.raises(TraceEscape):
            use()


def test_replays_leave_no_cyclic_garbage() -> None:
    """Recordings and replays make no reference cycles (a search's process would keep each
    replayed graph until a collection; see tests/test_collector.py)."""
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    macs = [spec.analyze(width=width).totals.macs for width in (20, 21, 22)]
    gc.collect()
    gc.disable()
    try:
        macs += [spec.analyze(width=width).totals.macs for width in range(30, 40)]
        with pytest.raises(NetdslError):  # a replay that misses, then a located error
            spec.analyze(width=0)
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert len(set(macs)) == len(macs)


def test_recordings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_STEPS, the least recently used networks' recordings go first."""
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    unit_lists = ([1, 1, 1, 1], [1, 1, 1, 2], [1, 1, 2, 1], [2, 1, 1, 1])
    for layers in unit_lists:
        for width in (20, 21, 22):
            spec.graph(width=width, layers=layers)
        if layers == unit_lists[0]:  # room for two and a half such recordings
            monkeypatch.setattr(replay, "MAX_STEPS", spec.program.replays.steps * 5 // 2)
    kept = spec.program.replays
    assert kept.steps <= replay.MAX_STEPS
    assert kept.steps == sum(len(r.steps) for e in kept.entries.values() for r in e.recordings)
    assert len(kept.entries) == 2 and all(e.recordings for e in kept.entries.values())
    assert spec.graph(width=23, layers=unit_lists[3]) is not None  # still replayed
    assert list(kept.entries.values())[-1].hits == 2


# ---------------------------------------------------------------- random networks
#: Statements over the parameters a, b, c (int) and p (float), each drawing on another
#: way a number reaches the graph: channels, branches, loop counts, builtins, tensor
#: attributes, strides (so spatial sizes), block arguments and defaults, booleans.
STATEMENTS = [
    "conv(a, 3, padding = 1)",
    "conv(a * 2 - b, 1)",
    "if a > b { conv(b, 3, padding = 1) } else { relu }",
    "repeat(b % 3) { conv(in.channels, 3, padding = 1) -> relu }",
    "for i in range(c) { conv(a + i, 1) }",
    "add(conv(in.channels, 1), identity)",
    "conv(max(1, in.channels // b), 1)",
    "maxpool(2, stride = 1 + b % 2)",
    "if in.height > 4 { maxpool(2) } else { identity }",
    "unit(a)",
    "unit(b + 1, k = 1 + 2 * (c % 2))",
    "chunk(2)[0]",
    "conv(abs(-a) + 1, 1, bias = a > b)",
    "dropout(p)",
    "for n in [a, b + 1] { conv(n, 1) }",
    "conv(in.shape[0] + c, 1)",
    "avgpool(kernel = [1 + c % 2, 1])",
    "conv(if b == 0 { 2 } else { b }, 1)",
]


@st.composite
def parametric_networks(draw: Any) -> str:
    statements = draw(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=6))
    chain = " -> ".join(["x", *statements])
    return ("block unit(ch, k = 3) {\n    conv(ch, k, padding = k // 2) -> batchnorm -> relu\n}\n"
            "network n(a = 4, b = 2, c = 1, p = 0.5) {\n    input x: [4, 12, 12]\n"
            f"    {chain}\n}}\n")


values = st.fixed_dictionaries({"a": st.integers(-1, 8), "b": st.integers(0, 4),
                                "c": st.integers(0, 3), "p": st.sampled_from([0.0, 0.25, 0.5])})


@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])
@given(parametric_networks(), st.lists(values, min_size=3, max_size=10))
def test_random_networks_replay_as_they_elaborate(text: str, runs: list[dict[str, Any]]) -> None:
    # each value twice in a row at first: the second elaboration records, later ones replay
    same_as_fresh(text, "random.net", [runs[0], runs[0], *runs])


def test_a_replay_shares_the_records_an_elaboration_makes() -> None:
    """A replay's layer steps key the layer cache as a call does (the constants' part of
    the key made once): the records are the very ones the ordinary elaboration resolves."""
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    for width in (20, 21, 50):
        replayed = spec.graph(width=width, classes=7)
    assert entries(spec)[0].hits == 1
    fresh = elaborate(spec.program, None, {"width": 50, "classes": 7}, memoize=False)
    for (name, data), (_, other) in zip(replayed.nodes(data=True), fresh.nodes(data=True)):
        if data["inputs"]:  # (a network input's record is made per elaboration)
            assert data["layer"] is other["layer"], name


def test_one_analysis_imports_no_replay() -> None:
    """A process that analyses once (`netdsl analyze`) never imports the replays."""
    code = ("import sys, netdsl; netdsl.load('specs/resnet50.net').analyze(); "
            "print('netdsl.language.replay' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"


def test_replays_in_threads_give_each_its_own_network() -> None:
    """An Optuna study with `n_jobs` calls one loaded spec from several threads: each
    replay computes into its own registers, and a step's remembered record is read and
    replaced whole."""
    from concurrent.futures import ThreadPoolExecutor

    path = ROOT / "specs" / "resnet50.net"
    widths = list(range(24, 56))
    expected = {w: netdsl.load(path).analyze(width=w).totals for w in widths}
    spec = netdsl.load(path)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as they can
    try:
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda w: (w, spec.analyze(width=w).totals), widths * 3))
    finally:
        sys.setswitchinterval(switch)
    assert all(totals == expected[w] for w, totals in got)
    assert sum(e.hits for e in entries(spec)) > len(widths)


def test_a_loop_whose_every_value_takes_another_path_records_once() -> None:
    """An input size is guarded whole: a loop over sizes misses every time, and another
    recording is made only while replays hit as often as they miss."""
    text = ("network n(size = 32, c = 8) {\n    input x: [3, size, size]\n"
            "    x -> conv(c, 3, stride = 2, padding = 1) -> relu -> global_avgpool -> flatten\n"
            "      -> linear(10)\n}\n")
    spec = same_as_fresh(text, "n.net", [{"size": s} for s in (32, 32, 40, 48, 56, 64, 72)])
    (entry,) = entries(spec)
    assert len(entry.recordings) == 1 and entry.hits == 0 and entry.misses == 5
