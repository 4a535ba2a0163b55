"""Hostile inputs, fuzzed: every target of tests/fuzz/targets.py through its Python API, its
CLI called here, and its CLI in a child process. Derandomized, with no example database, so
CI sees the same cases every run; benchmarks/fuzz_campaign.py runs the same strategies far
longer with fresh randomness."""

import tempfile
from pathlib import Path

import pytest
from fuzz.targets import CHECK_SECONDS, TARGETS, cli_subprocess, run_in_process, time_limit
from hypothesis import HealthCheck, given, settings

REPRODUCIBLE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
API_EXAMPLES = {"onnx": 400, "ir": 100, "params": 300, "zgt": 300, "tuning-log": 200}
CLI_EXAMPLES = {"onnx": 40, "ir": 25, "params": 40, "zgt": 40, "tuning-log": 25}
CHILD_EXAMPLES = 3


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_api_works_or_refuses_cleanly(name: str) -> None:
    target = TARGETS[name]

    @settings(REPRODUCIBLE, max_examples=API_EXAMPLES[name])
    @given(target.strategy())
    def check(case) -> None:
        with tempfile.TemporaryDirectory() as folder, time_limit(CHECK_SECONDS):
            target.check(case, Path(folder))

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_cli_works_or_refuses_in_one_line(name: str) -> None:
    target = TARGETS[name]

    @settings(REPRODUCIBLE, max_examples=CLI_EXAMPLES[name])
    @given(target.strategy())
    def check(case) -> None:
        with tempfile.TemporaryDirectory() as folder, time_limit(CHECK_SECONDS):
            target.cli_check(case, Path(folder), run_in_process)

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_cli_in_a_child_process_neither_crashes_nor_hangs(name: str) -> None:
    target = TARGETS[name]

    @settings(REPRODUCIBLE, max_examples=CHILD_EXAMPLES)
    @given(target.strategy())
    def check(case) -> None:
        with tempfile.TemporaryDirectory() as folder, time_limit(CHECK_SECONDS):
            target.cli_check(case, Path(folder), cli_subprocess)

    check()
