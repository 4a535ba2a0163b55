"""Pass statistics (mlir-opt's `--pass-statistics`): counters a pass bumps while it runs.

A pass calls `count("kernels-created")`; whoever runs it inside `collect()` gets the totals.
Outside `collect()` counting costs a dictionary lookup and nothing is kept.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Counter[str] | None] = ContextVar("pass_statistics", default=None)


def count(name: str, amount: int = 1) -> None:
    """Adds `amount` to the counter `name` of the pass now running."""
    counters = _current.get()
    if counters is not None:
        counters[name] += amount


@contextmanager
def collect() -> Iterator[Counter[str]]:
    """Collects the counters bumped inside the block; an enclosing collect() sees them too."""
    outer = _current.get()
    counters: Counter[str] = Counter()
    token = _current.set(counters)
    try:
        yield counters
    finally:
        _current.reset(token)
        if outer is not None:
            outer.update(counters)
