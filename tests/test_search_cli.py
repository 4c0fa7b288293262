"""`netdsl search`: options, JSON keys, export, errors, resumed storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import netdsl
from netdsl.cli import main

SPACE = """
network n(k = choice([3, 5, 9]), c = choice([4, 6, 8])) {
    input x: [3, 7, 7]
    assert(c != 6 or k == 3, "six channels want a 3x3 kernel")
    require params <= 700
    x -> conv(c, k) -> flatten -> linear(2)
}
"""


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "space.net"
    path.write_text(SPACE)
    return path


def run_json(capsys, *argv: str) -> dict:
    assert main(["search", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_exhaustive_json_has_the_documented_keys(spec: Path, capsys) -> None:
    out = run_json(capsys, str(spec), "--exhaustive", "--objective", "max:params",
                   "--objective", "min:macs")
    assert out["space"]["size"] == 9 and len(out["space"]["decisions"]) == 2
    assert out["space"]["decisions"][0]["name"] == "k"
    assert out["trials"] == 9
    # k = 9 is larger than the input (3 invalid), c = 6 with k = 5 fails the assert (1)
    assert out["rejected"] == {"invalid": 4, "infeasible": 1, "duplicate": 0}
    assert out["unique"] == 4
    assert out["pareto"] and set(out["pareto"][0]) == {"decisions", "hash", "totals"}
    params = [row["totals"]["params"] for row in out["pareto"]]
    assert max(params) <= 700


def test_cli_constraint_export_and_table(spec: Path, tmp_path: Path, capsys) -> None:
    best = tmp_path / "best.net"
    assert main(["search", str(spec), "--exhaustive", "--objective", "max:params",
                 "--constraint", "macs <= 5K", "--export", str(best)]) == 0
    table = capsys.readouterr().out
    assert "trials: 9" in table and "best written to" in table
    frozen = netdsl.load(best).analyze()
    assert frozen.totals.macs <= 5000 and not frozen.warnings


def test_random_trials_are_reproducible_with_a_seed(spec: Path, capsys) -> None:
    a = run_json(capsys, str(spec), "--trials", "12", "--seed", "3")
    b = run_json(capsys, str(spec), "--trials", "12", "--seed", "3")
    assert a == b and a["trials"] == 12
    assert sum(a["rejected"].values()) + a["unique"] == 12


@pytest.mark.parametrize(("argv", "message"), [
    (["--objective", "max:parms"], "did you mean 'params'?"),
    (["--objective", "biggest"], "max:QUANTITY or min:QUANTITY"),
    (["--constraint", "mac <= 3"], "unknown quantity 'mac'"),
    (["--exhaustive", "--sampler", "tpe"], "--exhaustive"),
    (["--trials", "0"], "positive"),
])
def test_misuse_is_a_usage_error(spec: Path, capsys, argv: list[str], message: str) -> None:
    code = main(["search", str(spec), *argv])
    assert code in (1, 2)
    assert message in capsys.readouterr().err


def test_storage_continues_the_study(spec: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("optuna", reason="--storage uses Optuna")
    url = f"sqlite:///{tmp_path}/study.db"
    first = run_json(capsys, str(spec), "--trials", "3", "--storage", url, "--seed", "1")
    second = run_json(capsys, str(spec), "--trials", "3", "--storage", url, "--seed", "2")
    assert first["trials"] == 3 and second["trials"] == 6


def test_nb201_is_15625_cells(capsys) -> None:
    out = run_json(capsys, "specs/search/nb201.net", "--trials", "5", "--seed", "0",
                   "--set", "depth=1")
    assert out["space"]["size"] == 15625 and len(out["space"]["decisions"]) == 6


LAYER_SPACE = """
network n(act = choice([relu, mish, leaky_relu(0.2)])) {
    input x: [3, 8, 8]
    x -> conv(4, 3) -> act -> flatten -> linear(2)
}
"""


def test_a_choice_of_layers_is_searched_exported_and_set_by_name(tmp_path: Path, capsys) -> None:
    path = tmp_path / "acts.net"
    path.write_text(LAYER_SPACE)
    out = run_json(capsys, str(path), "--exhaustive")
    assert out["trials"] == 3 and out["unique"] == 3
    assert sorted(row["decisions"]["act"] for row in out["pareto"]) == \
        ["leaky_relu(0.2)", "mish", "relu"]
    best = tmp_path / "best.net"
    assert main(["search", str(path), "--exhaustive", "--export", str(best)]) == 0
    capsys.readouterr()
    ops = [d["layer"].op for _, d in netdsl.load(best).graph().nodes(data=True)]
    assert ops[2] in {"relu", "mish", "leaky_relu"}
    for spelled, op in [("mish", "mish"), ("leaky_relu(0.2)", "leaky_relu")]:
        graph = netdsl.load(path).graph(params={"act": spelled})
        assert [d["layer"].op for _, d in graph.nodes(data=True)][2] == op
