"""A compiled model with parallel kernels (libgomp), called from several threads at once, in
the JIT and loaded from a `.zgt`: every answer right, no deadlock, and a thread that called
while another call ran was given one kernel thread."""

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from xdsl.parser import Parser

import ziggurat
from ziggurat.core.context import make_context
from ziggurat.runtime import GraphModule, Module, load_module, threads

SOURCE = """
func.func @main(%x: tensor<64x300xf32>) -> tensor<64x400xf32> {
  %w = graph.weight "w" : tensor<400x300xf32>
  %0 = graph.matmul %x, %w {transpose_b} : (tensor<64x300xf32>, tensor<400x300xf32>) -> tensor<64x400xf32>
  %1 = graph.softmax %0 {axis = 1 : i64} : tensor<64x400xf32>
  func.return %1 : tensor<64x400xf32>
}"""
WEIGHT = np.random.default_rng(0).standard_normal((400, 300)).astype(np.float32) * 0.1
CALLERS = 4
CALLS = 40


@pytest.fixture(autouse=True)
def _after_earlier_overlaps() -> None:
    """Lone calls run serially for a moment after calls overlapped (runtime/threads.py)."""
    time.sleep(threads.OVERLAP_MEMORY * 1.5)


def _reference(x: np.ndarray) -> np.ndarray:
    logits = x.astype(np.float64) @ WEIGHT.T.astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def lib() -> Module:
    module = Parser(make_context(), SOURCE).parse_module()
    built = ziggurat.build(module, target="llvm -mcpu=native -num-cores=2", params={"w": WEIGHT})
    assert "GOMP_parallel" in built.keepalive.llvm_ir
    return built


def _max_threads_here() -> int:
    """This thread's OpenMP thread count, as the kernels read it."""
    name = ctypes.util.find_library("gomp")
    assert name is not None
    return int(ctypes.CDLL(name).omp_get_max_threads())


def _hammer(run_one: Callable[[np.ndarray], np.ndarray]) -> None:
    """CALLERS threads each run CALLS inferences at once and check every answer."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(CALLERS)

    def caller(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            barrier.wait()
            for _ in range(CALLS):
                x = rng.standard_normal((64, 300)).astype(np.float32)
                np.testing.assert_allclose(run_one(x), _reference(x), rtol=1e-4, atol=1e-6)
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            failures.append(err)

    workers = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert not worker.is_alive(), "a calling thread hung"
    if failures:
        raise failures[0]


def test_many_callers_of_run_get_right_answers(lib: Module) -> None:
    _hammer(lambda x: lib.run({"input0": x})[0])
    assert threads.calls_in_flight() == 0


def test_many_callers_of_one_graph_module(lib: Module) -> None:
    shared = GraphModule(lib)

    def run_one(x: np.ndarray) -> np.ndarray:
        shared.run(input0=x)
        return shared.get_output(0)

    _hammer(run_one)


def test_loaded_package_serves_many_callers(lib: Module, tmp_path: Path) -> None:
    loaded = load_module(lib.export_library(tmp_path / "model.zgt"))
    _hammer(lambda x: loaded.run({"input0": x})[0])


def test_a_call_made_while_another_runs_uses_one_kernel_thread(lib: Module) -> None:
    x = np.ones((64, 300), np.float32)
    seen: list[int] = []
    threads.begin_native_call()
    try:

        def call_and_look() -> None:
            lib.run({"input0": x})
            seen.append(_max_threads_here())

        worker = threading.Thread(target=call_and_look)
        worker.start()
        worker.join(timeout=60)
    finally:
        threads.end_native_call()
    assert seen == [1]
    lib.run({"input0": x})
    assert _max_threads_here() == 1, "a lone call right after an overlap runs serially"
    time.sleep(threads.OVERLAP_MEMORY * 1.5)
    lib.run({"input0": x})
    assert _max_threads_here() == threads.kernel_threads()


def test_the_parallel_thread_hands_over_to_another(lib: Module) -> None:
    if threads.kernel_threads() < 2:
        pytest.skip("kernels run on one thread here")
    feeds = {"input0": np.ones((64, 300), np.float32)}
    lib.run(feeds)
    assert _max_threads_here() == threads.kernel_threads()
    seen: list[int] = []
    asked, released, done, finish = (threading.Event() for _ in range(4))

    def other_thread() -> None:
        for _ in range(threads.HANDOVER_AFTER):
            lib.run(feeds)
            seen.append(_max_threads_here())
        asked.set()
        released.wait(timeout=60)
        lib.run(feeds)
        seen.append(_max_threads_here())
        done.set()
        finish.wait(timeout=60)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        assert asked.wait(timeout=60)
        lib.run(feeds)
        released.set()
        assert done.wait(timeout=60)
        lib.run(feeds)
        assert _max_threads_here() == 1
    finally:
        finish.set()
        worker.join(timeout=60)
    lib.run(feeds)
    assert seen == [1] * threads.HANDOVER_AFTER + [threads.kernel_threads()]
    assert _max_threads_here() == threads.kernel_threads()


def test_threads_taking_turns_keep_the_pool_where_it_is(lib: Module) -> None:
    if threads.kernel_threads() < 2:
        pytest.skip("kernels run on one thread here")
    feeds = {"input0": np.ones((64, 300), np.float32)}
    lib.run(feeds)
    seen: list[int] = []
    for _ in range(2 * threads.HANDOVER_AFTER):
        worker = threading.Thread(target=lambda: (lib.run(feeds), seen.append(_max_threads_here())))
        worker.start()
        worker.join(timeout=60)
        lib.run(feeds)
        assert _max_threads_here() == threads.kernel_threads()
    assert seen == [1] * (2 * threads.HANDOVER_AFTER)
