"""onnxruntime's com.microsoft QOperator ops against onnxruntime: zero points at the ends of
their types, saturation, odd shapes. onnxruntime's vector kernels (MLAS's QLinearAdd/Mul)
round their f32 sums in an order of their own, so an output may be one quantization step off
(0.4% of QLinearAdd's on random data): each is within one step and nearly all are equal."""

import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs
from onnx import helper, numpy_helper

import ziggurat
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(9)


def _model(
    node: onnx.NodeProto, inputs: dict[str, np.ndarray], initializers: dict[str, np.ndarray]
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "qoperator",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(node.output[0], _type_of(inputs), None)],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def _type_of(inputs: dict[str, np.ndarray]) -> int:
    """The output's element type: the quantized inputs' (every case here keeps it)."""
    return helper.np_dtype_to_tensor_dtype(next(iter(inputs.values())).dtype)


def check(
    node: onnx.NodeProto, inputs: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> None:
    model = _model(node, inputs, params)
    (want,) = onnxruntime_outputs(model, inputs)
    module, weights = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=weights))
    runner.run(**inputs)
    got = runner.get_output(0)
    assert got.dtype == want.dtype and got.shape == want.shape
    difference = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert difference.max() <= 1
    assert (difference == 0).mean() >= 0.98


def _q(dtype, shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return RNG.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _s(value: float) -> np.ndarray:
    return np.array(value, np.float32)


def _z(value: int, dtype) -> np.ndarray:
    return np.array(value, dtype)


@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
@pytest.mark.parametrize("dtype, zeros", [(np.uint8, (0, 255, 128)), (np.int8, (-128, 127, 0))])
def test_binary(op: str, dtype, zeros: tuple[int, int, int]) -> None:
    a, b = _q(dtype, (2, 5, 7)), _q(dtype, (5, 7))
    node = helper.make_node(
        op, ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], domain="com.microsoft"
    )
    y_scale = 0.05 if op == "QLinearAdd" else 1.3
    params = {
        "as": _s(0.021), "az": _z(zeros[0], dtype), "bs": _s(0.017), "bz": _z(zeros[1], dtype),
        "ys": _s(y_scale), "yz": _z(zeros[2], dtype),
    }  # fmt: skip
    check(node, {"a": a, "b": b}, params)


@pytest.mark.parametrize("op", ["QLinearSigmoid", "QLinearLeakyRelu"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_lookup_table_ops(op: str, dtype) -> None:
    x = _q(dtype, (3, 11, 5))
    attrs = {"alpha": 0.2} if op == "QLinearLeakyRelu" else {}
    node = helper.make_node(
        op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft", **attrs
    )
    info = np.iinfo(dtype)
    params = {"xs": _s(0.05), "xz": _z(info.max, dtype), "ys": _s(0.004), "yz": _z(info.min, dtype)}
    check(node, {"x": x}, params)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_global_average_pool(dtype) -> None:
    x = _q(dtype, (2, 6, 5, 7))
    info = np.iinfo(dtype)
    node = helper.make_node(
        "QLinearGlobalAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft"
    )
    params = {"xs": _s(0.1), "xz": _z(info.min, dtype), "ys": _s(0.07), "yz": _z(3, dtype)}
    check(node, {"x": x}, params)


def test_average_pool_with_padding() -> None:
    x = _q(np.uint8, (1, 3, 9, 8))
    node = helper.make_node(
        "QLinearAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft",
        kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
    )  # fmt: skip
    params = {"xs": _s(0.1), "xz": _z(255, np.uint8), "ys": _s(0.08), "yz": _z(128, np.uint8)}
    check(node, {"x": x}, params)


def test_concat_requantizes_each_input() -> None:
    a, b = _q(np.uint8, (1, 2, 3, 4)), _q(np.uint8, (1, 3, 3, 4))
    node = helper.make_node(
        "QLinearConcat",
        ["ys", "yz", "a", "as", "az", "b", "bs", "bz"],
        ["y"],
        domain="com.microsoft",
        axis=1,
    )
    params = {
        "ys": _s(0.2), "yz": _z(128, np.uint8), "as": _s(0.2), "az": _z(128, np.uint8),
        "bs": _s(0.5), "bz": _z(0, np.uint8),
    }  # fmt: skip
    check(node, {"a": a, "b": b}, params)
