"""netdsl: a declarative network-definition compiler and static graph analyzer.

    >>> import netdsl
    >>> spec = netdsl.load("specs/resnet34.net")
    >>> report = spec.analyze(batch=32)
    >>> report.totals.params
    21797672

Analysis never imports torch; `netdsl.build` (the PyTorch lowering) does.
"""

from __future__ import annotations

from typing import Any

from netdsl.api import Spec, load, loads
from netdsl.errors import NetdslError, Span

__version__ = "0.1.0"
__all__ = ["NetdslError", "Span", "Spec", "build", "load", "loads", "__version__"]


def build(source: Any, network: str | None = None, **kwargs: Any) -> Any:
    """Lower a spec (path, Spec, text or graph) to a `torch.nn.Module` (imports torch)."""
    from netdsl.lowering.module import build as _build

    return _build(source, network, **kwargs)
