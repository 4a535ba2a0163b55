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


def packed_conv_nchwc(
    op: WeightedWindowOp,
    args: Sequence[SSAValue],
    product_of: WordProduct,
    pad_word: int,
    tag: str,
) -> SSAValue:
    """out[n, F, oh, ow, f] = bias[F*ob + f] + sum over (I, kh, kw, j) of
    product_of(x[n, I, oh*s - p + kh*d, ow*s - p + kw*d, j], w[F, I, kh, kw, j, f]): the
    blocked form of `packed_conv`, with the output block innermost (the vector lanes, one
    contiguous store) as graph.conv_nchwc has it."""
    x, w, b = args
    w_shape = graph.tensor_shape(w)
    out_block = w_shape[5]
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values
    padded = [False, False, pads[0] + pads[2] > 0, pads[1] + pads[3] > 0, False]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, outer, oh, ow, inner = idx

        def product(k: Sequence[SSAValue]) -> SSAValue:
            block, kh, kw, word = k
            h = window_position(oh, kh, strides[0], pads[0], dilations[0])
            v = window_position(ow, kw, strides[1], pads[1], dilations[1])
            value = tb.read_or(x, [n, block, h, v, word], pad_word, padded)
            return product_of(value, tb.read(w, [outer, block, kh, kw, word, inner]))

        channel = tb.index_add(tb.index_mul(outer, out_block), inner)
        return tb.reduce("sum", w_shape[1:5], product, init=tb.read(b, [channel]))

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
