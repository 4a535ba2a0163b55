"""Slice with bounds computed at run time but a static length: ends = starts + c.

A loop body that slices c rows at its iteration number (`Slice(x, i, i + 1)`) has a static
shape although its bounds are runtime values. The ends are traced through the graph IR
(reshapes, an add of a constant) back to the starts' value; the slice becomes a gather of c
consecutive indices from the start, a negative start counting from the end of the dim (as
ONNX's does) and the start clamped so the c entries stay inside it. Where ONNX gives fewer
than c entries (a start within c of the dim's end, or past it), this reads the last c.
"""

import numpy as np
import onnx
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required


def _through_reshapes(value: SSAValue) -> SSAValue:
    while isinstance(value.owner, graph.ReshapeOp):
        value = value.owner.input
    return value


def _splat_int(value: SSAValue) -> int | None:
    owner = _through_reshapes(value).owner
    if isinstance(owner, graph.ConstantOp) and owner.value.is_splat():
        return int(owner.value.get_values()[0])
    return None


def constant_offset(end: SSAValue, start: SSAValue) -> int | None:
    """c when `end` is `start` + c (through reshapes), else None."""
    end, start = _through_reshapes(end), _through_reshapes(start)
    if end is start:
        return 0
    owner = end.owner
    if isinstance(owner, graph.AddOp):
        for term, other in ((owner.lhs, owner.rhs), (owner.rhs, owner.lhs)):
            offset = _splat_int(other)
            if offset is not None and _through_reshapes(term) is start:
                return offset
    return None


def runtime_slice(
    ctx: ImportContext,
    node: onnx.NodeProto,
    x: SSAValue,
    axes: list[int] | None,
    steps: list[int] | None,
) -> SSAValue:
    """Slice(x, starts, ends) for runtime starts and ends = starts + c on one axis, step 1
    (see the module doc); any other runtime bounds are refused."""
    starts, ends = required(ctx, node, 1), required(ctx, node, 2)
    shape = graph.tensor_shape(x)
    count = graph.tensor_shape(starts)
    if count not in ((1,), ()) or (steps is not None and steps != [1]):
        raise ctx.unsupported(
            "its starts are computed at run time; that works for one axis with step 1 and "
            "ends = starts + a constant"
        )
    axis = (axes or [0])[0] % len(shape)
    length = constant_offset(ends, starts)
    if length is None or not 0 < length <= shape[axis]:
        raise ctx.unsupported(
            "its starts are computed at run time and its ends are not the starts plus a "
            f"constant from 1 to {shape[axis]}: the slice's length must be known at build time"
        )
    element = graph.element_type_of(starts)
    dtype = np.int32 if element == graph.element_type_for(np.dtype(np.int32)) else np.int64

    def scalar(value: int, name: str) -> SSAValue:
        return ctx.tensor(np.array(value, dtype), name)

    start = graph.ReshapeOp(starts, ()).result
    wrapped = graph.ModOp(start, scalar(shape[axis], "dim"), truncated=False).result
    first = graph.MinOp(wrapped, scalar(shape[axis] - length, "last_start")).result
    indices = graph.AddOp(
        graph.ReshapeOp(first, (1,)).result, ctx.tensor(np.arange(length, dtype=dtype), "rows")
    ).result
    return graph.GatherOp(x, indices, axis).result
