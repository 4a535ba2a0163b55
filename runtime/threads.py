"""How compiled kernels share the cores with the threads that call them.

Parallel kernels run their loops on libgomp, each team capped by the calling thread's OpenMP
thread count (`omp_get_max_threads`, see lowering/parallel.py). libgomp keeps a pool of team
threads per calling thread, and once the process holds more pool threads than CPUs it stops
letting idle team threads spin: every parallel loop then waits for sleeping threads to wake
(measured on a 2-core guest: an MLP's run from 20 us to 100 us, the encoder's 2.6x slower).
So the process has one parallel thread at a time. The policy, per call:

- a call that runs alone, on the parallel thread, uses the kernel thread count:
  `set_kernel_threads(n)`, or else OpenMP's default (OMP_NUM_THREADS, or every CPU), never
  more than the target's cores. The first thread to call alone becomes the parallel thread;
- a call that runs alone on another thread runs serially; once another thread has made
  HANDOVER_AFTER lone calls in a row with none by the parallel thread between them, it asks
  the parallel thread to give its pool back, which it does at the end of its next call (or
  when it exits); then the next thread to call alone takes over. (Handing over at once made
  two threads that take turns pass the pool to and fro, its threads ended and started anew
  each time: two callers of an MLP went from 49 to 36 thousand calls a second.) `release_kernel_threads()` gives it back at once, e.g.
  from a thread that warmed a model up before handing it to a serving thread;
- a call that starts while another call of any compiled model runs runs its kernels on one
  thread: N concurrent callers keep N cores busy with N serial streams. So does a lone call
  within OVERLAP_MEMORY seconds of the last such overlap: callers that overlap now and then
  would otherwise start a serial call beside a parallel one, three threads on two cores,
  and the parallel one's barrier waits for its descheduled thread (two callers of an MLP
  made 36 thousand calls a second that way, 55 thousand all serial).

The count is set through libgomp's per-thread control (`omp_set_num_threads` changes only the
calling thread's value), and only when it changes. Without libgomp in the process (serial
code), there is nothing to set.
"""

import ctypes
import ctypes.util
import os
import threading
import time
from functools import cache

from ziggurat.runtime.errors import RuntimeInputError

_lock = threading.Lock()
_in_flight = 0
_requested: int | None = None
_per_thread = threading.local()
_parallel_thread: threading.Thread | None = None
_handover_asked = False
_lone_calls_elsewhere = 0
_last_overlap = -float("inf")
HANDOVER_AFTER = 16
OVERLAP_MEMORY = 0.05


class _OpenMP:
    """libgomp's thread-count controls, found only if libgomp is already loaded."""

    def __init__(self, library: ctypes.CDLL):
        self.set_num_threads = library.omp_set_num_threads
        self.set_num_threads.argtypes = [ctypes.c_int]
        self.set_num_threads.restype = None
        get_max_threads = library.omp_get_max_threads
        get_max_threads.restype = ctypes.c_int
        self.default_threads = max(1, int(get_max_threads()))
        self._pause = getattr(library, "omp_pause_resource_all", None)

    def free_pool(self) -> bool:
        """Ends the calling thread's team threads (OpenMP 5's soft pause); False if this
        libgomp cannot."""
        return self._pause is not None and self._pause(1) == 0


_openmp: _OpenMP | None = None


@cache
def _library_name() -> str | None:
    return ctypes.util.find_library("gomp")


def attach_openmp() -> None:
    """Finds libgomp if the process has loaded it (with compiled code that needs it); call
    once code is loaded. Never loads libgomp itself."""
    global _openmp
    if _openmp is not None:
        return
    name = _library_name()
    if name is None:
        return
    try:
        library = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | ctypes.RTLD_GLOBAL)
    except OSError:
        return
    with _lock:
        if _openmp is None:
            _openmp = _OpenMP(library)


def set_kernel_threads(count: int | None) -> None:
    """Threads a call that runs alone gives its kernels (None: OpenMP's default). Concurrent
    calls still run serially. Dask and similar hosts set OMP_NUM_THREADS=1 for their
    workers; a worker that owns the machine calls this to take the cores back."""
    global _requested
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise RuntimeInputError(f"kernel threads must be a positive int or None, not {count!r}")
    _requested = count


def kernel_threads() -> int:
    """Threads a call running alone gives its kernels now."""
    if _requested is not None:
        return _requested
    return _openmp.default_threads if _openmp is not None else 1


def calls_in_flight() -> int:
    """Calls into compiled code running at this moment, across every model and thread."""
    return _in_flight


def begin_native_call() -> int:
    """Call before running compiled code: counts the call and sets the calling thread's
    kernel threads by the policy above; returns them. Pair with `end_native_call()` in a
    finally block."""
    global _in_flight, _parallel_thread, _handover_asked, _lone_calls_elsewhere, _last_overlap
    me = threading.current_thread()
    now = time.monotonic()
    with _lock:
        _in_flight += 1
        threads = 1
        wanted = kernel_threads()
        if _in_flight > 1:
            _last_overlap = now
        elif wanted > 1 and now - _last_overlap > OVERLAP_MEMORY:
            owner = _parallel_thread
            if owner is me:
                threads, _lone_calls_elsewhere = wanted, 0
            elif owner is None or not owner.is_alive():
                _parallel_thread, _handover_asked, threads = me, False, wanted
                _lone_calls_elsewhere = 0
            else:
                _lone_calls_elsewhere += 1
                _handover_asked = _lone_calls_elsewhere >= HANDOVER_AFTER
    if _openmp is not None and getattr(_per_thread, "threads", None) != threads:
        _openmp.set_num_threads(threads)
        _per_thread.threads = threads
    return threads


def end_native_call() -> None:
    global _in_flight
    with _lock:
        _in_flight -= 1
        hand_over = _handover_asked and _parallel_thread is threading.current_thread()
    if hand_over:
        release_kernel_threads()


def release_kernel_threads() -> None:
    """Ends the calling thread's OpenMP team threads, if it is the parallel thread, so that
    the next thread to call alone runs its kernels in parallel."""
    global _parallel_thread, _handover_asked
    with _lock:
        if _parallel_thread is not threading.current_thread():
            return
        if _openmp is not None and not _openmp.free_pool():
            return
        _parallel_thread, _handover_asked = None, False
