"""Strategies for the bf16 fast path's graph ops (dialects/graph/bf16.py): the packing of bf16
values two to an i32, and the convolution and matmul as f32 reductions of `bf16.dot2` over
the packed axis, which the register-tile template tiles and vectorizes like any reduction
(the weight's packed output channels becoming the vector lanes)."""

from collections.abc import Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import i32
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.dialects.bf16 import Dot2Op
from ziggurat.lowering.strategies.base import Strategy
from ziggurat.lowering.strategies.packed_products import (
    packed_conv,
    packed_conv_nchwc,
    packed_matmul,
)

BF16_PER_WORD = 2
HIGH_HALF = -(1 << 16)
"""0xFFFF0000 as an i32: the bits of a bf16 value held in an f32."""


def dot2(x: SSAValue, w: SSAValue) -> SSAValue:
    return Dot2Op(x, w).result


def pack_bf16x2(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[.., j, ..] = the bf16 bits of x[.., 2j, ..] (low half) and x[.., 2j + 1, ..] (high
    half), 0 past the end."""
    assert isinstance(op, graph.PackBf16x2Op)
    (x,) = args
    shape = graph.tensor_shape(x)
    axis = op.axis.value.data
    checked = [shape[axis] % BF16_PER_WORD != 0 and n == axis for n in range(len(shape))]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        halves = []
        for half in range(BF16_PER_WORD):
            position = tb.index_add(tb.index_mul(idx[axis], BF16_PER_WORD), tb.const_index(half))
            at = [position if n == axis else index for n, index in enumerate(idx)]
            bits = arith.BitcastOp(tb.read_or(x, at, 0.0, checked), i32).result
            halves.append(bits)
        low = arith.ShRUIOp(halves[0], tb.const_scalar(16, i32)).result
        high = arith.AndIOp(halves[1], tb.const_scalar(HIGH_HALF, i32)).result
        return arith.OrIOp(low, high).result

    return tb.compute(graph.tensor_shape(op.result), element, tag="pack_bf16x2")


def conv_bf16(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[n, f, o..] = bias[f] + sum over c, k.. of dot2(x[n, c, o*s - p + k*d], w[f, c, k..]),
    padding reading 0."""
    assert isinstance(op, graph.ConvBf16Op)
    return packed_conv(op, args, dot2, op.pad_word, "conv_bf16")


def conv_bf16_nchwc(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.conv_bf16 on blocked packed pairs, the output channel block innermost."""
    assert isinstance(op, graph.ConvBf16NchwcOp)
    return packed_conv_nchwc(op, args, dot2, op.pad_word, "conv_bf16_nchwc")


def matmul_bf16(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[.., i, j] = sum over k of dot2(a[.., i, k], b[k, j]), in f32."""
    assert isinstance(op, graph.MatmulBf16Op)
    return packed_matmul(op.result, args, dot2, "matmul_bf16")


BF16_STRATEGIES: dict[type[Operation], Strategy] = {
    graph.PackBf16x2Op: pack_bf16x2,
    graph.ConvBf16Op: conv_bf16,
    graph.ConvBf16NchwcOp: conv_bf16_nchwc,
    graph.MatmulBf16Op: matmul_bf16,
}
