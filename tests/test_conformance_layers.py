"""The oracle, layer by layer: every registered layer's static rules against PyTorch.

For each registered name and each of its examples, the layer is resolved with
`netdsl.layers.create`, lowered with `netdsl.lowering.recipe.torch_module`, and run:

- output shape (batch 2) against `out_shape`;
- `params()` / `buffers()` against the module's parameter and buffer elements;
- `macs()` against `FlopCounterMode` (total FLOPs / 2, per sample);
- `saved()` against the storages autograd keeps (train mode, float32, batch 2): each
  distinct storage once, parameters and buffers excluded;
- `receptive_field()` against the measured dependence of every output position on the
  input: input-gradient support with positive constant weights, or, for max-type
  layers (sparse gradients), finite perturbation. At every output position the
  measured support lies inside the static window `i*stride - padding .. + size - 1`
  (clipped to the input; a fractional start is floored) and, unless the window starts
  in the padding (where a dilation hole may come first), starts where it starts;
  the largest measured extent equals the largest static one. For a global field, some
  output element must depend on the whole input -- except for a view (reshape), where
  "global" says the layout is lost: each output element is one input element.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from netdsl.layers import REGISTRY, Field, Layer, create  # noqa: E402
from netdsl.layers.base import numel  # noqa: E402
from netdsl.lowering.recipe import torch_module  # noqa: E402
from netdsl.oracle.measure import training_forward  # noqa: E402

BATCH = 2
ITEMSIZE = 4  # float32
MAX_TYPE = {"maxpool", "global_maxpool", "adaptive_maxpool", "channel_maxpool"}

def _whole(name: str, index: int) -> Layer:
    spec = REGISTRY[name]
    example = spec.examples[index]
    return create(spec, [], dict(example.args), example.inputs)


def _cases() -> list:
    """(name, example) per example; a layer that gives several tensors (chunk, split) is
    checked part by part: (name, (example, part))."""
    cases = []
    for name, spec in REGISTRY.items():
        for i in range(len(spec.examples)):
            parts = getattr(_whole(name, i), "parts", lambda: None)()
            if parts is None:
                cases.append(pytest.param(name, i, id=f"{name}-{i}"))
            else:
                cases += [pytest.param(name, (i, k), id=f"{name}-{i}-part{k}")
                          for k in range(len(parts))]
    return cases


CASES = _cases()


def resolve(name: str, index: int | tuple[int, int]) -> Layer:
    if isinstance(index, tuple):
        return _whole(name, index[0]).parts()[index[1]]
    return _whole(name, index)


def test_every_layer_has_examples() -> None:
    missing = [name for name, spec in REGISTRY.items() if not spec.examples]
    assert not missing, f"layers without conformance examples: {missing}"


# --------------------------------------------------------------------- counts
def static_saved_bytes(layer: Layer, batch: int, itemsize: int = ITEMSIZE) -> int:
    """`layer.saved()` in bytes: inputs and the output once each, extras as declared."""
    seen: set[tuple] = set()
    total = 0
    for item in layer.saved():
        if item.what == "extra":
            count = item.elements * (batch if item.per_sample else 1)
            total += count * (item.itemsize or itemsize)
            continue
        key = ("output",) if item.what == "output" else ("input", item.index)
        if key in seen:
            continue
        seen.add(key)
        shape = layer.out_shape if item.what == "output" else layer.in_shapes[item.index]
        total += batch * numel(shape) * itemsize
    return total


def measure(layer: Layer) -> dict[str, int | tuple]:
    """Run the lowered layer once in train mode (`training_forward`: MACs and saved bytes
    measured together), recording all the measured numbers."""
    torch.manual_seed(0)
    module = torch_module(layer)
    xs = [torch.randn(BATCH, *shape, requires_grad=True) for shape in layer.in_shapes]
    measured = training_forward(module, xs)
    out = measured.output
    out.sum().backward()  # what was saved is usable
    return {
        "shape": tuple(out.shape[1:]),
        "params": sum(p.numel() for p in module.parameters()),
        "buffers": sum(b.numel() for b in module.buffers()),
        "macs": measured.macs // BATCH,
        "saved": measured.saved_bytes,
    }


@pytest.mark.parametrize(("name", "index"), CASES)
def test_counts_match_pytorch(name: str, index: int) -> None:
    layer = resolve(name, index)
    measured = measure(layer)
    static = {"shape": tuple(layer.out_shape), "params": layer.params(),
              "buffers": layer.buffers(), "macs": layer.macs(),
              "saved": static_saved_bytes(layer, BATCH)}
    assert static == measured


# ---------------------------------------------------------- receptive fields
def _positive_weights(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(0.1)


def _flat_outputs(out: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Sample 0's output per position, channels mixed with positive `weights` (a plain
    sum cancels for softmax); with no weights, every output element on its own."""
    first = out[0]
    if weights is None or first.dim() == 1:
        return first.flatten()
    return (first * weights.view(-1, *([1] * (first.dim() - 1)))).sum(0).flatten()


