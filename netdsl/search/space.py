"""Search spaces and candidates: the Python API of `netdsl.search`.

    >>> space = netdsl.load("specs/search/mnas_space.net").space()   # or Space(spec)
    >>> space.size()
    >>> candidate = space.sample(random.Random(0))
    >>> candidate.feasible, candidate.hash, candidate.totals["macs"]

A candidate is one assignment of the decisions elaboration reaches. Making one costs an
elaboration, an analysis, the constraints and a hash, without torch; a combination that
cannot elaborate (a shape mismatch, a failed `assert`) is an *invalid* candidate carrying
its located error, never an exception.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from netdsl.analysis.constraints import (
    Constraint,
    Violation,
    check,
    constraints_of,
    parse_constraint,
    quantities,
    validate,
)
from netdsl.api import collector_paused
from netdsl.errors import NetdslError, Span, UsageError
from netdsl.graph import PlainGraph, networkx_property
from netdsl.language.choices import same_value, show_domain
from netdsl.language.decisions import Decision, Domain, FloatRange, IntRange
from netdsl.language.display import literal
from netdsl.search.frozen import render
from netdsl.search.hashing import network_hash
from netdsl.search.seen import Answered, SeenAssignments
from netdsl.search.trace import Counter, Found, conditions, freeze, up_front

_REBUILT: dict[tuple, Any] = {}

#: Whether `Space.evaluate` pauses the cyclic garbage collector (a switch for benchmarks).
PAUSE_GC = True

#: Reports kept by network hash, for duplicates (the oldest go first).
ANALYSES_KEPT = 512

if TYPE_CHECKING:
    from netdsl.analysis.report import Report
    from netdsl.api import Spec


# ---------------------------------------------------------------------------- sources
def random_value(domain: Domain, rng: random.Random) -> Any:
    """A value drawn from a domain (log-uniform for log ranges)."""
    if isinstance(domain, FloatRange):
        if domain.log:
            return math.exp(rng.uniform(math.log(domain.low), math.log(domain.high)))
        return rng.uniform(domain.low, domain.high)
    if isinstance(domain, IntRange) and domain.log:
        x = math.exp(rng.uniform(math.log(domain.low), math.log(domain.high + 1)))
        steps = min(int((x - domain.low) // domain.step), domain.size() - 1)
        return domain.low + max(steps, 0) * domain.step
    values = domain.values()
    assert values is not None
    return values[rng.randrange(len(values))]


class _Recorder:
    """Wraps a decision source and keeps every answer, also when elaboration then fails."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked: list[tuple[Decision, Any]] = []

    def decide(self, decision: Decision) -> Any:
        value = self.inner.decide(decision)
        self.asked.append((decision, value))
        return value


class Given:
    """Known values by name (when in the domain); the others drawn from `rng`, or defaults."""

    def __init__(self, values: Mapping[str, Any], rng: random.Random | None = None) -> None:
        self.values, self.rng = dict(values), rng

    def decide(self, decision: Decision) -> Any:
        if decision.name in self.values and decision.domain.contains(self.values[decision.name]):
            return self.values[decision.name]
        if self.rng is None:
            return decision.default
        return random_value(decision.domain, self.rng)


class _Positional:
    """Values by position of the decisions reached (an enumerated prefix), then defaults."""

    def __init__(self, prefix: Sequence[Any]) -> None:
        self.prefix, self.k = prefix, 0

    def decide(self, decision: Decision) -> Any:
        k, self.k = self.k, self.k + 1
        return self.prefix[k] if k < len(self.prefix) else decision.default


