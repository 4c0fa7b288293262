"""Random networks, written as spec text, against PyTorch; random broken text, against crashes.

`networks()` writes valid specs: chains of random layers from the registry with random
valid arguments (each call is checked with the layer's own rules while the text is
written, so the generator knows every shape and receptive field), residual-style merges
(add, mul with broadcast gates, concat) of short branches, skips through named values
(U-Net style: a cropped skip concatenated after an upsampling), 1-D, 2-D, 3-D and flat
inputs of odd and even sizes, sometimes two inputs. Each is parsed, elaborated,
analysed, lowered and measured by `netdsl.oracle.verify`: every check must pass.

What these tests found wrong (and what was then fixed) is in `FOUND`, each with its
reproducer, kept as a regression test (`test_found_issue_stays_fixed`).

`mutants()` breaks valid text (specs from specs/ and generated ones): a token deleted,
duplicated or swapped with its neighbour, numbers swapped or replaced, names misspelt,
stray punctuation. Loading and analysing must then either succeed or raise a
`NetdslError` located at a span -- never another exception.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, find, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import netdsl  # noqa: E402
from netdsl.errors import NetdslError  # noqa: E402
from netdsl.language.display import literal  # noqa: E402
from netdsl.layers import REGISTRY, Field, LayerError, create  # noqa: E402
from netdsl.layers.activation import Activation  # noqa: E402
from netdsl.layers.base import numel  # noqa: E402
from netdsl.oracle import verify  # noqa: E402
from netdsl.oracle.measure import field_model, input_shapes, prefix_graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: Static rules and lowerings these tests found wrong, now fixed: each reproducer is kept
#: as a regression test.
FOUND: dict[str, tuple[str, str]] = {
    "layernorm at one position, then conv and flatten": ("""
network r() {
    input x: [2, 2, 2]

    x -> global_avgpool -> layernorm -> conv(channels = 2, kernel = 1, padding = 1) -> relu
      -> flatten
}
""", "lowering: at a single position the permuted-back layernorm output counted as "
        "contiguous with channels-last strides; the conv after it answered in channels-last "
        "and the flatten copied (144 bytes where a view was counted)"),
    "dilated taps all in the padding": ("""
network r() {
    input x: [1, 2, 3]

    v1 = x -> center_crop(size = [1, 3])
    v1 -> conv(channels = 1, kernel = 2, padding = same, dilation = 2)
}
""", "oracle: on a 1-pixel axis the dilated taps all fall in the padding, so the output "
     "reads nothing; the largest-window rule must use windows unclipped on every axis"),
    "channel max pool over channels of different windows": ("""
network r() {
    input x: [1, 2, 2]

    x -> relu -> pixel_unshuffle(factor = 2) -> channel_maxpool(kernel = 3)
}
""", "oracle: receptive field static 0..1 x 0..1, measured 0..0 x 0..0: the field model "
     "kept channel_maxpool a max (its gradient reaches only the argmax channel, one "
     "pixel here), where every other max pool is measured as a mean over its windows"),
    # name: (spec text, what goes wrong)
    "dropout p=0 in training": ("""
network r() {
    input x: [4, 6]

    x -> conv(4, 1) -> mul(dropout(0.0), identity)
}
""", "saved bytes: static 576, measured 384: dropout(0.0) returns its input in training "
     "too, static memory.storages(training=True) counts it as a new tensor"),
    "dilated max pool padding": ("""
network r() {
    input x: [1, 8, 8]

    x -> maxpool(3, stride = 1, padding = same, dilation = 2)
}
""", "lowering: PyTorch refuses padding 2 > kernel 3 // 2 (its limit ignores the dilation); "
     "the static rule allows up to (effective kernel 5) // 2"),
    "3-D avg pool input smaller than the kernel": ("""
