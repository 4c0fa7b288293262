"""The graph IR as a `torch.nn.Module` that runs the nodes in graph order.

Submodules sit at the node names (`stage0.basic0.conv_bn0.conv0`), nested in `Block`
containers, so `state_dict()` keys read like the spec (see `names` for the few names
that are changed to be valid). `forward` drops each tensor right after its last
consumer, so memory follows the static liveness analysis: a tensor lives from the step
that makes it until its last consumer has run.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import torch
from torch import nn

from netdsl.analysis.liveness import schedule
from netdsl.heads import eval_graph, returns_dict
from netdsl.heads import heads as named_heads
from netdsl.lowering.load import to_graph
from netdsl.lowering.names import attribute_paths
from netdsl.lowering.ops import Block
from netdsl.lowering.recipe import torch_module

INITS = ("default", "kaiming")


class Network(nn.Module):
    """A network lowered from netdsl's graph IR; call it with its inputs in spec order."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        super().__init__()
        # Only "_" attributes: node names never start with "_" (see `names`).
        self._network = graph.graph.get("network", "")
        self._input_names = tuple(graph.graph["inputs"])
        self._input_nodes = tuple(graph.graph["inputs"].values())
        self._outputs = tuple(graph.graph["outputs"])
        heads = named_heads(graph)
        #: (name, node, training) per output when the module returns a dict, else empty
        self._heads = tuple((h.name, h.node, h.training) for h in heads) \
            if returns_dict(graph) else ()
        #: Run the training-only heads in evaluation mode too (the oracle measures the
        #: whole graph so); by default they run only while training.
        self.training_heads = False
        paths = attribute_paths(graph)
        for node, path in paths.items():
            _attach(self, path, torch_module(graph.nodes[node]["layer"]), node)
        # Steps name their module by path (not by object), so that a submodule the user
        # replaces (a new head, a quantised or wrapped layer) is the one that runs.
        self._steps = _schedule(graph, paths)
        # Evaluation skips the training-only heads and the layers only they need, and
        # frees tensors after their last use among the layers that do run.
        inference = eval_graph(graph)
        self._eval_steps = self._steps if inference is graph else _schedule(inference, paths)

    def forward(self, *inputs: torch.Tensor) -> Any:
        """Run the nodes in graph order: one tensor for one output; for several, a dict
        from output name to tensor, in declaration order (without the training-only heads
        in evaluation mode)."""
        if len(inputs) != len(self._input_nodes):
            raise TypeError(f"{self._network or 'the network'} takes {len(self._input_nodes)} "
                            f"input(s) ({', '.join(self._input_names)}), got {len(inputs)}")
        values = dict(zip(self._input_nodes, inputs))
        del inputs
        every_head = self.training or self.training_heads
        for node, path, args, dead in self._steps if every_head else self._eval_steps:
            module = self
            for part in path:
                module = getattr(module, part)
            values[node] = module(*[values[a] for a in args])
            for name in dead:
                del values[name]
        if self._heads:
            return {name: values[node] for name, node, training in self._heads
                    if every_head or not training}
        outs = tuple(values[o] for o in self._outputs)
        return outs[0] if len(outs) == 1 else outs


def _attach(root: nn.Module, path: tuple[str, ...], module: nn.Module, node: str) -> None:
    parent = root
    for part in path[:-1]:
        if part not in parent._modules:
            parent.add_module(part, Block())
        parent = parent._modules[part]
    try:
        parent.add_module(path[-1], module)
    except KeyError as exc:  # an nn.Module attribute this torch version added
        raise ValueError(f"cannot name the module of node '{node}' {'.'.join(path)!r}: {exc}") from None


def _schedule(graph: nx.MultiDiGraph, modules: dict[str, tuple[str, ...]]
              ) -> list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """(node, module path, input nodes, tensors dead after this step) for each step, the
    deaths read from the analysis' liveness schedule."""
    dead = schedule(graph).dead_after(graph)
    return [(node, modules[node], tuple(graph.nodes[node]["inputs"]), dead[node])
            for node in graph.nodes if node in modules]


def build(source: Any, network: str | None = None, *, inputs: dict | None = None,
          params: dict[str, Any] | None = None, init: str = "default",
          zero_init_residual: bool = False, **kwargs: Any) -> Network:
    """Lower a spec (path, Spec, text or elaborated graph) to a `Network` module.

    `inputs` overrides input shapes, `params` and other keywords set network
    parameters. `init="kaiming"` initialises like torchvision (convolutions
    kaiming-normal, fan_out, relu; batch norm weight 1, bias 0); `zero_init_residual`
    zeroes the weight of each batch norm that feeds an `add` directly (the last one of a
    residual branch), so every residual block starts as the identity.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    graph = to_graph(source, network, inputs=inputs, params=params, **kwargs)
    model = Network(graph)
    if init == "kaiming":
        kaiming_init(model)
    if zero_init_residual:
        paths = attribute_paths(graph)
        for node in residual_batchnorms(graph):
            nn.init.zeros_(model.get_submodule(".".join(paths[node])).weight)
    return model


def kaiming_init(model: nn.Module) -> None:
    """torchvision's ResNet initialisation: conv kaiming-normal (fan_out, relu), conv bias 0,
    batch norm weight 1 and bias 0; linear layers keep PyTorch's default."""
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)
    for module in model.modules():
        if isinstance(module, convs):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, norms):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def residual_batchnorms(graph: nx.MultiDiGraph) -> list[str]:
    """The batch norm ending the residual branch of each `add`: its input with the longest
    path back to where the branches split, when that is unique and a batch norm that
    feeds the add directly. A shortcut's batch norm (projection) is never chosen."""
    position = {node: i for i, node in enumerate(graph)}
    chosen: set[str] = set()
    for data in graph.nodes.values():
        if data["layer"].op != "add":
            continue
        inputs = list(dict.fromkeys(data["inputs"]))
        lengths = _branch_lengths(graph, inputs, position)
        longest = max(lengths.values())
        ends = [i for i in inputs if lengths[i] == longest]
        if len(ends) == 1 and graph.nodes[ends[0]]["layer"].op == "batchnorm":
            chosen.add(ends[0])
    return sorted(chosen, key=position.__getitem__)


def _branch_lengths(graph: nx.MultiDiGraph, inputs: list[str],
                    position: dict[str, int]) -> dict[str, int]:
    """Layers on the longest path from the branches' split (their latest common ancestor,
    or the network inputs) to each input."""
    lines = [nx.ancestors(graph, i) | {i} for i in inputs]
    common = set.intersection(*lines)
    split = max(common, key=position.__getitem__) if common else None
    lengths = {}
    for i, line in zip(inputs, lines):
        dist: dict[str, int] = {} if split is None else {split: 0}
        for n in sorted(line, key=position.__getitem__):
            if n == split:
                continue
            before = [dist[p] for p in graph.nodes[n]["inputs"] if p in dist]
            if before or (split is None and not graph.nodes[n]["inputs"]):
                dist[n] = 1 + max(before, default=-1)
        lengths[i] = dist.get(i, 0)
    return lengths
