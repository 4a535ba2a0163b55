"""The measuring process: `python -m ziggurat.tune.worker` reads one JSON request per line on
stdin and answers on stdout, so that a candidate that crashes or hangs takes only this
process down; the parent (`tune.measure`) kills it with its process group and starts another.

A request: {"id", "task" (a `task_spec`), "config", "number", "repeat", "min_repeat_ms",
"check"}. For each, the worker writes {"id", "phase": "run"} once the candidate is built (the
parent then applies the run timeout), then {"id", "result": {...}}. With "check", the
candidate's outputs are compared once with the task's default config's on the same seeded
random inputs (the default's outputs computed once per task).
"""

import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

from ziggurat.schedule.space import Config
from ziggurat.tune.candidate import (
    InstantiationError,
    build_candidate,
    outputs_of,
    time_candidate,
)
from ziggurat.tune.records import ErrorCode

CHECK_TOLERANCE = 1e-3
"""rtol and atol of the check against the default config: schedules reorder float sums
(register tiles, K splits), so results differ in the last bits, never by this much."""

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


class Worker:
    def __init__(self) -> None:
        self.references: dict[str, list[np.ndarray]] = {}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        spec = request["task"]
        knobs = dict(request["config"])
        fault = knobs.pop("__fault__", None)
        config = Config.of(knobs)
        start = time.perf_counter()
        try:
            candidate = build_candidate(spec, config)
        except InstantiationError as err:
            return _result(ErrorCode.INSTANTIATION_ERROR, str(err))
        except Exception as err:
            return _result(ErrorCode.COMPILE_ERROR, f"{type(err).__name__}: {err}")
        build_seconds = time.perf_counter() - start
        _send({"id": request["id"], "phase": "run"})
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
            build_seconds=build_seconds,
            run_seconds=time.perf_counter() - start,
        )

    def _differs(self, spec: dict[str, Any], outputs: list[np.ndarray]) -> str:
        """A sentence saying how the outputs differ from the default config's, or ""."""
        key = spec["key"]
        if key not in self.references:
            self.references[key] = outputs_of(build_candidate(spec, Config.of(spec["default"])))
        for n, (got, want) in enumerate(zip(outputs, self.references[key], strict=True)):
            if not np.allclose(got, want, rtol=CHECK_TOLERANCE, atol=CHECK_TOLERANCE):
                worst = float(np.max(np.abs(got - want)))
                return f"output {n} differs from the default schedule's by up to {worst:.3g}"
        return ""


def main() -> None:
    global _answers
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
