"""Measuring on a Dask cluster, for when one machine is not enough.

    option = tune.measure_option(builder=tune.DaskBuilder("tcp://host:8786"),
                                 runner=tune.DaskRunner("tcp://host:8786", number=20))

Each candidate is one Dask task, sent as JSON (the task's module text, its arguments and
target, the config and the runner's settings; never a pickled compiler object) and run by
`measure_candidate` on a worker, which builds, checks and times it in a measuring process of
its own (`tune.worker`) and kills that process itself at the build or run timeout: Dask
cannot cancel a running task. The discipline:

- A candidate takes one of the workers' `measure` resource (`dask worker --resources
  measure=1`), so each worker measures one at a time; builds run side by side on every
  worker. On each machine the measuring processes share a lock (`tune.machine_lock`), so a
  timing has its machine alone: no build and no other timing runs beside it.
- The kernel thread count is set explicitly in the measuring process (the target's cores
  unless `DaskRunner(threads=...)`): Dask's nanny forces OMP_NUM_THREADS=1 on its workers.
- Tasks are submitted with `pure=False`, so a re-timing is measured, not served from Dask's
  cache.
- Only workers whose CPU is the target's, with the features it enables, measure it (records
  are keyed by the CPU that measured them); a heterogeneous cluster tunes one target per CPU
  kind.
- A worker killed mid-task: its candidate is retried once on another worker (by this
  measurer when the scheduler has no retries of its own, as "local" starts it and a remote
  one started with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 has; else by the
  scheduler, as often as it allows), then recorded as an error, and tuning goes on with the
  workers left. Losing the scheduler ends the run with one clear
  ZigguratError; every measurement so far is in the log, which resumes.

Measurements stream back as they complete (`stream`, or `submit` and `next_done`, which let
the tuners queue the next batch, of any task, behind the candidates in flight:
`tune.pipeline`), each naming the worker that made it. Each worker keeps its measuring
processes between candidates and starts one as a client connects (`warm_up`).
A template loaded from a file (`--load-plugin`) goes with the payload as source text; a worker
imports it from the client's path if the same file is there, else from a copy.
Dask is imported only here and only when used: `pip install 'ziggurat[distributed]'`.
"""

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import llvmlite.binding as llvm

from ziggurat.core.errors import ZigguratError
from ziggurat.core.targets import physical_cores
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.schedule.space import Config
from ziggurat.tune.candidate import task_spec
from ziggurat.tune.machine_lock import default_lock_path
from ziggurat.tune.measure import (
    DaskBuilder,
    DaskRunner,
    IsolatedMeasurer,
    LocalBuilder,
    LocalRunner,
    Measurement,
    MeasureOption,
)
from ziggurat.tune.records import ErrorCode, MeasureResult, result_fields
from ziggurat.tune.tasks import Task

INSTALL_HINT = "measuring on a Dask cluster needs Dask: pip install 'ziggurat[distributed]'"
CONNECT_SECONDS = 10.0
POLL_SECONDS = 1.0
NO_WORKER_SECONDS = 60.0
"""How long a run waits with no worker left that can measure its target before it stops."""
ATTEMPTS = 2
"""A candidate whose worker died is tried once more before it is recorded as an error (by
this measurer, when the scheduler does not retry on its own)."""


def require_distributed() -> Any:
    """The `distributed` module, or a ZigguratError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ZigguratError(INSTALL_HINT) from None
    return distributed


class HostCpu(NamedTuple):
    """A worker's CPU as LLVM names it and its features (what `-mcpu=native` becomes there)."""

    name: str
    features: str

    def can_measure(self, target: CpuTargetAttr) -> bool:
        """Whether this is the target's CPU, with every feature the target enables."""
        enabled = {f for f in target.features.data.split(",") if f.startswith("+")}
        return self.name == target.cpu.data and enabled <= set(self.features.split(","))


@dataclass
class _SentTask:
    """A task as it goes over the wire, and the hosts that may measure it."""

    task: Task
    spec: dict[str, Any]
    template_sources: dict[str, str]
    """The source of each of its template files, by path."""
    hosts: list[str]


class _Flight(NamedTuple):
    sent: _SentTask
    config: Config
    attempt: int


