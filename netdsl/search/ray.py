"""Ray Tune drives a netdsl search space (optional dependency: `pip install "ray[tune]"`).

    >>> results, searcher = netdsl.search.ray.search(space, train, metric="accuracy",
    ...                                              mode="max", num_samples=20)

`Searcher` is a Ray Tune search algorithm: it draws candidates from the space (at random,
or by mutating the best so far) and hands Ray only feasible networks it has not handed
before: invalid and infeasible candidates and duplicates (by canonical hash) are counted
(`rejected(results)`) and never become trials, so no worker ever builds or trains them.
A trial's config is `{"netdsl": {"decisions": ..., "hash": ..., "totals": ...}}`;
`trainable(space, train)` rebuilds the candidate from it inside the worker and calls
`train(candidate)`, which returns the metrics (a dict).

On a cluster: start Ray there (`ray start --head` on one machine, `ray start
--address=HEAD:6379` on the others), then `ray.init(address="auto")` (or
`RAY_ADDRESS=HEAD:6379`) before `search`; the space travels to the workers as its spec's
text, so the workers need netdsl installed but not the spec files.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ray import tune
from ray.tune.search import Searcher as _RaySearcher

from netdsl.search.space import Candidate, Space


class Searcher(_RaySearcher):
    """Suggests feasible, not yet seen candidates of a space to Ray Tune."""

    def __init__(self, space: Space, metric: str | None = None, mode: str | None = None,
                 seed: int | None = None, max_draws: int = 1000, explore: float = 0.5) -> None:
        super().__init__(metric=metric, mode=mode)
        self.space, self.rng = space, random.Random(seed)
        self.max_draws, self.explore = max_draws, explore
        self.seen: dict[str, str] = {}  # hash -> the trial that trains it
        self.rejected = {"invalid": 0, "infeasible": 0, "duplicate": 0}
        self.results: dict[str, dict[str, Any]] = {}
        self.best: tuple[float, dict[str, Any]] | None = None

    def _draw(self) -> Candidate:
        # after a first result, half the draws mutate the best network so far
        if self.best is not None and self.rng.random() > self.explore:
            return self.space.mutate(self.space.evaluate(self.best[1]), self.rng)
        return self.space.sample(self.rng)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        for _ in range(self.max_draws):
            candidate = self._draw()
            if not candidate.feasible:
                self.rejected[candidate.status] += 1
                continue
            if candidate.hash in self.seen:
                self.rejected["duplicate"] += 1
                continue
            self.seen[candidate.hash] = trial_id
            # the rejections so far travel with the config: Tune runs a copy of this searcher
            return {"netdsl": {"decisions": candidate.decisions, "hash": candidate.hash,
                               "totals": candidate.totals, "rejected": dict(self.rejected)}}
        return _RaySearcher.FINISHED  # the space seems exhausted

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None,
                          error: bool = False) -> None:
        if error or not result:
            return
        self.results[trial_id] = result
        if self.metric in result:
            score = result[self.metric] * (1 if self.mode == "max" else -1)
            if self.best is None or score > self.best[0]:
                self.best = (score, result["config"]["netdsl"]["decisions"]
                             if "config" in result else {})


def trainable(space: Space, train: Callable[[Candidate], dict[str, Any]]) -> Callable:
    """A Ray Tune function trainable: the candidate of the config, trained by `train`."""
    rebuild = space.recipe()

    def run(config: dict[str, Any]) -> None:
        here = Space.rebuild(*rebuild)  # cached per worker process
        candidate = here.evaluate(config["netdsl"]["decisions"])
        assert candidate.hash == config["netdsl"]["hash"], "the worker's netdsl differs"
        tune.report(dict(train(candidate)))

    return run


def search(space: Space, train: Callable[[Candidate], dict[str, Any]], *, metric: str,
           mode: str = "max", num_samples: int = 10, seed: int | None = None,
           resources: dict[str, float] | None = None,
           **tune_config: Any) -> tuple[Any, Searcher]:
    """Run a Ray Tune search (Ray must be initialised, locally or on a cluster)."""
    searcher = Searcher(space, metric=metric, mode=mode, seed=seed)
    fn = trainable(space, train)
    if resources:
        fn = tune.with_resources(fn, resources)
    tuner = tune.Tuner(fn, tune_config=tune.TuneConfig(
        search_alg=searcher, num_samples=num_samples, metric=metric, mode=mode, **tune_config))
    return tuner.fit(), searcher


def rejected(results: Any) -> dict[str, int]:
    """Candidates the searcher drew and never handed to Ray, by reason (from the configs)."""
    counts = {"invalid": 0, "infeasible": 0, "duplicate": 0}
    for result in results:
        for reason, n in result.config["netdsl"].get("rejected", {}).items():
            counts[reason] = max(counts[reason], n)
    return counts


__all__ = ["Searcher", "rejected", "search", "trainable"]
