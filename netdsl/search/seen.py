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

The tree is a few dicts of node numbers and frozen answers, and a path has nodes only
down to where it leaves the others: its leaf keeps the rest of it. An object per node
would be thousands (a mnas_space candidate reaches 57 decisions) for every full
collection to rescan while the space lives; a kept candidate leaves about 20.
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
    it, frozen; None for one that cannot be frozen (never kept). (An answer the domain
    refuses has an edge too: its leaf is the candidate with that located error.)"""
    try:
        return freeze(fit(decision.domain, answer))
    except TypeError:
        return None


class _Leaf:
    """A kept assignment: its candidate, and the decisions and answer keys of its path
    below the node it hangs from (a path is made of nodes only where it branches)."""

    __slots__ = ("candidate", "decisions", "keys")

    def __init__(self, candidate: Any, decisions: tuple[Decision, ...], keys: tuple) -> None:
        self.candidate, self.decisions, self.keys = candidate, decisions, keys


class SeenAssignments:
    """The tree of a space's evaluated assignments (see the module docstring), bounded
    by `limit` leaves.

    Nodes are numbered. An inner node asks a decision and has an edge per answer seen;
    a leaf keeps the rest of its path itself, so a path is made of nodes only down to
    where it leaves the others (a mnas_space candidate reaches 57 decisions, and
    sampled ones part within the first few).
    """

    __slots__ = ("limit", "_asks", "_edges", "_fanout", "_parent", "_leaves", "_numbered")

    def __init__(self, limit: int = ASSIGNMENTS_KEPT) -> None:
        self.limit = limit
        self._clear()

    def _clear(self) -> None:
        """Forget every assignment."""
        self._asks: dict[int, Decision | _Leaf] = {}  # node -> its decision, or its leaf
        self._edges: dict[tuple[int, Any], int] = {}  # (node, answer key) -> child node
        self._fanout: dict[int, int] = {}  # inner node -> how many edges leave it
        self._parent: dict[int, tuple[int, Any]] = {}  # node -> the edge into it
        self._leaves: dict[_Leaf, int] = {}  # leaf -> its node; least recently met first
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
            if isinstance(entry, _Leaf):
                for decision, key in zip(entry.decisions, entry.keys):
                    answer = source.decide(decision)
                    asked.append((decision, answer))
                    if answer_key(decision, answer) != key:
                        return None, asked
                self._leaves[entry] = self._leaves.pop(entry)  # met again: kept the longest
                return entry.candidate, asked
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
        if None in keys:
            return
        node, i = _ROOT, 0
        while True:
            entry = self._asks.get(node)
            if entry is None:  # the path leaves the tree here: its leaf keeps the rest
                leaf = _Leaf(candidate, tuple(d for d, _ in asked[i:]), tuple(keys[i:]))
                self._asks[node], self._leaves[leaf] = leaf, node
                break
            if isinstance(entry, _Leaf):
                if not self._split(node, entry, asked, keys, i):
                    return
                continue  # `node` asks now where the two paths part
            if i == len(asked) or entry.name != asked[i][0].name:
                # the path does not agree with the tree (never so for a deterministic
                # elaboration; checked, so that what is kept is always right)
                self._clear()
                return
            node, i = self._child(node, keys[i]), i + 1
        while len(self._leaves) > self.limit:
            self._forget(next(iter(self._leaves)))

    def _child(self, node: int, key: Any) -> int:
        """The node an edge leads to, made when new."""
        child = self._edges.get((node, key))
        if child is None:
            child = self._edges[(node, key)] = self._numbered
            self._numbered += 1
            self._fanout[node] = self._fanout.get(node, 0) + 1
            self._parent[child] = (node, key)
        return child

    def _split(self, node: int, leaf: _Leaf, asked: Sequence[tuple[Decision, Any]],
               keys: list[Any], i: int) -> bool:
        """Make inner nodes of the run a kept leaf's path shares with a new path from
        `node` (position `i` of the new path), down to where they part; the leaf moves
        below. False, with nothing kept, when the two do not part (the same assignment,
        or paths that disagree)."""
        rest = keys[i:]
        shared = 0
        while (shared < len(leaf.keys) and shared < len(rest)
               and leaf.keys[shared] == rest[shared]):
            shared += 1
        if shared == len(leaf.keys) == len(rest):
            return False  # the same assignment, kept already
        if shared in (len(leaf.keys), len(rest)) or any(
                leaf.decisions[t].name != asked[i + t][0].name for t in range(shared + 1)):
            self._clear()  # the paths disagree (see `add`)
            return False
        for t in range(shared + 1):
            self._asks[node] = leaf.decisions[t]
            node = self._child(node, leaf.keys[t])
        self._asks[node] = leaf
        self._leaves[leaf] = node  # (its place among the least recently met is kept)
        leaf.decisions, leaf.keys = leaf.decisions[shared + 1:], leaf.keys[shared + 1:]
        return True

    def _forget(self, leaf: _Leaf) -> None:
        """Drop a leaf and every node only it kept."""
        node = self._leaves.pop(leaf)
        del self._asks[node]
        while node != _ROOT:
            parent, key = self._parent.pop(node)
            del self._edges[(parent, key)]
            left = self._fanout[parent] - 1
            if left:
                self._fanout[parent] = left
                return
            del self._fanout[parent], self._asks[parent]
            node = parent


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
