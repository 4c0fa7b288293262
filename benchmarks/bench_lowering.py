"""Benchmark the lowered ResNet-50 against the hand-written one: is `netdsl.build` as fast?

The built model is ``netdsl.build("specs/resnet50.net")``; the reference is
``benchmarks/reference_models.resnet50()`` (torchvision's layout and modules). Both get the
same weights: the reference's ``state_dict`` is loaded into the built model by order (the
two ``state_dict``\\ s list the same tensors in the same order, under different names; the
shapes are checked), and their outputs are compared before anything is timed.

Measured on the CPU in float32 at batch 8 (3x224x224), in four modes:

* eager forward: ``model.eval()`` under ``torch.no_grad()``;
* eager forward + backward: ``model.train()``, cross-entropy against fixed labels,
  ``loss.backward()`` (gradients set to None before each step; no optimizer);
* the same two with ``torch.compile(model)`` (inductor, default mode) for each model; the
  first call of each (the compile) is timed apart. If compiling fails, the reason is
  printed and the compiled modes are skipped.

Each mode runs warm-up steps, then rounds of one timed step per model, interleaved, the
order alternating (A B, B A, A B, ...) so that drift in the machine's load hits both. Per
mode it prints the median step time of each model, the median over rounds of the paired
ratio built / hand-written, and the speed ratio hand-written / built (1 / that median),
marked PASS when it is >= 0.98 (the built model at most 2% slower). The same speed ratio of
process CPU time is printed next to it: on a shared machine, time spent waiting for a core
inflates wall times at random, CPU time much less (with one thread it is the step's work).

Run ``python benchmarks/bench_lowering.py`` (``--quick`` for fewer rounds, ``--no-compile``
to skip torch.compile, ``--threads N`` for torch's intra-op threads, default 1, ``--json
out.json`` to also write the numbers).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import netdsl

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "resnet50.net"
SPEED_TARGET = 0.98  # hand-written time / built time


def _reference_models() -> Any:
    """benchmarks/reference_models.py, imported by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("netdsl_bench_reference_models",
                                                  Path(__file__).with_name("reference_models.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations via sys.modules
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Settings:
    batch: int
    warmup: int  # untimed steps per model and mode (after the compile, if any)
    rounds: int  # timed steps per model and mode, interleaved


FULL = Settings(batch=8, warmup=2, rounds=11)
QUICK = Settings(batch=8, warmup=1, rounds=3)


def _median_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


@dataclass
class ModeResult:
    """One mode's step times (wall and process CPU seconds, per round) and their ratios."""

    mode: str
    built_s: list[float]
    handwritten_s: list[float]
    built_cpu_s: list[float]
    handwritten_cpu_s: list[float]
    compile_s: dict[str, float] = field(default_factory=dict)  # first call, per model
    built_median_s: float = 0.0
    handwritten_median_s: float = 0.0
    median_ratio: float = 0.0  # median over rounds of built / hand-written (wall time)
    speed_ratio: float = 0.0  # hand-written / built = 1 / median_ratio
    cpu_median_ratio: float = 0.0  # the same with process CPU time (less load-sensitive)
    cpu_speed_ratio: float = 0.0
    passed: bool = False  # speed_ratio >= SPEED_TARGET

    def __post_init__(self) -> None:
        self.built_median_s = statistics.median(self.built_s)
        self.handwritten_median_s = statistics.median(self.handwritten_s)
        self.median_ratio = _median_ratio(self.built_s, self.handwritten_s)
        self.speed_ratio = 1.0 / self.median_ratio
        self.cpu_median_ratio = _median_ratio(self.built_cpu_s, self.handwritten_cpu_s)
        self.cpu_speed_ratio = 1.0 / self.cpu_median_ratio
        self.passed = self.speed_ratio >= SPEED_TARGET


# --------------------------------------------------------------------------- models


def make_models() -> tuple[nn.Module, nn.Module, str]:
    """(built, hand-written) ResNet-50 with the same weights, and how they were matched."""
    torch.manual_seed(0)
    handwritten = _reference_models().resnet50()
    built = netdsl.build(SPEC)
    ours, theirs = built.state_dict(), handwritten.state_dict()
    if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours.values(),
                                                                          theirs.values())):
        return built, handwritten, "default initialisation (state_dicts differ in layout)"
    built.load_state_dict(dict(zip(ours, theirs.values())))
    return built, handwritten, f"hand-written weights loaded by order ({len(ours)} tensors)"


def max_output_difference(built: nn.Module, handwritten: nn.Module, x: torch.Tensor) -> float:
    built.eval()
    handwritten.eval()
    with torch.no_grad():
        return (built(x) - handwritten(x)).abs().max().item()


# --------------------------------------------------------------------------- steps


