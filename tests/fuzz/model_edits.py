"""Hypothesis strategies for damaged ONNX models: structured edits (dims, attributes, op
types and domains, element types, wiring, initializers, the opset) of the seed models, and
raw byte damage of their serialized protobufs."""

import onnx
from hypothesis import strategies as st

from .seeds import SEED_MODELS, seed_model_bytes
from .strategies import Case, byte_edits

HOSTILE_DIMS = (0, -1, -7, 1, 2, 3, 5, 2**31, 2**40, 2**62)
HOSTILE_INTS = (0, -1, 1, 2, 3, 7, -(2**31), 2**40, 2**63 - 1)
OP_TYPES = (
    "Relu", "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "Add", "Mul", "Softmax",
    "Reshape", "Transpose", "Concat", "Flatten", "BatchNormalization", "Identity", "Split",
    "Slice", "Gather", "ReduceMean", "Squeeze", "Unsqueeze", "Resize", "Cast", "Shape",
    "Constant", "ConstantOfShape", "Expand", "Pad", "Where", "Clip", "GlobalAveragePool",
    "Frobnicate", "",
)  # fmt: skip
DOMAINS = ("", "ai.onnx", "com.microsoft", "ai.onnx.ml", "evil.domain")


def _any_value_info(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    return [*model.graph.input, *model.graph.output, *model.graph.value_info]


def _edit_dims(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    targets = [v for v in _any_value_info(model) if v.type.tensor_type.shape.dim]
    tensors = list(model.graph.initializer)
    if draw(st.booleans()) and targets:
        info = draw(st.sampled_from(targets))
        dims = info.type.tensor_type.shape.dim
        axis = draw(st.integers(0, len(dims) - 1))
        choice = draw(st.sampled_from(("value", "param", "drop", "add")))
        if choice == "value":
            dims[axis].dim_value = draw(st.sampled_from(HOSTILE_DIMS))
            steps.append(f"dim {axis} of {info.name!r} = {dims[axis].dim_value}")
        elif choice == "param":
            dims[axis].dim_param = "N"
            steps.append(f"dim {axis} of {info.name!r} symbolic")
        elif choice == "drop":
            del dims[axis]
            steps.append(f"drop dim {axis} of {info.name!r}")
        else:
            dims.add().dim_value = draw(st.sampled_from(HOSTILE_DIMS))
            steps.append(f"add a dim to {info.name!r}")
    elif tensors:
        tensor = draw(st.sampled_from(tensors))
        if tensor.dims:
            axis = draw(st.integers(0, len(tensor.dims) - 1))
            tensor.dims[axis] = draw(st.sampled_from(HOSTILE_DIMS))
            steps.append(f"initializer {tensor.name!r} dim {axis} = {tensor.dims[axis]}")
        else:
            tensor.dims.append(draw(st.sampled_from(HOSTILE_DIMS)))
            steps.append(f"initializer {tensor.name!r} gains a dim")


def _attribute_value(draw: st.DrawFn, name: str) -> onnx.AttributeProto:
    kind = draw(st.sampled_from(("int", "ints", "float", "string", "floats", "empty_ints")))
    if kind == "int":
        return onnx.helper.make_attribute(name, draw(st.sampled_from(HOSTILE_INTS)))
    if kind == "ints":
        values = draw(st.lists(st.sampled_from(HOSTILE_INTS), min_size=1, max_size=6))
        return onnx.helper.make_attribute(name, values)
    if kind == "float":
        value = draw(st.sampled_from((0.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"))))
        return onnx.helper.make_attribute(name, value)
    if kind == "floats":
        return onnx.helper.make_attribute(name, [0.5, float("nan")])
    if kind == "string":
        value = draw(st.sampled_from(("SAME_UPPER", "VALID", "NOTSET", "bogus", "")))
        return onnx.helper.make_attribute(name, value)
    return onnx.AttributeProto(name=name, type=onnx.AttributeProto.INTS)


ATTRIBUTE_NAMES = (
    "axis", "axes", "pads", "strides", "kernel_shape", "dilations", "group", "transA", "transB",
    "alpha", "beta", "perm", "epsilon", "keepdims", "auto_pad", "ceil_mode", "mode", "to",
    "value", "split", "allowzero", "starts", "ends",
)  # fmt: skip


def _edit_attribute(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    node = draw(st.sampled_from(list(model.graph.node)))
    label = node.name or node.op_type
    if node.attribute and draw(st.booleans()):
        index = draw(st.integers(0, len(node.attribute) - 1))
        name = node.attribute[index].name
        if draw(st.booleans()):
            del node.attribute[index]
            steps.append(f"remove attribute {name} of {label}")
            return
        node.attribute[index].CopyFrom(_attribute_value(draw, name))
        steps.append(f"attribute {name} of {label} = {node.attribute[index]}".replace("\n", " "))
        return
    name = draw(st.sampled_from(ATTRIBUTE_NAMES))
    node.attribute.append(_attribute_value(draw, name))
    steps.append(f"add attribute {name} to {label}")


def _edit_op(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    node = draw(st.sampled_from(list(model.graph.node)))
    if draw(st.integers(0, 4)) == 0:
        node.domain = draw(st.sampled_from(DOMAINS))
        steps.append(f"domain of {node.name} = {node.domain!r}")
    else:
        node.op_type = draw(st.sampled_from(OP_TYPES))
        steps.append(f"op of {node.name} = {node.op_type!r}")


def _edit_dtype(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    dtype = draw(st.sampled_from((0, 2, 3, 6, 7, 8, 9, 10, 11, 13, 16, 17, 21, 23, 25, 99, -3)))
    infos, tensors = _any_value_info(model), list(model.graph.initializer)
    if infos and (draw(st.booleans()) or not tensors):
        info = draw(st.sampled_from(infos))
        info.type.tensor_type.elem_type = dtype
        steps.append(f"dtype of {info.name!r} = {dtype}")
    elif tensors:
        tensor = draw(st.sampled_from(tensors))
        tensor.data_type = dtype
        steps.append(f"dtype of initializer {tensor.name!r} = {dtype}")


def _edit_wiring(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    """Cycles, self-loops, dangling and duplicate names, inputs and outputs added or lost."""
    nodes = model.graph.node
    index = draw(st.integers(0, len(nodes) - 1))
    node = nodes[index]
    produced = [name for n in nodes for name in n.output] + [v.name for v in model.graph.input]
    kind = draw(
        st.sampled_from(
            ("cycle", "self", "dangling", "duplicate", "drop_input", "add_input", "no_output")
        )
    )
    later = [name for n in nodes[index:] for name in n.output]
    if kind == "cycle" and node.input and later:
        slot = draw(st.integers(0, len(node.input) - 1))
        node.input[slot] = draw(st.sampled_from(later))
        steps.append(f"{node.name} input {slot} = later output {node.input[slot]!r}")
    elif kind == "self" and node.input and node.output:
        node.input[0] = node.output[0]
        steps.append(f"{node.name} reads its own output")
    elif kind == "dangling" and node.input:
        slot = draw(st.integers(0, len(node.input) - 1))
        node.input[slot] = draw(st.sampled_from(("nowhere", "", "../x")))
        steps.append(f"{node.name} input {slot} = {node.input[slot]!r}")
    elif kind == "duplicate" and node.output and produced:
        node.output[0] = draw(st.sampled_from(produced))
        steps.append(f"{node.name} output = {node.output[0]!r}")
    elif kind == "drop_input" and node.input:
        del node.input[draw(st.integers(0, len(node.input) - 1))]
        steps.append(f"{node.name} loses an input")
    elif kind == "add_input":
        node.input.append(draw(st.sampled_from([*produced, "", "nowhere"])))
        steps.append(f"{node.name} gains input {node.input[-1]!r}")
    else:
        del node.output[:]
        steps.append(f"{node.name} has no outputs")


def _edit_graph(draw: st.DrawFn, model: onnx.ModelProto, steps: list[str]) -> None:
    """Initializers, nodes, graph outputs and the opset removed, doubled or renamed."""
    graph = model.graph
    kind = draw(
        st.sampled_from(
            ("drop_init", "drop_node", "dup_node", "output", "opset", "dup_output", "no_input")
        )
    )
    if kind == "drop_init" and graph.initializer:
        index = draw(st.integers(0, len(graph.initializer) - 1))
        steps.append(f"remove initializer {graph.initializer[index].name!r}")
        del graph.initializer[index]
    elif kind == "drop_node" and len(graph.node) > 1:
        index = draw(st.integers(0, len(graph.node) - 1))
        steps.append(f"remove node {graph.node[index].name}")
        del graph.node[index]
    elif kind == "dup_node":
        index = draw(st.integers(0, len(graph.node) - 1))
        graph.node.append(graph.node[index])
        steps.append(f"repeat node {graph.node[index].name}")
    elif kind == "output" and graph.output:
        names = ["nowhere", "", *(v.name for v in graph.input)]
        graph.output[0].name = draw(st.sampled_from(names))
        steps.append(f"graph output = {graph.output[0].name!r}")
    elif kind == "opset":
        model.opset_import[0].version = draw(st.sampled_from((1, 6, 9, 11, 13, 99, -1)))
        steps.append(f"opset = {model.opset_import[0].version}")
    elif kind == "dup_output" and graph.output:
        graph.output.append(graph.output[0])
        steps.append("graph output listed twice")
    else:
        del graph.input[:]
        steps.append("no graph inputs")


ONNX_EDITS = (_edit_dims, _edit_attribute, _edit_op, _edit_dtype, _edit_wiring, _edit_graph)


@st.composite
def onnx_models(draw: st.DrawFn, seeds: tuple[str, ...] = tuple(SEED_MODELS)) -> Case:
    """A seed model with a few structured edits, then sometimes raw byte damage."""
    seed = draw(st.sampled_from(seeds))
    model = onnx.load_from_string(seed_model_bytes(seed))
    steps = [seed]
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(ONNX_EDITS))(draw, model, steps)
    data = model.SerializeToString()
    if draw(st.integers(0, 4)) == 0:
        data = byte_edits(draw, data, steps)
    return Case(data, tuple(steps))
