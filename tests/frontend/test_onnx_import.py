"""ONNX import: the IR it makes, numerics against onnxruntime via the reference executor,
and its errors."""

import numpy as np
import onnx
import pytest
from models import make_model, mlp_model, onnxruntime_outputs, random_inputs
from onnx import helper, numpy_helper

import ziggurat
from ziggurat.core.errors import ModelImportError, UnsupportedOpError
from ziggurat.core.reference import run_reference
from ziggurat.dialects import graph
from ziggurat.frontend.onnx.dynamic import DynamicModel, shape_deciding_inputs

RNG = np.random.default_rng(7)


def weights(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def check_against_onnxruntime(model: onnx.ModelProto, shapes: dict, **kwargs) -> None:
    module, params = ziggurat.from_onnx(model, **kwargs)
    inputs = random_inputs(shapes)
    expected = onnxruntime_outputs(model, inputs)
    got = run_reference(module, params, inputs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def ops_of(module) -> list[str]:
    return [op.name for op in module.walk() if op.dialect_name() == "graph"]


def test_mlp_imports_as_gemm_layers() -> None:
    module, params = ziggurat.from_onnx(mlp_model(1))
    names = ops_of(module)
    assert names.count("graph.matmul") == 3 and names.count("graph.relu") == 2
    assert "graph.softmax" in names
    assert set(params) >= {"fc0.weight", "fc0.bias", "fc1.weight", "fc2.weight"}
    check_against_onnxruntime(mlp_model(1), {"input": (1, 784)})


def test_gemm_attributes_and_bias_as_input() -> None:
    nodes = [
        helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="g", alpha=0.5, beta=2.0, transA=1),
    ]
    model = make_model(nodes, {"a": [6, 3], "b": [6, 5], "c": [3, 5]}, {"y": [3, 5]})
    check_against_onnxruntime(model, {"a": (6, 3), "b": (6, 5), "c": (3, 5)})


def test_gemm_scaled_constant_bias_goes_to_params() -> None:
    nodes = [helper.make_node("Gemm", ["a", "w", "c"], ["y"], beta=3.0, transB=1)]
    model = make_model(
        nodes, {"a": [2, 8]}, {"y": [2, 20]}, {"w": weights(20, 8), "c": weights(20)}
    )
    _, params = ziggurat.from_onnx(model)
    scaled = 3.0 * numpy_helper.to_array(model.graph.initializer[1])
    assert any(v.shape == scaled.shape and np.allclose(v, scaled) for v in params.values())
    check_against_onnxruntime(model, {"a": (2, 8)})


def test_matmul_with_vectors_and_batches() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("MatMul", ["v", "h"], ["y"]),
    ]
    model = make_model(nodes, {"x": [2, 3, 4], "v": [3]}, {"y": None}, {"w": weights(4, 5)})
    check_against_onnxruntime(model, {"x": (2, 3, 4), "v": (3,)})


def test_a_stack_of_rows_times_a_matrix_is_one_matrix_product() -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = make_model(nodes, {"x": [6, 2, 1, 8]}, {"y": None}, {"w": weights(8, 5)})
    module, _ = ziggurat.from_onnx(model)
    (matmul,) = [op for op in module.walk() if op.name == "graph.matmul"]
    assert [list(graph.tensor_shape(v)) for v in (*matmul.operands, matmul.results[0])] == [
        [12, 8],
        [8, 5],
        [12, 5],
    ]
    check_against_onnxruntime(model, {"x": (6, 2, 1, 8)})


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_by_opset(opset: int) -> None:
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=1)]
    model = make_model(nodes, {"x": [2, 3, 4]}, {"y": [2, 3, 4]}, opset=opset)
    check_against_onnxruntime(model, {"x": (2, 3, 4)})


def test_flatten_reshape_identity_and_constant_nodes() -> None:
    shape = numpy_helper.from_array(np.array([0, -1], dtype=np.int64))
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=shape),
        helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(weights(12, 3))),
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("Reshape", ["f", "shape"], ["r"]),
        helper.make_node("Identity", ["r"], ["i"]),
        helper.make_node("MatMul", ["i", "w"], ["m"]),
        helper.make_node("Relu", ["m"], ["y"]),
    ]
    model = make_model(nodes, {"x": [2, 3, 4]}, {"y": [2, 3]})
    _, params = ziggurat.from_onnx(model)
    assert any(v.shape == (12, 3) for v in params.values())
    check_against_onnxruntime(model, {"x": (2, 3, 4)})


