"""Benchmark netdsl's analysis against peer PyTorch profiling tools, measured so that it
cannot flatter netdsl.

Everything is measured in one run, in interleaved rounds (each round runs every
in-process measurement and every peer once), and medians over the rounds are reported:

1. netdsl in process, ResNet-50 (``specs/resnet50.net``):
   * **from scratch**: every process-level cache cleared (see ``clear_caches``), then
     ``netdsl.load`` + ``analyze()``; also the first load + analyze in a fresh
     interpreter (a subprocess; imports excluded, parser construction included);
   * **whole-network variants** (headline): ``analyze(width=w)`` and
     ``analyze(layers=[...])`` with values never seen before on one loaded spec, so
     every stage and unit is elaborated anew (only the unchanged stem can be reused);
   * ``classes`` variants, apart: they reuse every memoised stage.
2. Peers (``benchmarks/peers.py``) on ``benchmarks/reference_models.resnet50``: model
   construction + the tool, at 1 and 2 torch threads, each peer at its faster setting.
3. Scaling: a chain of N layers (100 to 50,000), written with ``repeat`` and unrolled
   (one line per layer, as machine-made specs are), in process (parse, then elaborate +
   analyse) and as a whole ``netdsl analyze`` process; the growth exponent from 1,000
   to 50,000 layers.
4. Whole process: ``netdsl analyze specs/resnet50.net`` (table and JSON), with and
   without cached bytecode, and two floors (``import netdsl.cli``, ``python -c pass``).

Then each target is marked PASS or FAIL. ``--quick`` is a smoke run; ``--json OUT``
also writes every number. Nothing is written otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import io
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import netdsl

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/resnet50.net"
INPUT_SHAPE = (3, 224, 224)
THREADS = (1, 2)
#: Width variants of a fresh load in the short-loop row (the second is recorded).
SHORT_LOOP = 5

# targets (issue 8)
SPEEDUP_TARGET = 100.0  # from scratch vs the fastest peer
VARIANTS_TARGET = 1000.0  # whole-network variants per second
PARSE_TARGET = 1e6  # bytes of spec text per second
PROCESS_TARGET_S = 0.5  # whole-process analyze of ResNet-50
CHAIN_TARGETS_S = {10_000: 1.0, 50_000: 3.0}  # whole process, unrolled chain
EXPONENT_TARGET = 1.05


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """How many repetitions each part gets."""

    rounds: int  # interleaved rounds (netdsl in process + every peer)
    variants: int  # analyses per kind of variant per round
    process_runs: int  # subprocess repetitions per command
    scaling: tuple[int, ...]  # chain lengths
    scaling_budget_s: float  # time per scaling cell (at least one run, at most 5)
    sustained: int = 1000  # width variants in a row, as a search loop makes them


FULL = Settings(rounds=7, variants=10, process_runs=7,
                scaling=(100, 1000, 5000, 10_000, 50_000), scaling_budget_s=6.0)
QUICK = Settings(rounds=2, variants=3, process_runs=2, scaling=(100, 1000, 10_000),
                 scaling_budget_s=1.0, sustained=150)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """Median and minimum of a list of times, in seconds."""

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
    """Wall and process CPU time (all threads) of one call of ``fn``, and its result.

    On a busy machine wall times grow with the load while the CPU time of
    single-threaded code hardly does: netdsl and the one-thread peers compare fairly.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _quietly(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` with stdout and stderr swallowed (peers print tables and warnings)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn()


# --------------------------------------------------------------------------- caches


#: Process-level caches kept on purpose (none: the Lark parser is built only for syntax
#: errors, and the hand-written one has no tables). Everything is cleared before a
#: from-scratch run.
KEPT_CACHES: frozenset[str] = frozenset()


def _caches() -> Iterator[tuple[str, Any]]:
    """Every process-level cache of netdsl's loaded modules, by qualified name.

    A cache is a ``functools`` cache wrapper or a module-level container whose name
    contains ``CACHE`` (the naming rule for netdsl's own caches).
    """
    for name, module in list(sys.modules.items()):
        if not (name == "netdsl" or name.startswith("netdsl.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            qualified = f"{name}.{attr}"
            if isinstance(value, functools._lru_cache_wrapper):  # noqa: SLF001
                if getattr(value, "__module__", name) == name:
                    yield qualified, value
            elif "CACHE" in attr and hasattr(value, "clear") and not isinstance(value, type):
                yield qualified, value


def clear_caches() -> list[str]:
    """Clear every netdsl cache but the compiled parser; the names of those cleared."""
    cleared = []
    for name, cache in _caches():
        if name in KEPT_CACHES:
            continue
        (cache.cache_clear if hasattr(cache, "cache_clear") else cache.clear)()
        cleared.append(name)
    return cleared


# --------------------------------------------------------------------------- netdsl rounds


class Variants:
    """Never-repeated parameter values for ResNet-50 variants of each kind."""

    def __init__(self) -> None:
        self._width = iter(range(16, 10_000))
        self._classes = iter(range(10, 100_000))
        # ResNet-50-sized: 15 to 17 units in four stages, every stage at least 2
        self._layers = iter([list(c) for c in product(range(2, 9), repeat=4)
                             if 15 <= sum(c) <= 17 and list(c) != [3, 4, 6, 3]])

    def next(self, kind: str) -> dict[str, Any]:
        """The keyword arguments of the next variant of ``kind``."""
        source = {"width": self._width, "layers": self._layers, "classes": self._classes}[kind]
        return {kind: next(source)}


VARIANT_KINDS = ("width", "layers", "classes")


def _scratch_once(path: Path) -> tuple[float, float, float]:
    """Seconds to load the spec and analyse it once, after clearing every cache; and the
    CPU seconds of both."""
    clear_caches()
    gc.collect()
    load_s, load_cpu, spec = _timed_cpu(lambda: netdsl.load(path))
    analyse_s, analyse_cpu, _ = _timed_cpu(spec.analyze)
    return load_s, analyse_s, load_cpu + analyse_cpu


def _variant_round(spec: netdsl.Spec, kind: str, variants: Variants, n: int) -> float:
    """Seconds per analysis over ``n`` fresh variants of ``kind``."""
    chosen = [variants.next(kind) for _ in range(n)]
    start = time.perf_counter()
    for kwargs in chosen:
        spec.analyze(**kwargs)
    return (time.perf_counter() - start) / n


def _short_loop(path: Path, variants: Variants, n: int = SHORT_LOOP) -> list[float]:
    """Seconds of each of the first ``n`` never-seen width variants of a fresh load: the
    first is elaborated, the second also recorded, the later ones replayed (a user's
    short loop pays for the recording before replays pay it back)."""
    spec = netdsl.load(path)
    chosen = [variants.next("width") for _ in range(n)]
    times, macs = [], 0
    for kwargs in chosen:
        start = time.perf_counter()
        macs += spec.analyze(**kwargs).totals.macs  # read, as a search reads its candidates
        times.append(time.perf_counter() - start)
    return times


@dataclass(frozen=True)
class Sustained:
    """A search's loop: never-seen width variants of one freshly loaded spec, one after
    another, with the cyclic garbage collector running as in the user's process.

    The rounds' variants come ten at a time between other work (and the from-scratch
    runs clear the caches); a long search instead keeps every cache growing, and the
    collector's full passes rescan all that the caches keep. This row includes them.
    """

    count: int
    wall: float  # seconds per variant
    cpu: float  # CPU seconds per variant
    collector: float  # seconds per variant spent in garbage collections
    collections: tuple[int, int, int]  # how many, by generation


def sustained_run(path: Path, variants: Variants, count: int) -> Sustained:
    """``count`` width variants in a row on a fresh ``netdsl.load(path)``."""
    spec = netdsl.load(path)
    chosen = [variants.next("width") for _ in range(count)]
    runs, spent, started = [0, 0, 0], [0.0], [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            runs[info["generation"]] += 1
            spent[0] += time.perf_counter() - started[0]

    def search() -> int:  # a search reads each candidate's totals and drops the report
        return sum(spec.analyze(**kwargs).totals.macs for kwargs in chosen)

    gc.collect()
    gc.callbacks.append(watch)
    try:
        wall, cpu, _ = _timed_cpu(search)
    finally:
        gc.callbacks.remove(watch)
    return Sustained(count, wall / count, cpu / count, spent[0] / count,
                     (runs[0], runs[1], runs[2]))


def fresh_process_seconds(path: Path) -> float:
    """The first load + analyze in a fresh interpreter (netdsl imported beforehand)."""
    code = ("import time, netdsl, networkx\n"  # networkx: imported by the first graph
            "t = time.perf_counter()\n"
            f"netdsl.load({str(path)!r}).analyze()\n"
            "print(time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=_env_with_root())
    return float(out.stdout.strip())


def _env_with_root() -> dict[str, str]:
    """This environment with the checkout first on PYTHONPATH."""
    parts = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(parts)}


# --------------------------------------------------------------------------- peers


@dataclass
class PeerSeries:
    """One peer at one torch thread count: timings over the rounds and what it reported."""

    tool: str
    threads: int
    construct: list[float] = field(default_factory=list)
    analyse: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # construction + tool, process CPU time
    params: int | None = None
    macs: int | None = None
    note: str = ""

    @property
    def total(self) -> Timing | None:
        """Construction + tool, per round."""
        if not self.construct:
            return None
        return Timing.of([a + b for a, b in zip(self.construct, self.analyse)])


def _peer_runners() -> list[tuple[str, Callable[..., Any]]]:
    """The importable peers of ``benchmarks/peers.py`` (imports happen here, untimed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from peers import PEERS

    runners = []
    for name, (module, runner) in PEERS.items():
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - any import failure means "skip this peer"
            print(f"[peers] {name}: {module} not importable; skipped", file=sys.stderr)
            continue
        runners.append((name, runner))
    return runners


def _peer_once(series: PeerSeries, runner: Callable[..., Any], build: Callable[[], Any],
               record: bool) -> None:
    """Construct a fresh model and run the peer on it, recording both times."""
    import torch

    torch.set_num_threads(series.threads)
    try:
        build_s, build_cpu, model = _timed_cpu(build)
        tool_s, tool_cpu, row = _timed_cpu(
            lambda: _quietly(lambda: runner(model.eval(), INPUT_SHAPE)))
    except Exception as exc:  # noqa: BLE001 - a failing peer is a finding, not a crash
        series.note = f"failed: {exc!r}"
        return
    if record:
        series.construct.append(build_s)
        series.analyse.append(tool_s)
        series.cpu.append(build_cpu + tool_cpu)
    series.tool, series.params, series.macs, series.note = row.tool, row.params, row.macs, row.note


# --------------------------------------------------------------------------- the rounds


@dataclass
class InProcess:
    """netdsl in this interpreter, and the peers, over interleaved rounds."""

    load: Timing
    first_analyze: Timing
    scratch: Timing
    scratch_cpu: Timing  # the same in process CPU time
    fresh_process: Timing  # first load + analyze in a new interpreter
    variants: dict[str, Timing]  # seconds per analysis, by the parameter varied
    short_loop: Timing  # seconds for the first SHORT_LOOP width variants of a fresh load
    recording: Timing  # seconds of the second of them (elaborated and recorded)
    sustained: Sustained
    cleared: list[str]
    params: int
    macs: int
    peers: list[PeerSeries]


def bench_rounds(settings: Settings, with_peers: bool) -> InProcess:
    """The interleaved rounds: from scratch, each kind of variant, every peer (1, 2 threads)."""
    path = ROOT / SPEC
    report = netdsl.load(path).analyze()  # warm-up: imports, the parser
    spec, variants = netdsl.load(path), Variants()
    for kind in VARIANT_KINDS:  # warm-up of each kind
        spec.analyze(**variants.next(kind))
    runners, build, series = [], None, []
    if with_peers and _torch_importable():
        import torch

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference_models import resnet50

        torch.manual_seed(0)
        runners, build = _peer_runners(), resnet50
        series = [PeerSeries(name, t) for name, _ in runners for t in THREADS]
        for s, (_, runner) in zip(series, [r for r in runners for _ in THREADS]):
            _peer_once(s, runner, build, record=False)  # warm-up
    loads, firsts, cpus, fresh, shorts, seconds = [], [], [], [], [], []
    per_kind: dict[str, list[float]] = {k: [] for k in VARIANT_KINDS}
    for r in range(settings.rounds):
        print(f"  round {r + 1}/{settings.rounds}", file=sys.stderr, flush=True)
        load_s, first_s, cpu_s = _scratch_once(path)
        loads.append(load_s)
        firsts.append(first_s)
        cpus.append(cpu_s)
        for kind in VARIANT_KINDS:
            per_kind[kind].append(_variant_round(spec, kind, variants, settings.variants))
        short = _short_loop(path, variants)
        shorts.append(sum(short))
        seconds.append(short[1])
        fresh.append(fresh_process_seconds(path))
        for s, (_, runner) in zip(series, [r for r in runners for _ in THREADS]):
            _peer_once(s, runner, build, record=True)
            gc.collect()
    print(f"  {settings.sustained:,d} variants in a row", file=sys.stderr, flush=True)
    sustained = sustained_run(path, variants, settings.sustained)
    return InProcess(
        load=Timing.of(loads), first_analyze=Timing.of(firsts),
        scratch=Timing.of([a + b for a, b in zip(loads, firsts)]),
        scratch_cpu=Timing.of(cpus),
        fresh_process=Timing.of(fresh),
        variants={k: Timing.of(v) for k, v in per_kind.items()},
        short_loop=Timing.of(shorts), recording=Timing.of(seconds), sustained=sustained,
        cleared=clear_caches(), params=report.totals.params, macs=report.totals.macs,
        peers=series)


def _torch_importable() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("[peers] torch not importable; peers skipped", file=sys.stderr)
        return False
    return True


def best_peers(series: list[PeerSeries]) -> list[PeerSeries]:
    """Each peer at its faster thread count (by median construction + tool)."""
    by_tool: dict[str, PeerSeries] = {}
    for s in series:
        if s.total is None:
            by_tool.setdefault(s.tool, s)
            continue
        kept = by_tool.get(s.tool)
        if kept is None or kept.total is None or s.total.median < kept.total.median:
            by_tool[s.tool] = s
    return list(by_tool.values())


# --------------------------------------------------------------------------- scaling


def chain_spec(n: int, unrolled: bool) -> str:
    """A chain of ``n`` layers (conv, batchnorm, relu, ...): one line each, or a repeat."""
    steps = ("conv(8, 3, padding = 1)", "batchnorm", "relu")
    head = "network chain() {\n    input x: [8, 16, 16]\n    x\n"
    if unrolled:
        return head + "".join(f"        -> {steps[i % 3]}\n" for i in range(n)) + "}\n"
    unit, units = " -> ".join(steps), n // 3
    outer, inner = divmod(units, 1000)  # a loop runs at most 10,000 times (the limit)
    body = f"        -> repeat({outer}) {{ repeat(1000) {{ {unit} }} }}\n" if outer else ""
    body += f"        -> repeat({inner}) {{ {unit} }}\n" if inner else ""
    body += "".join(f"        -> {steps[i]}\n" for i in range(n % 3))
    return head + body + "}\n"


@dataclass(frozen=True)
class ScalingRow:
    """One chain: size, form, bytes, in-process parse and elaborate+analyse, whole process."""

    layers: int
    form: str
    bytes: int
    parse: Timing
    analyse: Timing
    parse_cpu: Timing  # netdsl.load in process CPU time
    process: Timing | None
    process_cpu: Timing | None
    peak_rss_mib: float | None  # the whole process's peak resident memory


def _budgeted(fn: Callable[[], Any], budget_s: float, most: int = 5) -> list[Any]:
    """Results of calling ``fn`` until ``budget_s`` is spent (at least once, at most ``most``)."""
    out, start = [], time.perf_counter()
    while not out or (len(out) < most and time.perf_counter() - start < budget_s):
        out.append(fn())
    return out


def _in_process_chain(path: Path) -> tuple[float, float, float]:
    """Wall seconds to parse and to analyse, and CPU seconds to parse, from scratch."""
    clear_caches()
    gc.collect()
    parse_s, parse_cpu, spec = _timed_cpu(lambda: netdsl.load(path))
    return parse_s, _timed(spec.analyze)[0], parse_cpu


# `python -m netdsl ARGS` that prints its peak resident memory (VmHWM, kB) last on stderr
# (ru_maxrss would include the benchmark's own before the exec), however it ends: the
# command ends its process with os._exit after `analyze`, so that is wrapped too
_RSS_WRAPPER = ("import os, runpy, sys\n"
                "def peak():\n"
                "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
                "    print(hwm[0].split()[1] if hwm else 0, file=sys.stderr, flush=True)\n"
                "quit_now = os._exit\n"
                "def end(code):\n"
                "    peak()\n"
                "    quit_now(code)\n"
                "os._exit = end\n"
                "sys.argv = ['netdsl', *sys.argv[1:]]\n"
                "try:\n    runpy.run_module('netdsl', run_name='__main__')\n"
                "finally:\n"
                "    peak()\n")


def _process_chain(path: Path) -> tuple[float, float, float]:
    """Wall seconds of ``netdsl analyze PATH`` (run as ``python -m netdsl`` is) and its
    peak resident memory in MiB."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, "analyze", str(path)],
                          cwd=ROOT, env=_env_with_root(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"netdsl analyze {path} exited {done.returncode}:\n{done.stderr}")
    return wall, _children_cpu() - cpu, int(done.stderr.strip().splitlines()[-1]) / 1024


def bench_scaling(settings: Settings, folder: Path) -> list[ScalingRow]:
    """Every chain size in both forms."""
    rows = []
    for n in settings.scaling:
        for unrolled in (False, True):
            form = "unrolled" if unrolled else "repeat"
            print(f"  chain {n} {form}", file=sys.stderr, flush=True)
            path = folder / f"chain_{n}_{form}.net"
            path.write_text(chain_spec(n, unrolled))
            inproc = _budgeted(functools.partial(_in_process_chain, path),
                               settings.scaling_budget_s)
            procs = _budgeted(functools.partial(_process_chain, path),
                              settings.scaling_budget_s, 3)
            rows.append(ScalingRow(n, form, path.stat().st_size,
                                   Timing.of([p for p, _, _ in inproc]),
                                   Timing.of([a for _, a, _ in inproc]),
                                   Timing.of([c for _, _, c in inproc]),
                                   Timing.of([w for w, _, _ in procs]),
                                   Timing.of([c for _, c, _ in procs]),
                                   max(m for _, _, m in procs)))
    return rows


def growth_exponent(rows: list[ScalingRow], form: str, low: int = 1000) -> float | None:
    """Least-squares slope of log(whole-process time) on log(layers), ``low`` layers up."""
    points = [(math.log(r.layers), math.log(r.parse.median + r.analyse.median))
              for r in rows if r.form == form and r.layers >= low]
    if len(points) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    return (sum((x - mx) * (y - my) for x, y in points)
            / sum((x - mx) ** 2 for x, _ in points))


# --------------------------------------------------------------------------- whole process


@dataclass(frozen=True)
class ProcessRun:
    """One command line run repeatedly as a subprocess under one bytecode setting."""

    command: list[str]
    bytecode: str
    wall: Timing
    cpu: Timing  # user + system time of the process
    is_target: bool = False


NO_PYC = "PYTHONDONTWRITEBYTECODE=1"
CACHED_PYC = "bytecode cached"


def netdsl_command() -> list[str]:
    """``python -m netdsl`` with this interpreter (the checkout first on ``PYTHONPATH``)."""
    return [sys.executable, "-m", "netdsl"]


def bytecode_envs(cache_dir: str) -> dict[str, dict[str, str]]:
    """Subprocess environments: no bytecode written, and bytecode cached in ``cache_dir``."""
    base = {k: v for k, v in _env_with_root().items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    return {NO_PYC: {**base, "PYTHONDONTWRITEBYTECODE": "1"},
            CACHED_PYC: {**base, "PYTHONPYCACHEPREFIX": cache_dir}}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one subprocess run (output captured); raises if it fails."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return seconds, _children_cpu() - cpu


def bench_processes(settings: Settings) -> list[ProcessRun]:
    """The CLI (table and JSON) and two floors, commands interleaved run by run."""
    table = [*netdsl_command(), "analyze", SPEC]
    commands = [(table, True), ([*table, "--format", "json"], True),
                ([sys.executable, "-c", "import netdsl.cli"], False),
                ([sys.executable, "-c", "pass"], False)]
    with tempfile.TemporaryDirectory(prefix="bench-analyze-pyc-") as cache:
        envs = bytecode_envs(cache)
        cells = [(cmd, target, label, env) for label, env in envs.items()
                 for cmd, target in commands]
        for cmd, _, _, env in cells:
            _run_once(cmd, env)  # warm-up (and bytecode written, where it is)
        runs: list[list[tuple[float, float]]] = [[] for _ in cells]
        for _ in range(settings.process_runs):
            for i, (cmd, _, _, env) in enumerate(cells):
                runs[i].append(_run_once(cmd, env))
    return [ProcessRun(cmd, label, Timing.of([w for w, _ in r]), Timing.of([c for _, c in r]),
                       target)
            for (cmd, target, label, _), r in zip(cells, runs)]


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """One target: the measured value, the target and whether it is met (None: info)."""

    name: str
    value: str
    target: str
    passed: bool | None


def verdicts(inproc: InProcess, scaling: list[ScalingRow],
             processes: list[ProcessRun]) -> list[Verdict]:
    """Every target of issue 8."""
    out = []
    peers = [p for p in best_peers(inproc.peers) if p.total is not None]
    if peers:
        fastest = min(peers, key=lambda p: p.total.median)
        ratio = fastest.total.median / inproc.scratch.median
        out.append(Verdict(
            f"from scratch (load + analyze {_ms(inproc.scratch.median)} ms) vs fastest peer "
            f"({fastest.tool}, {fastest.threads} thread(s), construction + tool "
            f"{_ms(fastest.total.median)} ms; medians)", f"{ratio:,.0f}x",
            f">= {SPEEDUP_TARGET:.0f}x", ratio >= SPEEDUP_TARGET))
        one = [p for p in inproc.peers if p.threads == 1 and p.cpu]
        if one:
            least = min(one, key=lambda p: statistics.median(p.cpu))
            cpu_ratio = statistics.median(least.cpu) / inproc.scratch_cpu.median
            out.append(Verdict(
                f"the same in CPU time (netdsl {_ms(inproc.scratch_cpu.median)} ms vs "
                f"{least.tool} at 1 thread {_ms(statistics.median(least.cpu))} ms; what a "
                f"busy machine does not distort)", f"{cpu_ratio:,.0f}x",
                f">= {SPEEDUP_TARGET:.0f}x", None))
        fresh = fastest.total.median / inproc.fresh_process.median
        out.append(Verdict(f"first load + analyze in a fresh interpreter "
                           f"({_ms(inproc.fresh_process.median)} ms) vs the same peer",
                           f"{fresh:,.0f}x", f">= {SPEEDUP_TARGET:.0f}x", None))
    for kind in ("width", "layers"):
        rate = 1 / inproc.variants[kind].median
        out.append(Verdict(f"whole-network variants ({kind})", f"{rate:,.0f}/s",
                           f">= {VARIANTS_TARGET:,.0f}/s", rate >= VARIANTS_TARGET))
    run = inproc.sustained
    out.append(Verdict(f"whole-network variants, sustained ({run.count:,d} width variants in "
                       f"a row; {_ms(run.collector)} ms each in the garbage collector)",
                       f"{1 / run.wall:,.0f}/s", f">= {VARIANTS_TARGET:,.0f}/s",
                       1 / run.wall >= VARIANTS_TARGET))
    rate = 1 / inproc.variants["classes"].median
    out.append(Verdict("classifier variants (classes; the rest's records reused)", f"{rate:,.0f}/s",
                       f">= {VARIANTS_TARGET:,.0f}/s", None))
    unrolled = [r for r in scaling if r.form == "unrolled"]
    if unrolled:
        big = max(unrolled, key=lambda r: r.layers)
        speed = big.bytes / big.parse.median
        out.append(Verdict(f"parsing ({big.layers:,d}-layer unrolled chain, "
                           f"{big.bytes / 1e6:.2f} MB)", f"{speed / 1e6:.2f} MB/s",
                           f">= {PARSE_TARGET / 1e6:.0f} MB/s", speed >= PARSE_TARGET))
        cpu_speed = big.bytes / big.parse_cpu.median
        out.append(Verdict("the same in CPU time", f"{cpu_speed / 1e6:.2f} MB/s",
                           f">= {PARSE_TARGET / 1e6:.0f} MB/s", None))
    for r in unrolled:
        if r.layers in CHAIN_TARGETS_S and r.process is not None:
            limit = CHAIN_TARGETS_S[r.layers]
            out.append(Verdict(f"whole process, unrolled {r.layers:,d}-layer chain (CPU "
                               f"{r.process_cpu.median:.2f} s)", f"{r.process.median:.2f} s",
                               f"< {limit:g} s", r.process.median < limit))
    for form in ("unrolled", "repeat"):
        exponent = growth_exponent(scaling, form)
        if exponent is not None:
            out.append(Verdict(f"growth exponent, {form} chain, in process, 1,000 layers up",
                               f"{exponent:.2f}", f"<= {EXPONENT_TARGET}",
                               exponent <= EXPONENT_TARGET))
    for run in (r for r in processes if r.is_target):
        words = [Path(run.command[0]).name, *run.command[1:]]
        out.append(Verdict(f"whole process ({run.bytecode}, CPU {run.cpu.median:.3f} s): "
                           + " ".join(words),
                           f"{run.wall.median:.3f} s", f"<= {PROCESS_TARGET_S} s",
                           run.wall.median <= PROCESS_TARGET_S))
    return out


# --------------------------------------------------------------------------- output


def _ms(seconds: float | None) -> str:
    """Seconds as milliseconds with one decimal, or ``-``."""
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def _n(value: int | None) -> str:
    """Thousands-separated integer, or ``-``."""
    return "-" if value is None else f"{value:,d}"


def _diff(value: int | None, reference: int) -> str:
    """Relative difference of ``value`` from ``reference`` in percent, or ``-``."""
    if value is None:
        return "-"
    return "same" if value == reference else f"{(value - reference) / reference:+.3%}"


def format_in_process(r: InProcess, settings: Settings) -> str:
    """The netdsl section."""
    lines = [f"netdsl in process ({SPEC}; medians of {settings.rounds} interleaved rounds)",
             f"  from scratch:   load {_ms(r.load.median)} ms + analyze "
             f"{_ms(r.first_analyze.median)} ms = {_ms(r.scratch.median)} ms "
             f"(min {_ms(r.scratch.min)} ms; CPU {_ms(r.scratch_cpu.median)} ms; caches "
             f"cleared: {', '.join(r.cleared) or '-'})",
             f"  fresh interpreter, first load + analyze: {_ms(r.fresh_process.median)} ms "
             f"(min {_ms(r.fresh_process.min)} ms; parser construction included)"]
    for kind in VARIANT_KINDS:
        t = r.variants[kind]
        note = "whole network" if kind != "classes" else "classifier only; the rest's records reused"
        lines.append(f"  variants ({kind:7s}): {_ms(t.median)} ms = {1 / t.median:,.0f}/s "
                     f"(best round {1 / t.min:,.0f}/s; {settings.variants} per round; {note})")
    lines.append(f"  short loop: the first {SHORT_LOOP} width variants of a fresh load: "
                 f"{_ms(r.short_loop.median)} ms in all (the second, recorded: "
                 f"{_ms(r.recording.median)} ms; later ones replayed)")
    run = r.sustained
    lines.append(f"  sustained: {run.count:,d} width variants in a row on a fresh load: "
                 f"{_ms(run.wall)} ms = {1 / run.wall:,.0f}/s (CPU {_ms(run.cpu)} ms; "
                 f"{_ms(run.collector)} ms of it in the garbage collector, "
                 f"{'/'.join(map(str, run.collections))} collections of generation 0/1/2)")
    return "\n".join(lines)


def format_peers(r: InProcess) -> str:
    """Peer timings at both thread counts, the faster marked, and their params/MACs."""
    best = {id(s) for s in best_peers(r.peers)}
    head = (f"  {'tool':21s} {'thr':>3s} {'build ms':>9s} {'tool ms':>8s} {'total ms':>9s} "
            f"{'min ms':>7s} {'cpu ms':>7s} {'x scratch':>9s} {'params':>12s} {'vs':>6s} {'MACs':>15s} "
            f"{'vs netdsl':>9s}")
    lines = ["peers on benchmarks/reference_models.resnet50, 1x3x224x224 (medians over the "
             "rounds;\ntotal = fresh model construction + tool; * = the peer's faster thread "
             "count; x scratch = total / netdsl from scratch)", head]
    for s in r.peers:
        t = s.total
        if t is None:
            lines.append(f"  {s.tool:21s} {s.threads:3d}  {s.note}")
            continue
        mark = "*" if id(s) in best else " "
        lines.append(
            f" {mark}{s.tool:21s} {s.threads:3d} {_ms(statistics.median(s.construct)):>9s} "
            f"{_ms(statistics.median(s.analyse)):>8s} {_ms(t.median):>9s} {_ms(t.min):>7s} "
            f"{_ms(statistics.median(s.cpu)):>7s} "
            f"{t.median / r.scratch.median:>9.0f} {_n(s.params):>12s} "
            f"{_diff(s.params, r.params):>6s} {_n(s.macs):>15s} {_diff(s.macs, r.macs):>9s}"
            f"  {s.note}")
    lines.append(f"  netdsl: params {_n(r.params)}, MACs {_n(r.macs)}")
    return "\n".join(lines)


def format_scaling(rows: list[ScalingRow]) -> str:
    """The chain table and the growth exponents."""
    lines = ["scaling: chain of N layers (conv 8x3x3 / batchnorm / relu on 8x16x16); in process "
             "from scratch\n(parse = netdsl.load, analyse = elaborate + analyse) and whole "
             "`netdsl analyze` process (medians)",
             f"  {'layers':>7s} {'form':9s} {'bytes':>10s} {'parse ms':>9s} {'MB/s':>6s} "
             f"{'cpu MB/s':>8s} "
             f"{'analyse ms':>10s} {'us/layer':>8s} {'process s':>9s} {'cpu s':>6s} {'peak MiB':>8s}"]
    for r in rows:
        total = r.parse.median + r.analyse.median
        lines.append(
            f"  {r.layers:7,d} {r.form:9s} {r.bytes:10,d} {_ms(r.parse.median):>9s} "
            f"{r.bytes / r.parse.median / 1e6:6.2f} {r.bytes / r.parse_cpu.median / 1e6:8.2f} "
            f"{_ms(r.analyse.median):>10s} "
            f"{total / r.layers * 1e6:8.1f} "
            f"{'-' if r.process is None else f'{r.process.median:.3f}':>9s} "
            f"{'-' if r.process_cpu is None else f'{r.process_cpu.median:.2f}':>6s} "
            f"{'-' if r.peak_rss_mib is None else f'{r.peak_rss_mib:.0f}':>8s}")
    for form in ("repeat", "unrolled"):
        exponent = growth_exponent(rows, form)
        if exponent is not None:
            lines.append(f"  growth exponent ({form}, in-process parse + analyse, 1,000 layers "
                         f"up): {exponent:.2f}")
    return "\n".join(lines)


def format_processes(runs: list[ProcessRun]) -> str:
    """The whole-process section."""
    lines = ["whole process (subprocess wall time and CPU time; commands interleaved, after one "
             "untimed run)",
             f"  {'median s':>8s} {'min s':>7s} {'cpu s':>7s} {'runs':>4s}  {'bytecode':25s}  "
             "command"]
    for run in runs:
        words = [Path(run.command[0]).name, *run.command[1:]]
        lines.append(f"  {run.wall.median:8.3f} {run.wall.min:7.3f} {run.cpu.median:7.3f} "
                     f"{run.wall.runs:4d}  "
                     f"{run.bytecode:25s}  " + " ".join(words))
    return "\n".join(lines)


def format_verdicts(items: list[Verdict], quick: bool) -> str:
    """PASS/FAIL (or info) lines for every target."""
    lines = ["targets" + (" (--quick: too few runs to judge by)" if quick else "")]
    for v in items:
        mark = "info" if v.passed is None else "PASS" if v.passed else "FAIL"
        lines.append(f"  [{mark}] {v.name}: {v.value} (target {v.target})")
    return "\n".join(lines)


def environment(load_at_start: float) -> dict[str, Any]:
    """Versions and machine facts that the numbers depend on."""
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"python": platform.python_version(), "netdsl": f"{netdsl.__version__} ({commit})",
            "torch": torch_version, "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average_1min_at_start": load_at_start,
            "load_average_1_5_15min_at_end": list(os.getloadavg())}


def format_environment(env: dict[str, Any]) -> str:
    """Versions, CPUs and load averages."""
    end = " ".join(f"{x:.2f}" for x in env["load_average_1_5_15min_at_end"])
    return (f"python {env['python']}, netdsl {env['netdsl']}, torch {env['torch']}, "
            f"{env['cpus']} CPUs, {env['platform']}\n"
            f"load average: 1 min {env['load_average_1min_at_start']:.2f} at the start; "
            f"1/5/15 min {end} at the end")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    parser.add_argument("--no-peers", action="store_true", help="skip the peer tools")
    parser.add_argument("--no-scaling", action="store_true", help="skip the chain table")
    parser.add_argument("--scaling", type=lambda s: tuple(int(x) for x in s.split(",")),
                        metavar="N,N,...", help="chain lengths (default 100 to 50,000)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every benchmark, print the report, optionally write JSON."""
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.scaling:
        settings = Settings(settings.rounds, settings.variants, settings.process_runs,
                            args.scaling, settings.scaling_budget_s, settings.sustained)
    load_at_start = os.getloadavg()[0]
    print("interleaved rounds: netdsl in process and peers ...", file=sys.stderr, flush=True)
    inproc = bench_rounds(settings, not args.no_peers)
    print("scaling ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as folder:
        scaling = [] if args.no_scaling else bench_scaling(settings, Path(folder))
    print("whole processes ...", file=sys.stderr, flush=True)
    processes = bench_processes(settings)
    env = environment(load_at_start)
    items = verdicts(inproc, scaling, processes)
    sections = [format_environment(env), format_in_process(inproc, settings),
                format_peers(inproc)]
    sections += [format_scaling(scaling)] if scaling else []
    sections += [format_processes(processes), format_verdicts(items, settings == QUICK)]
    print("\n\n".join(sections))
    if args.json:
        out = {"settings": asdict(settings), "environment": env, "in_process": asdict(inproc),
               "scaling": [asdict(r) for r in scaling],
               "processes": [asdict(p) for p in processes],
               "verdicts": [asdict(v) for v in items]}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
