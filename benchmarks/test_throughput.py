"""Throughput against the number of calling threads: Ziggurat's `lib.run(feeds)` and
onnxruntime's `sess.run(None, feeds)` on one loaded model, 1, 2 and 4 callers, each engine and
each thread count in a process of its own. Reported as inferences per second, the scaling
over one caller, and Ziggurat's throughput over onnxruntime's at the same thread count.

Kernels "parallel": each engine as it comes (a lone call's kernels on every core); "serial":
one kernel thread (`set_kernel_threads(1)`, onnxruntime's `intra_op_num_threads=1`), where
callers are the only parallelism. Each caller warms up on its own thread, as a serving thread
would. `ZIGGURAT_THROUGHPUT_BAR=1.6` fails the run when two callers of a model with serial
kernels reach less than that many times one caller's throughput."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CALLERS = (1, 2, 4)
SECONDS = 3.0
CASES = [
    ("mlp", "parallel"),
    ("mlp", "serial"),
    ("bert_encoder", "parallel"),
    ("bert_encoder", "serial"),
    ("resnet18", "parallel"),
]

MEASURE = """
import json, sys, threading, time
import numpy as np
sys.path.insert(0, sys.argv[1])
engine, name, callers, seconds = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
serial = sys.argv[6] == "serial"
from benchmarks.test_throughput import model_and_shapes
model, shapes = model_and_shapes(name)
rng = np.random.default_rng(0)
feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
if engine == "ziggurat":
    import ziggurat
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    if serial:
        from ziggurat.runtime import set_kernel_threads
        set_kernel_threads(1)
    call = lambda: lib.run(feeds)
else:
    import onnxruntime as ort
    options = ort.SessionOptions()
    if serial:
        options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    call = lambda: session.run(None, feeds)
counts = [0] * callers
start_line = threading.Barrier(callers + 1)
stop = threading.Event()
def caller(n):
    for _ in range(20):
        call()
    start_line.wait()
    while not stop.is_set():
        call()
        counts[n] += 1
workers = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
for worker in workers:
    worker.start()
start_line.wait()
started = time.perf_counter()
time.sleep(seconds)
stop.set()
for worker in workers:
    worker.join()
print(json.dumps({"per_second": sum(counts) / (time.perf_counter() - started)}))
"""


def model_and_shapes(name: str):
    """The ONNX model called `name` and its input shapes."""
    if name == "mlp":
        from ziggurat.examples import mlp_model

        model = mlp_model(batch=1)
        return model, {i.name: (1, 784) for i in model.graph.input}
    from benchmarks.test_models import MODELS as BENCHMARK_MODELS

    builder, shapes = BENCHMARK_MODELS[name]
    return builder(), shapes


def _throughput(engine: str, name: str, callers: int, kernels: str) -> float:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            str(ROOT),
            engine,
            name,
            str(callers),
            str(SECONDS),
            kernels,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1])["per_second"])


@pytest.mark.parametrize(("name", "kernels"), CASES)
def test_throughput_against_callers(benchmark, report, name: str, kernels: str) -> None:
    figures = {
        engine: {n: _throughput(engine, name, n, kernels) for n in CALLERS}
        for engine in ("ziggurat", "onnxruntime")
    }
    benchmark.extra_info.update({e: {str(n): v for n, v in f.items()} for e, f in figures.items()})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    ours, theirs = figures["ziggurat"], figures["onnxruntime"]
    for n in CALLERS:
        report.append(
            f"{name} ({kernels}), {n} caller{'s' if n > 1 else ' '}: Ziggurat {ours[n]:9.1f}/s "
            f"(x{ours[n] / ours[1]:.2f}) | onnxruntime {theirs[n]:9.1f}/s "
            f"(x{theirs[n] / theirs[1]:.2f}) | Ziggurat / onnxruntime {ours[n] / theirs[n]:.2f}"
        )
    bar = os.environ.get("ZIGGURAT_THROUGHPUT_BAR")
    if bar is not None and kernels == "serial":
        scaling = ours[2] / ours[1]
        assert scaling >= float(bar), f"two callers give x{scaling:.2f} < {bar}"
