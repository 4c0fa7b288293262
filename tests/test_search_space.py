"""netdsl.search: spaces, exact sizes, conditions, candidates, hashes, frozen specs."""

from __future__ import annotations

import itertools
import random

import pytest

import netdsl
from netdsl.errors import NetdslError, UsageError
from netdsl.search import Space, isomorphic, network_hash

UNIT_SPACE = """
block unit(kernel = choice([3, 5]), expand = choice([1, 2])) {
    conv(in.channels * expand, 1) -> relu -> conv(in.channels, kernel, padding = same)
}
block stage(depth = choice([1, 2, 3], default = 2)) {
    for i in range(depth) { unit }
}
network space(width = choice([8, 16], default = 8)) {
    input x: [3, 16, 16]
    x -> conv(width, 3, padding = 1) -> stage -> stage(depth = choice([1, 2], name = "depth"))
        -> global_avgpool -> flatten -> linear(4)
}
"""


def space_of(text: str, **options) -> Space:
    return netdsl.loads(text, "space.net").space(**options)


def brute_force(space: Space) -> set[tuple]:
    return {tuple(c.decisions.items()) for c in space.enumerate()}


def test_size_is_exact_against_enumeration_with_conditions() -> None:
    space = space_of(UNIT_SPACE)
    # stage0: 4 + 4^2 + 4^3 = 84 assignments; stage1 (depth given): 4 + 4^2; two widths
    assert space.size() == 2 * 84 * 20
    assigned = brute_force(space)
    assert len(assigned) == space.size() == 2 * 84 * 20


def test_size_counts_a_call_once_per_key() -> None:
    space = space_of(UNIT_SPACE)
    space.size()
    assert space._counter.runs < 120  # the brute force takes 3,360 elaborations


def test_decisions_names_domains_and_conditions() -> None:
    space = space_of(UNIT_SPACE)
    by_name = {d.name: d for d in space.decisions}
    assert set(by_name) == {"width", "stage0.depth", "depth"} | {
        f"stage{s}.unit{u}.{k}" for s in (0, 1) for u in range(3 - s) for k in ("kernel", "expand")}
    assert by_name["width"].condition == {}
    assert by_name["stage0.unit0.kernel"].condition == {}
    assert by_name["stage0.unit2.kernel"].condition == {"stage0.depth": [3]}
    assert by_name["stage0.unit1.expand"].condition == {"stage0.depth": [2, 3]}
    assert by_name["stage1.unit1.expand"].describe() == \
        "stage1.unit1.expand: choice([1, 2]) when depth in [2]"


def test_conditional_decision_exists_only_when_reached() -> None:
    space = space_of(UNIT_SPACE)
    shallow = space.evaluate({"stage0.depth": 1})
    assert "stage0.unit1.kernel" not in shallow.decisions
    deep = space.evaluate({"stage0.depth": 3, "stage0.unit2.kernel": 5})
    assert deep.decisions["stage0.unit2.kernel"] == 5


def test_a_gated_size_that_needs_shapes() -> None:
    # the second decision exists only for one value of the first, through a shape
    text = """
network n(k = choice([1, 3])) {
    input x: [2, 9, 9]
    y = x -> conv(4, k)
    y -> if y.height == 7 { pad = choice([0, 1, 2]) \n conv(4, 3, padding = pad) } else { relu }
}
"""
    space = space_of(text)
    assert space.size() == 1 + 3 == len(brute_force(space))
    assert {d.name: d.condition for d in space.decisions}["pad"] == {"k": [3]}


def test_float_ranges_make_the_space_infinite_and_not_enumerable() -> None:
    space = space_of("network n(p = float_range(0.0, 0.5)) {\n input x: [4]\n"
                     " x -> dropout(p) -> linear(2)\n}")
    assert space.size() == float("inf")
    with pytest.raises(UsageError, match="continuous"):
        list(space.enumerate())
    assert 0.0 <= space.sample(3).decisions["p"] <= 0.5


INVALID = """
network n(k = choice([3, 5, 9]), c = choice([4, 6])) {
    input x: [3, 7, 7]
    assert(c != 6 or k == 3, "six channels want a 3x3 kernel")
    x -> conv(c, k) -> flatten -> linear(2)
}
"""


def test_invalid_candidates_carry_located_errors_and_sampling_never_raises() -> None:
    space = space_of(INVALID)
    candidates = list(space.enumerate())
    assert len(candidates) == space.size() == 6
    invalid = [c for c in candidates if not c.valid]
    # k = 9 is larger than the 7x7 input; c = 6 with k = 5 fails the assert
    assert sorted((c.decisions["k"], c.decisions["c"]) for c in invalid) == [(5, 6), (9, 4), (9, 6)]
    for c in invalid:
        assert c.status == "invalid" and c.hash is None and c.error.span is not None
        assert c.error.span.file == "space.net"
    asserted = next(c for c in invalid if c.decisions == {"k": 5, "c": 6})
    assert "six channels" in asserted.error.message
    rng = random.Random(0)
    statuses = {space.sample(rng).status for _ in range(60)}
    assert statuses == {"feasible", "invalid"}
    with pytest.raises(UsageError):
        asserted.spec_text()


