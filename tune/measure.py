"""Isolated measurement: every candidate is built and timed in a worker process
(`tune.worker`), killed with its process group when it overruns its build or run timeout.

    option = tune.measure_option(
        builder=tune.LocalBuilder(timeout=10),
        runner=tune.LocalRunner(number=20, repeat=3, timeout=4, min_repeat_ms=150))

A segfault, a hang, a build failure or a wrong answer becomes a MeasureResult with its error
code, and the next candidate gets a fresh worker. One worker builds and times candidates one
after the other, so no build runs while a candidate is timed on this 2-core machine.

`DaskBuilder` and `DaskRunner` are the same settings for measuring on a Dask cluster's
workers (`tune.dask_measure`), each of which runs such a worker process of its own.
"""

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ziggurat.core.errors import ZigguratError
from ziggurat.schedule.space import Config
from ziggurat.tune.candidate import task_spec
from ziggurat.tune.machine_lock import MachineLock
from ziggurat.tune.records import ErrorCode, MeasureResult
from ziggurat.tune.tasks import Task


@dataclass(frozen=True)
class LocalBuilder:
    timeout: float = 10.0
    """Seconds a candidate's build may take."""


@dataclass(frozen=True)
class LocalRunner:
    """AutoTVM's runner settings: each of `repeat` timings averages `number` runs (grown
    until a timing lasts `min_repeat_ms`); the median of the repeats ranks a candidate."""

    number: int = 20
    repeat: int = 3
    timeout: float = 4.0
    """Seconds the check and the timing of a candidate may take."""
    min_repeat_ms: float = 150.0
    check: bool = True
    """Compare each candidate's outputs once with the default config's."""


@dataclass(frozen=True)
class DaskBuilder:
    """Builds on the workers of a Dask cluster (`tune.dask_measure`): each candidate on the
    worker that then times it, so builds spread over every worker."""

    address: str = "local"
    """The scheduler (tcp://host:8786), or "local" for a LocalCluster on this machine."""
    timeout: float = 10.0


@dataclass(frozen=True)
class DaskRunner:
    """LocalRunner's settings for timing on a Dask cluster's workers (`tune.dask_measure`)."""

    address: str = "local"
    number: int = 20
    repeat: int = 3
    timeout: float = 4.0
    min_repeat_ms: float = 150.0
    check: bool = True
    threads: int | None = None
    """Kernel threads of a timing, set explicitly on the worker (a Dask nanny forces
    OMP_NUM_THREADS=1); None: the target's cores."""
    resource: str = "measure"
    """The worker resource a candidate takes one of (`dask worker --resources measure=1`)."""
    machine_lock: bool = True
    """A timing holds its machine alone: no build or other timing of the machine's workers
    beside it (`tune.machine_lock`). Off, builds run beside timings: more trials a minute
    where several workers share a machine, noisier timings."""
    local_workers: int = 2
    """Worker processes of the LocalCluster that `address="local"` starts."""


@dataclass(frozen=True)
class MeasureOption:
    builder: LocalBuilder | DaskBuilder = field(default_factory=LocalBuilder)
    runner: LocalRunner | DaskRunner = field(default_factory=LocalRunner)


def measure_option(
    builder: LocalBuilder | DaskBuilder | None = None,
    runner: LocalRunner | DaskRunner | None = None,
) -> MeasureOption:
    """Where and how candidates are built and timed: both on this machine, or both on one
    Dask cluster (a candidate is built where it is timed)."""
    builder, runner = builder or LocalBuilder(), runner or LocalRunner()
    if isinstance(builder, DaskBuilder) != isinstance(runner, DaskRunner):
        raise ZigguratError(
            "DaskBuilder and DaskRunner go together: a candidate is built where it is timed"
        )
    if isinstance(builder, DaskBuilder) and isinstance(runner, DaskRunner):
        if builder.address != runner.address:
            raise ZigguratError(
                f"DaskBuilder({builder.address!r}) and DaskRunner({runner.address!r}) name "
                "different clusters"
            )
    return MeasureOption(builder, runner)


@dataclass(frozen=True)
class Measurement:
    config: Config
    result: MeasureResult
    trace: str
    """The schedule the config made (empty when it made none)."""
    kernel_hash: str = ""
    """sha256 of the scheduled kernel's printed IR."""
    worker: str = ""
    """The Dask worker that measured it ("" on this machine)."""


