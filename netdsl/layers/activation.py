"""Activations: relu, relu6, leaky_relu, sigmoid, tanh, softmax, gelu, silu, hardswish,
hardsigmoid, mish, elu, softplus, prelu.

One class per kind: a parameterless activation is its torch.nn module and which tensor
autograd keeps, so adding one is a class of three lines and a `register` call here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

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
from netdsl.layers.registry import Rules, register


class Activation(Layer):
    """An elementwise nonlinearity: the output has the input's shape.

    other_ops: 1 per element (one evaluation of the function). Saves its output or its
    input, as PyTorch's autograd does for that function. The field is pointwise.
    """

    __slots__ = ()

    #: The torch.nn module (never in place: the memory analysis assumes every layer
    #: writes a new tensor).
    module: ClassVar[str] = ""
    #: Whether autograd keeps the output for backward (else the input).
    saves_output: ClassVar[bool] = False

    def other_ops(self) -> int:
        return numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        return (SAVE_OUTPUT,) if self.saves_output else (SAVE_INPUT,)

    def torch_recipe(self) -> Recipe:
        return recipe(self.module)

    @classmethod
    def rules(cls) -> Rules:
        """The counting rules this class implements, in the words of the docs."""
        return Rules(other_ops="`N_out` (one evaluation per element)",
                     saved="its output" if cls.saves_output else "its input")


class ReLU(Activation):
    __slots__ = ()
    module, saves_output = "nn.ReLU", True


class ReLU6(Activation):
    __slots__ = ()
    module = "nn.ReLU6"


class Sigmoid(Activation):
    __slots__ = ()
    module, saves_output = "nn.Sigmoid", True


class Tanh(Activation):
    __slots__ = ()
    module, saves_output = "nn.Tanh", True


class GELU(Activation):
    __slots__ = ()
    module = "nn.GELU"


class SiLU(Activation):
    __slots__ = ()
    module = "nn.SiLU"


class Hardswish(Activation):
    __slots__ = ()
    module = "nn.Hardswish"


class Hardsigmoid(Activation):
    __slots__ = ()
    module = "nn.Hardsigmoid"


class Mish(Activation):
    __slots__ = ()
    module = "nn.Mish"


class LeakyReLU(Activation):
    """`x` if positive, else `slope * x`."""

    __slots__ = ("slope",)

    def configure(self, args: dict[str, Any]) -> None:
        self.slope = args["slope"]

    def torch_recipe(self) -> Recipe:
        return recipe("nn.LeakyReLU", self.slope)

    def describe(self) -> str:
        return f"slope={self.slope:g}"


class Softmax(Activation):
    """Softmax along one axis of the per-sample shape (channels by default).

    other_ops: 3 per element (exponent, sum, divide). Saves its output. The field is
    pointwise along the channels; along a spatial axis each output sees that whole axis;
    over a flat input it mixes all features, so (like a linear layer) it is global.
    """

    __slots__ = ("axis",)
    saves_output = True

    def configure(self, args: dict[str, Any]) -> None:
        self.axis = args["axis"]
        if not -len(self.in_shape) <= self.axis < len(self.in_shape):
            raise LayerError(f"axis {self.axis} is out of range for shape {list(self.in_shape)}",
                             "axis")

    def other_ops(self) -> int:
        return numel(self.out_shape) * 3

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        # Along a spatial axis of size n, every output sees that whole axis: a window of
        # 2n - 1 centred on the output, clipped to the input.
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
        return recipe("nn.Softmax", dim=self.axis + 1 if self.axis >= 0 else self.axis)

    def describe(self) -> str:
        return f"axis={self.axis}"


_EXAMPLES = (Example(((4, 5, 6),)), Example(((3, 7),)), Example(((12,),)))
for _name, _kind, _doc in (
    ("relu", ReLU, "`max(x, 0)`"),
    ("relu6", ReLU6, "`min(max(x, 0), 6)`"),
    ("sigmoid", Sigmoid, "`1 / (1 + exp(-x))`"),
    ("tanh", Tanh, "hyperbolic tangent"),
    ("gelu", GELU, "GELU (exact, erf form)"),
    ("silu", SiLU, "`x * sigmoid(x)`"),
    ("hardswish", Hardswish, "`x * relu6(x + 3) / 6`"),
    ("hardsigmoid", Hardsigmoid, "`relu6(x + 3) / 6`"),
    ("mish", Mish, "`x * tanh(softplus(x))`"),
):
    register(_name, _kind, doc=_doc, rules=_kind.rules(), examples=_EXAMPLES)
register("leaky_relu", LeakyReLU, (Arg("slope", real, 0.01),), examples=_EXAMPLES,
         doc="`x` if positive, else `slope * x`", rules=LeakyReLU.rules())
register("softmax", Softmax, (Arg("axis", integer, 0, doc="axis of the per-sample shape"),),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"axis": -1}),),
         doc="softmax along `axis` of the per-sample shape (0: the channels; negative counts "
             "from the end)",
         rules=Rules(other_ops="`3 * N_out` (exponent, sum, divide)", saved="its output",
                     field="along the channels: pointwise; over a flat input: global; along a "
                           "spatial axis of size `n`: a window `2n - 1` with padding `n - 1` "
                           "on that axis"))


class ELU(Activation):
    """`x` if positive, else `alpha * (exp(x) - 1)`. Saves its input."""

    __slots__ = ("alpha",)

    def configure(self, args: dict[str, Any]) -> None:
        self.alpha = args["alpha"]

    def torch_recipe(self) -> Recipe:
        return recipe("nn.ELU", self.alpha)

    def describe(self) -> str:
        return f"alpha={self.alpha:g}"


class Softplus(Activation):
    """`log(1 + exp(beta * x)) / beta`, linear where `beta * x` passes the threshold.
    Saves its input."""

    __slots__ = ("beta", "threshold")

    def configure(self, args: dict[str, Any]) -> None:
        self.beta, self.threshold = args["beta"], args["threshold"]

    def torch_recipe(self) -> Recipe:
        return recipe("nn.Softplus", self.beta, self.threshold)

    def describe(self) -> str:
        return f"beta={self.beta:g}, threshold={self.threshold:g}"


class PReLU(Activation):
    """`x` if positive, else `a * x` with a learned slope `a`: one in all, or one per
    channel (`per_channel`), initialised to `init` (nn.PReLU). params: 1 or C. Saves its
    input."""

    __slots__ = ("per_channel", "init")

    def configure(self, args: dict[str, Any]) -> None:
        self.per_channel, self.init = args["per_channel"], args["init"]

    def params(self) -> int:
        return self.in_shape[0] if self.per_channel else 1

    def torch_recipe(self) -> Recipe:
        return recipe("nn.PReLU", self.params(), self.init)

    def describe(self) -> str:
        return f"{self.params()}, init={self.init:g}"


register("elu", ELU, (Arg("alpha", real, 1.0),),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"alpha": 0.5}),),
         doc="`x` if positive, else `alpha * (exp(x) - 1)`", rules=ELU.rules())
register("softplus", Softplus, (Arg("beta", real, 1.0), Arg("threshold", real, 20.0)),
         examples=_EXAMPLES + (Example(((3, 4, 5),), {"beta": 2.0, "threshold": 1.0}),),
         doc="`log(1 + exp(beta * x)) / beta`, linear where `beta * x > threshold`",
         rules=Softplus.rules())
register("prelu", PReLU, (
    Arg("per_channel", boolean, False, doc="one slope per channel instead of one in all"),
    Arg("init", real, 0.25),
), examples=_EXAMPLES + (Example(((3, 4, 5),), {"per_channel": True}),
                         Example(((12,),), {"per_channel": True, "init": 0.1})),
    doc="`x` if positive, else `a * x` with a learned slope `a` (one per channel with "
        "`per_channel`)",
    rules=Rules(params="1, or `C` with `per_channel`", other_ops="`N_out` (one evaluation "
                "per element)", saved="its input"))