def test_constraints_make_candidates_infeasible() -> None:
    space = space_of(UNIT_SPACE, constraints=["params <= 2K"])
    small = space.evaluate({"width": 8, "stage0.depth": 1, "depth": 1})
    big = space.evaluate({"width": 16, "stage0.depth": 3, "depth": 2})
    assert small.feasible and not big.feasible and big.valid
    assert [v.constraint.text for v in big.violations] == ["params <= 2K"]
    assert big.status == "infeasible" and big.to_dict()["violated"] == ["params <= 2K"]


def test_constraint_on_unknown_quantity_is_a_located_error() -> None:
    with pytest.raises(NetdslError, match="unknown quantity 'mac'"):
        space_of(UNIT_SPACE, constraints=["mac <= 1M"])
    text = UNIT_SPACE.replace("input x: [3, 16, 16]", "input x: [3, 16, 16]\n    require flop < 1")
    with pytest.raises(NetdslError) as info:
        space_of(text)
    assert "did you mean 'flops'?" in info.value.message and info.value.span.line == 10


def test_mutate_changes_a_decision_and_crossover_mixes_parents() -> None:
    space = space_of(UNIT_SPACE)
    rng = random.Random(4)
    parent = space.sample(rng)
    for _ in range(20):
        child = space.mutate(parent, rng)
        assert child.decisions != parent.decisions
    a = space.evaluate({"width": 8, "stage0.depth": 1, "depth": 1})
    b = space.evaluate({"width": 16, "stage0.depth": 3, "depth": 2})
    seen = set()
    for _ in range(30):
        child = space.crossover(a, b, rng)
        for name, value in child.decisions.items():
            if name in a.decisions and name in b.decisions:
                assert value in (a.decisions[name], b.decisions[name])
        seen.add(child.decisions["width"])
    assert seen == {8, 16}


def test_enumerate_gives_each_assignment_once_defaults_first() -> None:
    space = space_of(INVALID)
    first = next(space.enumerate())
    assert first.decisions == {"k": 3, "c": 4}


# ------------------------------------------------------------------------------ hashing
def graph(text: str):
    return netdsl.loads(text, "h.net").graph()


def test_hash_ignores_names_and_commutative_order() -> None:
    a = graph("network a() {\n input x: [4, 8, 8]\n"
              " left = x -> conv(4, 3, padding = 1)\n right = x -> conv(4, 1)\n"
              " add(left, right) -> relu\n}")
    b = graph("network b() {\n input image: [4, 8, 8]\n"
              " one = image -> conv(4, 1)\n three = image -> conv(4, 3, padding = 1)\n"
              " add(one, three) -> relu\n}")
    assert network_hash(a) == network_hash(b) and isomorphic(a, b)


def test_hash_keeps_concat_order() -> None:
    text = ("network a() {{\n input x: [4, 8, 8]\n p = x -> conv(2, 1)\n q = x -> conv(3, 1)\n"
            " concat({}) -> flatten -> linear(2)\n}}")
    a, b = graph(text.format("p, q")), graph(text.format("q, p"))
    assert network_hash(a) != network_hash(b) and not isomorphic(a, b)


def test_shared_node_is_not_two_identical_nodes() -> None:
    # the same expression tree, add(conv(x), conv(x)): two convs, or one used twice
    two = graph("network a() {\n input x: [4, 8, 8]\n"
                " p = x -> conv(4, 1)\n q = x -> conv(4, 1)\n add(p, q)\n}")
    one = graph("network a() {\n input x: [4, 8, 8]\n p = x -> conv(4, 1)\n add(p, p)\n}")
    assert network_hash(two) != network_hash(one) and not isomorphic(two, one)


def test_sharing_deeper_in_the_graph() -> None:
    # two diamonds: a shared relu feeding both branches vs one relu per branch
    shared = graph("network a() {\n input x: [4, 8, 8]\n r = x -> relu\n"
                   " p = r -> conv(4, 1)\n q = r -> conv(4, 3, padding = 1)\n add(p, q)\n}")
    split = graph("network a() {\n input x: [4, 8, 8]\n r = x -> relu\n s = x -> relu\n"
                  " p = r -> conv(4, 1)\n q = s -> conv(4, 3, padding = 1)\n add(p, q)\n}")
    assert network_hash(shared) != network_hash(split)


def test_same_network_from_different_decisions_hashes_alike() -> None:
    text = """
network n(a = choice(["skip", "conv"]), b = choice(["skip", "conv"])) {
    input x: [4, 8, 8]
    p = if a == "conv" { x -> conv(4, 1) } else { x }
    q = if b == "conv" { x -> conv(4, 1) } else { x }
    add(p, q)
}
"""
    space = space_of(text)
    hashes = {tuple(c.decisions.values()): c.hash for c in space.enumerate()}
    assert hashes[("skip", "conv")] == hashes[("conv", "skip")]
    assert len(set(hashes.values())) == 3


