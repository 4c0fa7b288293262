"""Merges of branches: add (residual), concat (inception, U-Net), mul (SE gating)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.layers.base import (
    Arg,
    Example,
    Field,
    Layer,
    LayerError,
    Saved,
    Shape,
    as_number,
    integer,
    numel,
)
from netdsl.layers.recipe import Recipe, recipe
from netdsl.layers.registry import Rules, register


def _shapes(shapes: Sequence[Shape]) -> str:
    return " and ".join(str(list(s)) for s in shapes) if len(shapes) == 2 else ", ".join(
        str(list(s)) for s in shapes)


class Merge(Layer):
    """Base of the merges: at least two inputs; the field is the union of the branches'."""

    __slots__ = ()
    is_merge = True

    def configure(self, args: dict[str, Any]) -> None:
        if len(self.in_shapes) < 2:
            raise LayerError(f"{self.op}() needs at least two branches, got {len(self.in_shapes)}")

    def field_rule(self) -> tuple[str]:
        """A merge's field is the branches' fields' union: it reads nothing else."""
        return ("merge",)

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        # Every branch's local field counts (a global branch keeps the field of the local
        # path that led to it); alignment is checked apart, on local branches only.
        local = fields
        padding = tuple(max(ps) for ps in zip(*(f.padding for f in local)))
        ends = tuple(max(es) for es in zip(*((r - 1 - p for r, p in zip(f.size, f.padding))
                                             for f in local)))
        size = tuple(e + p + 1 for e, p in zip(ends, padding))
        stride = tuple(max(ss) for ss in zip(*(f.stride for f in local)))
        exact = all(f.exact for f in fields)
        if not exact:  # (exact fields' numbers are ints already)
            size, stride = tuple(map(as_number, size)), tuple(map(as_number, stride))
            padding = tuple(map(as_number, padding))
        return Field(size, stride, padding, any(f.is_global for f in fields), exact)


class Add(Merge):
    """Elementwise sum of branches of identical shape (residual connections).

    other_ops: (branches - 1) per output element. Saves nothing.
    """

    __slots__ = ()

    def infer_shape(self) -> Shape:
        if len(set(self.in_shapes)) > 1:
            raise LayerError(f"add() got branches of different shapes: {_shapes(self.in_shapes)}")
        return self.in_shapes[0]

    def other_ops(self) -> int:
        return (len(self.in_shapes) - 1) * numel(self.out_shape)

    def torch_recipe(self) -> Recipe:
        return recipe("Add")


class Mul(Merge):
    """Elementwise product with broadcasting ([C, H, W] * [C, 1, 1] for SE gating).

    other_ops: (branches - 1) per output element. Saves every input (each one's
    gradient needs the others) and, with more than two branches, each partial product
    but the last (the lowering multiplies left to right).
    """

    __slots__ = ()

    def infer_shape(self) -> Shape:
        ranks = {len(s) for s in self.in_shapes}
        if len(ranks) > 1:
            raise LayerError(f"mul() got branches of different ranks: {_shapes(self.in_shapes)}")
        out = []
        for dims in zip(*self.in_shapes):
            sizes = {d for d in dims if d != 1}
            if len(sizes) > 1:
                raise LayerError(f"mul() cannot broadcast shapes {_shapes(self.in_shapes)}")
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def other_ops(self) -> int:
        return (len(self.in_shapes) - 1) * numel(self.out_shape)

    def saved(self) -> tuple[Saved, ...]:
        return self.saved_for((True,) * len(self.in_shapes))

    def saved_for(self, requires_grad: tuple[bool, ...]) -> tuple[Saved, ...]:
        # Lowered as ((x0 * x1) * x2) * ...: each product keeps one operand for the other's
        # gradient, so an operand is kept only if its partner requires a gradient.
        kept: list[Saved] = []
        left_requires = requires_grad[0]
        for k in range(1, len(self.in_shapes)):
            left = Saved("input", 0) if k == 1 else Saved(
                "extra", elements=numel(_broadcast(self.in_shapes[:k])))
            if requires_grad[k]:
                kept.append(left)
            if left_requires:
                kept.append(Saved("input", k))
            left_requires = left_requires or requires_grad[k]
        return tuple(kept)

    def torch_recipe(self) -> Recipe:
        return recipe("Mul")


class Concat(Merge):
    """Concatenation along an axis (channels by default). No arithmetic; saves nothing."""

    __slots__ = ("axis",)

    def configure(self, args: dict[str, Any]) -> None:
        super().configure(args)
        rank = len(self.in_shape)
        self.axis = args["axis"] % rank if -rank <= args["axis"] < rank else None
        if self.axis is None:
            raise LayerError(f"axis {args['axis']} is out of range for shape {list(self.in_shape)}",
                             "axis")

    def infer_shape(self) -> Shape:
        first = self.in_shapes[0]
        for shape in self.in_shapes[1:]:
            if len(shape) != len(first) or any(
                    a != b for i, (a, b) in enumerate(zip(first, shape)) if i != self.axis):
                raise LayerError(f"concat() got branches whose shapes differ off axis {self.axis}: "
                                 f"{_shapes(self.in_shapes)}")
        joined = sum(s[self.axis] for s in self.in_shapes)
        return first[:self.axis] + (joined,) + first[self.axis + 1:]

    def describe(self) -> str:
        return f"axis={self.axis}" if self.axis else ""

    def torch_recipe(self) -> Recipe:
        return recipe("Concat", self.axis + 1)


def _broadcast(shapes: Sequence[Shape]) -> Shape:
    """The broadcast of shapes of one rank (sizes 1 stretch)."""
    return tuple(max(dims) for dims in zip(*shapes))


_TWO = Example(((4, 5, 6), (4, 5, 6)))
register("add", Add, variadic=True, examples=(_TWO, Example(((3, 7), (3, 7), (3, 7)))),
    doc="elementwise sum of two or more branches of one shape",
    rules=Rules(shape="the branches' common shape",
                other_ops="`(branches - 1) * N_out`",
                field="union of the branches; alignment checked"))
register("mul", Mul, variadic=True, examples=(_TWO, Example(((6, 5, 4), (6, 1, 1))),
                                              Example(((3, 8), (3, 1))),
                                              Example(((3, 4, 5), (3, 1, 5), (1, 4, 1)))),
    doc="elementwise product of two or more branches, broadcasting size-1 axes",
    rules=Rules(shape="the broadcast shape (each axis: equal sizes or 1)",
                other_ops="`(branches - 1) * N_out`",
                saved="every input, and with more than two branches each partial product but "
                      "the last (`numel` of the broadcast of the first `j` inputs, `j = 2 .. "
                      "branches - 1`)",
                field="union; alignment checked"))
register("concat", Concat, (Arg("axis", integer, 0),), variadic=True, examples=(
    Example(((4, 5, 6), (2, 5, 6))), Example(((3, 7), (5, 7), (1, 7))),
    Example(((2, 3, 4), (2, 3, 5)), {"axis": -1}),
),
    doc="concatenation of two or more branches along `axis`",
    rules=Rules(shape="sizes summed along `axis`, others equal",
                allocates="`N_out` (a copy, not a view)",
                field="union; alignment checked"))