class _WorkerProcess:
    """One `python -m ziggurat.tune.worker` in its own process group, its answers read by a
    thread into a queue so waiting for one can time out."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ziggurat.tune.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=env,
        )
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self.answers.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.answers.put(None)

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def next_answer(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next message; None when it died; raises queue.Empty on timeout."""
        return self.answers.get(timeout=timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group may have exited already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


ORPHAN_POLL_SECONDS = 1.0
"""Until its candidate times, a measurer checks this often for processes a dead timing left
stopped (`MachineLock.wake_orphans`)."""

LOCK_WAIT_FACTOR = 8
"""A candidate waits for the machine's measuring lock at most this many times its build and
run timeouts together: the lock's holders are bounded by their own timeouts, so a longer wait
means something is wrong with a peer."""


class IsolatedMeasurer:
    """Measures one candidate at a time in a worker process, which it restarts after a crash
    or a timeout. `env` is added to the worker's environment; `fields` to every request
    (the kernel thread count, the machine's lock). Call close() when done."""

    def __init__(self, env: Mapping[str, str] | None = None):
        self.env = dict(env or {})
        self._worker: _WorkerProcess | None = None
        self._next_id = 0
        self._locks: dict[str, MachineLock] = {}

    def measure(
        self,
        spec: dict[str, Any],
        config: Config,
        builder: LocalBuilder | DaskBuilder,
        runner: LocalRunner | DaskRunner,
        fields: Mapping[str, Any] | None = None,
    ) -> Measurement:
        worker = self.start()
        self._next_id += 1
        request = {
            "id": self._next_id,
            "task": spec,
            "config": dict(config),
            "number": runner.number,
            "repeat": runner.repeat,
            "min_repeat_ms": runner.min_repeat_ms,
            "check": runner.check,
            **(fields or {}),
        }
        waiting = LOCK_WAIT_FACTOR * (builder.timeout + runner.timeout)
        timeouts = {"queued": waiting, "build": builder.timeout, "built": waiting}
        timeouts["run"] = runner.timeout
        lock = self._lock(request.get("lock"))
        start = time.perf_counter()
        worker.send(request)
        phase = "queued"
        while True:
            try:
                answer = self._next_answer(worker, timeouts[phase], phase, lock)
            except queue.Empty:
                self._restart()
                message = f"the {_PHASES[phase]} took longer than {timeouts[phase]:g} s"
                return Measurement(config, _failure(_TIMEOUT_CODES[phase], message, start), "")
            if answer is None:
                self._restart()
                message = f"the worker died during the {_PHASES[phase]} (a crash or a signal)"
                return Measurement(config, _failure(ErrorCode.RUNTIME_ERROR, message, start), "")
            if answer.get("id") != self._next_id:
                continue
            if "phase" in answer:
                phase = answer["phase"]
                continue
            result = answer["result"]
            return Measurement(
                config,
                _result(result, start),
                result.get("trace", ""),
                result.get("kernel_hash", ""),
            )

    def _next_answer(
        self, worker: "_WorkerProcess", timeout: float, phase: str, lock: MachineLock | None
    ) -> dict[str, Any] | None:
        """The worker's next message; until it times, the processes a dead timing left
        stopped on the machine are continued every `ORPHAN_POLL_SECONDS` (this one among
        them)."""
        if phase == "run" or lock is None:
            return worker.next_answer(timeout)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                return worker.next_answer(max(0.0, min(left, ORPHAN_POLL_SECONDS)))
            except queue.Empty:
                if left <= ORPHAN_POLL_SECONDS:
                    raise
                lock.wake_orphans([worker.process.pid])

    def _lock(self, path: str | None) -> MachineLock | None:
        if path is None:
            return None
        if path not in self._locks:
            self._locks[path] = MachineLock(path)
        return self._locks[path]

    def start(self) -> "_WorkerProcess":
        """The worker process, started now if it is not running."""
        if self._worker is None:
            self._worker = _WorkerProcess(self.env)
        return self._worker

    def _restart(self) -> None:
        if self._worker is not None:
            self._worker.kill()
        self._worker = None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        for lock in self._locks.values():
            lock.close()
        self._locks.clear()


_PHASES = {
    "queued": "wait for the machine's measuring lock",
    "build": "build",
    "built": "wait for the machine's measuring lock",
    "run": "run",
}
_TIMEOUT_CODES = {
    "queued": ErrorCode.UNKNOWN_ERROR,
    "build": ErrorCode.BUILD_TIMEOUT,
    "built": ErrorCode.UNKNOWN_ERROR,
    "run": ErrorCode.RUN_TIMEOUT,
}


class LocalMeasurer:
    """Measures candidates of tasks, one at a time, in a worker process on this machine.
    Use as a context manager, or call close()."""

    def __init__(self, option: MeasureOption | None = None):
        self.option = option or MeasureOption()
        self._process = IsolatedMeasurer()

    def measure(self, task: Task, configs: Sequence[Config]) -> list[Measurement]:
        spec = task_spec(task)
        builder, runner = self.option.builder, self.option.runner
        return [self._process.measure(spec, config, builder, runner) for config in configs]

    def close(self) -> None:
        self._process.close()

    def __enter__(self) -> "LocalMeasurer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _failure(code: ErrorCode, message: str, start: float) -> MeasureResult:
    elapsed = time.perf_counter() - start
    return MeasureResult((), code, message, elapsed, 0.0, time.time())


def _result(answer: dict[str, Any], start: float) -> MeasureResult:
    code = ErrorCode(answer["error_code"])
    return MeasureResult(
        tuple(answer.get("costs", ())),
        code,
        answer.get("error", ""),
        float(answer.get("build_seconds", time.perf_counter() - start)),
        float(answer.get("run_seconds", 0.0)),
        time.time(),
    )
