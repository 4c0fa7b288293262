"""Hostile input: every attack of tests/fuzz/attacks.py ends in its exact outcome class, with
its located message, within its time limit and 1 GiB; plus what needs a real folder (links,
FIFOs, an allowed import folder) and the API's side of the same guards."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import netdsl
from netdsl.errors import NetdslError, UsageError, printable
from tests.fuzz.attacks import ATTACKS, Attack
from tests.fuzz.runner import Case, run_case

RELU = "network net() {\n    input image: [3, 32, 32]\n    image -> relu\n}\n"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack(attack: Attack):
    outcome = run_case(attack.case, seconds=attack.seconds * 5)  # a loaded machine is slow
    assert outcome.kind == attack.kind, outcome.stderr
    assert re.match(attack.message, outcome.headline()), outcome.headline()
    assert "Traceback" not in outcome.stderr


def test_every_attack_is_quick():
    """The limits answer fast: all attacks but the 1,000-file chain in well under 2 s each."""
    slow = [(a.name, o.seconds) for a in ATTACKS if a.seconds <= 2
            for o in [run_case(a.case, seconds=10)] if o.seconds > 2]
    assert len(slow) <= 2, slow  # allowance for a loaded machine


def test_a_fifo_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "pipe.net"
    os.mkfifo(fifo)
    with pytest.raises(NetdslError, match="it is not a regular file"):
        netdsl.load(fifo)
    main = tmp_path / "main.net"
    main.write_text('import "pipe.net"\n' + RELU)
    with pytest.raises(NetdslError, match="cannot import 'pipe.net': it is not a regular file"):
        netdsl.load(main)
    from netdsl.overrides import parse_params_file

    with pytest.raises(UsageError, match="--params .*: cannot read it: it is not a regular"):
        parse_params_file(str(fifo))


def test_a_link_out_of_the_tree_is_refused_and_allowed_by_a_flag(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "lib.net").write_text("block b() {\n    relu\n}\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "up.net").symlink_to(outside / "lib.net")
    main = tree / "main.net"
    main.write_text('import "up.net"\nnetwork n() {\n    input x: [4]\n    x -> b\n}\n')
    with pytest.raises(NetdslError, match="outside the spec's folder tree") as info:
        netdsl.load(main)
    assert info.value.span.file == str(main) and info.value.span.line == 1
    assert netdsl.load(main, [outside]).graph().number_of_nodes() == 2
    case = Case({}, ["analyze", str(main), "--allow-import-path", str(outside), "--ir"])
    assert run_case(case).kind == "ok"


def test_an_import_error_never_quotes_a_file_that_is_not_a_spec(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET:0:0\n")
    main = tmp_path / "main.net"
    main.write_text('import "secret.txt"\n' + RELU)
    with pytest.raises(NetdslError) as info:
        netdsl.load(main)
    assert "SECRET" not in info.value.render()


def test_imports_inside_the_tree_still_work(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "lib.net").write_text("block b() {\n    relu\n}\n")
    (tmp_path / "a" / "mid.net").write_text('import "b/lib.net"\n')
    main = tmp_path / "main.net"
    main.write_text('import "a/mid.net"\nnetwork n() {\n    input x: [4]\n    x -> b\n}\n')
    assert netdsl.load(main).graph().number_of_nodes() == 2


def test_a_chain_of_imports_within_the_limit_loads(tmp_path: Path):
    from netdsl.language.loader import MAX_IMPORT_DEPTH

    for i in range(MAX_IMPORT_DEPTH - 1):
        (tmp_path / f"m{i}.net").write_text(f'import "m{i + 1}.net"\n')
    (tmp_path / f"m{MAX_IMPORT_DEPTH - 1}.net").write_text("block b() {\n    relu\n}\n")
    main = tmp_path / "main.net"
    main.write_text('import "m0.net"\nnetwork n() {\n    input x: [4]\n    x -> b\n}\n')
    assert netdsl.load(main).graph().number_of_nodes() == 2


def test_the_api_bounds_numbers_too():
    with pytest.raises(NetdslError, match=r"exponent 4096 is past the limit of 64"):
        netdsl.loads("network n() {\n input x: [4]\n x -> linear(2 ** 64 ** 2)\n}\n").graph()
    with pytest.raises(UsageError, match="batch size"):
        netdsl.loads(RELU).analyze(batch=0)
    spec = netdsl.loads("network n(w = 1) {\n input x: [4]\n x -> linear(w)\n}\n")
    with pytest.raises(NetdslError, match=r"at most 2\*\*40 .*got <an integer of 5001 bits>"):
        spec.graph(w=2 ** 5000)


def test_messages_escape_control_characters():
    assert printable("a\x1b[31mb\x07\u202ec\td\ne") == "a\\x1b[31mb\\x07\\u202ec\td\ne"


def test_long_and_shared_values_print_short():
    from netdsl.language.display import show

    a: list = [1]
    for _ in range(60):  # 2**60 items if printed whole
        a = [a, a]
    assert len(show(a)) < 2000
    assert show(list(range(1000))).endswith("... (1000 items)]")
    assert show(2 ** 5000) == "<an integer of 5001 bits>"


def overrides_limits():
    from netdsl import overrides

    return overrides


def test_documented_limits_match_the_code():
    from netdsl.analysis import report
    from netdsl.language import loader, parser, values
    from netdsl.layers import base
    from tests.test_docs import LANGUAGE, section

    text = section(LANGUAGE, "Limits")

    def row(name: str) -> str:
        return next(line for line in text.splitlines() if f"`{name}`" in line)

    assert f"| {values.MAX_INT_BITS} bits" in row("MAX_INT_BITS")
    assert f"| {parser.MAX_NUMBER_DIGITS} |" in row("MAX_NUMBER_DIGITS")
    assert base.MAX_LAYER_PARAMETERS == 2**30 and "2**30 = 1,073,741,824" in row("MAX_LAYER_PARAMETERS")
    assert report.MAX_BATCH == 2**31 - 1 and "| 2**31 - 1 |" in row("MAX_BATCH")
    assert f"{loader.MAX_SOURCE_BYTES:,}" in row("MAX_SOURCE_BYTES")
    assert f"{overrides_limits().MAX_PARAMS_BYTES:,}" in row("MAX_PARAMS_BYTES")
    assert f"| {loader.MAX_IMPORT_DEPTH} files |" in row("MAX_IMPORT_DEPTH")
    assert f"| {loader.MAX_IMPORT_FILES} |" in row("MAX_IMPORT_FILES")
    from netdsl import overrides

    assert f"| {overrides.MAX_VALUE_DEPTH} |" in row("MAX_VALUE_DEPTH")
    assert f"| {overrides.MAX_DIGITS} |" in row("MAX_DIGITS")
    assert f"| {loader.MAX_ERRORS} |" in row("MAX_ERRORS")


def test_build_arguments_are_usage_errors(tmp_path: Path, monkeypatch):
    from netdsl.lowering import targets

    targets.check_build_arguments(str(tmp_path / "m.py"), None, None, "Model")
    with pytest.raises(UsageError, match="-o .*: the folder .* does not exist"):
        targets.check_build_arguments(str(tmp_path / "no" / "m.py"), None, None)
    with pytest.raises(UsageError, match="--onnx .*: is a folder"):
        targets.check_build_arguments(None, None, str(tmp_path))
    with pytest.raises(UsageError, match="--class-name 'class'"):
        targets.check_build_arguments(None, None, None, "class")
    monkeypatch.setattr(targets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match="--onnx needs the onnx package: pip install onnx"):
        targets.check_build_arguments(None, None, str(tmp_path / "m.onnx"))

