"""Golden error messages: every kind of mistake renders as file:line:col with a caret.

Each `golden/errors/NAME.net` is analysed from inside that folder; its stderr must equal
`NAME.err`. Run with UPDATE_GOLDEN=1 to rewrite the .err files after a deliberate change
(then read the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("args, message", [
    (["analyze", "unknown_name.net", "--set", "classes"], "--set classes: expected NAME=VALUE"),
    (["analyze", "unknown_name.net", "--input", "x=3xQ"], "--input x=3xQ: expected NAME=CxHxW"),
    (["analyze", "unknown_name.net", "--network", "m"], "no network 'm'"),
    (["analyze", "../../../specs/resnet34.net", "--batch", "0"], "--batch must be at least 1"),
    (["analyze", "../../../specs/resnet34.net", "--set", "clases=3"], "did you mean 'classes'"),
])
def test_usage_errors_exit_2_without_traceback(args, message):
    result = run_cli(*args, cwd=GOLDEN)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr


def test_an_unreadable_spec_is_an_error_exit_1_without_traceback():
    result = run_cli("analyze", "missing.net", cwd=GOLDEN)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "netdsl: error: cannot read missing.net" in result.stderr
