import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def pytest_configure(config: object) -> None:
    """Builds in the suite share one fresh code cache, so a run never reads entries an
    earlier run left (the user's cache stays untouched)."""
    import os
    import tempfile

    if "ZIGGURAT_CACHE_DIR" not in os.environ:
        os.environ["ZIGGURAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="ziggurat-test-cache-")
