"""Pooling: max/avg (ceil mode), global, adaptive, channel (depth-wise) max, spatial pyramid."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, ClassVar

from netdsl.layers.base import (
    GLOBAL_FIELD,
    SAVE_INPUT,
    SAVE_OUTPUT,
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
    choice,
    int_list,
    numel,
    optional,
    padding,
    per_axis,
    plain_rule_field,
    positive,
)
from netdsl.layers.geometry import (
    format_axes,
    format_pads,
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
INDEX_BYTES = 8  # max pooling keeps int64 argmax indices for backward


class Pool(SlidingWindow):
    """Max or average pooling over a sliding window.

    other_ops: prod(kernel) per output element (comparisons or additions). Max pooling
    saves its input and int64 indices of the output's size; average pooling its input.
    Padding "same" follows TensorFlow (max pads with -inf; avg averages over the valid
    part of each window). Asymmetric padding lowers to PyTorch's own pooling when its
    symmetric padding (the begin padding, ceil mode on or off) gives the same windows --
    TensorFlow's "same" at stride 2 does; otherwise to an explicit pad, then the pool:
    autograd then keeps the padded copy instead of the input (see `plan`).
    """

    __slots__ = ("kernel", "stride", "pads", "dilation", "ceil_mode", "count_include_pad",
                 "effective_kernel")

    #: Max pooling (else average).
    is_max: ClassVar[bool] = False

    def configure(self, args: dict[str, Any]) -> None:
        self.kernel = args["kernel"]
        self.stride = args["stride"] if args["stride"] is not None else self.kernel
        self.dilation = args.get("dilation") or (1,) * len(self.kernel)
        #: Window extent with dilation (read by most of the rules).
        self.effective_kernel = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))
        self.ceil_mode = args["ceil_mode"]
        self.count_include_pad = args.get("count_include_pad", True) and args["padding"] != "same"
        self.pads = resolve_padding(args["padding"], self.in_shape[1:], self.effective_kernel,
                                    self.stride)
        for (begin, end), k in zip(self.pads, self.effective_kernel):
            if max(begin, end) > k // 2:
                raise LayerError(f"padding {max(begin, end)} is more than half the window {k}: "
                                 "a window could lie entirely in the padding", "padding")

    def infer_shape(self) -> Shape:
        sizes = tuple(window_output(n, k, s, p, self.ceil_mode) for n, k, s, p in
                      zip(self.in_shape[1:], self.effective_kernel, self.stride, self.pads))
        return (self.in_shape[0], *sizes)

    def other_ops(self) -> int:
        return numel(self.out_shape) * math.prod(self.kernel)

    def saved(self) -> tuple[Saved, ...]:
        # Natively: the input (and argmax indices). With explicit padding (see `plan`): the
        # padded copy instead of the input, indices over PyTorch's (uncropped) output, and
        # for the valid-part average the per-window element counts.
        plan = self.plan()
        c, is_max = self.in_shape[0], self.is_max
        if plan[0] == "native":
            saved = [SAVE_INPUT]
            out = numel(self.out_shape)
        else:
            _, pads, torch_out = plan
            saved = [Saved("extra", elements=c * padded_size(self.in_shape, pads))]
            out = c * math.prod(torch_out)
            if not is_max and not self.count_include_pad:
                saved.append(Saved("extra", elements=math.prod(torch_out), per_sample=False))
        if is_max:
            saved.append(Saved("extra", elements=out, itemsize=INDEX_BYTES))
        return tuple(saved)

    def describe(self) -> str:
        return (f"k={format_axes(self.kernel)}, s={format_axes(self.stride)}, p={format_pads(self.pads)}"
                + (f", d={format_axes(self.dilation)}" if any(d != 1 for d in self.dilation)
                   else "")
                + (", ceil" if self.ceil_mode else "")
                + (", exclude pad" if self.op == "avgpool" and not self.count_include_pad else ""))

    def plan(self) -> tuple[Any, ...]:
        """How the pool lowers: ("native", ceil_mode) when PyTorch's symmetric padding by
        the begin padding gives the same windows and divisors, else ("explicit", pads,
        PyTorch's output size) for an explicit pad, a pool and a crop to our size."""
        sizes, k_eff, outs = self.in_shape[1:], self.effective_kernel, self.out_shape[1:]
        divisor_safe = self.is_max or not self.count_include_pad or all(
            b == e or (o - 1) * s - b + k <= n + min(b, e)
            for (b, e), n, k, s, o in zip(self.pads, sizes, k_eff, self.stride, outs))
        # PyTorch's own limits: padding at most half the (undilated) kernel, and (3-D
        # average pooling) an unpadded input at least as large as the kernel
        torch_accepts = all(b <= k // 2 for (b, _), k in zip(self.pads, self.kernel)) and (
            self.is_max or self.spatial_rank < 3
            or all(n >= k for n, k in zip(sizes, self.kernel)))
        if divisor_safe and torch_accepts:
            for ceil in (self.ceil_mode, not self.ceil_mode):
                if symmetric_equivalent(self.pads, sizes, k_eff, self.stride, outs, ceil):
                    return ("native", ceil)
        pads = trim_padding(self.pads, sizes, k_eff, self.stride, outs)
        torch_out = tuple(window_output(n + b + e, k, s, (0, 0), self.ceil_mode)
                          for n, (b, e), k, s in zip(sizes, pads, k_eff, self.stride))
        return ("explicit", pads, torch_out)

    def torch_recipe(self) -> Recipe:
        rank, plan, is_max = self.spatial_rank, self.plan(), self.is_max
        cls = f"nn.{'MaxPool' if is_max else 'AvgPool'}{rank}d"
        native = plan[0] == "native"
        kwargs: dict[str, Any] = dict(
            stride=self.stride, padding=tuple(b for b, _ in self.pads) if native else 0)
        if is_max:
            kwargs["dilation"] = self.dilation
        kwargs["ceil_mode"] = plan[1] if native else self.ceil_mode
        if not is_max:
            kwargs["count_include_pad"] = self.count_include_pad
        if native:
            return recipe(cls, self.kernel, **kwargs)
        _, pads, torch_out = plan
        outs = self.out_shape[1:]
        if not is_max and not self.count_include_pad:
            return recipe("AvgPoolValid", self.kernel, self.stride, torch_pad_order(pads),
                          self.ceil_mode, outs)
        steps = [recipe("Pad", torch_pad_order(pads), float("-inf") if is_max else 0.0),
                 recipe(cls, self.kernel, **kwargs)]
        if torch_out != outs:
            steps.append(recipe("Crop", (0,) * rank, outs, True))
        return recipe("nn.Sequential", *steps)


class MaxPool(Pool):
    __slots__ = ()
    is_max = True


class AvgPool(Pool):
    __slots__ = ()


class GlobalPool(Layer):
    """Global average or max pooling: [C, *spatial] -> [C, 1, ...]; the field becomes global.

    other_ops: one per input element. Lowered as a mean (saves nothing) or an amax
    (saves its input and output).
    """

    __slots__ = ()

    #: Max pooling (else average).
    is_max: ClassVar[bool] = False

    def infer_shape(self) -> Shape:
        return (self.in_shape[0],) + (1,) * self.spatial_rank

    def other_ops(self) -> int:
        return numel(self.in_shape)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT, SAVE_OUTPUT) if self.is_max else ()

    def field_rule(self) -> tuple:
        """Every output sees the whole input: nothing else is read."""
        return GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def torch_recipe(self) -> Recipe:
        return recipe("GlobalMaxPool" if self.is_max else "GlobalAvgPool")


