"""Golden CLI outputs: what a user sees, pinned. UPDATE_GOLDEN=1 rewrites them (then read the diff)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden" / "cli"
CASES = {
    "lenet5_table.txt": ["analyze", "specs/lenet5.net"],
    "lenet5_depth1_batch8.txt": ["analyze", "specs/lenet5.net", "--depth", "1", "--batch", "8"],
    "lenet5.json": ["analyze", "specs/lenet5.net", "--format", "json"],
    "lenet5_ir.txt": ["analyze", "specs/lenet5.net", "--ir"],
    "resnet18_depth2.txt": ["analyze", "specs/resnet18.net", "--depth", "2"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_output_is_pinned(name: str):
    result = run_cli(*CASES[name])
    assert result.returncode == 0, result.stderr
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(result.stdout)
    assert result.stdout == path.read_text()
