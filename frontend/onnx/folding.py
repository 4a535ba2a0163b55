"""Import-time constant folding: a node whose inputs are all known at import time is evaluated
with onnx's reference implementation, at the model's opset, and its outputs become constants.

This is what makes exporters' shape subgraphs (Shape -> Gather -> Concat -> Reshape,
ConstantOfShape, Range, Expand of constants) and weights computed from constants disappear
once the input shapes are fixed. Ops that make a tensor far larger than their inputs
(ConstantOfShape, Expand, Tile, Range) have their result's size checked against the memory
limit before they are evaluated, so a shape of 2**40 is one clear error, not an allocation.
"""

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from ziggurat.runtime.limits import limit_text, memory_limit, size_text

NEVER_FOLDED = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
}
"""Ops whose outputs are not determined by their inputs."""

KEPT_FOR_THE_GRAPH = {"QuantizeLinear", "DequantizeLinear"}
"""Ops on constants that still become graph ops: a weight's dequantization is what
graph-fuse-qdq turns into an integer product (graph-fold-constants folds it otherwise)."""


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(attr.HasField("g") or len(attr.graphs) for attr in node.attribute)


def can_fold(node: onnx.NodeProto, known: Sequence[bool]) -> bool:
    """Whether onnx's evaluator computes the node at import: every input known, and no
    subgraph (If, Loop, Scan: their converters fold an If on a known condition; a loop is
    compiled, since the evaluator would not see the outer scope and runs every iteration in
    Python)."""
    return (
        node.op_type not in NEVER_FOLDED | KEPT_FOR_THE_GRAPH
        and all(known)
        and node.domain in ("", "ai.onnx")
        and not _has_subgraph(node)
    )


def _elements(shape: Sequence[int]) -> int:
    count = 1
    for dim in shape:
        count *= max(int(dim), 0)
    return count


def _grown_elements(node: onnx.NodeProto, inputs: Sequence[np.ndarray | None]) -> int | None:
    """How many elements the node's first output will have, for the ops whose output size is
    set by their input values rather than their input sizes; None for any other op."""
    first = np.asarray(inputs[0]) if inputs and inputs[0] is not None else None
    second = np.asarray(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None
    if first is None:
        return None
    if node.op_type == "ConstantOfShape":
        return _elements(first.reshape(-1).tolist())
    if node.op_type == "Expand" and second is not None:
        target = [int(d) for d in second.reshape(-1).tolist()]
        rank = max(first.ndim, len(target))
        padded = [1] * (rank - first.ndim) + list(first.shape)
        target = [1] * (rank - len(target)) + target
        return _elements([max(a, b) for a, b in zip(padded, target, strict=True)])
    if node.op_type == "Tile" and second is not None:
        repeats = [int(r) for r in second.reshape(-1).tolist()]
        return first.size * _elements(repeats)
    if node.op_type == "Range" and second is not None and len(inputs) > 2:
        delta = np.asarray(inputs[2]).reshape(-1)
        if delta.size == 1 and float(delta[0]) != 0:
            span = (float(second.reshape(-1)[0]) - float(first.reshape(-1)[0])) / float(delta[0])
            return max(int(np.ceil(span)), 0) if np.isfinite(span) else None
    return None


def fold_size_problem(node: onnx.NodeProto, inputs: Sequence[np.ndarray | None]) -> str | None:
    """Why folding `node` must not be tried, if its result would exceed the memory limit
    (counting 8 bytes an element, the widest type these ops produce here)."""
    elements = _grown_elements(node, inputs)
    limit = memory_limit()
    if elements is None or limit is None or elements * 8 <= limit:
        return None
    return (
        f"its result would have {elements:,} elements (up to {size_text(elements * 8)}), over "
        f"the limit of {limit_text(limit)}"
    )


def fold(node: onnx.NodeProto, inputs: Sequence[np.ndarray | None], opset: int) -> list[np.ndarray]:
    """The node's outputs for constant `inputs` (None for omitted optional inputs)."""
    names = [
        name for name, value in zip(node.input, inputs, strict=True) if name and value is not None
    ]
    feeds = {
        name: np.asarray(value)
        for name, value in zip(node.input, inputs, strict=True)
        if name and value is not None
    }
    graph = helper.make_graph(
        [node],
        "fold",
        [
            helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(feeds[name].dtype), feeds[name].shape
            )
            for name in dict.fromkeys(names)
        ],
        [helper.make_empty_tensor_value_info(name) for name in node.output if name],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    outputs = ReferenceEvaluator(model).run(None, feeds)
    return [np.asarray(value) for value in outputs]
