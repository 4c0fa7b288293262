"""Measure what peer model-profiling tools report for a PyTorch module.

Every peer is optional: a tool that is not importable is skipped with a printed note.
Each tool runs on its own deep copy of the model (thop and ptflops attach buffers and
hooks); only the tool call itself is timed, best of a few calls after one untimed
warm-up forward pass. Peers are listed in
``benchmarks/requirements-peers.txt``.

Units differ between tools and are reported as each tool defines them:

* ``macs``: multiply-accumulates (torchinfo ``total_mult_adds``, thop, ptflops,
  torchscan ``macs``, and fvcore's ``total()``, which counts one "flop" per MAC).
* ``flops``: floating-point operations where a tool reports them separately
  (torch's ``FlopCounterMode``, torchscan ``operator_flops``).

Run ``python benchmarks/peers.py`` for the resnet50 and ConvTranspose2d comparisons.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["PEERS", "PeerRow", "format_rows", "measure_peers"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class PeerRow:
    """What one tool reported for one model, and how long the call took."""

    tool: str
    seconds: float
    params: int | None
    macs: int | None
    flops: int | None = None
    note: str = ""


def _batch(shape: Shape) -> torch.Tensor:
    """A batch-1 zero input of ``shape`` (channels, height, width)."""
    return torch.zeros(1, *shape)


def _flop_counter(model: nn.Module, shape: Shape) -> PeerRow:
    """torch.utils.flop_counter.FlopCounterMode (the in-tree baseline)."""
    from torch.utils.flop_counter import FlopCounterMode

    start = time.perf_counter()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(_batch(shape))
    flops = counter.get_total_flops()
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    return PeerRow("torch FlopCounterMode", seconds, params, flops // 2, flops, "macs=flops//2")


def _torchinfo(model: nn.Module, shape: Shape) -> PeerRow:
    """torchinfo.summary: ``total_params`` and ``total_mult_adds``."""
    from torchinfo import summary

    start = time.perf_counter()
    stats = summary(model, input_size=(1, *shape), verbose=0, device="cpu")
    seconds = time.perf_counter() - start
    return PeerRow("torchinfo", seconds, int(stats.total_params), int(stats.total_mult_adds))


def _fvcore(model: nn.Module, shape: Shape) -> PeerRow:
    """fvcore FlopCountAnalysis(...).total() (one "flop" per MAC) and parameter_count."""
    from fvcore.nn import FlopCountAnalysis, parameter_count

    start = time.perf_counter()
    analysis = FlopCountAnalysis(model, (_batch(shape),))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    total = int(analysis.total())
    seconds = time.perf_counter() - start
    skipped = sorted(analysis.unsupported_ops())
    note = f"unsupported: {', '.join(skipped)}" if skipped else ""
    return PeerRow("fvcore", seconds, int(parameter_count(model)[""]), total, note=note)


def _thop(model: nn.Module, shape: Shape) -> PeerRow:
    """thop.profile: ``(macs, params)``."""
    from thop import profile

    start = time.perf_counter()
    n_macs, params = profile(model, inputs=(_batch(shape),), verbose=False)
    seconds = time.perf_counter() - start
    return PeerRow("thop", seconds, int(params), int(n_macs))


def _ptflops(backend: str) -> Callable[[nn.Module, Shape], PeerRow]:
    """ptflops.get_model_complexity_info with the given backend (``pytorch``/``aten``)."""

    def run(model: nn.Module, shape: Shape) -> PeerRow:
        from ptflops import get_model_complexity_info

        start = time.perf_counter()
        n_macs, params = get_model_complexity_info(
            model, tuple(shape), as_strings=False, print_per_layer_stat=False, backend=backend
        )
        seconds = time.perf_counter() - start
        return PeerRow(f"ptflops[{backend}]", seconds, _as_int(params), _as_int(n_macs))

    return run


def _torchscan(model: nn.Module, shape: Shape) -> PeerRow:
    """torchscan.crawl_module totals: ``parameters``, ``macs`` and ``operator_flops``.

    ``operator_flops`` is ``partial`` when some observed operator has no formula; its
    ``known_value`` (a lower bound) is reported then, and the note says so.
    """
    from torchscan import crawl_module

    start = time.perf_counter()
    report = crawl_module(model, tuple(shape))
    seconds = time.perf_counter() - start
    totals = report["totals"]
    flops = totals["operator_flops"]
    note = f"flops=operator_flops ({flops['status']})"
    return PeerRow(
        "torchscan",
        seconds,
        _as_int(totals["parameters"]["value"]),
        _as_int(totals["macs"]["value"]),
        _as_int(flops["known_value"]),
        note,
    )


def _as_int(value: Any) -> int | None:
    """``int(value)``, or ``None`` when the tool reported nothing."""
    return None if value is None else int(value)


# tool name -> (module that must be importable, runner)
PEERS: dict[str, tuple[str, Callable[[nn.Module, Shape], PeerRow]]] = {
    "flop_counter": ("torch.utils.flop_counter", _flop_counter),
    "torchinfo": ("torchinfo", _torchinfo),
    "fvcore": ("fvcore.nn", _fvcore),
    "thop": ("thop", _thop),
    "ptflops[pytorch]": ("ptflops", _ptflops("pytorch")),
    "ptflops[aten]": ("ptflops", _ptflops("aten")),
    "torchscan": ("torchscan", _torchscan),
}


def _importable(module: str) -> bool:
    """Import ``module`` (outside any timing); print a note and return False if absent."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure means "skip this peer"
        print(f"[peers] {module} not importable ({type(exc).__name__}: {exc}); skipped")
        return False
    return True


