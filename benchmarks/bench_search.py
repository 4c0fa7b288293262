"""Benchmark search throughput: candidates per second, netdsl vs the naive loop.

For each space (specs/search/resnet_space.net at 224x224, specs/search/mnas_space.net),
measured in one run on this machine:

1. netdsl: `space.sample(rng)` per candidate, which is sample + elaborate + analyze +
   constraints + canonical hash (no torch). Reported cold (random candidates, mostly
   distinct), then the same stream a second time, twice: as a search meets an
   assignment again (served from the space's kept assignments, netdsl/search/seen.py:
   its decisions asked, nothing elaborated), and with the kept assignments off (every
   candidate elaborated and hashed again, its analysis reused by hash: what a search
   pays for a network it met before under other answers).
2. The naive loop: per candidate, build the PyTorch model (`candidate.build()`) and count
   its FLOPs and parameters with `torch.utils.flop_counter.FlopCounterMode` on one
   forward pass at batch 1: what a search without static analysis does to learn a
   candidate's cost (before it could even reject it).

Then the ratio netdsl / naive. Run `python benchmarks/bench_search.py` (`--quick` for a
short run, `--json out.json` to also write the numbers).

`--before-after` measures instead what the fast paths of the analysis side buy, in one
run, interleaved rounds of fresh candidates: the straightforward paths (the separate
analysis passes `analyze_reference`, the unmemoised `reference_hash`, the collector running
during the analysis) against the ones the search uses (one pass with rows made on first
read, memoised node digests, the collector paused for the whole candidate). Only such
ratios mean something on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdsl  # noqa: E402

SPACES = ["specs/search/resnet_space.net", "specs/search/mnas_space.net"]

from netdsl.analysis.report import analyze_graph  # noqa: E402
from netdsl.search.seen import SeenAssignments  # noqa: E402

_FAST = (analyze_graph,)


def netdsl_rate(space: Any, count: int, seed: int) -> tuple[float, float, float, list]:
    """Candidates per second for fresh samples, then for the same stream again (its
    assignments kept, then not)."""
    rng = random.Random(seed)
    gc.collect()
    start = time.perf_counter()
    candidates = [space.sample(rng) for _ in range(count)]
    cold = count / (time.perf_counter() - start)
    rates = []
    for kept in (space.assignments, SeenAssignments(0)):
        space.assignments = kept
        again = random.Random(seed)
        start = time.perf_counter()
        for _ in range(count):
            space.sample(again)
        rates.append(count / (time.perf_counter() - start))
    space.assignments = SeenAssignments()
    return cold, rates[0], rates[1], candidates


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


def use_fast_paths(fast: bool) -> None:
    """Switch the search between its fast paths and the straightforward ones."""
    import netdsl.analysis.report as report
    import netdsl.search.space as space
    from netdsl.search import hashing

    report.analyze_graph = _FAST[0] if fast else report.analyze_reference
    space.network_hash = hashing.network_hash if fast else hashing.reference_hash
    space.PAUSE_GC = fast


def before_after(space: Any, count: int, rounds: int) -> dict[str, float]:
    """Median candidates per second, straightforward vs fast paths, interleaved rounds of
    fresh candidates (a new seed each round; all candidates kept, as a search keeps them)."""
    rates: dict[bool, list[float]] = {False: [], True: []}
    kept: list[Any] = []
    seed = 1000
    for r in range(rounds):
        for fast in (False, True) if r % 2 == 0 else (True, False):
            use_fast_paths(fast)
            seed += 1
            rng = random.Random(seed)
            start = time.perf_counter()
            kept += [space.sample(rng) for _ in range(count)]
            rates[fast].append(count / (time.perf_counter() - start))
    use_fast_paths(True)
    before, after = statistics.median(rates[False]), statistics.median(rates[True])
    return {"before_per_s": before, "after_per_s": after, "ratio": after / before}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--naive", type=int, default=6, help="candidates for the naive loop")
    parser.add_argument("--quick", action="store_true", help="60 and 2 candidates")
    parser.add_argument("--json", metavar="OUT.json")
    parser.add_argument("--before-after", action="store_true",
                        help="straightforward vs fast analysis paths (see the module)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of --before-after")
    args = parser.parse_args(argv)
    if args.quick:
        args.candidates, args.naive = 60, 2
    results: dict[str, Any] = {}
    for path in SPACES:
        space = netdsl.load(ROOT / path).space()
        if args.before_after:
            for _ in range(20):  # warm the layer and block caches both sides share
                space.sample(random.Random(0))
            results[path] = row = before_after(space, args.candidates // args.rounds or 1,
                                               args.rounds)
            print(f"{path}: straightforward paths {row['before_per_s']:,.0f} candidates/s, "
                  f"fast paths {row['after_per_s']:,.0f}/s: x{row['ratio']:.2f}")
            continue
        cold, warm, rehashed, candidates = netdsl_rate(space, args.candidates, seed=0)
        naive, checks = naive_rate(candidates, args.naive)
        valid = [c for c in candidates if c.valid][:args.naive]
        agree = all(c.totals["macs"] == macs and c.totals["params"] == params
                    for c, (macs, params) in zip(valid, checks))
        feasible = sum(c.feasible for c in candidates)
        results[path] = {"netdsl_per_s": cold, "netdsl_repeats_per_s": warm,
                         "netdsl_duplicates_per_s": rehashed,
                         "naive_per_s": naive, "ratio": cold / naive,
                         "feasible": feasible, "candidates": len(candidates),
                         "static_numbers_match_torch": agree}
        print(f"{path}: netdsl {cold:,.0f} candidates/s (met again {warm:,.0f}/s; "
              f"met again, assignments not kept {rehashed:,.0f}/s), "
              f"naive build + FlopCounterMode {naive:,.2f}/s: {cold / naive:,.0f}x; "
              f"{feasible}/{len(candidates)} feasible; MACs and params agree with torch: "
              f"{agree}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
