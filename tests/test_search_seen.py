"""A space's kept assignments (netdsl/search/seen.py): an assignment met again is the
earlier candidate, and keeping them never changes a candidate or what a source is asked."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import optuna
import pytest

import netdsl
from netdsl.language.elaborate import elaborate
from netdsl.search import Space
from netdsl.search.hashing import reference_hash
from netdsl.search.optuna import suggest
from netdsl.search.seen import SeenAssignments
from netdsl.search.space import Given

ROOT = Path(__file__).resolve().parents[1]
SPACES = ["resnet_space", "mnas_space", "nb201"]

GATED = """
block unit(use = choice([false, true])) {
    if use { k = choice([1, 3])
             conv(4, k, padding = k // 2) } else { identity }
}
block picky(w = choice([2, 3])) {
    assert(w == 2, "only 2 fits")
    conv(w, 1)
}
network n(t = choice([false, true])) {
    input x: [4, 8, 8]
    x -> unit -> if t { picky } else { identity }
}
"""


def load_space(name: str, kept: int | None = None) -> Space:
    space = netdsl.load(ROOT / "specs" / "search" / f"{name}.net").space()
    if kept is not None:
        space.assignments = SeenAssignments(kept)
    return space


def elaborations(space: Space) -> list[int]:
    """Counts the space's elaborations from now on (a one-item list, increased)."""
    count = [0]
    original = space.spec.plain_graph

    def counting(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    space.spec.plain_graph = counting  # type: ignore[method-assign]
    return count


class Counting:
    """A source drawing at random, counting what it is asked."""

    def __init__(self, rng: random.Random) -> None:
        self.inner, self.asked = Given({}, rng), []

    def decide(self, decision: Any) -> Any:
        self.asked.append(decision.name)
        return self.inner.decide(decision)


@pytest.mark.parametrize("name", SPACES)
def test_a_seeded_stream_is_the_same_with_and_without_kept_assignments(name: str) -> None:
    kept, unkept = load_space(name), load_space(name, kept=0)
    a, b = random.Random(7), random.Random(7)
    for _ in range(120):
        assert kept.sample(a).to_dict() == unkept.sample(b).to_dict()
    assert len(unkept.assignments) == 0 and len(kept.assignments) > 60


def test_search_candidates_are_the_networks_of_their_decisions() -> None:
    """Each candidate of a memoised search (templates met with other answers, replays
    that stop half way) is the network a fresh, unmemoised elaboration of its decisions
    makes: the same hash, the same decisions reached."""
    space = load_space("mnas_space", kept=0)
    rng = random.Random(5)
    for _ in range(60):
        candidate = space.sample(rng)
        program = netdsl.load(ROOT / "specs" / "search" / "mnas_space.net").program
        fresh = elaborate(program, decisions=dict(candidate.decisions), memoize=False)
        assert {d.name: v for d, v in fresh.graph["decisions"]} == candidate.decisions
        assert reference_hash(fresh) == candidate.hash


def test_an_assignment_met_again_is_served_without_elaborating() -> None:
    space = load_space("mnas_space")
    first = [space.sample(random.Random(3)) for _ in range(5)]
    count = elaborations(space)
    again = [space.sample(random.Random(3)) for _ in range(5)]
    assert count[0] == 0
    for old, new in zip(first, again):
        assert new is not old and new.to_dict() == old.to_dict()
        assert new.report is old.report  # the same analysis
        new.decisions["x"] = 1  # a candidate's own containers are its own
        assert "x" not in old.decisions


def test_decisions_not_reached_do_not_make_another_candidate() -> None:
    space = netdsl.loads(GATED, "g.net").space()
    count = elaborations(space)
    plain = space.evaluate({"unit0.k": 3})  # `use` false: the defaults, made by Space()
    assert count[0] == 0 and plain.decisions == {"t": False, "unit0.use": False}
    a = space.evaluate({"unit0.use": True, "unit0.k": 1, "t": False, "picky0.w": 3})
    b = space.evaluate({"unit0.use": True, "unit0.k": 1, "t": False, "picky0.w": 2})
    assert count[0] == 1 and b.decisions == a.decisions == {"t": False, "unit0.use": True,
                                                            "unit0.k": 1}
    c = space.evaluate({"unit0.use": True, "unit0.k": 3, "t": False})
    assert count[0] == 2 and c.decisions["unit0.k"] == 3 and c.hash != a.hash


def test_an_invalid_assignment_is_kept_with_its_error() -> None:
    space = netdsl.loads(GATED, "g.net").space()
    count = elaborations(space)
    bad = space.evaluate({"t": True, "picky0.w": 3})
    again = space.evaluate({"t": True, "picky0.w": 3})
    assert count[0] == 1 and not bad.valid and not again.valid
    assert again.error is bad.error and "only 2 fits" in again.error.message


def test_each_decision_is_asked_once_on_a_hit_and_on_a_miss() -> None:
    space = load_space("mnas_space")
    rng = random.Random(11)
    for _ in range(40):
        source = Counting(rng)
        candidate = space.evaluate(source)
        assert source.asked == [d.name for d in candidate.reached]
    for _ in range(5):  # met again: asked the same, in the same order
        source, replay = Counting(random.Random(11)), Counting(random.Random(11))
        assert space.evaluate(source).to_dict() == load_space("mnas_space").evaluate(replay).to_dict()
        assert source.asked == replay.asked


def test_kept_assignments_are_bounded_and_forget_whole_paths() -> None:
    space, unkept = load_space("resnet_space"), load_space("resnet_space", kept=0)
    space.assignments = SeenAssignments(limit=5)
    a, b = random.Random(2), random.Random(2)
    for _ in range(200):
        assert space.sample(a).to_dict() == unkept.sample(b).to_dict()
    tree = space.assignments
    depth = max(len(c.reached) for c in [space.sample(random.Random(s)) for s in range(3)])
    assert len(tree) == 5
    # every node kept lies on a kept leaf's path: at most a path per leaf
    assert len(tree._asks) <= 5 * (depth + 1) and len(tree._edges) <= 5 * depth
    assert sum(tree._fanout.values()) == len(tree._edges) == len(tree._parent)


def test_changed_settings_forget_what_was_kept() -> None:
    space = load_space("resnet_space")
    one = space.sample(random.Random(4))
    space.batch = 8
    eight = space.sample(random.Random(4))
    fresh = netdsl.load(ROOT / "specs" / "search" / "resnet_space.net").space(batch=8)
    assert eight.to_dict() == fresh.sample(random.Random(4)).to_dict()
    assert eight.report.totals.activation_bytes == 8 * one.report.totals.activation_bytes


def test_an_optuna_trial_met_again_is_suggested_every_decision_it_reaches() -> None:
    """A repeated trial is served from the kept assignments and still records each
    decision it reaches as a parameter (the sampler learns from every trial)."""
    space = netdsl.loads(GATED, "g.net").space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    count = elaborations(space)

    def objective(trial: optuna.Trial) -> float:
        candidate = suggest(trial, space)
        return float(candidate.totals["params"]) if candidate.valid else 0.0

    study.optimize(objective, n_trials=30)
    distinct = {tuple(sorted(t.user_attrs["netdsl"]["decisions"].items())) for t in study.trials}
    assert count[0] <= len(distinct) < 30  # each assignment elaborated once at most
    for trial in study.trials:
        reached = trial.user_attrs["netdsl"]["decisions"]
        assert trial.params == reached


def test_an_answer_the_domain_refuses_is_kept_with_its_located_error() -> None:
    class Refused:
        def decide(self, decision: Any) -> Any:
            return 5 if decision.name == "unit0.use" else decision.default

    space = netdsl.loads(GATED, "g.net").space()
    count = elaborations(space)
    first, again = space.evaluate(Refused()), space.evaluate(Refused())
    assert count[0] == 1 and again.error is first.error
    assert "decision 'unit0.use' is given 5" in first.error.message


def test_candidates_share_their_decisions_and_answers() -> None:
    """A decision written with literals is one object per name for every candidate, and
    each (decision, answer) pair one per answer: a kept candidate costs the collector
    about 20 objects, not 140."""
    space = load_space("mnas_space", kept=0)
    rng = random.Random(9)
    a, b = space.sample(rng), space.sample(rng)
    shared = [(x, y) for x in a.reached for y in b.reached if x.name == y.name]
    assert shared and all(x is y for x, y in shared)
    pairs_a = {pair[0].name: pair for pair in a.report.graph.graph["decisions"]}
    for pair in b.report.graph.graph["decisions"]:
        other = pairs_a.get(pair[0].name)
        if other is not None and other[1] == pair[1] and type(other[1]) is type(pair[1]):
            assert other is pair
