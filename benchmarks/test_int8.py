"""int8 models and the int8 GEMM kernel: ResNet-18, MobileNetV2 and the encoder quantized by
onnxruntime's quantize_static (QDQ, uint8 activations, int8 per-channel weights, seeded
random calibration inputs), the same file run by onnxruntime and by Ziggurat in one run,
Ziggurat's int8 beside its fp32, the share of outputs within one quantization step of
onnxruntime's, and the int8 GEMM kernel's share of the VNNI peak (back-to-back vpdpbusd,
64 u8 x s8 multiply-adds each)."""

import ctypes
import os
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from llvmlite import binding as llvm
from onnx import helper, numpy_helper

import ziggurat
from benchmarks.engine_timer import medians_in_turns
from benchmarks.harness import median_seconds, onnxruntime_sessions
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.core.targets import parse_target
from ziggurat.lowering.dot4 import has_vnni
from ziggurat.runtime import GraphModule

quantization = pytest.importorskip("onnxruntime.quantization")
TURNS = int(os.environ.get("ZIGGURAT_INT8_TURNS", "5"))

MODELS = {
    "bert_encoder": (bert_encoder, {"hidden_states": (1, 128, 128)}),
    "resnet18": (resnet18, {"input": (1, 3, 224, 224)}),
    "mobilenet_v2": (mobilenet_v2, {"input": (1, 3, 224, 224)}),
}


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


def _ziggurat(model: onnx.ModelProto, inputs: dict[str, np.ndarray], cores: int) -> GraphModule:
    module, params = ziggurat.from_onnx(model)
    target = f"llvm -mcpu=native -num-cores={cores}"
    runner = GraphModule(ziggurat.build(module, target=target, params=params))
    runner.set_input(**inputs)
    return runner


def _onnxruntime_one_core(model_bytes: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _one_step_share(ours: np.ndarray, theirs: np.ndarray, model: onnx.ModelProto) -> str:
    """Share of output elements within one output quantization step of onnxruntime's (the
    scale of the DequantizeLinear giving the output), or where the output is computed in
    float, the largest difference."""
    output = model.graph.output[0].name
    producer = next(n for n in model.graph.node if output in n.output)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    if producer.op_type != "DequantizeLinear" or producer.input[1] not in inits:
        return f"output in float, largest difference {float(np.abs(ours - theirs).max()):.3g}"
    step = float(inits[producer.input[1]])
    share = float(np.mean(np.abs(ours - theirs) <= step * 1.0001))
    return f"{share:.2%} within one step of onnxruntime"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_int8_model(benchmark, report, name: str, tmp_path: Path) -> None:
    """On one core (each engine told so) and on all cores (onnxruntime with intra-op
    threads = cores): each engine exported or saved and timed in a process of its own, the
    three in turns (`TURNS`). On a busy machine the one-core ratio is the fair one (a
    fork-join waits for descheduled threads)."""
    builder, shapes = MODELS[name]
    fp32 = builder()
    int8 = quantized(fp32, shapes, tmp_path)
    rng = np.random.default_rng(1)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    int8_bytes = int8.SerializeToString()
    all_cores = len(os.sched_getaffinity(0))
    onnx.save(int8, tmp_path / "timed_int8.onnx")
    np.savez(tmp_path / "inputs.npz", **inputs)
    feeds = str(tmp_path / "inputs.npz")
    for cores in sorted({1, all_cores}):
        ours_int8, ours_fp32 = _ziggurat(int8, inputs, cores), _ziggurat(fp32, inputs, cores)
        session = (
            _onnxruntime_one_core(int8_bytes) if cores == 1 else onnxruntime_sessions(int8_bytes)[1]
        )
        ours_int8.run()
        theirs = session.run(None, inputs)[0]
        share = _one_step_share(ours_int8.get_output(0), theirs, int8)
        for label, runner in (("int8", ours_int8), ("fp32", ours_fp32)):
            runner.lib.export_library(tmp_path / f"{label}_{cores}.zgt")
        medians = medians_in_turns(
            {
                "int8": ["ziggurat", str(tmp_path / f"int8_{cores}.zgt"), feeds],
                "fp32": ["ziggurat", str(tmp_path / f"fp32_{cores}.zgt"), feeds],
                "onnxruntime": [
                    "onnxruntime",
                    str(tmp_path / "timed_int8.onnx"),
                    feeds,
                    str(cores),
                ],
            },
            TURNS,
        )
        int8_s, fp32_s, ort_s = medians["int8"], medians["fp32"], medians["onnxruntime"]
        benchmark.extra_info.update(
            {
                f"int8_ms_{cores}": int8_s * 1e3,
                f"fp32_ms_{cores}": fp32_s * 1e3,
                f"onnxruntime_int8_ms_{cores}": ort_s * 1e3,
            }
        )
        report.append(
            f"{name} int8, {cores} core(s): ziggurat {int8_s * 1e3:8.2f} ms | onnxruntime "
            f"{ort_s * 1e3:8.2f} ms (onnxruntime/ziggurat {ort_s / int8_s:.2f}) | ziggurat fp32 "
            f"{fp32_s * 1e3:8.2f} ms (fp32/int8 {fp32_s / int8_s:.2f}) | {share}"
        )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)


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


CHAINS = 12
ITERATIONS = 1 << 22


