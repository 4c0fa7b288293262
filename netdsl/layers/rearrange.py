"""Moving elements without arithmetic: channel shuffle, pixel (un)shuffle, padding, and
the channel splits chunk and split (layers that give several tensors)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from netdsl.layers.base import (
    SAVE_INPUT,
    Arg,
    Example,
    Field,
    Layer,
    LayerError,
    Saved,
    Shape,
    as_number,
    choice,
    int_list,
    padding,
    positive,
)
from netdsl.layers.geometry import format_axes
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register


class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: the channels, seen as `groups` x (C / groups), are
    transposed, so that each group's channels are interleaved with the others'.

    A copy (the transposed view made contiguous): allocates N_out, saves nothing, no
    ops; with one group, or one channel per group, it is the identity (its input).
    Pointwise field.
    """

    __slots__ = ("groups",)

    @property
    def is_view(self) -> bool:  # type: ignore[override]
        """One group, or groups of one channel: nothing moves (the module returns x)."""
        return self.groups in (1, self.in_shape[0])

    def configure(self, args: dict[str, Any]) -> None:
        self.groups = args["groups"]
        if self.in_shape[0] % self.groups:
            raise LayerError(f"groups={self.groups} must divide the {self.in_shape[0]} channels",
                             "groups")

    def describe(self) -> str:
        return f"groups={self.groups}"

    def torch_recipe(self) -> Recipe:
        return recipe("ChannelShuffle", self.groups)


