"""Optuna drives a netdsl search space (optional dependency: `pip install optuna`).

    >>> study = netdsl.search.optuna.create_study(space, directions=["maximize", "minimize"])
    >>> result = netdsl.search.optuna.optimize(study, space, train, n_trials=50)

- Each decision the candidate reaches becomes one `trial.suggest_*` (define-by-run), so
  inactive decisions are never suggested: a unit's kernel is a parameter of the trials
  whose stage is deep enough to have that unit.
- A candidate that is invalid (it cannot elaborate) or infeasible (it violates a
  constraint) never reaches the training function: its trial is *pruned*, marked in its
  user attribute `netdsl` (`status`, `violated`, `error`), and its constraint values are
  set on the trial (`trial.set_constraint`, Optuna 5; earlier versions get
  `constraints_func` below passed to the samplers `make_sampler` makes), so TPE and
  NSGA-II learn to avoid the infeasible region.
- A duplicate (the canonical hash of a trial that came earlier) is not trained: the trial
  waits for that earlier trial and completes with its values (`netdsl_duplicate_of`);
  trial numbers decide which of two equal candidates trains (the lower), so two workers
  on one storage never train the same network twice.
- Storage: an Optuna storage URL (default `sqlite:///netdsl-search.db`: a local file,
  resumable), `journal:PATH` for Optuna's journal file (several processes on one machine
  or a shared file system), or any RDB URL such as
  `postgresql://user:password@host/db` for workers on many machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from netdsl.errors import UsageError
from netdsl.language.decisions import Categorical, Decision, FloatRange, IntRange
from netdsl.search.space import Candidate, Space

DEFAULT_STORAGE = "sqlite:///netdsl-search.db"
#: Seconds a trial waits for an earlier trial (its hash, then its values) before training
#: itself anyway (a worker that died leaves its trial RUNNING forever).
WAIT_LIMIT = 600.0
UNKNOWN_LIMIT = 5.0
_PRIMITIVE = (type(None), bool, int, float, str)
#: Optuna 5 marks a trial's constraints with `trial.set_constraint`; earlier versions take
#: a sampler's `constraints_func`.
_HAS_SET_CONSTRAINT = hasattr(Trial, "set_constraint")


class TrialSource:
    """A decision source asking an Optuna trial: one `suggest_*` per decision reached."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial

    def decide(self, decision: Decision) -> Any:
        domain, name = decision.domain, decision.name
        if isinstance(domain, IntRange):
            if domain.log and domain.step != 1:  # Optuna takes log or step, not both
                return domain.values()[self.trial.suggest_int(name + "#index", 0,
                                                              domain.size() - 1)]
            return self.trial.suggest_int(name, domain.low, domain.high, step=domain.step,
                                          log=domain.log)
        if isinstance(domain, FloatRange):
            return self.trial.suggest_float(name, domain.low, domain.high, log=domain.log)
        assert isinstance(domain, Categorical)
        options = list(domain.options)
        if all(isinstance(o, _PRIMITIVE) for o in options) and \
                len({(type(o), o) for o in options}) == len(options):
            return self.trial.suggest_categorical(name, options)
        from netdsl.search.frozen import literal  # lists: suggested by their spelling

        spelled = [literal(o) for o in options]
        return options[spelled.index(self.trial.suggest_categorical(name, spelled))]


def suggest(trial: Trial, space: Space) -> Candidate:
    """The candidate of a trial; what netdsl knows of it is the trial's user attribute
    `netdsl` (status, hash, decisions, totals, violated, error: one storage write)."""
    candidate = space.evaluate(TrialSource(trial))
    values = _constraint_values(candidate)
    info: dict[str, Any] = {
        "status": candidate.status, "hash": candidate.hash, "constraints": values,
        "decisions": {k: _jsonable(v) for k, v in candidate.decisions.items()}}
    if candidate.report is not None:
        info["totals"] = candidate.totals
    if candidate.error is not None:
        info["error"] = candidate.error.render()
    if candidate.violations:
        info["violated"] = [v.constraint.text for v in candidate.violations]
    trial.set_user_attr("netdsl", info)
    if _HAS_SET_CONSTRAINT:  # Optuna 5: the samplers read constraints from the trial
        trial.set_constraint("netdsl", max(values))
    return candidate


def info(trial: FrozenTrial) -> dict[str, Any]:
    """What netdsl recorded on a trial (empty for trials it did not make)."""
    return trial.user_attrs.get("netdsl", {})


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (*_PRIMITIVE, list)) else repr(value)


def _constraint_values(candidate: Candidate) -> list[float]:
    """Optuna's convention: one value per constraint, > 0 when violated."""
    if candidate.error is not None:
        return [1.0]
    violated = {id(v.constraint.expr) for v in candidate.violations}
    return [1.0 if id(c.expr) in violated else -1.0 for c in candidate.constraints] or [-1.0]


def constraints_func(trial: FrozenTrial) -> Sequence[float]:
    """For samplers' `constraints_func`: the netdsl constraint values of a trial."""
    return info(trial).get("constraints", [0.0])


