"""onnxruntime's QOperator ops (domain com.microsoft) that its quantizer emits for CNNs:
QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool,
QLinearAveragePool, QLinearConcat and QGemm, on uint8/int8 tensors with per-tensor
parameters (QGemm's B also per column).

Each follows onnxruntime's CPU kernel: the binary ops rescale each zero-point-subtracted
operand to the output scale in f32 (MLAS's QLinearAdd/Mul), the global average pool
requantizes its int32 sums, and the lookup-table ops (sigmoid, leaky relu) and the average
pool compute dequantize -> float op -> quantize. They agree with onnxruntime within one
output step where an f32 operation rounds differently at a tie.
"""

from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.conv import pooling
from ziggurat.frontend.onnx.quantize import along_axis, cast_to, requantize, saturate, widened
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register

DOMAIN = "com.microsoft"
EIGHT_BIT = ("ui8", "i8")


def _param(ctx: ImportContext, node: onnx.NodeProto, index: int) -> SSAValue:
    """A per-tensor scale or zero point as a scalar."""
    value = required(ctx, node, index)
    if int(np.prod(graph.tensor_shape(value))) != 1:
        raise ctx.unsupported(f"its input {index} is not per tensor")
    return along_axis(ctx, value, (1,), 0)


def _quantized(ctx: ImportContext, node: onnx.NodeProto, index: int) -> SSAValue:
    value = required(ctx, node, index)
    if str(graph.element_type_of(value)) not in EIGHT_BIT:
        raise ctx.unsupported(f"its input {index} is not uint8 or int8")
    return value


def _dequantized(ctx: ImportContext, node: onnx.NodeProto, first: int) -> SSAValue:
    x = _quantized(ctx, node, first)
    scale, zero = _param(ctx, node, first + 1), _param(ctx, node, first + 2)
    return graph.DequantizeOp(x, cast_to(scale, f32), zero, f32).result


def _quantize(ctx: ImportContext, node: onnx.NodeProto, value: SSAValue, first: int) -> SSAValue:
    scale, zero = _param(ctx, node, first), _param(ctx, node, first + 1)
    return graph.QuantizeOp(value, cast_to(scale, f32), zero, graph.element_type_of(zero)).result


def _rescaled(ctx: ImportContext, node: onnx.NodeProto, first: int, out: SSAValue) -> SSAValue:
    """(x - x_zp) in f32 times x_scale / y_scale (`out` the output scale)."""
    x = widened(_quantized(ctx, node, first), _param(ctx, node, first + 2))
    ratio = graph.DivOp(cast_to(_param(ctx, node, first + 1), f32), out).result
    return graph.MulOp(cast_to(x, f32), ratio).result


def _register(op_type: str, impl: Any) -> None:
    register(f"{DOMAIN}.{op_type}")(
        type(op_type, (OnnxOpConverter,), {"_impl_v1": classmethod(impl)})
    )


def _binary(op_type: str) -> None:
    def impl(cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]):
        out_scale = cast_to(_param(ctx, node, 6), f32)
        out_zero = ctx.input(node, 7)
        element = graph.element_type_of(_quantized(ctx, node, 0))
        if out_zero is not None:
            out_zero = _param(ctx, node, 7)
        if op_type == "QLinearAdd":
            total = graph.AddOp(
                _rescaled(ctx, node, 0, out_scale), _rescaled(ctx, node, 3, out_scale)
            ).result
            return [saturate(graph.RoundOp(total).result, out_zero, element)]
        a = widened(_quantized(ctx, node, 0), _param(ctx, node, 2))
        b = widened(_quantized(ctx, node, 3), _param(ctx, node, 5))
        scales = graph.MulOp(
            cast_to(_param(ctx, node, 1), f32), cast_to(_param(ctx, node, 4), f32)
        ).result
        multiplier = graph.DivOp(scales, out_scale).result
        return [requantize(graph.MulOp(a, b).result, multiplier, out_zero, element)]

    _register(op_type, impl)


def _through_float(op_type: str, apply: Any) -> None:
    """dequantize -> float op -> quantize, inputs (x, x_scale, x_zp, y_scale, y_zp)."""

    def impl(cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]):
        return [_quantize(ctx, node, apply(ctx, attrs, _dequantized(ctx, node, 0)), 3)]

    _register(op_type, impl)


