"""examples/search_digits.py in its small mode (what CI runs): a real search that trains."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="the digits search uses Optuna (extra 'optuna')")
pytest.importorskip("torch", reason="the digits search trains with PyTorch")
pytest.importorskip("sklearn", reason="the digits come from scikit-learn")


def test_search_digits_small(capsys) -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "search_digits.py"
    spec = importlib.util.spec_from_file_location("search_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--small"])
    out = capsys.readouterr().out
    assert result["trials"] == 8 and result["pareto"] >= 1
    assert result["trained"] + result["saved"] == 8  # every trial trained or rejected statically
    assert result["trained"] == result["unique"]  # each distinct feasible network once
    assert "Pareto front (test accuracy, MACs):" in out and "trainings saved" in out
