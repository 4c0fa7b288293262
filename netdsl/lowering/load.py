"""Whatever a lowering is given, as the graph IR (no torch import).

Lowering sits on the language, not on the Python API: a path or spec text is loaded
with `netdsl.language` directly, and a parsed spec (`netdsl.Spec`, or anything with the
same `graph(network, inputs, params, **values)` method) is asked for its graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from netdsl.language.elaborate import elaborate
from netdsl.language.loader import load_file, load_text


def to_graph(source: Any, network: str | None = None, *, inputs: dict | None = None,
             params: dict[str, Any] | None = None, decisions: Any = None,
             **kwargs: Any) -> nx.MultiDiGraph:
    """The graph IR of a path, `netdsl.Spec`, spec text, or an elaborated graph
    (`decisions` answers a search space's decisions, as for `Spec.graph`)."""
    if isinstance(source, nx.MultiDiGraph):
        if network or inputs or params or kwargs or decisions is not None:
            raise TypeError("an elaborated graph takes no network, inputs, parameters or "
                            "decisions")
        return source
    if callable(getattr(source, "graph", None)):
        if decisions is not None:
            kwargs["decisions"] = decisions
        return source.graph(network, inputs, params, **kwargs)
    if isinstance(source, Path) or (isinstance(source, str) and "{" not in source):
        program = load_file(source)
    elif isinstance(source, str):
        program = load_text(source)
    else:
        raise TypeError(f"cannot build from {type(source).__name__}: give a path, a Spec, "
                        "spec text or a graph")
    return elaborate(program, network, {**(params or {}), **kwargs}, inputs, decisions)
