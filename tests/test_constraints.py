"""`require` statements and unit-suffixed numbers: parsing, evaluation, errors."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.analysis.constraints import check, constraints_of, parse_constraint, quantities
from netdsl.errors import NetdslError, UsageError

SPEC = """network n(budget = 100K) {{
    input x: [3, 32, 32]
    {require}
    x -> conv(8, 3) -> relu
}}
"""


def spec(require: str) -> netdsl.Spec:
    return netdsl.loads(SPEC.format(require=require), "c.net")


@pytest.mark.parametrize(("text", "value"), [
    ("600M", 600_000_000), ("5K", 5000), ("2G", 2 * 10**9), ("1.5M", 1_500_000),
    ("4KiB", 4096), ("2MiB", 2 * 2**20), ("1GiB", 2**30), ("0.5KiB", 512), ("1.25K", 1250),
    ("7", 7), ("1e3", 1000.0),
])
def test_number_suffixes(text: str, value: float) -> None:
    got = netdsl.loads(f"network n(v = {text}) {{\n input x: [3]\n x\n}}").program.networks
    default = got["n"].params[0].default
    assert default.value == value and type(default.value) is type(value)


def test_suffixed_numbers_work_as_layer_arguments() -> None:
    s = netdsl.loads("network n() {\n input x: [4]\n x -> linear(1K)\n}")
    assert list(s.analyze().outputs.values()) == [(1000,)]


def test_met_requirements_give_no_warning() -> None:
    report = spec("require macs <= 600M and params <= 5M").analyze()
    assert report.warnings == []


def test_violated_requirements_are_warnings_one_per_part() -> None:
    report = spec("require macs <= budget and params <= 100 and layers == 3").analyze()
    messages = [w.message for w in report.warnings]
    assert messages == ["requirement not met: macs <= budget (macs = 194.40 K)",
                        "requirement not met: params <= 100 (params = 224)"]
    assert report.warnings[0].span.line == 3 and report.warnings[0].span.column == 13


def test_macs_are_per_sample_and_memory_follows_the_batch() -> None:
    s = spec("require macs <= 200K and training_peak <= 200KiB")
    assert s.analyze(batch=1).warnings == []
    warnings = s.analyze(batch=8).warnings
    assert [w.message.split(" (")[0] for w in warnings] == [
        "requirement not met: training_peak <= 200KiB"]


def test_unknown_quantity_is_a_located_error_with_a_suggestion() -> None:
    with pytest.raises(NetdslError) as info:
        spec("require macs <= 1G or parms <= 5M").analyze()
    assert "unknown quantity 'parms'" in info.value.message
    assert "did you mean 'params'?" in info.value.message
    assert (info.value.span.line, info.value.span.column) == (3, 27)


def test_requirement_must_be_boolean() -> None:
    with pytest.raises(NetdslError, match="must be true or false"):
        spec("require macs + 1").analyze()


def test_require_in_a_block_is_an_error() -> None:
    s = netdsl.loads("block b() {\n require macs < 1\n relu\n}\n"
                     "network n() {\n input x: [3]\n x -> b\n}", "b.net")
    with pytest.raises(NetdslError, match="network's body") as info:
        s.analyze()
    assert info.value.span.line == 2


def test_parse_constraint_from_the_command_line() -> None:
    c = parse_constraint("macs <= 600M")
    assert c.text == "macs <= 600M" and c.span.column == 1
    report = spec("").analyze()
    assert check([c], report) == []
    violated = check([parse_constraint("rf >= 100")], report)
    assert violated and violated[0].values == {"rf": 3}
    with pytest.raises(UsageError) as info:
        parse_constraint("macs <= <")
    assert info.value.span.column == 9


def test_quantities_cover_the_totals() -> None:
    report = spec("").analyze(batch=4)
    q = quantities(report)
    assert q["macs"] * 4 == report.totals.macs and q["params"] == 224 and q["batch"] == 4
    assert q["training_peak"] == report.totals.training_peak_bytes and q["layers"] == 3


def test_constraints_of_graph_lists_each_part() -> None:
    graph = spec("require macs <= 1G and params <= 1M\n    require rf > 1").graph()
    assert [c.text for c in constraints_of(graph)] == ["macs <= 1G", "params <= 1M", "rf > 1"]