def test_hash_distinguishes_layer_arguments_and_shapes() -> None:
    base = "network a() {{\n input x: [4, 8, 8]\n x -> conv({})\n}}"
    hashes = {network_hash(graph(base.format(args)))
              for args in ("4, 3", "4, 3, padding = 1", "5, 3", "4, 3, bias = false",
                           "4, 3, stride = 2")}
    assert len(hashes) == 5


def test_isomorphic_pairs_from_the_zoo() -> None:
    from netdsl.search.hashing import isomorphic as iso

    a = netdsl.load("specs/resnet18.net").graph()
    b = netdsl.load("specs/resnet18.net").graph()
    assert network_hash(a) == network_hash(b) and iso(a, b)
    c = netdsl.load("specs/resnet34.net").graph()
    assert network_hash(a) != network_hash(c)


# ------------------------------------------------------------------------- frozen specs
def same_report(a, b) -> bool:
    rows = lambda r: [(x.op, x.shape, x.params, x.macs, x.activation_bytes) for x in r.layers]  # noqa: E731
    return a.totals == b.totals and rows(a) == rows(b)


@pytest.mark.parametrize("path", ["specs/search/mnas_space.net", "specs/search/resnet_space.net",
                                  "specs/search/nb201.net"])
def test_spec_text_round_trip(path: str) -> None:
    space = netdsl.load(path).space()
    rng = random.Random(7)
    done = 0
    while done < 3:
        candidate = space.sample(rng)
        if not candidate.valid:
            continue
        text = candidate.spec_text()
        assert "choice(" not in text and "import" not in text
        frozen = netdsl.loads(text, "frozen.net")
        report = frozen.analyze()
        assert same_report(report, candidate.report)
        assert network_hash(frozen.graph()) == candidate.hash
        assert [w.message for w in report.warnings] == [
            f"requirement not met: {v.constraint.text}".split(" (")[0]
            for v in candidate.violations] or not candidate.violations
        done += 1


def test_spec_text_keeps_constraints_with_values_bound() -> None:
    text = UNIT_SPACE.replace("input x: [3, 16, 16]", "input x: [3, 16, 16]\n"
                              "    require params <= 100 * width")
    space = space_of(text, constraints=["macs < 10M"])
    candidate = space.evaluate({"width": 16})
    frozen = candidate.spec_text()
    assert "require params <= 100 * 16" in frozen and "require macs < 10000000" in frozen
    report = netdsl.loads(frozen).analyze()
    assert bool(report.warnings) == (not candidate.feasible)


def test_build_matches_the_static_parameter_count() -> None:
    torch = pytest.importorskip("torch", reason="lowering needs torch")
    space = space_of(UNIT_SPACE)
    candidate = space.sample(2)
    model = candidate.build()
    assert sum(p.numel() for p in model.parameters()) == candidate.totals["params"]
    out = model(torch.zeros(1, 3, 16, 16))
    assert tuple(out.shape) == (1, 4)


# ------------------------------------------------------------------------------- NB-201
NATS = {"none": "none", "skip": "skip_connect", "conv1x1": "nor_conv_1x1",
        "conv3x3": "nor_conv_3x3", "avgpool3x3": "avg_pool_3x3"}


def reference_network(cell: dict[str, str]) -> tuple | None:
    """An independent canonical form of an NB-201 cell's network: each node a set of
    (op, source-form) terms with zero terms dropped, each term an edge of its own."""
    edges = {1: [("e10", 0)], 2: [("e20", 0), ("e21", 1)],
             3: [("e30", 0), ("e31", 1), ("e32", 2)]}
    form: dict[int, object] = {0: "in"}
    for j in (1, 2, 3):
        terms = []
        for name, i in edges[j]:
            op = cell[name]
            if op == "none" or form[i] is None:
                continue
            terms.append(form[i] if op == "skip" else (op, name, form[i]))
        form[j] = None if not terms else terms[0] if len(terms) == 1 else ("add", tuple(terms))
    return None if form[3] is None else form[3]


def test_nb201_subspace_counts_and_hashes_match_a_reference() -> None:
    ops = list(NATS)
    space = netdsl.load("specs/search/nb201.net").space(
        params={"depth": 1, "e10": "conv3x3", "e20": "skip"})
    assert space.size() == 5 ** 4
    rows = []
    for candidate in space.enumerate():
        cell = {"e10": "conv3x3", "e20": "skip", **candidate.decisions}
        rows.append((cell, candidate))
    assert len(rows) == 625
    assert all(set(c["e21"] for c, _ in rows) == set(ops) for _ in [0])
    # invalid exactly when the reference computes zero
    for cell, candidate in rows:
        assert candidate.valid == (reference_network(cell) is not None)
    # two valid cells hash alike exactly when the isomorphism check says they are the same
    valid = [(cell, c) for cell, c in rows if c.valid]
    by_hash: dict[str, list] = {}
    for _, c in valid:
        by_hash.setdefault(c.hash, []).append(c)
    for group in by_hash.values():
        for other in group[1:]:
            assert isomorphic(group[0].graph, other.graph)
    representatives = [g[0] for g in by_hash.values()]
    for a, b in itertools.islice(itertools.combinations(representatives, 2), 3000):
        if a.totals == b.totals:
            assert not isomorphic(a.graph, b.graph)