class GlobalMaxPool(GlobalPool):
    __slots__ = ()
    is_max = True


class GlobalAvgPool(GlobalPool):
    __slots__ = ()


class AdaptivePool(Layer):
    """Adaptive average or max pooling to a fixed output size (PyTorch's window rule).

    Window i along an axis of size n covers [floor(i*n/out), ceil((i+1)*n/out)).
    other_ops: the sum of all window sizes. Saves the input (max: and int64 indices),
    except an average to size 1, which PyTorch computes as a mean and saves nothing for.
    """

    __slots__ = ("size",)

    #: Max pooling (else average).
    is_max: ClassVar[bool] = False

    def configure(self, args: dict[str, Any]) -> None:
        self.size = args["size"]

    def infer_shape(self) -> Shape:
        return (self.in_shape[0], *self.size)

    def windows(self, axis: int) -> list[int]:
        """Window lengths along a spatial axis."""
        n, out = self.in_shape[1 + axis], self.size[axis]
        return [-(-(i + 1) * n // out) - (i * n // out) for i in range(out)]

    # Window i has length ceil((r_i + n) / out) where r_i = i*n mod out, a multiple of
    # g = gcd(n, out): closed forms, so that a size of 2e9 builds no list of 2e9 windows.
    def window_sum(self, axis: int) -> int:
        """The sum of the window lengths along a spatial axis (n + out - gcd(n, out))."""
        n, out = self.in_shape[1 + axis], self.size[axis]
        return n + out - math.gcd(n, out)

    def window_max(self, axis: int) -> int:
        """The longest window along a spatial axis (r_i = out - g at most)."""
        n, out = self.in_shape[1 + axis], self.size[axis]
        return -(-(out - math.gcd(n, out) + n) // out)

    def other_ops(self) -> int:
        return self.in_shape[0] * math.prod(self.window_sum(a) for a in range(len(self.size)))

    def saved(self) -> tuple[Saved, ...]:
        if self.is_max:
            return (SAVE_INPUT, Saved("extra", elements=numel(self.out_shape), itemsize=INDEX_BYTES))
        # PyTorch computes an adaptive average to size 1 as a mean, which saves nothing.
        return () if all(s == 1 for s in self.size) else (SAVE_INPUT,)

    def torch_recipe(self) -> Recipe:
        kind = "Max" if self.is_max else "Avg"
        return recipe(f"nn.Adaptive{kind}Pool{self.spatial_rank}d", self.size)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        f = fields[0]
        if all(s == 1 for s in self.size):
            return f.as_global()
        size, stride = [], []
        for axis, (r, jump) in enumerate(zip(f.size, f.stride)):
            n, out = self.in_shape[1 + axis], self.size[axis]
            size.append(math.ceil(r + (self.window_max(axis) - 1) * jump))
            step = Fraction(n, out) * jump
            stride.append(as_number(step))
        # windows of unequal sizes (n not a multiple of out) depend on the position
        exact = f.exact and all(n % out == 0 for n, out in zip(self.in_shape[1:], self.size))
        return Field(tuple(size), tuple(stride), f.padding, f.is_global, exact)

    def describe(self) -> str:
        return f"size={format_axes(self.size)}"


class AdaptiveMaxPool(AdaptivePool):
    __slots__ = ()
    is_max = True


class AdaptiveAvgPool(AdaptivePool):
    __slots__ = ()


class ChannelMaxPool(Layer):
    """Depth-wise max pooling: a max over windows of channels at every position.

    Output channels: floor((C - k) / s) + 1. other_ops: k per output element.
    """

    __slots__ = ("kernel", "stride")

    def configure(self, args: dict[str, Any]) -> None:
        self.kernel = args["kernel"]
        self.stride = args["stride"] or self.kernel
        if self.kernel > self.in_shape[0]:
            raise LayerError(f"kernel {self.kernel} is larger than the {self.in_shape[0]} input "
                             "channels", "kernel")

    def infer_shape(self) -> Shape:
        return ((self.in_shape[0] - self.kernel) // self.stride + 1, *self.in_shape[1:])

    def other_ops(self) -> int:
        return numel(self.out_shape) * self.kernel

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT, Saved("extra", elements=numel(self.out_shape), itemsize=INDEX_BYTES))

    def describe(self) -> str:
        return f"k={self.kernel}, s={self.stride}"

    def torch_recipe(self) -> Recipe:
        return recipe("ChannelMaxPool", self.kernel, self.stride)


class SpatialPyramidPool(Layer):
    """Spatial pyramid pooling: adaptive pooling to each level, flattened and concatenated.

    Output: [C * sum(level^rank)] whatever the input size. The field is global.
    other_ops: one per input element per level. Saves the input (max: and int64 indices
    of every bin); an average level of 1 is a mean, which saves nothing.
    """

    __slots__ = ("levels", "mode")

    def configure(self, args: dict[str, Any]) -> None:
        self.levels, self.mode = args["levels"], args["mode"]

    def infer_shape(self) -> Shape:
        return (self.in_shape[0] * sum(lv ** self.spatial_rank for lv in self.levels),)

    def other_ops(self) -> int:
        return numel(self.in_shape) * len(self.levels)

    def saved(self) -> tuple[Saved, ...]:
        if self.mode == "avg":
            # A level of 1 is a mean (saves nothing); the other levels save the input.
            return () if all(lv == 1 for lv in self.levels) else (SAVE_INPUT,)
        return (SAVE_INPUT, Saved("extra", elements=numel(self.out_shape), itemsize=INDEX_BYTES))

    def torch_recipe(self) -> Recipe:
        return recipe("SpatialPyramidPool", self.levels, self.mode, self.spatial_rank)

    def field_rule(self) -> tuple:
        """Its coarsest level sees the whole input: nothing else is read."""
        return GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def describe(self) -> str:
        return f"levels={list(self.levels)}, {self.mode}"


_WINDOW = (
    Arg("kernel", per_axis(positive)),
    Arg("stride", optional(per_axis(positive)), None, doc="defaults to the kernel"),
    Arg("padding", padding, 0),
)
register("maxpool", MaxPool, _WINDOW + (Arg("dilation", per_axis(positive), 1),
                                     Arg("ceil_mode", boolean, False)), ranks=SPATIAL, examples=(
    Example(((3, 11, 9),), {"kernel": 2}),
    Example(((3, 12, 11),), {"kernel": 3, "stride": 2, "padding": 1}),
    Example(((2, 13, 14),), {"kernel": 3, "stride": 2, "ceil_mode": True}),
    Example(((2, 10, 9),), {"kernel": 3, "stride": 2, "padding": "same"}),
    Example(((2, 17),), {"kernel": 3, "stride": 2}),
    Example(((2, 6, 7, 8),), {"kernel": 2, "dilation": 2}),
    # "same" at stride 1 and explicit asymmetric padding with ceil mode: padded explicitly
    Example(((2, 9, 8),), {"kernel": 2, "stride": 1, "padding": "same"}),
    Example(((2, 11, 10),), {"kernel": 3, "stride": 2, "padding": [[0, 1], [1, 0]],
                             "ceil_mode": True}),
),
    doc="max over windows; stride defaults to the kernel; `same` pads with -inf",
    rules=Rules(shape="`[C, o...]`, window rule (ceil mode optional); stride defaults to `k`",
                other_ops="`N_out * prod(k)` (comparisons)",
                saved="its input and `N_out` int64 argmax indices (8 bytes each); with padding "
                      "PyTorch cannot express (`same` where asymmetric), the padded copy "
                      "instead of the input and indices over PyTorch's uncropped output",
                field="window; `same` pads with -inf"))
register("avgpool", AvgPool, _WINDOW + (Arg("ceil_mode", boolean, False),
                                     Arg("count_include_pad", boolean, True)), ranks=SPATIAL, examples=(
    Example(((3, 11, 9),), {"kernel": 2}),
    Example(((3, 12, 11),), {"kernel": 3, "stride": 2, "padding": 1}),
    Example(((2, 13, 14),), {"kernel": 3, "stride": 2, "ceil_mode": True}),
    Example(((2, 10, 9),), {"kernel": 3, "stride": 2, "padding": "same"}),
    Example(((2, 16),), {"kernel": 4}),
    Example(((2, 4, 6, 8),), {"kernel": 2}),
    # the valid-part average of "same" at stride 1; asymmetric padding counted in the average
    Example(((2, 9, 8),), {"kernel": 2, "stride": 1, "padding": "same"}),
    Example(((2, 9, 8),), {"kernel": 3, "stride": 2, "padding": [[1, 0], [0, 1]]}),
    Example(((2, 9, 8),), {"kernel": 3, "stride": 2, "padding": [[1, 0], [0, 1]],
                           "count_include_pad": False}),
),
    doc="mean over windows; with `same`, the mean of the valid part of each window",
    rules=Rules(shape="as `maxpool`",
                other_ops="`N_out * prod(k)` (additions)",
                saved="its input; with padding PyTorch cannot express, the padded copy instead; "
                      "when the average excludes the padding (`count_include_pad = false`, "
                      "always with `same`) and the padding is explicit, also the per-window "
                      "divisors, one element per output position of PyTorch's uncropped output "
                      "(not per sample)",
                field="window"))
_GLOBAL_EXAMPLES = (Example(((4, 7, 5),)), Example(((3, 9),)), Example(((2, 3, 4, 5),)))
register("global_avgpool", GlobalAvgPool, ranks=SPATIAL, examples=_GLOBAL_EXAMPLES,
         doc="mean over all positions: `[C, 1, ...]`",
         rules=Rules(shape="`[C, 1, ...]`", other_ops="`N_in`",
                     saved="nothing (lowered as a mean)", field="global"))
register("global_maxpool", GlobalMaxPool, ranks=SPATIAL, examples=_GLOBAL_EXAMPLES,
         doc="max over all positions: `[C, 1, ...]`",
         rules=Rules(shape="`[C, 1, ...]`", other_ops="`N_in`", saved="its input and its output",
                     field="global"))
_ADAPTIVE_EXAMPLES = (
    Example(((4, 14, 14),), {"size": 7}),
    Example(((3, 10, 13),), {"size": [3, 4]}),
    Example(((2, 11),), {"size": 4}),
    Example(((3, 5, 6),), {"size": 1}),
)
_ADAPTIVE_FIELD = ("all sizes 1: global; else `R' = R + (largest window - 1) * S`, "
                   "`S' = S * n / o`, `P' = P`")
register("adaptive_avgpool", AdaptiveAvgPool, (Arg("size", per_axis(positive)),), ranks=SPATIAL,
         examples=_ADAPTIVE_EXAMPLES,
         doc="mean over PyTorch's adaptive windows to a fixed `size`",
         rules=Rules(shape="`[C, size...]`; window `j` on an axis covers "
                           "`[floor(j * n / o), ceil((j + 1) * n / o))`",
                     other_ops="`C * prod over axes of (sum of the window lengths)`",
                     saved="its input; nothing when every size is 1 (a mean)",
                     field=_ADAPTIVE_FIELD))
register("adaptive_maxpool", AdaptiveMaxPool, (Arg("size", per_axis(positive)),), ranks=SPATIAL,
         examples=_ADAPTIVE_EXAMPLES,
         doc="max over adaptive windows to a fixed `size`",
         rules=Rules(shape="as `adaptive_avgpool`", other_ops="as `adaptive_avgpool`",
                     saved="its input and `N_out` int64 indices", field="as `adaptive_avgpool`"))
register("channel_maxpool", ChannelMaxPool, (
    Arg("kernel", positive), Arg("stride", optional(positive), None),
), ranks=(1, 2, 3), examples=(
    Example(((8, 5, 6),), {"kernel": 2}),
    Example(((9, 4, 5),), {"kernel": 3, "stride": 2}),
),
    doc="max over windows of `kernel` channels at each position (depth-wise max pooling); "
        "stride defaults to the kernel",
    rules=Rules(shape="`[floor((C - k) / s) + 1, n...]`; stride defaults to `k`",
                other_ops="`N_out * k`",
                saved="its input and `N_out` int64 indices"))
register("spp", SpatialPyramidPool, (
    Arg("levels", int_list, [1, 2, 4]), Arg("mode", choice("max", "avg"), "max"),
), ranks=SPATIAL, examples=(
    Example(((4, 13, 11),)),
    Example(((3, 8, 8),), {"levels": [1, 3], "mode": "avg"}),
    Example(((2, 5, 6),), {"levels": [1], "mode": "avg"}),
),
    doc="spatial pyramid pooling: adaptive `max` or `avg` pooling to each `level` per axis, "
        "flattened and concatenated: `[C * sum(level ** rank)]`",
    rules=Rules(shape="`[C * sum(level^r)]`",
                other_ops="`N_in * len(levels)`",
                saved="`max`: its input and `N_out` int64 indices; `avg`: its input, or nothing "
                      "when every level is 1",
                field="global"))
