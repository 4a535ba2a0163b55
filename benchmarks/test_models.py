"""Whole models against onnxruntime, measured in the same run; build time reported too."""

import os
import time

import numpy as np
import pytest

import ziggurat
from benchmarks.harness import median_seconds, onnxruntime_sessions
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule

MODELS = {
    "bert_encoder": (bert_encoder, {"hidden_states": (1, 128, 128)}),
    "resnet18": (resnet18, {"input": (1, 3, 224, 224)}),
    "mobilenet_v2": (mobilenet_v2, {"input": (1, 3, 224, 224)}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_latency(benchmark, report, name: str) -> None:
    builder, shapes = MODELS[name]
    model = builder()
    started = time.perf_counter()
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, target="llvm -mcpu=native", params=params, opt_level=3)
    build_seconds = time.perf_counter() - started
    runner = GraphModule(lib)
    rng = np.random.default_rng(0)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    runner.set_input(**inputs)
    ours = median_seconds(runner.run, repeat=30, warmup=3)
    sessions = onnxruntime_sessions(model.SerializeToString())
    np.testing.assert_allclose(
        runner.get_output(0), sessions[0].run(None, inputs)[0], rtol=1e-3, atol=1e-4
    )
    ort = min(
        median_seconds(lambda s=s: s.run(None, inputs), repeat=30, warmup=3) for s in sessions
    )
    benchmark.extra_info.update(
        {"ziggurat_ms": ours * 1e3, "onnxruntime_ms": ort * 1e3, "build_s": build_seconds}
    )
    benchmark.pedantic(runner.run, rounds=3, iterations=1)
    report.append(
        f"{name}: ziggurat {ours * 1e3:8.2f} ms | onnxruntime {ort * 1e3:8.2f} ms "
        f"(ratio {ours / ort:.2f}) | build {build_seconds:.2f} s, {len(lib.plan['launches'])} launches"
    )
    bar = os.environ.get("ZIGGURAT_BENCH_BAR")
    if bar is not None:
        assert ours / ort <= float(bar), f"Ziggurat/onnxruntime = {ours / ort:.2f} > {bar}"
