"""Unsigned integers, float16 and bfloat16 through elementwise ops, casts, reductions and
shape ops, against onnxruntime (numpy with ml_dtypes where onnxruntime has no kernel),
bit for bit; and through params files and exported libraries."""

import ml_dtypes
import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs
from onnx import helper

import ziggurat
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule, load_module
from ziggurat.runtime.params import load_params, save_params

RNG = np.random.default_rng(3)
UNSIGNED = [np.uint8, np.uint16, np.uint32, np.uint64]


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "types",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(nodes[-1].output[0], 0, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _run(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> np.ndarray:
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**inputs)
    got = runner.get_output(0)
    (reference,) = run_reference(module, params, inputs)
    _same(reference, got)
    return got


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    bits = np.dtype(f"u{got.dtype.itemsize}")
    np.testing.assert_array_equal(
        np.ascontiguousarray(got).view(bits), np.ascontiguousarray(want).view(bits)
    )


def _unsigned(dtype, shape, low: int = 0) -> np.ndarray:
    high = min(int(np.iinfo(dtype).max), 2**63 - 1)
    return RNG.integers(low, high, shape, dtype=np.uint64, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", UNSIGNED)
@pytest.mark.parametrize("op", ["Div", "Mod", "Max", "Min", "Sub"])
def test_unsigned_arithmetic_is_unsigned(dtype, op: str) -> None:
    """Values past the signed range: a signed division, comparison or max would differ."""
    a = _unsigned(dtype, (4, 9), low=int(np.iinfo(dtype).max) // 2)
    b = np.concatenate([_unsigned(dtype, (4, 8), low=1), np.full((4, 1), 3, dtype)], axis=1)
    inputs = {"a": a, "b": b}
    model = _model([helper.make_node(op, ["a", "b"], ["y"])], inputs)
    want = {
        "Div": lambda: a // b, "Mod": lambda: a % b, "Max": lambda: np.maximum(a, b),
        "Min": lambda: np.minimum(a, b), "Sub": lambda: a - b,
    }[op]()  # fmt: skip
    _same(_run(model, inputs), want)


@pytest.mark.parametrize("dtype", UNSIGNED)
@pytest.mark.parametrize("to", [np.float32, np.float64, np.int64, np.uint8, np.float16])
def test_casts_from_unsigned(dtype, to) -> None:
    x = _unsigned(dtype, (3, 7))
    model = _model(
        [helper.make_node("Cast", ["x"], ["y"], to=helper.np_dtype_to_tensor_dtype(np.dtype(to)))],
        {"x": x},
    )
    _same(_run(model, {"x": x}), onnxruntime_outputs(model, {"x": x})[0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_casts_from_float_to_unsigned(dtype) -> None:
    """In-range values (the spec leaves out-of-range ones undefined): truncated toward 0."""
    high = float(min(np.iinfo(dtype).max, 2**53))
    x = RNG.uniform(0, high, (4, 5)).astype(np.float64)
    model = _model(
        [
            helper.make_node(
                "Cast", ["x"], ["y"], to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            )
        ],
        {"x": x},
    )
    _same(_run(model, {"x": x}), onnxruntime_outputs(model, {"x": x})[0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64])
@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin", "ReduceSum"])
def test_unsigned_reductions(dtype, op: str) -> None:
    x = _unsigned(dtype, (3, 5, 4), low=int(np.iinfo(dtype).max) // 3)
    if op == "ReduceSum":
        x = x // 8
    model = _model([helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)], {"x": x})
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([1], np.int64), "axes"))
    want = {"ReduceMax": np.max, "ReduceMin": np.min, "ReduceSum": np.sum}[op](x, axis=1)
    _same(_run(model, {"x": x}), want.astype(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, ml_dtypes.bfloat16])
def test_shape_ops(dtype) -> None:
    x = (RNG.standard_normal((2, 3, 4)) * 50).astype(np.float32)
    x = np.abs(x).astype(dtype)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
        helper.make_node("Concat", ["t", "t"], ["c"], axis=1),
        helper.make_node("Flatten", ["c"], ["f"], axis=1),
        helper.make_node("Gather", ["f", "i"], ["y"], axis=1),
    ]
    model = _model(nodes, {"x": x})
    index = np.array([0, 5, 11, 7], np.int64)
    model.graph.initializer.append(onnx.numpy_helper.from_array(index, "i"))
    want = np.concatenate([x.transpose(2, 0, 1)] * 2, axis=1).reshape(4, -1)[:, index]
    _same(_run(model, {"x": x}), want)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
@pytest.mark.parametrize("op", ["Add", "Mul", "Div", "Sub", "Max", "Relu", "Sqrt", "Exp"])
def test_half_precision_computes_in_f32_and_rounds_once(dtype, op: str) -> None:
    """Each op in f32 on the widened operands, rounded to nearest even once: numpy's float16
    and ml_dtypes' bfloat16 give the same."""
    a = (RNG.standard_normal((5, 33)) * 4).astype(dtype)
    b = (RNG.standard_normal((5, 33)) * 4).astype(dtype)
    unary = op in ("Relu", "Sqrt", "Exp")
    if op == "Sqrt":
        a = np.abs(a)
    inputs = {"a": a} if unary else {"a": a, "b": b}
    model = _model([helper.make_node(op, list(inputs), ["y"])], inputs)
    wide = {name: value.astype(np.float32) for name, value in inputs.items()}
    compute = {
        "Add": lambda: wide["a"] + wide["b"], "Mul": lambda: wide["a"] * wide["b"],
        "Div": lambda: wide["a"] / wide["b"], "Sub": lambda: wide["a"] - wide["b"],
        "Max": lambda: np.maximum(wide["a"], wide["b"]), "Relu": lambda: np.maximum(wide["a"], 0),
        "Sqrt": lambda: np.sqrt(wide["a"]), "Exp": lambda: np.exp(wide["a"]),
    }  # fmt: skip
    want = compute[op]().astype(dtype)
    got = _run(model, inputs)
    if op == "Exp":  # libm's expf and LLVM's may differ in the last f32 bit
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=1e-2)
    else:
        _same(got, want)


def test_bfloat16_reduction_and_cast_round_to_nearest_even() -> None:
    x = (RNG.standard_normal((4, 64)) * 3).astype(np.float32)
    x[0, :4] = [np.nan, np.inf, -np.inf, 1.00390625]  # a tie between two bfloat16 values
    nodes = [
        helper.make_node("Cast", ["x"], ["b"], to=onnx.TensorProto.BFLOAT16),
        helper.make_node("ReduceMax", ["b", "axes"], ["y"], keepdims=1),
    ]
    model = _model(nodes, {"x": x})
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([0], np.int64), "axes"))
    _same(_run(model, {"x": x}), x.astype(ml_dtypes.bfloat16).max(axis=0, keepdims=True))


