"""Recipes (netdsl/layers/recipe.py) made real: the module, or its constructor as source."""

from __future__ import annotations

import math
from typing import Any

from netdsl.layers.recipe import Recipe, recipe

__all__ = ["Recipe", "instantiate", "recipe", "render", "source", "torch_module"]


def instantiate(made: Recipe) -> Any:
    """The `torch.nn.Module` a recipe describes (imports torch)."""
    from torch import nn

    from netdsl.lowering import ops

    cls = getattr(nn, made.cls[3:]) if not made.is_helper else getattr(ops, made.cls)
    args = [_value(a) for a in made.args]
    return cls(*args, **{k: _value(v) for k, v in made.kwargs})


def torch_module(layer: Any) -> Any:
    """A `torch.nn.Module` computing a resolved layer, for its input shapes."""
    return instantiate(layer.torch_recipe())


def source(made: Recipe) -> str:
    """The constructor call as Python source (helpers by their bare class name)."""
    parts = [render(a) for a in made.args] + [f"{k}={render(v)}" for k, v in made.kwargs]
    return f"{made.cls}({', '.join(parts)})"


def _value(value: Any) -> Any:
    return instantiate(value) if isinstance(value, Recipe) else value


def render(value: Any) -> str:
    """A plain value as Python source that evaluates to it (no names but `float`)."""
    if isinstance(value, Recipe):
        return source(value)
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
