"""`netdsl search SPACE.net`: search a space without training, on static objectives.

    netdsl search specs/search/mnas_space.net --objective max:params --objective min:macs \\
        --constraint "macs <= 400M" --trials 500 --sampler nsga2 --export best.net

Objectives and constraints name the report's quantities (netdsl/analysis/constraints.py).
Without --storage and with the random sampler (or --exhaustive) the search runs in
netdsl alone; the tpe and nsga2 samplers and --storage use Optuna (a second run with the
same --storage continues the study).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from netdsl.errors import UsageError
from netdsl.language.display import literal

SAMPLERS = ("random", "tpe", "nsga2")


def add_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.ArgumentParser:
    """Register `search` on the `netdsl` command's subparsers."""
    parser = subparsers.add_parser("search", help="search a space in a spec on static "
                                                  "objectives (no training)")
    if common is not None:
        common(parser)
    else:
        parser.add_argument("spec", help="the .net file with the space")
        parser.add_argument("--network", "-n")
        parser.add_argument("--set", dest="sets", action="append", default=[])
        parser.add_argument("--traceback", action="store_true")
    parser.add_argument("--objective", action="append", default=[], metavar="max:QUANTITY",
                        help="min:macs, max:params, max:rf, ... (repeatable: a Pareto front; "
                             "default min:macs)")
    parser.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                        help='a requirement added to the spec\'s, e.g. "macs <= 600M" '
                             "(repeatable)")
    count = parser.add_mutually_exclusive_group()
    count.add_argument("--trials", type=int, default=100, metavar="N",
                       help="candidates to try (default 100)")
    count.add_argument("--exhaustive", action="store_true",
                       help="try every assignment of the decisions")
    parser.add_argument("--sampler", default="random", choices=SAMPLERS)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--storage", metavar="URL",
                        help="an Optuna storage (sqlite:///study.db, journal:FILE, "
                             "postgresql://...): the study continues on the next run")
    parser.add_argument("--study-name", help="the Optuna study's name (default from the network)")
    parser.add_argument("--batch", "-b", type=int, default=1,
                        help="the batch of memory quantities (default 1)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--export", metavar="BEST.net",
                        help="write the best candidate (first of the Pareto front) as a "
                             "frozen .net")
    parser.add_argument("--format", "-f", default="table", choices=["table", "json"])
    parser.set_defaults(handler=search_command)
    return parser


@dataclass(frozen=True)
class Objective:
    """`max:params`: a direction and a quantity of the report."""

    direction: str  # "max" or "min"
    quantity: str

    @property
    def text(self) -> str:
        return f"{self.direction}:{self.quantity}"

    def key(self, totals: dict[str, Any]) -> float:
        """Smaller is better."""
        value = totals[self.quantity]
        return -value if self.direction == "max" else value


def parse_objective(text: str) -> Objective:
    """`max:params` or `min:macs`; a UsageError naming what is wrong otherwise."""
    from netdsl.analysis.constraints import QUANTITIES
    from netdsl.language.display import suggest

    direction, _, quantity = text.partition(":")
    if direction not in ("max", "min") or not quantity:
        raise UsageError(f"an objective is max:QUANTITY or min:QUANTITY (like min:macs), got "
                         f"{text!r}")
    if quantity not in QUANTITIES:
        raise UsageError(f"unknown quantity '{quantity}' in --objective {text}"
                         f"{suggest(quantity, list(QUANTITIES))} (quantities: "
                         f"{', '.join(QUANTITIES)})")
    return Objective(direction, quantity)


@dataclass
class Outcome:
    """What a search found: counts and the Pareto front of the unique feasible candidates."""

    trials: int = 0
    invalid: int = 0
    infeasible: int = 0
    duplicate: int = 0
    unique: list[dict[str, Any]] = field(default_factory=list)  # candidate dicts by first seen
    best: Any = None  # the candidate to export
    pareto: list[dict[str, Any]] = field(default_factory=list)


