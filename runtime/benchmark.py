"""Timing statistics like TVM's time_evaluator: per-run seconds and their summary."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BenchmarkResult:
    """Seconds per run, one entry per repeat."""

    results: tuple[float, ...]

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
        values = [self.mean, self.median, self.max, self.min, self.std]
        header = "  ".join(
            f"{h:>12}" for h in ("mean (ms)", "median (ms)", "max (ms)", "min (ms)", "std (ms)")
        )
        row = "  ".join(f"{v * 1e3:>12.4f}" for v in values)
        return f"Execution time summary:\n{header}\n{row}"


def measure(
    run: Callable[[], object],
    repeat: int = 100,
    number: int = 1,
    min_repeat_ms: float = 0.0,
    warmup: int = 5,
) -> BenchmarkResult:
    """Times `number` back-to-back calls per repeat (grown until a repeat lasts at least
    `min_repeat_ms`), after `warmup` untimed calls."""
    if repeat < 1 or number < 1:
        raise ValueError("repeat and number must be at least 1")
    for _ in range(warmup):
        run()
    if min_repeat_ms > 0:
        while True:
            start = time.perf_counter()
            for _ in range(number):
                run()
            if (time.perf_counter() - start) * 1e3 >= min_repeat_ms:
                break
            number *= 2
    results = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        results.append((time.perf_counter() - start) / number)
    return BenchmarkResult(tuple(results))
