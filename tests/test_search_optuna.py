"""netdsl.search.optuna: suggestions, rejected candidates, duplicates, storage, workers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the Optuna adapter needs optuna (extra 'optuna')")

import netdsl  # noqa: E402
from netdsl.search import optuna as nso  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = """
block unit(kernel = choice([1, 3]), expand = choice([1, 2])) {
    conv(in.channels * expand, 1) -> relu -> conv(in.channels, kernel, padding = same)
}
block stage(depth = choice([1, 2])) {
    for i in range(depth) { unit }
}
network space(width = choice([4, 8], default = 4), head = choice(["avg", "max"])) {
    input x: [3, 8, 8]
    require params <= 1500
    x -> conv(width, 3, padding = 1) -> stage
        -> if head == "avg" { global_avgpool } else { global_maxpool } -> flatten -> linear(2)
}
"""


def space():
    return netdsl.loads(SPACE, "space.net").space()


def test_each_reached_decision_is_suggested_and_inactive_ones_are_not() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sp = space()
    for _ in range(20):
        trial = study.ask()
        candidate = nso.suggest(trial, sp)
        assert set(trial.params) == set(candidate.decisions)
        if candidate.decisions["stage0.depth"] == 1:
            assert "stage0.unit1.kernel" not in trial.params
        study.tell(trial, 0.0)
    assert any("stage0.unit1.kernel" in t.params for t in study.trials)
    assert any("stage0.unit1.kernel" not in t.params for t in study.trials)


def test_infeasible_never_reach_training_and_duplicates_are_not_trained() -> None:
    sp = space()
    # in memory: SQLite commits dominate the time on a busy disk (the resume test uses it)
    study = nso.create_study(sp, directions=["maximize"],
                             storage=optuna.storages.InMemoryStorage(), sampler="tpe", seed=1)
    trained: list[str] = []

    def train(candidate) -> float:
        assert candidate.feasible
        trained.append(candidate.hash)
        return float(candidate.totals["params"])

    summary = nso.optimize(study, sp, train, n_trials=60)
    assert summary.trials == 60
    assert len(trained) == len(set(trained)) == summary.unique  # each network trained once
    assert summary.duplicate > 0 and summary.infeasible > 0
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert {nso.info(t)["status"] for t in pruned} == {"infeasible"}
    assert all(nso.info(t)["violated"] == ["params <= 1500"] for t in pruned)
    assert all(max(nso.constraints_func(t)) > 0 for t in pruned)
    for t in study.trials:
        if "netdsl_duplicate_of" in t.user_attrs:
            first = study.trials[t.user_attrs["netdsl_duplicate_of"]]
            assert nso.info(first)["hash"] == nso.info(t)["hash"]
            assert first.values == t.values


def test_sqlite_study_resumes(tmp_path: Path) -> None:
    sp = space()
    url = f"sqlite:///{tmp_path}/resume.db"
    calls: list[str] = []

    def train(candidate) -> float:
        calls.append(candidate.hash)
        return -float(candidate.totals["macs"])

    nso.optimize(nso.create_study(sp, storage=url, sampler="random", seed=3), sp, train,
                 n_trials=6)
    first = len(calls)
    again = nso.create_study(netdsl.loads(SPACE, "space.net").space(), storage=url,
                             sampler="random", seed=4)
    assert len(again.trials) == 6
    summary = nso.optimize(again, sp, train, n_trials=6)
    assert summary.trials == 12
    assert len(calls) == len(set(calls))  # the second run never retrains the first's networks
    assert len(calls) - first <= 6


def test_multi_objective_pareto_front() -> None:
    sp = space()
    study = nso.create_study(sp, directions=["maximize", "minimize"], sampler="nsga2", seed=0,
                             storage=optuna.storages.InMemoryStorage())
    summary = nso.optimize(study, sp, lambda c: (c.totals["params"], c.totals["macs"]),
                           n_trials=40)
    front = [(t.values[0], t.values[1]) for t in summary.pareto]
    assert front
    for p, m in front:  # nobody on the front is dominated by a completed trial
        for t in study.trials:
            if t.state == optuna.trial.TrialState.COMPLETE:
                assert not (t.values[0] >= p and t.values[1] <= m and (t.values[0], t.values[1]) != (p, m))


def test_bad_sampler_and_direction_are_usage_errors() -> None:
    from netdsl.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'nsga2'"):
        nso.make_sampler("nsga")
    with pytest.raises(UsageError, match="maximize"):
        nso.create_study(space(), directions=["up"], storage=None)


WORKER = """
import sys, time
sys.path.insert(0, {root!r})
import optuna
import netdsl
from netdsl.search import optuna as nso
optuna.logging.set_verbosity(optuna.logging.WARNING)
space = netdsl.loads({space!r}, "space.net").space()
study = nso.create_study(space, storage={storage!r}, study_name="shared", sampler="random",
                         seed={seed})

def train(candidate):
    with open({log!r}, "a") as f:
        f.write(candidate.hash + "\\n")
    time.sleep(0.05)  # training takes a while: the other worker meets it running
    return float(candidate.totals["params"])

nso.optimize(study, space, train, n_trials=25)
"""


def test_two_workers_share_a_study_without_losing_or_retraining(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path}/journal.log"
    log = tmp_path / "trained.txt"
    root = str(Path(__file__).resolve().parents[1])
    scripts = [WORKER.format(root=root, space=SPACE, storage=storage, seed=seed, log=str(log))
               for seed in (1, 2)]
    workers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(s)]) for s in scripts]
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    study = optuna.load_study(study_name="shared", storage=nso.storage_of(storage))
    states = [t.state for t in study.trials]
    assert len(states) == 50 and all(s != optuna.trial.TrialState.RUNNING for s in states)
    trained = log.read_text().split()
    assert len(trained) == len(set(trained))  # no network trained twice, across workers
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert {nso.info(t)["hash"] for t in complete} == set(trained)
