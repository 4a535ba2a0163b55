"""Runs the lit/FileCheck suite under tests/filecheck, one pytest case per file, so one
`pytest` runs everything."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FILECHECK_DIR = Path(__file__).parent / "filecheck"
LIT_FILES = sorted(FILECHECK_DIR.rglob("*.mlir"))


def _lit_command() -> list[str]:
    lit = shutil.which("lit", path=str(Path(sys.executable).parent)) or shutil.which("lit")
    if lit is None:
        pytest.skip("lit is not installed (pip install -e '.[test]')")
    return [lit, "-v"]


@pytest.mark.parametrize("path", LIT_FILES, ids=lambda p: str(p.relative_to(FILECHECK_DIR)))
def test_lit(path: Path) -> None:
    result = subprocess.run(
        [*_lit_command(), str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
