"""Convolution-family ONNX ops: Conv, BatchNormalization, MaxPool, AveragePool, the global
pools and LRN, on channel-first tensors."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import i32
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def window_pads(
    ctx: ImportContext,
    attrs: dict[str, Any],
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """Explicit pads (all begins, then all ends) from `pads` or `auto_pad`."""
    spatial = len(sizes)
    auto = _text(attrs.get("auto_pad", "NOTSET"))
    if auto in ("NOTSET", ""):
        pads = [int(p) for p in attrs.get("pads", [0] * (2 * spatial))]
        if len(pads) != 2 * spatial:
            raise ctx.error(f"pads {pads} must have {2 * spatial} entries")
        return pads
    if auto == "VALID":
        return [0] * (2 * spatial)
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.error(f"auto_pad={auto!r} is not supported")
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if auto == "SAME_UPPER" else large)
        ends.append(large if auto == "SAME_UPPER" else small)
    return begins + ends


def _ints(attrs: dict[str, Any], name: str, default: Sequence[int]) -> list[int]:
    return [int(v) for v in attrs.get(name, default)]


@register("Conv")
class Conv(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, w = required(ctx, node, 0), required(ctx, node, 1)
        return [convolution(ctx, attrs, x, w, ctx.input(node, 2))]


def convolution(
    ctx: ImportContext, attrs: dict[str, Any], x: SSAValue, w: SSAValue, bias: SSAValue | None
) -> SSAValue:
    """graph.conv of x and w under the node's Conv attributes; no bias adds zeros (of the
    weight's element type: integer convolutions accumulate in int32)."""
    x_shape, w_shape = graph.tensor_shape(x), graph.tensor_shape(w)
    if len(x_shape) < 3:
        raise ctx.error(f"Conv input must have rank >= 3, got {list(x_shape)}")
    spatial = len(x_shape) - 2
    kernel = _ints(attrs, "kernel_shape", w_shape[2:])
    if tuple(kernel) != tuple(w_shape[2:]):
        raise ctx.error(f"kernel_shape {kernel} does not match the weight {list(w_shape)}")
    strides = _ints(attrs, "strides", [1] * spatial)
    dilations = _ints(attrs, "dilations", [1] * spatial)
    pads = window_pads(ctx, attrs, x_shape[2:], kernel, strides, dilations)
    if bias is None:
        dtype = np.int32 if graph.element_type_of(w) == i32 else np.float32
        bias = ctx.tensor(np.zeros(w_shape[0], dtype=dtype), "zero_bias")
    group = int(attrs.get("group", 1))
    return graph.ConvOp(x, w, bias, strides, pads, dilations, group).result


def _pool(
    ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any], kind: str
) -> list[SSAValue]:
    pool = pooling(ctx, attrs, required(ctx, node, 0), kind)
    if len(node.output) < 2 or not node.output[1]:
        return [pool]
    storage_order = int(attrs.get("storage_order", 0))
    if storage_order not in (0, 1):
        raise ctx.error(f"storage_order must be 0 or 1, got {storage_order}")
    assert isinstance(pool.owner, graph.PoolOp)
    return [pool, graph.MaxPoolIndicesOp(pool.owner, storage_order).result]


def pooling(ctx: ImportContext, attrs: dict[str, Any], x: SSAValue, kind: str) -> SSAValue:
    """graph.pool of x under the node's MaxPool/AveragePool attributes."""
    shape = graph.tensor_shape(x)
    spatial = len(shape) - 2
    kernel = _ints(attrs, "kernel_shape", [])
    if len(kernel) != spatial:
        raise ctx.error(f"kernel_shape {kernel} must have {spatial} entries")
    strides = _ints(attrs, "strides", [1] * spatial)
    dilations = _ints(attrs, "dilations", [1] * spatial)
    pads = window_pads(ctx, attrs, shape[2:], kernel, strides, dilations)
    return graph.PoolOp(
        x,
        kind,
        kernel,
        strides,
        pads,
        dilations,
        bool(attrs.get("ceil_mode", 0)),
        bool(attrs.get("count_include_pad", 0)),
    ).result


