"""Normalisation and regularisation: batchnorm, local response normalisation, dropout;
layer, group and instance normalisation, layer scale, stochastic depth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.layers.base import (
    GLOBAL_FIELD,
    IDENTITY_FIELD,
    SAVE_INPUT,
    Arg,
    Example,
    Field,
    Layer,
    LayerError,
    Saved,
    boolean,
    choice,
    numel,
    plain_rule_field,
    positive,
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
        statistic = Saved("extra", elements=self.channels, itemsize=STAT_BYTES,
                          per_sample=False)  # the batch mean, and the inverse std
        return (SAVE_INPUT, statistic, statistic)

    def describe(self) -> str:
        return f"{self.channels}, eps={self.eps:g}" + (
            f", momentum={self.momentum:g}" if self.momentum != 0.1 else "")

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


# ------------------------------------------------------------ per-sample normalisations
class LayerNorm(Layer):
    """Layer normalisation over the channels at every position of a [C, ...] input
    (ConvNeXt's LayerNorm2d: torchvision permutes the channels last, normalises, permutes
    back), or over the features of a flat [F] input (nn.LayerNorm).

    params: 2*C (weight, bias). other_ops: 6 per element (the mean and the variance, a
    subtraction and a multiplication by the inverse std, scale and shift). Saves its input
    and the mean and inverse std of every position (float32). Pointwise field over [C, ...]; over a
    flat [F] every output sees every feature (global).
    """

    __slots__ = ("eps",)

    def configure(self, args: dict[str, Any]) -> None:
        self.eps = args["eps"]
        if self.eps <= 0:
            raise LayerError(f"eps must be positive, got {self.eps}", "eps")
        if self.in_shape[0] == 1:
            raise LayerError("layernorm over a single channel gives a constant (its bias): "
                             f"the input {list(self.in_shape)} has one")

    @property
    def channels(self) -> int:
        """Normalised channels (features for a flat input)."""
        return self.in_shape[0]

    def params(self) -> int:
        return 2 * self.channels

    def other_ops(self) -> int:
        return 6 * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        positions = numel(self.in_shape[1:])
        stat = Saved("extra", elements=positions, itemsize=STAT_BYTES)
        return (SAVE_INPUT, stat, stat)

    def field_rule(self) -> tuple:
        """Over a flat input every feature; else each position's channels only."""
        return GLOBAL_FIELD if self.spatial_rank == 0 else IDENTITY_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def describe(self) -> str:
        return f"{self.channels}, eps={self.eps:g}"

    def torch_recipe(self) -> Recipe:
        if self.spatial_rank == 0:
            return recipe("nn.LayerNorm", self.channels, eps=self.eps)
        return recipe("ChannelLayerNorm", self.channels, eps=self.eps)


class GroupNorm(Layer):
    """Group normalisation: the channels in `groups` groups, each normalised over its
    channels and positions (nn.GroupNorm, with a learned per-channel scale and shift).

    params: 2*C. other_ops: 6 per element, as layernorm. Saves its input and the mean and
    inverse std of every group (float32). Global field (statistics over all positions).
    """

    __slots__ = ("groups", "eps")

    def configure(self, args: dict[str, Any]) -> None:
        self.groups, self.eps = args["groups"], args["eps"]
        if self.in_shape[0] % self.groups:
            raise LayerError(f"groups={self.groups} must divide the {self.in_shape[0]} channels",
                             "groups")
        if self.eps <= 0:
            raise LayerError(f"eps must be positive, got {self.eps}", "eps")
        if self.in_shape[0] // self.groups * numel(self.in_shape[1:]) == 1:
            raise LayerError("groupnorm over groups of one element gives a constant (its "
                             f"bias): {self.groups} groups of {list(self.in_shape)}", "groups")

    def params(self) -> int:
        return 2 * self.in_shape[0]

    def other_ops(self) -> int:
        return 6 * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        stat = Saved("extra", elements=self.groups, itemsize=STAT_BYTES)
        return (SAVE_INPUT, stat, stat)

    def field_rule(self) -> tuple:
        """Every output sees its group at all positions: nothing else is read."""
        return GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def describe(self) -> str:
        return f"{self.groups} groups, eps={self.eps:g}"

    def torch_recipe(self) -> Recipe:
        return recipe("nn.GroupNorm", self.groups, self.in_shape[0], eps=self.eps)


