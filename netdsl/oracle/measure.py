"""PyTorch as the oracle: measure, on the lowered module, every number netdsl computes.

Each function takes the graph IR (`Spec.graph(...)`) and, where it runs one, the module
`netdsl.build(graph)` made from it, and returns what PyTorch itself shows:

- `measure_shapes`: every node's output shape (forward hooks on the node submodules);
- `measure_params` / `measure_buffers`: `numel` of the parameters and buffers;
- `measure_macs`: `FlopCounterMode` total FLOPs // 2 for one sample (`flops = 2 * macs`);
- `measure_saved_bytes`: the bytes autograd keeps for backward in train mode
  (`SavedTensors`: `saved_tensors_hooks`, each distinct storage once, parameters and
  buffers excluded; the network inputs do not require gradients, as training data does
  not); `training_forward` measures MACs and saved bytes of any module and inputs at once
  (the layer conformance and lowering tests use it: one measuring helper);
- `measure_inference_memory`: live tensor bytes in eval mode under `no_grad`, tracked
  storage by storage in a `TorchDispatchMode` (see `LiveTensors`); `measure_total_size`
  adds the inputs and parameters to every output storage (the estimated total size);
- `measure_fields`: the receptive field of a node as the support of the input gradient
  of its centre element and the next ones (one period of the window pattern), in float64
  with positive weights and max pooling made a mean (`field_model`), judged by the rule
  of `FieldCheck`.

Only `netdsl.oracle` imports this module; the analyses never import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import networkx as nx
import torch
import torch.nn.functional as F
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from netdsl.layers.base import Field, Shape
from netdsl.lowering import ops
from netdsl.lowering.module import build
from netdsl.lowering.names import attribute_paths

DTYPE = torch.float32


# ------------------------------------------------------------------------- plumbing
def node_modules(graph: nx.MultiDiGraph, model: nn.Module) -> dict[str, nn.Module]:
    """The submodule that computes each (non-input) node, in graph order."""
    return {node: model.get_submodule(".".join(path))
            for node, path in attribute_paths(graph).items()}


def input_shapes(graph: nx.MultiDiGraph) -> list[Shape]:
    """The per-sample shapes of the network inputs, in the order `forward` takes them."""
    return [graph.nodes[node]["layer"].out_shape for node in graph.graph["inputs"].values()]


def example_inputs(graph: nx.MultiDiGraph, batch: int, dtype: torch.dtype = DTYPE,
                   requires_grad: bool = False, seed: int = 0) -> list[torch.Tensor]:
    """Random normal inputs of the batch (the seed makes runs repeatable)."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *shape, generator=gen, dtype=dtype).requires_grad_(requires_grad)
            for shape in input_shapes(graph)]


def owned_storages(model: nn.Module, extra: Iterable[torch.Tensor] = ()) -> set[StorageWeakRef]:
    """Weak references to the storages of the parameters, buffers and `extra` tensors."""
    tensors = [*model.parameters(), *model.buffers(), *extra]
    return {StorageWeakRef(t.untyped_storage()) for t in tensors}


@contextmanager
def node_hooks(modules: dict[str, nn.Module], before: Any = None,
               after: Any = None) -> Iterator[None]:
    """Call `before(node)` / `after(node, output)` around each node module's forward."""
    handles = []
    for node, module in modules.items():
        if before is not None:
            handles.append(module.register_forward_pre_hook(
                lambda _m, _a, node=node: before(node)))
        if after is not None:
            handles.append(module.register_forward_hook(
                lambda _m, _a, out, node=node: after(node, out)))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


# ------------------------------------------------------------ params, shapes, MACs
@dataclass(frozen=True)
class PerNode:
    """A measured total and its share per node (nodes that measure 0 may be absent)."""

    total: int
    nodes: dict[str, int]


def measure_params(graph: nx.MultiDiGraph, model: nn.Module) -> PerNode:
    """Parameter elements: `sum(p.numel())`, in all and per node module (meta device too)."""
    return PerNode(sum(p.numel() for p in model.parameters()),
                   {n: sum(p.numel() for p in m.parameters())
                    for n, m in node_modules(graph, model).items()})


