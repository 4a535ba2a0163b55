"""The fuzz tests run under a small memory limit, so inputs that would need more (dims of
2**40, members that inflate) are refused the way they are on a small machine."""

import pytest

FUZZ_MEMORY_LIMIT = "48M"


@pytest.fixture(autouse=True)
def small_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIGGURAT_MEMORY_LIMIT", FUZZ_MEMORY_LIMIT)