def _positions(x: torch.Tensor) -> tuple[int, ...]:
    """The positions of an input: its spatial axes, or a flat input's features."""
    return tuple(x.shape[2:]) if x.dim() > 2 else (x.shape[1],)


def gradient_support(module: torch.nn.Module, xs: list[torch.Tensor],
                     weights: torch.Tensor | None) -> list[torch.Tensor]:
    """For each input, a bool [outputs, *positions] mask of nonzero input gradient."""

    def f(*inputs: torch.Tensor) -> torch.Tensor:
        return _flat_outputs(module(*inputs), weights)

    jac = torch.autograd.functional.jacobian(f, tuple(xs))
    # |J| of sample 0, summed over the input's channels (a flat input has none)
    return [(j[:, 0].abs() if x.dim() == 2 else j[:, 0].abs().sum(1)) != 0
            for j, x in zip(jac, xs)]


def perturbation_support(module: torch.nn.Module, xs: list[torch.Tensor],
                         weights: torch.Tensor | None) -> list[torch.Tensor]:
    """Like `gradient_support`, by raising one input position (all channels) at a time."""
    base = _flat_outputs(module(*xs), weights)
    masks = []
    for k, x in enumerate(xs):
        spatial = _positions(x)
        count = math.prod(spatial)
        batch = x.repeat(count, *([1] * (x.dim() - 1)))
        view = batch.view(count, -1, count)  # [copy, channels, position]
        view[torch.arange(count), :, torch.arange(count)] += 1000.0
        others = [y.repeat(count, *([1] * (y.dim() - 1))) for y in xs]
        others[k] = batch
        out = module(*others)
        changed = torch.stack([_flat_outputs(out[i:i + 1], weights) != base
                               for i in range(count)])  # [positions, outputs]
        masks.append(changed.T.reshape(-1, *spatial))
    return masks


def _extent(mask: torch.Tensor, axis: int) -> tuple[int, int] | None:
    """First and last index along `axis` where the mask is set, or None."""
    other = tuple(a for a in range(mask.dim()) if a != axis)
    hits = mask.any(dim=other) if other else mask
    idx = torch.nonzero(hits).flatten()
    return (int(idx[0]), int(idx[-1])) if len(idx) else None


def _window(position: int, field: Field, axis: int, n: int) -> tuple[int, int] | None:
    start = math.floor(position * field.stride[axis] - field.padding[axis])
    end = start + field.size[axis] - 1
    lo, hi = max(start, 0), min(end, n - 1)
    return (lo, hi) if lo <= hi else None