def measure_buffers(graph: nx.MultiDiGraph, model: nn.Module) -> PerNode:
    """Buffer elements (running statistics, batch counters), in all and per node module."""
    return PerNode(sum(b.numel() for b in model.buffers()),
                   {n: sum(b.numel() for b in m.buffers())
                    for n, m in node_modules(graph, model).items()})


def measure_shapes(graph: nx.MultiDiGraph, model: nn.Module, batch: int = 2) -> dict[str, Shape]:
    """Every node's output shape without the batch; inputs as given (eval, no_grad)."""
    shapes = {node: tuple(graph.nodes[node]["layer"].out_shape)
              for node in graph.graph["inputs"].values()}

    def record(node: str, out: torch.Tensor) -> None:
        shapes[node] = tuple(out.shape[1:]) if out.shape[0] == batch else ("batch", *out.shape)

    model.eval()
    with torch.no_grad(), node_hooks(node_modules(graph, model), after=record):
        model(*example_inputs(graph, batch))
    return {node: shapes[node] for node in graph if node in shapes}


def measure_macs(graph: nx.MultiDiGraph, model: nn.Module) -> PerNode:
    """MACs of one sample: `FlopCounterMode` total FLOPs // 2 of an eval forward at batch 1,
    in all and per node (the counter's total before and after each node module)."""
    model.eval()
    counter = FlopCounterMode(display=False)
    start: dict[str, int] = {}
    nodes: dict[str, int] = {}

    def enter(node: str) -> None:
        start[node] = counter.get_total_flops()

    def leave(node: str, _out: Any) -> None:
        nodes[node] = (counter.get_total_flops() - start[node]) // 2

    with torch.no_grad(), node_hooks(node_modules(graph, model), enter, leave), counter:
        model(*example_inputs(graph, 1))
    return PerNode(counter.get_total_flops() // 2, nodes)


# -------------------------------------------------------------- saved for backward
class SavedTensors:
    """Records, while active, every storage autograd keeps for backward.

    Every tensor autograd packs is seen by a `saved_tensors_hooks` pack hook; its
    storage counts once (by data pointer), whole, however many views of it are saved,
    for the node `node()` names when it is first saved; empty storages and those of the
    `exclude` tensors (parameters, buffers) are left out. A reference to each storage is
    held while the recorder lives, so that no address can be reused by a later storage
    and hide it. The hook hands autograd a detached alias: returning the tensor itself
    makes output -> grad_fn -> saved tensor a reference cycle that the collector cannot
    free when no backward runs (pytorch#115255), which kept every measured model alive.

        with SavedTensors(model.parameters()) as saved:
            out = model(x)
        saved.total  # bytes
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = (),
                 node: Callable[[], str | None] = lambda: None) -> None:
        self.exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.node = node
        self.kept: dict[int, tuple[str | None, torch.UntypedStorage]] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.nbytes() and storage.data_ptr() not in self.exclude:
            self.kept.setdefault(storage.data_ptr(), (self.node(), storage))
        return t.detach()

    def __enter__(self) -> SavedTensors:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)

    @property
    def total(self) -> int:
        """Bytes of every recorded storage."""
        return sum(storage.nbytes() for _, storage in self.kept.values())

    def per_node(self) -> dict[str, int]:
        """Bytes by the node that first saved each storage ("None": outside any node)."""
        nodes: dict[str, int] = {}
        for node, storage in self.kept.values():
            nodes[str(node)] = nodes.get(str(node), 0) + storage.nbytes()
        return nodes


def _unpack(t: torch.Tensor) -> torch.Tensor:
    return t


@dataclass(frozen=True)
class TrainingForward:
    """One train-mode forward of a module: its output, the MACs `FlopCounterMode` counts
    (total FLOPs // 2, for the whole batch) and the bytes autograd keeps (`SavedTensors`,
    parameters and buffers excluded)."""

    output: Any
    macs: int
    saved_bytes: int


def training_forward(module: nn.Module, xs: Sequence[torch.Tensor]) -> TrainingForward:
    """Run `module(*xs)` once in train mode, measuring MACs and saved bytes together (the
    inputs require gradients only if the caller made them so)."""
    module.train()
    counter = FlopCounterMode(display=False)
    with SavedTensors([*module.parameters(), *module.buffers()]) as saved, counter:
        out = module(*xs)
    return TrainingForward(out, counter.get_total_flops() // 2, saved.total)


def measure_saved_bytes(graph: nx.MultiDiGraph, model: nn.Module, batch: int = 2,
                        dtype: torch.dtype = DTYPE) -> PerNode:
    """Bytes autograd keeps for backward in one training forward (train mode), in all and
    by the node running when each storage was first saved (`SavedTensors`). The inputs
    do not require gradients (training data does not), so a layer that depends on no
    parameter keeps nothing."""
    model.train()
    xs = example_inputs(graph, batch, dtype)
    current: list[str | None] = [None]
    torch.manual_seed(0)  # dropout masks
    with node_hooks(node_modules(graph, model), before=lambda node: current.__setitem__(0, node)), \
            SavedTensors([*model.parameters(), *model.buffers()], lambda: current[0]) as saved:
        out = model(*xs)
    del out
    nodes = saved.per_node()
    return PerNode(sum(nodes.values()), nodes)


# ---------------------------------------------------------------- inference memory
class LiveTensors(TorchDispatchMode):
    """Tracks the bytes of every storage an op allocates while it is alive.

    Every aten op's outputs pass through `__torch_dispatch__`; a storage not seen before,
    and not one of the `baseline` (parameters, buffers, the inputs), is recorded with its
    size, the node running when it appeared, and a weak reference to the C++ storage,
    which says exactly when the last tensor using it is gone. Live bytes only grow when
    an op returns, so the largest total right after each op is the true peak of live
    tensors. What an op allocates and frees inside its kernel without making it a
    tensor (a convolution's workspace) is not seen.
    """

    def __init__(self, baseline: set[StorageWeakRef]) -> None:
        super().__init__()
        self.baseline = baseline
        self.sizes: dict[StorageWeakRef, int] = {}
        self.born: dict[StorageWeakRef, str | None] = {}
        self.node: str | None = None  # the node whose module is running
        self.peak = 0
        self.node_peak: dict[str | None, int] = {}

    def live_bytes(self) -> int:
        """Bytes of the recorded storages still alive (dead ones are dropped)."""
        for ref in [r for r in self.sizes if r.expired()]:
            del self.sizes[ref], self.born[ref]
        return sum(self.sizes.values())

    def allocated_by(self, t: torch.Tensor, node: str) -> int:
        """The bytes of `t`'s storage if it appeared while `node` ran, else 0."""
        ref = StorageWeakRef(t.untyped_storage())
        return self.sizes[ref] if ref in self.sizes and self.born[ref] == node else 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ref = StorageWeakRef(storage)
                if ref not in self.baseline and ref not in self.sizes:
                    self.sizes[ref], self.born[ref] = storage.nbytes(), self.node
        live = self.live_bytes()
        self.peak = max(self.peak, live)
        self.node_peak[self.node] = max(self.node_peak.get(self.node, 0), live)
        return out


@dataclass(frozen=True)
class LiveMemory:
    """Live tensor bytes of one inference forward (eval, no_grad).

    `activation[node]`: the bytes of the storage the node's output lives in, if the node
    allocated it (0 for a view of an earlier tensor, or for the input handed back).
    `after_step[node]`: live bytes right after the node's module returned, before the
    tensors it was the last consumer of are dropped -- what the static liveness model
    calls the live set of that step. `boundary_peak` is their maximum. `peak` is the
    maximum over every op, so it also holds the tensors a lowered layer makes and drops
    inside its own forward (an explicit pad before a convolution, the partial sums of a
    three-way add); `temporaries[node]` is how far the node's step rose above the larger
    of the live bytes before and after it.
    """

    peak: int
    boundary_peak: int
    activation: dict[str, int]
    after_step: dict[str, int]
    temporaries: dict[str, int]


def measure_inference_memory(graph: nx.MultiDiGraph, model: nn.Module, batch: int = 1,
                             dtype: torch.dtype = DTYPE) -> LiveMemory:
    """Live tensor bytes during an eval forward under `no_grad` (weights and inputs excluded)."""
    model.eval()
    xs = example_inputs(graph, batch, dtype)
    mode = LiveTensors(owned_storages(model, xs))
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    activation: dict[str, int] = {}

    def enter(node: str) -> None:
        before[node] = mode.live_bytes()
        mode.node = node

    def leave(node: str, out: torch.Tensor) -> None:
        after[node] = mode.live_bytes()
        activation[node] = mode.allocated_by(out, node)
        mode.node = None

    with torch.no_grad(), node_hooks(node_modules(graph, model), enter, leave), mode:
        out = model(*xs)
    del out
    temporaries = {n: max(0, mode.node_peak.get(n, 0) - max(before[n], after[n])) for n in after}
    return LiveMemory(mode.peak, max(after.values(), default=0), activation, after, temporaries)


def measure_total_size(graph: nx.MultiDiGraph, model: nn.Module, live: LiveMemory,
                       batch: int = 1, dtype: torch.dtype = DTYPE) -> int:
    """torchinfo's "estimated total size", measured: the bytes of the input tensors, of
    the parameters (`numel * element_size`; buffers not included) and of every node's
    output storage in the inference forward `live` measured (`LiveMemory.activation`)."""
    inputs = sum(x.nbytes for x in example_inputs(graph, batch, dtype))
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return inputs + params + sum(live.activation.values())


def static_live_after_step(graph: nx.MultiDiGraph, batch: int = 1, itemsize: int = 4) -> dict[str, int]:
    """The static model's live bytes at each step (for locating a peak mismatch).

    The liveness schedule of the static memory analysis (`netdsl.analysis.liveness`,
    which `netdsl.analysis.memory.plan_memory` takes its inference peak from): a storage
    is live from the step that makes it to the last step that uses it (or a view of it);
    outputs to the end. Inputs are not counted.
    """
    from netdsl.analysis.liveness import schedule
    from netdsl.analysis.memory import tensor_bytes

    live, sizes = schedule(graph), tensor_bytes(graph, batch, itemsize)
    inputs = set(graph.graph["inputs"].values())
    allocated = {n: sizes[n] for n in graph if live.storage[n] == n and n not in inputs}
    during = live.live_bytes(allocated)
    return {node: during[live.step[node]] for node in graph if node not in inputs}


# ------------------------------------------------------------------ receptive fields
def window_mean(pool: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A max pool's windows, averaged instead (`_weighted`): the same kernel, stride,
    padding, dilation and ceil mode, computed as a depthwise convolution over the
    zero-padded input, cropped to the max pool's output size. Its gradient reaches every
    tap of every window, where a max pool's reaches only each window's argmax."""
    rank, x = x.dim() - 2, _weighted(x)
    kernel, stride, padding, dilation = (_per_axis(v, rank) for v in (
        pool.kernel_size, pool.stride or pool.kernel_size, pool.padding, pool.dilation))
    with torch.no_grad():
        out_shape = type(pool).forward(pool, x).shape[2:]
    pads = []
    for n, k, s, pad, d, o in zip(x.shape[2:], kernel, stride, padding, dilation, out_shape):
        pads.append((pad, max(pad, (o - 1) * s + d * (k - 1) + 1 - n - pad)))
    padded = F.pad(x, [v for pair in reversed(pads) for v in pair])
    channels = x.shape[1]
    weight = torch.full((channels, 1, *kernel), 1 / math.prod(kernel), dtype=x.dtype)
    conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    y = conv(padded, weight, stride=stride, dilation=dilation, groups=channels)
    for axis, o in enumerate(out_shape):
        y = y.narrow(2 + axis, 0, o)
    return y


def adaptive_mean(pool: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """An adaptive max pool's windows, averaged instead (`_weighted`)."""
    pools = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)
    return pools[x.dim() - 3](_weighted(x), pool.output_size)


def channel_mean(pool: ops.ChannelMaxPool, x: torch.Tensor) -> torch.Tensor:
    """A channel max pool's windows of channels, averaged instead (`_weighted`): channels
    whose windows differ (after a pixel unshuffle or a concat) are all seen, not only the
    argmax's."""
    flat = _weighted(x).flatten(2).unsqueeze(1)
    out = F.avg_pool2d(flat, (pool.kernel, 1), (pool.stride, 1))
    return out.reshape(x.shape[0], -1, *x.shape[2:])


def global_mean(x: torch.Tensor) -> torch.Tensor:
    """A global max pool, averaged instead (`_weighted`)."""
    return _weighted(x).mean(dim=tuple(range(2, x.dim())), keepdim=True)


def _weighted(x: torch.Tensor) -> torch.Tensor:
    """`x` times fixed positive random weights (uniform in [0.5, 1.5]), so that a mean
    standing in for a max does not add up a softmax's outputs with equal weights (which
    sum to a constant, whose gradient is zero)."""
    gen = torch.Generator().manual_seed(x.numel())
    return x * (torch.rand(x.shape, generator=gen, dtype=x.dtype) + 0.5)


def _per_axis(value: Any, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_ADAPTIVE_MAX = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


def _dense_gradients(model: nn.Module) -> nn.Module:
    """Make every max-type pooling of the model a mean over the same windows, in place
    (by replacing the instances' `forward`: the network keeps references to its node
    modules), and make -inf padding (max pools' explicit padding) zero."""
    for module in model.modules():
        if isinstance(module, _MAX_POOLS):
            module.forward = partial(window_mean, module)
        elif isinstance(module, _ADAPTIVE_MAX):
            module.forward = partial(adaptive_mean, module)
        elif isinstance(module, ops.GlobalMaxPool):
            module.forward = global_mean
        elif isinstance(module, ops.ChannelMaxPool):
            module.forward = partial(channel_mean, module)
        elif isinstance(module, ops.SpatialPyramidPool):
            module.mode = "avg"
        elif isinstance(module, ops.Pad):
            module.value = 0.0
    return model


def _positive_weights(model: nn.Module, gen: torch.Generator) -> None:
    """Positive random weights, uniform in [0.5, 1.5] / fan-in (they average, so that
    activations keep their size; random, so that no two positions compute the same
    value, which a softmax along a spatial axis would turn into a zero gradient); zero
    biases; batch norm with unit statistics (weight 1, bias 0, mean 0, variance 1)."""
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(weight, torch.Tensor) and weight.dim() >= 2:
                fan_in = weight[0].numel()
                if isinstance(module, nn.modules.conv._ConvTransposeNd):
                    fan_in = weight.shape[0] // module.groups * math.prod(
                        -(-k // s) for k, s in zip(module.kernel_size, module.stride))
                weight.copy_((torch.rand(weight.shape, generator=gen, dtype=weight.dtype)
                              + 0.5) / fan_in)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()


def prefix_graph(graph: nx.MultiDiGraph, nodes: Sequence[str]) -> nx.MultiDiGraph:
    """The part of the graph the given nodes depend on, with those nodes as its outputs
    (node order kept), so that measuring early nodes does not run the whole network."""
    keep = set(nodes).union(*(nx.ancestors(graph, n) for n in nodes))
    sub = nx.MultiDiGraph()
    sub.graph.update(graph.graph, outputs=list(nodes))
    for key in ("output_names", "output_training", "named_outputs"):  # not these nodes'
        sub.graph.pop(key, None)
    sub.graph["inputs"] = {k: v for k, v in graph.graph["inputs"].items() if v in keep}
    sub.add_nodes_from((n, d) for n, d in graph.nodes(data=True) if n in keep)
    sub.add_edges_from((u, v, k, d) for u, v, k, d in graph.edges(keys=True, data=True)
                       if u in keep and v in keep)
    return sub


def field_model(graph: nx.MultiDiGraph, seed: int = 0) -> nn.Module:
    """The lowered network prepared for gradient supports: float64, eval mode (batch norm
    with unit statistics, dropout off), positive averaging weights (`_positive_weights`)
    that do not require grad, and every max-type pooling replaced by a mean over the same
    windows (`window_mean`): the dependence pattern is the same, and the gradient reaches
    all of it."""
    model = _dense_gradients(build(graph)).double().eval()
    _positive_weights(model, torch.Generator().manual_seed(seed))
    model.requires_grad_(False)
    return model


#: Most output positions looked at per node: one period of a fractional stride's pattern.
MAX_PERIOD = 8

Box = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class FieldCheck:
    """The static and measured input windows of a node's output elements.

    `positions`: the centre output index on every spatial axis, then the next ones along
    the diagonal, one period of the pattern of windows (a fractional effective stride p/q
    repeats every q positions; an integer stride every position). `raw`, `static` and
    `measured`: per position and input axis, the first and last input index seen -- the
    static window `i*stride - padding .. + size - 1` (a fractional start floored) as is
    and clipped to what the node can see at all (`visible_boxes`: the input, narrowed by
    centre crops and by windows that drop the end of their input), and the bounding box of the nonzero input gradient (None: no
    dependence at all). For a global node there is one window: the union of its local
    inputs' windows over all their positions, which is what "sees the whole input"
    amounts to.

    The rule (docs/conventions.md; `size` is the largest window): every measured window
    lies inside the static one; where the static window starts inside the input, the
    measured one starts there too; on every axis, the largest measured window equals the
    largest static one among the windows that are not clipped. A window that runs into
    the padding is clipped, and its first (or last) input index may be further in than
    the clip: a dilation hole, or the padding of an earlier strided layer, comes first;
    it may even see nothing but padding (positions beyond an earlier layer's output). Windows can also be smaller than `size` at some positions: a linear upsampling
    tap of weight exactly 0, a transposed convolution's position-dependent number of taps,
    adaptive pooling's uneven windows. A global node's union must end where it ends on
    every side that does not run into the padding.
    """

    node: str
    is_global: bool
    positions: tuple[tuple[int, ...], ...]
    raw: tuple[Box, ...]
    static: tuple[Box, ...]
    measured: tuple[Box | None, ...]
    whole_period: bool

    @property
    def problem(self) -> str:
        """Why the windows disagree, or "" when they agree."""
        for pos, raw, st, me in zip(self.positions, self.raw, self.static, self.measured):
            where = "the union" if self.is_global else f"output {pos}"
            if me is None:
                if raw != st:
                    continue  # clipped: it may cover nothing but padding
                return f"{where} depends on no input"
            for axis, ((r0, r1), (s0, s1), (m0, m1)) in enumerate(zip(raw, st, me)):
                if m0 < s0 or m1 > s1:
                    return f"{where}, axis {axis}: {m0}..{m1} is not inside {s0}..{s1}"
                if r0 == s0 and m0 != s0:
                    return f"{where}, axis {axis}: starts at {m0}, not {s0}"
                if self.is_global and r1 == s1 and m1 != s1:
                    return f"{where}, axis {axis}: ends at {m1}, not {s1}"
        if self.is_global or not self.whole_period:
            return ""
        for axis in range(len(self.positions[0])):
            # only windows unclipped on every axis: clipping on another axis can leave a
            # dilated kernel's taps all in the padding, and the output then reads nothing
            inside = [i for i, (raw, st) in enumerate(zip(self.raw, self.static))
                      if raw == st and all(a <= b for a, b in st)]
            if not inside:
                continue
            sizes = [max(_size(boxes[i], axis) for i in inside)
                     for boxes in (self.static, self.measured)]
            if sizes[1] != sizes[0]:
                return f"axis {axis}: largest window {sizes[1]}, not {sizes[0]}"
        return ""

    @property
    def ok(self) -> bool:
        """Whether the measurement agrees with the static field."""
        return not self.problem


def _size(box: Box | None, axis: int) -> int:
    return 0 if box is None else box[axis][1] - box[axis][0] + 1


def raw_window(field: Field, position: Sequence[int]) -> Box:
    """The unclipped first and last input index of the window of an output position."""
    starts = (math.floor(Fraction(i) * Fraction(s) - Fraction(p))
              for i, s, p in zip(position, field.stride, field.padding))
    return tuple((start, start + int(r) - 1) for start, r in zip(starts, field.size))


def clip(box: Box, bounds: Box) -> Box:
    """A window cut to what can be seen (`visible_boxes`)."""
    return tuple((max(a, lo), min(b, hi)) for (a, b), (lo, hi) in zip(box, bounds))


def visible_boxes(graph: nx.MultiDiGraph, fields: dict[str, Field],
                  spatial: Sequence[int]) -> dict[str, Box]:
    """Per node, the input indices it can see at all: the union of its windows over its
    positions, within what its inputs see. Sliding windows that drop the end of their
    input (floor division) and centre crops narrow it; beyond it a window only covers
    padding, as beyond the input's edges. A flat or global node sees what its inputs see."""
    full = tuple((0, n - 1) for n in spatial)
    boxes: dict[str, Box] = {}
    for node, data in graph.nodes(data=True):
        seen = [boxes[p] for p in data["inputs"]] or [full]
        box = tuple((min(b[a][0] for b in seen), max(b[a][1] for b in seen))
                    for a in range(len(spatial)))
        shape, field = data["layer"].out_shape, fields[node]
        if data["inputs"] and len(shape) - 1 == len(spatial) and not field.is_global:
            first = raw_window(field, (0,) * len(spatial))
            last = raw_window(field, tuple(n - 1 for n in shape[1:]))
            box = clip(tuple((a[0], b[1]) for a, b in zip(first, last)), box)
        boxes[node] = box
    return boxes


def global_window(graph: nx.MultiDiGraph, fields: dict[str, Field], node: str,
                  rank: int) -> Box:
    """The union, over the node's local inputs and all their positions, of the unclipped
    static windows: the input a node that became global at this step really sees. A flat
    input (after flatten) stands for the positions of the spatial tensor it was made from."""
    boxes = []
    for pred in _spatial_sources(graph, fields, node, rank):
        field, shape = fields[pred], graph.nodes[pred]["layer"].out_shape
        first = raw_window(field, (0,) * rank)
        last = raw_window(field, tuple(n - 1 for n in shape[1:]))
        boxes.append(tuple((a[0], b[1]) for a, b in zip(first, last)))
    return tuple((min(b[a][0] for b in boxes), max(b[a][1] for b in boxes)) for a in range(rank))


def _spatial_sources(graph: nx.MultiDiGraph, fields: dict[str, Field], node: str,
                     rank: int) -> list[str]:
    """The local inputs of a node, each replaced by its own inputs (recursively) until it
    has as many spatial axes as the network input."""
    found: list[str] = []
    for pred in _local_inputs(graph, fields, node):
        if len(graph.nodes[pred]["layer"].out_shape) - 1 == rank:
            found.append(pred)
        else:
            found += _spatial_sources(graph, fields, pred, rank)
    return list(dict.fromkeys(found))


def centre(shape: Shape) -> tuple[int, ...]:
    """The centre output index of each spatial axis ((n - 1) // 2)."""
    return tuple((n - 1) // 2 for n in shape[1:])


def period(field: Field) -> int:
    """Positions after which the windows repeat: the lcm of the strides' denominators."""
    return math.lcm(*(Fraction(s).denominator for s in field.stride)) if field.stride else 1


def field_positions(field: Field, shape: Shape) -> tuple[tuple[tuple[int, ...], ...], bool]:
    """The centre and the next positions of one period (at most MAX_PERIOD), and whether
    the whole period fits."""
    first, q = centre(shape), period(field)
    count = min(q, MAX_PERIOD, *(n - c for n, c in zip(shape[1:], first)))
    return tuple(tuple(c + j for c in first) for j in range(count)), count == q


def measure_fields(graph: nx.MultiDiGraph, fields: dict[str, Field], nodes: Sequence[str],
                   scale: float = 1e-3, seed: int = 0) -> list[FieldCheck]:
    """The input-gradient support of output elements of each node (see `FieldCheck`).

    One forward of `field_model` (of `prefix_graph`: only what the nodes need) at batch
    1 on positive inputs (uniform in [0.5, 1.5], times `scale`, so that bounded
    activations such as relu6 stay in their linear part after many residual additions);
    then, per node and position, the gradient of the node's channels at that position,
    weighted by positive random numbers (a plain sum cancels through a channel softmax),
    with respect to the input. The support is where the gradient, summed over channels, is
    nonzero. A global node is measured through its local inputs, every position of them
    seeded at once (a linear layer or global pool mixes them all), which spares running
    large classifiers. The network must have one input with spatial axes.
    """
    (inp,) = graph.graph["inputs"].values()
    in_shape = graph.nodes[inp]["layer"].out_shape
    spatial = in_shape[1:]
    sources = {node: (_local_inputs(graph, fields, node) if fields[node].is_global else [node])
               for node in nodes}
    if not all(sources.values()):
        raise ValueError("a global node whose inputs are all global has no local field to measure")
    needed = list(dict.fromkeys(s for node in nodes for s in sources[node]))
    gen = torch.Generator().manual_seed(seed)
    model = field_model(prefix_graph(graph, needed), seed)
    visible = visible_boxes(graph, fields, spatial)
    x = ((torch.rand(1, *in_shape, generator=gen, dtype=torch.float64) + 0.5) * scale)
    x.requires_grad_()
    outputs = model(x)
    values = dict(zip(needed, outputs if isinstance(outputs, tuple) else (outputs,)))

    def support(outs: list[torch.Tensor], position: tuple[int, ...] | None) -> Box | None:
        seeds = [_seed(out, position, gen) for out in outs]
        (grad,) = torch.autograd.grad(outs, x, seeds, retain_graph=True, allow_unused=True)
        return None if grad is None else _bounding_box(grad.abs().sum(dim=(0, 1)) != 0)

    checks = []
    for node in nodes:
        field, shape = fields[node], graph.nodes[node]["layer"].out_shape
        outs = [values[s] for s in sources[node]]
        if field.is_global:
            raw = global_window(graph, fields, node, len(spatial))
            checks.append(FieldCheck(node, True, ((),), (raw,), (clip(raw, visible[node]),),
                                     (support(outs, None),), True))
            continue
        positions, whole = field_positions(field, shape)
        raws = tuple(raw_window(field, p) for p in positions)
        checks.append(FieldCheck(node, False, positions, raws,
                                 tuple(clip(r, visible[node]) for r in raws),
                                 tuple(support(outs, p) for p in positions), whole))
    return checks


def _local_inputs(graph: nx.MultiDiGraph, fields: dict[str, Field], node: str) -> list[str]:
    return [p for p in dict.fromkeys(graph.nodes[node]["inputs"]) if not fields[p].is_global]


def _seed(out: torch.Tensor, position: tuple[int, ...] | None,
          gen: torch.Generator) -> torch.Tensor:
    """Positive random weights on the channels at `position`, or (None) on every element:
    weights that differ from element to element, so that no sum of them cancels (the
    elements of a softmax add up to 1, whatever its input)."""
    seed = torch.zeros_like(out)
    if position is None:
        seed[0] = torch.rand(out.shape[1:], generator=gen, dtype=out.dtype) + 0.5
    else:
        seed[(0, slice(None), *position)] = (
            torch.rand(out.shape[1], generator=gen, dtype=out.dtype) + 0.5)
    return seed


def _bounding_box(mask: torch.Tensor) -> tuple[tuple[int, int], ...] | None:
    """First and last set index of a boolean mask along each axis (None if empty)."""
    if not bool(mask.any()):
        return None
    box = []
    for axis in range(mask.dim()):
        others = tuple(a for a in range(mask.dim()) if a != axis)
        hits = torch.nonzero(mask.any(dim=others) if others else mask).flatten()
        box.append((int(hits[0]), int(hits[-1])))
    return tuple(box)


def field_nodes(graph: nx.MultiDiGraph, fields: dict[str, Field], limit: int = 6) -> list[str]:
    """Nodes worth a receptive-field check (netdsl prints exact fields only, so only those
    are checked): up to `limit` spatial nodes with a local field,
    spread evenly over those whose centre window lies inside the input (a clipped window
    says less), the last local node, and the first global node. None for a network that
    does not have exactly one input with spatial axes."""
    inputs = list(graph.graph["inputs"].values())
    if len(inputs) != 1 or len(graph.nodes[inputs[0]]["layer"].out_shape) < 2:
        return []
    spatial = graph.nodes[inputs[0]]["layer"].out_shape[1:]
    local = [n for n in graph if n not in inputs and len(graph.nodes[n]["layer"].out_shape) > 1
             and not fields[n].is_global and fields[n].exact]
    inside = [n for n in local if _inside(fields[n], centre(graph.nodes[n]["layer"].out_shape),
                                          spatial)]
    picked = set(inside) if len(inside) <= limit else {
        inside[round(i * (len(inside) - 1) / (limit - 1))] for i in range(limit)}
    picked.update(local[-1:])
    picked.update(n for n in graph if fields[n].is_global and fields[n].exact
                  and _local_inputs(graph, fields, n))
    first_global = next((n for n in graph if n in picked and fields[n].is_global), None)
    return [n for n in graph if n in picked and (not fields[n].is_global or n == first_global)]


def _inside(field: Field, position: Sequence[int], spatial: Sequence[int]) -> bool:
    """Whether the unclipped window of the position lies within the input (or whether it
    runs into the padding)."""
    return all(0 <= a and b < n for (a, b), n in zip(raw_window(field, position), spatial))
