"""A pool of execution contexts, so that many threads can run one module at once.

A call borrows an idle context (or makes one: the pool grows to the largest number of calls
that ever ran at once, each context the size of the memory plan's arena plus the inputs and
outputs) and gives it back when its outputs are copied out.
"""

import threading
from typing import TYPE_CHECKING

from ziggurat.runtime.execution import ExecutionContext

if TYPE_CHECKING:
    from ziggurat.runtime.module import Module


class ContextPool:
    """Idle execution contexts of one module, each lent to one call at a time."""

    def __init__(self, lib: "Module"):
        self._lib = lib
        self._idle: list[ExecutionContext] = []
        self._lock = threading.Lock()
        self.created = 0

    def take(self) -> ExecutionContext:
        """An idle context, or a new one; hand it back with `give` when done with it."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.created += 1
        return ExecutionContext(self._lib)

    def give(self, context: ExecutionContext) -> None:
        with self._lock:
            self._idle.append(context)