@pytest.mark.parametrize(("name", "index"), CASES)
def test_receptive_field_matches_pytorch(name: str, index: int) -> None:
    layer = resolve(name, index)
    ranks = [len(s) - 1 for s in layer.in_shapes]
    field = layer.receptive_field([Field.unit(r) for r in ranks])
    torch.manual_seed(0)
    module = torch_module(layer).eval()
    _positive_weights(module)
    xs = [torch.rand(1, *s) + 0.5 for s in layer.in_shapes]
    # Windowed layers keep the spatial rank: their output positions are mixed over the
    # channels; any other layer's output elements are looked at one by one.
    windowed = len(layer.out_shape) > 1 and all(
        len(s) == len(layer.out_shape) for s in layer.in_shapes)
    weights = torch.rand(layer.out_shape[0]) + 0.5 if windowed else None
    is_max = name in MAX_TYPE or (name == "spp" and layer.mode == "max")
    with torch.no_grad() if is_max else torch.enable_grad():
        if is_max:
            masks = perturbation_support(module, xs, weights)
        else:
            masks = gradient_support(module, [x.requires_grad_() for x in xs], weights)
    for k, (shape, mask) in enumerate(zip(layer.in_shapes, masks)):
        if layer.is_merge and shape[1:] != layer.out_shape[1:]:
            continue  # a broadcast or spatially concatenated branch: positions do not map
        if field.is_global and layer.is_view:  # a rearrangement whose layout is lost
            assert bool((mask.flatten(1).sum(1) == 1).all()), f"input {k}: not a rearrangement"
            continue
        if field.is_global:  # some output element (SPP: a level-1 bin) sees everything
            assert bool(mask.flatten(1).all(1).any()), f"input {k}: nothing sees the whole input"
            continue
        if len(shape) == 1:  # a flat input with a local field: each output sees one feature
            assert bool((mask.sum(1) == 1).all()), f"input {k}: not elementwise"
            continue
        if not windowed:  # flattened or reshaped: each output element sees one window
            for axis, n in enumerate(shape[1:]):
                sizes = {(e[1] - e[0] + 1) if e else 0
                         for e in (_extent(m, axis) for m in mask)}
                assert sizes == {min(field.size[axis], n)}, f"input {k} axis {axis}"
            continue
        out_spatial, spatial = layer.out_shape[1:], shape[1:]
        _check_windows(mask.view(*out_spatial, *spatial), field, out_spatial, spatial, k)


def test_a_split_gives_its_parts() -> None:
    parts = _whole("split", 0).parts()
    assert [(p.start, p.out_shape) for p in parts] == [(0, (1, 5, 4)), (1, (3, 5, 4)),
                                                       (4, (2, 5, 4))]
    assert all(p.is_view for p in parts)


def _check_windows(mask: torch.Tensor, field: Field, out_spatial: tuple[int, ...],
                   spatial: tuple[int, ...], k: int) -> None:
    rank = len(spatial)
    for axis, n in enumerate(spatial):
        biggest_measured = biggest_static = 0
        for position in range(out_spatial[axis]):
            # the slab of output positions with this index on `axis`
            slab = mask.select(axis, position)  # [other output axes..., *input spatial]
            measured = _extent(slab, rank - 1 + axis)
            static = _window(position, field, axis, n)
            where = f"input {k}, axis {axis}, output {position}"
            raw_start = math.floor(position * field.stride[axis] - field.padding[axis])
            if not field.exact and not 0 <= raw_start <= n - field.size[axis]:
                continue  # an inexact field (reflect padding) claims only the windows inside
            assert (measured is None) == (static is None), f"{where}: {measured} vs {static}"
            if measured is None:
                continue
            # Where the window starts in the padding, its first tap in the input may follow
            # a dilation hole; elsewhere the first tap is the window's start.
            if raw_start >= 0:
                assert measured[0] == static[0], f"{where}: starts at {measured[0]}, not {static[0]}"
            assert measured[0] >= static[0], f"{where}: starts at {measured[0]} before {static[0]}"
            assert measured[1] <= static[1], f"{where}: ends at {measured[1]} past {static[1]}"
            biggest_measured = max(biggest_measured, measured[1] - measured[0] + 1)
            biggest_static = max(biggest_static, static[1] - static[0] + 1)
        assert biggest_measured == biggest_static, f"input {k}, axis {axis}: size"
