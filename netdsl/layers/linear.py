"""Dense layers and flattening: linear, flatten."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.layers.base import (
    SAVE_INPUT,
    Arg,
    Example,
    Field,
    Layer,
    Saved,
    Shape,
    boolean,
    check_shape,
    numel,
    positive,
)
from netdsl.layers.registry import register
from netdsl.lowering.recipe import Recipe, recipe


class Linear(Layer):
    """A fully connected layer on a flat [F] input.

    params: in*out (+ out bias). MACs: in*out. other_ops: one add per output for the
    bias. Saves its input. Every output sees the whole input: the field is global.
    """

    __slots__ = ("features", "bias")

    def configure(self, args: dict[str, Any]) -> None:
        self.features, self.bias = args["features"], args["bias"]

    def infer_shape(self) -> Shape:
        return check_shape((self.features,))

    def params(self) -> int:
        return self.in_shape[0] * self.features + (self.features if self.bias else 0)

    def macs(self) -> int:
        return self.in_shape[0] * self.features

    def other_ops(self) -> int:
        return self.features if self.bias else 0

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT,)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return fields[0].as_global()

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


register("linear", Linear, (Arg("features", positive), Arg("bias", boolean, True)), ranks=(0,),
         examples=(Example(((20,),), {"features": 7}), Example(((9,),), {"features": 3,
                                                                             "bias": False})))
register("flatten", Flatten, examples=(Example(((4, 3, 2),)), Example(((5, 1, 1),)),
                                       Example(((3, 7),))))