network r() {
    input x: [2, 3, 1, 1]

    x -> avgpool(2, stride = 1, padding = 1)
}
""", "lowering: avg_pool3d refuses an input smaller than the kernel even when padded; "
     "the static rule (and 1-D/2-D PyTorch) accept it"),
    "3-D transposed conv storage at batch 1": ("""
network r() {
    input x: [3, 7, 6, 6]

    x -> conv_transpose(4, 1, padding = 2) -> relu
}
""", "inference peak at batch 1: static 384, measured 3216: on the CPU at batch 1 a "
     "ConvTranspose3d whose output is smaller than its input returns it in a storage the "
     "size of the input (3024 bytes for 192)"),
    "3-D transposed conv to fewer elements, no padding": ("""
network r() {
    input x: [2, 2, 2, 2]

    x -> conv_transpose(channels = 1, kernel = 1) -> relu -> relu
}
""", "inference peak at batch 1: static 64, measured 96: the CPU's slow_conv_transpose3d "
     "(taken at batch 1) makes its output with empty_like(input) and resize_s it down, so "
     "any output smaller than its input keeps the input-sized storage, padded or not"),
    "field axes after reshape": ("""
network r() {
    input x: [2, 6, 6]

    x -> flatten -> reshape([8, 9]) -> adaptive_avgpool(3)
}
""", "analysis crash (IndexError): the 1-D adaptive pool's receptive_field zips the 2-axis "
     "field of the image with its one axis"),
    "flatten of a cropped view": ("""
network r() {
    input x: [2, 8, 8]

    x -> conv(2, 1) -> center_crop(4) -> flatten -> linear(3)
}
""", "memory: flatten (and reshape, and channel_maxpool's internal flatten) of a centre "
     "crop, a strided view, copies it: activation 0 vs 256 bytes, inference peak 524 vs "
     "640, saved 2048 vs 1280 (linear keeps the copy, not the uncropped conv output)"),
    "windows after upsampling": ("""
