"""Export a lowered network to ONNX with `torch.onnx`, and check the file.

The dynamo-based exporter (PyTorch's default) needs the `onnxscript` package; without
it the TorchScript exporter is used. The network is exported in inference mode (batch
norm uses its running statistics, dropout is the identity), with a dynamic batch axis.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from netdsl.heads import heads
from netdsl.lowering.load import to_graph
from netdsl.lowering.module import Network
from netdsl.lowering.names import identifier, unique

DEFAULT_OPSET = 18


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's own chatter (e.g. "torchvision is not installed. Skipping ...", and
    deprecation warnings from inside torch) says nothing about the user's network."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def export_onnx(model: nn.Module | None, source: Any, path: str | Path, *, batch: int = 2,
                opset: int = DEFAULT_OPSET, dynamic_batch: bool = True,
                dynamo: bool | None = None, training_heads: bool = False,
                **kwargs: Any) -> Path:
    """Write `model` (a module built from `source`; None: freshly initialised) as an ONNX
    file at `path`, checked with `onnx.checker`. `source` is a path, Spec, spec text or
    graph (keywords as for `build`); it gives the input names and shapes. The example
    batch is 2, since torch.export specialises a batch of 1.

    Every output that inference computes is kept, in declaration order, each named after
    its output (a single unnamed output after its node); `training_heads=True` keeps the
    training-only heads too (computed in inference mode)."""
    import onnx

    graph = to_graph(source, **kwargs)
    model = (model if model is not None else Network(graph)).eval()
    shapes = [graph.nodes[n]["layer"].out_shape for n in graph.graph["inputs"].values()]
    args = tuple(torch.randn(batch, *s) for s in shapes)
    taken: set[str] = set()
    names = [unique(identifier(n), taken) for n in graph.graph["inputs"]]
    if graph.graph.get("named_outputs"):  # each output by its name
        kept = [h.name for h in heads(graph) if training_heads or not h.training]
        outputs = [unique(identifier(name), taken) for name in kept]
    else:
        outputs = [unique(identifier(o.replace(".", "_")), taken) for o in graph.graph["outputs"]]
    if training_heads and not isinstance(model, Network):
        raise TypeError("training_heads=True needs a netdsl Network module")
    if isinstance(model, Network):
        model.training_heads, before = training_heads, model.training_heads
    if dynamo is None:
        dynamo = importlib.util.find_spec("onnxscript") is not None
    path = Path(path)
    options: dict[str, Any] = dict(input_names=names, output_names=outputs, opset_version=opset,
                                   dynamo=dynamo, verbose=False)
    if dynamic_batch:
        if dynamo:
            batch_dim = torch.export.Dim("batch")
            options["dynamic_shapes"] = {"inputs": tuple({0: batch_dim} for _ in args)}
        else:
            options["dynamic_axes"] = {n: {0: "batch"} for n in names + outputs}
    try:
        with torch.no_grad(), _quiet_exporter():
            program = torch.onnx.export(model, args, str(path) if not dynamo else None, **options)
    finally:
        if isinstance(model, Network):
            model.training_heads = before
    if dynamo:
        program.save(str(path))
    onnx.checker.check_model(str(path), full_check=True)
    return path
