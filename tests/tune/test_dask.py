"""Measuring on a Dask cluster: a LocalCluster of two worker processes tunes a small model
while one worker is killed; the CPU filter; a lost scheduler from the shell; the extra."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import onnx
import pytest

from ziggurat import tune
from ziggurat.core.errors import ZigguratError
from ziggurat.examples import mlp_model
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.schedule.space import Config
from ziggurat.tune.records import ErrorCode, load_records

TARGET = "llvm -mcpu=native"
QUICK = {"number": 2, "repeat": 2, "min_repeat_ms": 1.0, "timeout": 2.0}


class FixedRoofline(tune.Roofline):
    """A bound no kernel reaches, nothing measured."""

    def __init__(self) -> None:
        super().__init__(1e18, 1)

    def bound(self, flops: int, nbytes: int) -> float:
        return 0.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[tune.DaskMeasurer]:
    option = tune.measure_option(
        builder=tune.DaskBuilder("local"), runner=tune.DaskRunner("local", **QUICK)
    )
    with tune.DaskMeasurer(option) as measurer:
        yield measurer


@pytest.fixture(scope="module")
def mlp():
    return from_onnx(mlp_model(batch=4))


class KillsAWorker:
    """Passes measurements through; once `after` have come, SIGKILLs a worker that is in the
    middle of measuring a candidate (its nanny starts another)."""

    def __init__(self, measurer: tune.DaskMeasurer, after: int):
        self.measurer, self.after, self.seen = measurer, after, 0
        self.killed: str = ""

    def measure(self, task: tune.Task, configs: Sequence[Config]):
        return self.measurer.measure(task, configs)

    def slots(self) -> int:
        return self.measurer.slots()

    def submit(self, task: tune.Task, configs: Sequence[Config]) -> None:
        self.measurer.submit(task, configs)

    def in_flight(self) -> int:
        return self.measurer.in_flight()

    def next_done(self):
        done = self.measurer.next_done()
        self.seen += 1
        if self.seen >= self.after and not self.killed:
            self._kill_a_busy_worker()
        return done

    def _kill_a_busy_worker(self) -> None:
        client = self.measurer.client
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            self.killed = busy[0]


def test_two_workers_tune_a_model_and_survive_losing_one(cluster, mlp, tmp_path):
    module, params = mlp
    log = tmp_path / "tune.jsonl"
    killer = KillsAWorker(cluster, after=3)
    result = tune.tune_model(
        module,
        params,
        TARGET,
        n_trial=24,
        log=log,
        tuner="random",
        progress=False,
        end_to_end=False,
        measurer=killer,
        roofline=FixedRoofline(),
    )
    assert killer.killed, "a worker was killed while it measured"
    assert cluster.attempts == 2, "the local scheduler leaves the retry to the measurer"
    assert cluster.retried, "its candidate was measured again on another worker"
    assert result.trials == 24
    records = load_records(log)
    trials = [(r.workload.key, r.config) for r in records]
    assert len(set(trials)) == 24, "every trial logged, none measured twice"
    assert len(records) == 24 + result.confirmations
    failed = [r.result for r in records if r.result.error_code != ErrorCode.NO_ERROR]
    assert not failed, f"measurements failed: {failed}"
    workers = {r.worker for r in records}
    assert len(workers) >= 2 and all(w.startswith("tcp://") for w in workers)
    by_config: dict[tuple[str, Config], list[float]] = {}
    for r in records:
        by_config.setdefault((r.workload.key, r.config), []).append(r.result.timestamp)
    timed_again = [stamps for stamps in by_config.values() if len(stamps) > 1]
    assert len(timed_again) == result.confirmations // 3, "each confirmed default and best"
    assert all(len(set(stamps)) == len(stamps) for stamps in timed_again), "none from a cache"


@pytest.mark.parametrize("target", ["llvm -mcpu=cascadelake", "llvm -mcpu=native -mattr=+zzz"])
def test_a_worker_of_another_cpu_gets_no_timing_work(cluster, mlp, target):
    """Another CPU, or this one with a feature it lacks, is no worker's to measure."""
    with_feature = tune.extract_tasks(mlp[0], target, mlp[1])[0]
    with pytest.raises(ZigguratError, match="has the target's CPU .* with its features"):
        cluster.measure(with_feature, [with_feature.default])