def make_sampler(name: str = "tpe", seed: int | None = None) -> optuna.samplers.BaseSampler:
    """"random", "tpe" or "nsga2", the last two told about infeasible trials."""
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    told = {} if _HAS_SET_CONSTRAINT else {"constraints_func": constraints_func}
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **told)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **told)
    from netdsl.language.display import suggest as close

    raise UsageError(f"unknown sampler '{name}'{close(name, ['random', 'tpe', 'nsga2'])} "
                     "(samplers: random, tpe, nsga2)")


def storage_of(url: str | Any | None) -> Any:
    """An Optuna storage from a URL (`journal:PATH` for the journal file storage)."""
    if url is None:
        url = DEFAULT_STORAGE
    if not isinstance(url, str):
        return url
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(url[len("journal:"):].removeprefix("///")))
    return url


def create_study(space: Space, *, directions: Sequence[str] = ("maximize",),
                 storage: str | Any | None = DEFAULT_STORAGE, study_name: str | None = None,
                 sampler: str | optuna.samplers.BaseSampler = "tpe",
                 seed: int | None = None) -> optuna.Study:
    """A study for `space` (loaded again when it exists in the storage: resumable)."""
    for d in directions:
        if d not in ("maximize", "minimize"):
            raise UsageError(f"a direction is 'maximize' or 'minimize', got {d!r}")
    if study_name is None:
        graph_name = space.evaluate({}).graph
        network = graph_name.graph["network"] if graph_name is not None else "network"
        study_name = f"netdsl-{network}"
    chosen = make_sampler(sampler, seed) if isinstance(sampler, str) else sampler
    return optuna.create_study(storage=storage_of(storage), study_name=study_name,
                               directions=list(directions), sampler=chosen,
                               load_if_exists=True)


def objective(space: Space, train: Callable[[Candidate], float | Sequence[float]],
              wait_limit: float = WAIT_LIMIT) -> Callable[[Trial], float | Sequence[float]]:
    """An Optuna objective: suggest, reject invalid/infeasible, reuse duplicates, train."""

    def run(trial: Trial) -> float | Sequence[float]:
        candidate = suggest(trial, space)
        if not candidate.feasible:
            raise optuna.TrialPruned(f"{candidate.status} candidate: never trained")
        earlier = _earlier_twin(trial, candidate.hash, wait_limit)
        if earlier is not None:
            trial.set_user_attr("netdsl_duplicate_of", earlier.number)  # a second write, rare
            return earlier.values if len(earlier.values) > 1 else earlier.values[0]
        return train(candidate)

    return run


_DONE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _earlier_twin(trial: Trial, digest: str | None, wait_limit: float) -> FrozenTrial | None:
    """The completed earlier trial of the same network, waiting for one that still runs."""
    study, number = trial.study, trial.number
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        earlier = [t for t in study.get_trials(deepcopy=False) if t.number < number]
        unknown = [t for t in earlier if t.state == TrialState.RUNNING and not info(t)]
        twins = [t for t in earlier if info(t).get("hash") == digest
                 and t.state in (TrialState.RUNNING, TrialState.COMPLETE)]
        done = [t for t in twins if t.state == TrialState.COMPLETE]
        if done:
            return min(done, key=lambda t: t.number)
        # an earlier trial sets its hash within milliseconds of starting; one that has not
        # after a few seconds belongs to a worker that died (a resumed study): ignore it
        if unknown and waited > min(UNKNOWN_LIMIT, wait_limit):
            unknown = []
        if not twins and not unknown or waited > wait_limit:
            return None
        time.sleep(0.05)  # an earlier trial is still choosing or training this network


@dataclass
class Summary:
    """What a study holds: the counts the CLI reports, and the Pareto front."""

    trials: int
    invalid: int
    infeasible: int
    duplicate: int
    unique: int
    pareto: list[FrozenTrial]


def summarize(study: optuna.Study) -> Summary:
    """Counts by netdsl status, and the best trials (the Pareto front) of the study."""
    trials = study.get_trials(deepcopy=False)
    status = [info(t).get("status") for t in trials]
    duplicate = sum(1 for t in trials if "netdsl_duplicate_of" in t.user_attrs)
    unique = len({info(t).get("hash") for t in trials
                  if t.state == TrialState.COMPLETE and "netdsl_duplicate_of" not in t.user_attrs})
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    front = study.best_trials if complete else []
    seen, pareto = set(), []
    for t in sorted(front, key=lambda t: t.number):  # one trial per network
        if info(t).get("hash") not in seen:
            seen.add(info(t).get("hash"))
            pareto.append(t)
    return Summary(len(trials), status.count("invalid"), status.count("infeasible"), duplicate,
                   unique, pareto)


def optimize(study: optuna.Study, space: Space,
             train: Callable[[Candidate], float | Sequence[float]], n_trials: int | None = None,
             timeout: float | None = None, **kwargs: Any) -> Summary:
    """`study.optimize` with `objective(space, train)`; the summary afterwards."""
    study.optimize(objective(space, train), n_trials=n_trials, timeout=timeout, **kwargs)
    return summarize(study)


__all__ = ["DEFAULT_STORAGE", "Summary", "TrialSource", "constraints_func", "create_study",
           "info", "make_sampler", "objective", "optimize", "storage_of", "suggest", "summarize"]
