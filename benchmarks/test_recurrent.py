"""Recurrent models against onnxruntime: a CRNN text recognizer (conv stem, 2-layer
bidirectional LSTM of hidden 256 over 64 steps) and a streaming GRU acoustic model (state in
and out), `benchmarks/models/recurrent.py`. Each engine runs in a process of its own (no
spinning threads of one taking the other's cores), alternately, `ROUNDS` times; each
engine's figure is its best median over the rounds, so a burst of other work on a shared
machine spoils a round, not the comparison. Both on every core (onnxruntime: the faster of
its default session and one with intra_op_num_threads = cores) and on one core.
`ZIGGURAT_BENCH_BAR=0.8` fails the run when a two-core ratio exceeds the bar."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3

MEASURE = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
engine, name, threads = sys.argv[2], sys.argv[3], sys.argv[4]
from benchmarks.harness import median_seconds, onnxruntime_sessions
from benchmarks.test_recurrent import model_and_shapes
model, shapes = model_and_shapes(name)
rng = np.random.default_rng(0)
feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
if engine == "ziggurat":
    import ziggurat
    from ziggurat.runtime import GraphModule, set_kernel_threads
    if threads == "one":
        set_kernel_threads(1)
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, target="llvm -mcpu=native", params=params))
    runner.set_input(**feeds)
    seconds = median_seconds(runner.run, repeat=50, warmup=5)
    outputs = [runner.get_output(n) for n in range(runner.get_num_outputs())]
    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for got, want in zip(outputs, session.run(None, feeds), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
else:
    import onnxruntime as ort
    if threads == "one":
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        sessions = [ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])]
    else:
        sessions = onnxruntime_sessions(model.SerializeToString())
    seconds = min(
        median_seconds(lambda s=s: s.run(None, feeds), repeat=50, warmup=5) for s in sessions
    )
print(json.dumps({"seconds": seconds}))
"""


def model_and_shapes(name: str):
    """The ONNX model called `name` and its input shapes."""
    from benchmarks.models import recurrent

    if name == "crnn":
        return recurrent.crnn(), recurrent.CRNN_SHAPES
    return recurrent.gru_speech(), recurrent.GRU_SPEECH_SHAPES


def _median_seconds(engine: str, name: str, threads: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(ROOT), engine, name, threads],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])


@pytest.mark.parametrize("threads", ["all", "one"])
@pytest.mark.parametrize("name", ["crnn", "gru_speech"])
def test_recurrent_latency(benchmark, report, name: str, threads: str) -> None:
    rounds: dict[str, list[float]] = {"ziggurat": [], "onnxruntime": []}
    for _ in range(ROUNDS):
        for engine, figures in rounds.items():
            figures.append(_median_seconds(engine, name, threads))
    ours, theirs = min(rounds["ziggurat"]), min(rounds["onnxruntime"])
    benchmark.extra_info.update(
        {"ziggurat_ms": ours * 1e3, "onnxruntime_ms": theirs * 1e3, "rounds": rounds}
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    cores = "1 core" if threads == "one" else "all cores"
    report.append(
        f"{name} ({cores}): ziggurat {ours * 1e3:8.3f} ms | onnxruntime {theirs * 1e3:8.3f} ms "
        f"(ratio {ours / theirs:.2f})"
    )
    bar = os.environ.get("ZIGGURAT_BENCH_BAR")
    if bar is not None and threads == "all":
        assert ours / theirs <= float(bar), f"Ziggurat/onnxruntime = {ours / theirs:.2f} > {bar}"
