"""Golden error messages: every kind of mistake renders as file:line:col with a caret.

Each `golden/errors/NAME.net` is analysed from inside that folder; its stderr must equal
`NAME.err`. Run with UPDATE_GOLDEN=1 to rewrite the .err files after a deliberate change
(then read the diff).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import netdsl
from netdsl.errors import Span, slot_init
from netdsl.language import syntax as ast
from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden" / "errors"
CASES = sorted(p.stem for p in GOLDEN.glob("*.net") if p.stem != "cycle_b")


@pytest.mark.parametrize("case", CASES)
def test_golden_error(case: str):
    result = run_cli("analyze", f"{case}.net", cwd=GOLDEN)
    expected_file = GOLDEN / f"{case}.err"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(result.stderr)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr == expected_file.read_text()
    first = result.stderr.splitlines()[0]
    assert first.split(": error: ")[0].count(":") == 2  # file:line:col
    assert "^" in result.stderr  # the caret under the source line


def test_traceback_flag_shows_python_traceback():
    result = run_cli("analyze", "unknown_name.net", "--traceback", cwd=GOLDEN)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_missing_spec_exits_1_without_traceback():
    result = run_cli("analyze", "missing.net", cwd=GOLDEN)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("netdsl: error: cannot read missing.net")


@pytest.mark.parametrize("args, message", [
    (["analyze", "unknown_name.net", "--set", "classes"], "--set classes: expected NAME=VALUE"),
    (["analyze", "unknown_name.net", "--input", "x=3xQ"], "--input x=3xQ: expected NAME=CxHxW"),
    (["analyze", "unknown_name.net", "--network", "m"], "no network 'm'"),
    (["analyze", "../../../specs/resnet34.net", "--batch", "0"], "--batch must be at least 1"),
    (["analyze", "../../../specs/resnet34.net", "--set", "clases=3"], "did you mean 'classes'"),
    (["analyze", "../../../specs/resnet34.net", "--ir", "-f", "json"], "--ir prints the graph"),
    (["analyze", "../../../specs/resnet34.net", "--width", "-1"], "--width must be 0"),
])
def test_usage_errors_exit_2_without_traceback(args, message):
    result = run_cli(*args, cwd=GOLDEN)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr


# ------------------------------------------------------------- for Python callers
def test_errors_are_catchable_by_kind_with_plain_messages_and_spans():
    with pytest.raises(netdsl.SpecNotFoundError) as missing:
        netdsl.load(GOLDEN / "missing.net")
    assert isinstance(missing.value, FileNotFoundError) and isinstance(missing.value,
                                                                       netdsl.NetdslError)
    assert missing.value.filename.endswith("missing.net")
    assert str(missing.value).startswith("cannot read ") and missing.value.span is None

    with pytest.raises(netdsl.NetdslError) as located:
        netdsl.load(GOLDEN / "unknown_name.net").analyze()
    error = located.value
    assert (error.file, error.line, error.column) == (error.span.file, error.span.line,
                                                      error.span.column)
    assert error.file.endswith("unknown_name.net") and error.line >= 1
    assert str(error) == f"{error.span}: {error.message}"
    assert "netdsl: error" not in str(error) and "error:" in error.render()

    with pytest.raises(netdsl.UsageError) as usage:
        netdsl.load("specs/lenet5.net").analyze(batch=0)
    assert str(usage.value) == usage.value.message and usage.value.line is None


def test_a_missing_import_is_a_located_file_not_found(write):
    path = write("a.net", 'import "nothere.net"\nnetwork a() {\n    input x: [1, 4, 4]\n'
                          '    x -> relu\n}\n')
    with pytest.raises(FileNotFoundError) as info:
        netdsl.load(path)
    assert info.value.line == 1 and "nothere.net" in str(info.value)


def test_slot_init_keeps_the_dataclass_behaviour():
    """Span and the nodes with slot_init's __init__ are built, compared, hashed, replaced
    and refused assignment as the dataclass's own would; a field with a default is refused."""
    span = Span(file="a.net", line=1, column=2, end_line=1, end_column=5)
    assert span == Span("a.net", 1, 2, 1, 5) and hash(span) == hash(Span("a.net", 1, 2, 1, 5))
    assert dataclasses.replace(span, line=3) == Span("a.net", 3, 2, 1, 5)
    keyword = ast.Keyword(span, "k", ast.Name(span, "x"))
    call = ast.Call(span, "f", span, (ast.Literal(span, 1),), (keyword,))
    assert dataclasses.replace(call, name="g") == ast.Call(span, "g", span, call.args, call.kwargs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.name = "g"
    with pytest.raises(TypeError):
        Span("a.net", 1, 2, 1)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Defaulted:
        value: int = 0

    with pytest.raises(TypeError, match="default"):
        slot_init(Defaulted)
