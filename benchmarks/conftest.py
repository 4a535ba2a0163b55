"""Ratio reports collected over a benchmark session and printed at its end."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(scope="session")
def report():
    """Collects one line per comparison and prints the table at the end of the session."""
    lines: list[str] = []
    yield lines
    if lines:
        print("\n" + "\n".join(lines))
