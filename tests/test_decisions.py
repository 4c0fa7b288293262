"""Search decisions in specs: `choice`, `int_range`, `float_range`, named where taken."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.errors import NetdslError, UsageError
from netdsl.graph import format_ir
from netdsl.language.decisions import Categorical, Decision, FloatRange, IntRange
from netdsl.language.elaborate import Override, elaborate

SPACE = """
block unit(kernel = choice([3, 5, 7]), expand = choice([3, 6], default = 6)) {
    conv(in.channels * expand, 1) -> relu -> conv(in.channels, kernel, padding = same)
}
block stage(depth) {
    repeat(depth) { unit }
}
network space(width = choice([16, 24, 32], default = 24), depth = int_range(1, 3)) {
    input x: [3, 32, 32]
    stem = conv(width, 3, padding = 1)
    stage1 = stem -> stage(depth)
    stage2 = stage1 -> stage(2)
    drop = float_range(0.0, 0.5, default = 0.25)
    stage2 -> if depth > 1 { dropout(drop) } else { identity }
}
"""

PLAIN = """
block unit(kernel = 3, expand = 6) {
    conv(in.channels * expand, 1) -> relu -> conv(in.channels, kernel, padding = same)
}
block stage(depth) {
    repeat(depth) { unit }
}
network space(width = 24, depth = 1) {
    input x: [3, 32, 32]
    stem = conv(width, 3, padding = 1)
    stage1 = stem -> stage(depth)
    stage2 = stage1 -> stage(2)
    drop = 0.25
    stage2 -> if depth > 1 { dropout(drop) } else { identity }
}
"""


def reached(g) -> dict:
    return {d.name: v for d, v in g.graph["decisions"]}


def signature(g) -> list:
    """Everything of a graph a pass reads, node by node, and its decisions."""
    nodes = [(n, d["layer"].op, d["layer"].describe(), d["layer"].out_shape, d["inputs"],
              d["block"], d["span"]) for n, d in g.nodes(data=True)]
    return [nodes, g.graph["outputs"], [(d, v) for d, v in g.graph["decisions"]]]


def test_defaults_make_the_plain_network():
    space, plain = netdsl.loads(SPACE, "s.net"), netdsl.loads(PLAIN, "s.net")
    g = space.graph()
    assert format_ir(g).replace("s.net", "") == format_ir(plain.graph()).replace("s.net", "")
    assert space.analyze().totals == plain.analyze().totals
    assert list(reached(g).items()) == [
        ("width", 24), ("depth", 1), ("stage0.unit0.kernel", 3), ("stage0.unit0.expand", 6),
        ("stage1.unit0.kernel", 3), ("stage1.unit0.expand", 6), ("stage1.unit1.kernel", 3),
        ("stage1.unit1.expand", 6), ("drop", 0.25)]
    width = g.graph["decisions"][0][0]
    assert isinstance(width, Decision) and width.domain == Categorical((16, 24, 32))
    assert width.default == 24 and width.span.line == 8
    domains = {d.name: d.domain for d, _ in g.graph["decisions"]}
    assert domains["depth"] == IntRange(1, 3) and domains["drop"] == FloatRange(0.0, 0.5)


def test_a_source_changes_the_graph():
    spec = netdsl.loads(SPACE, "s.net")
    g = spec.graph(decisions={"width": 32, "stage1.unit1.kernel": 7, "drop": 0.5})
    assert g.nodes["stem"]["layer"].out_shape[0] == 32
    assert g.nodes["stage1.unit1.conv1"]["layer"].kernel == (7, 7)
    assert g.nodes["stage1.unit0.conv1"]["layer"].kernel == (3, 3)
    assert reached(g)["drop"] == 0.5
    report = spec.analyze(decisions={"width": 16})
    assert report.totals.params < spec.analyze().totals.params


class Recorder:
    """A decision source that records what it was asked and answers from a table."""

    def __init__(self, answers: dict) -> None:
        self.answers, self.asked = answers, []

    def decide(self, decision: Decision):
        self.asked.append(decision.name)
        return self.answers.get(decision.name, decision.default)


def test_conditional_decisions_are_reached_only_when_reachable():
    spec = netdsl.loads(SPACE, "s.net")
    shallow = Recorder({"depth": 1})
    spec.graph(decisions=shallow)
    assert "stage0.unit1.kernel" not in shallow.asked and "drop" in shallow.asked
    deep = Recorder({"depth": 3})
    g = spec.graph(decisions=deep)
    assert [n for n in deep.asked if n.startswith("stage0")] == [
        f"stage0.unit{i}.{p}" for i in range(3) for p in ("kernel", "expand")]
    assert len(deep.asked) == len(set(deep.asked))  # each decision asked once
    assert any(d["layer"].op == "dropout" for _, d in g.nodes(data=True))
    text = ("network n(deep = choice([false, true])) {\n    input x: [3, 8, 8]\n"
            "    if deep { k = choice([1, 3])\n conv(4, k) } else { conv(4, 1) }\n}\n")
    plain = netdsl.loads(text, "c.net")
    assert list(reached(plain.graph())) == ["deep"]
    assert reached(plain.graph(decisions={"deep": True})) == {"deep": True, "k": 1}


def test_naming_nested_paths_keywords_and_loops():
    text = """
