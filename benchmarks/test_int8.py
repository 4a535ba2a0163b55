"""int8 models and the int8 GEMM kernel: ResNet-18, MobileNetV2 and the encoder quantized by
onnxruntime's quantize_static (QDQ, uint8 activations, int8 per-channel weights, seeded
random calibration inputs), the same file run by onnxruntime and by Ziggurat in one run,
Ziggurat's int8 beside its fp32, the share of outputs within one quantization step of
onnxruntime's, and the int8 GEMM kernel's share of the VNNI peak (4x the fp32 FMA peak: 64
u8 x s8 multiply-adds per vpdpbusd against 16 per FMA on a 512-bit unit)."""

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import ziggurat
from benchmarks.harness import median_seconds, onnxruntime_sessions
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule
from ziggurat.tune.roofline import measure_peak_gflops

quantization = pytest.importorskip("onnxruntime.quantization")

MODELS = {
    "bert_encoder": (bert_encoder, {"hidden_states": (1, 128, 128)}),
    "resnet18": (resnet18, {"input": (1, 3, 224, 224)}),
    "mobilenet_v2": (mobilenet_v2, {"input": (1, 3, 224, 224)}),
}
VNNI_OVER_FMA = 4
"""u8 x s8 multiply-adds per vpdpbusd over fp32 multiply-adds per FMA, same width."""


class _Calibration(quantization.CalibrationDataReader):
    def __init__(self, shapes: dict[str, tuple[int, ...]], seed: int = 0, count: int = 4):
        rng = np.random.default_rng(seed)
        self.batches = iter(
            [
                {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
                for _ in range(count)
            ]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def quantized(model: onnx.ModelProto, shapes: dict, folder: Path) -> onnx.ModelProto:
    """`model` through onnxruntime's pre-processing (batch norms folded) and quantize_static."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    onnx.save(model, folder / "fp32.onnx")
    quant_pre_process(str(folder / "fp32.onnx"), str(folder / "pre.onnx"), skip_symbolic_shape=True)
    quantization.quantize_static(
        str(folder / "pre.onnx"),
        str(folder / "int8.onnx"),
        _Calibration(shapes),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    return onnx.load(folder / "int8.onnx")


def _ziggurat(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> GraphModule:
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, target="llvm -mcpu=native", params=params))
    runner.set_input(**inputs)
    return runner


def _one_step_share(ours: np.ndarray, theirs: np.ndarray, model: onnx.ModelProto) -> float:
    """Share of output elements within one output quantization step of onnxruntime's (the
    scale of the output's last QuantizeLinear)."""
    output = model.graph.output[0].name
    producer = next(n for n in model.graph.node if output in n.output)
    scale_name = producer.input[1] if producer.op_type == "DequantizeLinear" else None
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    step = float(inits[scale_name]) if scale_name in inits else 0.0
    return float(np.mean(np.abs(ours - theirs) <= step * 1.0001))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_int8_model(benchmark, report, name: str, tmp_path: Path) -> None:
    builder, shapes = MODELS[name]
    fp32 = builder()
    int8 = quantized(fp32, shapes, tmp_path)
    rng = np.random.default_rng(1)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    ours_int8, ours_fp32 = _ziggurat(int8, inputs), _ziggurat(fp32, inputs)
    sessions = onnxruntime_sessions(int8.SerializeToString())
    ours_int8.run()
    share = _one_step_share(ours_int8.get_output(0), sessions[0].run(None, inputs)[0], int8)
    int8_s = median_seconds(ours_int8.run, repeat=30, warmup=3)
    fp32_s = median_seconds(ours_fp32.run, repeat=30, warmup=3)
    ort_s = min(
        median_seconds(lambda s=s: s.run(None, inputs), repeat=30, warmup=3) for s in sessions
    )
    benchmark.extra_info.update(
        {"int8_ms": int8_s * 1e3, "fp32_ms": fp32_s * 1e3, "onnxruntime_int8_ms": ort_s * 1e3}
    )
    benchmark.pedantic(ours_int8.run, rounds=3, iterations=1)
    report.append(
        f"{name} int8: ziggurat {int8_s * 1e3:8.2f} ms | onnxruntime {ort_s * 1e3:8.2f} ms "
        f"(onnxruntime/ziggurat {ort_s / int8_s:.2f}) | ziggurat fp32 {fp32_s * 1e3:8.2f} ms "
        f"(fp32/int8 {fp32_s / int8_s:.2f}) | {share:.2%} within one step of onnxruntime"
    )


def _gemm_model(size: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    initializers = {
        "xs": np.array(0.02, np.float32), "xz": np.array(128, np.uint8),
        "w": rng.integers(-127, 128, (size, size)).astype(np.int8),
        "ws": np.full(size, 0.01, np.float32), "wz": np.zeros(size, np.int8),
        "ys": np.array(4.0, np.float32), "yz": np.array(128, np.uint8),
    }  # fmt: skip
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=1),
        helper.make_node("MatMul", ["xf", "wf"], ["yf"]),
        helper.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "int8_gemm",
        [helper.make_tensor_value_info("x", onnx.TensorProto.UINT8, (size, size))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, (size, size))],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


@pytest.mark.slow
def test_int8_gemm_share_of_vnni_peak(benchmark, report) -> None:
    size = 1024
    x = np.random.default_rng(2).integers(0, 256, (size, size)).astype(np.uint8)
    runner = _ziggurat(_gemm_model(size), {"x": x})
    profile = runner.profile(repeat=20, x=x)
    gemm_s = min(row.seconds for row in profile.launches if "matmul_u8s8" in row.kernel)
    cores = len(os.sched_getaffinity(0))
    peak_gmacs = measure_peak_gflops() / 2 * VNNI_OVER_FMA * cores
    gmacs = size**3 / gemm_s / 1e9
    benchmark.extra_info.update({"int8_gemm_gmacs": gmacs, "vnni_peak_gmacs": peak_gmacs})
    benchmark.pedantic(runner.run, rounds=3, iterations=1)
    report.append(
        f"int8 GEMM {size}^3: {gmacs:7.1f} GMAC/s | VNNI peak {peak_gmacs:7.1f} "
        f"({gmacs / peak_gmacs:.0%} of it)"
    )
