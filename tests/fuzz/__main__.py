"""The long fuzz campaign: `python -m tests.fuzz [--seed N] [--cases N] [--seconds S]`.

Prints the outcome counts, the slowest cases and every bad outcome (internal error,
timeout, memory, raw escape), and writes each bad case under `--save DIR` (its files and
`argv.txt`) so that it can be replayed, by hand with `netdsl` or all at once with
`--replay DIR`. Exit status 1 when any case had a bad outcome.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

from tests.fuzz.attacks import ATTACKS, PARSER_ATTACKS
from tests.fuzz.generate import cases
from tests.fuzz.runner import GOOD, OUTCOMES, Case, Outcome, run_case


def save(case: Case, outcome: Outcome, folder: Path, index: int) -> Path:
    """Write a bad case where it can be replayed: its files, argv and what it did."""
    where = folder / f"{index:06d}-{outcome.kind}"
    for rel, content in case.files.items():
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogateescape")
    (where / "argv.txt").write_text(json.dumps(case.argv) + "\n")
    (where / "outcome.txt").write_text(f"{outcome.kind} exit={outcome.code} "
                                       f"{outcome.seconds:.2f}s\n{outcome.stderr}")
    return where


def campaign(seed: int, count: int, seconds: float, memory: int,
             save_dir: Path | None = None, echo=print) -> dict[str, object]:
    """Run `count` cases; returns the counts, the slowest cases and the bad ones."""
    counts: collections.Counter[str] = collections.Counter()
    slowest: list[tuple[float, str, str]] = []
    bad: list[tuple[str, Outcome]] = []
    start = time.perf_counter()
    for i, case in enumerate(cases(seed, count)):
        outcome = run_case(case, seconds=seconds, memory=memory)
        counts[outcome.kind] += 1
        slowest = sorted([*slowest, (outcome.seconds, case.name, outcome.headline()[:100])],
                         reverse=True)[:5]
        if outcome.kind not in GOOD:
            bad.append((case.name, outcome))
            where = save(case, outcome, save_dir, i) if save_dir else ""
            echo(f"[{i}] {case.name}: {outcome.kind} {outcome.headline()[:200]} {where}")
        if echo and (i + 1) % 500 == 0:
            worst = slowest[0] if slowest else (0.0, "", "")
            echo(f"... {i + 1} cases, {time.perf_counter() - start:.0f} s, {dict(counts)}, "
                 f"slowest {worst[0]:.2f} s CPU ({worst[1]}: {worst[2][:60]})")
    return {"counts": counts, "slowest": slowest, "bad": bad,
            "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=2.0, help="time limit per case")
    parser.add_argument("--memory-mib", type=int, default=1024, help="memory limit per case")
    parser.add_argument("--save", type=Path, help="write bad cases into this folder")
    parser.add_argument("--attacks", action="store_true",
                        help="also run the targeted attacks (tests/fuzz/attacks.py)")
    parser.add_argument("--replay", type=Path, metavar="DIR",
                        help="run again the cases a campaign saved under DIR, then stop")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay, args.seconds, args.memory_mib << 20)
    failed = run_attacks(args.seconds) if args.attacks else 0
    result = campaign(args.seed, args.cases, args.seconds, args.memory_mib << 20, args.save)
    print(f"{args.cases} cases in {result['seconds']:.0f} s (seed {args.seed})")
    for kind in OUTCOMES:
        print(f"  {kind:10} {result['counts'].get(kind, 0)}")
    print("slowest:")
    for seconds, name, headline in result["slowest"]:
        print(f"  {seconds:6.2f} s  {name}: {headline}")
    return 1 if result["bad"] or failed else 0


def replay(folder: Path, seconds: float, memory: int) -> int:
    """Run the cases saved by `--save` again (after a fix); 1 if any is still bad."""
    still = 0
    for where in sorted(p for p in folder.iterdir() if (p / "argv.txt").is_file()):
        files = {str(p.relative_to(where)): p.read_bytes() for p in where.rglob("*")
                 if p.is_file() and p.name not in ("argv.txt", "outcome.txt")}
        case = Case(files, json.loads((where / "argv.txt").read_text()), where.name)
        outcome = run_case(case, seconds=seconds, memory=memory)
        still += outcome.kind not in GOOD
        print(f"{where.name}: {outcome.kind} {outcome.headline()[:150]}")
    return 1 if still else 0


def run_attacks(seconds: float) -> int:
    """Run every targeted attack; print those that do not end as they must. The parser
    attacks are reported apart (they need the parser rework)."""
    import re

    failed = 0
    for group, attacks in (("attack", ATTACKS), ("parser attack", PARSER_ATTACKS)):
        for attack in attacks:
            outcome = run_case(attack.case, seconds=max(seconds, attack.seconds))
            good = outcome.kind == attack.kind and re.match(attack.message, outcome.headline())
            if not good:
                failed += 1
                print(f"{group} {attack.name!r}: wanted {attack.kind}, got {outcome.kind}: "
                      f"{outcome.headline()[:200]}")
    print(f"{len(ATTACKS) + len(PARSER_ATTACKS)} attacks, {failed} not as they must be")
    return failed


if __name__ == "__main__":
    sys.exit(main())