class DaskMeasurer:
    """Measures candidates on the workers of a Dask cluster (see the module's docstring).
    Use as a context manager, or call close()."""

    def __init__(self, option: MeasureOption):
        if not isinstance(option.builder, DaskBuilder) or not isinstance(option.runner, DaskRunner):
            raise ZigguratError("DaskMeasurer needs a DaskBuilder and a DaskRunner")
        self.builder, self.runner = option.builder, option.runner
        distributed = require_distributed()
        self._cluster: Any = None
        self._cpus: dict[str, HostCpu] = {}
        """Host CPU of each worker seen, by address."""
        self.retried: list[Config] = []
        """Candidates measured again because their worker died."""
        self._tasks: dict[str, _SentTask] = {}
        """The tasks measured so far, by key."""
        self._flights: dict[Any, _Flight] = {}
        """The candidates in flight, by their Dask future."""
        self._arrived: deque[tuple[Task, Measurement]] = deque()
        """Measurements completed and not yet handed back."""
        if self.runner.address == "local":
            self._client = self._start_local_cluster(distributed)
        else:
            try:
                self._client = distributed.Client(
                    self.runner.address, timeout=CONNECT_SECONDS, set_as_default=False
                )
            except (OSError, TimeoutError) as err:
                raise ZigguratError(
                    f"cannot reach the Dask scheduler at {self.runner.address}: {err}"
                ) from None
        with contextlib.suppress(Exception):  # a worker that cannot warm up starts cold
            self._client.run(warm_up, self.runner.threads, on_error="ignore")
        self.attempts = ATTEMPTS if self._scheduler_retries() == 0 else 1
        """Tries of a candidate whose worker dies, by this measurer: one more where the
        scheduler does not retry a task on its own (allowed-failures 0), else only the
        scheduler's."""

    def _start_local_cluster(self, distributed: Any) -> Any:
        """A LocalCluster of `local_workers` one-thread worker processes, each offering one
        of the runner's resource, whose scheduler leaves retries to this measurer."""
        import dask

        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self._cluster = distributed.LocalCluster(
                n_workers=self.runner.local_workers,
                threads_per_worker=1,
                processes=True,
                resources={self.runner.resource: 1},
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
        return distributed.Client(self._cluster, set_as_default=False)

    def _scheduler_retries(self) -> int | None:
        """How often the scheduler retries a task whose worker died; None if it will not
        say (a scheduler may refuse to run client code)."""
        try:
            return int(self._client.run_on_scheduler(_allowed_failures))
        except Exception:
            return None

    @property
    def client(self) -> Any:
        """The Dask client (to look at or manage the cluster)."""
        return self._client

    @property
    def address(self) -> str:
        """The scheduler's address (the LocalCluster's, for "local")."""
        return str(self._client.scheduler.address)

    def workers(self, live: dict[str, Any] | None = None) -> dict[str, HostCpu]:
        """The live workers' host CPUs, by address (asking the workers not seen before)."""
        live = live or self._client.scheduler_info(n_workers=-1)["workers"]
        new = [address for address in live if address not in self._cpus]
        if new:
            found = self._client.run(host_cpu, workers=new, on_error="ignore")
            self._cpus.update({address: HostCpu(*cpu) for address, cpu in found.items()})
        return {address: self._cpus[address] for address in live if address in self._cpus}

    def _hosts_for(self, task: Task) -> list[str]:
        """Hosts of the live workers that can measure the task: its CPU with its features,
        and the resource."""
        cpu = task.target.cpu.data
        info = self._client.scheduler_info(n_workers=-1)["workers"]
        cpus = self.workers(info)
        with_cpu = [a for a, host in cpus.items() if host.can_measure(task.target)]
        able = [a for a in with_cpu if info[a].get("resources", {}).get(self.runner.resource)]
        if not able and cpus:
            kinds = ", ".join(sorted({host.name for host in cpus.values()}))
            if with_cpu:
                raise ZigguratError(
                    f"no Dask worker at {self.address} offers the resource "
                    f"{self.runner.resource!r}: start workers with --resources "
                    f"{self.runner.resource}=1"
                )
            raise ZigguratError(
                f"no Dask worker at {self.address} has the target's CPU {cpu} with its "
                f"features (the workers have {kinds}); tune a target per CPU kind, e.g. "
                "--target 'llvm -mcpu=...'"
            )
        return sorted({_host(address) for address in able})

    def slots(self) -> int:
        """The live workers offering the runner's resource (each measures one at a time)."""
        live = self._client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(int(w.get("resources", {}).get(self.runner.resource, 0)) for w in live)

    def measure(self, task: Task, configs: Sequence[Config]) -> list[Measurement]:
        return list(self.stream(task, configs))

    def stream(self, task: Task, configs: Sequence[Config]) -> Iterator[Measurement]:
        """The measurements of `configs` as they complete (nothing else may be in flight)."""
        self.submit(task, configs)
        while self._flights or self._arrived:
            yield self.next_done()[1]

    def submit(self, task: Task, configs: Sequence[Config]) -> None:
        """Starts measuring `configs` behind the candidates in flight (`next_done` hands
        their measurements back)."""
        with self._scheduler_lost():
            sent = self._sent(task)
            sent.hosts = self._wait_for_hosts(task)
            for config in configs:
                self._flights[self._submit(sent, config)] = _Flight(sent, config, 1)

    def in_flight(self) -> int:
        return len(self._flights) + len(self._arrived)

    def next_done(self) -> tuple[Task, Measurement]:
        """The next measurement to complete, with its task; a candidate whose worker died is
        measured again first (see the module's docstring)."""
        distributed = require_distributed()
        with self._scheduler_lost():
            while not self._arrived:
                done = self._first_done(distributed, list(self._flights))
                if not done:
                    sent = next(iter(self._flights.values())).sent
                    sent.hosts = self._wait_for_hosts(sent.task)
                for future in done:
                    self._land(future)
        return self._arrived.popleft()

    def _land(self, future: Any) -> None:
        """Takes in a finished future of a flight: its measurement, or another try."""
        flight = self._flights.pop(future)
        task, config = flight.sent.task, flight.config
        if future.status == "finished":
            self._arrived.append((task, _measurement_from_json(config, future.result())))
        elif future.status == "cancelled":
            if not self._connected():
                raise CancelledError()
            error = CancelledError("its Dask task was cancelled")
            self._arrived.append((task, _failed(config, error, 1)))
        elif _worker_died(future) and flight.attempt < self.attempts:
            self.retried.append(config)
            retry = _Flight(flight.sent, config, flight.attempt + 1)
            self._flights[self._submit(flight.sent, config)] = retry
        else:
            self._arrived.append((task, _failed(config, future.exception(), flight.attempt)))

    @contextlib.contextmanager
    def _scheduler_lost(self) -> Iterator[None]:
        """Turns losing the scheduler into one clear ZigguratError."""
        try:
            yield
        except (CancelledError, OSError, TimeoutError) as err:
            if self._connected():
                raise
            raise ZigguratError(
                f"lost the Dask scheduler at {self.runner.address} ({type(err).__name__}); "
                "every measurement so far is in the log: run the same command again to resume"
            ) from None

    def _sent(self, task: Task) -> "_SentTask":
        """The task's wire form, made once per task."""
        if task.key not in self._tasks:
            spec = task_spec(task)
            sources = {path: Path(path).read_text() for path in spec["templates"]}
            self._tasks[task.key] = _SentTask(task, spec, sources, [])
        return self._tasks[task.key]

    def _first_done(self, distributed: Any, futures: list[Any]) -> list[Any]:
        """The futures done after waiting up to `POLL_SECONDS` for one."""
        try:
            with self._client.as_current():
                done, _ = distributed.wait(
                    futures, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
                )
        except TimeoutError:
            if not self._connected():
                raise
            return []
        return list(done)

    def _connected(self) -> bool:
        return bool(self._client.status in ("running", "newly-created"))

    def _wait_for_hosts(self, task: Task) -> list[str]:
        """The hosts that can measure the task, waiting `NO_WORKER_SECONDS` for one."""
        deadline = time.monotonic() + NO_WORKER_SECONDS
        while True:
            hosts = self._hosts_for(task)
            if hosts:
                return hosts
            if time.monotonic() > deadline:
                raise ZigguratError(
                    f"no Dask worker at {self.address} has measured or joined for "
                    f"{NO_WORKER_SECONDS:g} s: every worker is gone"
                )
            time.sleep(POLL_SECONDS)

    def _submit(self, sent: "_SentTask", config: Config) -> Any:
        runner = self.runner
        payload = {
            "task": sent.spec,
            "config": dict(config),
            "build_timeout": self.builder.timeout,
            "runner": {
                "number": runner.number,
                "repeat": runner.repeat,
                "timeout": runner.timeout,
                "min_repeat_ms": runner.min_repeat_ms,
                "check": runner.check,
            },
            "threads": runner.threads or sent.task.target.cores.data,
            "machine_lock": runner.machine_lock,
            "template_sources": sent.template_sources,
        }
        return self._client.submit(
            measure_candidate,
            json.dumps(payload),
            key=f"ziggurat-measure-{sent.spec['name']}-{uuid.uuid4().hex}",
            pure=False,
            resources={runner.resource: 1},
            workers=sent.hosts,
            allow_other_workers=False,
            retries=0,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a lost scheduler cannot be said goodbye to
            self._client.close(timeout=CONNECT_SECONDS)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=CONNECT_SECONDS)

    def __enter__(self) -> "DaskMeasurer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _host(address: str) -> str:
    """The host of a worker address such as tcp://10.0.0.5:40123."""
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def _allowed_failures(dask_scheduler: Any) -> int:
    """How often the scheduler itself retries a task whose worker died (run on it)."""
    return int(dask_scheduler.allowed_failures)


def _worker_died(future: Any) -> bool:
    return type(future.exception()).__name__ == "KilledWorker"


def _failed(config: Config, error: BaseException | None, attempts: int) -> Measurement:
    """The error record of a candidate whose Dask task failed `attempts` times."""
    if type(error).__name__ == "KilledWorker":
        code, message = ErrorCode.RUNTIME_ERROR, f"its Dask worker died, {attempts} times"
    else:
        code, message = ErrorCode.UNKNOWN_ERROR, f"its Dask task failed: {error!r}"
    result = MeasureResult((), code, message, 0.0, 0.0, time.time())
    return Measurement(config, result, "")


def _measurement_from_json(config: Config, text: str) -> Measurement:
    answer = json.loads(text)
    result = answer["result"]
    return Measurement(
        config,
        MeasureResult(
            tuple(result["costs"]),
            ErrorCode(result["error_code"]),
            result["error"],
            result["build_seconds"],
            result["run_seconds"],
            result["timestamp"],
        ),
        answer["trace"],
        answer["kernel_hash"],
        answer["worker"],
    )


# On the worker.

_idle: dict[int, list[IsolatedMeasurer]] = {}
"""This worker's measuring processes not measuring now, by their kernel thread count."""
_idle_lock = threading.Lock()


def _take_measurer(threads: int) -> IsolatedMeasurer:
    """An idle measuring process of this worker with `threads` kernel threads, else a new
    one; idle ones with another thread count are closed."""
    with _idle_lock:
        for count in [c for c in _idle if c != threads]:
            for other in _idle.pop(count):
                other.close()
        idle = _idle.get(threads)
        if idle:
            return idle.pop()
    return IsolatedMeasurer({"OMP_NUM_THREADS": str(threads)})


def _give_back(threads: int, measurer: IsolatedMeasurer) -> None:
    with _idle_lock:
        _idle.setdefault(threads, []).append(measurer)


def warm_up(threads: int | None) -> None:
    """Starts a measuring process on this worker (run on each when a client connects), so
    that its start-up (Python and the compiler's imports, a second or more) overlaps the
    client's work instead of delaying the first candidate. `threads`: the runner's kernel
    thread count, None for this machine's physical cores (what a native target has)."""
    count = threads or physical_cores()
    with _idle_lock:
        if _idle.get(count):
            return
    measurer = IsolatedMeasurer({"OMP_NUM_THREADS": str(count)})
    measurer.start()
    _give_back(count, measurer)


def template_files(sources: dict[str, str]) -> list[str]:
    """Paths on this machine of the client's template files: the client's own path where the
    file there is the same, else a copy of the source the client sent, named by its hash."""
    paths = []
    for path, source in sources.items():
        with contextlib.suppress(OSError):
            if Path(path).read_text() == source:
                paths.append(path)
                continue
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        copy = Path(tempfile.gettempdir()) / f"ziggurat-templates-{os.getuid()}" / digest
        copy = copy / Path(path).name
        if not copy.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            partial = copy.with_suffix(f".{uuid.uuid4().hex}.part")
            partial.write_text(source)
            os.replace(partial, copy)
        paths.append(str(copy))
    return paths


def host_cpu() -> tuple[str, str]:
    """This machine's `HostCpu` (run on each worker)."""
    return str(llvm.get_host_cpu_name()), str(llvm.get_host_cpu_features().flatten())


def measure_candidate(payload: str) -> str:
    """Runs on a Dask worker: builds, checks and times one candidate in an idle measuring
    process of this worker (one per candidate measured at once, kept between candidates),
    started with the kernel thread count the payload gives and
    holding the machine's lock to time. Answers JSON."""
    from distributed import get_worker

    request = json.loads(payload)
    request["task"]["templates"] = template_files(request["template_sources"])
    threads = int(request["threads"])
    measurer = _take_measurer(threads)
    fields: dict[str, Any] = {"threads": threads}
    if request["machine_lock"]:
        fields["lock"] = default_lock_path()
    try:
        measurement = measurer.measure(
            request["task"],
            Config.of(request["config"]),
            LocalBuilder(timeout=request["build_timeout"]),
            LocalRunner(**request["runner"]),
            fields,
        )
    finally:
        _give_back(threads, measurer)
    return json.dumps(
        {
            "result": result_fields(measurement.result),
            "trace": measurement.trace,
            "kernel_hash": measurement.kernel_hash,
            "worker": get_worker().address,
        }
    )
