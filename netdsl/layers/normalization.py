"""Normalisation and regularisation: batchnorm, local response normalisation, dropout."""

from __future__ import annotations

from typing import Any

from netdsl.layers.base import (
    SAVE_INPUT,
    Arg,
    Example,
    Layer,
    LayerError,
    Saved,
    numel,
    probability,
    real,
    window_size,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register

STAT_BYTES = 4  # batch-norm batch statistics are kept in float32 (PyTorch's accumulate type)


class BatchNorm(Layer):
    """Batch normalisation over the channel axis (1-D/2-D/3-D, or a flat [F] input).

    params: 2*C (weight, bias). buffers: 2*C + 1 (running mean and variance, and the
    batch counter) -- PyTorch does not count them as parameters; Keras does.
    other_ops: 2 per element (scale and shift, as at inference). Saves its input and
    the batch mean and inverse std (2*C float32).
    """

    __slots__ = ("eps", "momentum")

    def configure(self, args: dict[str, Any]) -> None:
        self.eps, self.momentum = args["eps"], args["momentum"]
        if self.eps <= 0:
            raise LayerError(f"eps must be positive, got {self.eps}", "eps")

    @property
    def channels(self) -> int:
        """Normalised channels (features for a flat input)."""
        return self.in_shape[0]

    def params(self) -> int:
        return 2 * self.channels

    def buffers(self) -> int:
        return 2 * self.channels + 1

    def other_ops(self) -> int:
        return 2 * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT, Saved("extra", elements=self.channels, itemsize=STAT_BYTES,
                                  per_sample=False),
                Saved("extra", elements=self.channels, itemsize=STAT_BYTES, per_sample=False))

    def describe(self) -> str:
        return f"{self.channels}, eps={self.eps:g}"

    def torch_recipe(self) -> Recipe:
        rank = max(self.spatial_rank, 1)  # a flat [F] input is BatchNorm1d on [N, F]
        return recipe(f"nn.BatchNorm{rank}d", self.channels, eps=self.eps, momentum=self.momentum)


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (AlexNet):
    b = a / (k + alpha/size * sum of a^2 over `size` neighbouring channels)^beta.

    other_ops: size + 3 per element (the window's squares and sum, scale, power, divide).
    Lowered as nn.LocalResponseNorm, whose autograd graph saves the input, the squares
    zero-padded to C + size - 1 channels (for the window average), and the scale before
    and after the power (two tensors of the output's size).
    """

    __slots__ = ("size", "alpha", "beta", "k")

    def configure(self, args: dict[str, Any]) -> None:
        self.size, self.alpha, self.beta, self.k = args["size"], args["alpha"], args["beta"], args["k"]

    def other_ops(self) -> int:
        return (self.size + 3) * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        c, spatial = self.in_shape[0], numel(self.in_shape[1:])
        padded = Saved("extra", elements=(c + self.size - 1) * spatial)
        scale = Saved("extra", elements=numel(self.out_shape))
        return (SAVE_INPUT, padded, scale, scale)

    def describe(self) -> str:
        return f"size={self.size}, alpha={self.alpha:g}, beta={self.beta:g}, k={self.k:g}"

    def torch_recipe(self) -> Recipe:
        return recipe("nn.LocalResponseNorm", self.size, alpha=self.alpha, beta=self.beta,
                      k=self.k)


class Dropout(Layer):
    """Dropout: zeroes elements with probability p while training; identity at inference.

    other_ops: 0 (inference). Saves a one-byte mask per element for backward (lowered
    to `torch.native_dropout` on every device; nn.Dropout keeps a float mask on the CPU);
    with p = 0 it is the identity and saves nothing.
    """

    __slots__ = ("p",)
    is_view_in_eval = True  # at inference the module returns its input

    @property
    def is_view(self) -> bool:  # type: ignore[override]
        """dropout(0) returns its input even while training."""
        return self.p == 0

    def configure(self, args: dict[str, Any]) -> None:
        self.p = args["p"]

    def saved(self) -> tuple[Saved, ...]:
        if self.p == 0:  # the identity
            return ()
        return (Saved("extra", elements=numel(self.out_shape), itemsize=1),)

    def describe(self) -> str:
        return f"p={self.p:g}"

    def torch_recipe(self) -> Recipe:
        return recipe("Dropout", self.p)


register("batchnorm", BatchNorm, (Arg("eps", real, 1e-5), Arg("momentum", real, 0.1)), examples=(
    Example(((4, 6, 5),)), Example(((3, 7),)), Example(((2, 3, 4, 5),), {"eps": 1e-3}),
    Example(((10,),)),
),
    doc="batch normalisation over the channels (features for `[F]`)",
    rules=Rules(params="`2 * C` (scale, shift)",
                buffers="`2 * C + 1` (running mean and variance, step counter)",
                other_ops="`2 * N_out` (scale and shift, as at inference)",
                saved="its input, and the batch mean and inverse standard deviation: `2 * C` "
                      "float32 (not per sample)"))
register("lrn", LocalResponseNorm, (
    Arg("size", window_size, 5), Arg("alpha", real, 1e-4), Arg("beta", real, 0.75), Arg("k", real, 1.0),
), ranks=(1, 2, 3), examples=(
    Example(((6, 5, 4),)), Example(((8, 7, 6),), {"size": 3, "k": 2.0}),
),
    doc="local response normalisation across `size` neighbouring channels",
    rules=Rules(other_ops="`(size + 3) * N_out`",
                saved="its input, the squares zero-padded to `(C + size - 1) * n_1 * ... * n_r` "
                      "elements, and two tensors of `N_out` (the scale before and after the "
                      "power)"))
register("dropout", Dropout, (Arg("p", probability, 0.5),), examples=(
    Example(((4, 5, 6),)), Example(((10,),), {"p": 0.2}), Example(((5, 4),), {"p": 0.0}),
),
    doc="zeroes elements with probability `p` in [0, 1) while training",
    rules=Rules(other_ops="0 (identity at inference)",
                saved="a one-byte mask of `N_out`; nothing when `p = 0`"))
