"""Strategies for the convolution family: convolution, pooling, batch normalization and
local response normalization. Padding is read as a select on a clamped read, so no padded
copy of the input is made."""

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb


def window_position(out: SSAValue, k: SSAValue, stride: int, pad: int, dilation: int) -> SSAValue:
    """The input coordinate out * stride - pad + k * dilation (signed: may fall in padding)."""
    position = tb.index_add(tb.index_mul(out, stride), tb.index_mul(k, dilation))
    return tb.index_sub(position, tb.const_index(pad)) if pad else position


def conv(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[n, f, o..] = bias[f] + sum over c, k.. of x[n, g*Cg + c, o*s - p + k*d] * w[f, c, k..]."""
    assert isinstance(op, graph.ConvOp)
    x, w, b = args
    w_shape = graph.tensor_shape(w)
    spatial = len(w_shape) - 2
    groups = op.groups.value.data
    per_group_out = w_shape[0] // groups
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values
    padded = [False, False, *(pads[d] > 0 or pads[spatial + d] > 0 for d in range(spatial))]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, f, outs = idx[0], idx[1], idx[2:]
        group_base = tb.index_mul(tb.index_div(f, per_group_out), w_shape[1])

        def product(k: Sequence[SSAValue]) -> SSAValue:
            c, taps = k[0], k[1:]
            channel = tb.index_add(group_base, c) if groups > 1 else c
            positions = [
                window_position(outs[d], taps[d], strides[d], pads[d], dilations[d])
                for d in range(spatial)
            ]
            value = tb.read_or(x, [n, channel, *positions], 0.0, padded)
            return tb.mul(value, tb.read(w, [f, c, *taps]))

        return tb.reduce("sum", w_shape[1:], product, init=tb.read(b, [f]))

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="conv")


def inside_window(
    op: graph.PoolOp | graph.PoolNchwcOp,
    positions: Sequence[SSAValue],
    shape: Sequence[int],
    pads: Sequence[int],
) -> SSAValue:
    """1.0 where a pooling window's tap falls inside the input (inside the padded input with
    count_include_pad), else 0.0: summed, the divisor of an average pool. `shape` holds the
    spatial extents at 2, 3, ... (NCHW and NCHW[x]c alike)."""
    spatial = len(positions)
    inside: SSAValue | None = None
    for d, position in enumerate(positions):
        if op.count_include_pad.value.data:
            shifted = tb.index_add(position, tb.const_index(pads[d]))
            test = tb.in_range(shifted, shape[2 + d] + pads[d] + pads[spatial + d])
        else:
            test = tb.in_range(position, shape[2 + d])
        inside = test if inside is None else tb.and_(inside, test)
    assert inside is not None
    return tb.select(inside, tb.const_float(1.0), tb.const_float(0.0))


def pool(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """Max: the window's max with padding as -inf. Average: the window's sum over the count
    of positions inside the input (or inside the padded input, with count_include_pad)."""
    assert isinstance(op, graph.PoolOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    spatial = len(shape) - 2
    kernel, strides, pads, dilations = (
        op.kernel_values,
        op.stride_values,
        op.pad_values,
        op.dilation_values,
    )
    checked = [False, False, *([True] * spatial)]
    is_max = op.kind.data == "max"

    def positions(outs: Sequence[SSAValue], taps: Sequence[SSAValue]) -> list[SSAValue]:
        return [
            window_position(outs[d], taps[d], strides[d], pads[d], dilations[d])
            for d in range(spatial)
        ]

    lowest = tb.reduce_identity("max", graph.element_type_of(x))

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, c, outs = idx[0], idx[1], idx[2:]
        if is_max:
            return tb.reduce(
                "max",
                kernel,
                lambda k: tb.read_or(x, [n, c, *positions(outs, k)], lowest, checked),
            )
        total = tb.reduce(
            "sum", kernel, lambda k: tb.read_or(x, [n, c, *positions(outs, k)], 0.0, checked)
        )

        def counted(k: Sequence[SSAValue]) -> SSAValue:
            return inside_window(op, positions(outs, k), shape, pads)

        return tb.div(total, tb.reduce("sum", kernel, counted))

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag=f"{op.kind.data}_pool")


def max_pool_indices(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """The window's max as graph.pool computes it, then the least offset among the taps
    inside the input that hold it (the first in scan order) or hold NaN: row-major offsets
    grow along the scan, and column-major ones (storage_order 1) are ranked by row-major
    position before being returned."""
    assert isinstance(op, graph.MaxPoolIndicesOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    spatial = len(shape) - 2
    kernel, strides, pads, dilations = (
        op.kernel_values,
        op.stride_values,
        op.pad_values,
        op.dilation_values,
    )
    checked = [False, False, *([True] * spatial)]
    column_major = op.storage_order.value.data == 1
    never = tb.const_scalar(np.iinfo(np.int64).max, i64)

    def positions(outs: Sequence[SSAValue], taps: Sequence[SSAValue]) -> list[SSAValue]:
        return [
            window_position(outs[d], taps[d], strides[d], pads[d], dilations[d])
            for d in range(spatial)
        ]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, c, outs = idx[0], idx[1], idx[2:]

        def value(k: Sequence[SSAValue]) -> SSAValue:
            return tb.read_or(x, [n, c, *positions(outs, k)], -float("inf"), checked)

        maximum = tb.reduce("max", kernel, value)

        def offset(k: Sequence[SSAValue]) -> SSAValue:
            at = positions(outs, k)
            inside = tb.in_range(at[0], shape[2])
            for d in range(1, spatial):
                inside = tb.and_(inside, tb.in_range(at[d], shape[2 + d]))
            row_major = tb.to_i64(tb.linearize([n, c, *at], shape))
            tap = value(k)
            holds = tb.select(tb.equal(tap, maximum), row_major, never)
            return tb.select(inside, tb.select(tb.is_nan(tap), row_major, holds), never)

        first = tb.reduce("min", kernel, offset)
        if not column_major:
            return first
        return tb.to_i64(column_major_offset(tb.to_index(first), shape))

    return tb.compute(
        graph.tensor_shape(op.results[0]), element, element_type=i64, tag="max_pool_indices"
    )


def column_major_offset(row_major: SSAValue, shape: Sequence[int]) -> SSAValue:
    """A row-major offset into an N, C, spatial... tensor, re-linearized with the spatial
    dims column-major (the first varying fastest)."""
    n, c, *spatial = tb.delinearize(row_major, shape)
    base = tb.linearize([n, c], shape[:2])
    for extent in shape[2:]:
        base = tb.index_mul(base, extent)
    inner = tb.linearize(spatial[::-1], shape[2:][::-1])
    return tb.index_add(base, inner)


def batch_norm(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.BatchNormOp)
    x, scale, bias, mean, variance = args
    epsilon = op.epsilon.value.data

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        c = [idx[1]]
        inverse = tb.div(
            tb.const_float(1.0), tb.sqrt(tb.add(tb.read(variance, c), tb.const_float(epsilon)))
        )
        centered = tb.sub(tb.read(x, idx), tb.read(mean, c))
        return tb.add(tb.mul(tb.mul(centered, inverse), tb.read(scale, c)), tb.read(bias, c))

    return tb.compute(graph.tensor_shape(x), element, tag="batch_norm")


def lrn(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """x / (bias + alpha / size * sum of x^2 over channels c - (size-1)//2 .. c + size//2)^beta."""
    assert isinstance(op, graph.LrnOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    size = op.size.value.data
    before = (size - 1) // 2
    checked = [False, True, *([False] * (len(shape) - 2))]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        def square(k: Sequence[SSAValue]) -> SSAValue:
            channel = tb.index_sub(tb.index_add(idx[1], k[0]), tb.const_index(before))
            value = tb.read_or(x, [idx[0], channel, *idx[2:]], 0.0, checked)
            return tb.mul(value, value)

        total = tb.reduce("sum", [size], square)
        scaled = tb.mul(total, tb.const_float(op.alpha.value.data / size))
        denominator = tb.pow(
            tb.add(scaled, tb.const_float(op.bias.value.data)), tb.const_float(op.beta.value.data)
        )
        return tb.div(tb.read(x, idx), denominator)

    return tb.compute(shape, element, tag="lrn")


def conv_transpose(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[n, m, o..] = bias[m] + sum over c in m's group and k.. of x[n, c, i..] * w[c, m', k..]
    where i * stride = o + pad - k * dilation (taps with no such whole, in-range i add 0)."""
    assert isinstance(op, graph.ConvTransposeOp)
    x, w, b = args
    x_shape, w_shape = graph.tensor_shape(x), graph.tensor_shape(w)
    spatial = len(x_shape) - 2
    groups = op.groups.value.data
    per_group_in, per_group_out = x_shape[1] // groups, w_shape[1]
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, m, outs = idx[0], idx[1], idx[2:]
        group = tb.index_div(m, per_group_out)
        local_m = tb.index_sub(m, tb.index_mul(group, per_group_out)) if groups > 1 else m

        def product(k: Sequence[SSAValue]) -> SSAValue:
            c = tb.index_add(tb.index_mul(group, per_group_in), k[0]) if groups > 1 else k[0]
            valid: SSAValue | None = None
            positions = []
            for d in range(spatial):
                shifted = tb.index_sub(
                    tb.index_add(outs[d], tb.const_index(pads[d])),
                    tb.index_mul(k[1 + d], dilations[d]),
                )
                stride = tb.const_index(strides[d])
                whole = tb.index_equal(tb.index_rem(shifted, stride), tb.const_index(0))
                position = tb.index_div_signed(shifted, stride)
                test = tb.and_(whole, tb.in_range(position, x_shape[2 + d]))
                valid = test if valid is None else tb.and_(valid, test)
                positions.append(tb.clamp_index(position, x_shape[2 + d]))
            value = tb.mul(tb.read(x, [n, c, *positions]), tb.read(w, [c, local_m, *k[1:]]))
            assert valid is not None
            return tb.select(valid, value, tb.const_float(0.0))

        return tb.reduce("sum", [per_group_in, *w_shape[2:]], product, init=tb.read(b, [m]))

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="conv_transpose")