network r() {
    input x: [1, 8]

    x -> maxpool(2) -> conv_transpose(1, 2, stride = 2)
}
""", "receptive field: output 1 sees inputs 0..1, static i*S - P says 1..2; after upsampling "
     "(transposed conv, upsample) or uneven windows (adaptive pooling), windows follow the "
     "coarser grid (a staircase) that size/stride/padding do not describe"),
}
MAX_ELEMENTS = 4096  # per sample, per tensor: keeps every example fast
WORDS = {"same", "valid", "nearest", "linear", "max", "avg"}
#: The generator draws every registered layer (a new one is fuzzed without being listed
#: here); these are drawn more often than the others, relative to 1.
WEIGHTS = {"conv": 3, "maxpool": 2, "avgpool": 2, "batchnorm": 2, "linear": 2}
MERGES = [n for n, spec in REGISTRY.items() if spec.signature.variadic_inputs]
ACTIVATIONS = [n for n, spec in REGISTRY.items()
               if issubclass(spec.kind, Activation) and not spec.signature.args]


#: Layers that give several tensors: a chain step takes one tensor, so the generator
#: (which writes chains) does not draw them; tests/test_conformance_layers.py checks them
#: part by part.
SEVERAL = {n for n, spec in REGISTRY.items() if hasattr(spec.kind, "parts")}


def drawn(takes: Any) -> list[str]:
    """Registered non-merge layers whose ranks `takes` accepts, each repeated by weight."""
    return [name for name, spec in REGISTRY.items()
            if not spec.signature.variadic_inputs and name not in SEVERAL and takes(spec.ranks)
            for _ in range(WEIGHTS.get(name, 1))]


# ------------------------------------------------------------------- writing spec text
def render(value: Any) -> str:
    """A Python value as the language writes it."""
    return literal(value, WORDS)


def call(name: str, args: dict[str, Any]) -> str:
    """`name(key = value, ...)`, or the bare name without arguments."""
    if not args:
        return name
    return f"{name}({', '.join(f'{k} = {render(v)}' for k, v in args.items())})"


@dataclass(frozen=True)
class Value:
    """A tensor of the network being written: how to write it, its shape and field."""

    text: str
    shape: tuple[int, ...]
    field: Field
    cropped: bool = False  # a strided view (a centre crop), which some layers copy

    @property
    def rank(self) -> int:
        return len(self.shape) - 1


def apply(name: str, args: dict[str, Any], inputs: list[Value]) -> Value | None:
    """The value of a layer call, or None if its rules refuse it (or it is too big)."""
    try:
        layer = create(REGISTRY[name], [], dict(args), tuple(v.shape for v in inputs))
    except LayerError:
        return None
    if numel(layer.out_shape) > MAX_ELEMENTS:
        return None
    fields = [v.field for v in inputs]
    if not layer.is_merge and len(fields[0].size) != len(layer.in_shape) - 1:
        field = fields[0].as_global()  # as the analysis does after a rank-changing reshape
    else:
        field = layer.receptive_field(fields)
    cropped = (name == "center_crop" and layer.out_shape != layer.in_shape) or (
        name in ("dropout", "identity") and inputs[0].cropped)
    return Value(call(name, args), tuple(layer.out_shape), field, cropped)


def per_axis(draw: Any, rank: int, lo: int, hi: int) -> int | list[int]:
    """One integer for every axis, or a list with one per axis."""
    if rank > 1 and draw(st.booleans()):
        return [draw(st.integers(lo, hi)) for _ in range(rank)]
    return draw(st.integers(lo, hi))


def padding_arg(draw: Any, rank: int, top: int) -> Any:
    choice = draw(st.sampled_from(["int", "int", "same", "valid", "pairs"]))
    if choice == "int":
        return draw(st.integers(0, top))
    if choice == "pairs":
        return [[draw(st.integers(0, top)), draw(st.integers(0, top))] for _ in range(rank)]
    return choice


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def layer_args(draw: Any, name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """Random (not always valid) arguments of a layer for an input shape."""
    rank, channels = len(shape) - 1, shape[0]
    maybe = lambda: draw(st.booleans())  # noqa: E731
    if name in ("conv", "conv_transpose"):
        groups = draw(st.sampled_from(divisors(channels))) if maybe() else 1
        args: dict[str, Any] = {"channels": groups * draw(st.integers(1, max(1, 6 // groups))),
                                "kernel": per_axis(draw, rank, 1, 4)}
        if maybe():
            args["stride"] = per_axis(draw, rank, 1, 3)
        if name == "conv":
            args["padding"] = padding_arg(draw, rank, 2)
        elif maybe():
            args["padding"] = draw(st.integers(0, 2)) if maybe() else [
                [draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(rank)]
        if maybe():
            args["dilation"] = per_axis(draw, rank, 1, 2)
        if name == "conv_transpose" and maybe():
            args["output_padding"] = draw(st.integers(0, 1))
        if groups > 1:
            args["groups"] = groups
        if maybe():
            args["bias"] = maybe()
        return args
    if name == "depthwise_conv":
        args = {"kernel": per_axis(draw, rank, 1, 4), "padding": padding_arg(draw, rank, 2)}
        if maybe():
            args["stride"] = per_axis(draw, rank, 1, 2)
        if maybe():
            args["dilation"] = per_axis(draw, rank, 1, 2)
        if maybe():
            args["multiplier"] = draw(st.integers(1, 2))
        return args
    if name in ("maxpool", "avgpool"):
        kernel = draw(st.integers(1, 3))
        args = {"kernel": kernel}
        if maybe():
            args["stride"] = draw(st.sampled_from([None, 1, 2, 3]))
        if maybe():
            args["padding"] = padding_arg(draw, rank, kernel // 2)
        if maybe():
            args["ceil_mode"] = maybe()
        if name == "maxpool" and maybe():
            args["dilation"] = draw(st.integers(1, 2))
        if name == "avgpool" and maybe():
            args["count_include_pad"] = maybe()
        return args
    if name in ("adaptive_avgpool", "adaptive_maxpool"):
        return {"size": per_axis(draw, rank, 1, 4)}
    if name == "channel_maxpool":
        return {"kernel": draw(st.integers(1, 3)), "stride": draw(st.sampled_from([None, 1, 2]))}
    if name == "spp":
        levels = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
        return {"levels": levels, "mode": draw(st.sampled_from(["max", "avg"]))}
    if name == "upsample":
        mode = draw(st.sampled_from(["nearest", "linear"]))
        if maybe():
            return {"scale": per_axis(draw, rank, 1, 3), "mode": mode}
        return {"size": [draw(st.integers(n, 2 * n + 1)) for n in shape[1:]], "mode": mode}
    if name == "center_crop":
        return {"size": [draw(st.integers(1, n)) for n in shape[1:]]}
    if name == "lrn":
        return {"size": draw(st.integers(1, 5))}
    if name == "leaky_relu":
        return {"slope": draw(st.sampled_from([0.01, 0.2]))}
    if name == "softmax":  # not along an axis of size 1 (its output is constant 1)
        axes = [a for a in range(-rank - 1, rank + 1) if shape[a] > 1]
        return {"axis": draw(st.sampled_from(axes))} if axes else {"axis": rank + 1}  # invalid
    if name == "dropout":
        return {"p": draw(st.sampled_from([0.0, 0.25, 0.5]))}
    if name == "stochastic_depth":
        return {"p": draw(st.sampled_from([0.0, 0.25, 0.5])),
                "mode": draw(st.sampled_from(["row", "batch"]))}
    if name in ("groupnorm", "channel_shuffle"):
        return {"groups": draw(st.sampled_from(divisors(channels)))}
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        return {"factor": draw(st.integers(1, 3))}
    if name == "pad":
        return {"padding": draw(st.integers(0, 2)) if maybe() else [
            [draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(rank)],
            "mode": draw(st.sampled_from(["zeros", "reflect", "replicate"]))}
    if name == "linear":
        args = {"features": draw(st.integers(1, 8))}
        if maybe():
            args["bias"] = maybe()
        return args
    if name == "reshape":
        total = numel(shape)
        options = [[-1], [total, 1], [1, -1]] + [[d, -1] for d in divisors(total)[1:4]]
        if rank == 0:
            options.append([total, 1, 1])
        return {"shape": draw(st.sampled_from(options))}
    return {}


SPATIAL_LAYERS = drawn(lambda ranks: any(r > 0 for r in ranks))
FLAT_LAYERS = drawn(lambda ranks: 0 in ranks)


def random_layer(draw: Any, value: Value, keep: str = "") -> Value | None:
    """One random layer applied to `value` (None if the draw was invalid). `keep`:
    "shape" or "spatial" (and the same stride) to keep the input's, for branches."""
    names = SPATIAL_LAYERS if value.rank else FLAT_LAYERS
    name = draw(st.sampled_from(names))
    out = apply(name, layer_args(draw, name, value.shape), [value])
    if out is None:
        return None
    if keep == "shape" and out.shape != value.shape:
        return None
    if keep and (out.shape[1:] != value.shape[1:] or len(out.shape) != len(value.shape)
                 or out.field.stride != value.field.stride or out.field.is_global):
        return None
    return out