def vnni_peak_gmacs() -> float:
    """One core's u8 x s8 GMAC/s of back-to-back vpdpbusd on 512-bit registers, CHAINS
    independent accumulators (best of 5): the peak the GEMM kernel is measured against."""
    vector = "<16 x i32>"
    lines = [
        f"declare {vector} @llvm.x86.avx512.vpdpbusd.512({vector}, {vector}, {vector})",
        "define void @peak(i64 %n, ptr %out) {",
        "entry:",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [0, %entry], [%next, %loop]",
        *(
            f"  %a{c} = phi {vector} [zeroinitializer, %entry], [%b{c}, %loop]"
            for c in range(CHAINS)
        ),
        *(
            f"  %b{c} = call {vector} @llvm.x86.avx512.vpdpbusd.512({vector} %a{c}, "
            f"{vector} splat (i32 16843009), {vector} splat (i32 {c + 1}))"
            for c in range(CHAINS)
        ),
        "  %next = add i64 %i, 1",
        "  %done = icmp eq i64 %next, %n",
        "  br i1 %done, label %exit, label %loop",
        "exit:",
        *(
            f"  %s{c} = add {vector} {'%b0' if c == 1 else f'%s{c - 1}'}, %b{c}"
            for c in range(1, CHAINS)
        ),
        f"  store {vector} %s{CHAINS - 1}, ptr %out, align 4",
        "  ret void",
        "}",
    ]
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=2
    )
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly("\n".join(lines)), machine)
    engine.finalize_object()
    peak = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)(
        engine.get_function_address("peak")
    )
    out = (ctypes.c_int32 * 16)()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        peak(ITERATIONS, ctypes.addressof(out))
        best = min(best, time.perf_counter() - start)
    return 64 * CHAINS * ITERATIONS / best / 1e9


def _gemm_seconds(model: onnx.ModelProto, x: np.ndarray, cores: int) -> float:
    """Best time of the int8 GEMM kernel alone (its launch in the profile, best of 5 runs of
    the profiler) on `cores` cores."""
    runner = _ziggurat(model, {"x": x}, cores)
    runs = [runner.profile(repeat=5, x=x) for _ in range(5)]
    return min(
        launch.seconds for r in runs for launch in r.launches if "matmul_u8s8" in launch.kernel
    )


@pytest.mark.skipif(not has_vnni(parse_target("llvm -mcpu=native")), reason="no AVX512_VNNI")
def test_int8_gemm_share_of_vnni_peak(benchmark, report) -> None:
    """One core against one core's vpdpbusd peak (on a busy machine a two-core fork-join
    waits for descheduled threads, so the single-core share is the kernel's figure), and
    the two-core time beside it."""
    size = 1024
    model = _gemm_model(size)
    x = np.random.default_rng(2).integers(0, 256, (size, size)).astype(np.uint8)
    peak = vnni_peak_gmacs()
    one, two = _gemm_seconds(model, x, 1), _gemm_seconds(model, x, 2)
    gmacs = size**3 / one / 1e9
    benchmark.extra_info.update({"int8_gemm_gmacs": gmacs, "vnni_peak_gmacs": peak})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report.append(
        f"int8 GEMM {size}^3, one core: {gmacs:7.1f} GMAC/s | one core's VNNI peak "
        f"{peak:7.1f} ({gmacs / peak:.0%} of it) | two cores {size**3 / two / 1e9:7.1f} GMAC/s"
    )


def _conv_model(channels: int, size: int) -> onnx.ModelProto:
    """DQ -> 3x3 conv (pad 1) -> Q, uint8 activations, int8 per-channel symmetric weights."""
    rng = np.random.default_rng(0)
    w_scale = rng.uniform(0.002, 0.02, channels).astype(np.float32)
    initializers = {
        "xs": np.array(0.02, np.float32), "xz": np.array(3, np.uint8),
        "w": rng.integers(-127, 128, (channels, channels, 3, 3)).astype(np.int8),
        "ws": w_scale, "wz": np.zeros(channels, np.int8),
        "b": rng.integers(-500, 500, channels).astype(np.int32),
        "bs": np.float32(0.02) * w_scale, "ys": np.array(0.3, np.float32),
        "yz": np.array(0, np.uint8),
    }  # fmt: skip
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0),
        helper.make_node("DequantizeLinear", ["b", "bs"], ["bf"], axis=0),
        helper.make_node("Conv", ["xf", "wf", "bf"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["y"]),
    ]
    shape = (1, channels, size, size)
    graph = helper.make_graph(
        nodes,
        "int8_conv",
        [helper.make_tensor_value_info("x", onnx.TensorProto.UINT8, shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, shape)],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize("channels, size", [(64, 56), (256, 14)])
def test_int8_conv3x3_one_core(benchmark, report, channels: int, size: int) -> None:
    """One QDQ 3x3 convolution, each engine on one core (onnxruntime's QLinearConv)."""
    model = _conv_model(channels, size)
    x = np.random.default_rng(4).integers(0, 256, (1, channels, size, size)).astype(np.uint8)
    runner = _ziggurat(model, {"x": x}, 1)
    session = _onnxruntime_one_core(model.SerializeToString())
    runner.run()
    equal = float(np.mean(runner.get_output(0) == session.run(None, {"x": x})[0]))
    ours = median_seconds(runner.run, repeat=50, warmup=5)
    theirs = median_seconds(lambda: session.run(None, {"x": x}), repeat=50, warmup=5)
    macs = channels * channels * 9 * size * size
    benchmark.extra_info.update({"ziggurat_ms": ours * 1e3, "onnxruntime_ms": theirs * 1e3})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report.append(
        f"int8 conv 3x3 {channels}->{channels}, {size}x{size}, one core: ziggurat "
        f"{ours * 1e3:.3f} ms ({macs / ours / 1e9:.0f} GMAC/s) | onnxruntime {theirs * 1e3:.3f} ms "
        f"(onnxruntime/ziggurat {theirs / ours:.2f}) | {equal:.2%} equal"
    )
