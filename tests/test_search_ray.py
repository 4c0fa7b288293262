"""netdsl.search.ray on a real local Ray cluster (started and stopped here)."""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray Tune adapter needs ray[tune] (extra 'ray')")
pytest.importorskip("ray.tune", reason="the Ray Tune adapter needs ray[tune] (extra 'ray')")

import netdsl  # noqa: E402
from netdsl.search import ray as nsr  # noqa: E402

SPACE = """
network n(width = choice([2, 4, 8, 16]), kernel = choice([1, 3, 5]), head = choice([1, 2])) {
    input x: [3, 8, 8]
    require params <= 300
    x -> conv(width, kernel, padding = kernel // 2)
        -> if head == 1 { global_avgpool } else { global_maxpool } -> flatten -> linear(2)
}
"""


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_tune_trains_only_feasible_distinct_candidates(cluster, tmp_path: Path) -> None:
    space = netdsl.loads(SPACE, "space.net").space()
    log = tmp_path / "trained.txt"

    def train(candidate) -> dict:
        assert candidate.feasible
        with open(log, "a") as f:
            f.write(candidate.hash + "\n")
        return {"score": float(candidate.totals["params"])}

    results, searcher = nsr.search(space, train, metric="score", mode="max", num_samples=4,
                                   seed=0, resources={"cpu": 1},
                                   max_concurrent_trials=2)
    trained = log.read_text().split()
    assert len(trained) == 4 and len(set(trained)) == 4  # none trained twice
    # width 16 with kernel 5 is over the budget: drawn, counted, never a trial
    assert nsr.rejected(results)["infeasible"] > 0
    best = results.get_best_result()
    assert best.metrics["score"] == max(float(space.evaluate(
        r.config["netdsl"]["decisions"]).totals["params"]) for r in results)
    assert all(r.config["netdsl"]["totals"]["params"] <= 300 for r in results)
