"""The state converters build with while an ONNX graph is imported."""

import re

import numpy as np
import onnx
from xdsl.ir import Block, SSAValue

from ziggurat.core.errors import ModelImportError, UnsupportedOpError
from ziggurat.dialects import graph

INLINE_CONSTANT_LIMIT = 16
"""Constant tensors up to this many elements are written inline as graph.constant."""


SSA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$.]*")


def ssa_name(onnx_name: str) -> str | None:
    """The ONNX name as an IR value name when it is a valid one, for readable IR."""
    return onnx_name if SSA_NAME.fullmatch(onnx_name) else None


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


class ImportContext:
    """What converters build with: the values by ONNX name, known constant tensors, the
    params store, and where the current node is (for error messages)."""

    def __init__(self, block: Block, opset: int):
        self.block = block
        self.opset = opset
        self.values: dict[str, SSAValue] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.params: dict[str, np.ndarray] = {}
        self.node_label = ""
        self.node_name = ""
        self.node_op = ""
        self.checks: list[tuple[SSAValue, str]] = []
        """Values that must stay zero, each with what it means when it is not: the model's
        hidden outputs that the runtime checks after each run (runtime/execution.py)."""
        self.row_counts: dict[SSAValue, SSAValue] = {}
        """A count of the leading rows each of these values holds after a run (a Loop's scan
        output when the loop may end early): a graph output among them gets a hidden output
        with its count, so the runtime returns those rows (runtime/execution.py)."""
        self.producers: dict[str, str] = {}
        """The label of the node that outputs each tensor, to say where a value read too early
        comes from."""

    def error(self, message: str) -> ModelImportError:
        return ModelImportError(f"node {self.node_label}: {message}")

    def unsupported(self, message: str) -> UnsupportedOpError:
        """An error for a feature of the current node that Ziggurat does not support."""
        return UnsupportedOpError({self.node_op: [self.node_name]}, message)

    def constant(self, name: str) -> np.ndarray | None:
        """The value of tensor `name` if it is known at import time."""
        return self.constants.get(name)

    def input(self, node: onnx.NodeProto, index: int) -> SSAValue | None:
        """The node's input `index` as a value, or None when omitted (optional inputs)."""
        if index >= len(node.input) or not node.input[index]:
            return None
        return self.value(node.input[index])

    def constant_input(self, node: onnx.NodeProto, index: int) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        return self.constant(node.input[index])

    def shape(self, name: str) -> tuple[int, ...]:
        """The static shape of tensor `name`, known or computed."""
        if name in self.constants:
            return tuple(self.constants[name].shape)
        return graph.tensor_shape(self.value(name))

    def value(self, name: str) -> SSAValue:
        """The SSA value of tensor `name`; constants become weights or inline constants."""
        if name in self.values:
            return self.values[name]
        array = self.constants.get(name)
        if array is None:
            producer = self.producers.get(name)
            if producer == self.node_name:
                raise self.error(f"reads its own output {name!r}: the graph has a cycle")
            if producer is not None:
                raise self.error(
                    f"input {name!r} comes from node {producer!r}, which runs later: the graph "
                    "has a cycle or its nodes are not in topological order"
                )
            raise self.error(f"input {name!r} is not produced by any earlier node or input")
        self.values[name] = self.tensor(array, name)
        return self.values[name]

    def tensor(self, array: np.ndarray, name: str) -> SSAValue:
        """A graph value holding `array`: inline when tiny, else a weight in the params."""
        element = graph.element_type_for(array.dtype)
        if element is None:
            raise self.unsupported(
                f"its tensor {name!r} is {array.dtype}, which Ziggurat does not support"
            )
        if array.size <= INLINE_CONSTANT_LIMIT:
            attr = graph.dense_tensor(element, array.shape, array.reshape(-1).tolist())
            return graph.ConstantOp(attr).result
        param_name = name
        while param_name in self.params and self.params[param_name] is not array:
            param_name += "_"
        self.params[param_name] = np.ascontiguousarray(array)
        weight = graph.WeightOp(param_name, graph.tensor_of(array.shape, element)).result
        weight.name_hint = ssa_name(param_name)
        return weight


def required(ctx: ImportContext, node: onnx.NodeProto, index: int) -> SSAValue:
    """The node's input `index`, which the op requires."""
    value = ctx.input(node, index)
    if value is None:
        raise ctx.error(f"required input {index} is missing")
    return value
