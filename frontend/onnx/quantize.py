"""Quantized ONNX ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
ConvInteger, QLinearMatMul and QLinearConv, as graph ops the rest of Ziggurat knows.

The integer products are graph.matmul and graph.conv on int32 operands from which the zero
points were subtracted (u8/s8 widened, int32 accumulation; subtracting before the
convolution makes its zero padding the zero point's padding, as the spec asks). The
requantization is onnxruntime's (MLAS's MlasRequantizeOutput): the int32 accumulator to
f32, times the f32 multiplier x_scale * w_scale / y_scale, rounded half to even, plus the
output zero point, saturated by the cast to the output type. graph-fuse-ops puts each
requantization into one elementwise kernel after the integer product.

Scales and zero points are per tensor (a scalar or one element), per axis (1-D along
`axis`) or blocked (opset 21's `block_size`: each scale repeated over its block along
`axis`). Types: uint8/int8/uint16/int16 quantized values (int32 for DequantizeLinear),
f32/f16/bf16 scales; float8, int4 and int2 are refused.
"""

import math
from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import AnyFloat, f32, i32
from xdsl.ir import Attribute, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.shapes import normalize_axis
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.conv import convolution
from ziggurat.frontend.onnx.nn import matmul
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register

QUANTIZED_TYPES = ("uint8", "int8", "uint16", "int16")
"""Element types QuantizeLinear produces and the integer ops read (besides int32)."""


def cast_to(value: SSAValue, element: Attribute) -> SSAValue:
    """value as `element` (no op when it is already)."""
    if graph.element_type_of(value) == element:
        return value
    return graph.CastOp(value, element).result


def _element_name(value: SSAValue) -> str:
    for name, element in graph.NUMPY_ELEMENT_TYPES.items():
        if element == graph.element_type_of(value):
            return name
    return str(graph.element_type_of(value))


def _quantized(ctx: ImportContext, value: SSAValue, what: str, allowed: tuple[str, ...]) -> None:
    name = _element_name(value)
    if name not in allowed:
        raise ctx.unsupported(f"its {what} is {name}; Ziggurat quantizes to {', '.join(allowed)}")


def _float(ctx: ImportContext, value: SSAValue, what: str) -> None:
    if not isinstance(graph.element_type_of(value), AnyFloat):
        raise ctx.error(f"its {what} must be a float tensor, got {_element_name(value)}")


