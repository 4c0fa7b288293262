"""The README's gallery is generated from specs/ and must be current."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_readme_gallery_is_up_to_date():
    result = subprocess.run([sys.executable, "scripts/gallery.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gallery_lists_every_spec():
    readme = (ROOT / "README.md").read_text()
    for spec in (ROOT / "specs").glob("*.net"):
        assert f"(specs/{spec.name})" in readme, spec.name
