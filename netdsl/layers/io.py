"""The network input: a node with a declared shape and no computation."""

from __future__ import annotations

from collections.abc import Sequence

from netdsl.layers.base import Field, Layer, Shape
from netdsl.layers.recipe import Recipe


class Input(Layer):
    """A network input of a declared shape. Its field is the unit field."""

    __slots__ = ()

    def __init__(self, shape: Shape) -> None:
        super().__init__("input", {}, (shape,))

    def field_rule(self) -> tuple[str, int]:
        """A network input's field is the unit field of its rank: nothing else is read."""
        return ("unit", self.spatial_rank)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        return Field.unit(self.spatial_rank)

    def describe(self) -> str:
        return ""

    def torch_recipe(self) -> Recipe:
        raise TypeError("inputs are not lowered to modules")
