"""Reading and writing constant tensors of the graph: `graph.constant` values and weights."""

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from ziggurat.core.context import fresh_param_name
from ziggurat.dialects import graph

INLINE_LIMIT = 16
"""Constants up to this many elements are written inline; larger ones become weights."""


def constant_value(value: SSAValue, params: dict[str, np.ndarray]) -> np.ndarray | None:
    """The array a graph value holds when it is a constant or a weight in the params store."""
    owner = value.owner
    if isinstance(owner, graph.ConstantOp):
        assert isinstance(value.type, TensorType)
        dtype = next(
            n for n, t in graph.NUMPY_ELEMENT_TYPES.items() if t == value.type.element_type
        )
        return np.array(owner.value.get_values(), dtype=dtype).reshape(graph.tensor_shape(value))
    if isinstance(owner, graph.WeightOp):
        return params.get(owner.weight_name.data)
    return None


def make_constant(array: np.ndarray, params: dict[str, np.ndarray], stem: str) -> Operation:
    """An op producing `array`: inline when tiny, else a new weight in the params store."""
    element = graph.element_type_for(array.dtype)
    assert element is not None
    if array.size <= INLINE_LIMIT:
        return graph.ConstantOp(
            graph.dense_tensor(element, array.shape, array.reshape(-1).tolist())
        )
    name = fresh_param_name(params, stem)
    params[name] = np.ascontiguousarray(array)
    return graph.WeightOp(name, graph.tensor_of(array.shape, element))
