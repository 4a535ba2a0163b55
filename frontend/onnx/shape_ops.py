"""ONNX ops that move, select or combine elements without arithmetic: Flatten, Reshape,
Transpose, Concat, Unsqueeze, Squeeze, Slice, Split, Expand, Pad, Gather, Where and Equal."""

from typing import Any

import numpy as np
import onnx
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.shapes import broadcast_shapes, num_elements
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register
from ziggurat.frontend.onnx.runtime_slice import runtime_slice


def _reshape(ctx: ImportContext, x: SSAValue, shape: tuple[int, ...]) -> SSAValue:
    return x if graph.tensor_shape(x) == shape else graph.ReshapeOp(x, shape).result


def resolve_reshape(
    source: tuple[int, ...], requested: list[int], allow_zero: bool
) -> tuple[int, ...]:
    """ONNX Reshape's target: 0 copies the input dim (unless allowzero), -1 is inferred."""
    copied = [i for i, d in enumerate(requested) if d == 0 and not allow_zero]
    if copied and copied[-1] >= len(source):
        raise ValueError(
            f"Reshape shape {requested} copies dim {copied[-1]} (a 0), but the input "
            f"{list(source)} has rank {len(source)}"
        )
    dims = [source[i] if i in copied else d for i, d in enumerate(requested)]
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
            raise ctx.unsupported(
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
            raise ctx.unsupported("its axes are computed at run time")
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
        if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) < len(axes):
            raise ctx.error(
                f"Unsqueeze axes {axes} must be distinct dims of the rank-{rank} result"
            )
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
        if axes and any(not -len(shape) <= a < len(shape) for a in axes):
            raise ctx.error(f"Squeeze axes {axes} are not dims of {list(shape)}")
        drop = (
            {a % len(shape) for a in axes} if axes else {d for d, s in enumerate(shape) if s == 1}
        )
        if any(shape[d] != 1 for d in drop):
            raise ctx.error(
                f"Squeeze axes {sorted(drop)} include dims that are not 1 in {list(shape)}"
            )
        return [_reshape(ctx, x, tuple(s for d, s in enumerate(shape) if d not in drop))]


def _constant_ints(
    ctx: ImportContext, node: onnx.NodeProto, index: int, what: str
) -> list[int] | None:
    """Input `index` as ints when given; it must be known at import time."""
    if index >= len(node.input) or not node.input[index]:
        return None
    value = ctx.constant_input(node, index)
    if value is None:
        raise ctx.unsupported(f"its {what} are computed at run time")
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _required_constant_ints(
    ctx: ImportContext, node: onnx.NodeProto, index: int, what: str
) -> list[int]:
    """Input `index` as ints, for an input the op cannot do without."""
    values = _constant_ints(ctx, node, index, what)
    if values is None:
        raise ctx.error(f"required input {index} ({what}) is missing")
    return values


def slice_value(
    ctx: ImportContext,
    x: SSAValue,
    starts: list[int],
    ends: list[int],
    axes: list[int] | None,
    steps: list[int] | None,
) -> SSAValue:
    """numpy/ONNX slicing (negative bounds count from the end, bounds clamp) as graph.slice."""
    shape = graph.tensor_shape(x)
    rank = len(shape)
    axes = [a % rank for a in (axes if axes is not None else range(len(starts)))]
    steps = steps or [1] * len(starts)
    first, stride, extent = [0] * rank, [1] * rank, list(shape)
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        if step == 0:
            raise ctx.error("Slice steps must not be 0")
        begin, stop, step = slice(start, end, step).indices(shape[axis])
        extent[axis] = len(range(begin, stop, step))
        first[axis], stride[axis] = (begin if extent[axis] else 0), step
    if tuple(extent) == shape and all(s == 1 for s in stride):
        return x
    return graph.SliceOp(x, first, stride, extent).result


