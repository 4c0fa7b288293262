"""Convolutions: conv (1-D/2-D/3-D, dilated, grouped), depthwise_conv, conv_transpose."""

from __future__ import annotations

import math
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
    SlidingWindow,
    as_number,
    boolean,
    keep,
    non_negative,
    numel,
    padding,
    per_axis,
    positive,
)
from netdsl.layers.geometry import (
    format_axes,
    format_pads,
    is_symmetric,
    padded_size,
    resolve_padding,
    symmetric_equivalent,
    torch_pad_order,
    trim_padding,
    window_output,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register

SPATIAL = (1, 2, 3)


#: `Conv.explicit_pads` by the spatial facts it reads (the convolutions of a width
#: variant differ from the old ones in channels only). Bounded; cleared when full.
_EXPLICIT_PADS_CACHE: dict[tuple, tuple[tuple[int, int], ...] | None] = {}


#: A convolution's effective kernel, padding and output sizes by its spatial facts
#: (kernel, dilation, stride, padding as given, input sizes): the convolutions of a width
#: variant differ from the old ones in channels only. Bounded; cleared when full.
_GEOMETRY_CACHE: dict[tuple, tuple[Shape, tuple[tuple[int, int], ...], Shape]] = {}


def _geometry(kernel: Shape, dilation: Shape, stride: Shape, padding: Any, sizes: Shape
              ) -> tuple[Shape, tuple[tuple[int, int], ...], Shape]:
    """The effective kernel, the (begin, end) padding and the output sizes per axis."""
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    pads = resolve_padding(padding, sizes, effective, stride)
    return effective, pads, tuple(window_output(n, k, s, p) for n, k, s, p in
                                  zip(sizes, effective, stride, pads))


class Conv(SlidingWindow):
    """Convolution (cross-correlation) over 1, 2 or 3 spatial axes.

    params: prod(kernel) * C_in/groups * C_out (+ C_out bias).
    MACs: output elements * prod(kernel) * C_in/groups. other_ops: one add per output
    element for the bias. Saves its input for backward -- unless the padding is
    asymmetric (TensorFlow's "same" at stride 2): PyTorch pads symmetrically only, so the
    lowering pads explicitly first (`PaddedConv2d`) and autograd keeps that padded copy.
    """

    __slots__ = ("channels", "kernel", "stride", "pads", "dilation", "groups", "bias",
                 "effective_kernel", "_out_sizes")

    def configure(self, args: dict[str, Any]) -> None:
        c_in = self.in_shape[0]
        self.channels, self.kernel, self.stride = args["channels"], args["kernel"], args["stride"]
        self.dilation, self.groups, self.bias = args["dilation"], args["groups"], args["bias"]
        if c_in % self.groups:
            raise LayerError(f"input channels {c_in} are not divisible by groups={self.groups}", "groups")
        if self.channels % self.groups:
            raise LayerError(f"output channels {self.channels} are not divisible by groups={self.groups}",
                             "groups")
        key = (self.kernel, self.dilation, self.stride, args["padding"], self.in_shape[1:])
        geometry = _GEOMETRY_CACHE.get(key)
        if geometry is None:  # (its errors are raised, not kept)
            geometry = keep(_GEOMETRY_CACHE, key, _geometry(*key), 10_000)
        #: Kernel extent with dilation: d*(k-1)+1 per axis (read by most of the rules).
        self.effective_kernel, self.pads, self._out_sizes = geometry

    def infer_shape(self) -> Shape:
        return (self.channels, *self._out_sizes)

    def params(self) -> int:
        weights = math.prod(self.kernel) * (self.in_shape[0] // self.groups) * self.channels
        return weights + (self.channels if self.bias else 0)

    def macs(self) -> int:
        return numel(self.out_shape) * math.prod(self.kernel) * (self.in_shape[0] // self.groups)

    def other_ops(self) -> int:
        return numel(self.out_shape) if self.bias else 0

    def saved(self) -> tuple[Saved, ...]:
        # Asymmetric padding is lowered as an explicit pad: autograd keeps the padded copy.
        pads = self.explicit_pads()
        if pads is not None:
            return (Saved("extra", elements=self.in_shape[0] * padded_size(self.in_shape, pads)),)
        return (SAVE_INPUT,)

    def explicit_pads(self) -> tuple[tuple[int, int], ...] | None:
        """None if PyTorch's symmetric padding (the begin padding on both sides) gives the
        same windows; else the padding to apply first (unreached end padding dropped)."""
        sizes, k_eff, outs = self.in_shape[1:], self.effective_kernel, self.out_shape[1:]
        key = (self.pads, sizes, k_eff, self.stride, outs)  # spatial only: width-independent
        if key in _EXPLICIT_PADS_CACHE:
            return _EXPLICIT_PADS_CACHE[key]
        return keep(_EXPLICIT_PADS_CACHE, key,
                    None if symmetric_equivalent(self.pads, sizes, k_eff, self.stride, outs)
                    else trim_padding(self.pads, sizes, k_eff, self.stride, outs), 10_000)

    def torch_recipe(self) -> Recipe:
        rank, pads = self.spatial_rank, self.explicit_pads()
        padding = tuple(b for b, _ in self.pads) if pads is None else 0
        args = (self.in_shape[0], self.channels, self.kernel)
        kwargs = dict(stride=self.stride, padding=padding, dilation=self.dilation,
                      groups=self.groups, bias=self.bias)
        if pads is None:
            return recipe(f"nn.Conv{rank}d", *args, **kwargs)
        return recipe(f"PaddedConv{rank}d", *args, **kwargs, pre_pad=torch_pad_order(pads))

    def describe(self) -> str:
        return (f"{self.channels}, k={format_axes(self.kernel)}, s={format_axes(self.stride)}, "
                f"p={format_pads(self.pads)}, d={format_axes(self.dilation)}, g={self.groups}, bias={self.bias}")


class DepthwiseConv(Conv):
    """A convolution with one group per input channel and `multiplier` outputs per group."""

    __slots__ = ()

    def configure(self, args: dict[str, Any]) -> None:
        c_in = self.in_shape[0]
        super().configure({**args, "groups": c_in, "channels": c_in * args["multiplier"]})


class ConvTranspose(Layer):
    """Transposed convolution (the gradient of a convolution; FCN/U-Net up-sampling).

    Output size: (n-1)*s - p_begin - p_end + d*(k-1) + output_padding + 1.
    MACs: *input* elements * prod(kernel) * C_out/groups (each input element is
    scattered once through the kernel; counting on the output grid overcounts by s^r).
    Asymmetric padding is lowered as the smaller padding and a (copied) crop of the output;
    a 3-D output smaller than the input is copied (see torch_recipe).
    Receptive field: a fractional window start is floored, as for upsampling.
    """

    __slots__ = ("channels", "kernel", "stride", "pads", "output_padding", "dilation", "groups",
                 "bias")

    def configure(self, args: dict[str, Any]) -> None:
        c_in = self.in_shape[0]
        self.channels, self.kernel, self.stride = args["channels"], args["kernel"], args["stride"]
        self.dilation, self.groups, self.bias = args["dilation"], args["groups"], args["bias"]
        self.output_padding = args["output_padding"]
        if args["padding"] == "same" or args["padding"] == "valid":
            if args["padding"] == "same":
                raise LayerError("conv_transpose() does not take padding \"same\"; give padding "
                                 "and output_padding", "padding")
            args["padding"] = ((0, 0),) * len(self.kernel)
        self.pads = args["padding"]
        for axis, (op, s, d) in enumerate(zip(self.output_padding, self.stride, self.dilation)):
            if op >= max(s, d):
                raise LayerError(f"output_padding {op} on axis {axis} must be smaller than the "
                                 f"stride or the dilation", "output_padding")
        for name, count in (("input", c_in), ("output", self.channels)):
            if count % self.groups:
                raise LayerError(f"{name} channels {count} are not divisible by groups={self.groups}",
                                 "groups")

    def infer_shape(self) -> Shape:
        sizes = tuple((n - 1) * s - p[0] - p[1] + d * (k - 1) + op + 1 for n, k, s, p, d, op in
                      zip(self.in_shape[1:], self.kernel, self.stride, self.pads, self.dilation,
                          self.output_padding))
        return (self.channels, *sizes)

    def params(self) -> int:
        weights = math.prod(self.kernel) * self.in_shape[0] * (self.channels // self.groups)
        return weights + (self.channels if self.bias else 0)

    def macs(self) -> int:
        return numel(self.in_shape) * math.prod(self.kernel) * (self.channels // self.groups)

    def other_ops(self) -> int:
        return numel(self.out_shape) if self.bias else 0

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT,)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        # Output i reads the input indices j with 0 <= i + p_begin - j*s <= k_eff - 1: at
        # most ceil(k_eff / s) of them. The size is that maximum over output positions; the
        # stride divides by s; the padding places the continuous window start.
        f = fields[0]
        size, stride, pad = [], [], []
        for r, jump, p, k, d, s, pp in zip(f.size, f.stride, f.padding, self.kernel,
                                           self.dilation, self.stride, self.pads):
            k_eff = d * (k - 1) + 1
            size.append(r + (-(-k_eff // s) - 1) * jump)
            stride.append(as_number(Fraction(jump) / s))
            # floor(i/s - pad) is the first input read: ceil((i + p_begin - k_eff + 1) / s)
            pad.append(as_number(p + Fraction((k_eff - s - pp[0]) * jump, s)))
        # with a stride, the window depends on the output's phase: not exact (see Field)
        exact = f.exact and all(s == 1 for s in self.stride)
        return Field(tuple(size), tuple(stride), tuple(pad), f.is_global, exact)

    def torch_recipe(self) -> Recipe:
        rank = self.spatial_rank
        low = tuple(min(b, e) for b, e in self.pads)
        args = (self.in_shape[0], self.channels, self.kernel)
        kwargs = dict(stride=self.stride, padding=low, output_padding=self.output_padding,
                      groups=self.groups, bias=self.bias, dilation=self.dilation)
        if not is_symmetric(self.pads):
            starts = tuple(b - m for (b, _), m in zip(self.pads, low))
            return recipe(f"CroppedConvTranspose{rank}d", *args, **kwargs, starts=starts,
                          sizes=self.out_shape[1:])
        if rank == 3 and numel(self.out_shape) < numel(self.in_shape):
            # PyTorch's CPU 3-D transposed conv (at batch 1) makes its output like the input
            # and shrinks it with resize_, keeping the input-sized storage: copy it
            return recipe("CompactConvTranspose3d", *args, **kwargs)
        return recipe(f"nn.ConvTranspose{rank}d", *args, **kwargs)

    def describe(self) -> str:
        return (f"{self.channels}, k={format_axes(self.kernel)}, s={format_axes(self.stride)}, "
                f"p={format_pads(self.pads)}, op={format_axes(self.output_padding)}, g={self.groups}"
                + (f", d={format_axes(self.dilation)}" if any(d != 1 for d in self.dilation)
                   else "")
                + ("" if self.bias else ", bias=False"))


_CONV_ARGS = (
    Arg("channels", positive, doc="output channels"),
    Arg("kernel", per_axis(positive), doc="kernel size, one value or one per axis"),
    Arg("stride", per_axis(positive), 1),
    Arg("padding", padding, 0, doc='"same", "valid", int, per axis, or [begin, end] pairs'),
    Arg("dilation", per_axis(positive), 1),
    Arg("groups", positive, 1),
    Arg("bias", boolean, True),
)

register("conv", Conv, _CONV_ARGS, ranks=SPATIAL, examples=(
    Example(((3, 11, 9),), {"channels": 8, "kernel": 3}),
    Example(((4, 12, 10),), {"channels": 6, "kernel": [3, 5], "stride": 2, "padding": 1}),
    Example(((4, 13, 14),), {"channels": 8, "kernel": 3, "dilation": 2, "groups": 2,
                             "padding": "same", "bias": False}),
    Example(((3, 10, 10),), {"channels": 4, "kernel": 3, "stride": 2, "padding": "same"}),
    Example(((3, 9, 8),), {"channels": 5, "kernel": 2, "padding": [[0, 1], [1, 0]]}),
    Example(((2, 17),), {"channels": 4, "kernel": 5, "stride": 2}),
    Example(((2, 5, 6, 7),), {"channels": 3, "kernel": 3, "padding": 1}),
    # asymmetric "same" (explicit padding) in 1-D and 3-D
    Example(((2, 16),), {"channels": 3, "kernel": 4, "stride": 2, "padding": "same"}),
    Example(((2, 5, 6, 7),), {"channels": 3, "kernel": 3, "stride": 2, "padding": "same"}),
),
    doc="convolution to `channels` outputs; `groups` must divide the input and output channels",
    rules=Rules(shape="`[C_out, o...]`, window rule; `g` divides `C_in` and `C_out`",
                params="`prod(k) * C_in / g * C_out` (+ `C_out` with bias)",
                macs="`N_out * prod(k) * C_in / g`",
                other_ops="`N_out` with bias, else 0",
                saved="its input; if the padding is asymmetric in a way PyTorch's symmetric "
                      "padding cannot express (e.g. `same` at stride 2 on an even size), "
                      "instead the explicitly padded copy: `C_in * prod(n + p_b + p_e')` "
                      "elements, `p_e'` the end padding that the last window reaches",
                field="window: `k_eff`, `s`, `p_b`"))
register("depthwise_conv", DepthwiseConv, (
    Arg("kernel", per_axis(positive)),
    Arg("stride", per_axis(positive), 1),
    Arg("padding", padding, 0),
    Arg("dilation", per_axis(positive), 1),
    Arg("multiplier", positive, 1, doc="output channels per input channel"),
    Arg("bias", boolean, True),
), ranks=SPATIAL, examples=(
    Example(((6, 11, 9),), {"kernel": 3, "padding": 1}),
    Example(((4, 12, 10),), {"kernel": 3, "stride": 2, "padding": "same", "multiplier": 2,
                             "bias": False}),
),
    doc="`conv` with `groups = C` and `C * multiplier` outputs",
    rules=Rules(shape="as `conv` with `g = C_in`, `C_out = multiplier * C_in`",
                params="`prod(k) * C_out` (+ `C_out`)",
                macs="`N_out * prod(k)`",
                other_ops="`N_out` with bias",
                saved="as `conv`",
                field="window"))
register("conv_transpose", ConvTranspose, (
    Arg("channels", positive),
    Arg("kernel", per_axis(positive)),
    Arg("stride", per_axis(positive), 1),
    Arg("padding", padding, 0, doc='int, per axis, [begin, end] pairs, or "valid"'),
    Arg("output_padding", per_axis(non_negative), 0),
    Arg("dilation", per_axis(positive), 1),
    Arg("groups", positive, 1),
    Arg("bias", boolean, True),
), ranks=SPATIAL, examples=(
    Example(((8, 5, 7),), {"channels": 4, "kernel": 4, "stride": 2, "padding": 1}),
    Example(((4, 6, 5),), {"channels": 6, "kernel": 3, "stride": 2, "padding": 1,
                           "output_padding": 1, "groups": 2}),
    Example(((4, 9),), {"channels": 2, "kernel": 2, "stride": 2}),
    Example(((2, 3, 4, 5),), {"channels": 2, "kernel": 2, "stride": 2, "bias": False}),
    Example(((3, 5, 6),), {"channels": 2, "kernel": 3, "stride": 2,
                           "padding": [[0, 1], [2, 1]]}),  # asymmetric: a cropped output
),
    doc="transposed convolution; padding is an int, per axis, pairs or `valid` (not `same`); "
        "`output_padding` must be smaller than the stride or the dilation",
    rules=Rules(shape="`[C_out, (n - 1) * s - p_b - p_e + d * (k - 1) + output_padding + 1 ...]`",
                params="`prod(k) * C_in * C_out / g` (+ `C_out`)",
                macs="`N_in * prod(k) * C_out / g`",
                other_ops="`N_out` with bias",
                saved="its input",
                field="`R' = R + (ceil(k_eff / s) - 1) * S`, `S' = S / s`, `P' = P + (k_eff - s "
                      "- p_b) * S / s`"))