def pareto_front(rows: list[dict[str, Any]], objectives: list[Objective]) -> list[dict[str, Any]]:
    """The rows no other row dominates (all objectives at least as good, one better)."""
    keys = [tuple(o.key(r["totals"]) for o in objectives) for r in rows]
    front = []
    for i, ki in enumerate(keys):
        dominated = any(all(a <= b for a, b in zip(kj, ki)) and kj != ki
                        for j, kj in enumerate(keys) if j != i)
        if not dominated:
            front.append((ki, rows[i]))
    front.sort(key=lambda pair: pair[0])
    seen, out = set(), []
    for _, row in front:
        if row["hash"] not in seen:
            seen.add(row["hash"])
            out.append(row)
    return out


def _candidates_netdsl(space: Any, args: argparse.Namespace) -> Iterator[Any]:
    if args.exhaustive:
        yield from space.enumerate()
        return
    import random

    rng = random.Random(args.seed)
    for _ in range(args.trials):
        yield space.sample(rng)


def _run_netdsl(space: Any, args: argparse.Namespace, objectives: list[Objective],
                progress: Any) -> Outcome:
    out = Outcome()
    kept: set[str] = set()  # hashes only: 15,625 NB-201 graphs would take gigabytes
    for candidate in _candidates_netdsl(space, args):
        out.trials += 1
        progress(out.trials)
        if candidate.status == "invalid":
            out.invalid += 1
        elif candidate.status == "infeasible":
            out.infeasible += 1
        elif candidate.hash in kept:
            out.duplicate += 1
        else:
            kept.add(candidate.hash)
            out.unique.append(candidate.to_dict())
    out.pareto = pareto_front(out.unique, objectives)
    if out.pareto:
        out.best = space.evaluate(out.pareto[0]["decisions"])
    return out


def _run_optuna(space: Any, args: argparse.Namespace, objectives: list[Objective],
                progress: Any) -> Outcome:
    try:
        import optuna
    except ImportError:
        raise UsageError(f"--sampler {args.sampler} and --storage use Optuna: "
                         "pip install optuna") from None
    from netdsl.search import optuna as nso

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = ["maximize" if o.direction == "max" else "minimize" for o in objectives]
    storage = args.storage or optuna.storages.InMemoryStorage()
    study = nso.create_study(space, directions=directions, storage=storage,
                             study_name=args.study_name, sampler=args.sampler, seed=args.seed)
    if list(study.directions) != [optuna.study.StudyDirection.MAXIMIZE if d == "maximize"
                                  else optuna.study.StudyDirection.MINIMIZE for d in directions]:
        raise UsageError(f"the study '{study.study_name}' in {args.storage} has other "
                         "objectives; give another --study-name")

    def static(candidate: Any) -> Any:
        values = [candidate.totals[o.quantity] for o in objectives]
        return values if len(values) > 1 else values[0]

    done = [0]

    def tick(study: Any, trial: Any) -> None:
        done[0] += 1
        progress(done[0])

    summary = nso.optimize(study, space, static, n_trials=args.trials, callbacks=[tick])
    out = Outcome(summary.trials, summary.invalid, summary.infeasible, summary.duplicate)
    seen = set()
    for t in study.get_trials(deepcopy=False):
        h = nso.info(t).get("hash")
        if t.state == optuna.trial.TrialState.COMPLETE and h not in seen:
            seen.add(h)
            out.unique.append(_row(t))
    out.pareto = pareto_front(out.unique, objectives)
    if out.pareto:
        out.best = space.evaluate(out.pareto[0]["decisions"])
    return out


def _row(trial: Any) -> dict[str, Any]:
    got = trial.user_attrs.get("netdsl", {})
    return {"decisions": got.get("decisions", {}), "status": "feasible", "hash": got.get("hash"),
            "totals": got.get("totals", {}), "trial": trial.number}


