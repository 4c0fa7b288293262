"""Benchmark netdsl's ResNet-50 analysis against peer PyTorch profiling tools.

Measured in one run, on this machine:

1. In process: ``netdsl.load("specs/resnet50.net")`` once, then ``spec.analyze(classes=k)``
   for distinct ``k`` (ResNet-50-sized variants; a loaded spec keeps its memoised block
   calls, so variants reuse the unchanged stem and stages); also load + analyze from
   scratch, split into the two parts.
2. Whole process: ``netdsl analyze specs/resnet50.net`` (table and ``--format json``)
   as a subprocess, wall time, with and without cached bytecode.
3. Peers on the hand-written PyTorch ResNet-50 (``benchmarks/reference_models.py``):
   time = model construction + the tool's analysis, with both parts reported.

Then the ratio of the fastest peer to netdsl's in-process analysis (target >= 100x) and
the whole-process time (target <= 0.5 s), each marked PASS or FAIL, and the params and
MACs every tool reports next to netdsl's.

Run ``python benchmarks/bench_analyze.py`` (``--quick`` for a short run, ``--json
out.json`` to also write the results). Nothing is written unless ``--json`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import netdsl

if TYPE_CHECKING:
    from netdsl.analysis.report import Report

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/resnet50.net"
INPUT_SHAPE = (3, 224, 224)
SPEEDUP_TARGET = 100.0
PROCESS_TARGET_S = 0.5
# A run is flagged busy when the 1-min load average per CPU exceeded these before it
# started / when it ended (the benchmark itself adds up to 1 + torch's threads), or when
# a median is this many times its minimum (the load changed while it was measured).
BUSY_START_PER_CPU = 0.5
BUSY_END_PER_CPU = 1.5
UNSTABLE_SPREAD = 1.5


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """How many repetitions each part of the benchmark gets."""

    rounds: int  # in-process rounds
    variants: int  # analyses per in-process round
    scratch_runs: int  # load + analyze repetitions
    process_runs: int  # subprocess repetitions per command
    peer_runs: int  # timed (construct + analyse) repetitions per peer


FULL = Settings(rounds=7, variants=20, scratch_runs=10, process_runs=10, peer_runs=5)
QUICK = Settings(rounds=3, variants=5, scratch_runs=3, process_runs=3, peer_runs=1)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """Median and minimum of a list of wall times, in seconds."""

    median: float
    min: float
    runs: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        """Summarise ``seconds`` (at least one value)."""
        return cls(statistics.median(seconds), min(seconds), len(seconds))


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call of ``fn`` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time and process CPU time (all threads) of one call of ``fn``, and its result.

    CPU time hardly grows when other processes compete for the cores, as long as the
    code does not spin while waiting (torch's thread pool does: use one torch thread).
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


# --------------------------------------------------------------------------- netdsl in process


@dataclass(frozen=True)
class InProcess:
    """netdsl measured inside this interpreter."""

    cold_load_analyze_s: float  # first load + analyze in this process (builds the parser)
    per_variant: Timing  # seconds per analyze(), per round: round time / variants
    per_variant_cpu: Timing  # the same in process CPU time
    variants_per_round: int
    varied: str  # the parameter that differs between variants
    load: Timing  # netdsl.load alone, warm process
    first_analyze: Timing  # the first analyze() of a freshly loaded spec (no memoised calls)
    scratch: Timing  # load + first analyze, warm process
    params: int
    macs: int

    variants_per_s: float = field(init=False)  # at the median round
    best_variants_per_s: float = field(init=False)  # in the fastest round

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants_per_s", 1.0 / self.per_variant.median)
        object.__setattr__(self, "best_variants_per_s", 1.0 / self.per_variant.min)


def _load_analyze(path: Path) -> Report:
    """Parse the spec from scratch and analyse it with its default parameters."""
    return netdsl.load(path).analyze()


def _scratch_once(path: Path) -> tuple[float, float]:
    """Seconds to load the spec, and to analyse the freshly loaded spec once."""
    load_s, spec = _timed(lambda: netdsl.load(path))
    return load_s, _timed(spec.analyze)[0]


def _varies_classes(spec: netdsl.Spec) -> bool:
    """Whether the network takes a ``classes`` parameter (else variants re-analyse it)."""
    try:
        spec.analyze(classes=999)  # also the untimed warm-up
    except netdsl.NetdslError:
        spec.analyze()
        return False
    return True


def _round(spec: netdsl.Spec, classes: Sequence[int], vary: bool) -> tuple[float, float]:
    """Wall and CPU seconds to analyse one variant per entry of ``classes``."""

    def run() -> None:
        for k in classes:
            spec.analyze(**({"classes": k} if vary else {}))

    wall, cpu, _ = _timed_cpu(run)
    return wall, cpu


def bench_in_process(settings: Settings) -> InProcess:
    """Time analyze() of distinct ResNet-50 variants on one loaded spec, and load+analyze."""
    path = ROOT / SPEC
    cold, report = _timed(lambda: _load_analyze(path))
    spec = netdsl.load(path)
    vary, n = _varies_classes(spec), settings.variants
    walls, cpus = zip(*(_round(spec, range(10 + r * n, 10 + (r + 1) * n), vary)
                        for r in range(settings.rounds)))
    loads, firsts = zip(*(_scratch_once(path) for _ in range(settings.scratch_runs)))
    return InProcess(
        cold_load_analyze_s=cold,
        per_variant=Timing.of([t / n for t in walls]),
        per_variant_cpu=Timing.of([t / n for t in cpus]),
        variants_per_round=n,
        varied="classes" if vary else "nothing (re-analysed)",
        load=Timing.of(loads),
        first_analyze=Timing.of(firsts),
        scratch=Timing.of([a + b for a, b in zip(loads, firsts)]),
        params=report.totals.params,
        macs=report.totals.macs,
    )


# --------------------------------------------------------------------------- whole process


@dataclass(frozen=True)
class ProcessRun:
    """One command line run repeatedly as a subprocess under one bytecode setting."""

    command: list[str]
    bytecode: str  # NO_PYC or CACHED_PYC
    wall: Timing
    is_target: bool = False  # a `netdsl analyze` line judged against PROCESS_TARGET_S


NO_PYC = "PYTHONDONTWRITEBYTECODE=1"
CACHED_PYC = "bytecode cached"


def netdsl_command() -> list[str]:
    """The installed ``netdsl`` console script next to this interpreter, else ``-m netdsl``.

    The script beside ``sys.executable`` is what ``pip install`` creates; looking it up
    there avoids timing a version-manager shim (pyenv) that ``PATH`` may resolve first.
    """
    script = Path(sys.executable).parent / "netdsl"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("netdsl")
    return [found] if found else [sys.executable, "-m", "netdsl"]


def bytecode_envs(cache_dir: str) -> dict[str, dict[str, str]]:
    """Subprocess environments: no bytecode written, and bytecode cached in ``cache_dir``.

    Without cached bytecode every run compiles netdsl's modules from source (an editable
    install under ``PYTHONDONTWRITEBYTECODE=1``, as in some sandboxes); a normal install
    or a second run has ``.pyc`` files. ``PYTHONPYCACHEPREFIX`` keeps them out of the tree.
    """
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    return {NO_PYC: {**base, "PYTHONDONTWRITEBYTECODE": "1"},
            CACHED_PYC: {**base, "PYTHONPYCACHEPREFIX": cache_dir}}


def _run_once(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one subprocess run (output captured); raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return seconds


def bench_command(command: list[str], bytecode: str, env: dict[str, str], runs: int,
                  is_target: bool = False) -> ProcessRun:
    """Median wall time of ``runs`` runs of ``command``, after one untimed warm-up run."""
    _run_once(command, env)
    wall = Timing.of([_run_once(command, env) for _ in range(runs)])
    return ProcessRun(command, bytecode, wall, is_target)


def cli_totals(command: list[str]) -> dict[str, int]:
    """The ``totals`` object of ``netdsl analyze --format json`` (to check the CLI agrees)."""
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["totals"]


def bench_processes(settings: Settings) -> tuple[list[ProcessRun], dict[str, int]]:
    """Time the CLI (table and JSON) with and without cached bytecode, and two floors.

    The floors are importing netdsl's CLI module and starting a bare interpreter.
    """
    table = [*netdsl_command(), "analyze", SPEC]
    as_json = [*table, "--format", "json"]
    importing = [sys.executable, "-c", "import netdsl.cli"]
    runs = settings.process_runs
    with tempfile.TemporaryDirectory(prefix="bench-analyze-pyc-") as cache:
        envs = bytecode_envs(cache)
        results = [bench_command(cmd, label, env, runs, cmd is not importing)
                   for label, env in envs.items() for cmd in (table, as_json, importing)]
        results.append(bench_command([sys.executable, "-c", "pass"], CACHED_PYC,
                                     envs[CACHED_PYC], runs))
    return results, cli_totals(as_json)


# --------------------------------------------------------------------------- peers


@dataclass(frozen=True)
class PeerResult:
    """One peer tool: construction + analysis time and what it reported."""

    tool: str
    construct: Timing | None
    analyse: Timing | None
    total: Timing | None
    total_cpu: Timing | None  # construction + analysis in process CPU time
    params: int | None
    macs: int | None
    note: str = ""


def _quietly(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` with stdout and stderr swallowed (peers print tables and warnings)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn()


@dataclass(frozen=True)
class _PeerRun:
    """One timed repetition: construction and tool call, wall and CPU seconds."""

    build_wall: float
    build_cpu: float
    tool_wall: float
    tool_cpu: float
    row: Any  # the peers.PeerRow the tool reported


def _peer_once(runner: Callable[..., Any], build: Callable[[], Any]) -> _PeerRun:
    """Construct a fresh model and run one peer on it, timing both parts."""
    build_wall, build_cpu, model = _timed_cpu(build)
    tool_wall, tool_cpu, row = _timed_cpu(
        lambda: _quietly(lambda: runner(model.eval(), INPUT_SHAPE)))
    return _PeerRun(build_wall, build_cpu, tool_wall, tool_cpu, row)


def _measure_peer(runner: Callable[..., Any], build: Callable[[], Any],
                  runs: int) -> PeerResult:
    """One untimed warm-up (imports, first-call setup), then ``runs`` timed repetitions."""
    _peer_once(runner, build)
    done = [_peer_once(runner, build) for _ in range(runs)]
    last = done[-1].row
    return PeerResult(
        tool=last.tool,
        construct=Timing.of([d.build_wall for d in done]),
        analyse=Timing.of([d.tool_wall for d in done]),
        total=Timing.of([d.build_wall + d.tool_wall for d in done]),
        total_cpu=Timing.of([d.build_cpu + d.tool_cpu for d in done]),
        params=last.params,
        macs=last.macs,
        note=last.note,
    )


def _importable(module: str) -> bool:
    """Whether ``module`` imports (imported here, outside any timing)."""
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any import failure means "skip this peer"
        return False
    return True


def bench_peers(settings: Settings, torch_threads: int | None) -> list[PeerResult]:
    """Run every importable peer of ``benchmarks/peers.py`` on a freshly built ResNet-50."""
    if not _importable("torch"):
        print("[peers] torch not importable; peers skipped", file=sys.stderr)
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from peers import PEERS
    from reference_models import resnet50

    if torch_threads:
        torch.set_num_threads(torch_threads)
    torch.manual_seed(0)
    results = []
    for name, (module, runner) in PEERS.items():
        if not _importable(module):
            print(f"[peers] {name}: {module} not importable; skipped", file=sys.stderr)
            continue
        try:
            results.append(_measure_peer(runner, resnet50, settings.peer_runs))
        except Exception as exc:  # noqa: BLE001 - a failing peer is a finding, not a crash
            results.append(PeerResult(name, None, None, None, None, None, None,
                                      f"failed: {exc!r}"))
        gc.collect()
    return results


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """One target: the measured value, the target and whether it is met (None: info)."""

    name: str
    value: float
    target: str
    passed: bool | None


def _fastest_peer(peers: list[PeerResult]) -> tuple[PeerResult, Timing] | None:
    """The peer with the smallest best (min) construction + analysis time."""
    timed = [(p, p.total) for p in peers if p.total is not None]
    return min(timed, key=lambda pt: pt[1].min) if timed else None


def speedup_verdicts(inproc: InProcess, peers: list[PeerResult]) -> list[Verdict]:
    """netdsl's in-process analysis against the fastest peer (construction included).

    The target ratio divides the fastest peer's *best* total by netdsl's *median*
    analysis time: on a shared machine contention inflates the multi-threaded peers
    most, so this is the ratio least flattering to netdsl (median/median is also given).
    Load + first analysis of a freshly parsed spec is compared too, for information.
    """
    found = _fastest_peer(peers)
    if found is None:
        return []
    peer, best = found
    warm = inproc.per_variant.median
    target = f">= {SPEEDUP_TARGET:.0f}x"
    return [
        Verdict(f"in-process analyze vs fastest peer ({peer.tool}: construction + analysis, "
                f"best {_ms(best.min)} ms vs netdsl median {_ms(warm)} ms; median/median "
                f"{best.median / warm:.0f}x)", best.min / warm, target,
                best.min / warm >= SPEEDUP_TARGET),
        Verdict(f"load + first analyze of a fresh spec ({_ms(inproc.scratch.median)} ms) vs "
                f"{peer.tool}", best.min / inproc.scratch.median, target, None),
        *_cpu_verdict(inproc, peers),
    ]


def _cpu_verdict(inproc: InProcess, peers: list[PeerResult]) -> list[Verdict]:
    """The same speed-up in process CPU time (less sensitive to other load), for information."""
    timed = [(p, p.total_cpu) for p in peers if p.total_cpu is not None]
    if not timed:
        return []
    peer, best = min(timed, key=lambda pt: pt[1].min)
    netdsl_cpu = inproc.per_variant_cpu.median
    return [Verdict(f"CPU time: in-process analyze ({_ms(netdsl_cpu)} ms) vs least-CPU peer "
                    f"({peer.tool}, best {_ms(best.min)} ms, all threads)",
                    best.min / netdsl_cpu, f">= {SPEEDUP_TARGET:.0f}x", None)]


def process_verdicts(processes: list[ProcessRun]) -> list[Verdict]:
    """The ``netdsl analyze`` command lines against the whole-process target."""
    out = []
    for run in (r for r in processes if r.is_target):
        words = [Path(run.command[0]).name, *run.command[1:]]
        out.append(Verdict(f"whole process ({run.bytecode}): " + " ".join(words),
                           run.wall.median, f"<= {PROCESS_TARGET_S} s",
                           run.wall.median <= PROCESS_TARGET_S))
    return out


# --------------------------------------------------------------------------- output


def _ms(seconds: float | None) -> str:
    """Seconds as milliseconds with one decimal, or ``-``."""
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def _med(timing: Timing | None) -> float | None:
    """The median of ``timing``, or ``None`` for a peer that failed."""
    return None if timing is None else timing.median


def _n(value: int | None) -> str:
    """Thousands-separated integer, or ``-``."""
    return "-" if value is None else f"{value:,d}"


def _diff(value: int | None, reference: int) -> str:
    """Relative difference of ``value`` from ``reference`` in percent, or ``-``."""
    if value is None:
        return "-"
    return "same" if value == reference else f"{(value - reference) / reference:+.3%}"


def format_in_process(r: InProcess) -> str:
    """The in-process section."""
    t = r.per_variant
    return "\n".join([
        f"netdsl in process ({SPEC}, {r.variants_per_round} variants x {t.runs} rounds; "
        f"varied: {r.varied})",
        f"  analyze:           median {_ms(t.median)} ms/variant = {r.variants_per_s:,.0f} "
        f"variants/s   (best round {_ms(t.min)} ms = {r.best_variants_per_s:,.0f}/s)",
        f"  load + analyze:    median {_ms(r.scratch.median)} ms, min {_ms(r.scratch.min)} ms "
        f"({r.scratch.runs} runs, warm process) = load {_ms(r.load.median)} ms + first "
        f"analyze of the fresh spec {_ms(r.first_analyze.median)} ms",
        f"  first load+analyze in this process (builds the parser): "
        f"{_ms(r.cold_load_analyze_s)} ms",
    ])


def format_processes(runs: list[ProcessRun]) -> str:
    """The whole-process section."""
    lines = ["whole process (subprocess wall time, after one untimed run)",
             f"  {'median s':>8s} {'min s':>7s} {'runs':>4s}  {'bytecode':25s}  command"]
    for run in runs:
        lines.append(f"  {run.wall.median:8.3f} {run.wall.min:7.3f} {run.wall.runs:4d}  "
                     f"{run.bytecode:25s}  " + " ".join(run.command))
    return "\n".join(lines)


def format_peers(peers: list[PeerResult], inproc: InProcess) -> str:
    """Peer timings and their params/MACs next to netdsl's."""
    head = (f"  {'tool':21s} {'build ms':>9s} {'tool ms':>9s} {'total ms':>9s} "
            f"{'x netdsl':>8s} {'cpu ms':>8s} {'params':>12s} {'vs netdsl':>9s} {'MACs':>15s} {'vs netdsl':>9s}")
    lines = ["peers on benchmarks/reference_models.resnet50, input 1x3x224x224 (medians; total = "
             "model\nconstruction + tool; x netdsl = total / netdsl's; cpu = process CPU time "
             "of the total)", head,
             f"  {'netdsl analyze':21s} {'-':>9s} {_ms(inproc.per_variant.median):>9s} "
             f"{_ms(inproc.per_variant.median):>9s} {'1':>8s} "
             f"{_ms(inproc.per_variant_cpu.median):>8s} {_n(inproc.params):>12s} "
             f"{'':>9s} {_n(inproc.macs):>15s} {'':>9s}"]
    for p in peers:
        speed = "-" if p.total is None else f"{p.total.median / inproc.per_variant.median:.0f}"
        lines.append(
            f"  {p.tool:21s} {_ms(_med(p.construct)):>9s} "
            f"{_ms(_med(p.analyse)):>9s} {_ms(_med(p.total)):>9s} "
            f"{speed:>8s} {_ms(_med(p.total_cpu)):>8s} "
            f"{_n(p.params):>12s} {_diff(p.params, inproc.params):>9s} "
            f"{_n(p.macs):>15s} {_diff(p.macs, inproc.macs):>9s}  {p.note}")
    return "\n".join(lines)


