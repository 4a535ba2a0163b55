import gc
import weakref

from ziggurat.core.collection import young_only


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_cyclic_garbage_made_inside_is_freed_on_leaving():
    with young_only():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a
        watch = weakref.ref(a)
        del a, b
        assert watch() is not None, "no collection runs inside the block"
    assert gc.isenabled()
    assert watch() is None


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    try:
        with young_only():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_block_fails():
    try:
        with young_only():
            raise ValueError("inside")
    except ValueError:
        pass
    assert gc.isenabled()