def random_chain(draw: Any, value: Value, length: int, keep: str = "") -> tuple[list[str], Value]:
    """Up to `length` layers after `value`: their texts and the last value."""
    steps: list[str] = []
    for _ in range(length):
        out = random_layer(draw, value, keep)
        if out is not None:
            steps.append(out.text)
            value = out
    return steps, value


def branch(start: str, steps: list[str]) -> str:
    """A merge branch: `identity`, or a chain from the merge's input (or a named value)."""
    return " -> ".join(([start] if start else []) + steps) if steps or start else "identity"


def random_merge(draw: Any, value: Value) -> Value | None:
    """add, mul or concat of two or three branches from `value`."""
    op = draw(st.sampled_from(MERGES))
    count = draw(st.integers(2, 3))
    keep = "spatial" if op == "concat" else "shape"
    branches, ins = [], []
    for _ in range(count):
        if op == "mul" and value.rank and draw(st.integers(0, 3)) == 0:  # an SE-style gate
            gate = apply("global_avgpool", {}, [value])
            conv = gate and apply("conv", {"channels": value.shape[0], "kernel": 1}, [gate])
            sig = conv and apply("sigmoid", {}, [conv])
            if sig is None:
                return None
            branches.append(branch("", ["global_avgpool", conv.text, "sigmoid"]))
            ins.append(sig)
            continue
        steps, out = random_chain(draw, value, draw(st.integers(0, 2)), keep)
        branches.append(branch("", steps))
        ins.append(out)
    merged = apply(op, {}, ins)
    if merged is None or not aligned(ins):
        return None
    return Value(f"{op}({', '.join(branches)})", merged.shape, merged.field)


