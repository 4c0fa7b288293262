"""The small custom modules that lowering needs where torch.nn has no exact match.

Each class is self-contained (it uses only `torch`, `nn` and `F`), because
`codegen` copies the source of the ones a network uses into the generated file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """A container for the layers of one block call; it only groups names (no forward)."""


class Add(nn.Module):
    """Elementwise sum of all inputs (a residual merge)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out


class Mul(nn.Module):
    """Elementwise product of all inputs, with broadcasting (SE gating)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0] * xs[1]
        for x in xs[2:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Concatenation of all inputs along `dim` (batch included: channels are dim 1)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Crop(nn.Module):
    """Keep `sizes[i]` elements from `starts[i]` on each spatial axis: a view of the input
    (centre crop), or with `copy` a tensor of its own (the rest of the input is freed)."""

    def __init__(self, starts: tuple[int, ...], sizes: tuple[int, ...], copy: bool = False) -> None:
        super().__init__()
        self.starts, self.sizes, self.copy = tuple(starts), tuple(sizes), copy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True)):
            x = x.narrow(2 + axis, start, size)
        return x.clone(memory_format=torch.preserve_format) if self.copy else x

    def extra_repr(self) -> str:
        return f"starts={self.starts}, sizes={self.sizes}" + (", copy=True" if self.copy else "")


class Pad(nn.Module):
    """Constant padding, `pads` in F.pad's order (last axis first, begin then end)."""

    def __init__(self, pads: tuple[int, ...], value: float = 0.0) -> None:
        super().__init__()
        self.pads, self.value = tuple(pads), value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, value=self.value)

    def extra_repr(self) -> str:
        return f"pads={self.pads}, value={self.value}"