class InstanceNorm(Layer):
    """Instance normalisation: every channel of every sample normalised over its positions
    (nn.InstanceNormNd, no running statistics); `affine` adds a per-channel scale and shift.

    params: 2*C with affine, else 0. other_ops: 4 per element (mean, variance, subtract,
    multiply), 6 with affine. PyTorch runs it as a batch norm of one sample with N*C
    channels: it saves the input and the mean and inverse std of every channel (float32),
    and with affine also the scale repeated for every sample (C elements per sample).
    Global field (statistics over all positions).
    """

    __slots__ = ("eps", "affine")

    def configure(self, args: dict[str, Any]) -> None:
        self.eps, self.affine = args["eps"], args["affine"]
        if self.eps <= 0:
            raise LayerError(f"eps must be positive, got {self.eps}", "eps")
        if numel(self.in_shape[1:]) == 1:
            raise LayerError("instancenorm needs more than one position per channel (PyTorch "
                             f"refuses it in training): the input is {list(self.in_shape)}")

    def params(self) -> int:
        return 2 * self.in_shape[0] if self.affine else 0

    def other_ops(self) -> int:
        return (6 if self.affine else 4) * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        c = self.in_shape[0]
        stat = Saved("extra", elements=c, itemsize=STAT_BYTES)
        repeated = (Saved("extra", elements=c),) if self.affine else ()
        return (SAVE_INPUT, stat, stat, *repeated)

    def field_rule(self) -> tuple:
        """Every output sees its channel at all positions: nothing else is read."""
        return GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def describe(self) -> str:
        return f"eps={self.eps:g}" + (", affine" if self.affine else "")

    def torch_recipe(self) -> Recipe:
        return recipe(f"nn.InstanceNorm{self.spatial_rank}d", self.in_shape[0], eps=self.eps,
                      affine=self.affine)


# --------------------------------------------------------------- residual-branch scaling
class LayerScale(Layer):
    """A learned per-channel scale (CaiT / ConvNeXt's layer scale), initialised to `init`:
    out = gamma * x with gamma of shape [C, 1, ...] (torchvision's `layer_scale`).

    params: C. other_ops: 1 per element. Saves its input (for gamma's gradient).
    Pointwise field.
    """

    __slots__ = ("init",)

    def configure(self, args: dict[str, Any]) -> None:
        self.init = args["init"]

    def params(self) -> int:
        return self.in_shape[0]

    def other_ops(self) -> int:
        return numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT,)

    def describe(self) -> str:
        return f"{self.in_shape[0]}, init={self.init:g}"

    def torch_recipe(self) -> Recipe:
        return recipe("LayerScale", self.in_shape[0], self.init, self.spatial_rank)


class StochasticDepth(Layer):
    """Stochastic depth (Huang et al. 2016) as torchvision's `ops.StochasticDepth`: the
    identity at inference; while training, each sample (`row`) or the whole batch
    (`batch`) is zeroed with probability p and the rest scaled by 1 / (1 - p).

    other_ops: 0 (the identity at inference; training: one multiply per element). Saves
    the random scale it multiplied by: one element per sample (`row`) or one in all
    (`batch`); nothing when p = 0 (the identity in training too). Pointwise field.
    """

    __slots__ = ("p", "mode")
    is_view_in_eval = True  # at inference the module returns its input

    @property
    def is_view(self) -> bool:  # type: ignore[override]
        """p = 0 returns its input even while training."""
        return self.p == 0

    def configure(self, args: dict[str, Any]) -> None:
        self.p, self.mode = args["p"], args["mode"]

    def saved(self) -> tuple[Saved, ...]:
        if self.p == 0:
            return ()
        return (Saved("extra", elements=1, per_sample=self.mode == "row"),)

    def describe(self) -> str:
        return f"p={self.p:g}, {self.mode}"

    def torch_recipe(self) -> Recipe:
        return recipe("StochasticDepth", self.p, self.mode)