def aligned(values: list[Value]) -> bool:
    """Whether local branches step alike (else the merge is an error by design)."""
    return len({v.field.stride for v in values if not v.field.is_global}) <= 1


def random_skip(draw: Any, start: Value, name: str, lines: list[str]) -> Value:
    """`name = start`, a path from it (down and up, U-Net style, or any layers), and the
    two merged, the skip cropped to the path's size when it is larger."""
    lines.append(f"{name} = {start.text}")
    skip = Value(name, start.shape, start.field, start.cropped)
    if skip.rank and draw(st.booleans()):
        down = apply("maxpool", {"kernel": 2}, [skip])
        mid = down and random_chain(draw, down, 2, keep="spatial")
        up = mid and apply("conv_transpose", {"channels": draw(st.integers(1, 4)), "kernel": 2,
                                              "stride": 2}, [mid[1]])
        if up is None:
            return skip
        steps = [down.text, *mid[0], up.text]
        path = up
    else:
        steps, path = random_chain(draw, skip, draw(st.integers(1, 3)))
    lines.append(f"{name}_path = {name} -> {' -> '.join(steps)}" if steps else f"{name}_path = {name}")
    path = Value(f"{name}_path", path.shape, path.field, path.cropped)
    left = skip
    if skip.rank and path.rank == skip.rank and skip.shape[1:] != path.shape[1:] and all(
            a >= b for a, b in zip(skip.shape[1:], path.shape[1:])):
        crop = apply("center_crop", {"size": list(path.shape[1:])}, [skip])
        left = Value(f"{name} -> {crop.text}", crop.shape, crop.field) if crop else skip
    op = draw(st.sampled_from(["concat", "add"]))
    merged = apply(op, {}, [left, path])
    if merged is None or not aligned([left, path]):
        return path
    return Value(f"{op}({left.text}, {path.text})", merged.shape, merged.field)