def _average_pool(ctx: ImportContext, attrs: dict[str, Any], x: SSAValue) -> SSAValue:
    if attrs.get("channels_last", 0):
        raise ctx.unsupported("channels_last is not supported")
    return pooling(ctx, attrs, x, "avg")


def _global_average_pool(
    cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
) -> list[SSAValue]:
    """The int32 sum of each channel's zero-point-subtracted values, requantized by
    x_scale / (y_scale * count)."""
    x = _quantized(ctx, node, 0)
    shape = graph.tensor_shape(x)
    last = bool(attrs.get("channels_last", 0))
    axes = list(range(1, len(shape) - 1)) if last else list(range(2, len(shape)))
    count = int(np.prod([shape[a] for a in axes]))
    total = graph.ReduceOp(widened(x, _param(ctx, node, 2)), "sum", axes, True).result
    denominator = graph.MulOp(
        cast_to(_param(ctx, node, 3), f32), ctx.tensor(np.array(count, np.float32), "count")
    ).result
    multiplier = graph.DivOp(cast_to(_param(ctx, node, 1), f32), denominator).result
    zero = _param(ctx, node, 4)
    return [requantize(total, multiplier, zero, graph.element_type_of(zero))]


def _concat(cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]) -> list[SSAValue]:
    """Each (x, x_scale, x_zp) triple requantized to (y_scale, y_zp), then concatenated."""
    if (len(node.input) - 2) % 3 or len(node.input) < 5:
        raise ctx.error("takes y_scale, y_zero_point and (x, x_scale, x_zero_point) triples")
    parts = [
        _quantize(ctx, node, _dequantized(ctx, node, first), 0)
        for first in range(2, len(node.input), 3)
    ]
    return [graph.ConcatOp(parts, int(attrs.get("axis", 0))).result]


def _gemm(cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]) -> list[SSAValue]:
    """alpha * (A - a_zp) @ (B - b_zp) + C in int32 (C quantized with scale a_scale *
    b_scale), then requantized by alpha * a_scale * b_scale / y_scale, or scaled to f32
    without y_scale; B's scale and zero point per tensor or per column."""
    a, b = _quantized(ctx, node, 0), _quantized(ctx, node, 3)
    if attrs.get("transA", 0):
        a = graph.TransposeOp(a, (1, 0)).result
    transposed = bool(attrs.get("transB", 0))
    b_zero = required(ctx, node, 5)
    if transposed and int(np.prod(graph.tensor_shape(b_zero))) > 1:
        b_zero = graph.ReshapeOp(b_zero, (graph.tensor_shape(b_zero)[0], 1)).result
    product = graph.MatmulOp(
        widened(a, _param(ctx, node, 2)), widened(b, b_zero), transpose_b=transposed
    ).result
    bias = ctx.input(node, 6)
    if bias is not None:
        product = graph.AddOp(product, bias).result
    scales = graph.MulOp(cast_to(_param(ctx, node, 1), f32), cast_to(required(ctx, node, 4), f32))
    alpha = ctx.tensor(np.array(attrs.get("alpha", 1.0), np.float32), "alpha")
    multiplier = graph.MulOp(scales.result, alpha).result
    if ctx.input(node, 7) is None:
        return [graph.MulOp(cast_to(product, f32), multiplier).result]
    multiplier = graph.DivOp(multiplier, cast_to(_param(ctx, node, 7), f32)).result
    zero = _param(ctx, node, 8)
    return [requantize(product, multiplier, zero, graph.element_type_of(zero))]


for _op_type in ("QLinearAdd", "QLinearMul"):
    _binary(_op_type)
_through_float("QLinearSigmoid", lambda ctx, attrs, x: graph.SigmoidOp(x).result)
_through_float(
    "QLinearLeakyRelu",
    lambda ctx, attrs, x: graph.LeakyReluOp(x, float(attrs.get("alpha", 0.01))).result,
)
_through_float("QLinearAveragePool", _average_pool)
_register("QLinearGlobalAveragePool", _global_average_pool)
_register("QLinearConcat", _concat)
_register("QGemm", _gemm)