def along_axis(
    ctx: ImportContext, param: SSAValue, shape: tuple[int, ...], axis: int, block: int = 0
) -> SSAValue:
    """A scale or zero point shaped to broadcast against a tensor of `shape`: a scalar or
    one-element tensor as is, a 1-D one along `axis`, a blocked one (rank equal, ceil(D/B)
    along `axis`) repeated over each block."""
    param_shape = graph.tensor_shape(param)
    rank = len(shape)
    if block > 0:
        axis = normalize_axis(axis, rank)
        if len(param_shape) != rank or param_shape[axis] != math.ceil(shape[axis] / block):
            raise ctx.error(
                f"a blocked scale or zero point of shape {list(param_shape)} does not fit "
                f"input {list(shape)} in blocks of {block} along axis {axis}"
            )
        index = ctx.tensor(np.arange(shape[axis], dtype=np.int64) // block, "block_index")
        return graph.GatherOp(param, index, axis).result
    if math.prod(param_shape) == 1:
        return param if not param_shape else graph.ReshapeOp(param, ()).result
    axis = normalize_axis(axis, rank)
    if len(param_shape) != 1 or param_shape[0] != shape[axis]:
        raise ctx.error(
            f"a scale or zero point of shape {list(param_shape)} fits neither per tensor nor "
            f"per axis {axis} of input {list(shape)}"
        )
    return graph.ReshapeOp(param, [param_shape[0] if d == axis else 1 for d in range(rank)]).result


def saturate(rounded: SSAValue, zero_point: SSAValue | None, element: Attribute) -> SSAValue:
    """round(x) + zero point, saturated into `element` (graph.cast from float saturates)."""
    if zero_point is not None:
        rounded = graph.AddOp(rounded, cast_to(zero_point, f32)).result
    return cast_to(rounded, element)


def requantize(
    accumulator: SSAValue, multiplier: SSAValue, zero_point: SSAValue | None, element: Attribute
) -> SSAValue:
    """int32 accumulator -> f32 * multiplier, rounded half to even, + zero point, saturated."""
    scaled = graph.MulOp(cast_to(accumulator, f32), cast_to(multiplier, f32)).result
    return saturate(graph.RoundOp(scaled).result, zero_point, element)


def widened(value: SSAValue, zero_point: SSAValue | None) -> SSAValue:
    """value - zero point in int32."""
    wide = cast_to(value, i32)
    if zero_point is None:
        return wide
    return graph.SubOp(wide, cast_to(zero_point, i32)).result


def _output_element(ctx: ImportContext, zero_point: SSAValue | None, output_dtype: int) -> str:
    if zero_point is not None:
        return _element_name(zero_point)
    if output_dtype:
        return str(onnx.helper.tensor_dtype_to_np_dtype(output_dtype))
    return "uint8"


@register("QuantizeLinear")
class QuantizeLinear(OnnxOpConverter):
    """graph.quantize: y = saturate(round_half_even(x / y_scale) + y_zero_point), the
    division in x's float type when the scale has it (as onnx's reference divides), else in
    f32; int32 inputs are converted to f32 first."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, scale, zero_point = required(ctx, node, 0), required(ctx, node, 1), ctx.input(node, 2)
        _float(ctx, scale, "scale")
        if attrs.get("precision", 0) not in (0, onnx.TensorProto.FLOAT):
            raise ctx.unsupported("its precision attribute is not FLOAT")
        name = _output_element(ctx, zero_point, int(attrs.get("output_dtype", 0)))
        if name not in QUANTIZED_TYPES:
            raise ctx.unsupported(
                f"it quantizes to {name}; Ziggurat quantizes to {QUANTIZED_TYPES}"
            )
        shape = graph.tensor_shape(x)
        axis, block = int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
        scale = along_axis(ctx, scale, shape, axis, block)
        if zero_point is not None:
            zero_point = along_axis(ctx, zero_point, shape, axis, block)
        if zero_point is None:
            zero_point = ctx.tensor(np.zeros((), dtype=name), "zero_point")
        if not isinstance(graph.element_type_of(x), AnyFloat):
            x = cast_to(x, f32)
        element = graph.NUMPY_ELEMENT_TYPES[name]
        return [graph.QuantizeOp(x, scale, zero_point, element).result]


@register("DequantizeLinear")
class DequantizeLinear(OnnxOpConverter):
    """graph.dequantize: y = (x - x_zero_point) * x_scale, the difference in int32, the
    product in f32, then the scale's type (or `output_dtype`)."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, scale, zero_point = required(ctx, node, 0), required(ctx, node, 1), ctx.input(node, 2)
        _quantized(ctx, x, "input", (*QUANTIZED_TYPES, "int32"))
        _float(ctx, scale, "scale")
        shape = graph.tensor_shape(x)
        axis, block = int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
        scale = along_axis(ctx, scale, shape, axis, block)
        if zero_point is not None:
            zero_point = along_axis(ctx, zero_point, shape, axis, block)
        output_dtype = int(attrs.get("output_dtype", 0))
        element = graph.element_type_of(scale)
        if output_dtype:
            element = graph.NUMPY_ELEMENT_TYPES[
                str(onnx.helper.tensor_dtype_to_np_dtype(output_dtype))
            ]
        if zero_point is None:
            zero_point = ctx.tensor(np.zeros((), dtype=_element_name(x)), "zero_point")
        return [graph.DequantizeOp(x, scale, zero_point, element).result]


@register("DynamicQuantizeLinear")
class DynamicQuantizeLinear(OnnxOpConverter):
    """uint8 quantization of x over its own range widened to hold 0: scale = (max - min) /
    255, zero point = round(saturate(-min / scale)); an all-zero x gets scale 1, as in
    onnxruntime (onnx's reference gives 1 / 255 there)."""

    @classmethod
    def _impl_v11(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        if graph.element_type_of(x) != f32:
            raise ctx.error(f"its input must be float32, got {_element_name(x)}")
        axes = list(range(len(graph.tensor_shape(x))))
        zero = ctx.tensor(np.array(0.0, dtype=np.float32), "zero")
        high = graph.MaxOp(graph.ReduceOp(x, "max", axes, False).result, zero).result
        low = graph.MinOp(graph.ReduceOp(x, "min", axes, False).result, zero).result
        span = graph.SubOp(high, low).result
        levels = ctx.tensor(np.array(255.0, dtype=np.float32), "levels")
        one = ctx.tensor(np.array(1.0, dtype=np.float32), "one")
        empty = graph.EqualOp(span, zero).result
        scale = graph.WhereOp(empty, one, graph.DivOp(span, levels).result).result
        start = graph.NegOp(graph.DivOp(low, scale).result).result
        zero_point = graph.RoundOp(graph.ClipOp(start, 0.0, 255.0).result).result
        uint8 = graph.NUMPY_ELEMENT_TYPES["uint8"]
        quotient = graph.RoundOp(graph.DivOp(x, scale).result).result
        y = cast_to(graph.AddOp(quotient, zero_point).result, uint8)
        return [y, scale, cast_to(zero_point, uint8)]


def _per_row(ctx: ImportContext, param: SSAValue | None, rows: int) -> SSAValue | None:
    """A zero point or scale of A per row (1-D of M) as an [M, 1] column; scalars as is."""
    if param is None or math.prod(graph.tensor_shape(param)) == 1:
        return param if param is None else along_axis(ctx, param, (1,), 0)
    if graph.tensor_shape(param) != (rows,):
        raise ctx.error(f"a per-row parameter must have {rows} elements")
    return graph.ReshapeOp(param, (rows, 1)).result


def _integer_matmul(
    ctx: ImportContext, a: SSAValue, a_zero: SSAValue | None, b: SSAValue, b_zero: SSAValue | None
) -> SSAValue:
    _quantized(ctx, a, "A", ("uint8", "int8"))
    _quantized(ctx, b, "B", ("uint8", "int8"))
    a_shape = graph.tensor_shape(a)
    a_zero = _per_row(ctx, a_zero, a_shape[-2] if len(a_shape) > 1 else 1)
    return matmul(ctx, widened(a, a_zero), widened(b, b_zero))


@register("MatMulInteger")
class MatMulInteger(OnnxOpConverter):
    """(A - a_zero_point) @ (B - b_zero_point) in int32; zero points per tensor, per row of
    A, per column of B."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        a, b = required(ctx, node, 0), required(ctx, node, 1)
        return [_integer_matmul(ctx, a, ctx.input(node, 2), b, ctx.input(node, 3))]


@register("QLinearMatMul")
class QLinearMatMul(OnnxOpConverter):
    """MatMulInteger, then requantized by a_scale * b_scale / y_scale (computed in the
    scales' type, as onnxruntime does in f32)."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        a, a_scale, a_zero = (required(ctx, node, n) for n in range(3))
        b, b_scale, b_zero = (required(ctx, node, n) for n in range(3, 6))
        y_scale, y_zero = required(ctx, node, 6), required(ctx, node, 7)
        for scale in (a_scale, b_scale, y_scale):
            _float(ctx, scale, "scale")
        _quantized(ctx, y_zero, "output zero point", ("uint8", "int8"))
        accumulator = _integer_matmul(ctx, a, a_zero, b, b_zero)
        a_shape = graph.tensor_shape(a)
        row_scale = _per_row(ctx, a_scale, a_shape[-2] if len(a_shape) > 1 else 1)
        assert row_scale is not None
        multiplier = graph.DivOp(graph.MulOp(row_scale, b_scale).result, y_scale).result
        return [requantize(accumulator, multiplier, y_zero, graph.element_type_of(y_zero))]


def _per_channel(ctx: ImportContext, param: SSAValue, trailing: int) -> SSAValue:
    """A per-output-channel parameter shaped [M, 1 (`trailing` times)]: to broadcast over a
    weight [M, C, k...] (trailing = its rank - 1) or an output [N, M, d...] (rank - 2)."""
    channels = graph.tensor_shape(param)
    if math.prod(channels) == 1:
        return along_axis(ctx, param, (1,), 0)
    if len(channels) != 1:
        raise ctx.error("a per-channel weight parameter must be 1-D")
    return graph.ReshapeOp(param, (channels[0], *([1] * trailing))).result


def _integer_conv(
    ctx: ImportContext,
    attrs: dict[str, Any],
    x: SSAValue,
    x_zero: SSAValue | None,
    w: SSAValue,
    w_zero: SSAValue | None,
    bias: SSAValue | None,
) -> SSAValue:
    _quantized(ctx, x, "input", ("uint8", "int8"))
    _quantized(ctx, w, "weight", ("uint8", "int8"))
    rank = len(graph.tensor_shape(w))
    if x_zero is not None:
        x_zero = along_axis(ctx, x_zero, (1,), 0)
    if w_zero is not None:
        w_zero = _per_channel(ctx, w_zero, rank - 1)
    if bias is not None and graph.element_type_of(bias) != i32:
        raise ctx.error(f"its bias must be int32, got {_element_name(bias)}")
    return convolution(ctx, attrs, widened(x, x_zero), widened(w, w_zero), bias)


@register("ConvInteger")
class ConvInteger(OnnxOpConverter):
    """Conv of (x - x_zero_point) and (w - w_zero_point) in int32, padding with the zero
    point; w's zero point per tensor or per output channel."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, w = required(ctx, node, 0), required(ctx, node, 1)
        return [_integer_conv(ctx, attrs, x, ctx.input(node, 2), w, ctx.input(node, 3), None)]


@register("QLinearConv")
class QLinearConv(OnnxOpConverter):
    """ConvInteger plus the int32 bias, requantized per output channel by x_scale *
    w_scale / y_scale."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, x_scale, x_zero = (required(ctx, node, n) for n in range(3))
        w, w_scale, w_zero = (required(ctx, node, n) for n in range(3, 6))
        y_scale, y_zero = required(ctx, node, 6), required(ctx, node, 7)
        for scale in (x_scale, w_scale, y_scale):
            _float(ctx, scale, "scale")
        _quantized(ctx, y_zero, "output zero point", ("uint8", "int8"))
        accumulator = _integer_conv(ctx, attrs, x, x_zero, w, w_zero, ctx.input(node, 8))
        w_scale = _per_channel(ctx, w_scale, len(graph.tensor_shape(w)) - 2)
        multiplier = graph.DivOp(graph.MulOp(x_scale, w_scale).result, y_scale).result
        return [requantize(accumulator, multiplier, y_zero, graph.element_type_of(y_zero))]
