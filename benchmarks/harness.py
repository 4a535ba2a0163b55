"""Timing helpers shared by the benchmark suites: peers measured in the same run."""

import os
import time
from collections.abc import Callable

import numpy as np


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


def onnxruntime_sessions(model_bytes: bytes) -> list:
    """onnxruntime's default session and one with intra-op threads = cores; benchmarks take
    the faster of the two."""
    import onnxruntime as ort

    sessions = [ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])]
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    sessions.append(ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"]))
    return sessions