@st.composite
def networks(draw: Any) -> str:
    """The text of a random valid network."""
    rank = draw(st.sampled_from([0, 1, 2, 2, 2, 3]))
    top = {0: 40, 1: 40, 2: 17, 3: 7}[rank]
    shape = (draw(st.integers(1, 5)), *[draw(st.integers(2, top)) for _ in range(rank)])
    inputs = ["x"] + (["y"] if draw(st.integers(0, 5)) == 0 else [])
    lines = [f"    input {name}: {render(list(shape))}" for name in inputs] + [""]
    value = Value("x", shape, Field.unit(rank))
    if len(inputs) == 2:  # two inputs, each through its own layer, merged
        a = random_chain(draw, value, 1, keep="shape")
        b = random_chain(draw, Value("y", shape, value.field), 1, keep="shape")
        op = draw(st.sampled_from(["add", "concat", "mul"]))
        merged = apply(op, {}, [a[1], b[1]])
        assume(merged is not None and aligned([a[1], b[1]]))
        value = Value(f"{op}({branch('x', a[0])}, {branch('y', b[0])})", merged.shape,
                      merged.field)
    chain: list[str] = [value.text]
    for i in range(draw(st.integers(3, 10))):
        what = draw(st.sampled_from(["layer", "layer", "layer", "merge", "skip"]))
        if what == "skip":
            value = random_skip(draw, Value(" -> ".join(chain), value.shape, value.field,
                                            value.cropped), f"v{i}", lines)
            chain = [value.text]
            continue
        out = random_layer(draw, value) if what == "layer" else random_merge(draw, value)
        if out is not None:
            chain.append(out.text)
            value = out
    if len(chain) == 1:  # not just the input
        chain.append(draw(st.sampled_from(ACTIVATIONS)))
    lines.append("    " + " -> ".join(chain))
    return "network random() {\n" + "\n".join(
        line if line.startswith("    ") or not line else "    " + line for line in lines) + "\n}\n"


def describe(checks: list) -> str:
    return "\n".join(f"  {c.name}: static {c.static}, measured {c.measured} {c.detail}"
                     for c in checks)


