"""Dense layers and reshaping: linear, flatten, reshape."""

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
    Shape,
    boolean,
    integer,
    numel,
    plain_rule_field,
    positive,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register


class Linear(Layer):
    """A fully connected layer on a flat [F] input.

    params: in*out (+ out bias). MACs: in*out. other_ops: one add per output for the
    bias. Saves its input. Every output sees the whole input: the field is global.
    """

    __slots__ = ("features", "bias")

    def configure(self, args: dict[str, Any]) -> None:
        self.features, self.bias = args["features"], args["bias"]

    def infer_shape(self) -> Shape:
        return (self.features,)

    def params(self) -> int:
        return self.in_shape[0] * self.features + (self.features if self.bias else 0)

    def macs(self) -> int:
        return self.in_shape[0] * self.features

    def other_ops(self) -> int:
        return self.features if self.bias else 0

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT,)

    def field_rule(self) -> tuple:
        """Every output sees the whole input: nothing else is read."""
        return GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def describe(self) -> str:
        return f"{self.features}, bias={self.bias}"

    def torch_recipe(self) -> Recipe:
        return recipe("nn.Linear", self.in_shape[0], self.features, bias=self.bias)


class Flatten(Layer):
    """Flatten [C, *spatial] to [C*H*W] (a view: no new memory, nothing saved)."""

    __slots__ = ()
    is_view = True

    def infer_shape(self) -> Shape:
        return (numel(self.in_shape),)

    def torch_recipe(self) -> Recipe:
        return recipe("nn.Flatten")


class Reshape(Layer):
    """Reshape to a per-sample shape (one size may be -1: inferred). A view; saves nothing.

    Used to turn a flat [C] gate back into [C, 1, 1] (squeeze-and-excitation with linear
    layers). The receptive field is kept when the spatial sizes are unchanged, and
    becomes global otherwise (elements move between axes).
    """

    __slots__ = ("shape",)
    is_view = True

    def configure(self, args: dict[str, Any]) -> None:
        shape, total = list(args["shape"]), numel(self.in_shape)
        if shape.count(-1) > 1 or any(d < 1 and d != -1 for d in shape):
            raise LayerError(f"a shape has positive sizes and at most one -1, got {shape}", "shape")
        if -1 in shape:
            known = numel(tuple(d for d in shape if d != -1))
            if total % known:
                raise LayerError(f"cannot reshape {list(self.in_shape)} ({total} elements) to "
                                 f"{shape}", "shape")
            shape[shape.index(-1)] = total // known
        if numel(tuple(shape)) != total:
            raise LayerError(f"cannot reshape {list(self.in_shape)} ({total} elements) to "
                             f"{list(args['shape'])}", "shape")
        self.shape = tuple(shape)

    def infer_shape(self) -> Shape:
        return self.shape

    def field_rule(self) -> tuple:
        """Same spatial sizes: each element keeps its place. Otherwise elements move
        between axes, and an output element may come from anywhere: global."""
        return IDENTITY_FIELD if self.shape[1:] == self.in_shape[1:] else GLOBAL_FIELD

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return plain_rule_field(self.field_rule(), fields[0])

    def torch_recipe(self) -> Recipe:
        return recipe("nn.Sequential", recipe("nn.Flatten"), recipe("nn.Unflatten", 1, self.shape))

    def describe(self) -> str:
        return f"{list(self.shape)}"


def shape_list(value: Any, rank: int) -> tuple[int, ...]:
    """Converter: a list of sizes (-1 allowed once)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise LayerError("expected a list of sizes like [C, 1, 1]", got=value)
    return tuple(integer(v, rank) for v in value)


register("linear", Linear, (Arg("features", positive), Arg("bias", boolean, True)), ranks=(0,),
         examples=(Example(((20,),), {"features": 7}), Example(((9,),), {"features": 3,
                                                                             "bias": False})),
    doc="fully connected layer to `features` (use `flatten` first)",
    rules=Rules(shape="`[features]`",
                params="`F_in * features` (+ `features`)",
                macs="`F_in * features`",
                other_ops="`features` with bias",
                saved="its input",
                field="global"))
register("reshape", Reshape, (Arg("shape", shape_list),), examples=(
    Example(((12,),), {"shape": [3, 2, 2]}), Example(((4, 3, 2),), {"shape": [-1, 6]}),
    Example(((6,),), {"shape": [6, 1, 1]}),
),
    doc="to the per-sample `shape` (a list of sizes, one of them may be `-1`: inferred) with "
        "the same number of elements; e.g. a flat gate `[C]` back to `[C, 1, 1]`",
    rules=Rules(shape="the given shape (`-1` inferred); `N_out = N_in`",
                allocates="0 (a view)",
                field="unchanged if the spatial sizes are; else global"))
register("flatten", Flatten, examples=(Example(((4, 3, 2),)), Example(((5, 1, 1),)),
                                       Example(((3, 7),))),
    doc="`[C, ...]` to `[C * ...]`",
    rules=Rules(shape="`[N_in]`",
                allocates="0 (a view)"))
