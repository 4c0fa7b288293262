"""Python names for graph nodes, shared by `module.build` and `codegen` (no torch).

A node `stage0.basic0.conv0` becomes the submodule at attribute path
("stage0", "basic0", "conv0"), so `state_dict()` keys read like the spec. Each part is
made a safe attribute name: characters outside [A-Za-z0-9_] become "_", a leading
digit gets an "n" before it, and a part that is a Python keyword, starts with "_", or
is an attribute of `torch.nn.Module` (`forward`, `train`, `to`, ...) gets a trailing
"_"; clashes between siblings add more "_". Both lowerings call `attribute_paths`,
so their parameter names always agree.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

import networkx as nx

#: Public attributes of `torch.nn.Module` (torch 2.x); a submodule may not shadow them.
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
get_submodule half ipu load_state_dict modules mtia named_buffers named_children
named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train training type xpu zero_grad
""".split())

#: Attributes of netdsl's own `Network` module (lowering/module.py), kept free the same way.
NETWORK_ATTRIBUTES = frozenset({"training_heads"})

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")


def identifier(text: str) -> str:
    """`text` as a valid, non-keyword Python identifier (never empty)."""
    name = _NOT_IDENT.sub("_", text) or "n"
    if name[0].isdigit():
        name = "n" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def attribute_name(part: str) -> str:
    """One dotted part of a node name as a submodule attribute name."""
    name = identifier(part)
    if name.startswith("_") or name in MODULE_ATTRIBUTES or name in NETWORK_ATTRIBUTES:
        name += "_"
    return name


def unique(name: str, taken: set[str]) -> str:
    """`name`, with "_" appended until it is not in `taken` (which it is added to)."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def attribute_paths(graph: nx.MultiDiGraph) -> dict[str, tuple[str, ...]]:
    """The submodule attribute path of every non-input node, in graph order."""
    renamed: dict[tuple[str, ...], str] = {}  # raw path -> its last part, made safe
    taken: dict[tuple[str, ...], set[str]] = {}  # raw container path -> names used in it
    paths: dict[str, tuple[str, ...]] = {}
    for node, data in graph.nodes(data=True):
        if data["layer"].op == "input":
            continue
        parts = tuple(node.split("."))
        safe = []
        for depth in range(1, len(parts) + 1):
            key = parts[:depth]
            if key not in renamed:
                renamed[key] = unique(attribute_name(parts[depth - 1]),
                                      taken.setdefault(key[:-1], set()))
            safe.append(renamed[key])
        paths[node] = tuple(safe)
    return paths


def local_names(nodes: Iterable[str], reserved: Iterable[str]) -> dict[str, str]:
    """A distinct Python local variable name for each node (`stage0.relu1` -> `stage0_relu1`)."""
    taken = set(reserved)
    return {node: unique(identifier(node.replace(".", "_")), taken) for node in nodes}


def class_name(network: str) -> str:
    """A CamelCase class name for a network (`resnet34` -> `Resnet34`, `my_net` -> `MyNet`)."""
    words = [w for w in identifier(network).split("_") if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    return identifier(name if not name[0].isdigit() else "Net" + name)
