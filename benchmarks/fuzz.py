"""The long fuzz campaign (same as `python -m tests.fuzz`): python benchmarks/fuzz.py --cases N."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
