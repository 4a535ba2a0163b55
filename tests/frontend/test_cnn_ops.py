"""Convolution-family and other CNN ops: the reference executor and the compiled code,
both against onnxruntime."""

import numpy as np
import onnx
import pytest
from models import make_model, onnxruntime_outputs, random_inputs
from onnx import helper

import ziggurat
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(11)


def weights(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def check(model: onnx.ModelProto, shapes: dict, rtol: float = 1e-4, atol: float = 1e-4) -> None:
    inputs = random_inputs(shapes)
    expected = onnxruntime_outputs(model, inputs)
    module, params = ziggurat.from_onnx(model)
    for got, want in zip(run_reference(module, params, inputs), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**inputs)
    for n, want in enumerate(expected):
        np.testing.assert_allclose(runner.get_output(n), want, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "attrs, w_shape",
    [
        ({}, (4, 3, 3, 3)),
        ({"pads": [1, 1, 1, 1], "strides": [2, 2]}, (4, 3, 3, 3)),
        ({"pads": [0, 1, 2, 1], "dilations": [2, 1]}, (5, 3, 3, 2)),
        ({"group": 3, "pads": [1, 1, 1, 1]}, (6, 1, 3, 3)),
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (4, 3, 3, 3)),
        ({"auto_pad": "SAME_LOWER"}, (4, 3, 2, 2)),
    ],
)
def test_conv2d(attrs: dict, w_shape: tuple) -> None:
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)]
    model = make_model(
        nodes, {"x": [2, 3, 9, 8]}, {"y": None}, {"w": weights(*w_shape), "b": weights(w_shape[0])}
    )
    check(model, {"x": (2, 3, 9, 8)})


def test_conv1d_without_bias() -> None:
    model = make_model(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1])],
        {"x": [1, 2, 10]},
        {"y": None},
        {"w": weights(3, 2, 3)},
    )
    check(model, {"x": (1, 2, 10)})


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
        ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}),
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    ],
)
def test_pools(op: str, attrs: dict) -> None:
    model = make_model(
        [helper.make_node(op, ["x"], ["y"], **attrs)], {"x": [1, 3, 7, 9]}, {"y": None}
    )
    check(model, {"x": (1, 3, 7, 9)})


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pools(op: str) -> None:
    check(
        make_model([helper.make_node(op, ["x"], ["y"])], {"x": [2, 4, 5, 6]}, {"y": None}),
        {"x": (2, 4, 5, 6)},
    )


def test_batch_norm_lrn_concat_and_activations() -> None:
    var = np.abs(weights(4)) + 0.5
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["bn"], epsilon=1e-3),
        helper.make_node("LRN", ["bn"], ["lrn"], size=3, alpha=0.01, beta=0.75, bias=2.0),
        helper.make_node("Clip", ["lrn", "lo", "hi"], ["clip"]),
        helper.make_node("LeakyRelu", ["bn"], ["leaky"], alpha=0.1),
        helper.make_node("HardSigmoid", ["bn"], ["hs"]),
        helper.make_node("HardSwish", ["bn"], ["hw"]),
        helper.make_node("PRelu", ["bn", "slope"], ["pr"]),
        helper.make_node("Concat", ["clip", "leaky", "hs", "hw", "pr"], ["cat"], axis=1),
        helper.make_node("Unsqueeze", ["cat", "axes"], ["u"]),
        helper.make_node("Squeeze", ["u", "axes"], ["y"]),
    ]
    model = make_model(
        nodes,
        {"x": [2, 4, 3, 5]},
        {"y": None},
        {
            "s": weights(4),
            "b": weights(4),
            "m": weights(4),
            "v": var,
            "lo": np.array(-0.5, np.float32),
            "hi": np.array(0.5, np.float32),
            "slope": weights(4, 1, 1),
            "axes": np.array([0], np.int64),
        },
    )
    check(model, {"x": (2, 4, 3, 5)})


def test_clip_before_opset_11_uses_attributes() -> None:
    model = make_model(
        [helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)],
        {"x": [3, 4]},
        {"y": None},
        opset=9,
    )
    check(model, {"x": (3, 4)})


@pytest.mark.parametrize(
    "attrs, w_shape",
    [
        ({"strides": [2, 2]}, (3, 2, 3, 3)),
        ({"strides": [2, 1], "pads": [1, 0, 0, 1], "output_padding": [1, 0]}, (3, 2, 3, 2)),
        ({"group": 3, "dilations": [2, 2]}, (3, 1, 2, 2)),
    ],
)
def test_conv_transpose(attrs: dict, w_shape: tuple) -> None:
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)]
    channels = w_shape[1] * attrs.get("group", 1)
    model = make_model(
        nodes, {"x": [1, 3, 4, 5]}, {"y": None}, {"w": weights(*w_shape), "b": weights(channels)}
    )
    check(model, {"x": (1, 3, 4, 5)})


def test_slice_split_pad_gather_where_equal_cast() -> None:
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"]),
        helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=2),
        helper.make_node("Pad", ["a", "pads"], ["p"], mode="reflect"),
        helper.make_node("Gather", ["b", "idx"], ["g"], axis=1),
        helper.make_node("Equal", ["a", "a"], ["eq"]),
        helper.make_node("Where", ["eq", "a", "a"], ["w"]),
        helper.make_node("Cast", ["w"], ["c"], to=onnx.TensorProto.INT32),
        helper.make_node("Cast", ["c"], ["y"], to=onnx.TensorProto.FLOAT),
        helper.make_node("Expand", ["y", "shape"], ["e"]),
    ]
    model = make_model(
        nodes,
        {"x": [2, 3, 6]},
        {"s": None, "p": None, "g": None, "e": None},
        {
            "starts": i64(5, 0),
            "ends": i64(-7, 2),
            "axes": i64(2, 1),
            "steps": i64(-2, 1),
            "sizes": i64(4, 2),
            "pads": i64(0, 0, 1, 0, 0, 2),
            "idx": i64(-1, 0, 2),
            "shape": i64(2, 2, 3, 4),
        },
    )
    check(model, {"x": (2, 3, 6)})


def test_integer_arithmetic() -> None:
    graph_ = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["s"]),
            helper.make_node("Mul", ["s", "b"], ["m"]),
            helper.make_node("Max", ["m", "a"], ["y"]),
            helper.make_node("Div", ["y", "b"], ["q"]),
        ],
        "ints",
        [helper.make_tensor_value_info(n, onnx.TensorProto.INT32, [3, 4]) for n in ("a", "b")],
        [helper.make_tensor_value_info(n, onnx.TensorProto.INT32, None) for n in ("y", "q")],
    )
    model = helper.make_model(graph_, opset_imports=[helper.make_opsetid("", 17)])
    rng = np.random.default_rng(5)
    inputs = {
        "a": rng.integers(-50, 50, (3, 4), dtype=np.int32),
        "b": rng.integers(1, 9, (3, 4), dtype=np.int32),
    }
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**inputs)
    expected = onnxruntime_outputs(model, inputs)
    for n, want in enumerate(expected):
        np.testing.assert_array_equal(runner.get_output(n), want)