@settings(max_examples=50, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(networks())
def test_random_network_static_equals_measured(text: str) -> None:
    graph = netdsl.loads(text, "random.net").graph()
    ops = {layer.op for _, layer in graph.nodes(data="layer")}
    event(f"{len(graph.graph['inputs'])} input(s) of rank "
          f"{len(next(iter(input_shapes(graph)))) - 1}")
    event(f"{(len(graph) - 1) // 10 * 10}+ nodes")
    event("merges" if ops & {"add", "mul", "concat"} else "no merge")
    failed = [c for c in verify(graph, batch=2) if not c.ok]
    # a network constant by arithmetic has no measurable field there; nothing to compare
    assume(not failed or not all(c.kind == "fields" and constant_output(graph, field_node(c))
                                 for c in failed))
    assert not failed, f"\n{text}\n{describe(failed)}"


def field_node(check: Any) -> str:
    """The node a receptive-field check is about ("receptive field of <node> (...)")."""
    return check.name.removeprefix("receptive field of ").split(" (", 1)[0]


def constant_output(graph: Any, node: str) -> bool:
    """Whether `node` computes a constant: the same output (to rounding) for two different
    inputs of the receptive-field measurement's kind.

    The generator can write such a network by accident: `concat(identity, identity) ->
    layernorm` normalises two equal channels to their bias. Its output then depends on
    no input, by arithmetic rather than by structure, which no static analysis of the
    structure sees (the static field is where the output *may* look). Whether the
    measurement sees a gradient of exactly 0 or of ~1e-14 is then a matter of rounding,
    so such an example is not a test of the receptive field.
    """
    model = field_model(prefix_graph(graph, [node]))
    gen = torch.Generator().manual_seed(1)
    shapes = input_shapes(prefix_graph(graph, [node]))
    outs = []
    for _ in range(2):  # positive inputs scaled by 1e-3, as `measure_fields` draws them
        xs = [(torch.rand(1, *s, generator=gen, dtype=torch.float64) + 0.5) * 1e-3
              for s in shapes]
        outs.append(model(*xs))
    a, b = outs
    return bool((a - b).abs().max() <= 1e-9 * max(a.abs().max().item(), 1e-300))


@pytest.mark.parametrize("name", [n for n in REGISTRY if n not in MERGES and n not in SEVERAL])
def test_the_generator_calls_every_layer_validly(name: str) -> None:
    """A layer the generator never calls validly would silently go unfuzzed: on the input
    shapes of its conformance examples, `layer_args` must give it valid arguments."""
    shapes = [example.inputs[0] for example in REGISTRY[name].examples]

    @st.composite
    def called(draw: Any) -> Value | None:
        shape = draw(st.sampled_from(shapes))
        value = Value("x", shape, Field.unit(len(shape) - 1))
        return apply(name, layer_args(draw, name, shape), [value])

    find(called(), lambda v: v is not None, settings=settings(max_examples=300, database=None))


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_issue_stays_fixed(name: str) -> None:
    """Each issue these tests once found, reproduced: static equals measured now."""
    graph = netdsl.loads(FOUND[name][0], "found.net").graph()
    failed = [c for c in verify(graph, batch=2) if not c.ok]
    assert not failed, describe(failed)



@pytest.mark.parametrize("tail, constant", [
    ("concat(identity, identity) -> layernorm", True),  # two equal channels: their bias
    ("concat(identity, identity) -> layernorm -> conv(3, 3)", True),
    ("concat(identity, relu) -> layernorm", True),  # relu of a positive input: equal too
    ("concat(identity, sigmoid) -> layernorm", False),
    ("conv(2, 3) -> layernorm", False),
    ("global_avgpool -> flatten -> linear(4)", False),
])
def test_constant_output_tells_constant_networks(tail: str, constant: bool) -> None:
    """The random test sets aside examples constant by arithmetic (`constant_output`); a
    network whose output moves with its input must never be set aside."""
    graph = netdsl.loads(f"network n() {{\n input x: [1, 6, 6]\n x -> {tail}\n}}\n",
                         "n.net").graph()
    assert constant_output(graph, graph.graph["outputs"][0]) is constant


#: Neighbours of "3-D transposed conv to fewer elements": input shape, kernel, padding, tail.
TRANSPOSED = [("[2, 2, 2, 2]", 1, 0, ""), ("[2, 2, 2, 2]", 1, 0, " -> relu"),
              ("[2, 2, 2, 2]", 2, 1, " -> relu -> relu"), ("[4, 3, 3, 3]", 1, 0, " -> relu"),
              ("[4, 3, 3, 3]", 3, 1, " -> conv(2, 1)"), ("[3, 2, 3, 4]", [1, 2, 1], 0, ""),
              ("[2, 2, 2, 2]", 2, 0, " -> relu"),  # the output is larger: a plain conv
              ("[2, 2, 2]", 1, 0, " -> relu -> relu"), ("[4, 5]", 1, 0, " -> relu")]


@pytest.mark.parametrize(("shape", "kernel", "padding", "tail"), TRANSPOSED)
def test_transposed_conv_output_storage(shape: str, kernel: Any, padding: int,
                                        tail: str) -> None:
    """A transposed conv (1-D, 2-D, 3-D) whose output has fewer elements than its input,
    with and without padding and consumers: the measured peak at batch 1 is the static one
    at every step, and the lowered output owns a storage of its own size."""
    text = (f"network r() {{\n    input x: {shape}\n\n    x -> conv_transpose(channels = 1, "
            f"kernel = {render(kernel)}, padding = {padding}){tail}\n}}\n")
    graph = netdsl.loads(text, "transposed.net").graph()
    failed = [c for c in verify(graph, batch=2, fields=False) if not c.ok]
    assert not failed, describe(failed)
    node = next(n for n in graph if n.startswith("conv_transpose"))
    layer = graph.nodes[node]["layer"]
    module = netdsl.build(graph).eval()
    with torch.no_grad():
        out = module.get_submodule(node)(torch.randn(1, *layer.in_shape))
    assert out.untyped_storage().nbytes() == out.nbytes


# --------------------------------------------------------------------- broken text
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\"[^\"\n]*\"|->|//|\*\*|"
                   r"[=!<>]=|\n|[^\sA-Za-z0-9_]")
NUMBER = re.compile(r"\d")
NAME = re.compile(r"[A-Za-z_]")
CORPUS = {p.name: p.read_text() for p in sorted((ROOT / "specs").glob("*.net"))
          if p.stem in ("lenet5", "resnet18", "unet", "googlenet", "mobilenet_v2", "yolo_tiny",
                        "vgg16", "conv1d_signal")}