# ------------------------------------------------------------------------- candidates
@dataclass
class Candidate:
    """One point of a space: its decisions and everything the static analyses say of it."""

    space: Space
    decisions: dict[str, Any]
    graph: nx.MultiDiGraph | None = None  # (kept plain, made networkx's when read: below)
    report: Report | None = None
    error: NetdslError | None = None
    violations: list[Violation] = field(default_factory=list)
    hash: str | None = None
    reached: list[Decision] = field(default_factory=list)
    #: the constraints it was checked against: the spec's `require`s it reached, then the
    #: space's own
    constraints: list[Constraint] = field(default_factory=list)

    def repeated(self) -> Candidate:
        """A new candidate of the same assignment, sharing this one's graph and report
        (what evaluating the assignment again gives, without elaborating it again)."""
        return Candidate(self.space, dict(self.decisions), self.__dict__["_graph"], self.report,
                         self.error, list(self.violations), self.hash, list(self.reached),
                         list(self.constraints))

    @property
    def valid(self) -> bool:
        """Whether it elaborates and analyses (no shape mismatch, no failed assert)."""
        return self.error is None

    @property
    def feasible(self) -> bool:
        """Valid and meeting every constraint."""
        return self.error is None and not self.violations

    @property
    def status(self) -> str:
        """"feasible", "infeasible" (a constraint is violated) or "invalid"."""
        return "invalid" if self.error else "infeasible" if self.violations else "feasible"

    @property
    def totals(self) -> dict[str, int | float]:
        """The quantities constraints and objectives name (macs per sample, params, ...)."""
        return quantities(self.report) if self.report is not None else {}

    def spec_text(self) -> str:
        """A frozen, standalone `.net` of this candidate: no decisions, the same report."""
        if self.error is not None:
            raise UsageError(f"an invalid candidate has no network: {self.error.message}",
                             self.error.span)
        from netdsl.search.frozen import frozen_text

        shown = ", ".join(f"{k} = {literal(v)}" for k, v in self.decisions.items())
        comment = (f"Frozen candidate of {self.space.spec.path}, hash {self.hash}.\n"
                   f"Decisions: {shown or 'none'}")
        return frozen_text(self.space.spec.program, self.space.network, self.space.params,
                           self.space.inputs, self.decisions, self.space.constraints, comment)

    def build(self, **kwargs: Any) -> Any:
        """The PyTorch module of this candidate (imports torch)."""
        if self.graph is None:
            raise UsageError("an invalid candidate cannot be built"
                             + (f": {self.error.message}" if self.error else ""))
        from netdsl.lowering.module import build

        return build(self.graph, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: decisions, status, hash, totals, violations, error."""
        out: dict[str, Any] = {"decisions": dict(self.decisions), "status": self.status,
                               "hash": self.hash, "totals": self.totals}
        if self.violations:
            out["violated"] = [v.constraint.text for v in self.violations]
        if self.error is not None:
            out["error"] = self.error.render()
        return out


# `graph` stays a dataclass field, read through a property: a search reads the totals of
# most candidates and never their graph, so it is kept plain (`graph.PlainGraph`, no
# networkx adjacency for the collector to rescan) and made networkx's on first read.
Candidate.graph = networkx_property(  # type: ignore[assignment]
    "The elaborated graph (a networkx MultiDiGraph), or None.")


# ------------------------------------------------------------------------------ spaces
@dataclass(frozen=True)
class SpaceDecision:
    """A decision of a space: name, domain, default, where written, and what reaches it.

    `condition` maps each earlier decision that gates this one to the values under
    which this one was reached; empty when it is always reached.
    """

    name: str
    domain: Domain
    default: Any
    span: Span
    condition: dict[str, list[Any]]

    def describe(self) -> str:
        """`name: choice([3, 5, 7]) when depth in [4, 5]`."""
        text = f"{self.name}: {show_domain(self.domain)}"
        if self.condition:
            text += " when " + " and ".join(f"{k} in {v}" for k, v in self.condition.items())
        return text

    def to_dict(self) -> dict[str, Any]:
        values = self.domain.values()
        return {"name": self.name, "domain": show_domain(self.domain),
                "values": values if values is not None and len(values) <= 64 else None,
                "default": self.default, "condition": self.condition,
                "source": self.span.to_dict()}


class Space:
    """The search space of one network of a spec, with an analysis context and constraints."""

    def __init__(self, spec: Spec, network: str | None = None, *, batch: int = 1,
                 dtype: str = "float32", optimizer: str = "sgd",
                 inputs: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                 constraints: Sequence[str | Constraint] = ()) -> None:
        self.spec, self.network = spec, network
        self.batch, self.dtype, self.optimizer = batch, dtype, optimizer
        self.inputs, self.params = dict(inputs or {}), dict(params or {})
        self.constraints = [parse_constraint(c) if isinstance(c, str) else c
                            for c in constraints]
        for c in self.constraints:
            validate(c)  # a constraint on an unknown quantity is an error now, not per candidate
        self._counter: Counter | None = None
        self._analyses: dict[tuple, tuple[Report, tuple[Violation, ...]]] = {}
        #: the assignments evaluated so far: one met again is served from here
        self.assignments = SeenAssignments()
        self._settings = self._current_settings()
        first = self.evaluate({})
        for c in first.constraints:  # the spec's own constraints name known quantities too
            validate(c)

    # ---- travelling to other processes (Ray workers)
    def recipe(self) -> tuple:
        """What rebuilds this space elsewhere: the spec's path and text, network, options."""
        from pathlib import Path

        path = self.spec.path
        text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None
        if text is None:
            from netdsl.errors import remembered_source

            text = remembered_source(path) or ""
        options = {"batch": self.batch, "dtype": self.dtype, "optimizer": self.optimizer,
                   "inputs": self.inputs, "params": self.params,
                   "constraints": [c.text for c in self.constraints]}
        return (path, text, self.network, tuple(sorted((k, repr(v)) for k, v in
                                                       options.items())), options)

    @staticmethod
    def rebuild(path: str, text: str, network: str | None, key: tuple,
                options: dict[str, Any]) -> Space:
        """The space of `recipe()`, made once per process."""
        cached = _REBUILT.get((path, text, network, key))
        if cached is None:
            import netdsl

            cached = netdsl.loads(text, path).space(network, **options)
            _REBUILT[(path, text, network, key)] = cached
        return cached

    # ---- candidates
    def evaluate(self, decisions: Mapping[str, Any] | Any = None) -> Candidate:
        """The candidate for given decision values (a mapping by name, or a DecisionSource)."""
        if not PAUSE_GC:
            return self._evaluate(decisions)
        # One candidate allocates thousands of small objects and makes no reference cycles:
        # the cyclic collector, paused for the whole of it (elaborate, analyse, hash), runs
        # once afterwards instead of several times in the middle (see api.collector_paused).
        with collector_paused():
            return self._evaluate(decisions)

    def _evaluate(self, decisions: Mapping[str, Any] | Any) -> Candidate:
        source = Given(decisions or {}) if decisions is None or isinstance(decisions, Mapping) \
            else decisions
        self._check_settings()
        seen, asked = self.assignments.find(source)
        if seen is not None:
            return seen.repeated()
        recorder = _Recorder(Answered(asked, source) if asked else source)
        try:
            graph = self.spec.plain_graph(self.network, self.inputs or None, self.params,
                                          decisions=recorder)  # (see `Candidate.graph`)
        except UsageError:
            raise  # the API's own misuse (an unknown parameter or input): not the candidate's
        except NetdslError as exc:
            candidate = Candidate(self, {d.name: v for d, v in recorder.asked}, error=exc,
                                  reached=[d for d, _ in recorder.asked])
        else:
            candidate = self._analysed(graph)
        self.assignments.add(recorder.asked, candidate)
        return candidate

    def _current_settings(self) -> tuple:
        """What a candidate depends on besides its decisions and the spec (public
        attributes a user may change between candidates)."""
        return (self.network, self.batch, self.dtype, self.optimizer, repr(self.inputs),
                repr(self.params), tuple(c.text for c in self.constraints))

    def _check_settings(self) -> None:
        """Forget the candidates and analyses kept under other settings."""
        settings = self._current_settings()
        if settings != self._settings:
            self._settings = settings
            self.assignments = SeenAssignments(self.assignments.limit)
            self._analyses.clear()

    def _analysed(self, graph: nx.MultiDiGraph | PlainGraph) -> Candidate:
        from netdsl.analysis.report import analyze_graph

        reached = graph.graph.get("decisions", [])
        values = {d.name: v for d, v in reached}
        digest = network_hash(graph)
        constraints = [*constraints_of(graph), *self.constraints]
        # The same network analyses to the same report: a duplicate skips the analysis
        # (keyed on the constraints too, with the network variables they read bound).
        key = (digest, tuple(render(c.expr, c.env) for c in constraints))
        known = self._analyses.get(key)
        if known is not None:
            report, violations = known
            return Candidate(self, values, graph, report.with_graph(graph), None,
                             list(violations), digest, [d for d, _ in reached], constraints)
        try:
            report = analyze_graph(graph, batch=self.batch, dtype=self.dtype,
                                   optimizer=self.optimizer)
        except NetdslError as exc:
            return Candidate(self, values, graph, error=exc, reached=[d for d, _ in reached],
                             constraints=constraints)
        violations = check(constraints, report)
        if len(self._analyses) >= ANALYSES_KEPT:
            del self._analyses[next(iter(self._analyses))]
        # kept without its graph: the graph is the candidate's (a duplicate's report gets
        # its own); kept, it would be a few hundred objects per analysis for the garbage
        # collector to rescan as long as the space lives
        self._analyses[key] = (report.with_graph(None), tuple(violations))
        return Candidate(self, values, graph, report, None, violations, digest,
                         [d for d, _ in reached], constraints)

    def sample(self, rng: random.Random | int | None = None) -> Candidate:
        """A candidate with every reached decision drawn uniformly (never raises for invalid)."""
        return self.evaluate(Given({}, _rng(rng)))

    def enumerate(self) -> Iterator[Candidate]:
        """Every assignment, once, defaults first (one elaboration per candidate)."""
        stack: list[tuple[Any, ...]] = [()]
        while stack:
            prefix = stack.pop()
            candidate = self.evaluate(_Positional(prefix))
            reached = candidate.reached
            values = list(candidate.decisions.values())
            yield candidate
            for i in range(len(reached) - 1, len(prefix) - 1, -1):
                domain = reached[i].domain
                options = domain.values()
                if options is None:
                    raise UsageError(f"decision '{reached[i].name}' is {show_domain(domain)}, a "
                                     "continuous range: the space cannot be enumerated",
                                     reached[i].span)
                for option in reversed(options):
                    if not same_value(option, values[i]):
                        stack.append(tuple(values[:i]) + (option,))

    def mutate(self, candidate: Candidate, rng: random.Random | int | None = None,
               rate: float | None = None) -> Candidate:
        """A neighbour: each reached decision changes with probability `rate` (default
        1/n, and at least one changes); decisions newly reached are drawn at random."""
        rng = _rng(rng)
        names = list(candidate.decisions)
        if not names:
            return candidate
        rate = 1 / len(names) if rate is None else rate
        changed = {n for n in names if rng.random() < rate} or {rng.choice(names)}
        values = dict(candidate.decisions)
        for decision in candidate.reached:
            if decision.name in changed:
                values[decision.name] = _other_value(decision.domain, values[decision.name], rng)
        return self.evaluate(Given(values, rng))

    def crossover(self, a: Candidate, b: Candidate,
                  rng: random.Random | int | None = None) -> Candidate:
        """A child taking each decision from either parent (uniformly); a decision only one
        parent reached comes from it, and decisions neither reached are drawn at random."""
        rng = _rng(rng)
        values: dict[str, Any] = {}
        for name in dict.fromkeys([*a.decisions, *b.decisions]):
            holders = [p for p in (a, b) if name in p.decisions]
            values[name] = rng.choice(holders).decisions[name]
        return self.evaluate(Given(values, rng))

    # ---- the space itself
    def _count(self) -> Counter:
        if self._counter is None:
            self._counter = self._static_count() or self._traced_count()
        return self._counter

    def _traced_count(self) -> Counter:
        counter = Counter(self.spec.program, self.network, self.params, self.inputs or None)
        counter.total = counter.count()
        return counter

    def _static_count(self) -> Counter | None:
        """Every decision made up front (netdsl/search/trace.py `up_front`): the product."""
        from netdsl.language import syntax as ast
        from netdsl.language.resolve import DECISION, names_of

        names = names_of(self.spec.program)
        found = up_front(self.spec.program, self.network, self.params,
                         lambda n: type(n) is ast.Call and names[n].kind is DECISION)
        if found is None:
            return None
        reached = {d.name: d for d in self.evaluate({}).reached}
        if any(name not in reached for name, _ in found):
            return None  # the defaults fail before some decision: count by tracing
        counter = Counter(self.spec.program, self.network, self.params, self.inputs or None)
        counter.total = 1
        for name, _ in found:
            size = reached[name].domain.size()
            counter.total = counter.total * size if size is not None else math.inf
            counter.found[name] = Found(reached[name])
        return counter

    def size(self) -> int | float:
        """The exact number of distinct decision assignments, conditions respected (invalid
        ones included); `math.inf` with a reachable float range. See netdsl/search/trace.py."""
        return self._count().total

    @property
    def decisions(self) -> list[SpaceDecision]:
        """Every decision some assignment reaches, in the order first met, with its condition."""
        found = self._count().found
        decided = {name: f.decision for name, f in found.items()}
        gates = conditions(found, decided)
        out = []
        for name, f in found.items():
            d = f.decision
            condition = {k: list(vs) for k, vs in gates[name].items()}
            out.append(SpaceDecision(name, d.domain, d.default, d.span, condition))
        return out

    def decision(self, name: str) -> SpaceDecision:
        """The decision called `name` (a UsageError with a suggestion when there is none)."""
        for d in self.decisions:
            if d.name == name:
                return d
        from netdsl.language.display import suggest

        names = [d.name for d in self.decisions]
        raise UsageError(f"the space has no decision '{name}'{suggest(name, names)}")


def _other_value(domain: Domain, current: Any, rng: random.Random) -> Any:
    values = domain.values()
    if values is None:
        return random_value(domain, rng)
    others = [v for v in values if not same_value(v, current)]
    return rng.choice(others) if others else current


def _rng(rng: random.Random | int | None) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


__all__ = ["Candidate", "Given", "Space", "SpaceDecision", "freeze", "random_value"]