def format_verdicts(items: list[Verdict], busy: bool, quick: bool) -> str:
    """PASS/FAIL (or info) lines for every target; ``*`` marks a run on a busy machine."""
    notes = ["--quick: too few runs to judge by"] if quick else []
    notes += ["* measured on a busy machine: see the warning"] if busy else []
    lines = ["targets" + (f" ({'; '.join(notes)})" if notes else "")]
    for v in items:
        value = f"{v.value:,.0f}x" if v.target.endswith("x") else f"{v.value:.3f} s"
        mark = "info" if v.passed is None else "PASS" if v.passed else "FAIL"
        mark += "*" if busy else ""
        lines.append(f"  [{mark}] {v.name}: {value} (target {v.target})")
    return "\n".join(lines)


def busy_reasons(r: Results) -> list[str]:
    """Why this run's times are not to be trusted (empty when the machine looked idle)."""
    env, cpus = r.environment, r.environment["cpus"] or 1
    start, end = env["load_average_1min_at_start"], env["load_average_1_5_15min_at_end"][0]
    reasons = []
    if start > BUSY_START_PER_CPU * cpus:
        reasons.append(f"the 1-min load average was {start:.2f} on {cpus} CPUs at the start")
    if end > BUSY_END_PER_CPU * cpus:
        reasons.append(f"the 1-min load average was {end:.2f} on {cpus} CPUs at the end")
    timings = [("netdsl analyze", r.in_process.per_variant)]
    timings += [(p.tool, p.total) for p in r.peers if p.total is not None]
    reasons += [f"{name}: median {_ms(t.median)} ms is {t.median / t.min:.1f}x its best"
                for name, t in timings if t.median > UNSTABLE_SPREAD * t.min]
    return reasons


