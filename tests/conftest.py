"""Shared helpers for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

import netdsl

# CI (CI=true) replays the same examples every run, so that a red build always means a
# change broke something; elsewhere hypothesis explores new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


def analyze_text(text: str, **kwargs):
    """Analyse spec text in-process."""
    return netdsl.loads(text, "test.net").analyze(**kwargs)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m netdsl ARGS` and capture its output."""
    return subprocess.run([sys.executable, "-m", "netdsl", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


@pytest.fixture
def write(tmp_path: Path):
    """Write files into a temporary folder: write("a.net", text) -> path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write
