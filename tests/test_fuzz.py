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
    assert classify(1, "", "netdsl: error: cannot read") == "unlocated"
    assert classify(2, "", "netdsl: error: --set") == "usage"
    assert classify(3, "", "netdsl: internal error: KeyError") == "internal"
    assert classify(3, "", "netdsl: internal error: MemoryError: ") == "memory"
    assert classify(1, "", "a.net:1:2: error: \x1b[31m") == "raw-escape"


def test_the_runner_enforces_its_limits():
    hang = Case({}, ["analyze", "/dev/stdin"])  # never run: the worker is replaced below
    assert run_case(Case({"main.net": "x"})).kind == "located"
    import tests.fuzz.runner as runner

    # a case that sleeps past its limit is killed and reported as a timeout
    real = runner._child

    def sleepy(case, workdir, memory, seconds, out_fd):
        import time

        time.sleep(5)
        real(case, workdir, memory, seconds, out_fd)

    runner._child = sleepy
    try:
        assert run_case(hang, seconds=0.3).kind == "timeout"
    finally:
        runner._child = real

    def hungry(case, workdir, memory, seconds, out_fd):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (runner._address_space() + memory,
                                                resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            bytearray(2 * memory)
        except MemoryError:
            import os

            os._exit(1)

    runner._child = hungry
    try:
        assert run_case(hang, memory=64 << 20).kind == "memory"
    finally:
        runner._child = real