def busy_warning(reasons: list[str]) -> str:
    """The warning printed after a run on a busy machine, or ``""``."""
    if not reasons:
        return ""
    return ("WARNING: other work competed for the CPUs (" + "; ".join(reasons) + "). Every "
            "time is inflated, torch's multi-threaded peers' most, which overstates the "
            "speed-up; rerun when idle, or with --torch-threads 1 and read the CPU-time ratio.")


def environment(load_at_start: float) -> dict[str, Any]:
    """Versions and machine facts that the numbers depend on (call after the peers ran)."""
    try:
        import torch
    except ImportError:
        torch_version, threads = "not installed", 0
    else:
        torch_version, threads = torch.__version__, torch.get_num_threads()
    return {"python": platform.python_version(), "netdsl": netdsl.__version__,
            "torch": torch_version, "torch_threads": threads,
            "cpus": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform(), "load_average_1min_at_start": load_at_start,
            "load_average_1_5_15min_at_end": list(os.getloadavg())}


@dataclass
class Results:
    """Everything one run measured (what ``--json`` writes)."""

    settings: Settings
    environment: dict[str, Any]
    in_process: InProcess
    processes: list[ProcessRun]
    cli_totals: dict[str, int]
    peers: list[PeerResult]
    verdicts: list[Verdict] = field(default_factory=list)