def test_params_files_and_exported_libraries_keep_bfloat16_and_unsigned(tmp_path) -> None:
    weight = RNG.standard_normal((3, 4)).astype(ml_dtypes.bfloat16)
    counts = _unsigned(np.uint32, (3, 4))
    save_params(tmp_path / "p.npz", {"w": weight, "n": counts})
    loaded = load_params(tmp_path / "p.npz")
    _same(loaded["w"], weight)
    _same(loaded["n"], counts)
    x = RNG.standard_normal((3, 4)).astype(ml_dtypes.bfloat16)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "bf16",
        [helper.make_tensor_value_info("x", onnx.TensorProto.BFLOAT16, [3, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.BFLOAT16, [3, 4])],
        [onnx.numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    lib.export_library(str(tmp_path / "m.zgt"))
    runner = GraphModule(load_module(str(tmp_path / "m.zgt")))
    runner.run(x=x)
    got = runner.get_output(0)
    _same(got, (x.astype(np.float32) + weight.astype(np.float32)).astype(ml_dtypes.bfloat16))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_integer_max_pool_pads_with_the_lowest_value(dtype) -> None:
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.min + 20, (1, 2, 7, 6)).astype(dtype)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    model = _model([node], {"x": x})
    _same(_run(model, {"x": x}), onnxruntime_outputs(model, {"x": x})[0])