def search_command(args: argparse.Namespace) -> int:
    """Run `netdsl search`; print the outcome; write --export."""
    from netdsl.overrides import select

    objectives = [parse_objective(o) for o in (args.objective or ["min:macs"])]
    if args.exhaustive and (args.storage or args.sampler != "random"):
        raise UsageError("--exhaustive tries every candidate itself: it takes neither "
                         "--storage nor --sampler")
    if not args.exhaustive and args.trials < 1:
        raise UsageError(f"--trials takes a positive count, got {args.trials}")
    chosen = select(args.spec, args)
    space = chosen.spec.space(chosen.network, batch=args.batch, dtype=args.dtype,
                              inputs=chosen.inputs or None, params=chosen.params,
                              constraints=args.constraint)
    size = space.size()
    total = size if args.exhaustive else args.trials
    with _progress(total, args) as progress:
        if args.exhaustive or (args.sampler == "random" and not args.storage):
            outcome = _run_netdsl(space, args, objectives, progress)
        else:
            outcome = _run_optuna(space, args, objectives, progress)
    if args.export:
        if outcome.best is None:
            raise UsageError("no feasible candidate to export")
        with open(args.export, "w", encoding="utf-8") as f:
            f.write(outcome.best.spec_text())
    result = _result(space, size, outcome, objectives, args)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(_table(result, objectives))
    return 0


def _result(space: Any, size: Any, outcome: Outcome, objectives: list[Objective],
            args: argparse.Namespace) -> dict[str, Any]:
    return {
        "space": {"decisions": [d.to_dict() for d in space.decisions],
                  "size": size if size != float("inf") else None},
        "objectives": [o.text for o in objectives],
        "constraints": [c.text for c in space.constraints],
        "trials": outcome.trials,
        "rejected": {"invalid": outcome.invalid, "infeasible": outcome.infeasible,
                     "duplicate": outcome.duplicate},
        "unique": len(outcome.unique),
        "pareto": [{k: r[k] for k in ("decisions", "hash", "totals")} for r in outcome.pareto],
        "exported": args.export,
    }


def _table(result: dict[str, Any], objectives: list[Objective]) -> str:
    from netdsl.report import units

    space, rejected = result["space"], result["rejected"]
    size = space["size"]
    lines = [f"space: {len(space['decisions'])} decisions, "
             f"{'infinite (a float range)' if size is None else format(size, ',')} assignments",
             f"trials: {result['trials']}  invalid: {rejected['invalid']}  infeasible: "
             f"{rejected['infeasible']}  duplicate: {rejected['duplicate']}  unique feasible: "
             f"{result['unique']}",
             f"pareto front ({', '.join(o.text for o in objectives)}): "
             f"{len(result['pareto'])} candidate(s)"]
    for row in result["pareto"][:20]:
        shown = "  ".join(f"{o.quantity}={units.count(row['totals'][o.quantity])}"
                          for o in objectives)
        lines.append(f"  {row['hash'][:12]}  {shown}")
        lines.extend(_wrapped([f"{k} = {literal(v)}" for k, v in row["decisions"].items()]))
    if len(result["pareto"]) > 20:
        lines.append(f"  ... and {len(result['pareto']) - 20} more (--format json)")
    if result["exported"]:
        lines.append(f"best written to {result['exported']}")
    return "\n".join(lines)


def _wrapped(items: list[str], width: int = 80, indent: str = "    ") -> list[str]:
    """`items` joined by commas in lines of at most `width` columns, never inside an item
    (the decisions under a Pareto row, readable on an 80-column terminal)."""
    lines: list[str] = []
    line = ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if line and len(indent) + len(line) + 1 + len(piece) > width:
            lines.append(indent + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    if line:
        lines.append(indent + line)
    return lines


class _progress:
    """A rich progress bar on a terminal (stderr), nothing otherwise."""

    def __init__(self, total: Any, args: argparse.Namespace) -> None:
        self.total = total if isinstance(total, int) else None
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("searching", total=self.total)
        return self.update

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


__all__ = ["Objective", "add_parser", "pareto_front", "parse_objective", "search_command"]
