"""Shape-changing ONNX ops: Flatten, Reshape."""

from typing import Any

import numpy as np
import onnx
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.shapes import num_elements
from ziggurat.errors import UnsupportedOpError
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register


def _reshape(ctx: ImportContext, x: SSAValue, shape: tuple[int, ...]) -> SSAValue:
    return x if graph.tensor_shape(x) == shape else graph.ReshapeOp(x, shape).result


def resolve_reshape(
    source: tuple[int, ...], requested: list[int], allow_zero: bool
) -> tuple[int, ...]:
    """ONNX Reshape's target: 0 copies the input dim (unless allowzero), -1 is inferred."""
    dims = [source[i] if d == 0 and not allow_zero else d for i, d in enumerate(requested)]
    if dims.count(-1) > 1:
        raise ValueError(f"Reshape shape {requested} has more than one -1")
    if -1 in dims:
        known = num_elements([d for d in dims if d != -1])
        total = num_elements(source)
        if known == 0 or total % known:
            raise ValueError(f"cannot reshape {list(source)} into {requested}")
        dims[dims.index(-1)] = total // known
    if any(d < 0 for d in dims) or num_elements(dims) != num_elements(source):
        raise ValueError(f"cannot reshape {list(source)} into {requested}")
    return tuple(dims)


@register("Flatten")
class Flatten(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        shape = graph.tensor_shape(x)
        axis = int(attrs.get("axis", 1))
        if axis < 0:
            axis += len(shape)
        if not 0 <= axis <= len(shape):
            raise ctx.error(
                f"Flatten axis {attrs.get('axis')} is out of range for rank {len(shape)}"
            )
        return [_reshape(ctx, x, (num_elements(shape[:axis]), num_elements(shape[axis:])))]


@register("Reshape")
class Reshape(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        target = resolve_reshape(graph.tensor_shape(x), list(attrs.get("shape", [])), False)
        return [_reshape(ctx, x, target)]

    @classmethod
    def _impl_v5(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        requested = ctx.constant_input(node, 1)
        if requested is None:
            raise UnsupportedOpError(
                {"Reshape": [ctx.node_label]},
                "its shape input is computed at run time; only constant shapes are supported",
            )
        allow_zero = bool(attrs.get("allowzero", 0))
        target = resolve_reshape(
            graph.tensor_shape(x), [int(d) for d in np.asarray(requested).reshape(-1)], allow_zero
        )
        return [_reshape(ctx, x, target)]


@register("Transpose")
class Transpose(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        rank = len(graph.tensor_shape(x))
        perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
        return [graph.TransposeOp(x, perm).result]
