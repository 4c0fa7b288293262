"""Benchmark search throughput: candidates per second, netdsl vs the naive loop.

For each space (specs/search/resnet_space.net at 224x224, specs/search/mnas_space.net),
measured in one run on this machine:

1. netdsl: `space.sample(rng)` per candidate, which is sample + elaborate + analyze +
   constraints + canonical hash (no torch). Reported cold (distinct random candidates)
   and, separately, the same stream a second time (every candidate a duplicate: its
   analysis reused by hash, which is what a real search meets again and again).
2. The naive loop: per candidate, build the PyTorch model (`candidate.build()`) and count
   its FLOPs and parameters with `torch.utils.flop_counter.FlopCounterMode` on one
   forward pass at batch 1: what a search without static analysis does to learn a
   candidate's cost (before it could even reject it).

Then the ratio netdsl / naive. Run `python benchmarks/bench_search.py` (`--quick` for a
short run, `--json out.json` to also write the numbers).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdsl  # noqa: E402

SPACES = ["specs/search/resnet_space.net", "specs/search/mnas_space.net"]


def netdsl_rate(space: Any, count: int, seed: int) -> tuple[float, float, list]:
    """Candidates per second for distinct samples, then for the same stream again."""
    rng = random.Random(seed)
    gc.collect()
    start = time.perf_counter()
    candidates = [space.sample(rng) for _ in range(count)]
    cold = count / (time.perf_counter() - start)
    again = random.Random(seed)
    start = time.perf_counter()
    for _ in range(count):
        space.sample(again)
    warm = count / (time.perf_counter() - start)
    return cold, warm, candidates


def naive_rate(candidates: list, count: int) -> tuple[float, list[tuple[int, int]]]:
    """Candidates per second building the torch model and profiling one forward pass."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(1)
    chosen = [c for c in candidates if c.valid][:count]
    checks = []
    start = time.perf_counter()
    for candidate in chosen:
        model = candidate.build().eval()
        shape = next(iter(candidate.report.inputs.values()))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *shape))
        params = sum(p.numel() for p in model.parameters())
        checks.append((counter.get_total_flops() // 2, params))
    rate = len(chosen) / (time.perf_counter() - start)
    return rate, checks


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--naive", type=int, default=6, help="candidates for the naive loop")
    parser.add_argument("--quick", action="store_true", help="60 and 2 candidates")
    parser.add_argument("--json", metavar="OUT.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.candidates, args.naive = 60, 2
    results: dict[str, Any] = {}
    for path in SPACES:
        space = netdsl.load(ROOT / path).space()
        cold, warm, candidates = netdsl_rate(space, args.candidates, seed=0)
        naive, checks = naive_rate(candidates, args.naive)
        valid = [c for c in candidates if c.valid][:args.naive]
        agree = all(c.totals["macs"] == macs and c.totals["params"] == params
                    for c, (macs, params) in zip(valid, checks))
        feasible = sum(c.feasible for c in candidates)
        results[path] = {"netdsl_per_s": cold, "netdsl_duplicates_per_s": warm,
                         "naive_per_s": naive, "ratio": cold / naive,
                         "feasible": feasible, "candidates": len(candidates),
                         "static_numbers_match_torch": agree}
        print(f"{path}: netdsl {cold:,.0f} candidates/s (duplicates {warm:,.0f}/s), "
              f"naive build + FlopCounterMode {naive:,.2f}/s: {cold / naive:,.0f}x; "
              f"{feasible}/{len(candidates)} feasible; MACs and params agree with torch: "
              f"{agree}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
