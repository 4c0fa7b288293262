"""The Python API: parse a spec once, then elaborate and analyse it many times."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from netdsl.language.decisions import DecisionSource
from netdsl.language.elaborate import elaborate
from netdsl.language.loader import Program, load_file, load_text
from netdsl.layers.base import Shape

if TYPE_CHECKING:
    from netdsl.analysis.report import Report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a graph is built and analysed.

    An analysis allocates a few thousand small objects in one burst and makes no reference
    cycles; with the collector running, that burst triggers collections that rescan the
    whole heap (the caller's objects too), which made ResNet-50 analyses ~1.5x slower and
    much less steady. The collector is restored afterwards, only if it was running.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Spec:
    """A parsed spec file (with its imports), ready to be bound and analysed."""

    def __init__(self, program: Program) -> None:
        self.program = program

    @property
    def path(self) -> str:
        """The spec's file path (or "<string>")."""
        return self.program.path

    @property
    def networks(self) -> list[str]:
        """Names of the networks the file defines."""
        return list(self.program.networks)

    def graph(self, network: str | None = None, inputs: dict[str, Shape] | None = None,
              params: dict[str, Any] | None = None, *,
              decisions: DecisionSource | Mapping[str, Any] | None = None,
              **kwargs: Any) -> nx.MultiDiGraph:
        """Elaborate one network with parameter values (keywords or `params`) to the IR.

        `decisions` answers the spec's search decisions (a `DecisionSource`, or a mapping
        of decision names to values); the others take their defaults.
        """
        with _collector_paused():
            return elaborate(self.program, network, {**(params or {}), **kwargs}, inputs,
                             decisions)

    def analyze(self, network: str | None = None, *, batch: int = 1, dtype: str = "float32",
                optimizer: str = "sgd", inputs: dict[str, Shape] | None = None,
                params: dict[str, Any] | None = None,
                decisions: DecisionSource | Mapping[str, Any] | None = None,
                **kwargs: Any) -> Report:
        """Elaborate and run every analysis; keywords other than the options are parameters."""
        from netdsl.analysis.report import analyze_graph

        with _collector_paused():
            graph = self.graph(network, inputs, params, decisions=decisions, **kwargs)
            return analyze_graph(graph, batch=batch, dtype=dtype, optimizer=optimizer)


def load(path: str | Path) -> Spec:
    """Parse a spec file and its imports."""
    return Spec(load_file(path))


def loads(text: str, path: str = "<string>") -> Spec:
    """Parse spec text (imports resolve relative to `path`)."""
    return Spec(load_text(text, path))