block unit() {
    k = choice([3, 5], name = "kernel")
    conv(in.channels, k, padding = same)
}
block stage() { unit1 = unit
    unit2 = unit
    add(unit1, unit2) }
network n() {
    input x: [4, 8, 8]
    stages = stagey
    stages -> for i in range(2) { shared = choice([1, 2])
        conv(4 * shared, 1) }
}
block stagey() { stage2 = stage
    stage2 }
"""
    g = netdsl.loads(text, "n.net").graph()
    # a decision in a loop is one decision: asked once, the same value every iteration
    assert list(reached(g)) == ["stages.stage2.unit1.kernel", "stages.stage2.unit2.kernel",
                                "shared"]


def error_of(text: str, **kwargs) -> NetdslError:
    with pytest.raises(NetdslError) as info:
        netdsl.loads(text, "e.net").graph(**kwargs)
    return info.value


NET = "network n({params}) {{\n    input x: [3, 8, 8]\n    {body}\n}}\n"


@pytest.mark.parametrize("params, body, message, at", [
    ("", "conv(choice([4, 8]), 1)", "has no name", "choice"),
    ("w = choice([])", "conv(w, 1)", "needs at least one option", "[]"),
    ("w = choice([4, 8], default = 5)", "conv(w, 1)", "the default 5 is not in choice([4, 8])",
     "5)"),
    ("w = int_range(8, 4)", "conv(w, 1)", "int_range() is empty", "4)"),
    ("w = int_range(4, 8, step = 0)", "conv(w, 1)", "step is a positive integer", "0)"),
    ("w = int_range(0, 8, log = true)", "conv(w, 1)", "log-scale int_range() starts at 1", "0,"),
    ("w = int_range(4, 8, size = 2)", "conv(w, 1)", "has no argument 'size'", "2)"),
    ("p = float_range(0.5, 0.1)", "dropout(p)", "float_range() is empty", "0.1"),
    ("p = float_range(0.1, 1, name = 3)", "dropout(p)", "a decision's name is a word", "3)"),
    ("w = choice(4, 8)", "conv(w, 1)", "takes one list of options", "choice"),
])
def test_domain_errors_are_located(params, body, message, at):
    text = NET.format(params=params, body=body)
    err = error_of(text)
    assert message in err.message
    line = text.splitlines()[err.span.line - 1]
    assert err.span.file == "e.net" and line.index(at) + 1 == err.span.column


def test_source_values_outside_the_domain_are_located_errors():
    text = NET.format(params="w = choice([4, 8])", body="conv(w, 1)")
    err = error_of(text, decisions={"w": 5})
    assert "decision 'w' is given 5, which is not in choice([4, 8])" in err.message
    assert (err.span.line, err.span.column) == (1, 15)
    err = error_of(NET.format(params="p = float_range(0.1, 0.5)", body="dropout(p)"),
                   decisions={"p": 0.9})
    assert "not in float_range(0.1, 0.5)" in err.message
    ok = netdsl.loads(NET.format(params="p = float_range(0, 0.5)", body="dropout(p)"), "e.net")
    assert reached(ok.graph(decisions={"p": 0})) == {"p": 0.0}  # an integer fits a float range
    err = error_of(NET.format(params="", body="k = choice([true])\n    conv(2, 1)"),
                   decisions={"k": 1})
    assert "is given 1" in err.message  # 1 is not true


def test_set_on_a_decision_parameter_must_lie_in_the_domain():
    text = NET.format(params="w = choice([4, 8])", body="conv(w, 1)")
    spec = netdsl.loads(text, "e.net")
    g = spec.graph(w=8)
    assert g.nodes["conv0"]["layer"].out_shape[0] == 8
    assert "w" not in reached(g)  # bound from outside: no longer a decision
    with pytest.raises(UsageError) as info:
        spec.graph(params={"w": Override(6, "--set w=6")})
    assert "parameter 'w' is choice([4, 8]), but --set w=6 gives 6" in info.value.message


def test_reaching_a_decision_again_with_another_domain_is_an_error():
    err = error_of(NET.format(params="", body="for c in [2, 4] { k = choice(range(1, c))\n"
                                                  "    conv(2, k) }"))
    assert "reached again with another domain" in err.message


def test_a_block_named_choice_wins_over_the_decision_function():
    text = "block choice(c) { conv(c, 1) }\n" + NET.format(params="", body="choice(4)")
    g = netdsl.loads(text, "b.net").graph()
    assert reached(g) == {} and g.nodes["choice0.conv0"]["layer"].out_shape[0] == 4


@pytest.mark.parametrize("answers", [
    {}, {"depth": 3}, {"depth": 3, "stage0.unit1.kernel": 7, "stage1.unit0.expand": 3},
    {"depth": 2, "stage0.unit0.kernel": 5, "stage0.unit1.kernel": 5, "width": 16},
])
def test_memo_on_and_off_give_identical_graphs(answers):
    spec = netdsl.loads(SPACE, "s.net")
    spec.graph()  # fill the memo with the default candidate's templates
    spec.graph(decisions={"depth": 3, "stage0.unit2.kernel": 5})
    memoised = elaborate(spec.program, decisions=answers)
    fresh = elaborate(netdsl.loads(SPACE, "s.net").program, decisions=answers, memoize=False)
    assert signature(memoised) == signature(fresh)
    asked = Recorder(answers)
    elaborate(spec.program, decisions=asked)
    assert asked.asked == [d.name for d, _ in fresh.graph["decisions"]]


def test_a_template_with_decisions_is_not_served_to_other_values():
    text = ("block u() { k = choice([1, 3])\n    conv(2, k, padding = same) }\n"
            + NET.format(params="", body="a = u\n    b = u\n    add(a, b)"))
    spec = netdsl.loads(text, "m.net")
    g = spec.graph(decisions={"b.k": 3})
    assert g.nodes["a.conv0"]["layer"].kernel == (1, 1)
    assert g.nodes["b.conv0"]["layer"].kernel == (3, 3)
    g = spec.graph(decisions={"a.k": 3})
    assert g.nodes["a.conv0"]["layer"].kernel == (3, 3)
    assert g.nodes["b.conv0"]["layer"].kernel == (1, 1)


def test_a_block_returning_a_list_of_tensors_is_memoised_by_node():
    text = """
