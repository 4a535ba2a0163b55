"""MLP 784-512-512-10 at batch 1 and 64: Ziggurat against onnxruntime and numpy, measured in
the same run. Prints the ratios; `ZIGGURAT_BENCH_BAR` (e.g. 1.0) fails the run when Ziggurat's
latency exceeds bar x onnxruntime's."""

import os

import numpy as np
import pytest
from onnx import numpy_helper

import ziggurat
from benchmarks.harness import median_seconds, onnxruntime_sessions
from ziggurat.examples import mlp_model
from ziggurat.runtime import GraphModule


def numpy_mlp(params: dict[str, np.ndarray], layers: int):
    weights = [np.ascontiguousarray(params[f"fc{n}.weight"].T) for n in range(layers)]
    biases = [params[f"fc{n}.bias"] for n in range(layers)]

    def run(x: np.ndarray) -> np.ndarray:
        for n in range(layers - 1):
            x = np.maximum(x @ weights[n] + biases[n], 0)
        z = x @ weights[-1] + biases[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return run


@pytest.mark.parametrize("batch", [1, 64])
def test_mlp_latency(benchmark, report, batch: int) -> None:
    model = mlp_model(batch)
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, target="llvm -mcpu=native", params=params, opt_level=3)
    runner = GraphModule(lib)
    x = np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32)
    runner.set_input("input", x)
    ours = median_seconds(runner.run)

    sessions = onnxruntime_sessions(model.SerializeToString())
    expected = sessions[0].run(None, {"input": x})[0]
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)

    reference = numpy_mlp({t.name: numpy_helper.to_array(t) for t in model.graph.initializer}, 3)
    ort = min(median_seconds(lambda s=s: s.run(None, {"input": x})) for s in sessions)
    npy = median_seconds(lambda: reference(x))
    benchmark.extra_info.update(
        {"ziggurat_us": ours * 1e6, "onnxruntime_us": ort * 1e6, "numpy_us": npy * 1e6}
    )
    benchmark.pedantic(runner.run, rounds=50, iterations=10, warmup_rounds=2)
    report.append(
        f"MLP b{batch}: ziggurat {ours * 1e6:8.1f} us | onnxruntime {ort * 1e6:8.1f} us "
        f"(ratio {ours / ort:.2f}) | numpy {npy * 1e6:8.1f} us (ratio {ours / npy:.2f})"
    )
    bar = os.environ.get("ZIGGURAT_BENCH_BAR")
    if bar is not None:
        assert ours / ort <= float(bar), f"Ziggurat/onnxruntime = {ours / ort:.2f} > {bar}"
