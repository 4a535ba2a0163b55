"""graph-fuse-qdq on a QDQ model made by onnxruntime's quantize_static (uint8 activations,
int8 per-channel weights, seeded random calibration data): its convolutions and matmul
become integer products, its Q/DQ pairs move through max pool and flatten, and the outputs
stay within one output quantization step of onnxruntime's on the same file (as do those of
the QOperator form of the same network)."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.runtime import GraphModule

quantization = pytest.importorskip("onnxruntime.quantization")
SHAPE = (2, 3, 16, 16)


def _cnn(seed: int) -> onnx.ModelProto:
    """Conv-relu, max pool, conv-relu, a 1x1 conv with a residual add, global average pool,
    flatten and a dense layer."""
    rng = np.random.default_rng(seed)
    initializers: list[onnx.TensorProto] = []

    def weight(name: str, *shape: int) -> str:
        values = (rng.standard_normal(shape) * 0.3).astype(np.float32)
        initializers.append(numpy_helper.from_array(values, name))
        return name

    nodes = [
        helper.make_node("Conv", ["x", weight("w1", 8, 3, 3, 3), weight("b1", 8)], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", weight("w2", 16, 8, 3, 3), weight("b2", 16)], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", weight("w3", 16, 16, 1, 1), weight("b3", 16)], ["c3"]),
        helper.make_node("Add", ["c3", "r2"], ["a3"]),
        helper.make_node("Relu", ["a3"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", weight("wf", 10, 16), weight("bf", 10)], ["y"], transB=1),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (SHAPE[0], 10))],
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


def _quantized(folder: Path, quant_format: object) -> onnx.ModelProto:
    onnx.save(_cnn(1), folder / "cnn.onnx")
    quantization.quantize_static(
        str(folder / "cnn.onnx"),
        str(folder / "cnn_quantized.onnx"),
        _Calibration(2),
        quant_format=quant_format,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    return onnx.load(folder / "cnn_quantized.onnx")


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    return _quantized(tmp_path_factory.mktemp("qdq"), quantization.QuantFormat.QDQ)


def test_products_become_integer_and_pairs_move(qdq_model: onnx.ModelProto) -> None:
    module, params = ziggurat.from_onnx(qdq_model)
    ctx = make_context(params)
    with statistics.collect() as counts:
        PassManager.parse("graph-canonicalize,graph-fuse-qdq").run(ctx, module)
    assert counts["integer-convs"] == 3
    assert counts["integer-matmuls"] == 1
    assert counts["qdq-moved"] == 2  # the max pool and the flatten
    text = str(module)
    assert "graph.conv" in text and "tensor<8x3x3x3xf32>" not in text


@pytest.mark.parametrize("quant_format", ["QDQ", "QOperator"])
def test_outputs_within_one_step_of_onnxruntime(
    quant_format: str, qdq_model: onnx.ModelProto, tmp_path: Path
) -> None:
    """The QDQ file, and the same network in QOperator form (QLinearConv and onnxruntime's
    QLinearAdd, QLinearGlobalAveragePool and QGemm)."""
    import onnxruntime

    if quant_format == "QOperator":
        qdq_model = _quantized(tmp_path, quantization.QuantFormat.QOperator)

    rng = np.random.default_rng(3)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    session = onnxruntime.InferenceSession(
        qdq_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"x": x})
    module, params = ziggurat.from_onnx(qdq_model)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(x=x)
    got = runner.get_output(0)
    step = next(
        numpy_helper.to_array(t) for t in qdq_model.graph.initializer if t.name == "y_scale"
    )
    within = np.abs(got - want) <= step * 1.001
    assert within.mean() >= 0.999, f"{(~within).sum()} of {within.size} off by more than a step"


def test_moved_pairs_equal_onnxruntime() -> None:
    """Q/DQ pairs around a clip, a relu, a max pool, a transpose and a reshape, computed on
    the integers, give onnxruntime's numbers exactly."""
    import onnxruntime

    scale = numpy_helper.from_array(np.array(0.05, np.float32), "s")
    zero = numpy_helper.from_array(np.array(118, np.uint8), "z")
    chain = ["x"]
    nodes = []

    def quantized(op: str, **attrs: object) -> None:
        n = len(nodes)
        nodes.extend(
            [
                helper.make_node("QuantizeLinear", [chain[-1], "s", "z"], [f"q{n}"]),
                helper.make_node("DequantizeLinear", [f"q{n}", "s", "z"], [f"d{n}"]),
                helper.make_node(op, [f"d{n}", *attrs.pop("extra", [])], [f"o{n}"], **attrs),
            ]
        )
        chain.append(f"o{n}")

    quantized("Clip", extra=["low", "high"])
    quantized("Relu")
    quantized("MaxPool", kernel_shape=[2, 2], pads=[1, 1, 0, 0])
    quantized("Transpose", perm=[0, 2, 3, 1])
    quantized("Reshape", extra=["shape"])
    nodes.append(helper.make_node("QuantizeLinear", [chain[-1], "s", "z"], ["y"]))
    initializers = [
        scale, zero,
        numpy_helper.from_array(np.array(-1.3, np.float32), "low"),
        numpy_helper.from_array(np.array(2.51, np.float32), "high"),
        numpy_helper.from_array(np.array([2, -1], np.int64), "shape"),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "moved",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 3, 5, 4))],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 4)).astype(np.float32) * 3
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"x": x})
    module, params = ziggurat.from_onnx(model)
    with statistics.collect() as counts:
        runner = GraphModule(ziggurat.build(module, params=params))
    assert counts["qdq-moved"] == 5
    runner.run(x=x)
    np.testing.assert_array_equal(runner.get_output(0), want)
