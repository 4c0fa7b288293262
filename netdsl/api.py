"""The Python API: parse a spec once, then elaborate and analyse it many times."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netdsl.errors import TORCH_CPU_INSTALL
from netdsl.graph import PlainGraph, as_networkx, plain_graphs
from netdsl.language.decisions import DecisionSource
from netdsl.language.elaborate import elaborate
from netdsl.language.loader import Program, load_file, load_text
from netdsl.layers.base import Shape

if TYPE_CHECKING:
    import networkx as nx
    from torch import nn

    from netdsl.analysis.report import Report


@contextmanager
def collector_paused(restore: bool = True) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a graph is built and analysed.

    An analysis allocates a few thousand small objects in one burst and makes no reference
    cycles; with the collector running, that burst triggers collections that rescan the
    whole heap (the caller's objects too), which made ResNet-50 analyses ~1.5x slower and
    much less steady. The collector is restored afterwards, only if it was running (and
    `restore`: a process about to end need not).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled and restore:
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
        with collector_paused():
            return elaborate(self.program, network, {**(params or {}), **kwargs}, inputs,
                             decisions)

    def plain_graph(self, network: str | None = None, inputs: dict[str, Shape] | None = None,
                    params: dict[str, Any] | None = None, *,
                    decisions: DecisionSource | Mapping[str, Any] | None = None,
                    **kwargs: Any) -> nx.MultiDiGraph | PlainGraph:
        """`graph`, for a caller that analyses it and may never read it (`analyze`, a
        search): a `graph.PlainGraph` (networkx's graph would be a few hundred more
        objects for the garbage collector, and networkx need not be imported), or
        networkx's for a network with named outputs, whose heads' analysis reads it."""
        with plain_graphs():
            graph = self.graph(network, inputs, params, decisions=decisions, **kwargs)
        return as_networkx(graph) if graph.graph.get("named_outputs") else graph

    def analyze(self, network: str | None = None, *, batch: int = 1, dtype: str = "float32",
                optimizer: str = "sgd", inputs: dict[str, Shape] | None = None,
                params: dict[str, Any] | None = None,
                decisions: DecisionSource | Mapping[str, Any] | None = None,
                **kwargs: Any) -> Report:
        """Elaborate and run every analysis; keywords other than the options are parameters."""
        from netdsl.analysis.report import analyze_graph

        with collector_paused():
            # a plain graph (networkx's is made if `report.graph` is read): a search reads
            # the totals of most candidates and never their graph
            graph = self.plain_graph(network, inputs, params, decisions=decisions, **kwargs)
            return analyze_graph(graph, batch=batch, dtype=dtype, optimizer=optimizer)


    def space(self, network: str | None = None, **options: Any) -> Any:
        """The search space of a network (`netdsl.search.Space`; options: batch, dtype,
        optimizer, inputs, params, constraints)."""
        from netdsl.search.space import Space

        return Space(self, network, **options)

    def draw(self, network: str | None = None, **options: Any) -> Any:
        """The network as a picture (`netdsl.draw.draw_spec`: depth, color, direction,
        inputs, params, ...); a `Drawing` shows itself in Jupyter, `.save("net.svg")`."""
        from netdsl.draw import draw_spec

        return draw_spec(self, network, **options)

    def _repr_html_(self) -> str | None:
        from netdsl.errors import NetdslError

        try:  # a file of several networks has no one picture: Jupyter shows repr()
            return self.draw()._repr_html_()
        except NetdslError:
            return None


def load(path: str | Path, allow_import_paths: Sequence[str | Path] = ()) -> Spec:
    """Parse a spec file and its imports (inside its folder tree, the standard library and
    the `allow_import_paths` folders: docs/language.md, "Imports")."""
    return Spec(load_file(path, allow_import_paths))


def loads(text: str, path: str = "<string>",
          allow_import_paths: Sequence[str | Path] = ()) -> Spec:
    """Parse spec text (imports resolve relative to `path`)."""
    return Spec(load_text(text, path, allow_import_paths))


def build(source: str | Path | Spec | nx.MultiDiGraph, network: str | None = None, *,
          inputs: dict[str, Shape] | None = None, params: dict[str, Any] | None = None,
          init: str = "default", zero_init_residual: bool = False, **values: Any) -> nn.Module:
    """Lower a spec to a trainable `torch.nn.Module` (imports torch).

    `source`: a spec file path, a `Spec`, spec text, or an elaborated graph
    (`Spec.graph()`). `network`: which network of the file (default: its only one).
    `inputs`: input shapes by name, e.g. `{"image": (3, 512, 512)}`. `params` and any
    other keyword (`classes=10`): network parameter values. `init="kaiming"`:
    torchvision's initialisation; `zero_init_residual=True`: zero the last batch norm of
    every residual branch. The submodules are named after the graph's nodes, so
    `state_dict()` keys read like the spec.
    """
    try:
        from netdsl.lowering.module import build as lower
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise ModuleNotFoundError(f"netdsl.build needs PyTorch; for the CPU wheel: "
                                  f"{TORCH_CPU_INSTALL}", name="torch") from None
    return lower(source, network, inputs=inputs, params=params, init=init,
                 zero_init_residual=zero_init_residual, **values)