def test_odd_tensor_names_and_dynamic_batch() -> None:
    names = ["save_infer_model/scale_0.tmp_1", "onnx::Gemm_0", '{"json": [1, 2]}']
    nodes = [
        helper.make_node("Gemm", [names[0], names[1]], ["x y"], transB=1),
        helper.make_node("Relu", ["x y"], [names[2]]),
    ]
    model = make_model(
        nodes, {names[0]: ["batch", 16]}, {names[2]: ["batch", 4]}, {names[1]: weights(4, 16)}
    )
    module, params = ziggurat.from_onnx(model, shape={names[0]: (5, 16)})
    assert names[1] in params
    function = next(iter(module.ops))
    assert graph.tensor_shape(function.body.block.args[0]) == (5, 16)
    check_against_onnxruntime(model, {names[0]: (5, 16)}, shape={names[0]: (5, 16)})


def test_declared_output_shapes_are_not_trusted() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    model = make_model(nodes, {"x": [2, 3]}, {"y": [7, 7, 7]})
    module, _ = ziggurat.from_onnx(model)
    function = next(iter(module.ops))
    assert graph.tensor_shape(function.function_type.outputs.data[0]) == (2, 3)


def test_all_unsupported_ops_are_listed_at_once() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="ok"),
        helper.make_node("NonZero", ["a"], ["b"], name="nz"),
        helper.make_node("TopK", ["a", "k"], ["c", "d"], name="top"),
        helper.make_node("NonZero", ["a"], ["e"], name="nz2"),
    ]
    model = make_model(nodes, {"x": [4], "k": [1]}, {"b": None, "c": None, "e": None})
    with pytest.raises(UnsupportedOpError) as info:
        ziggurat.from_onnx(model)
    message = str(info.value)
    assert "NonZero (nodes: 'nz', 'nz2')" in message and "TopK (nodes: 'top')" in message
    assert isinstance(info.value, NotImplementedError)
    assert info.value.ops == {"NonZero": ["nz", "nz2"], "TopK": ["top"]}


def test_not_an_onnx_file(tmp_path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(ModelImportError, match="model.onnx"):
        ziggurat.from_onnx(bad)
    with pytest.raises(ModelImportError, match="no such file"):
        ziggurat.from_onnx(tmp_path / "missing.onnx")


def test_symbolic_input_dims_import_as_a_dynamic_model() -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": ["n", 3]}, {"y": None})
    module, params = ziggurat.from_onnx(model)
    assert isinstance(module, DynamicModel) and params == {}
    assert module.inputs[0].dims == ("n", 3) and module.shape_inputs == ()
    fixed, _ = ziggurat.from_onnx(model, shape={"x": (2, 3)})
    assert not isinstance(fixed, DynamicModel)


def test_missing_input_shape_needs_shape_argument() -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": ["n", 3]}, {"y": None})
    model.graph.input[0].type.tensor_type.ClearField("shape")
    with pytest.raises(ModelImportError, match=r"input 'x' has no shape in the model"):
        ziggurat.from_onnx(model)


def test_contradicting_shape_argument() -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, {"y": None})
    with pytest.raises(ModelImportError, match="dim 1 = 4, but the model fixes it to 3"):
        ziggurat.from_onnx(model, shape={"x": (2, 4)})
    with pytest.raises(ModelImportError, match="rank 3"):
        ziggurat.from_onnx(model, shape={"x": (2, 3, 1)})
    with pytest.raises(ModelImportError, match="unknown input"):
        ziggurat.from_onnx(model, shape={"y": (2, 3)})


def test_shape_mismatch_names_the_node() -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    model = make_model(nodes, {"x": [2, 3]}, {"y": None}, {"w": weights(4, 5)})
    with pytest.raises(ModelImportError, match=r"node 'proj' \(MatMul\): .*contraction"):
        ziggurat.from_onnx(model)


def test_runtime_shape_input_makes_a_dynamic_model() -> None:
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="dyn")]
    graph_ = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [6]),
            helper.make_tensor_value_info("s", onnx.TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph_, opset_imports=[helper.make_opsetid("", 17)])
    module, _ = ziggurat.from_onnx(model)
    assert isinstance(module, DynamicModel) and module.shape_inputs == ("s",)


def test_shape_deciding_inputs_are_found_through_computations_not_through_shapes() -> None:
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Cast", ["k"], ["k64"], to=onnx.TensorProto.INT64),
        helper.make_node("Mul", ["x_shape", "k64"], ["target"]),
        helper.make_node("Expand", ["x", "target"], ["y"]),
    ]
    found = shape_deciding_inputs(nodes, ["x", "k"])
    assert found == ["k"]


