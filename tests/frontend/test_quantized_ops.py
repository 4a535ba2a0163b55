"""The quantized ONNX ops against onnxruntime, bit for bit: zero points at the ends of their
types, per-channel scales, saturation, ties rounded to even, odd shapes and convolution
padding with the zero point. Each model runs compiled with its inputs fed at run time and,
where the weights are initializers, with them folded at build time too."""

import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ziggurat
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(5)


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 21,
) -> onnx.ModelProto:
    def info(name: str, array: np.ndarray) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape
        )

    graph = helper.make_graph(
        [node],
        "quantized",
        [info(n, a) for n, a in inputs.items()],
        [helper.make_tensor_value_info(name, 0, None) for name in node.output],
        [numpy_helper.from_array(v, n) for n, v in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _compiled(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**inputs)
    outputs = [runner.get_output(n) for n in range(len(model.graph.output))]
    for got, want in zip(run_reference(module, params, inputs), outputs, strict=True):
        np.testing.assert_array_equal(got, want)
    return outputs


def check(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray] | None = None,
    expected: list[np.ndarray] | None = None,
) -> None:
    """Ziggurat equals onnxruntime (or `expected`) exactly, with the initializers as
    weights and again with every input fed at run time."""
    model = _model(node, inputs, initializers)
    want = expected or onnxruntime_outputs(model, inputs)
    for got, wanted in zip(_compiled(model, inputs), want, strict=True):
        assert got.dtype == wanted.dtype
        np.testing.assert_array_equal(got, wanted)
    if initializers:
        fed = {**inputs, **initializers}
        for got, wanted in zip(_compiled(_model(node, fed), fed), want, strict=True):
            np.testing.assert_array_equal(got, wanted)


def _scalar(value: float | int, dtype: type) -> np.ndarray:
    return np.array(value, dtype=dtype)


TIES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 126.5, 127.5, -127.5, -128.5], np.float32)


@pytest.mark.parametrize(
    "dtype, zero_point",
    [(np.uint8, 0), (np.uint8, 255), (np.uint8, 128), (np.int8, -128), (np.int8, 127),
     (np.int8, 0), (np.uint16, 65535), (np.int16, -32768)],
)  # fmt: skip
def test_quantize_linear_per_tensor_saturates_and_rounds_ties_to_even(dtype, zero_point) -> None:
    x = np.concatenate([TIES, RNG.standard_normal(53).astype(np.float32) * 300]).reshape(4, 16)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])
    check(node, {"x": x, "s": _scalar(1.0, np.float32), "z": _scalar(zero_point, dtype)})
    check(node, {"x": x}, {"s": _scalar(0.37, np.float32), "z": _scalar(zero_point, dtype)})


def test_quantize_linear_without_zero_point_is_uint8() -> None:
    x = RNG.standard_normal((3, 5)).astype(np.float32) * 100
    check(
        helper.make_node("QuantizeLinear", ["x", "s"], ["y"]),
        {"x": x, "s": _scalar(0.5, np.float32)},
    )


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_and_dequantize_per_axis(axis: int) -> None:
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32) * 20
    channels = x.shape[axis]
    scale = RNG.uniform(0.05, 0.3, channels).astype(np.float32)
    zero = np.array([-128, 127, 0, 5, -3][:channels], np.int8)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=axis)
    check(node, {"x": x}, {"s": scale, "z": zero})
    q = RNG.integers(-128, 128, x.shape).astype(np.int8)
    node = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=axis)
    check(node, {"q": q}, {"s": scale, "z": zero})


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32])
def test_dequantize_linear_zero_points_at_the_ends(dtype) -> None:
    info = np.iinfo(dtype)
    q = np.array([info.min, info.max, 0, 1, info.max - 1], dtype).reshape(1, 5)
    scale = _scalar(0.0173, np.float32)
    if dtype == np.int32:
        check(helper.make_node("DequantizeLinear", ["q", "s"], ["y"]), {"q": q, "s": scale})
        return
    for zero_point in (info.min, info.max):
        node = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])
        check(node, {"q": q, "s": scale, "z": _scalar(zero_point, dtype)})


def test_dynamic_quantize_linear() -> None:
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    for x in (
        RNG.standard_normal((7, 9)).astype(np.float32) * 3,
        RNG.uniform(0.5, 4.0, (5, 3)).astype(np.float32),
        -RNG.uniform(0.5, 4.0, (5, 3)).astype(np.float32),
        np.zeros((2, 3), np.float32),
    ):
        check(node, {"x": x})


