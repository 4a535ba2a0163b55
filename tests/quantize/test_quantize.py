"""ziggurat.quantize on a small CNN and an MLP: int8 products made integer by
graph-fuse-qdq, top-1 agreement with the float model, the same scales and nearly the same
outputs as onnxruntime's quantize_static on the same calibration data; bf16 products equal
to the reference executor on the rounded operands; bad arguments refused by name."""

import numpy as np
import onnx
import pytest
from onnx import helper

import ziggurat
from tests.models import make_model, mlp_model
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.errors import CompileError
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value
from ziggurat.runtime import GraphModule

SHAPE = (1, 3, 16, 16)


def cnn(seed: int = 0) -> onnx.ModelProto:
    """An RGB stem, a depthwise convolution, two convolutions with a residual add, global
    average pool and a dense layer; relus after each convolution."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    weights = {
        "w0": w(16, 3, 3, 3), "b0": w(16) * 0.1,
        "wd": w(16, 1, 3, 3), "bd": w(16) * 0.1,
        "w1": w(16, 16, 3, 3), "b1": w(16) * 0.1,
        "w2": w(16, 16, 1, 1), "b2": w(16) * 0.1,
        "wf": w(10, 16), "bf": w(10) * 0.1,
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], name="stem"),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "wd", "bd"], ["cd"], pads=[1, 1, 1, 1], group=16),
        helper.make_node("Relu", ["cd"], ["rd"]),
        helper.make_node("Conv", ["rd", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("Add", ["c2", "r1"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    return make_model(nodes, {"x": SHAPE}, {"y": (1, 10)}, weights)


def samples(name: str, shape: tuple[int, ...], count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(count)]


def fuse_statistics(module, params) -> dict[str, int]:
    ctx = make_context(params)
    with statistics.collect() as counts:
        PassManager.parse("graph-canonicalize,graph-fuse-qdq").run(ctx, module)
    return dict(counts)


def agreement(model: onnx.ModelProto, qmod, qparams, name: str, shape, count: int) -> float:
    module, params = ziggurat.from_onnx(model)
    fp32 = GraphModule(ziggurat.build(module, params=params))
    quantized = GraphModule(ziggurat.build(qmod, params=qparams))
    same = 0
    for sample in samples(name, shape, count, seed=99):
        fp32.run(**sample)
        quantized.run(**sample)
        same += int(fp32.get_output(0).argmax() == quantized.get_output(0).argmax())
    return same / count


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_int8_cnn_products_become_integer(method: str) -> None:
    mod, params = ziggurat.from_onnx(cnn())
    qmod, qparams = ziggurat.quantize(
        mod, params, calibration=samples("x", SHAPE, 8, seed=1), method=method
    )
    counts = fuse_statistics(qmod.clone(), dict(qparams))
    # the stem, the depthwise convolution and the classifier stay float by default
    assert counts["integer-convs"] == 2 and counts.get("integer-matmuls", 0) == 0
    assert agreement(cnn(), qmod, qparams, "x", SHAPE, 40) >= 0.9


def test_int8_skip_rules_can_be_overridden() -> None:
    mod, params = ziggurat.from_onnx(cnn())
    calibration = samples("x", SHAPE, 4, seed=1)
    everything, store = ziggurat.quantize(mod, params, calibration, skip_default=False)
    counts = fuse_statistics(everything, dict(store))
    assert counts["integer-convs"] == 4 and counts["integer-matmuls"] == 1
    fewer, store = ziggurat.quantize(mod, params, calibration, skip=["w1"])
    assert fuse_statistics(fewer, dict(store))["integer-convs"] == 1
    per_tensor, store = ziggurat.quantize(mod, params, calibration, per_channel=False)
    scales = [
        constant_value(op.scale, store)
        for op in per_tensor.walk()
        if isinstance(op, graph.DequantizeOp) and "xi8>" in str(op.input.type)
    ]
    assert len(scales) == 2 and all(s.size == 1 for s in scales)
    assert fuse_statistics(per_tensor, dict(store))["integer-convs"] == 2


def test_int8_mlp_agrees_with_fp32() -> None:
    model = mlp_model(batch=1, sizes=(64, 128, 64, 10))
    mod, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(mod, params, samples("input", (1, 64), 16, seed=1))
    counts = fuse_statistics(qmod.clone(), dict(qparams))
    assert counts["integer-matmuls"] == 2  # the last layer, under the softmax, stays float
    assert agreement(model, qmod, qparams, "input", (1, 64), 50) >= 0.9


def test_int8_matches_onnxruntime_quantize_static(tmp_path) -> None:
    """The same float model, the same calibration samples (MinMax, QUInt8 activations, QInt8
    per-channel weights, every convolution quantized): the weight scales are onnxruntime's,
    and the outputs of the two quantized models are within a few output steps of each other
    (onnxruntime also quantizes the residual add and the pooling, which this does not)."""
    quantization = pytest.importorskip("onnxruntime.quantization")
    import onnxruntime

    model = cnn()
    calibration = samples("x", SHAPE, 8, seed=1)

    class Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(calibration)

        def get_next(self) -> dict | None:
            return next(self.items, None)

    onnx.save(model, tmp_path / "cnn.onnx")
    quantization.quantize_static(
        str(tmp_path / "cnn.onnx"),
        str(tmp_path / "cnn_int8.onnx"),
        Reader(),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    ort_model = onnx.load(tmp_path / "cnn_int8.onnx")
    ort_scales = {t.name: onnx.numpy_helper.to_array(t) for t in ort_model.graph.initializer}
    mod, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(mod, params, calibration, skip_default=False)
    ours = [
        tuple(constant_value(op.scale, qparams).reshape(-1).tolist())
        for op in qmod.walk()
        if isinstance(op, graph.DequantizeOp) and "xi8>" in str(op.input.type)
    ]
    for name in ("w0", "wd", "w1", "w2"):
        assert tuple(ort_scales[f"{name}_scale"].reshape(-1).tolist()) in ours
    session = onnxruntime.InferenceSession(
        ort_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    runner = GraphModule(ziggurat.build(qmod, params=qparams))
    step = float(ort_scales["y_scale"])
    for sample in samples("x", SHAPE, 10, seed=5):
        (want,) = session.run(None, sample)
        runner.run(**sample)
        np.testing.assert_allclose(runner.get_output(0), want, atol=4 * step)


def test_bf16_products_equal_the_reference_and_agree_with_fp32() -> None:
    model = cnn()
    mod, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(mod, params, scheme="bf16")
    assert str(qmod).count("-> tensor<16x16x3x3xbf16>") == 0
    assert any(v.dtype.name == "bfloat16" for v in qparams.values())
    runner = GraphModule(ziggurat.build(qmod, params=qparams))
    fp32 = GraphModule(ziggurat.build(mod, params=params))
    for sample in samples("x", SHAPE, 5, seed=3):
        runner.run(**sample)
        fp32.run(**sample)
        (want,) = run_reference(qmod, qparams, sample)
        got = runner.get_output(0)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        # bf16 keeps 8 significant bits: outputs move by a few parts in 256 of their scale
        scale = np.abs(fp32.get_output(0)).max()
        np.testing.assert_allclose(got, fp32.get_output(0), atol=0.05 * scale)
    assert agreement(model, qmod, qparams, "x", SHAPE, 40) >= 0.9


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"scheme": "int4"}, "unknown quantization scheme 'int4'"),
        ({"method": "mse"}, "unknown calibration method 'mse'"),
        ({"calibration": []}, "needs calibration samples"),
        ({"calibration": [{"y": np.zeros(SHAPE, np.float32)}]}, "sample 0 has no input 'x'"),
        ({"calibration": [{"x": np.zeros((1, 3, 8, 8), np.float32)}]}, "has shape [1, 3, 8, 8]"),
        ({"skip": ["nothing"]}, "skip names no convolution or matmul: nothing"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict, message: str) -> None:
    mod, params = ziggurat.from_onnx(cnn())
    options = {"calibration": samples("x", SHAPE, 1, seed=0), **arguments}
    with pytest.raises(CompileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ziggurat.quantize(mod, params, **options)
