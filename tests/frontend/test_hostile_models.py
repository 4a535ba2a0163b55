"""Damaged and hand-edited models that the fuzzers (tests/fuzz) found escaping as Python
errors: each is now one ModelImportError naming the node or initializer."""

import numpy as np
import onnx
import pytest
from models import make_model, mlp_model
from onnx import TensorProto, helper

import ziggurat
from ziggurat.core.errors import ModelImportError


def one_node(node: onnx.NodeProto, x_shape: list[int], **initializers: np.ndarray):
    return make_model([node], {"x": x_shape}, {"y": None}, initializers)


def f32(*shape: int) -> np.ndarray:
    return np.ones(shape, np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, np.int64)


def test_initializer_with_dims_its_data_does_not_fill() -> None:
    model = mlp_model(1, (4, 8, 3))
    model.graph.initializer[0].dims[0] = 5
    with pytest.raises(ModelImportError, match=r"initializer 'fc0.weight' \(FLOAT, dims \[5, 4\]"):
        ziggurat.from_onnx(model)


def test_initializer_of_undefined_element_type() -> None:
    model = mlp_model(1, (4, 8, 3))
    model.graph.initializer[1].data_type = TensorProto.UNDEFINED
    with pytest.raises(ModelImportError, match="initializer 'fc0.bias' .UNDEFINED"):
        ziggurat.from_onnx(model)


def test_input_of_an_element_type_onnx_does_not_define() -> None:
    model = mlp_model(1, (4, 8, 3))
    model.graph.input[0].type.tensor_type.elem_type = -3
    with pytest.raises(ModelImportError, match="input 'input' is element type -3"):
        ziggurat.from_onnx(model)


@pytest.mark.parametrize("domain", ["", "ai.onnx"])
def test_attribute_of_another_kind_than_the_schema_declares(domain: str) -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], name="soft", axis=[1, 2], domain=domain)
    with pytest.raises(ModelImportError, match="'soft'.*attribute 'axis' is INTS, but Softmax"):
        ziggurat.from_onnx(one_node(node, [2, 3]))


def test_required_attribute_missing() -> None:
    node = helper.make_node("Cast", ["x"], ["y"], name="cast")
    with pytest.raises(ModelImportError, match="'cast'.*lacks the attribute 'to'"):
        ziggurat.from_onnx(one_node(node, [2, 3]))


def test_clip_bounds_that_are_not_scalars() -> None:
    node = helper.make_node("Clip", ["x", "low"], ["y"], name="clip")
    with pytest.raises(ModelImportError, match=r"min must be a scalar, got shape \[8, 4\]"):
        ziggurat.from_onnx(one_node(node, [2, 3], low=f32(8, 4)))


@pytest.mark.parametrize(
    "op_type, message",
    [("Slice", r"required input 1 \(starts\)"), ("Pad", r"required input 1 \(pads\)")],
)
def test_required_constant_input_missing(op_type: str, message: str) -> None:
    node = helper.make_node(op_type, ["x"], ["y"], name="cut")
    with pytest.raises(ModelImportError, match=f"'cut'.*{message} is missing"):
        ziggurat.from_onnx(one_node(node, [2, 3]))


def test_conv_with_a_weight_of_the_wrong_rank() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    with pytest.raises(ModelImportError, match=r"'conv'.*weight \[3\] must have the rank"):
        ziggurat.from_onnx(one_node(node, [1, 3, 6, 6], w=f32(3)))


@pytest.mark.parametrize(
    "op_type, attrs, message",
    [
        ("Conv", {"strides": [0, 1]}, r"strides \[0, 1\] must all be 1 or more"),
        ("Conv", {"pads": [0, -2, 0, 0]}, r"pads \[0, -2, 0, 0\] must all be 0 or more"),
        ("Conv", {"dilations": [1]}, r"dilations \[1\] must have 2 entries"),
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 0]}, r"strides \[2, 0\]"),
    ],
)
def test_window_attributes_out_of_range(op_type: str, attrs: dict, message: str) -> None:
    inputs = ["x", "w"] if op_type == "Conv" else ["x"]
    node = helper.make_node(op_type, inputs, ["y"], name="window", **attrs)
    with pytest.raises(ModelImportError, match=f"'window'.*{message}"):
        ziggurat.from_onnx(one_node(node, [1, 2, 6, 6], w=f32(3, 2, 3, 3)))


def test_reshape_copying_a_dim_the_input_lacks() -> None:
    """The fuzzers' `IndexError: tuple index out of range`: a 0 in Reshape's shape copies
    the input's dim at that place, which a rank-2 input does not have at 3."""
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")
    with pytest.raises(ModelImportError, match=r"copies dim 3 \(a 0\), but the input \[2, 3\]"):
        ziggurat.from_onnx(one_node(node, [2, 3], shape=i64(1, 1, 6, 0)))


def test_unsqueeze_with_repeated_axes() -> None:
    node = helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="unsqueeze")
    with pytest.raises(ModelImportError, match=r"axes \[1, 1\] must be distinct"):
        ziggurat.from_onnx(one_node(node, [2, 3], axes=i64(1, 1)))


