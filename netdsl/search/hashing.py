"""Canonical network hashes: equal for graphs that are the same network.

Two graphs are the same network when they are isomorphic with the same layers: a
bijection of nodes that keeps each node's layer (kind, arguments, shapes) and each edge
with its input position, and the outputs in order. Node names, block paths, source spans
and decision names do not matter.

The hash combines three things, all invariant under renaming:

1. an *upward* (Merkle) hash per node: its layer and its inputs' upward hashes, in order,
   or sorted for commutative merges (`add`, `mul`): the expression that computes it;
2. a *downward* hash per node: its upward hash and the multiset of (consumer's downward
   hash, input position) pairs, computed in reverse topological order: how it is used;
3. the sorted multiset of (upward, downward) pairs of all nodes, and the outputs' upward
   hashes in order.

The upward hash alone is not enough: `add(conv(x), conv(x))` made of two separate,
identically configured convolutions and the same `add` fed twice by one shared
convolution have the same expression tree, but they are different networks (the first
has twice the parameters). Their node multisets differ (two conv nodes vs one), and the
downward hashes tell who feeds whom. Isomorphic graphs always hash alike; the reverse is a
strong invariant (one round of refinement in each direction over ordered, labelled DAGs),
and `isomorphic` decides it exactly when two candidates share a hash and it matters.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

import networkx as nx

from netdsl.graph import PlainGraph, node_columns, node_table

#: Merges whose inputs can be reordered without changing the network.
COMMUTATIVE = frozenset({"add", "mul"})

_SKIPPED_SLOTS = frozenset({"in_shapes"})


def layer_key(layer: Any) -> str:
    """Everything that makes a layer what it is: class, op, arguments, output shape.

    Read from the layer's public slots (the private ones are analysis caches); input
    shapes are left out, since the inputs' own hashes carry them.
    """
    parts = [type(layer).__name__, layer.op]
    for cls in type(layer).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot.startswith("_") or slot in _SKIPPED_SLOTS or slot == "op":
                continue
            parts.append(f"{slot}={_plain(getattr(layer, slot, None))}")
    return "|".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_plain(v) for v in value) + ")"
    return repr(value)


def _digest(text: str) -> str:
    # stable across processes (workers of one study compare hashes), unlike hash()
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


#: layer -> digest of its key. Layers are immutable and shared (the layer cache, memoised
#: calls), so most of a candidate's layers were keyed for an earlier candidate.
_KEYS: dict[Any, str] = {}
_KEYS_LIMIT = 200_000


def _layer_digest(layer: Any) -> str:
    key = _KEYS.get(layer)
    if key is None:
        if len(_KEYS) >= _KEYS_LIMIT:
            _KEYS.clear()
        key = _KEYS[layer] = _digest(layer_key(layer))
    return key


def _nodes(graph: nx.MultiDiGraph | PlainGraph) -> tuple[list[str], list[Any],
                                                        list[tuple[str, ...]], set[str]]:
    """A graph's node names, layers and inputs, in order, and the nodes marked training
    only (`heads.mark_training_only`; a plain graph has none)."""
    names, layers, _, _, inputs = node_columns(graph)
    table = node_table(graph)
    if table is None:
        return names, layers, inputs, set()
    return names, layers, inputs, {n for n, data in table.items() if data.get("train_only")}


def node_hashes(graph: nx.MultiDiGraph | PlainGraph) -> tuple[dict[str, str], dict[str, str]]:
    """The upward and downward hash of every node (see the module docstring)."""
    names, layers, inputs_of, marked = _nodes(graph)
    up: dict[str, str] = {}
    consumers: dict[str, list[tuple[str, int]]] = {node: [] for node in names}
    for node, layer, preds in zip(names, layers, inputs_of):
        key = _layer_digest(layer)
        inputs = [up[p] for p in preds]
        commutative = layer.op in COMMUTATIVE
        if commutative:
            inputs.sort()
        marks = "t" if node in marked else ""
        up[node] = _digest(f"{key}#{marks}({','.join(inputs)})")
        for position, p in enumerate(preds):
            consumers[p].append((node, -1 if commutative else position))
    down: dict[str, str] = {}
    outputs = {o: i for i, o in enumerate(graph.graph.get("outputs", ()))}
    for node in reversed(names):
        used = sorted(f"{down[c]}@{pos}" for c, pos in consumers[node])
        out = outputs.get(node, -1)
        down[node] = _digest(f"{up[node]}>{out}[{','.join(used)}]")
    return up, down


#: Memoised upward digests: a node's is a function of its layer's digest, its marks and
#: its inputs' upward digests. Search candidates share records and whole upstream paths
#: (memoised block calls), and a duplicate candidate repeats all of them (measured: about
#: half the nodes of a fresh resnet_space candidate hit, a tenth of a mnas_space one).
#: Keys are tuples of strings, which the garbage collector stops tracking (with a layer
#: record in them, each of a long search's keys stayed for every full collection to scan).
_UP: dict[tuple, str] = {}
_MEMO_LIMIT = 200_000


def memo_node_hashes(graph: nx.MultiDiGraph | PlainGraph
                     ) -> tuple[list[str], list[str], list[str]]:
    """`node_hashes` by node position (in graph order), with each upward digest looked up
    in the memo before it is computed; and the outputs' upward digests, in order."""
    if len(_UP) >= _MEMO_LIMIT:
        _UP.clear()
    names, layers, inputs_of, marked = _nodes(graph)
    position = {name: i for i, name in enumerate(names)}
    up: list[str] = []
    # per node: its consumers' (position, input position); -1 for a commutative merge's
    consumers: list[list[tuple[int, int]]] = [[] for _ in names]
    up_get, keys_get = _UP.get, _KEYS.get
    for i, (layer, preds) in enumerate(zip(layers, inputs_of)):
        at = [position[p] for p in preds]
        inputs = [up[p] for p in at]
        commutative = layer.op in COMMUTATIVE
        if commutative:
            inputs.sort()
        marks = "t" if marked and names[i] in marked else ""
        kind = keys_get(layer) or _layer_digest(layer)
        key = (kind, marks, *inputs)
        digest = up_get(key)
        if digest is None:
            digest = _UP[key] = _digest(f"{kind}#{marks}({','.join(inputs)})")
        up.append(digest)
        for k, p in enumerate(at):
            consumers[p].append((i, -1 if commutative else k))
    # downward digests: not memoised (they depend on everything downstream, and a new
    # candidate almost never repeats one: measured hit rate under 6%)
    down = [""] * len(names)
    out_at = [-1] * len(names)
    outputs = [position[o] for o in graph.graph.get("outputs", ())]
    for k, o in enumerate(outputs):
        out_at[o] = k
    blake2b = hashlib.blake2b
    for i in range(len(names) - 1, -1, -1):
        used = consumers[i]
        if len(used) == 1:  # most nodes
            c, pos = used[0]
            text = f"{up[i]}>{out_at[i]}[{down[c]}@{pos}]"
        else:
            uses = sorted([f"{down[c]}@{pos}" for c, pos in used])
            text = f"{up[i]}>{out_at[i]}[{','.join(uses)}]"
        down[i] = blake2b(text.encode(), digest_size=12).hexdigest()  # (`_digest`, inline)
    return up, down, [up[o] for o in outputs]


