"""Dense-layer ONNX ops: Gemm, MatMul, Softmax."""

from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import i1, i32
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.shapes import normalize_axis, num_elements
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register


def _scalar(ctx: ImportContext, value: float) -> SSAValue:
    return ctx.tensor(np.array(value, dtype=np.float32), "scalar")


@register("Gemm")
class Gemm(OnnxOpConverter):
    """alpha * op(A) @ op(B) + beta * C, with C broadcast to the result."""

    @classmethod
    def _impl_v7(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        a, b = required(ctx, node, 0), required(ctx, node, 1)
        for name, value in (("A", a), ("B", b)):
            if len(graph.tensor_shape(value)) != 2:
                raise ctx.error(
                    f"Gemm input {name} must be 2-D, got {list(graph.tensor_shape(value))}"
                )
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        product = graph.MatmulOp(
            a, b, bool(attrs.get("transA", 0)), bool(attrs.get("transB", 0)), alpha
        ).result
        if len(node.input) < 3 or not node.input[2] or beta == 0.0:
            return [product]
        bias_constant = ctx.constant_input(node, 2)
        if bias_constant is not None and beta != 1.0:
            bias = ctx.tensor(
                (bias_constant * np.float32(beta)).astype(np.float32), f"{node.input[2]}_scaled"
            )
        else:
            bias = required(ctx, node, 2)
            if beta != 1.0:
                bias = graph.MulOp(bias, _scalar(ctx, beta)).result
        return [graph.AddOp(product, bias).result]


@register("MatMul")
class MatMul(OnnxOpConverter):
    """numpy.matmul; 1-D operands are promoted to matrices and the added axis removed."""

    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [matmul(ctx, required(ctx, node, 0), required(ctx, node, 1))]


def matmul(ctx: ImportContext, a: SSAValue, b: SSAValue) -> SSAValue:
    """numpy.matmul of a and b as graph.matmul, vectors reshaped around it. A stack of
    one-row matrices times one matrix (a sequence's steps times a classifier) is one matrix
    product of the stacked rows: a batch of one-row products would reread b for each row.
    Taller stacks stay batched, their epilogues fused into the product."""
    a_shape, b_shape = graph.tensor_shape(a), graph.tensor_shape(b)
    if not a_shape or not b_shape:
        raise ctx.error("MatMul operands must have rank >= 1")
    rows_of_one = len(a_shape) >= 3 and a_shape[-2] == 1 and num_elements(a_shape[:-2]) > 1
    if rows_of_one and len(b_shape) == 2:
        rows = graph.ReshapeOp(a, (num_elements(a_shape[:-1]), a_shape[-1])).result
        product = graph.MatmulOp(rows, b).result
        return graph.ReshapeOp(product, (*a_shape[:-1], b_shape[1])).result
    if len(a_shape) == 1:
        a = graph.ReshapeOp(a, (1, a_shape[0])).result
    if len(b_shape) == 1:
        b = graph.ReshapeOp(b, (b_shape[0], 1)).result
    result = graph.MatmulOp(a, b).result
    shape = list(graph.tensor_shape(result))
    if len(b_shape) == 1:
        shape.pop(-1)
    if len(a_shape) == 1:
        shape.pop(-2 if len(b_shape) > 1 else -1)
    if tuple(shape) != graph.tensor_shape(result):
        result = graph.ReshapeOp(result, shape).result
    return result


@register("Softmax")
class Softmax(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        """Before opset 13 the input is coerced to 2-D at `axis` (default 1)."""
        x = required(ctx, node, 0)
        shape = graph.tensor_shape(x)
        axis = normalize_axis(int(attrs.get("axis", 1)), max(1, len(shape)))
        rows = num_elements(shape[:axis])
        flat = graph.ReshapeOp(x, (rows, num_elements(shape[axis:]))).result
        probabilities = graph.SoftmaxOp(flat, 1).result
        return [graph.ReshapeOp(probabilities, shape).result]

    @classmethod
    def _impl_v13(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        return [graph.SoftmaxOp(x, int(attrs.get("axis", -1))).result]


@register("LayerNormalization")
class LayerNormalization(OnnxOpConverter):
    """Normalizes over the dims from `axis` on; the optional Mean and InvStdDev outputs are
    computed by reductions beside it."""

    @classmethod
    def _impl_v17(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, scale = required(ctx, node, 0), required(ctx, node, 1)
        bias = ctx.input(node, 2)
        if bias is None:
            bias = ctx.tensor(np.zeros(graph.tensor_shape(scale), dtype=np.float32), "zero_bias")
        axis, epsilon = int(attrs.get("axis", -1)), float(attrs.get("epsilon", 1e-5))
        normalized = graph.LayerNormOp(x, scale, bias, axis, epsilon)
        if not any(node.output[1:]):
            return [normalized.result]
        axes = list(range(normalized.axis.value.data, len(graph.tensor_shape(x))))
        mean = graph.ReduceOp(x, "mean", axes, True).result
        centered = graph.SubOp(x, mean).result
        variance = graph.ReduceOp(graph.MulOp(centered, centered).result, "mean", axes, True).result
        shifted = graph.AddOp(variance, ctx.tensor(np.array(epsilon, np.float32), "epsilon")).result
        inverse = graph.ReciprocalOp(graph.SqrtOp(shifted).result).result
        return [normalized.result, mean, inverse]


def _reduce_axes(
    ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any], rank: int
) -> list[int] | None:
    """The axes to reduce (from the attribute or the constant second input); None = identity."""
    if "axes" in attrs:
        axes = [int(a) for a in attrs["axes"]]
    else:
        given = ctx.constant_input(node, 1)
        if given is None and ctx.input(node, 1) is not None:
            raise ctx.unsupported("its axes are computed at run time")
        axes = [] if given is None else [int(a) for a in np.asarray(given).reshape(-1)]
    if not axes:
        return None if int(attrs.get("noop_with_empty_axes", 0)) else list(range(rank))
    return axes


BOOL_REDUCTIONS = {"max": "sum", "min": "prod"}
"""ReduceMax of bools is any (a count of true values that is not zero), ReduceMin all (a
product of ones and zeros); an empty set gives false and true, as ONNX's lowest and highest
bool."""


def _bool_reduction(
    ctx: ImportContext, x: SSAValue, kind: str, axes: list[int], keepdims: bool
) -> SSAValue:
    if kind not in BOOL_REDUCTIONS:
        raise ctx.error(f"bool tensors have no {kind} reduction")
    counts = graph.CastOp(x, i32).result
    return graph.CastOp(
        graph.ReduceOp(counts, BOOL_REDUCTIONS[kind], axes, keepdims).result, i1
    ).result


def _reduction(kind: str) -> type[OnnxOpConverter]:
    def impl(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        axes = _reduce_axes(ctx, node, attrs, len(graph.tensor_shape(x)))
        if axes is None:
            return [x]
        keepdims = bool(attrs.get("keepdims", 1))
        if graph.element_type_of(x) == i1:
            return [_bool_reduction(ctx, x, kind, axes, keepdims)]
        return [graph.ReduceOp(x, kind, axes, keepdims).result]

    return type(f"Reduce{kind.title()}", (OnnxOpConverter,), {"_impl_v1": classmethod(impl)})


for _kind, _name in (
    ("sum", "ReduceSum"),
    ("mean", "ReduceMean"),
    ("max", "ReduceMax"),
    ("min", "ReduceMin"),
    ("prod", "ReduceProd"),
):
    register(_name)(_reduction(_kind))