def test_a_worker_measures_with_the_targets_threads_and_names_itself(cluster, mlp):
    import psutil

    task = tune.extract_tasks(mlp[0], TARGET, mlp[1])[-1]
    (measurement,) = cluster.measure(task, [task.default])
    assert measurement.result.error_code == ErrorCode.NO_ERROR
    assert measurement.worker in cluster.workers()
    assert {cpu.name for cpu in cluster.workers().values()} == {task.target.cpu.data}
    assert cluster.slots() == 2, "one candidate at a time per worker"
    worker = measurement.worker
    assert cluster.client.run(os.getenv, "OMP_NUM_THREADS", workers=[worker]) == {worker: "1"}
    pid = cluster.client.run(os.getpid, workers=[worker])[worker]
    (measuring,) = psutil.Process(pid).children()
    assert measuring.environ()["OMP_NUM_THREADS"] == str(task.target.cores.data)


def test_a_hang_or_crash_on_a_worker_is_an_error_record_and_measuring_goes_on(cluster, mlp):
    """The worker kills its measuring process at the run timeout (Dask cannot cancel the
    task), which frees the machine's lock for the candidates after it."""
    task = tune.extract_tasks(mlp[0], TARGET, mlp[1])[-1]
    faulty = [
        Config.of({**dict(task.default), "__fault__": "__test_hang__"}),
        Config.of({**dict(task.default), "__fault__": "__test_crash__"}),
    ]
    results = {m.config: m.result for m in cluster.measure(task, [*faulty, task.default])}
    assert results[faulty[0]].error_code == ErrorCode.RUN_TIMEOUT
    assert results[faulty[1]].error_code == ErrorCode.RUNTIME_ERROR
    assert results[task.default].error_code == ErrorCode.NO_ERROR


def test_a_template_file_a_worker_lacks_is_imported_from_the_source_sent(tmp_path):
    from ziggurat.tune.dask_measure import template_files

    here = tmp_path / "tiles.py"
    here.write_text("KNOBS = 1\n")
    gone = str(tmp_path / "elsewhere" / "tiles.py")
    same, copy = template_files({str(here): "KNOBS = 1\n", gone: "KNOBS = 2\n"})
    assert same == str(here), "the worker's own file where it is the same"
    assert copy != gone and Path(copy).name == "tiles.py"
    assert Path(copy).read_text() == "KNOBS = 2\n"
    assert template_files({gone: "KNOBS = 2\n"}) == [copy], "one copy per source"


def test_builder_and_runner_must_both_be_on_one_cluster():
    with pytest.raises(ZigguratError, match="go together"):
        tune.measure_option(builder=tune.DaskBuilder("tcp://a:8786"), runner=tune.LocalRunner())
    with pytest.raises(ZigguratError, match="different clusters"):
        tune.measure_option(
            builder=tune.DaskBuilder("tcp://a:8786"), runner=tune.DaskRunner("tcp://b:8786")
        )


def test_without_the_extra_dask_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    option = tune.measure_option(builder=tune.DaskBuilder(), runner=tune.DaskRunner())
    with pytest.raises(ZigguratError, match=r"pip install 'ziggurat\[distributed\]'"):
        tune.DaskMeasurer(option)


def test_dask_from_the_shell_without_the_extra_is_one_line(monkeypatch, tmp_path, capsys):
    from ziggurat.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    argv = ["tune", str(tmp_path / "missing.onnx"), "--dask", "local"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: " + tune.dask_measure.INSTALL_HINT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_a_lost_scheduler_ends_the_run_in_one_line_and_the_log_resumes(tmp_path: Path):
    model = tmp_path / "mlp.onnx"
    onnx.save(mlp_model(batch=4), str(model))
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    scheduler = _start("distributed.cli.dask_scheduler", "--port", port, "--no-dashboard")
    worker = _start(
        "distributed.cli.dask_worker", address, "--nthreads", "1", "--resources", "measure=1",
        "--no-dashboard",
    )  # fmt: skip
    log = tmp_path / "tune.jsonl"
    ziggurat = str(Path(sys.executable).parent / "ziggurat")
    argv = [ziggurat, "tune", str(model), "--log", str(log), "--trials", "200", "--quiet"]
    argv += ["--number", "2", "--repeat", "2", "--min-repeat-ms", "1", "--no-end-to-end"]
    try:
        run = subprocess.Popen(
            [*argv, "--dask", address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if log.is_file() and len(log.read_text().splitlines()) >= 3:
                break
            time.sleep(0.2)
        scheduler.kill()
        _, err = run.communicate(timeout=120)
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait()
    assert run.returncode == 1
    assert err.strip().startswith("error: lost the Dask scheduler at") and "\n" not in err.strip()
    before = load_records(log)
    assert before and all(r.worker for r in before)
    resumed = subprocess.run(
        [*argv, "--trials", str(len(before) + 2)], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    after = load_records(log)
    assert after[: len(before)] == before
    trials = {(r.workload.key, json.dumps(dict(r.config))) for r in after}
    assert len(trials) == len({(r.workload.key, r.config) for r in before}) + 2
