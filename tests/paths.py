"""Where things are, for tests at any depth: the repository's root and its folders."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