register("layernorm", LayerNorm, (Arg("eps", real, 1e-5),), examples=(
    Example(((6, 5, 4),)), Example(((10,),), {"eps": 1e-6}), Example(((4, 7),)),
    Example(((3, 2, 3, 4),)),
),
    doc="layer normalisation over the channels at every position (ConvNeXt's LayerNorm2d), "
        "or over the features of `[F]`; learned scale and shift",
    rules=Rules(params="`2 * C` (`2 * F` for `[F]`)",
                other_ops="`6 * N_out` (mean, variance, subtract, multiply, scale, shift)",
                saved="its input, and the mean and inverse standard deviation of every "
                      "position: `2 * n_1 * ... * n_r` float32 (2 for `[F]`)",
                field="pointwise; over `[F]`: global"))
register("groupnorm", GroupNorm, (Arg("groups", positive), Arg("eps", real, 1e-5)),
         ranks=(1, 2, 3), examples=(
    Example(((6, 5, 4),), {"groups": 3}), Example(((8, 7),), {"groups": 2}),
    Example(((4, 3, 2, 3),), {"groups": 4}),
),
    doc="group normalisation: `groups` groups of channels, each over its channels and "
        "positions; learned per-channel scale and shift",
    rules=Rules(params="`2 * C`", other_ops="`6 * N_out`",
                saved="its input, and the mean and inverse standard deviation of every "
                      "group: `2 * groups` float32",
                field="global (statistics over all positions)"))
register("instancenorm", InstanceNorm, (Arg("eps", real, 1e-5), Arg("affine", boolean, False)),
         ranks=(1, 2, 3), examples=(
    Example(((6, 5, 4),)), Example(((5, 9),), {"affine": True}),
    Example(((3, 2, 3, 4),), {"affine": True, "eps": 1e-3}),
),
    doc="each channel normalised over its positions, per sample; `affine` adds a learned "
        "scale and shift",
    rules=Rules(params="`2 * C` with `affine`, else 0",
                other_ops="`6 * N_out` with `affine`, else `4 * N_out`",
                saved="its input, the mean and inverse standard deviation of every channel "
                      "(`2 * C` float32), and with `affine` the scale repeated per sample "
                      "(`C`: PyTorch runs it as a batch norm of `N * C` channels)",
                field="global"))
register("layer_scale", LayerScale, (Arg("init", real, 1e-6),), examples=(
    Example(((6, 5, 4),)), Example(((10,),), {"init": 0.5}), Example(((3, 7),)),
),
    doc="a learned per-channel scale, initialised to `init` (ConvNeXt, CaiT)",
    rules=Rules(params="`C`", other_ops="`N_out`", saved="its input"))
register("stochastic_depth", StochasticDepth, (
    Arg("p", probability), Arg("mode", choice("row", "batch"), "row"),
), examples=(
    Example(((6, 5, 4),), {"p": 0.2}), Example(((6, 5, 4),), {"p": 0.5, "mode": "batch"}),
    Example(((10,),), {"p": 0.1}), Example(((4, 3),), {"p": 0.0}),
),
    doc="identity at inference; while training each sample (`row`) or the whole batch "
        "(`batch`) is zeroed with probability `p`, the rest scaled by `1 / (1 - p)` "
        "(torchvision's semantics)",
    rules=Rules(other_ops="0 (identity at inference; training: one multiply per element)",
                allocates="0 at inference (returns its input)",
                saved="the random scale: 1 element per sample (`row`), 1 in all (`batch`); "
                      "nothing when `p = 0`"))
