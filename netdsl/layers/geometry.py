"""Window and padding arithmetic shared by the layer families, and short per-axis formats.

Convolutions, pools and resizes all slide windows over padded axes; their shape rules,
the choice between PyTorch's symmetric `padding=` and an explicit pad, and the IR's
argument listings (`k=3x5`, `p=0/1,1/0`) are written once, here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from netdsl.layers.base import LayerError, Shape


def same_padding(n: int, k_eff: int, stride: int) -> tuple[int, int]:
    """TensorFlow's `same`: output ceil(n/s); the smaller half of the padding first."""
    out = -(-n // stride)
    total = max((out - 1) * stride + k_eff - n, 0)
    return total // 2, total - total // 2


def window_output(n: int, k_eff: int, stride: int, pads: tuple[int, int],
                  ceil_mode: bool = False) -> int:
    """Output size of a sliding window along one axis (PyTorch's rule, ceil mode included)."""
    span = n + pads[0] + pads[1] - k_eff
    if span < 0:
        raise LayerError(
            f"kernel extent {k_eff} is larger than the padded input ({n} + {pads[0]} + {pads[1]})")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    # PyTorch: the last window must start inside the input or the left padding.
    if (out - 1) * stride >= n + pads[0]:
        out -= 1
    return out


def resolve_padding(pad: Any, sizes: Sequence[int], k_eff: Sequence[int],
                    stride: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Padding as (begin, end) per axis, resolving "same" (TensorFlow's rule) and "valid"."""
    if pad == "valid":
        return ((0, 0),) * len(sizes)
    if pad == "same":
        return tuple(same_padding(n, k, s) for n, k, s in zip(sizes, k_eff, stride))
    return pad


def trim_padding(pads: Sequence[tuple[int, int]], sizes: Sequence[int], k_eff: Sequence[int],
                 stride: Sequence[int], outs: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Padding without the end padding that no window reaches (the last window's end)."""
    trimmed = []
    for (begin, end), n, k, s, out in zip(pads, sizes, k_eff, stride, outs):
        reach = (out - 1) * s + k - begin - n  # how far the last window passes the input
        trimmed.append((begin, min(end, max(reach, 0))))
    return tuple(trimmed)


def symmetric_equivalent(pads: Sequence[tuple[int, int]], sizes: Sequence[int],
                         k_eff: Sequence[int], stride: Sequence[int], outs: Sequence[int],
                         ceil_mode: bool = False) -> bool:
    """Whether padding every axis by its begin padding on both sides gives the same
    windows: they start at the same place, so the same number of them is enough."""
    return all(n + 2 * b >= k and window_output(n, k, s, (b, b), ceil_mode) == out
               for (b, _), n, k, s, out in zip(pads, sizes, k_eff, stride, outs))


def is_symmetric(pads: Sequence[tuple[int, int]]) -> bool:
    """Whether every axis pads as much at the begin as at the end."""
    return all(b == e for b, e in pads)


def padded_size(shape: Shape, pads: Sequence[tuple[int, int]]) -> int:
    """Spatial elements of an input after explicit padding."""
    return math.prod(n + b + e for n, (b, e) in zip(shape[1:], pads))


def torch_pad_order(pads: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Per-axis (begin, end) pairs in F.pad's order: the last axis first."""
    return tuple(v for pair in reversed(pads) for v in pair)


def format_axes(values: Sequence[int]) -> str:
    """Per-axis values in short: `3` when all are equal, else `3x5`."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def format_pads(pads: Sequence[tuple[int, int]]) -> str:
    """(begin, end) pairs in short: as `format_axes` when symmetric, else `0/1,1/0`."""
    if all(b == e for b, e in pads):
        return format_axes([b for b, _ in pads])
    return ",".join(f"{b}/{e}" for b, e in pads)
