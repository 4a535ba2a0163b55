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


@register("Concat")
class Concat(OnnxOpConverter):
    @classmethod
    def _impl_v4(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        values = [required(ctx, node, i) for i in range(len(node.input))]
        if "axis" not in attrs:
            raise ctx.error("Concat needs an axis")
        return [graph.ConcatOp(values, int(attrs["axis"])).result]


def _axes(ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]) -> list[int] | None:
    """Axes from the attribute (before opset 13) or the constant second input."""
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    if len(node.input) > 1 and node.input[1]:
        axes = ctx.constant_input(node, 1)
        if axes is None:
            raise UnsupportedOpError(
                {node.op_type: [ctx.node_label]}, "its axes are computed at run time"
            )
        return [int(a) for a in np.asarray(axes).reshape(-1)]
    return None


@register("Unsqueeze")
class Unsqueeze(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        axes = _axes(ctx, node, attrs)
        if not axes:
            raise ctx.error("Unsqueeze needs axes")
        rank = len(graph.tensor_shape(x)) + len(axes)
        normalized = sorted(a % rank for a in axes)
        dims = iter(graph.tensor_shape(x))
        shape = tuple(1 if d in normalized else next(dims) for d in range(rank))
        return [_reshape(ctx, x, shape)]


@register("Squeeze")
class Squeeze(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        shape = graph.tensor_shape(x)
        axes = _axes(ctx, node, attrs)
        drop = (
            {a % len(shape) for a in axes} if axes else {d for d, s in enumerate(shape) if s == 1}
        )
        if any(shape[d] != 1 for d in drop):
            raise ctx.error(
                f"Squeeze axes {sorted(drop)} include dims that are not 1 in {list(shape)}"
            )
        return [_reshape(ctx, x, tuple(s for d, s in enumerate(shape) if d not in drop))]