class PadBefore:
    """Mixin for a conv class: zero-pad the input (asymmetric TensorFlow "same") first.

    `pre_pad` is in F.pad's order. The weights stay where the base class puts them,
    so parameter names are those of the plain convolution.
    """

    def __init__(self, *args, pre_pad: tuple[int, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pre_pad = tuple(pre_pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pre_pad))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pre_pad={self.pre_pad}"


class PaddedConv1d(PadBefore, nn.Conv1d):
    """nn.Conv1d after an explicit, possibly asymmetric, zero padding."""


class PaddedConv2d(PadBefore, nn.Conv2d):
    """nn.Conv2d after an explicit, possibly asymmetric, zero padding."""


class PaddedConv3d(PadBefore, nn.Conv3d):
    """nn.Conv3d after an explicit, possibly asymmetric, zero padding."""


class CropAfter:
    """Mixin for a transposed conv class: crop the output to `starts`/`sizes` per spatial
    axis (asymmetric padding), copied so that the full output is freed."""

    def __init__(self, *args, starts: tuple[int, ...], sizes: tuple[int, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.starts, self.sizes = tuple(starts), tuple(sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        for axis, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True)):
            y = y.narrow(2 + axis, start, size)
        return y.clone(memory_format=torch.preserve_format)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, starts={self.starts}, sizes={self.sizes}"


class CroppedConvTranspose1d(CropAfter, nn.ConvTranspose1d):
    """nn.ConvTranspose1d whose output is cropped (asymmetric padding)."""


class CroppedConvTranspose2d(CropAfter, nn.ConvTranspose2d):
    """nn.ConvTranspose2d whose output is cropped (asymmetric padding)."""


class CroppedConvTranspose3d(CropAfter, nn.ConvTranspose3d):
    """nn.ConvTranspose3d whose output is cropped (asymmetric padding)."""


class CompactConvTranspose3d(nn.ConvTranspose3d):
    """nn.ConvTranspose3d whose output is smaller than its input, copied into a storage of
    its own size. PyTorch's CPU `slow_conv_transpose3d` (taken at batch 1, and whenever
    oneDNN is not used) makes the output with `empty_like(input)` and then `resize_`s it
    down, which keeps the input's whole buffer alive with the output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).clone(memory_format=torch.preserve_format)


class AvgPoolValid(nn.Module):
    """Average pooling over the valid part of each window (TensorFlow's "same"), with any
    (asymmetric) padding: the sum over the zero-padded window divided by the number of
    input elements it covers; the output is cut to `sizes`."""

    def __init__(self, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                 pads: tuple[int, ...], ceil_mode: bool, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.pads = tuple(kernel_size), tuple(stride), tuple(pads)
        self.ceil_mode, self.sizes = ceil_mode, tuple(sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[len(self.kernel_size) - 1]
        args = (self.kernel_size, self.stride, 0, self.ceil_mode, True)
        total = pool(F.pad(x, self.pads), *args)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        count = pool(F.pad(ones, self.pads), *args)
        out = total / count
        if tuple(out.shape[2:]) == self.sizes:
            return out
        for axis, size in enumerate(self.sizes):  # PyTorch's ceil mode made more windows
            out = out.narrow(2 + axis, 0, size)
        return out.clone(memory_format=torch.preserve_format)


class GlobalAvgPool(nn.Module):
    """Mean over all spatial axes, keeping them as size 1 (saves nothing for backward)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


class GlobalMaxPool(nn.Module):
    """Maximum over all spatial axes, keeping them as size 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)


class ChannelMaxPool(nn.Module):
    """Max over windows of `kernel` channels, every `stride` channels, at each position."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels become the first axis of a 2-D max pool over [C, positions].
        flat = x.flatten(2).unsqueeze(1)
        out = F.max_pool2d(flat, (self.kernel, 1), (self.stride, 1))
        return out.reshape(x.shape[0], -1, *x.shape[2:])

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


class SpatialPyramidPool(nn.Module):
    """Adaptive max or average pooling to each level's grid, flattened and concatenated."""

    def __init__(self, levels: tuple[int, ...], mode: str, rank: int) -> None:
        super().__init__()
        self.levels, self.mode, self.rank = tuple(levels), mode, rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            pool = (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)
        else:
            pool = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)
        outs = [pool[self.rank - 1](x, level).flatten(1) for level in self.levels]
        return torch.cat(outs, dim=1)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, mode={self.mode!r}"


class Dropout(nn.Module):
    """Dropout through `torch.native_dropout` on every device, so that backward keeps a
    one-byte mask per element (nn.Dropout keeps a float mask on the CPU)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return torch.native_dropout(x, self.p, True)[0]

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels at every position (torchvision's LayerNorm2d, for any
    spatial rank): channels last, normalise, channels back, made contiguous (so that a
    following flatten or reshape is a view, as the analysis counts it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if all(n == 1 for n in x.shape[2:]):
            # one position (after a global pool): permuted back, the result would count as
            # contiguous with channels-last strides, and a following conv would then give a
            # channels-last output that a flatten must copy (found by the random networks)
            return F.layer_norm(x.flatten(1), self.normalized_shape, self.weight, self.bias,
                                self.eps).view(x.shape)
        dims = (0, *range(2, x.dim()), 1)
        back = (0, x.dim() - 1, *range(1, x.dim() - 1))
        out = F.layer_norm(x.permute(*dims), self.normalized_shape, self.weight, self.bias,
                           self.eps)
        return out.permute(*back).contiguous()


class LayerScale(nn.Module):
    """A learned per-channel scale `layer_scale` of shape [C, 1, ...], initialised to `init`."""

    def __init__(self, channels: int, init: float, rank: int) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((channels,) + (1,) * rank, float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class StochasticDepth(nn.Module):
    """torchvision's StochasticDepth: identity in eval; in training, rows (`row`) or the
    whole batch (`batch`) dropped with probability p, the rest scaled by 1 / (1 - p)."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * noise.div_(survival)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: view as [N, g, C / g, ...], swap the two, copy."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, *rest = x.shape
        if self.groups in (1, c):  # nothing moves
            return x
        x = x.reshape(n, self.groups, c // self.groups, *rest).transpose(1, 2)
        return x.reshape(n, c, *rest)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ModePad(nn.Module):
    """Reflect or replicate padding, `pads` in F.pad's order (last axis first)."""

    def __init__(self, pads: tuple[int, ...], mode: str) -> None:
        super().__init__()
        self.pads, self.mode = tuple(pads), mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, mode=self.mode)

    def extra_repr(self) -> str:
        return f"pads={self.pads}, mode={self.mode}"


class Narrow(nn.Module):
    """`length` entries of axis `dim` from `start` on: a view (one part of chunk/split)."""

    def __init__(self, dim: int, start: int, length: int) -> None:
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(self.dim, self.start, self.length)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, length={self.length}"
