"""Small ONNX models with If, Loop and Scan, built with onnx.helper, for the control-flow tests."""

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

OPSET = [h.make_opsetid("", 17)]


def tensor(name: str, elem: int, shape: list[int | None] | None) -> onnx.ValueInfoProto:
    return h.make_tensor_value_info(name, elem, shape)


def loop_with_early_exit() -> onnx.ModelProto:
    """for i < 6 while sum(s) < 10: s += x; scan out s. Ends early for large x."""
    body = h.make_graph(
        [
            h.make_node("Add", ["s_in", "x"], ["s_out"]),
            h.make_node("ReduceSum", ["s_out"], ["total"], keepdims=0),
            h.make_node("Sub", ["limit", "total"], ["room"]),
            h.make_node("Relu", ["room"], ["left"]),
            h.make_node("Cast", ["left"], ["c_out"], to=T.BOOL),
            h.make_node("Identity", ["s_out"], ["row"]),
        ],
        "body",
        [tensor("i", T.INT64, []), tensor("c_in", T.BOOL, []), tensor("s_in", T.FLOAT, [3])],
        [tensor("c_out", T.BOOL, []), tensor("s_out", T.FLOAT, [3]), tensor("row", T.FLOAT, [3])],
        [h.make_tensor("limit", T.FLOAT, [], [10.0])],
    )
    graph = h.make_graph(
        [h.make_node("Loop", ["M", "", "s0"], ["s", "rows"], body=body, name="loop")],
        "early_exit",
        [tensor("x", T.FLOAT, [3]), tensor("s0", T.FLOAT, [3])],
        [tensor("s", T.FLOAT, [3]), tensor("rows", T.FLOAT, [None, 3])],
        [h.make_tensor("M", T.INT64, [], [6])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def loop_slicing_its_iteration() -> onnx.ModelProto:
    """for i < 4: y += table[i : i + 1] (a slice at the iteration number, as Loop's ONNX
    example does); scan out y."""
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    body = h.make_graph(
        [
            h.make_node("Unsqueeze", ["i", "axis"], ["start"]),
            h.make_node("Add", ["start", "one"], ["end"]),
            h.make_node("Slice", ["table", "start", "end"], ["row"]),
            h.make_node("Reshape", ["row", "flat"], ["flat_row"]),
            h.make_node("Add", ["y_in", "flat_row"], ["y_out"]),
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Identity", ["y_out"], ["scan"]),
        ],
        "body",
        [tensor("i", T.INT64, []), tensor("c_in", T.BOOL, []), tensor("y_in", T.FLOAT, [2])],
        [tensor("c_out", T.BOOL, []), tensor("y_out", T.FLOAT, [2]), tensor("scan", T.FLOAT, [2])],
        [
            h.make_tensor("axis", T.INT64, [1], [0]),
            h.make_tensor("one", T.INT64, [1], [1]),
            h.make_tensor("flat", T.INT64, [1], [2]),
            h.make_tensor("table", T.FLOAT, [6, 2], table.reshape(-1).tolist()),
        ],
    )
    graph = h.make_graph(
        [h.make_node("Loop", ["M", "", "y"], ["y_final", "ys"], body=body, name="loop")],
        "slice_at_iteration",
        [tensor("y", T.FLOAT, [2])],
        [tensor("y_final", T.FLOAT, [2]), tensor("ys", T.FLOAT, [None, 2])],
        [h.make_tensor("M", T.INT64, [], [4])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def loop_with_outer_values(body_inputs: int = 4) -> onnx.ModelProto:
    """A runtime trip count; the body reads w (computed outside the loop) and carries a, b."""
    inputs = [
        tensor("i", T.INT64, []),
        tensor("c_in", T.BOOL, []),
        tensor("a_in", T.FLOAT, [2, 3]),
        tensor("b_in", T.FLOAT, [3]),
    ][:body_inputs]
    body = h.make_graph(
        [
            h.make_node("MatMul", ["a_in", "w"], ["m"]),
            h.make_node("Tanh", ["m"], ["a_out"]),
            h.make_node("ReduceMean", ["a_out"], ["r"], axes=[0], keepdims=0),
            h.make_node("Add", ["b_in", "r"], ["b_out"]),
            h.make_node("Identity", ["c_in"], ["c_out"]),
        ],
        "body",
        inputs,
        [
            tensor("c_out", T.BOOL, []),
            tensor("a_out", T.FLOAT, [2, 3]),
            tensor("b_out", T.FLOAT, [3]),
        ],
    )
    graph = h.make_graph(
        [
            h.make_node("Mul", ["w0", "k"], ["w"]),
            h.make_node("Loop", ["M", "", "a0", "b0"], ["a", "b"], body=body, name="loop"),
        ],
        "outer_values",
        [
            tensor("M", T.INT64, []),
            tensor("a0", T.FLOAT, [2, 3]),
            tensor("b0", T.FLOAT, [3]),
            tensor("w0", T.FLOAT, [3, 3]),
        ],
        [tensor("a", T.FLOAT, [2, 3]), tensor("b", T.FLOAT, [3])],
        [h.make_tensor("k", T.FLOAT, [], [0.5])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def if_on_input_size(else_shape: tuple[int, ...] = (2, 3)) -> onnx.ModelProto:
    """relu(x) * 2 if x has 6 elements, else -x; then sigmoid. x is [2, 3]: folds."""
    then_branch = h.make_graph(
        [h.make_node("Relu", ["x"], ["t0"]), h.make_node("Mul", ["t0", "two"], ["t"])],
        "then",
        [],
        [tensor("t", T.FLOAT, [2, 3])],
        [h.make_tensor("two", T.FLOAT, [], [2.0])],
    )
    else_nodes = [h.make_node("Neg", ["x"], ["e"])]
    if else_shape != (2, 3):
        else_nodes.append(
            h.make_node("Reshape", ["e", "shape"], ["e2"]),
        )
    else_branch = h.make_graph(
        else_nodes,
        "else",
        [],
        [tensor("e" if else_shape == (2, 3) else "e2", T.FLOAT, list(else_shape))],
        [h.make_tensor("shape", T.INT64, [len(else_shape)], list(else_shape))],
    )
    graph = h.make_graph(
        [
            h.make_node("Size", ["x"], ["n"]),
            h.make_node("Equal", ["n", "six"], ["c"]),
            h.make_node("If", ["c"], ["r"], then_branch=then_branch, else_branch=else_branch),
            h.make_node("Sigmoid", ["r"], ["out"]),
        ],
        "if_size",
        [tensor("x", T.FLOAT, [2, 3])],
        [tensor("out", T.FLOAT, [2, 3])],
        [h.make_tensor("six", T.INT64, [], [6])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def if_on_runtime_bool(else_shape: tuple[int, ...] = (4,)) -> onnx.ModelProto:
    """relu(a) + y or relu(a) * y by a boolean input (each scaled by y once more), then
    sigmoid."""
    then_branch = h.make_graph(
        [h.make_node("Add", ["x", "y"], ["t0"]), h.make_node("Mul", ["t0", "y"], ["t"])],
        "then",
        [],
        [tensor("t", T.FLOAT, [4])],
    )
    else_nodes = [h.make_node("Mul", ["x", "y"], ["e0"]), h.make_node("Mul", ["e0", "y"], ["e"])]
    if else_shape != (4,):
        else_nodes.append(h.make_node("Reshape", ["e", "shape"], ["e2"]))
    else_branch = h.make_graph(
        else_nodes,
        "else",
        [],
        [tensor("e" if else_shape == (4,) else "e2", T.FLOAT, list(else_shape))],
        [h.make_tensor("shape", T.INT64, [len(else_shape)], list(else_shape))],
    )
    graph = h.make_graph(
        [
            h.make_node("Relu", ["a"], ["x"]),
            h.make_node(
                "If", ["c"], ["r"], then_branch=then_branch, else_branch=else_branch, name="choose"
            ),
            h.make_node("Sigmoid", ["r"], ["out"]),
        ],
        "if_runtime",
        [tensor("a", T.FLOAT, [4]), tensor("y", T.FLOAT, [4]), tensor("c", T.BOOL, [])],
        [tensor("out", T.FLOAT, [4])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def scan_reverse_on_axis_1() -> onnx.ModelProto:
    """A running sum over the columns of x [2, 5] from the last, outputs prepended on axis 1."""
    body = h.make_graph(
        [h.make_node("Add", ["s_in", "xi"], ["s_out"]), h.make_node("Mul", ["s_out", "xi"], ["y"])],
        "body",
        [tensor("s_in", T.FLOAT, [2]), tensor("xi", T.FLOAT, [2])],
        [tensor("s_out", T.FLOAT, [2]), tensor("y", T.FLOAT, [2])],
    )
    scan = h.make_node(
        "Scan",
        ["s0", "x"],
        ["s", "ys"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[1],
        scan_input_directions=[1],
        scan_output_axes=[-1],
        scan_output_directions=[1],
    )
    graph = h.make_graph(
        [scan],
        "scan",
        [tensor("s0", T.FLOAT, [2]), tensor("x", T.FLOAT, [2, 5])],
        [tensor("s", T.FLOAT, [2]), tensor("ys", T.FLOAT, [2, 5])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def if_inside_loop() -> onnx.ModelProto:
    """for i in 0..4: s = s + x when i is even, else s * 0.5."""
    then_branch = h.make_graph(
        [h.make_node("Add", ["s_in", "x"], ["t"])], "then", [], [tensor("t", T.FLOAT, [3])]
    )
    else_branch = h.make_graph(
        [h.make_node("Mul", ["s_in", "half"], ["e"])],
        "else",
        [],
        [tensor("e", T.FLOAT, [3])],
        [h.make_tensor("half", T.FLOAT, [], [0.5])],
    )
    body = h.make_graph(
        [
            h.make_node("Mod", ["i", "two"], ["r"]),
            h.make_node("Equal", ["r", "zero"], ["even"]),
            h.make_node(
                "If", ["even"], ["s_out"], then_branch=then_branch, else_branch=else_branch
            ),
            h.make_node("Identity", ["c_in"], ["c_out"]),
        ],
        "body",
        [tensor("i", T.INT64, []), tensor("c_in", T.BOOL, []), tensor("s_in", T.FLOAT, [3])],
        [tensor("c_out", T.BOOL, []), tensor("s_out", T.FLOAT, [3])],
        [h.make_tensor("two", T.INT64, [], [2]), h.make_tensor("zero", T.INT64, [], [0])],
    )
    graph = h.make_graph(
        [h.make_node("Loop", ["M", "", "s0"], ["s"], body=body)],
        "nested",
        [tensor("x", T.FLOAT, [3]), tensor("s0", T.FLOAT, [3])],
        [tensor("s", T.FLOAT, [3])],
        [h.make_tensor("M", T.INT64, [], [5])],
    )
    return h.make_model(graph, opset_imports=OPSET)


def random(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)
