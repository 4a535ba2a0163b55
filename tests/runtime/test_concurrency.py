"""Many threads on one module: `lib.run(feeds)` and GraphModule's per-thread state give every
caller its own answer, and the thread policy runs concurrent callers' kernels serially."""

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from ziggurat.runtime import GraphModule, Module, RuntimeInputError, threads

THREADS = 4
CALLS = 150


@pytest.fixture(autouse=True)
def _after_earlier_overlaps() -> None:
    """Lone calls run serially for a moment after calls overlapped (runtime/threads.py)."""
    time.sleep(threads.OVERLAP_MEMORY * 1.5)


def _in_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    """Runs work(0..count-1) on threads that start together; re-raises the first failure."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(seed: int) -> None:
        try:
            barrier.wait()
            work(seed)
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            failures.append(err)

    workers = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert not worker.is_alive(), "a calling thread hung"
    if failures:
        raise failures[0]


def reference_outputs(
    feeds: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The test model in numpy: relu = max(x + bias, 0), sum = relu + y."""
    (bias,) = params.values()
    relu = np.maximum(feeds["x"] + bias, 0)
    return relu, relu + feeds["y"]


def _draw(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {name: rng.standard_normal((2, 8)).astype(np.float32) for name in ("x", "y")}


def test_run_with_feeds_from_many_threads(lib: Module, params: dict[str, np.ndarray]) -> None:
    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(CALLS):
            feeds = _draw(rng)
            relu, total = lib.run(feeds)
            expected = reference_outputs(feeds, params)
            np.testing.assert_array_equal(relu, expected[0])
            np.testing.assert_array_equal(total, expected[1])

    _in_threads(work)


def test_graph_module_state_is_per_thread(lib: Module, params: dict[str, np.ndarray]) -> None:
    shared = GraphModule(lib)

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(CALLS):
            feeds = _draw(rng)
            shared.set_input(**feeds)
            shared.run()
            np.testing.assert_array_equal(
                shared.get_output("sum"), reference_outputs(feeds, params)[1]
            )

    _in_threads(work)


def test_run_returns_fresh_arrays_and_chosen_outputs(lib: Module, inputs) -> None:
    first = lib.run(inputs)
    again = lib.run(inputs, outputs=["sum"])
    assert len(again) == 1
    np.testing.assert_array_equal(again[0], first[1])
    first[1][...] = 0
    np.testing.assert_array_equal(lib.run(inputs, outputs=[1])[0], again[0])


def test_run_checks_feeds(lib: Module, inputs) -> None:
    with pytest.raises(RuntimeInputError, match="lack input 'y'"):
        lib.run({"x": inputs["x"]})
    with pytest.raises(RuntimeInputError, match="no input 'z'"):
        lib.run({**inputs, "z": inputs["x"]})
    with pytest.raises(RuntimeInputError, match="expects shape"):
        lib.run({**inputs, "y": inputs["y"][:1]})
    with pytest.raises(RuntimeInputError, match="no output 'nope'"):
        lib.run(inputs, outputs=["nope"])
    with pytest.raises(RuntimeInputError, match="map input names"):
        lib.run([inputs["x"], inputs["y"]])  # type: ignore[arg-type]


def test_inputs_set_on_one_thread_are_not_run_on_another(lib: Module, inputs) -> None:
    runner = GraphModule(lib)
    runner.set_input(**inputs)

    def work(_: int) -> None:
        with pytest.raises(RuntimeInputError, match="not set on this thread"):
            runner.run()
        runner.set_input("x", inputs["x"])
        with pytest.raises(RuntimeInputError, match="'y' was not set"):
            runner.run()

    _in_threads(work, count=1)
    runner.run()


def test_concurrent_calls_run_their_kernels_on_one_thread() -> None:
    alone = threads.begin_native_call()
    try:
        seen: list[int] = []
        _in_threads(lambda _: seen.append(_begin_and_end()), count=1)
    finally:
        threads.end_native_call()
    assert seen == [1]
    assert alone == threads.kernel_threads()
    assert threads.calls_in_flight() == 0


def _begin_and_end() -> int:
    try:
        return threads.begin_native_call()
    finally:
        threads.end_native_call()


def test_kernel_threads_can_be_set() -> None:
    try:
        threads.set_kernel_threads(3)
        assert _begin_and_end() == 3
    finally:
        threads.set_kernel_threads(None)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(RuntimeInputError, match="positive int"):
            threads.set_kernel_threads(bad)  # type: ignore[arg-type]
