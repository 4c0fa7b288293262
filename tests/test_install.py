"""An installed (non-editable) copy of the package finds its grammar and standard library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_install_finds_grammar_and_stdlib(tmp_path: Path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheel_dir), str(ROOT)], check=True, timeout=300)
    wheel = next(wheel_dir.glob("netdsl-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    spec = tmp_path / "net.net"
    spec.write_text('import std.resnet\nnetwork n() {\n    input x: [3, 32, 32]\n'
                    '    x -> conv(8, 3) -> flatten -> linear(4)\n}\n')
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import netdsl, sys; print(netdsl.__file__); "
            "print(netdsl.load(sys.argv[1]).analyze().totals.params)")
    result = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    where, params = result.stdout.split()
    assert where.startswith(str(target))  # the installed copy, not the source tree
    assert int(params) == 8 * 27 + 8 + (8 * 30 * 30) * 4 + 4
    assert (target / "netdsl" / "grammars" / "netdsl.lark").exists()
