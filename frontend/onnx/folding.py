"""Import-time constant folding: a node whose inputs are all known at import time is evaluated
with onnx's reference implementation, at the model's opset, and its outputs become constants.

This is what makes exporters' shape subgraphs (Shape -> Gather -> Concat -> Reshape,
ConstantOfShape, Range, Expand of constants) and weights computed from constants disappear
once the input shapes are fixed.
"""

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

NEVER_FOLDED = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
}
"""Ops whose outputs are not determined by their inputs."""


def can_fold(node: onnx.NodeProto, known: Sequence[bool]) -> bool:
    return node.op_type not in NEVER_FOLDED and all(known) and node.domain in ("", "ai.onnx")


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
