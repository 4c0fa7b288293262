"""Activations: relu, relu6, leaky_relu, sigmoid, tanh, softmax, gelu, silu, hardswish."""

from __future__ import annotations

from typing import Any

from netdsl.layers.base import (
    SAVE_INPUT,
    SAVE_OUTPUT,
    Arg,
    Example,
    Layer,
    LayerError,
    Saved,
    integer,
    numel,
    real,
)
from netdsl.layers.registry import register

# Which tensor PyTorch's autograd keeps for each function's backward.
_SAVES_OUTPUT = {"relu", "sigmoid", "tanh", "softmax"}


class Activation(Layer):
    """An elementwise nonlinearity (softmax: along one axis, channels by default).

    other_ops: 1 per element (one evaluation of the function); softmax 3 per element
    (exponent, sum, divide). Saves its output (relu, sigmoid, tanh, softmax) or its
    input (the others), as PyTorch's autograd does.
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