def _integer(dtype, shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return RNG.integers(info.min, int(info.max) + 1, shape).astype(dtype)


@pytest.mark.parametrize(
    "a_type, b_type, a_zero, b_zero",
    [(np.uint8, np.int8, 255, 0), (np.uint8, np.uint8, 0, 255), (np.int8, np.int8, -128, 127),
     (np.uint8, np.int8, 128, -128)],
)  # fmt: skip
def test_matmul_integer(a_type, b_type, a_zero, b_zero) -> None:
    a, b = _integer(a_type, (7, 13)), _integer(b_type, (13, 5))
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    check(node, {"a": a}, {"b": b, "az": _scalar(a_zero, a_type), "bz": _scalar(b_zero, b_type)})


def test_matmul_integer_batched() -> None:
    a, b = _integer(np.int8, (2, 3, 6)), _integer(np.uint8, (2, 6, 4))
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    check(node, {"a": a, "b": b}, {"az": _scalar(-7, np.int8), "bz": _scalar(201, np.uint8)})


def test_matmul_integer_per_row_and_column_zero_points() -> None:
    """onnxruntime and onnx's reference take only scalar zero points for A: checked against
    numpy, A's zero point per row, B's per column."""
    a, b = _integer(np.uint8, (3, 6)), _integer(np.uint8, (6, 4))
    a_zero = np.array([0, 255, 7], np.uint8)
    b_zero = np.array([255, 0, 3, 128], np.uint8)
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    wide = (a.astype(np.int32) - a_zero[:, None]) @ (b.astype(np.int32) - b_zero)
    check(node, {"a": a}, {"b": b, "az": a_zero, "bz": b_zero}, expected=[wide])


@pytest.mark.parametrize("a_type, y_type", [(np.uint8, np.uint8), (np.int8, np.int8)])
def test_qlinear_matmul_saturates(a_type, y_type) -> None:
    a, b = _integer(a_type, (5, 33)), _integer(a_type, (33, 9))
    info = np.iinfo(a_type)
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    for y_scale in (0.5, 37.0):  # mostly saturated, then mostly in range
        params = {
            "as": _scalar(0.021, np.float32), "az": _scalar(info.max, a_type),
            "b": b, "bs": _scalar(0.013, np.float32), "bz": _scalar(info.min, a_type),
            "ys": _scalar(y_scale * 0.01, np.float32), "yz": _scalar(3, y_type),
        }  # fmt: skip
        check(node, {"a": a}, params)


def _conv_case(x_type, w_type, w_shape, x_shape):
    return _integer(x_type, x_shape), _integer(w_type, w_shape)


@pytest.mark.parametrize(
    "attrs, w_shape",
    [
        ({}, (4, 3, 3, 3)),
        ({"pads": [1, 2, 0, 1], "strides": [2, 1]}, (5, 3, 3, 2)),
        ({"group": 3, "pads": [1, 1, 1, 1]}, (6, 1, 3, 3)),
        ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, (2, 3, 3, 3)),
    ],
)
@pytest.mark.parametrize("x_zero", [0, 255, 131])
def test_qlinear_conv_per_channel_with_padding(attrs: dict, w_shape: tuple, x_zero: int) -> None:
    x, w = _conv_case(np.uint8, np.int8, w_shape, (2, 3, 9, 7))
    channels = w_shape[0]
    node = helper.make_node(
        "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"], **attrs
    )
    params = {
        "xs": _scalar(0.02, np.float32), "xz": _scalar(x_zero, np.uint8),
        "w": w, "ws": RNG.uniform(0.002, 0.02, channels).astype(np.float32),
        "wz": np.zeros(channels, np.int8), "ys": _scalar(0.05, np.float32),
        "yz": _scalar(128, np.uint8),
        "b": RNG.integers(-3000, 3000, channels).astype(np.int32),
    }  # fmt: skip
    check(node, {"x": x}, params)


def test_qlinear_conv_int8_output_saturates_with_scalar_weight_zero_point() -> None:
    x, w = _conv_case(np.int8, np.int8, (3, 2, 3, 3), (1, 2, 6, 5))
    node = helper.make_node(
        "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], pads=[1, 1, 1, 1]
    )
    params = {
        "xs": _scalar(0.1, np.float32), "xz": _scalar(-128, np.int8), "w": w,
        "ws": _scalar(0.1, np.float32), "wz": _scalar(0, np.int8),
        "ys": _scalar(0.2, np.float32), "yz": _scalar(127, np.int8),
    }  # fmt: skip
    check(node, {"x": x}, params)


@pytest.mark.parametrize("pads", [[0, 0, 0, 0], [1, 0, 2, 1]])
def test_conv_integer_pads_with_the_zero_point(pads: list[int]) -> None:
    """onnxruntime pads ConvInteger's input with 0 where the spec and onnx's reference pad
    with the zero point: the padded case is checked against the reference."""
    x, w = _conv_case(np.uint8, np.uint8, (3, 2, 2, 3), (1, 2, 5, 6))
    node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], pads=pads)
    params = {"w": w, "xz": _scalar(250, np.uint8), "wz": _scalar(255, np.uint8)}
    expected = None
    if any(pads):
        feeds = {"x": x, **params}
        expected = ReferenceEvaluator(_model(node, feeds)).run(None, feeds)
    check(node, {"x": x}, params, expected=expected)
