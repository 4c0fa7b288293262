"""Two checkouts of netdsl side by side: what a change bought, measured in one run.

    python benchmarks/bench_versions.py OLD_CHECKOUT [NEW_CHECKOUT] [--rounds N]

NEW_CHECKOUT defaults to this one. For each checkout, in interleaved rounds (each round
runs every measurement of both, so a change of the machine's load hits both alike), a
fresh Python process with that checkout first on the path measures:

- from scratch: every netdsl cache cleared, `netdsl.load("specs/resnet50.net")` and its
  first `analyze()` (the median of a few in the process);
- variants: `analyze(width=w)` with widths never used before, and `analyze(layers=...)`
  with four-stage lists never used before (whole-network variants, per second);
- sustained: 300 never-seen width variants in a row on a freshly loaded spec, as a
  search's loop makes them (the garbage collector's full passes included);
- short loop: a fresh load and its first 5 never-seen width variants, in all (where a
  second elaboration is recorded, it pays for that before replays pay it back);
- whole process: `python -m netdsl analyze specs/resnet50.net` (with its table), and the
  same on an unrolled chain of 10,000 conv/batchnorm/relu layers.

CPU time is what is compared (`time.process_time` inside, the children's CPU time for the
whole-process rows): on a shared machine wall times grow with the load, CPU times hardly.
Medians over the rounds; the ratio is old / new (above 1: the new checkout is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter with the checkout on the path; prints one JSON object.
_IN_PROCESS = r"""
import json, sys, time
sys.path.insert(0, "benchmarks")
import netdsl
from bench_analyze import clear_caches  # this checkout's: every netdsl cache but the parser's

def cpu(f):
    t = time.process_time(); f(); return time.process_time() - t

scratch = []
for _ in range(5):
    clear_caches()
    scratch.append(cpu(lambda: netdsl.load("specs/resnet50.net").analyze()))
spec = netdsl.load("specs/resnet50.net")
spec.analyze()
start = int(sys.argv[1])
widths = list(range(start, start + 40))
t = cpu(lambda: [spec.analyze(width=w) for w in widths])
layer_lists = [[3 + i % 2, 4 + i % 3, 6 + i % 5, 3 + i % 4] for i in range(start, start + 40)]
u = cpu(lambda: [spec.analyze(layers=l) for l in layer_lists])
sustained = netdsl.load("specs/resnet50.net")  # a search's loop: 300 in a row, fresh memo
long_run = list(range(start + 300, start + 600))  # met nowhere else in this process
v = cpu(lambda: [sustained.analyze(width=w).totals.macs for w in long_run])
short = []
for i in range(3):  # a user's short loop: a fresh load, five new widths
    fresh = netdsl.load("specs/resnet50.net")
    short.append(cpu(lambda: [fresh.analyze(width=start + 700 + 5 * i + k).totals.macs
                              for k in range(5)]))
scratch.sort()
short.sort()
print(json.dumps({"scratch_ms": 1000 * scratch[len(scratch) // 2],
                  "width_per_s": len(widths) / t, "layers_per_s": len(layer_lists) / u,
                  "sustained_per_s": len(long_run) / v, "short_loop_ms": 1000 * short[1]}))
"""


def chain_spec(layers: int) -> str:
    """An unrolled chain of conv 3x3 / batchnorm / relu, one `->` line each."""
    kinds = ["conv(8, 3, padding = 1)", "batchnorm", "relu"]
    steps = "\n".join(f"        -> {kinds[i % 3]}" for i in range(layers))
    return f"network chain() {{\n    input x: [8, 16, 16]\n    x\n{steps}\n}}\n"


def in_process(checkout: Path, start: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(start)], cwd=checkout,
                         env=_env(checkout), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def process_cpu(checkout: Path, argv: list[str]) -> float:
    """The CPU time of a whole `python -m netdsl ...` process (its own and its children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "netdsl", *argv], cwd=checkout, env=_env(checkout),
                   stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "COLUMNS": "80"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the checkout to compare against")
    parser.add_argument("new", type=Path, nargs="?", default=ROOT, help="default: this one")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    chain = Path(tempfile.mkdtemp()) / "chain10k.net"
    chain.write_text(chain_spec(10_000))
    rows: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for r in range(args.rounds):
        for which in ("old", "new"):
            checkout = getattr(args, which).resolve()
            got = in_process(checkout, 16 + 40 * r)
            got["resnet50_process_s"] = process_cpu(checkout, ["analyze", "specs/resnet50.net"])
            got["chain10k_process_s"] = process_cpu(checkout, ["analyze", str(chain)])
            for key, value in got.items():
                rows[which].setdefault(key, []).append(value)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"old: {args.old}\nnew: {args.new}\n(CPU time, medians of {args.rounds} interleaved rounds)")
    print(f"{'measurement':<34}{'old':>10}{'new':>10}{'old/new':>9}")
    for key, unit, higher_is_better in [
            ("scratch_ms", "ms", False), ("width_per_s", "/s", True), ("layers_per_s", "/s", True),
            ("sustained_per_s", "/s", True), ("short_loop_ms", "ms", False),
            ("resnet50_process_s", "s", False), ("chain10k_process_s", "s", False)]:
        old, new = (statistics.median(rows[w][key]) for w in ("old", "new"))
        ratio = new / old if higher_is_better else old / new
        print(f"{key + ' (' + unit + ')':<34}{old:>10.3f}{new:>10.3f}{ratio:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
