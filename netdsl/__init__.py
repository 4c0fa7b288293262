"""netdsl: a declarative network-definition compiler and static graph analyzer.

    >>> import netdsl
    >>> spec = netdsl.load("specs/resnet34.net")
    >>> report = spec.analyze(batch=32)
    >>> report.totals.params
    21797672
    >>> print(report)          # the table, as `netdsl analyze` prints it

Analysis never imports torch; `netdsl.build` (the PyTorch lowering) does. Every error
is a `NetdslError` (see `netdsl.errors` for the kinds).
"""

from __future__ import annotations

from netdsl.analysis.report import Report
from netdsl.api import Spec, build, load, loads
from netdsl.errors import (
    LimitError,
    NetdslError,
    Note,
    Span,
    SpecNotFoundError,
    UnknownLayerError,
    UsageError,
)

__version__ = "0.1.0"
__all__ = ["LimitError", "NetdslError", "Note", "Report", "Span", "Spec", "SpecNotFoundError",
           "UnknownLayerError", "UsageError", "__version__", "build", "load", "loads"]


def __dir__() -> list[str]:
    """The public names only (not the submodules or `annotations`)."""
    return sorted(__all__)
