"""Layer kinds, one family per module, all registered by DSL name in `REGISTRY`."""

from netdsl.layers import activation, conv, linear, merge, normalization, pooling, rearrange, resize  # noqa: F401
from netdsl.layers.base import Field, Layer, LayerError, Saved, Shape
from netdsl.layers.registry import REGISTRY, LayerSpec, create

__all__ = ["REGISTRY", "Field", "Layer", "LayerError", "LayerSpec", "Saved", "Shape", "create"]