class PixelShuffle(Layer):
    """Depth to space (Shi et al. 2016): [C * r^2, H, W] to [C, H * r, W * r]
    (nn.PixelShuffle).

    A copy: allocates N_out, saves nothing, no ops. The stride of the field is divided
    by r, like nearest up-sampling (output i reads input floor(i / r)), which makes the
    field inexact after a strided layer.
    """

    __slots__ = ("factor",)

    def configure(self, args: dict[str, Any]) -> None:
        self.factor = r = args["factor"]
        if self.in_shape[0] % (r * r):
            raise LayerError(f"pixel_shuffle({r}) needs the channels ({self.in_shape[0]}) "
                             f"divisible by {r * r}", "factor")

    def infer_shape(self) -> Shape:
        c, *sizes = self.in_shape
        r = self.factor
        return (c // (r * r), *(n * r for n in sizes))

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        f, r = fields[0], self.factor
        stride = tuple(as_number(Fraction(s) / r) for s in f.stride)
        return Field(f.size, stride, f.padding, f.is_global, f.exact and r == 1)

    def describe(self) -> str:
        return f"factor={self.factor}"

    def torch_recipe(self) -> Recipe:
        return recipe("nn.PixelShuffle", self.factor)


class PixelUnshuffle(Layer):
    """Space to depth, the inverse of pixel_shuffle: [C, H, W] to [C * r^2, H / r, W / r]
    (nn.PixelUnshuffle). A copy: allocates N_out, saves nothing, no ops. Its field is an
    r x r window at stride r."""

    __slots__ = ("factor",)

    def configure(self, args: dict[str, Any]) -> None:
        self.factor = r = args["factor"]
        if any(n % r for n in self.in_shape[1:]):
            raise LayerError(f"pixel_unshuffle({r}) needs the sizes "
                             f"{format_axes(self.in_shape[1:])} divisible by {r}", "factor")

    def infer_shape(self) -> Shape:
        c, *sizes = self.in_shape
        r = self.factor
        return (c * r * r, *(n // r for n in sizes))

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        rank = self.spatial_rank
        return fields[0].window([self.factor] * rank, [self.factor] * rank, [0] * rank)

    def describe(self) -> str:
        return f"factor={self.factor}"

    def torch_recipe(self) -> Recipe:
        return recipe("nn.PixelUnshuffle", self.factor)


class Pad(Layer):
    """Explicit padding of the spatial axes: zeros, or the input mirrored at its edge
    (`reflect`, the edge not repeated) or repeated (`replicate`) (F.pad).

    Allocates N_out, no ops. Zero padding saves nothing; reflect and replicate save
    their input (PyTorch's backward reads it). Field: the window of a 1-wide kernel with
    the begin padding; for reflect and replicate the outputs in the padding read the
    input near its edge instead, so their field is marked inexact.
    """

    __slots__ = ("pads", "mode")

    def configure(self, args: dict[str, Any]) -> None:
        pads, self.mode = args["padding"], args["mode"]
        if isinstance(pads, str):
            raise LayerError('pad() takes sizes, not "same" or "valid"', "padding")
        self.pads: tuple[tuple[int, int], ...] = pads
        for (begin, end), n in zip(self.pads, self.in_shape[1:]):
            if self.mode == "reflect" and max(begin, end) >= n:
                raise LayerError(f"reflect padding must be smaller than the size {n}, "
                                 f"got {max(begin, end)}", "padding")

    def infer_shape(self) -> Shape:
        sizes = (n + b + e for n, (b, e) in zip(self.in_shape[1:], self.pads))
        return (self.in_shape[0], *sizes)

    def saved(self) -> tuple[Saved, ...]:
        return () if self.mode == "zeros" else (SAVE_INPUT,)

    def field_rule(self) -> tuple:
        """The begin padding, and whether the field stays exact (zeros, or no padding)."""
        padded = any(b or e for b, e in self.pads)
        return ("pad", tuple(b for b, _ in self.pads), self.mode == "zeros" or not padded)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        _, begins, stays_exact = self.field_rule()
        f = fields[0].window([1] * self.spatial_rank, [1] * self.spatial_rank, begins)
        return f._replace(exact=f.exact and stays_exact)

    def describe(self) -> str:
        return "p=" + ",".join(f"{b}/{e}" for b, e in self.pads) + f", {self.mode}"

    def torch_recipe(self) -> Recipe:
        flat = tuple(p for pair in reversed(self.pads) for p in pair)  # F.pad: last axis first
        if self.mode == "zeros":
            return recipe("Pad", flat)
        return recipe("ModePad", flat, self.mode)


class ChannelSplit(Layer):
    """A split of the channels into parts (a layer that gives several tensors). The
    whole layer only checks the arguments; `parts()` gives one layer per tensor (a
    `ChannelSlice`), which is what the graph holds."""

    __slots__ = ("sizes", "_parts")

    def configure(self, args: dict[str, Any]) -> None:
        self.sizes = self.part_sizes(args)
        self._parts: tuple[Layer, ...] | None = None

    def part_sizes(self, args: dict[str, Any]) -> tuple[int, ...]:
        """The channels of each part, validated against the input."""
        raise NotImplementedError

    def parts(self) -> tuple[Layer, ...]:
        """One `ChannelSlice` layer per part, in channel order."""
        if self._parts is None:
            starts = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
            self._parts = tuple(
                ChannelSlice(self.op, {"start": s, "length": n, "part": i,
                                       "count": len(self.sizes)}, self.in_shapes)
                for i, (s, n) in enumerate(zip(starts, self.sizes)))
        return self._parts

    def describe(self) -> str:
        return f"{list(self.sizes)}"


class Chunk(ChannelSplit):
    """`chunk(n)`: n equal parts of the channels (torch.chunk)."""

    __slots__ = ()

    def part_sizes(self, args: dict[str, Any]) -> tuple[int, ...]:
        c, n = self.in_shape[0], args["n"]
        if c % n:
            raise LayerError(f"chunk({n}) needs the channels ({c}) divisible by {n}", "n")
        return (c // n,) * n

    def describe(self) -> str:
        return f"{len(self.sizes)}"


class Split(ChannelSplit):
    """`split(sizes)`: parts of the channels of the given sizes (torch.split)."""

    __slots__ = ()

    def part_sizes(self, args: dict[str, Any]) -> tuple[int, ...]:
        sizes, c = args["sizes"], self.in_shape[0]
        if sum(sizes) != c:
            raise LayerError(f"split sizes {list(sizes)} add up to {sum(sizes)}, not the {c} "
                             "channels", "sizes")
        return sizes


class ChannelSlice(Layer):
    """One part of a channel split: channels start .. start + length - 1 of the input.

    A view (`x.narrow(1, start, length)`, what torch.chunk and torch.split return):
    allocates nothing, saves nothing, no ops; keeps its input alive while it is used.
    Pointwise field.
    """

    __slots__ = ("start", "length", "part", "count")
    is_view = True

    def configure(self, args: dict[str, Any]) -> None:
        self.start, self.length = args["start"], args["length"]
        self.part, self.count = args["part"], args["count"]

    def infer_shape(self) -> Shape:
        return (self.length, *self.in_shape[1:])

    def describe(self) -> str:
        return f"channels {self.start}..{self.start + self.length - 1}, part={self.part}"

    def torch_recipe(self) -> Recipe:
        return recipe("Narrow", 1, self.start, self.length)


register("channel_shuffle", ChannelShuffle, (Arg("groups", positive),), ranks=(1, 2, 3),
         examples=(Example(((6, 5, 4),), {"groups": 2}), Example(((12, 7),), {"groups": 3}),
                   Example(((4, 2, 3, 3),), {"groups": 4}), Example(((4, 3),), {"groups": 1})),
         doc="interleave the channels of `groups` groups (ShuffleNet)",
         rules=Rules(allocates="`N_out` (a copy); 0 with one group or one channel per group "
                               "(the identity)"))
register("pixel_shuffle", PixelShuffle, (Arg("factor", positive),), ranks=(2,), examples=(
    Example(((8, 3, 5),), {"factor": 2}), Example(((18, 2, 3),), {"factor": 3}),
), doc="depth to space: `[C * r^2, H, W]` to `[C, H * r, W * r]`",
    rules=Rules(shape="`[C / r^2, H * r, W * r]`", allocates="`N_out` (a copy)",
                field="`S' = S / r`, `R` and `P` kept (output `i` reads input "
                      "`floor(i / r)`); inexact after a strided layer, like nearest "
                      "up-sampling"))
register("pixel_unshuffle", PixelUnshuffle, (Arg("factor", positive),), ranks=(2,), examples=(
    Example(((2, 6, 4),), {"factor": 2}), Example(((3, 6, 9),), {"factor": 3}),
), doc="space to depth: `[C, H, W]` to `[C * r^2, H / r, W / r]`",
    rules=Rules(shape="`[C * r^2, H / r, W / r]`", allocates="`N_out` (a copy)",
                field="window: `r`, stride `r`, no padding"))
register("pad", Pad, (
    Arg("padding", padding, doc="an int, one per axis, or [begin, end] pairs"),
    Arg("mode", choice("zeros", "reflect", "replicate"), "zeros"),
), ranks=(1, 2, 3), examples=(
    Example(((3, 5, 4),), {"padding": 1}),
    Example(((3, 5, 4),), {"padding": [[0, 1], [2, 1]], "mode": "reflect"}),
    Example(((2, 6),), {"padding": 2, "mode": "replicate"}),
    Example(((2, 3, 4, 5),), {"padding": [1, 0, [0, 2]], "mode": "replicate"}),
), doc="explicit padding (an int, one per axis, or `[begin, end]` pairs); `mode` is "
       "`zeros`, `reflect` or `replicate`",
    rules=Rules(shape="`[C, n + p_b + p_e ...]`",
                saved="`zeros`: nothing; `reflect`, `replicate`: its input",
                field="a window of size 1 with the begin padding; `reflect` and `replicate` "
                      "read the edge from the padding, so their field is inexact"))
_PARTS = Rules(shape="one node per part: `[size of the part, n...]`",
               allocates="0 (each part is a view of the input, which stays alive while a "
                         "part is used)")
register("chunk", Chunk, (Arg("n", positive, doc="number of equal parts"),), examples=(
    Example(((6, 5, 4),), {"n": 2}), Example(((12,),), {"n": 3}),
), doc="`n` equal parts of the channels: a list of tensors", rules=_PARTS)
register("split", Split, (Arg("sizes", int_list, doc="channels of each part"),),
         examples=(Example(((6, 5, 4),), {"sizes": [1, 3, 2]}),
                   Example(((7, 3),), {"sizes": [4, 3]})),
         doc="parts of the channels of the given sizes: a list of tensors", rules=_PARTS)
