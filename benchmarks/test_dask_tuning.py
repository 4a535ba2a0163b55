"""Tuning measured on a Dask cluster: trials per minute with one and with two local worker
processes (a LocalCluster on this machine), beside the measuring process of plain local
tuning, on a small model whose kernels build slower than they time, so two workers' builds
side by side should show; and two workers once more with builds allowed beside timings
(`DaskRunner(machine_lock=False)`), to show what holding the machine to time costs. Every
run starts with an empty code cache (the same seed proposes the same configs) and the
cluster already up; the ratios of two workers to one are reported.

    ZIGGURAT_DASK_TRIALS=48 pytest benchmarks/test_dask_tuning.py -s   # shorter: the start weighs more
    ZIGGURAT_DASK_MIN_REPEAT_MS=150 ...   # LocalRunner's default: timing, not building, dominates

The default timing is short (`min_repeat_ms` 1): these kernels run in microseconds, and a
build (0.1-0.5 s) is then most of a trial. A timing holds its machine alone (no build beside
it), so two workers on one machine gain only on the builds.

`ZIGGURAT_DASK_BAR` (default 0: report only) fails the run when two workers make fewer than
that many times one worker's trials per minute.
"""

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import ziggurat
from benchmarks.harness import median_seconds
from ziggurat import tune
from ziggurat.examples import mlp_model
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.runtime import GraphModule
from ziggurat.tune.tuner import Measurer

TRIALS = int(os.environ.get("ZIGGURAT_DASK_TRIALS", "200"))
TURNS = int(os.environ.get("ZIGGURAT_DASK_TURNS", "3"))
BAR = float(os.environ.get("ZIGGURAT_DASK_BAR", "0"))
MIN_REPEAT_MS = float(os.environ.get("ZIGGURAT_DASK_MIN_REPEAT_MS", "1"))
TIMING = {"number": 2, "repeat": 3, "min_repeat_ms": MIN_REPEAT_MS}
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


def test_trials_per_minute_in_turns(report, tmp_path, monkeypatch) -> None:
    """Every setup once per turn, `TURNS` turns: a host whose load drifts touches each
    alike, and the medians and the per-turn ratios are what is reported."""
    rates: dict[str, list[float]] = {name: [] for name in SETUPS}
    module, params = from_onnx(mlp_model(batch=4))
    for turn in range(TURNS):
        for name, start_measurer in SETUPS.items():
            folder = tmp_path / f"{turn}-{_folder(name)}"
            monkeypatch.setenv("ZIGGURAT_CACHE_DIR", str(folder / "cache"))
            rate, line = _tune_once(module, params, start_measurer, folder)
            rates[name].append(rate)
            LOGS[name] = folder / "tune.jsonl"
            report.append(f"dask tuning, turn {turn + 1}, {name}: {line}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for name, got in rates.items():
        report.append(
            f"dask tuning, {name}: median {statistics.median(got):.0f} measurements/min "
            f"(turns: {', '.join(f'{r:.0f}' for r in got)})"
        )
    one = rates["1 Dask worker"]
    for name in [name for name in SETUPS if name.startswith("2 Dask workers")]:
        per_turn = [two / alone for two, alone in zip(rates[name], one, strict=True)]
        ratio = statistics.median(rates[name]) / statistics.median(one)
        report.append(
            f"dask tuning: {name} / 1 worker = {ratio:.2f}x (medians; per turn "
            f"{', '.join(f'{r:.2f}' for r in per_turn)}; load average {load})"
        )
        if name == "2 Dask workers":
            assert ratio >= BAR, f"two workers measured {ratio:.2f}x one worker's rate, bar {BAR}"
    report.append(f"dask tuning, the model built with each last log: {_latencies(module, params)}")


def _folder(name: str) -> str:
    """A setup's name as a folder name."""
    return name.replace(" ", "-").replace(",", "")


def _tune_once(
    module, params, start_measurer: Callable[[], Measurer], folder: Path
) -> tuple[float, str]:
    """Tunes the model once with a measurer already up: its measurements per minute and a
    line saying how it went."""
    folder.mkdir(parents=True)
    roofline = tune.Roofline(1e18, 1)  # never reached: every trial is spent
    measurer = start_measurer()
    log = folder / "tune.jsonl"
    try:
        start = time.perf_counter()
        result = tune.tune_model(
            module,
            params,
            n_trial=TRIALS,
            log=log,
            tuner="random",
            progress=False,
            end_to_end=False,
            measurer=measurer,
            roofline=roofline,
        )
        seconds = time.perf_counter() - start
    finally:
        close = getattr(measurer, "close", None)
        if close is not None:
            close()
    measured = result.trials + result.confirmations
    rate = measured / seconds * 60
    records = tune.load_records(log)
    building = sum(r.result.build_seconds for r in records)
    timing = sum(r.result.run_seconds for r in records)
    best = ", ".join(f"{t.best_seconds * 1e6:.1f}" for t in result.tasks)
    return rate, (
        f"{result.trials} trials and {result.confirmations} confirming timings in "
        f"{seconds:.1f} s: {rate:.0f} measurements/min ({building:.1f} s building, "
        f"{timing:.1f} s checking and timing in all; best us per task {best})"
    )


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