@register("MaxPool")
class MaxPool(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return _pool(ctx, node, attrs, "max")


@register("AveragePool")
class AveragePool(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return _pool(ctx, node, attrs, "avg")


def _global_pool(ctx: ImportContext, node: onnx.NodeProto, kind: str) -> list[SSAValue]:
    x = required(ctx, node, 0)
    spatial = graph.tensor_shape(x)[2:]
    ones = [1] * len(spatial)
    return [graph.PoolOp(x, kind, spatial, ones, [0] * (2 * len(spatial)), ones).result]


@register("GlobalAveragePool")
class GlobalAveragePool(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return _global_pool(ctx, node, "avg")


@register("GlobalMaxPool")
class GlobalMaxPool(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return _global_pool(ctx, node, "max")


@register("BatchNormalization")
class BatchNormalization(OnnxOpConverter):
    """Inference: the given mean and variance. Training mode (opset 14 on): the batch's mean
    and population variance over every dim but the channels normalize, and the running
    mean and variance outputs move toward them by 1 - momentum. The training outputs of
    opsets before 14 (with is_test unset) are refused."""

    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, scale, bias, mean, var = (required(ctx, node, i) for i in range(5))
        epsilon = float(attrs.get("epsilon", 1e-5))
        if int(attrs.get("training_mode", 0)):
            momentum = float(attrs.get("momentum", 0.9))
            return _training_batch_norm(ctx, x, scale, bias, (mean, var), epsilon, momentum)
        if any(node.output[1:]):
            raise ctx.unsupported("its training outputs before opset 14 are not supported")
        return [graph.BatchNormOp(x, scale, bias, mean, var, epsilon).result]


def _training_batch_norm(
    ctx: ImportContext,
    x: SSAValue,
    scale: SSAValue,
    bias: SSAValue,
    running: tuple[SSAValue, SSAValue],
    epsilon: float,
    momentum: float,
) -> list[SSAValue]:
    shape = graph.tensor_shape(x)
    if len(shape) < 2:
        raise ctx.error(f"input must have rank >= 2, got {list(shape)}")
    axes = [0, *range(2, len(shape))]
    batch_mean = graph.ReduceOp(x, "mean", axes, True).result
    centered = graph.SubOp(x, batch_mean).result
    batch_var = graph.ReduceOp(graph.MulOp(centered, centered).result, "mean", axes, True).result
    mean, var = (graph.ReshapeOp(v, [shape[1]]).result for v in (batch_mean, batch_var))
    normalized = graph.BatchNormOp(x, scale, bias, mean, var, epsilon).result
    dtype = next(
        name
        for name, element in graph.NUMPY_ELEMENT_TYPES.items()
        if element == graph.element_type_of(x)
    )
    kept = ctx.tensor(np.array(momentum, dtype), "momentum")
    taken = ctx.tensor(np.array(1.0 - momentum, dtype), "one_minus_momentum")
    updated = [
        graph.AddOp(graph.MulOp(old, kept).result, graph.MulOp(new, taken).result).result
        for old, new in zip(running, (mean, var), strict=True)
    ]
    return [normalized, *updated]


@register("LRN")
class LRN(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        if "size" not in attrs:
            raise ctx.error("LRN needs a size")
        return [
            graph.LrnOp(
                required(ctx, node, 0),
                int(attrs["size"]),
                float(attrs.get("alpha", 1e-4)),
                float(attrs.get("beta", 0.75)),
                float(attrs.get("bias", 1.0)),
            ).result
        ]


@register("ConvTranspose")
class ConvTranspose(OnnxOpConverter):
    """Output extents from output_shape or from strides, kernel, pads and output_padding;
    auto_pad SAME_* splits the padding that output_shape implies; an output_shape larger than
    the full result adds positions that only the bias reaches."""

    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, w = required(ctx, node, 0), required(ctx, node, 1)
        x_shape, w_shape = graph.tensor_shape(x), graph.tensor_shape(w)
        spatial = len(x_shape) - 2
        group = int(attrs.get("group", 1))
        kernel = _ints(attrs, "kernel_shape", w_shape[2:])
        strides = _ints(attrs, "strides", [1] * spatial)
        dilations = _ints(attrs, "dilations", [1] * spatial)
        output_padding = _ints(attrs, "output_padding", [0] * spatial)
        full = [
            s * (i - 1) + op + (k - 1) * d + 1
            for s, i, op, k, d in zip(
                strides, x_shape[2:], output_padding, kernel, dilations, strict=True
            )
        ]
        auto = _text(attrs.get("auto_pad", "NOTSET"))
        if "output_shape" in attrs or auto in ("SAME_UPPER", "SAME_LOWER"):
            target = _ints(
                attrs, "output_shape", [i * s for i, s in zip(x_shape[2:], strides, strict=True)]
            )[-spatial:]
            total = [max(0, f - t) for f, t in zip(full, target, strict=True)]
            if auto == "SAME_UPPER":
                pads = [t // 2 for t in total] + [t - t // 2 for t in total]
            else:
                pads = [t - t // 2 for t in total] + [t // 2 for t in total]
            sizes = target
        else:
            pads = (
                [0] * (2 * spatial)
                if auto == "VALID"
                else _ints(attrs, "pads", [0] * (2 * spatial))
            )
            sizes = [f - pads[d] - pads[spatial + d] for d, f in enumerate(full)]
        bias = ctx.input(node, 2)
        channels = w_shape[1] * group
        if bias is None:
            bias = ctx.tensor(np.zeros(channels, dtype=np.float32), "zero_bias")
        shape = [x_shape[0], channels, *sizes]
        return [graph.ConvTransposeOp(x, w, bias, strides, pads, dilations, group, shape).result]
