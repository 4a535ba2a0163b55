"""Float Mod, Pow of mixed element types, bool ReduceMax/ReduceMin, MaxPool's Indices and
training-mode BatchNormalization: the compiled code and the reference executor against
onnxruntime, on odd shapes, negative values and (for Mod and Pow) NaN and infinities."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper

import ziggurat
from ziggurat.core.errors import ModelImportError
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(7)


def single_node_model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    outputs: dict[str, np.dtype],
    opset: int = 18,
    constants: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "case",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in inputs.items()
        ],
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.dtype(t)), None)
            for n, t in outputs.items()
        ],
        [onnx.numpy_helper.from_array(v, n) for n, v in (constants or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def check(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    outputs: dict[str, np.dtype],
    rtol: float = 1e-4,
    atol: float = 1e-4,
    opset: int = 18,
    constants: dict[str, np.ndarray] | None = None,
) -> None:
    """Compiled outputs and the reference executor's equal onnxruntime's, NaN for NaN and
    with the same dtype."""
    model = single_node_model(node, inputs, outputs, opset, constants)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, inputs)
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**inputs)
    compiled = [runner.get_output(n) for n in range(len(expected))]
    reference = run_reference(module, params, inputs)
    for got in (compiled, reference):
        for have, want in zip(got, expected, strict=True):
            assert np.asarray(have).dtype == want.dtype
            np.testing.assert_allclose(have, want, rtol=rtol, atol=atol)


def floats_with_specials(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    values = (RNG.standard_normal(shape) * 5).astype(dtype)
    flat = values.reshape(-1)
    flat[:7] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 3.0, -3.0]
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmod", [0, 1])
def test_float_mod_with_specials_and_broadcast(fmod: int, dtype: type) -> None:
    x = floats_with_specials((3, 5, 7), dtype)
    y = (RNG.standard_normal((5, 1)) * 3).astype(dtype)
    y[:3, 0] = [np.inf, -np.inf, -0.0]
    node = helper.make_node("Mod", ["x", "y"], ["z"], fmod=fmod)
    check(node, {"x": x, "y": y}, {"z": dtype}, rtol=1e-6, atol=1e-6, opset=28)


def test_float_mod_without_fmod_before_opset_28_is_refused() -> None:
    """onnxruntime fails such a model too: floats had only C's fmod until opset 28."""
    x = np.ones((2, 3), np.float32)
    model = single_node_model(
        helper.make_node("Mod", ["x", "y"], ["z"], name="m"), {"x": x, "y": x}, {"z": np.float32}
    )
    with pytest.raises(ModelImportError, match="fmod must be 1 for floats before opset 28"):
        ziggurat.from_onnx(model)


@pytest.mark.parametrize(
    "base_type, exponent_type",
    [
        (np.float32, np.int64),
        (np.float32, np.int32),
        (np.float64, np.float32),
        (np.float32, np.float64),
        (np.int64, np.float32),
        (np.int32, np.float64),
        (np.int32, np.int32),
        (np.int64, np.int64),
        (np.int32, np.int64),
    ],
)
def test_pow_of_mixed_element_types(base_type: type, exponent_type: type) -> None:
    """Negative bases, negative and fractional exponents (NaN for a negative float base
    with a fractional exponent; integer results truncated toward zero)."""
    base = RNG.integers(-6, 7, (2, 3, 5)).astype(base_type)
    if np.issubdtype(base_type, np.floating):
        base = (base + RNG.uniform(-0.5, 0.5, base.shape)).astype(base_type)
        base.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    exponent = RNG.integers(-3, 5, (3, 1)).astype(exponent_type)
    if np.issubdtype(exponent_type, np.floating):
        exponent.reshape(-1)[0] = 0.5
    node = helper.make_node("Pow", ["x", "y"], ["z"])
    check(node, {"x": base, "y": exponent}, {"z": base_type}, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("axes, keepdims", [([1], 1), ([0, 2], 0), ([-1], 1), ([], 0)])
def test_bool_reductions_are_any_and_all(op_type: str, axes: list[int], keepdims: int) -> None:
    x = RNG.random((3, 5, 7)) < 0.8
    x[1] = True
    x[2] = False
    constants = {"axes": np.array(axes, np.int64)} if axes else {}
    node = helper.make_node(op_type, ["x", *constants], ["y"], keepdims=keepdims)
    check(node, {"x": x}, {"y": np.bool_}, opset=20, constants=constants)


def test_bool_reduction_of_an_empty_set_gives_false_for_max_and_true_for_min() -> None:
    """onnxruntime cannot run these (it gives an empty result), so numpy is the reference."""
    for op_type, expected in (("ReduceMax", False), ("ReduceMin", True)):
        inputs = {"x": np.zeros((2, 0, 3), np.bool_)}
        node = helper.make_node(op_type, ["x", "axes"], ["y"], keepdims=1)
        axes = {"axes": np.array([1], np.int64)}
        model = single_node_model(node, inputs, {"y": np.bool_}, opset=20, constants=axes)
        module, params = ziggurat.from_onnx(model)
        runner = GraphModule(ziggurat.build(module, params=params))
        runner.run(**inputs)
        np.testing.assert_array_equal(runner.get_output(0), np.full((2, 1, 3), expected))


@pytest.mark.parametrize(
    "shape, attributes",
    [
        ((2, 3, 7, 9), {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 0, 1, 1]}),
        ((1, 2, 6, 5), {"kernel_shape": [2, 2], "storage_order": 1}),
        ((1, 2, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ((2, 2, 9, 8), {"kernel_shape": [2, 3], "dilations": [2, 1], "storage_order": 1}),
        ((1, 3, 11), {"kernel_shape": [4], "strides": [3], "pads": [2, 1]}),
        ((1, 2, 4, 5, 6), {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2], "storage_order": 1}),
    ],
)
def test_max_pool_indices(shape: tuple[int, ...], attributes: dict) -> None:
    """Negative values (a padded tap, -inf, must never win) and repeated maxima (the first
    in scan order wins)."""
    x = -np.round(np.abs(RNG.standard_normal(shape)) * 2).astype(np.float32) / 2
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attributes)
    check(node, {"x": x}, {"y": np.float32, "i": np.int64})


@pytest.mark.parametrize(
    "shape, attributes",
    [
        ((3, 5, 7, 3), {}),
        ((4, 3, 9), {"momentum": 0.7, "epsilon": 1e-3}),
        ((6, 4), {"momentum": 0.0}),
        ((2, 3, 2, 3, 4), {"momentum": 1.0}),
    ],
)
def test_batch_norm_in_training_mode(shape: tuple[int, ...], attributes: dict) -> None:
    """Batch statistics normalize; the running mean and variance outputs follow momentum."""
    channels = shape[1]
    inputs = {
        "x": (RNG.standard_normal(shape) * 3 - 1).astype(np.float32),
        "scale": RNG.standard_normal(channels).astype(np.float32),
        "bias": RNG.standard_normal(channels).astype(np.float32),
        "mean": RNG.standard_normal(channels).astype(np.float32),
        "var": RNG.uniform(0.5, 2.0, channels).astype(np.float32),
    }
    node = helper.make_node(
        "BatchNormalization",
        list(inputs),
        ["y", "running_mean", "running_var"],
        training_mode=1,
        **attributes,
    )
    outputs = {"y": np.float32, "running_mean": np.float32, "running_var": np.float32}
    check(node, inputs, outputs, opset=15)
