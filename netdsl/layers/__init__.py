"""Layer kinds, one family per module, all registered by DSL name in `REGISTRY`.

Every module of this package is imported here (in name order), so a new family file
registers its layers without being listed anywhere: adding a layer touches one file.
The package is a leaf: it imports nothing else of netdsl (see docs/architecture.md).
"""

import importlib
import pkgutil

from netdsl.layers.base import Field, Layer, LayerError, Saved, Shape
from netdsl.layers.registry import REGISTRY, LayerSpec, Rules, create

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["REGISTRY", "Field", "Layer", "LayerError", "LayerSpec", "Rules", "Saved", "Shape",
           "create"]
