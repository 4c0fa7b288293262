"""Activations: relu, relu6, leaky_relu, sigmoid, tanh, softmax, gelu, silu, hardswish,
hardsigmoid, mish; with arguments: elu, softplus; learned: prelu."""

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
    boolean,
    integer,
    numel,
    real,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import register

# The torch.nn module of each parameterless activation (never in place: the memory
# analysis assumes every layer writes a new tensor).
_MODULES = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "sigmoid": "nn.Sigmoid", "tanh": "nn.Tanh",
            "gelu": "nn.GELU", "silu": "nn.SiLU", "hardswish": "nn.Hardswish",
            "hardsigmoid": "nn.Hardsigmoid", "mish": "nn.Mish"}
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
for _name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid",
              "mish"):
    register(_name, Activation, examples=_EXAMPLES)
register("leaky_relu", Activation, (Arg("slope", real, 0.01),), examples=_EXAMPLES)
register("softmax", Activation, (Arg("axis", integer, 0, doc="axis of the per-sample shape"),),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"axis": -1}),))


class ParametricActivation(Layer):
    """An elementwise nonlinearity with settings: `elu(alpha)` (x if positive, else
    alpha * (exp(x) - 1)), `softplus(beta, threshold)` (log(1 + exp(beta * x)) / beta,
    linear above the threshold), or the learned `prelu` (x if positive, else a * x with
    one learned slope `a`, or one per channel with `per_channel`, initialised to `init`).

    params: prelu 1 or C, else 0. other_ops: 1 per element. Saves its input (PyTorch's
    elu, softplus and prelu backward read the input). Pointwise field.
    """

    __slots__ = ("alpha", "beta", "threshold", "per_channel", "init")

    def configure(self, args: dict[str, Any]) -> None:
        self.alpha = args.get("alpha", 1.0)
        self.beta = args.get("beta", 1.0)
        self.threshold = args.get("threshold", 20.0)
        self.per_channel = args.get("per_channel", False)
        self.init = args.get("init", 0.25)

    def params(self) -> int:
        if self.op != "prelu":
            return 0
        return self.in_shape[0] if self.per_channel else 1

    def other_ops(self) -> int:
        return numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_INPUT,)

    def torch_recipe(self) -> Recipe:
        if self.op == "elu":
            return recipe("nn.ELU", self.alpha)
        if self.op == "softplus":
            return recipe("nn.Softplus", self.beta, self.threshold)
        return recipe("nn.PReLU", self.params(), self.init)

    def describe(self) -> str:
        if self.op == "elu":
            return f"alpha={self.alpha:g}"
        if self.op == "softplus":
            return f"beta={self.beta:g}, threshold={self.threshold:g}"
        return f"{self.params()}, init={self.init:g}"


register("elu", ParametricActivation, (Arg("alpha", real, 1.0),),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"alpha": 0.5}),))
register("softplus", ParametricActivation, (Arg("beta", real, 1.0), Arg("threshold", real, 20.0)),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"beta": 2.0, "threshold": 1.0}),))
register("prelu", ParametricActivation, (
    Arg("per_channel", boolean, False, doc="one slope per channel instead of one in all"),
    Arg("init", real, 0.25),
), examples=_EXAMPLES + (Example(((3, 4, 5),), {"per_channel": True}),
                         Example(((12,),), {"per_channel": True, "init": 0.1})))
