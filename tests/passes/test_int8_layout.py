"""Quantized convolution chains in the blocked layout (passes/graph/packed_layout.py): a small
ResNet quantized by onnxruntime's quantize_static (an RGB stem of 7x7 stride 2, a u8 max
pool, a residual block, a downsampling block with a stride-2 3x3 and a 1x1 shortcut) runs
its convolutions as graph.conv_u8s8_nchwc with no layout transform between them, and stays
within one output quantization step of onnxruntime on every element, with and without
VNNI. The narrow saturating vector casts its epilogues use give the scalar casts' values
(lowering/vector_casts.py). A depthwise convolution between them (widened int32 products)
runs blocked too, and so do the bf16 scheme's pair convolutions."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from tests.models import onnxruntime_outputs
from ziggurat.core import statistics
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

quantization = pytest.importorskip("onnxruntime.quantization")
SHAPE = (1, 3, 32, 30)
TARGETS = ["llvm -mcpu=native", "llvm -mcpu=native -mattr=-avx512vnni"]
CONVS = 6


def _resnet(seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    initializers: list[onnx.TensorProto] = []

    def conv(x: str, out: str, channels: int, inputs: int, kernel: int, **attrs) -> onnx.NodeProto:
        scale = np.sqrt(2.0 / (inputs * kernel * kernel))
        w = (rng.standard_normal((channels, inputs, kernel, kernel)) * scale).astype(np.float32)
        b = (rng.standard_normal(channels) * 0.1).astype(np.float32)
        initializers.extend(
            [numpy_helper.from_array(w, f"{out}_w"), numpy_helper.from_array(b, f"{out}_b")]
        )
        return helper.make_node("Conv", [x, f"{out}_w", f"{out}_b"], [out], **attrs)

    relu = lambda x, out: helper.make_node("Relu", [x], [out])  # noqa: E731
    nodes = [
        conv("x", "stem", 16, 3, 7, strides=[2, 2], pads=[3, 3, 3, 3]), relu("stem", "stem_r"),
        helper.make_node("MaxPool", ["stem_r"], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        conv("pool", "a1", 16, 16, 3, pads=[1, 1, 1, 1]), relu("a1", "a1_r"),
        conv("a1_r", "a2", 16, 16, 3, pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["a2", "pool"], ["a_sum"]), relu("a_sum", "a_out"),
        conv("a_out", "b1", 32, 16, 3, strides=[2, 2], pads=[1, 1, 1, 1]), relu("b1", "b1_r"),
        conv("b1_r", "b2", 32, 32, 3, pads=[1, 1, 1, 1]),
        conv("a_out", "short", 32, 16, 1, strides=[2, 2]),
        helper.make_node("Add", ["b2", "short"], ["b_sum"]), relu("b_sum", "y"),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "small_resnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _mobile_block(seed: int) -> onnx.ModelProto:
    """A 3x3 convolution, a depthwise 3x3 (integer products of widened operands: no packed
    path for groups) and a 1x1 projection, as in MobileNetV2."""
    rng = np.random.default_rng(seed)
    initializers = []
    nodes = []
    x = "x"
    for n, (channels, inputs, kernel, groups) in enumerate(
        [(16, 3, 3, 1), (16, 1, 3, 16), (24, 16, 1, 1)]
    ):
        w = (rng.standard_normal((channels, inputs, kernel, kernel)) * 0.4).astype(np.float32)
        b = (rng.standard_normal(channels) * 0.1).astype(np.float32)
        initializers += [numpy_helper.from_array(w, f"w{n}"), numpy_helper.from_array(b, f"b{n}")]
        pads = [kernel // 2] * 4
        nodes += [
            helper.make_node("Conv", [x, f"w{n}", f"b{n}"], [f"c{n}"], pads=pads, group=groups),
            helper.make_node("Relu", [f"c{n}"], [f"r{n}"]),
        ]
        x = f"r{n}"
    graph = helper.make_graph(
        nodes,
        "mobile_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


class _Calibration(quantization.CalibrationDataReader):
    def __init__(self, seed: int):
        rng = np.random.default_rng(seed)
        self.batches = iter(
            [{"x": rng.standard_normal(SHAPE).astype(np.float32)} for _ in range(8)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def _quantized(model: onnx.ModelProto, folder) -> onnx.ModelProto:
    onnx.save(model, folder / "fp32.onnx")
    quantization.quantize_static(
        str(folder / "fp32.onnx"),
        str(folder / "int8.onnx"),
        _Calibration(5),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    return onnx.load(folder / "int8.onnx")


@pytest.fixture(scope="module")
def qdq_resnet(tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    return _quantized(_resnet(4), tmp_path_factory.mktemp("int8_layout"))


def _within_one_step_of_onnxruntime(model: onnx.ModelProto, runner: GraphModule) -> None:
    rng = np.random.default_rng(6)
    for _ in range(3):
        x = rng.standard_normal(SHAPE).astype(np.float32)
        (want,) = onnxruntime_outputs(model, {"x": x})
        runner.run(x=x)
        got = runner.get_output(0)
        steps = np.abs(got.astype(np.int64) - want.astype(np.int64))
        assert steps.max() <= 1 and np.mean(steps == 0) >= 0.999


@pytest.mark.parametrize("target", TARGETS)
def test_a_quantized_resnet_runs_blocked_and_matches_onnxruntime(qdq_resnet, target) -> None:
    module, params = ziggurat.from_onnx(qdq_resnet)
    with statistics.collect() as counts:
        lib = ziggurat.build(module, target=target, params=params, use_cache=False)
    assert counts["u8s8-convs-blocked"] == CONVS
    assert counts["layout-transforms"] == 1, "only the output goes back to NCHW"
    _within_one_step_of_onnxruntime(qdq_resnet, GraphModule(lib))


@pytest.mark.parametrize("target", TARGETS)
def test_a_widened_depthwise_convolution_runs_blocked_between_packed_ones(tmp_path, target) -> None:
    """The depthwise convolution's int32 products (zero points subtracted first, so its
    padding is 0) become a graph.conv_nchwc on int32 between the packed convolutions."""
    model = _quantized(_mobile_block(8), tmp_path)
    module, params = ziggurat.from_onnx(model)
    with statistics.collect() as counts:
        lib = ziggurat.build(module, target=target, params=params, use_cache=False)
    assert counts["u8s8-convs-blocked"] == 2 and counts["convs-converted"] == 1
    assert counts["layout-transforms"] == 1
    _within_one_step_of_onnxruntime(model, GraphModule(lib))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32])
def test_saturating_casts_on_vectors_give_the_scalar_values(dtype) -> None:
    """A float -> integer Cast over 64 lanes (vectorized) saturates as graph.cast says:
    truncation toward zero, the type's ends beyond them, NaN to 0."""
    info = np.iinfo(dtype)
    specials = [np.nan, np.inf, -np.inf, -0.5, 0.99, -1.5, 255.5, 256.0, -128.9, -129.0,
                127.99, 65535.7, 65536.0, -32768.9, 1e10, -1e10, 3e9, 2.5, -2.5]  # fmt: skip
    rng = np.random.default_rng(7)
    x = np.concatenate([specials, rng.uniform(-70000, 70000, 45)]).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node(
                "Cast", ["x"], ["y"], to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            )
        ],
        "cast",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [
            helper.make_tensor_value_info(
                "y", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), x.shape
            )
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params, use_cache=False))
    runner.run(x=x)
    truncated = np.trunc(
        np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=info.max, neginf=info.min)
    )
    want = np.clip(truncated, info.min, info.max).astype(dtype)
    np.testing.assert_array_equal(runner.get_output(0), want)


