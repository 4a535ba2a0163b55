"""How the compiler uses Python's cyclic garbage collector.

Passes create and drop many IR objects that refer to each other (ops, blocks, uses). Left to
itself the collector runs a full pass over every live object each time enough of them pile
up, and a large module makes each pass long: measured at 20% of a model's build. Inside
`young_only` the automatic collector is paused; on leaving it, one collection of the
youngest generation (the objects made since) frees the block's cyclic garbage.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def young_only() -> Iterator[None]:
    """The block runs without automatic collections, then its young objects are collected
    once. Nested blocks and a collector already disabled by the caller are left alone."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)
