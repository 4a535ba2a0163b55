"""Tuning measured on a Dask cluster: trials per minute with one and with two local worker
processes (a LocalCluster on this machine), beside the measuring process of plain local
tuning, on a small model whose kernels build slower than they time, so two workers' builds
side by side should show; and two workers once more with builds allowed beside timings
(`DaskRunner(machine_lock=False)`), to show what holding the machine to time costs. Every
run starts with an empty code cache (the same seed proposes the same configs) and the
cluster already up; the ratios of two workers to one are reported.

    ZIGGURAT_DASK_TRIALS=64 pytest benchmarks/test_dask_tuning.py -s
    ZIGGURAT_DASK_MIN_REPEAT_MS=150 ...   # LocalRunner's default: timing, not building, dominates

The default timing is short (`min_repeat_ms` 1): these kernels run in microseconds, and a
build (0.1-0.5 s) is then most of a trial. A timing holds its machine alone (no build beside
it), so two workers on one machine gain only on the builds.

`ZIGGURAT_DASK_BAR` (default 0: report only) fails the run when two workers make fewer than
that many times one worker's trials per minute.
"""

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import ziggurat
from benchmarks.harness import median_seconds
from ziggurat import tune
from ziggurat.examples import mlp_model
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.runtime import GraphModule
from ziggurat.tune.tuner import Measurer

TRIALS = int(os.environ.get("ZIGGURAT_DASK_TRIALS", "48"))
BAR = float(os.environ.get("ZIGGURAT_DASK_BAR", "0"))
MIN_REPEAT_MS = float(os.environ.get("ZIGGURAT_DASK_MIN_REPEAT_MS", "1"))
TIMING = {"number": 2, "repeat": 3, "min_repeat_ms": MIN_REPEAT_MS}
RATES: dict[str, float] = {}
LOGS: dict[str, Path] = {}


def _local() -> tune.LocalMeasurer:
    return tune.LocalMeasurer(tune.measure_option(runner=tune.LocalRunner(**TIMING)))


def _cluster(workers: int, machine_lock: bool = True) -> Callable[[], tune.DaskMeasurer]:
    def start() -> tune.DaskMeasurer:
        runner = tune.DaskRunner(
            "local", local_workers=workers, machine_lock=machine_lock, **TIMING
        )
        option = tune.measure_option(builder=tune.DaskBuilder("local"), runner=runner)
        return tune.DaskMeasurer(option)

    return start


SETUPS: dict[str, Callable[[], Measurer]] = {
    "local process": _local,
    "1 Dask worker": _cluster(1),
    "2 Dask workers": _cluster(2),
    "2 Dask workers, builds beside timings": _cluster(2, machine_lock=False),
}


@pytest.mark.parametrize("name", SETUPS)
def test_trials_per_minute(benchmark, report, tmp_path, monkeypatch, name: str) -> None:
    monkeypatch.setenv("ZIGGURAT_CACHE_DIR", tempfile.mkdtemp(dir=tmp_path))
    module, params = from_onnx(mlp_model(batch=4))
    roofline = tune.Roofline(1e18, 1)  # never reached: every trial is spent
    measurer = SETUPS[name]()
    log = LOGS[name] = tmp_path / "tune.jsonl"
    try:
        start = time.perf_counter()
        result = benchmark.pedantic(
            tune.tune_model,
            args=(module, params),
            kwargs={
                "n_trial": TRIALS,
                "log": log,
                "tuner": "random",
                "progress": False,
                "end_to_end": False,
                "measurer": measurer,
                "roofline": roofline,
            },
            rounds=1,
            iterations=1,
        )
        seconds = time.perf_counter() - start
    finally:
        close = getattr(measurer, "close", None)
        if close is not None:
            close()
    measured = result.trials + result.confirmations
    RATES[name] = measured / seconds * 60
    records = tune.load_records(log)
    building = sum(r.result.build_seconds for r in records)
    timing = sum(r.result.run_seconds for r in records)
    best = ", ".join(f"{t.best_seconds * 1e6:.1f}" for t in result.tasks)
    report.append(
        f"dask tuning, {name}: {result.trials} trials and {result.confirmations} confirming "
        f"timings in {seconds:.1f} s: {RATES[name]:.0f} measurements/min ({building:.1f} s "
        f"building, {timing:.1f} s checking and timing in all; best us per task {best})"
    )
    if name.startswith("2 Dask workers") and "1 Dask worker" in RATES:
        ratio = RATES[name] / RATES["1 Dask worker"]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        report.append(f"dask tuning: {name} / 1 worker = {ratio:.2f}x (load average {load})")
        if name == "2 Dask workers":
            assert ratio >= BAR, f"two workers measured {ratio:.2f}x one worker's rate, bar {BAR}"
    if name == list(SETUPS)[-1]:
        report.append(f"dask tuning, the model built with each log: {_latencies(module, params)}")


def _latencies(module, params) -> str:
    """Median latency of the model built with each setup's log, timed in turns."""
    runners = {}
    x = np.random.default_rng(0).standard_normal((4, 784)).astype(np.float32)
    for name, log in LOGS.items():
        with tune.apply_history_best(log, quiet=True):
            runner = GraphModule(ziggurat.build(module, params=params))
        runner.set_input(0, x)
        runners[name] = runner
    turns: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(7):
        for name, runner in runners.items():
            turns[name].append(median_seconds(runner.run, repeat=200, warmup=20))
    return ", ".join(f"{name} {statistics.median(t) * 1e6:.1f} us" for name, t in turns.items())
