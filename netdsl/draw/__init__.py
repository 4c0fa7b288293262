"""Pictures of networks: an annotated, layered graph with blocks as nested boxes.

`netdsl draw SPEC -o net.html|.svg|.dot`, `Spec.draw()` and `Report.draw()` give a
`Drawing`; in Jupyter it displays itself (the interactive HTML in an iframe). The layout
is ELK's (see netdsl/draw/render.py); docs/draw.md describes the picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from netdsl.draw.capture import Capture, capture
from netdsl.draw.model import METRICS, Options, build_model
from netdsl.errors import NetdslError, UsageError

if TYPE_CHECKING:
    from netdsl.analysis.report import Report
    from netdsl.api import Spec

FORMATS = ("html", "svg", "dot")


class Drawing:
    """A picture of one network (or of as much of it as elaborated before a mistake)."""

    def __init__(self, model: dict[str, Any], error: NetdslError | None = None) -> None:
        self.model = model
        #: the spec's mistake, when the picture stops at it
        self.error = error

    def html(self) -> str:
        """A self-contained interactive page (no network access when opened)."""
        from netdsl.draw.render import to_html

        return to_html(self.model)

    def svg(self) -> str:
        """A static SVG document (laid out without a browser)."""
        from netdsl.draw.render import to_svg

        return to_svg(self.model)

    def dot(self) -> str:
        """Graphviz source, blocks as clusters."""
        from netdsl.draw.render import to_dot

        return to_dot(self.model)

    def save(self, path: str | Path) -> Path:
        """Write the picture; the format is the file's suffix (.html, .svg or .dot)."""
        path = Path(path)
        kind = path.suffix.lstrip(".").lower()
        if kind not in FORMATS:
            raise UsageError(f"cannot draw to '{path}': the file must end in "
                             f"{', '.join('.' + f for f in FORMATS)}")
        text = {"html": self.html, "svg": self.svg, "dot": self.dot}[kind]()
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write '{path}': {exc.strerror}") from None
        return path

    def _repr_html_(self) -> str:
        from netdsl.draw.render import to_iframe

        return to_iframe(self.model)


def check_options(depth: int | None, color: str | None, direction: str) -> Options:
    """Drawing options, refused with a usage error when out of range."""
    if depth is not None and depth < 1:
        raise UsageError(f"depth must be at least 1, got {depth}")
    if color is not None and color not in METRICS:
        raise UsageError(f"unknown color metric '{color}'; choose one of {', '.join(METRICS)}")
    if direction not in ("TB", "LR"):
        raise UsageError(f"direction must be TB or LR, got '{direction}'")
    return Options(depth=depth, color=color, direction=direction)


def draw_spec(spec: Spec, network: str | None = None, *, inputs: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, depth: int | None = None,
              color: str | None = None, direction: str = "TB", fold_runs: bool = False,
              batch: int = 1, dtype: str = "float32", optimizer: str = "sgd",
              decisions: Any = None) -> Drawing:
    """The picture of one network of a spec; a mistake in the spec is drawn, not raised
    (it is kept in `Drawing.error`). `decisions` answers search decisions (a
    `DecisionSource` or a mapping of names to values), as in `Spec.graph`."""
    options = check_options(depth, color, direction)
    options.fold_runs = fold_runs
    captured = capture(spec.program, network, params, inputs, decisions)
    report = None
    if captured.error is None:
        from netdsl.analysis.report import analyze_graph

        try:
            report = analyze_graph(captured.graph, batch=batch, dtype=dtype, optimizer=optimizer)
        except UsageError:
            raise
        except NetdslError as exc:  # an analysis refuses the graph: draw it, marked, unnumbered
            captured.error = exc
    return Drawing(build_model(captured, report, options), captured.error)


def draw_report(report: Report, graph: nx.MultiDiGraph | None, *, depth: int | None = None,
                color: str | None = None, direction: str = "TB",
                fold_runs: bool = False) -> Drawing:
    """The picture of an analysed graph (boxes are labelled with block names only: the
    call arguments are known to `draw_spec`, which elaborates again)."""
    if graph is None:
        raise UsageError("this report keeps no graph to draw; draw the spec (Spec.draw)")
    options = check_options(depth, color, direction)
    options.fold_runs = fold_runs
    return Drawing(build_model(Capture(graph), report, options))


__all__ = ["Drawing", "draw_report", "draw_spec"]
