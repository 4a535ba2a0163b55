"""Strategies for the blocked-layout ops: the layout transform, the NCHW[x]c convolution and
pooling. Every compute keeps the channel block as its innermost output dim, the dim that
schedules vectorize."""

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.lowering.strategies.base import Strategy, result_shape
from ziggurat.lowering.strategies.conv import inside_window, window_position


def layout_transform(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[dst index] = x[src index]: each whole axis' position is rebuilt from the target's
    outer and block indices, then split by the source's block (kept as is where the two
    layouts block an axis alike)."""
    assert isinstance(op, graph.LayoutTransformOp)
    (x,) = args
    src = graph.Layout.parse(op.src_layout.data)
    dst = graph.Layout.parse(op.dst_layout.data)

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        at = dict(zip(dst.axes, idx, strict=True))
        source: dict[str, SSAValue] = {}
        for axis in src.primal_axes:
            inner = axis.lower()
            if src.block(axis) == dst.block(axis):
                source[axis] = at[axis]
                if inner in src.blocks:
                    source[inner] = at[inner]
                continue
            whole = at[axis]
            if inner in dst.blocks:
                whole = tb.index_add(tb.index_mul(whole, dst.blocks[inner]), at[inner])
            source[axis] = tb.index_div(whole, src.block(axis))
            if inner in src.blocks:
                source[inner] = tb.index_rem(whole, tb.const_index(src.blocks[inner]))
        return tb.read(x, [source[a] for a in src.axes])

    return tb.compute(result_shape(op), element, tag="layout_transform")


def conv_nchwc(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[n, F, oh, ow, f] = bias[F*ob + f] + sum over (I, kh, kw, i) of
    x[n, c / ib, oh*s - p + kh*d, ow*s - p + kw*d, c % ib] * w[F, I, kh, kw, i, f],
    with c = group * Ig + I*wi + i the input channel. Plain convolutions (blocks alike) read
    x[n, I, .., i]; depthwise ones read x[n, F, .., f]."""
    assert isinstance(op, graph.ConvNchwcOp)
    x, w, b = args
    x_shape, w_shape = graph.tensor_shape(x), graph.tensor_shape(w)
    in_block, weight_in_block, out_block = x_shape[4], w_shape[4], w_shape[5]
    groups = op.groups.value.data
    per_group_in = w_shape[1] * weight_in_block
    per_group_out = w_shape[0] * out_block // groups
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values
    padded = [False, False, pads[0] + pads[2] > 0, pads[1] + pads[3] > 0, False]
    plain = groups == 1 and weight_in_block == in_block
    depthwise = per_group_in == 1 and per_group_out == 1 and in_block == out_block

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, outer, oh, ow, inner = idx
        channel_out = tb.index_add(tb.index_mul(outer, out_block), inner)

        def product(k: Sequence[SSAValue]) -> SSAValue:
            block, kh, kw, lane = k
            if plain:
                at = (block, lane)
            elif depthwise:
                at = (outer, inner)
            else:
                group_base = tb.index_mul(tb.index_div(channel_out, per_group_out), per_group_in)
                local = tb.index_add(tb.index_mul(block, weight_in_block), lane)
                channel = tb.index_add(group_base, local)
                at = (
                    tb.index_div(channel, in_block),
                    tb.index_rem(channel, tb.const_index(in_block)),
                )
            h = window_position(oh, kh, strides[0], pads[0], dilations[0])
            v = window_position(ow, kw, strides[1], pads[1], dilations[1])
            value = tb.read_or(x, [n, at[0], h, v, at[1]], 0.0, padded)
            return tb.mul(value, tb.read(w, [outer, block, kh, kw, lane, inner]))

        extents = [w_shape[1], w_shape[2], w_shape[3], weight_in_block]
        return tb.reduce("sum", extents, product, init=tb.read(b, [channel_out]))

    return tb.compute(result_shape(op), element, tag="conv_nchwc")


def pool_nchwc(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.pool's max or average over the H and W dims, channel dims (1 and 4) carried
    through."""
    assert isinstance(op, graph.PoolNchwcOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    kernel, strides, pads, dilations = (
        op.kernel_values,
        op.stride_values,
        op.pad_values,
        op.dilation_values,
    )
    checked = [False, False, True, True, False]

    def positions(outs: Sequence[SSAValue], taps: Sequence[SSAValue]) -> list[SSAValue]:
        return [
            window_position(outs[d], taps[d], strides[d], pads[d], dilations[d]) for d in (0, 1)
        ]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, outer, oh, ow, inner = idx

        def at(k: Sequence[SSAValue]) -> list[SSAValue]:
            h, v = positions((oh, ow), k)
            return [n, outer, h, v, inner]

        if op.kind.data == "max":
            lowest = tb.reduce_identity("max", graph.element_type_of(x))
            return tb.reduce("max", kernel, lambda k: tb.read_or(x, at(k), lowest, checked))
        total = tb.reduce("sum", kernel, lambda k: tb.read_or(x, at(k), 0.0, checked))

        def counted(k: Sequence[SSAValue]) -> SSAValue:
            return inside_window(op, positions((oh, ow), k), shape, pads)

        return tb.div(total, tb.reduce("sum", kernel, counted))

    return tb.compute(result_shape(op), element, tag=f"{op.kind.data}_pool_nchwc")


LAYOUT_STRATEGIES: dict[type[Operation], Strategy] = {
    graph.LayoutTransformOp: layout_transform,
    graph.ConvNchwcOp: conv_nchwc,
    graph.PoolNchwcOp: pool_nchwc,
}
