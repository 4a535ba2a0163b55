"""Single-op kernels: a 1024^3 fp32 matmul against numpy, onnxruntime and the machine's FMA
peak, and a 3x3 convolution 64->64 at 56x56 against onnxruntime, measured in the same run."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from benchmarks.harness import median_seconds, onnxruntime_sessions
from ziggurat.runtime import GraphModule
from ziggurat.tune.roofline import measure_peak_gflops

RNG = np.random.default_rng(0)


def _model(nodes, inputs, output, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "kernel", inputs, [output], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def matmul_model(size: int) -> onnx.ModelProto:
    weight = RNG.standard_normal((size, size)).astype(np.float32)
    return _model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [size, size])],
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [size, size]),
        [numpy_helper.from_array(weight, "w")],
    )


def conv_model(channels: int, size: int) -> onnx.ModelProto:
    weight = (RNG.standard_normal((channels, channels, 3, 3)) * 0.1).astype(np.float32)
    bias = RNG.standard_normal(channels).astype(np.float32)
    return _model(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, size, size]),
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )


def _measure(model: onnx.ModelProto, x: np.ndarray) -> tuple[GraphModule, float, float]:
    """Ziggurat is timed before onnxruntime's sessions exist: their threads spin for a
    while after each run and would take the cores Ziggurat's sleeping threads need."""
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params, opt_level=3)
    runner = GraphModule(lib)
    runner.set_input("x", x)
    ours = median_seconds(runner.run, repeat=50, warmup=5)
    sessions = onnxruntime_sessions(model.SerializeToString())
    expected = sessions[0].run(None, {"x": x})[0]
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-3, atol=1e-3)
    ort = min(
        median_seconds(lambda s=s: s.run(None, {"x": x}), repeat=50, warmup=5) for s in sessions
    )
    return runner, ours, ort


def _check_bar(ratio: float) -> None:
    bar = os.environ.get("ZIGGURAT_BENCH_BAR")
    if bar is not None:
        assert ratio <= float(bar), f"Ziggurat/onnxruntime = {ratio:.2f} > {bar}"


def test_matmul_1024(benchmark, report) -> None:
    size = 1024
    model = matmul_model(size)
    x = RNG.standard_normal((size, size)).astype(np.float32)
    runner, ours, ort = _measure(model, x)
    weight = numpy_helper.to_array(model.graph.initializer[0])
    npy = median_seconds(lambda: x @ weight, repeat=50, warmup=5)
    flops = 2 * size**3
    cores = len(os.sched_getaffinity(0))
    peak = measure_peak_gflops() * cores
    benchmark.extra_info.update(
        {"ziggurat_gflops": flops / ours / 1e9, "numpy_gflops": flops / npy / 1e9, "peak": peak}
    )
    benchmark.pedantic(runner.run, rounds=5, iterations=1)
    report.append(
        f"matmul 1024^3: ziggurat {flops / ours / 1e9:6.1f} GFLOP/s | numpy "
        f"{flops / npy / 1e9:6.1f} (ratio {ours / npy:.2f}) | onnxruntime {flops / ort / 1e9:6.1f} "
        f"(ratio {ours / ort:.2f}) | peak {peak:6.1f} ({flops / ours / 1e9 / peak:.0%} of it)"
    )
    _check_bar(ours / ort)


@pytest.mark.parametrize(("channels", "size"), [(64, 56)])
def test_conv3x3(benchmark, report, channels: int, size: int) -> None:
    model = conv_model(channels, size)
    x = RNG.standard_normal((1, channels, size, size)).astype(np.float32)
    runner, ours, ort = _measure(model, x)
    flops = 2 * channels * channels * 9 * size * size
    benchmark.extra_info.update({"ziggurat_ms": ours * 1e3, "onnxruntime_ms": ort * 1e3})
    benchmark.pedantic(runner.run, rounds=5, iterations=1)
    report.append(
        f"conv 3x3 {channels}->{channels} at {size}x{size}: ziggurat {ours * 1e3:7.3f} ms "
        f"({flops / ours / 1e9:.0f} GFLOP/s) | onnxruntime {ort * 1e3:7.3f} ms (ratio {ours / ort:.2f})"
    )
    _check_bar(ours / ort)
