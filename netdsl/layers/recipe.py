"""How a layer becomes a PyTorch module, as plain data (no torch import).

A layer's `torch_recipe()` returns a `Recipe`: a module class and its constructor
arguments, made only of ints, floats, bools, strings, tuples, None and nested recipes.
It lives here, beside the layers that describe themselves with it; `netdsl.lowering`
reads it (`lowering.recipe.instantiate` builds the module, `lowering.codegen` prints it
as Python source), so the generated file builds exactly the module that `build` does.
"""

from __future__ import annotations

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


def recipe(cls: str, *args: Any, **kwargs: Any) -> Recipe:
    """Shorthand: `recipe("nn.Conv2d", 3, 8, kernel_size=(3, 3))`."""
    return Recipe(cls, tuple(args), tuple(kwargs.items()))