block two() {
    a = conv(4, 1)
    b = conv(4, 3, padding = 1)
    [a, b]
}
network n() {
    input x: [3, 8, 8]
    p = two
    q = two
    add(concat(p[0], q[0]), concat(p[1], q[1]))
}
"""
    memoised = netdsl.loads(text, "l.net").graph()
    fresh = elaborate(netdsl.loads(text, "l.net").program, memoize=False)
    assert signature(memoised) == signature(fresh)
    assert memoised.nodes["concat0"]["inputs"] == ("p.a", "q.a")


def test_a_decision_written_with_literals_is_kept_and_one_reading_variables_is_not():
    """A decision call of literal scalars alone has one domain, kept by the program; one
    whose domain reads variables is evaluated anew at every call, with its own domain."""
    text = ("block u(c) { k = choice([1, 3])\n    w = choice([c, 2 * c])\n"
            "    conv(w, k, padding = same) }\n"
            + NET.format(params="", body="a = u(2)\n    a -> u(5)"))
    spec = netdsl.loads(text, "d.net")
    for _ in range(2):  # the second time from the kept domain
        g = spec.graph(decisions={"u0.w": 10, "a.k": 3})
        domains = {d.name: d.domain for d, _ in g.graph["decisions"]}
        assert domains["a.k"] == domains["u0.k"] == Categorical((1, 3))
        assert domains["a.w"] == Categorical((2, 4)) and domains["u0.w"] == Categorical((5, 10))
        assert g.nodes["a.conv0"]["layer"].kernel == (3, 3)
        assert g.nodes["u0.conv0"]["layer"].out_shape[0] == 10
    kept = list(spec.program.decision_parts.values())
    assert [domain for domain, _, _ in kept] == [Categorical((1, 3))]
    with pytest.raises(NetdslError, match="not in"):
        spec.graph(decisions={"a.k": 5})


def test_a_template_reads_the_decisions_an_enclosing_replay_asked_first():
    """An enclosing call's replay asks its reads in order and stops at the first answer
    that differs: a decision of an inner call may be decided before that call begins.
    The inner call's template still reads it, else a later candidate with another
    answer got the network of the recorded one (a mnas_space candidate did: kernel 7
    in its graph, no kernel in its decisions)."""
    text = ("block leaf(k = choice([1, 3]), e = choice([1, 2])) {\n"
            "    conv(4 * e, k, padding = k // 2) }\n"
            "block mid(d = int_range(1, 2)) { for i in range(d) { leaf } }\n"
            "block top() { mid }\n"
            + NET.format(params="", body="x -> top"))
    spec = netdsl.loads(text, "m.net")
    for answers in [{"top0.mid0.d": 1, "top0.mid0.leaf0.k": 1, "top0.mid0.leaf0.e": 1},
                    {"top0.mid0.d": 1, "top0.mid0.leaf0.k": 1, "top0.mid0.leaf0.e": 2},
                    {"top0.mid0.d": 1, "top0.mid0.leaf0.k": 3, "top0.mid0.leaf0.e": 1},
                    {"top0.mid0.d": 1, "top0.mid0.leaf0.k": 3, "top0.mid0.leaf0.e": 2}]:
        g = spec.graph(decisions=answers)
        fresh = elaborate(netdsl.loads(text, "m.net").program, decisions=answers, memoize=False)
        assert signature(g) == signature(fresh)
        assert {d.name: v for d, v in g.graph["decisions"]} == answers
        conv = next(d["layer"] for _, d in g.nodes(data=True) if d["layer"].op == "conv")
        assert conv.kernel == (answers["top0.mid0.leaf0.k"],) * 2


def test_a_call_met_again_is_recorded_only_when_its_template_is_served(monkeypatch):
    """A call met a second time is recorded as a template only when its reads give the
    values they gave the first time: a candidate of a search with other answers would
    never replay it, and recording it was most of the memo's cost there."""
    from netdsl.language import memo

    recorded = []
    original = memo.record

    def counting(*args, **kwargs):
        recorded.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(memo, "record", counting)
    text = ("block u() { k = choice([1, 3])\n    conv(2, k, padding = same) }\n"
            + NET.format(params="", body="a = u\n    b = u\n    add(a, b)"))
    spec = netdsl.loads(text, "m.net")
    for answers, records in [({"b.k": 3}, []), ({"a.k": 3}, ["b"]), ({"b.k": 3}, ["b", "b"])]:
        g = spec.graph(decisions=answers)
        fresh = elaborate(netdsl.loads(text, "m.net").program, decisions=answers, memoize=False)
        assert signature(g) == signature(fresh)
        assert recorded == records  # the scope paths the pending calls were made at
