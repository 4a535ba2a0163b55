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
from ziggurat.lowering.strategies.conv import window_position

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
    x, w, b = args
    w_shape = graph.tensor_shape(w)
    spatial = len(w_shape) - 2
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values
    padded = [False, False, *(pads[d] > 0 or pads[spatial + d] > 0 for d in range(spatial))]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, f, outs = idx[0], idx[1], idx[2:]

        def product(k: Sequence[SSAValue]) -> SSAValue:
            c, taps = k[0], k[1:]
            positions = [
                window_position(outs[d], taps[d], strides[d], pads[d], dilations[d])
                for d in range(spatial)
            ]
            value = tb.read_or(x, [n, c, *positions], 0, padded)
            return dot2(value, tb.read(w, [f, c, *taps]))

        return tb.reduce("sum", w_shape[1:], product, init=tb.read(b, [f]))

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="conv_bf16")


def matmul_bf16(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[.., i, j] = sum over k of dot2(a[.., i, k], b[k, j]), in f32."""
    assert isinstance(op, graph.MatmulBf16Op)
    a, b = args
    k_extent = graph.tensor_shape(b)[0]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        rows, j = idx[:-1], idx[-1]

        def product(k: Sequence[SSAValue]) -> SSAValue:
            return dot2(tb.read(a, [*rows, k[0]]), tb.read(b, [k[0], j]))

        return tb.reduce("sum", [k_extent], product)

    return tb.compute(graph.tensor_shape(op.result), element, tag="matmul_bf16")


BF16_STRATEGIES: dict[type[Operation], Strategy] = {
    graph.PackBf16x2Op: pack_bf16x2,
    graph.ConvBf16Op: conv_bf16,
    graph.MatmulBf16Op: matmul_bf16,
}