@register("Slice")
class Slice(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        starts, ends = [int(v) for v in attrs["starts"]], [int(v) for v in attrs["ends"]]
        axes = [int(v) for v in attrs["axes"]] if "axes" in attrs else None
        return [slice_value(ctx, required(ctx, node, 0), starts, ends, axes, None)]

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        axes, steps = _constant_ints(ctx, node, 3, "axes"), _constant_ints(ctx, node, 4, "steps")
        x = required(ctx, node, 0)
        if len(node.input) > 2 and (
            ctx.constant_input(node, 1) is None or ctx.constant_input(node, 2) is None
        ):
            return [runtime_slice(ctx, node, x, axes, steps)]
        starts = _required_constant_ints(ctx, node, 1, "starts")
        ends = _required_constant_ints(ctx, node, 2, "ends")
        return [slice_value(ctx, x, starts, ends, axes, steps)]


@register("Split")
class Split(OnnxOpConverter):
    """Consecutive slices along `axis`: sizes from the attribute or input, else equal parts
    (the last one smaller when they do not divide)."""

    @classmethod
    def _split(
        cls,
        ctx: ImportContext,
        node: onnx.NodeProto,
        attrs: dict[str, Any],
        sizes: list[int] | None,
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        shape = graph.tensor_shape(x)
        axis = int(attrs.get("axis", 0)) % len(shape)
        parts = len([o for o in node.output])
        if sizes is None:
            count = int(attrs.get("num_outputs", parts))
            chunk = -(-shape[axis] // count)
            sizes = [min(chunk, shape[axis] - n * chunk) for n in range(count)]
        if sum(sizes) != shape[axis]:
            raise ctx.error(f"split sizes {sizes} do not add up to dim {axis} = {shape[axis]}")
        results, offset = [], 0
        for size in sizes:
            results.append(slice_value(ctx, x, [offset], [offset + size], [axis], None))
            offset += size
        return results

    @classmethod
    def _impl_v2(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        sizes = [int(s) for s in attrs["split"]] if "split" in attrs else None
        return cls._split(ctx, node, attrs, sizes)

    @classmethod
    def _impl_v13(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return cls._split(ctx, node, attrs, _constant_ints(ctx, node, 1, "split sizes"))


@register("Expand")
class Expand(OnnxOpConverter):
    @classmethod
    def _impl_v8(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        target = _required_constant_ints(ctx, node, 1, "target shape")
        try:
            shape = broadcast_shapes(graph.tensor_shape(x), target)
        except ValueError as err:
            raise ctx.error(str(err)) from err
        return [x if shape == graph.tensor_shape(x) else graph.BroadcastOp(x, shape).result]


@register("Pad")
class Pad(OnnxOpConverter):
    @classmethod
    def _pad(
        cls,
        ctx: ImportContext,
        node: onnx.NodeProto,
        pads: list[int],
        mode: str,
        value: float,
        axes: list[int] | None,
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        rank = len(graph.tensor_shape(x))
        padded = rank if axes is None else len(axes)
        if len(pads) != 2 * padded:
            raise ctx.error(f"pads {pads} must have {2 * padded} entries, two per padded axis")
        if axes is not None and (
            any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) < len(axes)
        ):
            raise ctx.error(f"Pad axes {axes} must be distinct dims of rank {rank}")
        if axes is not None:
            full = [0] * (2 * rank)
            for n, axis in enumerate(a % rank for a in axes):
                full[axis], full[rank + axis] = pads[n], pads[len(axes) + n]
            pads = full
        if any(p < 0 for p in pads):
            raise ctx.unsupported("negative pads (cropping) are not supported")
        if mode not in graph.PAD_MODES:
            raise ctx.error(f"Pad mode {mode!r} is not supported")
        return [graph.PadOp(x, pads, mode, value).result]

    @classmethod
    def _impl_v2(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        return cls._pad(
            ctx, node, [int(p) for p in attrs["pads"]], mode, float(attrs.get("value", 0.0)), None
        )

    @classmethod
    def _impl_v11(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = _required_constant_ints(ctx, node, 1, "pads")
        value = ctx.constant_input(node, 2)
        if len(node.input) > 2 and node.input[2] and value is None:
            raise ctx.unsupported("its constant value is computed at run time")
        axes = _constant_ints(ctx, node, 3, "axes")
        return cls._pad(
            ctx,
            node,
            pads,
            mode,
            0.0 if value is None else float(np.asarray(value).reshape(-1)[0]),
            axes,
        )


@register("Gather")
class Gather(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        indices = ctx.constant_input(node, 1)
        index_value = (
            ctx.tensor(np.asarray(indices), "indices")
            if indices is not None
            else required(ctx, node, 1)
        )
        return [graph.GatherOp(x, index_value, int(attrs.get("axis", 0))).result]


@register("Where")
class Where(OnnxOpConverter):
    @classmethod
    def _impl_v9(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.WhereOp(*(required(ctx, node, i) for i in range(3))).result]


@register("Equal")
class Equal(OnnxOpConverter):
    @classmethod
    def _impl_v7(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.EqualOp(required(ctx, node, 0), required(ctx, node, 1)).result]
