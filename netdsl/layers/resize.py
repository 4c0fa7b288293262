"""Changing the spatial size without weights: upsample (nearest, linear) and centre crop."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from netdsl.layers.base import (
    Arg,
    Example,
    Field,
    Layer,
    LayerError,
    Shape,
    as_number,
    choice,
    numel,
    optional,
    per_axis,
    positive,
)
from netdsl.layers.geometry import (
    format_axes,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


class Upsample(Layer):
    """Nearest or (bi/tri)linear up-sampling by an integer `scale` or to a fixed `size`.

    Linear modes use align_corners=false (PyTorch's default). other_ops: 2^rank
    interpolation taps per output element for linear modes, 0 for nearest.
    Saves nothing. The effective stride of the field is divided by the scale.
    """

    __slots__ = ("mode", "size")

    def configure(self, args: dict[str, Any]) -> None:
        mode = args["mode"]
        if mode in ("bilinear", "trilinear", "linear"):
            if mode != "linear" and mode != _LINEAR[self.spatial_rank]:
                rank = next(r for r, name in _LINEAR.items() if name == mode)
                raise LayerError(f'mode "{mode}" needs an input with {rank} spatial axes, got '
                                 f'{list(self.in_shape)}; "linear" works for any rank', "mode")
            mode = "linear"
        self.mode = mode
        scale, size = args["scale"], args["size"]
        if (scale is None) == (size is None):
            raise LayerError("upsample() takes exactly one of scale and size", "scale")
        self.size = size or tuple(n * s for n, s in zip(self.in_shape[1:], scale))

    def infer_shape(self) -> Shape:
        return (self.in_shape[0], *self.size)

    def scales(self) -> tuple[Fraction, ...]:
        """Output size over input size, per axis."""
        return tuple(Fraction(o, n) for o, n in zip(self.size, self.in_shape[1:]))

    def other_ops(self) -> int:
        return numel(self.out_shape) * (2 ** self.spatial_rank) if self.mode == "linear" else 0

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        f = fields[0]
        size, stride, pad = [], [], []
        for r, jump, p, s in zip(f.size, f.stride, f.padding, self.scales()):
            taps = 2 if self.mode == "linear" and s != 1 else 1
            size.append(r + (taps - 1) * jump)
            stride.append(as_number(Fraction(jump / s)))
            # linear: source coordinate (i + 1/2)/s - 1/2, its floor is the first tap
            shift = (Fraction(1, 2) - Fraction(1, 2) / s) * jump if taps == 2 else 0
            pad.append(as_number(Fraction(p + shift)))
        # exact only where every output reads the same pattern: no resampling, or nearest
        # down-sampling by a whole factor
        exact = f.exact and all(s == 1 or (self.mode == "nearest" and (1 / s).denominator == 1)
                                for s in self.scales())
        return Field(tuple(size), tuple(stride), tuple(pad), f.is_global, exact)

    def describe(self) -> str:
        return f"size={format_axes(self.size)}, {self.mode}"

    def torch_recipe(self) -> Recipe:
        if self.mode == "nearest":
            return recipe("nn.Upsample", size=self.size, mode="nearest")
        return recipe("nn.Upsample", size=self.size, mode=_LINEAR[self.spatial_rank],
                      align_corners=False)


class CenterCrop(Layer):
    """Crop the centre `size` of every spatial axis (U-Net's skip connections).

    The crop starts at floor((n - size) / 2). The result is a tensor of its own (a copy),
    not a view: a view would keep the whole input alive, and flattening a strided view
    copies anyway. Saves nothing for backward.
    """

    __slots__ = ("size",)

    def configure(self, args: dict[str, Any]) -> None:
        self.size = args["size"]
        for n, s in zip(self.in_shape[1:], self.size):
            if s > n:
                raise LayerError(f"cannot crop {list(self.size)} out of {list(self.in_shape[1:])}",
                                 "size")

    def infer_shape(self) -> Shape:
        return (self.in_shape[0], *self.size)

    def offsets(self) -> tuple[int, ...]:
        """First kept index per spatial axis."""
        return tuple((n - s) // 2 for n, s in zip(self.in_shape[1:], self.size))

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        f = fields[0]
        pad = tuple(p - o * j for p, o, j in zip(f.padding, self.offsets(), f.stride))
        return Field(f.size, f.stride, pad, f.is_global, f.exact)

    def describe(self) -> str:
        return f"size={format_axes(self.size)}"

    def torch_recipe(self) -> Recipe:
        return recipe("Crop", self.offsets(), self.size, copy=True)


register("upsample", Upsample, (
    Arg("scale", optional(per_axis(positive)), None, doc="integer factor, or one per axis"),
    Arg("size", optional(per_axis(positive)), None, doc="output size, or one per axis"),
    Arg("mode", choice("nearest", "linear", "bilinear", "trilinear"), "nearest"),
), ranks=(1, 2, 3), examples=(
    Example(((3, 5, 4),), {"scale": 2}),
    Example(((3, 5, 4),), {"scale": 2, "mode": "bilinear"}),
    Example(((2, 7, 6),), {"size": [16, 13], "mode": "bilinear"}),
    Example(((2, 9),), {"scale": 3, "mode": "linear"}),
    Example(((2, 3, 4, 5),), {"scale": 2}),
),
    doc="resize by an integer `scale` or to a `size` (exactly one of them); `mode` is `nearest` "
        "or `linear` (`bilinear` for 2-D, `trilinear` for 3-D inputs are synonyms), "
        "align-corners false",
    rules=Rules(shape="`[C, n * scale ...]` or `[C, size...]`",
                other_ops="`N_out * 2^r` for `linear` modes, 0 for `nearest`",
                field="per axis with scale `c = o / n`: `S' = S / c`; `nearest` (or `c = 1`): "
                      "`R' = R`, `P' = P`; `linear`: two taps, `R' = R + S`, `P' = P + (1/2 - "
                      "1/(2c)) * S` (align-corners false)"))
register("center_crop", CenterCrop, (Arg("size", per_axis(positive)),), ranks=(1, 2, 3), examples=(
    Example(((3, 10, 9),), {"size": 6}),
    Example(((2, 9, 12),), {"size": [4, 7]}),
    Example(((2, 11),), {"size": 4}),
),
    doc="the centre `size` of each spatial axis, starting at `floor((n - size) / 2)`",
    rules=Rules(shape="`[C, size...]`, starting at `floor((n - size) / 2)`",
                allocates="`N_out` (a copy)",
                field="`R`, `S` kept; `P' = P - offset * S`, `offset = floor((n - size) / 2)`"))