def format_environment(env: dict[str, Any]) -> str:
    """Versions, CPUs and load averages."""
    end = " ".join(f"{x:.2f}" for x in env["load_average_1_5_15min_at_end"])
    return (f"python {env['python']}, netdsl {env['netdsl']}, torch {env['torch']} "
            f"({env['torch_threads']} threads), {env['cpus']} CPUs, {env['platform']}\n"
            f"load average: 1 min {env['load_average_1min_at_start']:.2f} at the start; "
            f"1/5/15 min {end} at the end")


def format_results(r: Results) -> str:
    """The full report printed to stdout."""
    cli = (f"  CLI --format json totals: params {_n(r.cli_totals.get('params'))}, "
           f"MACs {_n(r.cli_totals.get('macs'))}")
    warning = busy_warning(busy_reasons(r))
    sections = [format_environment(r.environment), format_in_process(r.in_process),
                format_processes(r.processes) + "\n" + cli, format_peers(r.peers, r.in_process),
                format_verdicts(r.verdicts, bool(warning), r.settings == QUICK)]
    return "\n\n".join(sections + ([warning] if warning else []))


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    parser.add_argument("--no-peers", action="store_true", help="skip the peer tools")
    parser.add_argument("--torch-threads", type=int, metavar="N",
                        help="torch intra-op threads for the peers (default: torch's own); "
                             "1 makes their CPU time meaningful on a busy machine")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every benchmark, print the report, optionally write JSON; 0 unless it crashed."""
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    load_at_start = os.getloadavg()[0]
    print("measuring netdsl in process ...", file=sys.stderr, flush=True)
    inproc = bench_in_process(settings)
    print("measuring whole processes ...", file=sys.stderr, flush=True)
    processes, totals = bench_processes(settings)
    print("measuring peers ...", file=sys.stderr, flush=True)
    peers = [] if args.no_peers else bench_peers(settings, args.torch_threads)
    results = Results(settings, environment(load_at_start), inproc, processes, totals, peers)
    results.verdicts = speedup_verdicts(inproc, peers) + process_verdicts(processes)
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(results), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