@pytest.mark.parametrize("target", ["llvm -mcpu=native", "llvm -mcpu=native -mattr=-avx512bf16"])
def test_bf16_pair_convolutions_run_blocked_and_compute_the_rounded_products(target) -> None:
    """The bf16 scheme's convolutions (graph-pack-bf16) blocked like the int8 ones: the
    built model against the scheme's f32 products of rounded operands (rtol 1e-3: the same
    products summed in another order), with and without AVX512_BF16."""
    rng = np.random.default_rng(9)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2]),
    ]
    weights = [
        numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
        for name, shape in (("w1", (32, 16, 3, 3)), ("w2", (16, 32, 3, 3)))
    ]
    shape = (1, 16, 9, 11)
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "bf16_chain", [x_info], [y_info], weights))
    module, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(module, params, scheme="bf16")
    x = rng.standard_normal(shape).astype(np.float32)
    (want,) = run_reference(qmod, qparams, {"x": x})
    with statistics.collect() as counts:
        lib = ziggurat.build(qmod, target=target, params=qparams, use_cache=False)
    assert counts["bf16-convs-blocked"] == 2
    runner = GraphModule(lib)
    runner.run(x=x)
    np.testing.assert_allclose(runner.get_output(0), want, rtol=1e-3, atol=1e-3)
