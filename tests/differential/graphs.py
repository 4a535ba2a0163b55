"""A builder of small ONNX graphs that keeps track of each value's shape and dtype, so a
strategy can choose the next op from what the current value allows.

Graph inputs are fed at run time (values drawn from a seeded generator), weights and other
constant operands are initializers, as exporters write them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSETS = (12, 14, 17, 20)
"""The opsets graphs are drawn at: before 13 Squeeze, Unsqueeze, Split and ReduceSum take
attributes where later ones take inputs (and Softmax flattens to 2-D); HardSwish from 14,
LayerNormalization from 17, Gelu from 20."""

Draw = Callable[..., object]
"""What hypothesis hands a composite strategy to draw values with."""

MAX_ELEMENTS = 40_000
"""The largest value a graph makes, which keeps each build and run quick."""


class TooLarge(Exception):
    """A drawn op would make a value larger than MAX_ELEMENTS (or an empty one, or none)."""


@dataclass(frozen=True)
class Value:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype.kind == "f"


@dataclass
class GraphCase:
    """A model, the arrays to feed it and the tolerance its float outputs are compared with."""

    model: onnx.ModelProto
    feeds: dict[str, np.ndarray]
    op_types: list[str]
    tolerance: float

    @property
    def label(self) -> str:
        return " -> ".join(self.op_types)


@dataclass
class GraphBuilder:
    """Nodes, initializers and inputs of a graph under construction; `values` are all values
    made so far (candidates for residual connections)."""

    opset: int
    rng: np.random.Generator
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    inputs: list[onnx.ValueInfoProto] = field(default_factory=list)
    feeds: dict[str, np.ndarray] = field(default_factory=dict)
    values: list[Value] = field(default_factory=list)
    longest_accumulation: int = 1
    accumulating_ops: int = 0
    _count: int = 0

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def input(
        self, shape: tuple[int, ...], dtype: np.dtype, feed: np.ndarray | None = None
    ) -> Value:
        """A graph input, fed `feed` or values drawn for its dtype."""
        value = Value(self.fresh("input"), shape, np.dtype(dtype))
        self.inputs.append(
            helper.make_tensor_value_info(
                value.name, helper.np_dtype_to_tensor_dtype(value.dtype), list(shape)
            )
        )
        self.feeds[value.name] = self.random(shape, value.dtype) if feed is None else feed
        self.values.append(value)
        return value

    def random(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        if np.dtype(dtype).kind == "f":
            return self.rng.standard_normal(shape).astype(dtype)
        return self.rng.integers(-20, 21, size=shape).astype(dtype)

    def constant(self, array: np.ndarray, prefix: str = "const") -> str:
        name = self.fresh(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, shape: tuple[int, ...], scale: float = 1.0) -> str:
        return self.constant((self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def ints(self, values: list[int]) -> str:
        return self.constant(np.array(values, dtype=np.int64), "ints")

    def node(
        self,
        op_type: str,
        inputs: list[str],
        shape: tuple[int, ...],
        dtype: np.dtype,
        accumulation: int = 1,
        **attributes: object,
    ) -> Value:
        """Appends a node with one output of the given shape and dtype; `accumulation` is the
        length of the longest sum it makes, which widens the tolerance."""
        if int(np.prod(shape)) > MAX_ELEMENTS or min(shape, default=1) < 1:
            raise TooLarge(op_type, shape)
        value = Value(self.fresh(op_type.lower()), tuple(shape), np.dtype(dtype))
        self.nodes.append(helper.make_node(op_type, inputs, [value.name], **attributes))
        self.values.append(value)
        self.note_accumulation(accumulation)
        return value

    def inferred(
        self, op_type: str, inputs: list[str], dtype: np.dtype, **attributes: object
    ) -> Value:
        """Like `node`, with the output shape from onnx's shape inference (for attributes
        such as auto_pad and ceil_mode, whose arithmetic is best not repeated here)."""
        probe = helper.make_node(op_type, inputs, ["probe"], **attributes)
        graph = helper.make_graph([*self.nodes, probe], "probe", self.inputs, [], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        except onnx.shape_inference.InferenceError as err:  # a window larger than its input
            raise TooLarge(op_type, str(err)) from err
        [info] = [v for v in inferred.graph.value_info if v.name == "probe"]
        shape = tuple(d.dim_value for d in info.type.tensor_type.shape.dim)
        return self.node(op_type, inputs, shape, dtype, **attributes)

    def note_accumulation(self, length: int) -> None:
        if length > 1:
            self.longest_accumulation = max(self.longest_accumulation, length)
            self.accumulating_ops += 1

    @property
    def tolerance(self) -> float:
        """1e-4, widened for sums: by sqrt(K) / 4 for the longest K (rounding errors of a sum
        of K products grow like sqrt(K)), and by half the number of sums in the graph, whose
        errors compound along a chain (six 3x3 convolutions of 16 channels with batch norms
        between them differ from onnxruntime's by 1e-3 of their largest output)."""
        widest = max(1.0, float(np.sqrt(self.longest_accumulation)) / 4)
        return 1e-4 * widest * max(1.0, self.accumulating_ops / 2)

    def case(self, outputs: list[Value]) -> GraphCase:
        graph = helper.make_graph(
            self.nodes,
            "differential",
            self.inputs,
            [
                helper.make_tensor_value_info(
                    v.name, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)
                )
                for v in outputs
            ],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return GraphCase(
            model=model,
            feeds=dict(self.feeds),
            op_types=[n.op_type for n in self.nodes],
            tolerance=self.tolerance,
        )


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in np.broadcast_shapes(a, b))


OpBuilder = Callable[[Draw, GraphBuilder, Value], Value]
"""Appends one op (or a small group) to a graph and returns the value it makes."""