def forward_step(model: Callable, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.no_grad():
            model(x)
    return step


def train_step(model: Callable, parameters: list[nn.Parameter], x: torch.Tensor,
               y: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        for p in parameters:
            p.grad = None
        F.cross_entropy(model(x), y).backward()
    return step


def _timed(step: Callable[[], None]) -> tuple[float, float]:
    """Wall and process CPU seconds of one step."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(mode: str, built: Callable[[], None], handwritten: Callable[[], None],
                settings: Settings, compile_s: dict[str, float] | None = None) -> ModeResult:
    """Warm up, then time `settings.rounds` rounds, alternating which model goes first."""
    for _ in range(settings.warmup):
        built()
        handwritten()
    times: dict[str, list[tuple[float, float]]] = {"built": [], "handwritten": []}
    steps = {"built": built, "handwritten": handwritten}
    gc.collect()
    gc.disable()
    try:
        for r in range(settings.rounds):
            order = ("built", "handwritten") if r % 2 == 0 else ("handwritten", "built")
            for name in order:
                times[name].append(_timed(steps[name]))
    finally:
        gc.enable()
    (b_wall, b_cpu), (h_wall, h_cpu) = (zip(*times["built"]), zip(*times["handwritten"]))
    return ModeResult(mode, list(b_wall), list(h_wall), list(b_cpu), list(h_cpu),
                      compile_s or {})


def bench_mode(mode: str, built: nn.Module, handwritten: nn.Module, train: bool,
               compiled: bool, x: torch.Tensor, y: torch.Tensor,
               settings: Settings) -> ModeResult:
    """One mode: eager or compiled, forward or forward + backward."""
    steps, compile_s = {}, {}
    for name, model in (("built", built), ("handwritten", handwritten)):
        model.train(train)
        runner = torch.compile(model) if compiled else model
        steps[name] = (train_step(runner, list(model.parameters()), x, y) if train
                       else forward_step(runner, x))
        if compiled:  # the first call compiles
            print(f"  compiling {name} ({mode}) ...", file=sys.stderr, flush=True)
            compile_s[name] = _timed(steps[name])[0]
    return interleaved(mode, steps["built"], steps["handwritten"], settings, compile_s)


# --------------------------------------------------------------------------- report


def environment(threads: int, load_at_start: float) -> dict[str, Any]:
    return {"python": platform.python_version(), "torch": torch.__version__,
            "netdsl": netdsl.__version__, "torch_threads": threads, "cpus": os.cpu_count(),
            "machine": platform.machine(), "platform": platform.platform(),
            "load_average_1min_at_start": load_at_start,
            "load_average_1_5_15min_at_end": list(os.getloadavg())}


def format_results(results: dict[str, Any]) -> str:
    env, s = results["environment"], results["settings"]
    lines = [
        f"ResNet-50, CPU float32, batch {s['batch']} x 3x224x224: netdsl.build vs hand-written",
        f"python {env['python']}, torch {env['torch']}, {env['torch_threads']} thread(s), "
        f"{env['cpus']} CPUs, load average {env['load_average_1min_at_start']:.2f} at start, "
        f"{'/'.join(f'{v:.2f}' for v in env['load_average_1_5_15min_at_end'])} at end",
        f"weights: {results['weights']}; max |output difference| "
        f"{results['max_output_difference']:.3g}",
        f"{s['warmup']} warm-up step(s) and {s['rounds']} interleaved timed rounds per mode",
        "",
        f"{'mode':<28}{'built ms':>10}{'hand ms':>10}{'built/hand':>12}{'hand/built':>12}"
        f"{'CPU hand/built':>16}  verdict (hand/built >= {SPEED_TARGET})",
    ]
    for r in results["modes"]:
        verdict = "PASS" if r["passed"] else "FAIL"
        lines.append(f"{r['mode']:<28}{r['built_median_s'] * 1e3:>10.1f}"
                     f"{r['handwritten_median_s'] * 1e3:>10.1f}{r['median_ratio']:>12.3f}"
                     f"{r['speed_ratio']:>12.3f}{r['cpu_speed_ratio']:>16.3f}  {verdict}")
        if r["compile_s"]:
            lines.append(f"{'':<28}first call (compile): built {r['compile_s']['built']:.1f} s, "
                         f"hand-written {r['compile_s']['handwritten']:.1f} s")
    if results["compile_error"]:
        lines.append(f"torch.compile failed on this machine: {results['compile_error']}")
    lines.append("wall-clock medians over rounds; built/hand is the median of the per-round "
                 "ratios, hand/built its inverse (the verdict); CPU hand/built is the same ratio "
                 "of process CPU time, which another process's load disturbs less")
    if env["load_average_1min_at_start"] > 0.5 * (env["cpus"] or 1):
        lines.append("warning: the machine was busy (1-minute load above 0.5 per CPU at start): "
                     "the times are noisy")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (compile included)")
    parser.add_argument("--no-compile", action="store_true", help="eager modes only")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: steadier on a shared machine)")
    parser.add_argument("--rounds", type=int, help="timed rounds per mode (overrides --quick)")
    parser.add_argument("--json", metavar="out.json", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.rounds:
        settings = Settings(settings.batch, settings.warmup, args.rounds)
    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    built, handwritten, weights = make_models()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(settings.batch, 3, 224, 224, generator=generator)
    y = torch.randint(0, 1000, (settings.batch,), generator=generator)
    difference = max_output_difference(built, handwritten, x)

    modes, compile_error = [], None
    plan = [("eager forward", False, False), ("eager forward+backward", True, False)]
    if not args.no_compile:
        plan += [("compiled forward", False, True), ("compiled forward+backward", True, True)]
    for mode, train, compiled in plan:
        print(f"measuring {mode} ...", file=sys.stderr, flush=True)
        try:
            modes.append(bench_mode(mode, built, handwritten, train, compiled, x, y, settings))
        except Exception as exc:  # torch.compile needs a C++ compiler and more
            if not compiled:
                raise
            first = traceback.format_exception_only(type(exc), exc)[-1].strip()
            compile_error = first[:500]
            print(f"torch.compile failed: {compile_error}", file=sys.stderr, flush=True)
            break

    results = {"settings": asdict(settings), "environment": environment(args.threads, load_at_start),
               "weights": weights, "max_output_difference": difference,
               "modes": [asdict(m) for m in modes], "compile_error": compile_error}
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