def network_hash(graph: nx.MultiDiGraph | PlainGraph) -> str:
    """The canonical hash of a graph: a hex string, equal for the same network."""
    up, down, outputs = memo_node_hashes(graph)
    pairs = sorted([f"{u}:{d}" for u, d in zip(up, down)])
    return _digest("nodes:" + ",".join(pairs) + ";outputs:" + ",".join(outputs))


def reference_hash(graph: nx.MultiDiGraph | PlainGraph) -> str:
    """`network_hash` computed afresh (no memo): what the fast path is tested against."""
    up, down = node_hashes(graph)
    pairs = sorted(f"{up[n]}:{down[n]}" for n in up)
    outputs = [up[o] for o in graph.graph.get("outputs", ())]
    return _digest("nodes:" + ",".join(pairs) + ";outputs:" + ",".join(outputs))


def _labelled(graph: nx.MultiDiGraph) -> nx.DiGraph:
    """A plain DiGraph for matching: nodes labelled by upward hash, edges by input positions
    (a count alone for commutative merges)."""
    up, _ = node_hashes(graph)
    plain = nx.DiGraph()
    for node, data in graph.nodes(data=True):
        plain.add_node(node, label=up[node])
        commutative = data["layer"].op in COMMUTATIVE
        for position, p in enumerate(data["inputs"]):
            if plain.has_edge(p, node):
                plain[p][node]["positions"].append(-1 if commutative else position)
            else:
                plain.add_edge(p, node, positions=[-1 if commutative else position])
    return plain


def isomorphic(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    """Whether two graphs are exactly the same network (VF2 on layers and input positions)."""
    if a.number_of_nodes() != b.number_of_nodes() or a.number_of_edges() != b.number_of_edges():
        return False
    matcher = nx.algorithms.isomorphism.DiGraphMatcher(
        _labelled(a), _labelled(b), node_match=lambda x, y: x["label"] == y["label"],
        edge_match=lambda x, y: sorted(x["positions"]) == sorted(y["positions"]))
    outputs_a, outputs_b = a.graph.get("outputs", []), b.graph.get("outputs", [])
    return any([mapping[o] for o in outputs_a] == list(outputs_b)
               for mapping in matcher.isomorphisms_iter())


__all__ = ["COMMUTATIVE", "isomorphic", "layer_key", "network_hash", "node_hashes",
           "reference_hash"]
