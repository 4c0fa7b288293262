"""The analysis examples run and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_example(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_input_sizes():
    out = run_example("examples/input_sizes.py", "specs/resnet18.net", "224", "448")
    assert "3x224x224" in out and "3x448x448" in out and "1.81 G" in out and "7.25 G" in out


def test_compare_specs():
    out = run_example("examples/compare_specs.py", "specs/resnet50.net", "specs/se_resnet50.net")
    assert "25.56 M" in out and "28.09 M" in out and "1.099" in out


@pytest.mark.parametrize("budget", ["2.5e9"])
def test_search_widths(budget: str):
    out = run_example("examples/search_widths.py", "--budget", budget)
    assert "analysed 35 variants" in out and "width=" in out
