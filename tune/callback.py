"""Tuner callbacks: append every measurement to a log, show progress.

callbacks=[tune.callback.progress_bar(n_trial, prefix="[Task 1/8]"),
           tune.callback.log_to_file("tune.jsonl")]
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ziggurat.tune.measure import Measurement
from ziggurat.tune.records import MeasureRecord, RecordWriter, TargetInfo, Workload
from ziggurat.tune.tasks import Task
from ziggurat.tune.tuner import Callback, Tuner


def record_of(task: Task, measurement: Measurement) -> MeasureRecord:
    """The log line of one measurement of one of the task's configs."""
    workload = Workload(
        key=task.key,
        name=task.name,
        shapes=tuple(a.shape for a in task.arguments),
        dtypes=tuple(a.dtype for a in task.arguments),
        ir_hash=hashlib.sha256(task.kernel_ir.encode()).hexdigest(),
        default=task.default,
    )
    return MeasureRecord(
        workload,
        TargetInfo.of(task.target),
        measurement.config,
        measurement.trace,
        measurement.result,
        kernel_hash=measurement.kernel_hash,
        worker=measurement.worker,
    )


def log_to_file(path: str | Path) -> Callback:
    """Appends one JSON line per measurement, flushed as it is written, so a run killed at any
    moment leaves a log that resumes."""

    def write(tuner: Tuner, measurements: Sequence[Measurement]) -> None:
        with RecordWriter(path) as writer:
            for m in measurements:
                writer.write(record_of(tuner.task, m))

    return write


def progress_bar(total: int, prefix: str = "") -> Callback:
    """A tqdm bar of trials with the best GFLOP/s so far (and the share of errors)."""
    bar = tqdm(total=total, desc=prefix, unit="trial", leave=True)

    def show(tuner: Tuner, measurements: Sequence[Measurement]) -> None:
        best = tuner.task.flops / tuner.best_cost / 1e9 if tuner.best_cost < float("inf") else 0
        bar.set_postfix_str(f"best {best:.1f} GFLOP/s, {tuner.errors} errors")
        bar.update(len(measurements))
        if bar.n >= total:
            bar.close()

    return show
