"""The assignments a space has evaluated: one met again is the earlier candidate, served
without elaborating, hashing or analysing it again.

Elaboration is deterministic given the answers its decisions get: with the same answers
so far it asks the source the same next decision (the same name and domain), or it ends
with the same network (or the same error). So the assignments a space has evaluated form
a tree asked from the root: each inner node is the decision asked after the answers on
its path, each edge an answer, each leaf a candidate.

`SeenAssignments.find` asks the source what an elaboration would ask, in the same order,
until it reaches a leaf or an answer not seen yet. The source is asked exactly what an
elaboration would ask it: a random source draws the same numbers, an Optuna trial is
suggested the same parameters. After a miss the elaboration takes the answers already
given (`Answered`) instead of asking for them again.

Only the decisions an assignment reaches are on its path: two assignments that differ
only in decisions neither reaches are one leaf. Two that answer a reached decision
differently and still make the same network are two leaves; the network hash and the
kept analyses (`Space`) catch those.

The tree is two dicts of node numbers and frozen answers, which the garbage collector
does not track. An object per node would be thousands of them (a mnas_space candidate
reaches 57 decisions) for every full collection to rescan while the space lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.language.choices import fit
from netdsl.language.decisions import Decision
from netdsl.language.memo import freeze

#: Leaves (candidates) a space keeps; the least recently met go first.
ASSIGNMENTS_KEPT = 512

_ROOT = 0


def answer_key(decision: Decision, answer: Any) -> Any:
    """The edge an answer takes from its decision's node: its value as the domain holds
    it, frozen; None for an answer the decision refuses (elaboration reports it) or one
    that cannot be frozen (never kept)."""
    value = fit(decision.domain, answer)
    if not decision.domain.contains(value):
        return None
    try:
        return freeze(value)
    except TypeError:
        return None


class SeenAssignments:
    """The tree of a space's evaluated assignments (see the module docstring), bounded
    by `limit` leaves."""

    __slots__ = ("limit", "_asks", "_edges", "_fanout", "_leaves", "_numbered")

    def __init__(self, limit: int = ASSIGNMENTS_KEPT) -> None:
        self.limit = limit
        # node -> the decision asked there, or, at a leaf, its candidate
        self._asks: dict[int, Any] = {}
        self._edges: dict[tuple[int, Any], int] = {}  # (node, answer key) -> child node
        self._fanout: dict[int, int] = {}  # node -> how many edges leave it
        # leaf -> the edges of its path from the root; least recently met first
        self._leaves: dict[int, tuple[tuple[int, Any], ...]] = {}
        self._numbered = 1  # node numbers given so far (the root is 0)

    def __len__(self) -> int:
        """How many assignments are kept."""
        return len(self._leaves)

    def find(self, source: Any) -> tuple[Any, list[tuple[Decision, Any]]]:
        """The candidate of the assignment `source` gives, or None when not kept; and the
        (decision, answer) pairs asked on the way, in order."""
        asked: list[tuple[Decision, Any]] = []
        node = _ROOT
        entry = self._asks.get(node)
        while entry is not None:
            if not isinstance(entry, Decision):  # a leaf
                self._leaves[node] = self._leaves.pop(node)  # met again: kept the longest
                return entry, asked
            answer = source.decide(entry)
            asked.append((entry, answer))
            child = self._edges.get((node, answer_key(entry, answer)))
            if child is None:
                break
            node, entry = child, self._asks.get(child)
        return None, asked

    def add(self, asked: Sequence[tuple[Decision, Any]], candidate: Any) -> None:
        """Keep `candidate` as the leaf of the path its elaboration asked (every decision
        it reached, in order, and the answer given); a path with an answer that cannot
        be kept is not."""
        if self.limit <= 0:
            return
        keys = [answer_key(decision, answer) for decision, answer in asked]
        if any(key is None for key in keys):
            return
        if not self._fits(asked, keys):
            return
        node, path = _ROOT, []
        for (decision, _), key in zip(asked, keys):
            self._asks.setdefault(node, decision)
            child = self._edges.get((node, key))
            if child is None:
                child = self._edges[(node, key)] = self._numbered
                self._numbered += 1
                self._fanout[node] = self._fanout.get(node, 0) + 1
            path.append((node, key))
            node = child
        self._asks[node] = candidate
        self._leaves[node] = tuple(path)
        while len(self._leaves) > self.limit:
            self._forget(next(iter(self._leaves)))

    def _fits(self, asked: Sequence[tuple[Decision, Any]], keys: list[Any]) -> bool:
        """Whether the path is new and agrees with the tree: every node it passes asks the
        decision it asked (always so for a deterministic elaboration; checked, so that a
        path that does not agree is never kept)."""
        node: int | None = _ROOT
        for (decision, _), key in zip(asked, keys):
            entry = self._asks.get(node) if node is not None else None
            if entry is None:
                return True  # the rest of the path is new
            if not isinstance(entry, Decision) or entry.name != decision.name:
                return False
            node = self._edges.get((node, key))  # type: ignore[arg-type]
            if node is None:
                return True
        return node is None or node not in self._asks

    def _forget(self, leaf: int) -> None:
        """Drop a leaf and every node only it kept."""
        path = self._leaves.pop(leaf)
        del self._asks[leaf]
        for node, key in reversed(path):
            del self._edges[(node, key)]
            left = self._fanout[node] - 1
            if left:
                self._fanout[node] = left
                return
            del self._fanout[node], self._asks[node]


class Answered:
    """A decision source that gives the answers a walk of the tree already asked, in
    order, then asks `inner`."""

    def __init__(self, asked: Sequence[tuple[Decision, Any]], inner: Any) -> None:
        self.asked, self.inner, self.given = asked, inner, 0

    def decide(self, decision: Decision) -> Any:
        """The answer given on the walk to the same decision, else the inner source's."""
        k = self.given
        if k < len(self.asked):
            if self.asked[k][0].name == decision.name:
                self.given = k + 1
                return self.asked[k][1]
            self.given = len(self.asked)  # (never so: elaboration asks in the same order)
        return self.inner.decide(decision)
