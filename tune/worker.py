"""The measuring process: `python -m ziggurat.tune.worker` reads one JSON request per line on
stdin and answers on stdout, so that a candidate that crashes or hangs takes only this
process down; the parent (`tune.measure`) kills it with its process group and starts another.

A request: {"id", "task" (a `task_spec`), "config", "number", "repeat", "min_repeat_ms",
"check"}, and optionally "threads" (the kernel thread count, set explicitly: a Dask nanny
forces OMP_NUM_THREADS=1 on its workers) and "lock" (the path of the machine's measuring
lock, `tune.machine_lock`: registered as a build while building, so a timing elsewhere
stops it; held alone while checking and timing). For
each, the worker writes {"id", "phase"} as it starts building ("build"), waits for the
machine ("built") and starts checking and timing ("run"), so the parent applies each phase's
timeout, and a generous one to the waits, then {"id", "result": {...}}. With "check", the candidate's
outputs are compared once with the task's default config's on the same seeded random inputs
(the default's outputs computed once per task).

The worker exits when its parent does, so an orphan never holds the machine's lock.
"""

import json
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from ziggurat.runtime import set_kernel_threads
from ziggurat.schedule.space import Config
from ziggurat.tune.candidate import (
    Candidate,
    InstantiationError,
    build_candidate,
    outputs_of,
    time_candidate,
)
from ziggurat.tune.machine_lock import MachineLock
from ziggurat.tune.records import ErrorCode

CHECK_TOLERANCE = 1e-3
"""rtol and atol of the check against the default config: schedules reorder float sums
(register tiles, K splits), so results differ in the last bits, never by this much. NaN
agrees with NaN: the random integer words a packed bf16 kernel reads hold NaN pairs."""

TEST_CRASH = "__test_crash__"
TEST_HANG = "__test_hang__"
TEST_WRONG = "__test_wrong__"
"""Values of a test-only knob `__fault__` that make a candidate crash, hang or answer wrong,
so the tests can check that tuning survives each."""


_answers = sys.stdout
"""Where answers go; `main` points file descriptor 1 (and Python's stdout) at stderr so that
nothing else a build prints can break the protocol."""


def _send(message: dict[str, Any]) -> None:
    _answers.write(json.dumps(message) + "\n")
    _answers.flush()


def _result(code: ErrorCode, message: str = "", **fields: Any) -> dict[str, Any]:
    return {"error_code": int(code), "error": message, **fields}


PARENT_POLL_SECONDS = 0.5


@dataclass
class _Built:
    candidate: Candidate
    fault: str | None
    """The test-only `__fault__` knob's value, if the config had one."""
    build_seconds: float


class Worker:
    def __init__(self) -> None:
        self.references: dict[str, list[np.ndarray]] = {}
        self.locks: dict[str, MachineLock] = {}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        lock = self._lock(request.get("lock"))
        if "threads" in request:
            set_kernel_threads(request["threads"])
        if lock is not None:
            lock.share()
        try:
            _send({"id": request["id"], "phase": "build"})
            built = self._build(request)
            if isinstance(built, _Built) and request.get("check", True):
                self._reference(request["task"], built, request["config"])
        finally:
            if lock is not None:
                lock.release()
        if not isinstance(built, _Built):
            return built
        _send({"id": request["id"], "phase": "built"})
        if lock is not None:
            lock.own()
        try:
            _send({"id": request["id"], "phase": "run"})
            return self._check_and_time(request, built)
        finally:
            if lock is not None:
                lock.release()

    def _lock(self, path: str | None) -> MachineLock | None:
        if path is None:
            return None
        if path not in self.locks:
            self.locks[path] = MachineLock(path)
        return self.locks[path]

    def _build(self, request: dict[str, Any]) -> _Built | dict[str, Any]:
        """The built candidate, or the failure's result."""
        knobs = dict(request["config"])
        fault = knobs.pop("__fault__", None)
        start = time.perf_counter()
        try:
            candidate = build_candidate(request["task"], Config.of(knobs))
        except InstantiationError as err:
            return _result(ErrorCode.INSTANTIATION_ERROR, str(err))
        except Exception as err:
            return _result(ErrorCode.COMPILE_ERROR, f"{type(err).__name__}: {err}")
        return _Built(candidate, fault, time.perf_counter() - start)

    def _check_and_time(self, request: dict[str, Any], built: _Built) -> dict[str, Any]:
        spec, candidate, fault = request["task"], built.candidate, built.fault
        start = time.perf_counter()
        try:
            if fault == TEST_CRASH:
                import ctypes

                ctypes.string_at(0)
            if fault == TEST_HANG:
                time.sleep(3600)
            if request.get("check", True):
                outputs = outputs_of(candidate)
                if fault == TEST_WRONG:
                    outputs = [o + 1 for o in outputs]
                wrong = self._differs(spec, outputs)
                if wrong:
                    return _result(ErrorCode.WRONG_ANSWER, wrong, trace=candidate.trace)
            costs = time_candidate(
                candidate, request["number"], request["repeat"], request["min_repeat_ms"]
            )
        except Exception as err:
            return _result(ErrorCode.RUNTIME_ERROR, f"{type(err).__name__}: {err}")
        return _result(
            ErrorCode.NO_ERROR,
            costs=list(costs),
            trace=candidate.trace,
            kernel_hash=candidate.kernel_hash,
            build_seconds=built.build_seconds,
            run_seconds=time.perf_counter() - start,
        )

    def _reference(
        self, spec: dict[str, Any], built: _Built | None = None, config: Any = None
    ) -> list[np.ndarray]:
        """The default config's outputs, computed once per task while building (not timing):
        from the candidate itself when it is the default, else from a build of its own."""
        key = spec["key"]
        if key not in self.references:
            if built is not None and Config.of(config) == Config.of(spec["default"]):
                default = built.candidate
            else:
                default = build_candidate(spec, Config.of(spec["default"]))
            self.references[key] = outputs_of(default)
        return self.references[key]

    def _differs(self, spec: dict[str, Any], outputs: list[np.ndarray]) -> str:
        """A sentence saying how the outputs differ from the default config's, or ""."""
        for n, (got, want) in enumerate(zip(outputs, self._reference(spec), strict=True)):
            if not np.allclose(
                got, want, rtol=CHECK_TOLERANCE, atol=CHECK_TOLERANCE, equal_nan=True
            ):
                worst = float(np.max(np.abs(got - want)))
                return f"output {n} differs from the default schedule's by up to {worst:.3g}"
        return ""


def _exit_with_parent() -> None:
    """Ends this process once its parent is gone (its pipe may stay open in an orphaned
    grandchild, and a timing in progress would hold the machine's lock)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    global _answers
    _exit_with_parent()
    _answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = worker.handle(request)
        except Exception as err:
            trace = traceback.format_exc(limit=3)
            result = _result(ErrorCode.UNKNOWN_ERROR, f"{type(err).__name__}: {err}\n{trace}")
        _send({"id": request["id"], "result": result})


if __name__ == "__main__":
    main()
