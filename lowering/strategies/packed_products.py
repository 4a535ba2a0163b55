"""Convolution and matmul over operands packed several narrow values to an i32 (the int8 and
bf16 fast paths): reductions of a word product (`int8.dot4`, `bf16.dot2`) over the packed
axis, which the register-tile template tiles and vectorizes like any reduction (the
weight's packed output channels becoming the vector lanes)."""

from collections.abc import Callable, Sequence

from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.dialects.graph.conv import WeightedWindowOp
from ziggurat.lowering.strategies.conv import window_position

WordProduct = Callable[[SSAValue, SSAValue], SSAValue]
"""The sum of the products of two packed words' values (the reduction's term)."""


def packed_conv(
    op: WeightedWindowOp,
    args: Sequence[SSAValue],
    product_of: WordProduct,
    pad_word: int,
    tag: str,
) -> SSAValue:
    """out[n, f, o..] = bias[f] + sum over c, k.. of product_of(x[n, c, o*s - p + k*d],
    w[f, c, k..]), padding reading `pad_word`."""
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
            value = tb.read_or(x, [n, c, *positions], pad_word, padded)
            return product_of(value, tb.read(w, [f, c, *taps]))

        return tb.reduce("sum", w_shape[1:], product, init=tb.read(b, [f]))

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag=tag)


def packed_matmul(
    result: SSAValue, args: Sequence[SSAValue], product_of: WordProduct, tag: str
) -> SSAValue:
    """out[.., i, j] = sum over k of product_of(a[.., i, k], b[k, j]), b a 2-D weight."""
    a, b = args
    k_extent = graph.tensor_shape(b)[0]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        rows, j = idx[:-1], idx[-1]

        def product(k: Sequence[SSAValue]) -> SSAValue:
            return product_of(tb.read(a, [*rows, k[0]]), tb.read(b, [k[0], j]))

        return tb.reduce("sum", [k_extent], product)

    return tb.compute(graph.tensor_shape(result), element, tag=tag)
