"""Timing statistics and the time_evaluator-style summary."""

import re

import pytest

from ziggurat.runtime import BenchmarkResult
from ziggurat.runtime.benchmark import measure


def test_statistics() -> None:
    result = BenchmarkResult((0.001, 0.003, 0.002, 0.002))
    assert result.mean == pytest.approx(0.002)
    assert result.median == pytest.approx(0.002)
    assert result.min == 0.001 and result.max == 0.003
    assert result.std == pytest.approx(0.000707107, rel=1e-5)


def test_summary_table() -> None:
    lines = str(BenchmarkResult((0.001, 0.003, 0.002, 0.002))).splitlines()
    assert lines[0] == "Execution time summary:"
    header = re.split(r"\s{2,}", lines[1].strip())
    assert header == ["mean (ms)", "median (ms)", "max (ms)", "min (ms)", "std (ms)"]
    assert [float(cell) for cell in lines[2].split()] == [2.0, 2.0, 3.0, 1.0, 0.7071]
    assert len(lines[2]) == len(lines[1])


def test_empty_result_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one timing"):
        BenchmarkResult(())


def test_measure_counts_warmup_and_runs() -> None:
    calls: list[None] = []
    result = measure(lambda: calls.append(None), repeat=4, number=3, warmup=2)
    assert len(calls) == 2 + 4 * 3
    assert len(result.results) == 4 and result.number == 3


def test_measure_grows_number_to_min_repeat_ms() -> None:
    result = measure(lambda: None, repeat=2, number=1, min_repeat_ms=1.0, warmup=0)
    assert result.number > 1


@pytest.mark.parametrize(
    "options, message",
    [
        ({"repeat": 0}, "repeat and number must be at least 1, got 0 and 1"),
        ({"number": 0}, "repeat and number must be at least 1, got 100 and 0"),
        ({"warmup": -1}, "must not be negative, got -1 and 0.0"),
        ({"min_repeat_ms": -1.0}, "must not be negative, got 5 and -1.0"),
    ],
)
def test_measure_refuses_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure(lambda: None, **options)