def _run_quietly(
    runner: Callable[[nn.Module, Shape], PeerRow], model: nn.Module, shape: Shape
) -> PeerRow:
    """Run one peer on a deep copy of ``model`` with its console chatter swallowed."""
    twin = copy.deepcopy(model).eval()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return runner(twin, shape)


def _best_of(
    runner: Callable[[nn.Module, Shape], PeerRow], model: nn.Module, shape: Shape, repeats: int
) -> PeerRow:
    """Run a peer ``repeats`` times; keep the last report with the fastest time."""
    rows = [_run_quietly(runner, model, shape) for _ in range(max(1, repeats))]
    return replace(rows[-1], seconds=min(r.seconds for r in rows))


def _warm_up(model: nn.Module, shape: Shape) -> None:
    """One untimed forward pass so that no peer pays for first-call kernel setup."""
    with torch.no_grad():
        copy.deepcopy(model).eval()(_batch(shape))


def measure_peers(
    model: nn.Module,
    input_shape: Sequence[int],
    tools: Sequence[str] | None = None,
    repeats: int = 3,
) -> list[PeerRow]:
    """Run each available peer tool on ``model`` with a batch-1 ``input_shape`` input.

    ``seconds`` is the fastest of ``repeats`` calls, after one untimed warm-up forward.
    """
    shape = tuple(input_shape)
    _warm_up(model, shape)
    rows: list[PeerRow] = []
    for name in tools or list(PEERS):
        module, runner = PEERS[name]
        if not _importable(module):
            continue
        try:
            rows.append(_best_of(runner, model, shape, repeats))
        except Exception as exc:  # noqa: BLE001 - a failing peer is a finding, not a crash
            rows.append(PeerRow(name, float("nan"), None, None, note=f"failed: {exc!r}"))
    return rows


def _fmt(value: int | None) -> str:
    """Thousands-separated integer, or ``-``."""
    return "-" if value is None else f"{value:,d}"


def format_rows(rows: Sequence[PeerRow]) -> str:
    """Render rows as a fixed-width text table."""
    lines = [f"{'tool':22s} {'seconds':>8s} {'params':>12s} {'macs':>15s} {'flops':>15s}  note"]
    for r in rows:
        lines.append(
            f"{r.tool:22s} {r.seconds:8.3f} {_fmt(r.params):>12s} {_fmt(r.macs):>15s} "
            f"{_fmt(r.flops):>15s}  {r.note}"
        )
    return "\n".join(lines)


def main() -> None:
    """Compare the peers on resnet50 (3x224x224) and a ConvTranspose2d (64x32x32)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reference_models import resnet50

    torch.manual_seed(0)
    start = time.perf_counter()
    model = resnet50()
    print(f"resnet50 construction: {time.perf_counter() - start:.3f} s")
    print(format_rows(measure_peers(model, (3, 224, 224))))
    deconv = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    print("\nConvTranspose2d(64, 32, 4, stride=2, padding=1) on 64x32x32")
    print(format_rows(measure_peers(deconv, (64, 32, 32))))


if __name__ == "__main__":
    main()
