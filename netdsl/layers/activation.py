"""Activations: relu, relu6, leaky_relu, sigmoid, tanh, softmax, gelu, silu, hardswish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.layers.base import (
    SAVE_INPUT,
    SAVE_OUTPUT,
    Arg,
    Example,
    Field,
    Layer,
    LayerError,
    Saved,
    integer,
    numel,
    real,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import register

# The torch.nn module of each parameterless activation (never in place: the memory
# analysis assumes every layer writes a new tensor).
_MODULES = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "sigmoid": "nn.Sigmoid", "tanh": "nn.Tanh",
            "gelu": "nn.GELU", "silu": "nn.SiLU", "hardswish": "nn.Hardswish"}
# Which tensor PyTorch's autograd keeps for each function's backward.
_SAVES_OUTPUT = {"relu", "sigmoid", "tanh", "softmax"}


class Activation(Layer):
    """An elementwise nonlinearity (softmax: along one axis, channels by default).

    other_ops: 1 per element (one evaluation of the function); softmax 3 per element
    (exponent, sum, divide). Saves its output (relu, sigmoid, tanh, softmax) or its
    input (the others), as PyTorch's autograd does. The field is pointwise, except
    softmax along a spatial axis (each output sees that whole axis) or over a flat input
    (global, like a linear layer).
    """

    __slots__ = ("slope", "axis")

    def configure(self, args: dict[str, Any]) -> None:
        self.slope = args.get("slope", 0.0)
        self.axis = args.get("axis", 0)
        if not -len(self.in_shape) <= self.axis < len(self.in_shape):
            raise LayerError(f"axis {self.axis} is out of range for shape {list(self.in_shape)}",
                             "axis")

    def other_ops(self) -> int:
        return numel(self.out_shape) * (3 if self.op == "softmax" else 1)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_OUTPUT,) if self.op in _SAVES_OUTPUT else (SAVE_INPUT,)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        # Softmax along a spatial axis of size n: every output sees that whole axis, which
        # is a window of 2n - 1 centred on the output, clipped to the input. On a flat
        # input it mixes all features, so (like a linear layer) it sees the whole input.
        if self.op != "softmax":
            return fields[0]
        if len(self.in_shape) == 1:
            return fields[0].as_global()
        if self.axis % len(self.in_shape) == 0:
            return fields[0]
        axis = self.axis % len(self.in_shape) - 1
        n = self.in_shape[1 + axis]
        kernels = [2 * n - 1 if a == axis else 1 for a in range(self.spatial_rank)]
        pads = [n - 1 if a == axis else 0 for a in range(self.spatial_rank)]
        return fields[0].window(kernels, [1] * self.spatial_rank, pads)

    def torch_recipe(self) -> Recipe:
        if self.op == "softmax":
            return recipe("nn.Softmax", dim=self.axis + 1 if self.axis >= 0 else self.axis)
        if self.op == "leaky_relu":
            return recipe("nn.LeakyReLU", self.slope)
        return recipe(_MODULES[self.op])

    def describe(self) -> str:
        if self.op == "leaky_relu":
            return f"slope={self.slope:g}"
        return f"axis={self.axis}" if self.op == "softmax" else ""


_EXAMPLES = (Example(((4, 5, 6),)), Example(((3, 7),)), Example(((12,),)))
for _name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish"):
    register(_name, Activation, examples=_EXAMPLES)
register("leaky_relu", Activation, (Arg("slope", real, 0.01),), examples=_EXAMPLES)
register("softmax", Activation, (Arg("axis", integer, 0, doc="axis of the per-sample shape"),),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"axis": -1}),))
