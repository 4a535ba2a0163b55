"""Shared pieces of the benchmark suites: peers measured in the same run, ratio reports."""

import os
import time
from collections.abc import Callable

import numpy as np
import pytest


def median_seconds(run: Callable[[], object], repeat: int = 200, warmup: int = 20) -> float:
    """Median wall time of `run` over `repeat` calls after `warmup` calls."""
    for _ in range(warmup):
        run()
    samples = np.empty(repeat)
    for n in range(repeat):
        start = time.perf_counter()
        run()
        samples[n] = time.perf_counter() - start
    return float(np.median(samples))


def onnxruntime_session(model_bytes: bytes):
    """The faster of onnxruntime's default session and one with intra-op threads = cores."""
    import onnxruntime as ort

    sessions = [ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])]
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    sessions.append(ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"]))
    return sessions


@pytest.fixture(scope="session")
def report():
    """Collects one line per comparison and prints the table at the end of the session."""
    lines: list[str] = []
    yield lines
    if lines:
        print("\n" + "\n".join(lines))
