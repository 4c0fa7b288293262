"""A short, seeded fuzz campaign (tests/fuzz): generated programs and mutated shipped specs,
each in a forked worker under 2 s and 1 GiB, must all end in a correct outcome: exit 0, a
located error, an unreadable-file error or a usage error. Never the CLI's catch-all, a
timeout, a memory blow-up or a raw terminal escape. The long campaign is
`python -m tests.fuzz --cases N`."""

from __future__ import annotations

from tests.fuzz.__main__ import campaign
from tests.fuzz.generate import cases, mutate, shipped_specs
from tests.fuzz.runner import GOOD, Case, classify, run_case


def test_short_campaign_has_only_good_outcomes():
    # a case's limit is generous (10 s) so a loaded machine does not fail the run; the
    # outcomes, not the speed, are what this checks (the campaign reports the slowest)
    result = campaign(seed=20261201, count=240, seconds=10.0, memory=1 << 30, echo=None)
    bad = [(name, o.kind, o.headline()) for name, o in result["bad"]]
    assert not bad, bad
    counts = result["counts"]
    assert counts["ok"] > 0 and counts["located"] > 0  # it reaches both ends
    assert set(counts) <= GOOD


def test_generation_is_deterministic_and_covers_every_shipped_spec():
    first = [c.files["main.net"] for c in cases(7, 60)]
    assert first == [c.files["main.net"] for c in cases(7, 60)]
    names = {c.name.split("#")[0] for c in cases(7, 2 * len(shipped_specs()))}
    assert set(shipped_specs()) <= names


def test_mutation_changes_a_spec():
    import random

    text = shipped_specs()["specs/lenet5.net"]
    rng = random.Random(3)
    assert sum(mutate(text, rng) != text for _ in range(20)) >= 18


def test_the_runner_classifies_each_outcome():
    assert classify(0, "", "") == "ok"
    assert classify(1, "", "a.net:1:2: error: x") == "located"
    assert classify(1, "", "netdsl: error: cannot read a.net: it is a folder") == "unreadable"
    assert classify(1, "", "netdsl: error: a.net defines no network") == "unlocated"
    assert classify(2, "", "netdsl: error: --set") == "usage"
    assert classify(3, "", "netdsl: internal error: KeyError") == "internal"
    assert classify(3, "", "netdsl: internal error: MemoryError: ") == "memory"
    assert classify(1, "", "a.net:1:2: error: \x1b[31m") == "raw-escape"


def test_the_runner_enforces_its_limits(monkeypatch):
    import netdsl.cli

    case = Case({"main.net": "x"})
    assert run_case(case).kind == "located"

    def spin(argv):  # the forked worker runs this instead of the CLI
        while True:
            pass

    monkeypatch.setattr(netdsl.cli, "main", spin)
    outcome = run_case(case, seconds=0.3)
    assert outcome.kind == "timeout" and outcome.seconds < 3

    def hungry(argv):
        return len(bytearray(256 << 20))

    monkeypatch.setattr(netdsl.cli, "main", hungry)
    assert run_case(case, memory=64 << 20).kind == "memory"
