"""Golden CLI outputs: what a user sees, pinned. UPDATE_GOLDEN=1 rewrites them (then read the diff).

The table is pinned in a pipe (every column) and fitted to 80, 120 and 200 columns, where
columns give way in the documented order (`netdsl.report.table.DROP_ORDER`).
"""

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
    "resnet50_width80.txt": ["analyze", "specs/resnet50.net", "--width", "80"],
    "resnet50_width120.txt": ["analyze", "specs/resnet50.net", "--width", "120"],
    "resnet50_width200.txt": ["analyze", "specs/resnet50.net", "--width", "200"],
    "googlenet_depth2_width80.txt": ["analyze", "specs/googlenet.net", "--depth", "2",
                                     "--width", "80"],
    "resnet18_depth1.csv": ["analyze", "specs/resnet18.net", "--depth", "1", "-f", "csv"],
    "lenet5_resnet18_depth1.json": ["analyze", "specs/lenet5.net", "specs/resnet18.net",
                                    "--depth", "1", "-f", "json"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_output_is_pinned(name: str):
    result = run_cli(*CASES[name])
    assert result.returncode == 0, result.stderr
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(result.stdout)
    assert result.stdout == path.read_text()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_fitted_tables_fit(width: int):
    lines = (GOLDEN / f"resnet50_width{width}.txt").read_text().splitlines()
    assert max(len(line) for line in lines) <= width
