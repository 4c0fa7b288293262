"""How a layer becomes a PyTorch module, as plain data (no torch import).

A layer's `torch_recipe()` returns a `Recipe`: a module class and its constructor
arguments, made only of ints, floats, bools, strings, tuples, None and nested recipes.
`module.build` instantiates it; `codegen` prints it as Python source. One description
serves both, so the generated file builds exactly the module that `build` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """A module to construct: `cls` is "nn.Name" (in torch.nn) or a helper class of
    `netdsl.lowering.ops`; `args` and `kwargs` are plain values or recipes."""

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def is_helper(self) -> bool:
        """True for classes of `netdsl.lowering.ops` (copied into generated files)."""
        return not self.cls.startswith("nn.")

    def helpers(self) -> list[str]:
        """Names of the helper classes this recipe uses, nested recipes included."""
        found = [self.cls] if self.is_helper else []
        for value in (*self.args, *(v for _, v in self.kwargs)):
            if isinstance(value, Recipe):
                found += value.helpers()
        return found

    def instantiate(self) -> Any:
        """The `torch.nn.Module` (imports torch)."""
        from torch import nn

        from netdsl.lowering import ops

        cls = getattr(nn, self.cls[3:]) if not self.is_helper else getattr(ops, self.cls)
        args = [_value(a) for a in self.args]
        return cls(*args, **{k: _value(v) for k, v in self.kwargs})

    def source(self) -> str:
        """The constructor call as Python source (helpers by their bare class name)."""
        parts = [render(a) for a in self.args] + [f"{k}={render(v)}" for k, v in self.kwargs]
        return f"{self.cls}({', '.join(parts)})"


def recipe(cls: str, *args: Any, **kwargs: Any) -> Recipe:
    """Shorthand: `recipe("nn.Conv2d", 3, 8, kernel_size=(3, 3))`."""
    return Recipe(cls, tuple(args), tuple(kwargs.items()))


def _value(value: Any) -> Any:
    return value.instantiate() if isinstance(value, Recipe) else value


def render(value: Any) -> str:
    """A plain value as Python source that evaluates to it (no names but `float`)."""
    if isinstance(value, Recipe):
        return value.source()
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (tuple, list)):
        items = [render(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    raise TypeError(f"cannot render {type(value).__name__} as source")