@pytest.mark.parametrize("op", ["Sigmoid", "Tanh", "Erf", "Exp", "Neg", "Relu", "Identity"])
def test_unary_ops(op: str) -> None:
    model = make_model([helper.make_node(op, ["x"], ["y"])], {"x": [3, 4]}, {"y": [3, 4]})
    check_against_onnxruntime(model, {"x": (3, 4)})


@pytest.mark.parametrize("op", ["Log", "Sqrt", "Reciprocal"])
def test_unary_ops_on_positive_inputs(op: str) -> None:
    nodes = [helper.make_node("Exp", ["x"], ["e"]), helper.make_node(op, ["e"], ["y"])]
    model = make_model(nodes, {"x": [3, 4]}, {"y": [3, 4]})
    check_against_onnxruntime(model, {"x": (3, 4)})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"])
def test_broadcasting_binary_ops(op: str) -> None:
    model = make_model(
        [helper.make_node(op, ["a", "b"], ["y"])], {"a": [2, 3, 4], "b": [3, 1]}, {"y": None}
    )
    check_against_onnxruntime(model, {"a": (2, 3, 4), "b": (3, 1)})


def test_variadic_max_and_pow() -> None:
    nodes = [
        helper.make_node("Max", ["a", "b", "c"], ["m"]),
        helper.make_node("Exp", ["m"], ["e"]),
        helper.make_node("Pow", ["e", "b"], ["y"]),
    ]
    model = make_model(nodes, {"a": [2, 3], "b": [3], "c": [2, 1]}, {"y": None})
    check_against_onnxruntime(model, {"a": (2, 3), "b": (3,), "c": (2, 1)})


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate: str) -> None:
    model = make_model(
        [helper.make_node("Gelu", ["x"], ["y"], approximate=approximate)],
        {"x": [4, 5]},
        {"y": None},
        opset=20,
    )
    check_against_onnxruntime(model, {"x": (4, 5)})


def test_transpose_layer_norm_dropout() -> None:
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
        helper.make_node("LayerNormalization", ["t", "g", "b"], ["n"], axis=-1, epsilon=1e-6),
        helper.make_node("Dropout", ["n"], ["d"]),
        helper.make_node("Transpose", ["d"], ["y"]),
    ]
    model = make_model(nodes, {"x": [2, 6, 5]}, {"y": None}, {"g": weights(6), "b": weights(6)})
    check_against_onnxruntime(model, {"x": (2, 6, 5)})


def test_layer_norm_mean_and_inverse_std_outputs() -> None:
    nodes = [
        helper.make_node(
            "LayerNormalization", ["x", "g"], ["y", "mean", "inv"], axis=1, epsilon=1e-3
        )
    ]
    model = make_model(
        nodes, {"x": [2, 6, 3]}, {"y": None, "mean": None, "inv": None}, {"g": weights(6, 3)}
    )
    check_against_onnxruntime(model, {"x": (2, 6, 3)})


def test_truncated_model_file(tmp_path) -> None:
    data = mlp_model(1, sizes=(8, 4)).SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError, match="cut.onnx"):
        ziggurat.from_onnx(path)


def test_unsupported_attribute_value_is_named() -> None:
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode="area")]
    model = make_model(
        nodes, {"x": [1, 1, 2, 2]}, {"y": None}, {"scales": np.array([1, 1, 2, 2], np.float32)}
    )
    with pytest.raises(UnsupportedOpError, match=r"Resize .*'up'.*mode 'area'"):
        ziggurat.from_onnx(model)


@pytest.mark.parametrize(
    ("op_type", "second"),
    [("ConstantOfShape", None), ("Expand", [1 << 20, 1 << 20]), ("Tile", [1 << 20, 1 << 20])],
)
def test_constants_too_big_to_fold_are_refused_unallocated(op_type: str, second) -> None:
    first = [1 << 20, 1 << 20] if op_type == "ConstantOfShape" else [[1.0]]
    initializers = [
        numpy_helper.from_array(np.array(first, np.float32 if second else np.int64), "a")
    ]
    inputs = ["a"]
    if second is not None:
        initializers.append(numpy_helper.from_array(np.array(second, np.int64), "b"))
        inputs.append("b")
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    nodes = [
        helper.make_node(op_type, inputs, ["c"], name="grow"),
        helper.make_node("Add", ["x", "c"], ["y"]),
    ]
    graph_proto = helper.make_graph(nodes, "g", [x], [y], initializer=initializers)
    model = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(
        ModelImportError,
        match=rf"node 'grow' \({op_type}\): its result would have 1,099,511,627,776 elements",
    ):
        ziggurat.from_onnx(model)
