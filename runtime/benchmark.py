"""Timing statistics like TVM's time_evaluator: per-run seconds and their summary."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SUMMARY_COLUMNS = ("mean (ms)", "median (ms)", "max (ms)", "min (ms)", "std (ms)")


@dataclass(frozen=True)
class BenchmarkResult:
    """Seconds per run, one entry per repeat (each the average of `number` back-to-back runs)."""

    results: tuple[float, ...]
    number: int = 1

    def __post_init__(self) -> None:
        if not self.results:
            raise ValueError("a BenchmarkResult needs at least one timing")
        object.__setattr__(self, "results", tuple(float(r) for r in self.results))

    @property
    def mean(self) -> float:
        return float(np.mean(self.results))

    @property
    def median(self) -> float:
        return float(np.median(self.results))

    @property
    def std(self) -> float:
        return float(np.std(self.results))

    @property
    def min(self) -> float:
        return float(np.min(self.results))

    @property
    def max(self) -> float:
        return float(np.max(self.results))

    def __str__(self) -> str:
        values = (self.mean, self.median, self.max, self.min, self.std)
        header = "  ".join(f"{title:>12}" for title in SUMMARY_COLUMNS)
        row = "  ".join(f"{value * 1e3:>12.4f}" for value in values)
        return f"Execution time summary:\n{header}\n{row}"


def measure(
    run: Callable[[], object],
    repeat: int = 100,
    number: int = 1,
    min_repeat_ms: float = 0.0,
    warmup: int = 5,
) -> BenchmarkResult:
    """Times `number` back-to-back calls per repeat, after `warmup` untimed calls. With
    `min_repeat_ms`, `number` doubles until one repeat lasts that long, so that timer
    resolution does not dominate fast models."""
    if repeat < 1 or number < 1:
        raise ValueError(f"repeat and number must be at least 1, got {repeat} and {number}")
    if warmup < 0 or min_repeat_ms < 0:
        raise ValueError(
            f"warmup and min_repeat_ms must not be negative, got {warmup} and {min_repeat_ms}"
        )
    for _ in range(warmup):
        run()
    if min_repeat_ms > 0:
        while _time(run, number) * 1e3 < min_repeat_ms:
            number *= 2
    results = tuple(_time(run, number) / number for _ in range(repeat))
    return BenchmarkResult(results, number)


def _time(run: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        run()
    return time.perf_counter() - start
