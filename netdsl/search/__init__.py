"""Architecture search over spaces written in specs (depends on the core; never the reverse).

`Space` (decisions, exact `size()`, `sample`, `enumerate`, `mutate`, `crossover`),
`Candidate` (decisions, report, feasibility, canonical `hash`, `spec_text()`, `build()`),
`network_hash`. Optuna and Ray Tune adapters: `netdsl.search.optuna`, `netdsl.search.ray`.
"""

from netdsl.search.hashing import isomorphic, network_hash
from netdsl.search.space import Candidate, Space, SpaceDecision

__all__ = ["Candidate", "Space", "SpaceDecision", "isomorphic", "network_hash"]
