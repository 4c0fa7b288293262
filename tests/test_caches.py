"""Caches never change an answer: random networks analysed from scratch (every cache
cleared, parsed anew) and again from warm caches (the layer records shared across
calls; a loaded spec's memo, where a network calls blocks) give identical reports, and
the hand-written parser builds the tree the Lark grammar builds for each of them.
tests/test_memo.py checks the memo itself on every spec and on random blocks."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import netdsl
from netdsl.language.parser import _parse_with_lark, parse
from netdsl.layers import registry
from tests.test_random_networks import networks


def _fresh_report(text: str) -> dict:
    registry._LAYER_CACHE.clear()
    return netdsl.loads(text, "random.net").analyze(network="random").to_dict()


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(networks())
def test_cached_equals_fresh_on_random_networks(text: str) -> None:
    assert parse(text, "random.net") == _parse_with_lark(text, "random.net")
    fresh = _fresh_report(text)
    spec = netdsl.loads(text, "random.net")
    for _ in range(3):  # first sight, then memoised block calls and shared layer records
        assert spec.analyze(network="random").to_dict() == fresh
    assert _fresh_report(text) == fresh