def test_squeeze_of_an_axis_past_the_rank() -> None:
    node = helper.make_node("Squeeze", ["x", "axes"], ["y"], name="squeeze")
    with pytest.raises(ModelImportError, match=r"Squeeze axes \[4\] are not dims of \[1, 3\]"):
        ziggurat.from_onnx(one_node(node, [1, 3], axes=i64(4)))


def test_a_node_reading_its_own_output_is_a_cycle() -> None:
    model = mlp_model(1, (4, 8, 3))
    model.graph.node[1].input[0] = model.graph.node[1].output[0]
    with pytest.raises(ModelImportError, match="'/relu0/Relu'.*reads its own output 'relu0_out'"):
        ziggurat.from_onnx(model)


def test_a_node_reading_its_consumers_output_names_the_cycle() -> None:
    """The measured case before the fuzzers: a node made to read its own consumer's output."""
    model = mlp_model(1, (4, 8, 3))
    model.graph.node[0].input[0] = model.graph.node[1].output[0]
    with pytest.raises(
        ModelImportError,
        match="'/fc0/Gemm'.*input 'relu0_out' comes from node '/relu0/Relu', which runs later",
    ):
        ziggurat.from_onnx(model)


def test_a_name_that_is_not_utf8(tmp_path) -> None:
    """A flipped bit in a name made protobuf hand it back as bytes: a TypeError in the
    importer."""
    data = mlp_model(1, (4, 8, 3)).SerializeToString().replace(b"input", b"in\xf0ut")
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelImportError, match=r"NodeProto.input \(b'in\\xf0ut'\) is not UTF-8"):
        ziggurat.from_onnx(path)


@pytest.mark.parametrize(
    "pads, axes, message",
    [
        ([1, 1], None, r"pads \[1, 1\] must have 4 entries"),
        ([1, 1, 1], [1], r"pads \[1, 1, 1\] must have 2 entries"),
        ([1, 1, 1, 1], [1, -1], r"axes \[1, -1\] must be distinct"),
        ([1, 1], [5], r"axes \[5\] must be distinct dims of rank 2"),
    ],
)
def test_pad_with_pads_or_axes_that_do_not_fit(pads, axes, message) -> None:
    inputs = {"pads": i64(*pads), **({"axes": i64(*axes)} if axes else {})}
    names = ["x", "pads", "", "axes"] if axes else ["x", "pads"]
    node = helper.make_node("Pad", names, ["y"], name="pad")
    model = make_model([node], {"x": [2, 3]}, {"y": None}, inputs, opset=18)
    with pytest.raises(ModelImportError, match=f"'pad'.*{message}"):
        ziggurat.from_onnx(model)


def test_transpose_perm_for_another_rank() -> None:
    node = helper.make_node("Transpose", ["x"], ["y"], name="transpose", perm=[0, 2, 1])
    with pytest.raises(ModelImportError, match=r"perm \[0, 2, 1\] is not a permutation"):
        ziggurat.from_onnx(one_node(node, [4, 6]))


def test_concat_of_different_ranks() -> None:
    node = helper.make_node("Concat", ["x", "extra"], ["y"], name="concat", axis=1)
    with pytest.raises(ModelImportError, match=r"one rank, got \[\[1, 3\], \[1, 5, 2\]\]"):
        ziggurat.from_onnx(one_node(node, [1, 3], extra=f32(1, 5, 2)))


@pytest.mark.parametrize(
    "scales, message",
    [
        # float32 1.0 read as int32 (an edited element type): 1065353216 times larger
        ([1, 1, 1065353216, 2], r"needs .* of interpolation weights, over the limit"),
        ([1, 1, 0.1, 1], r"gives \[1, 1, 0, 6\], which has an empty dim"),
    ],
)
def test_resize_to_sizes_that_cannot_be(monkeypatch, scales: list, message: str) -> None:
    monkeypatch.setenv("ZIGGURAT_MEMORY_LIMIT", "64M")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="nearest")
    model = one_node(node, [1, 1, 4, 6], scales=np.array(scales, np.float32))
    with pytest.raises(ModelImportError, match=f"'resize'.*{message}"):
        ziggurat.from_onnx(model)


def test_an_attribute_the_op_does_not_take() -> None:
    """Squeeze has no `axes` attribute since opset 13; a float one was a TypeError."""
    node = helper.make_node("Squeeze", ["x"], ["y"], name="squeeze", axes=0.5)
    with pytest.raises(ModelImportError, match=r"has attribute\(s\) \['axes'\], which Squeeze"):
        ziggurat.from_onnx(one_node(node, [1, 3]))


def test_shape_without_its_input() -> None:
    nodes = [
        helper.make_node("Shape", [], ["s"], name="shape"),
        helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape"),
    ]
    model = make_model(nodes, {"x": [1, 3]}, {"y": None})
    with pytest.raises(ModelImportError, match="'shape'.*required input 0 is missing"):
        ziggurat.from_onnx(model)