def tokens(text: str) -> list[re.Match]:
    return list(TOKEN.finditer(text))


@st.composite
def mutants(draw: Any) -> tuple[str, str]:
    """(path, text): a valid spec with one to three random mutations."""
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(CORPUS)))
        path, text = str(ROOT / "specs" / name), CORPUS[name]
    else:
        path, text = str(ROOT / "random.net"), draw(networks())
    for _ in range(draw(st.integers(1, 3))):
        text = mutate(draw, text)
    return path, text


def mutate(draw: Any, text: str) -> str:
    found = tokens(text)
    if not found:
        return text
    kind = draw(st.sampled_from(["delete", "duplicate", "swap", "numbers", "number", "name",
                                 "punctuation"]))
    numbers = [m for m in found if NUMBER.match(m.group())]
    names = [m for m in found if NAME.match(m.group())]
    pick = lambda ms: ms[draw(st.integers(0, len(ms) - 1))]  # noqa: E731
    if kind == "numbers" and len(numbers) >= 2:
        a, b = sorted((pick(numbers), pick(numbers)), key=lambda m: m.start())
        if a.start() == b.start():
            return text
        return (text[:a.start()] + b.group() + text[a.end():b.start()] + a.group()
                + text[b.end():])
    if kind == "number" and numbers:
        m = pick(numbers)
        new = draw(st.sampled_from(["0", "-1", "1", "2.5", "99999", "1e9", "3"]))
        return text[:m.start()] + new + text[m.end():]
    if kind == "name" and names:
        m = pick(names)
        word = m.group()
        new = draw(st.sampled_from([word[:-1] or "q", word + "x", "undefined_name", "in", "identity",
                                    "network", "block", "true", "relu", "input"]))
        return text[:m.start()] + new + text[m.end():]
    m = pick(found)
    if kind == "delete":
        return text[:m.start()] + text[m.end():]
    if kind == "duplicate":
        return text[:m.end()] + " " + m.group() + text[m.end():]
    if kind == "punctuation":
        stray = draw(st.sampled_from(["(", ")", "[", "]", "{", "}", ",", "=", "->", ".", ":", "#"]))
        return text[:m.start()] + stray + text[m.start():]
    index = found.index(m)
    if index + 1 < len(found):  # swap with the next token
        n = found[index + 1]
        return text[:m.start()] + n.group() + text[m.end():n.start()] + m.group() + text[n.end():]
    return text


def small(report: Any) -> bool:
    """Whether a still-valid mutant is cheap enough to run. The activations count too: a
    mutated stride (a transposed conv's 99999) gives a huge output from few MACs."""
    totals = report.totals
    return (totals.params < 2_000_000 and totals.macs < 50_000_000
            and totals.inference_peak_bytes < 256 << 20
            and all(math.prod(shape) < 100_000 for shape in report.inputs.values()))


def test_small_counts_the_activations() -> None:
    """A mutant found by a long run: 32 MACs, but an 80 GB output (it ran out of memory)."""
    text = ("network r() {\n    input x: [1, 2, 2]\n\n"
            "    x -> conv_transpose(channels = 2, kernel = 2, stride = 99999)\n}\n")
    report = netdsl.loads(text, "r.net").analyze()
    assert report.totals.macs < 50_000_000 and not small(report)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(mutants())
def test_broken_text_gives_a_located_error(mutant: tuple[str, str]) -> None:
    path, text = mutant
    try:
        spec = netdsl.loads(text, path)
        report = spec.analyze()
    except NetdslError as exc:
        event("a located error")
        assert exc.span is not None, f"no location for: {exc.render()}\n--- text:\n{text}"
        assert exc.render()  # renders without raising
        return
    event("still valid")
    if small(report):  # still valid: it must also lower and run
        model = netdsl.build(spec.graph())
        with torch.no_grad():
            model.eval()(*[torch.zeros(1, *s) for s in report.inputs.values()])
