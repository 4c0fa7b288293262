"""Whatever a lowering is given, as the graph IR (no torch import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx


def to_graph(source: Any, network: str | None = None, *, inputs: dict | None = None,
             params: dict[str, Any] | None = None, **kwargs: Any) -> nx.MultiDiGraph:
    """The graph IR of a path, `netdsl.api.Spec`, spec text, or an elaborated graph."""
    from netdsl.api import Spec, load, loads

    if isinstance(source, nx.MultiDiGraph):
        if network or inputs or params or kwargs:
            raise TypeError("an elaborated graph takes no network, inputs or parameters")
        return source
    if isinstance(source, Spec):
        spec = source
    elif isinstance(source, Path) or (isinstance(source, str) and "{" not in source):
        spec = load(source)
    elif isinstance(source, str):
        spec = loads(source)
    else:
        raise TypeError(f"cannot build from {type(source).__name__}: give a path, a Spec, "
                        "spec text or a graph")
    return spec.graph(network, inputs, params, **kwargs)
