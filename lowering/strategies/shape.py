"""Strategies for data movement and selection: reshape, transpose, concat, slice, broadcast,
pad, gather, where, equal, copy."""

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb


def transpose(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[i0, ..., in] = x[j] where j[perm[d]] = i[d]."""
    assert isinstance(op, graph.TransposeOp)
    (x,) = args
    perm = op.permutation

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        source = [idx[0]] * len(perm)
        for d, p in enumerate(perm):
            source[p] = idx[d]
        return tb.read(x, source)

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="transpose")


def reshape(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    (x,) = args
    out_shape = graph.tensor_shape(op.results[0])
    in_shape = graph.tensor_shape(x)
    return tb.compute(
        out_shape,
        lambda idx: tb.read(x, tb.delinearize(tb.linearize(idx, out_shape), in_shape)),
        tag="reshape",
    )


def copy(shape: Sequence[int], x: SSAValue) -> SSAValue:
    """The identity kernel, for graph outputs that are inputs, weights or repeated."""
    return tb.compute(shape, lambda idx: tb.read(x, idx), tag="copy")


def concat(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """Each element from the input whose slice of `axis` holds it: clamped reads of every
    input, then a chain of selects on the axis index."""
    assert isinstance(op, graph.ConcatOp)
    axis = op.axis.value.data

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        offset = 0
        value: SSAValue | None = None
        for tensor in args:
            size = graph.tensor_shape(tensor)[axis]
            local = tb.index_sub(idx[axis], tb.const_index(offset)) if offset else idx[axis]
            indices = [*idx[:axis], tb.clamp_index(local, size), *idx[axis + 1 :]]
            read = tb.read(tensor, indices)
            value = read if value is None else tb.select(tb.in_range(local, size), read, value)
            offset += size
        assert value is not None
        return value

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="concat")


def slice_(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.SliceOp)
    (x,) = args
    starts, steps = tuple(op.starts.get_values()), tuple(op.steps.get_values())

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        source = []
        for i, start, step in zip(idx, starts, steps, strict=True):
            scaled = tb.index_mul(i, abs(step))
            offset = tb.const_index(start)
            source.append(
                tb.index_add(offset, scaled) if step > 0 else tb.index_sub(offset, scaled)
            )
        return tb.read(x, source)

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="slice")


def broadcast(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    (x,) = args
    return tb.compute(
        graph.tensor_shape(op.results[0]), lambda idx: tb.read_broadcast(x, idx), tag="broadcast"
    )


def _pad_source(index: SSAValue, before: int, size: int, mode: str) -> SSAValue:
    """The input coordinate an output coordinate of an edge/reflect/wrap pad reads."""
    j = tb.index_sub(index, tb.const_index(before)) if before else index
    if mode == "edge":
        return tb.clamp_index(j, size)
    if mode == "wrap":
        n = tb.const_index(size)
        return tb.index_rem(tb.index_add(tb.index_rem(j, n), n), n)
    zero, last = tb.const_index(0), tb.const_index(size - 1)
    mirrored_low = tb.select(tb.index_less(j, zero), tb.index_sub(zero, j), j)
    beyond = tb.index_sub(tb.index_mul(last, 2), mirrored_low)
    return tb.select(tb.index_less(last, mirrored_low), beyond, mirrored_low)


def pad(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.PadOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    pads, mode = op.pad_values, op.mode.data
    rank = len(shape)

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        if mode == "constant":
            shifted = [
                tb.index_sub(i, tb.const_index(pads[d])) if pads[d] else i
                for d, i in enumerate(idx)
            ]
            padded = [pads[d] > 0 or pads[rank + d] > 0 for d in range(rank)]
            return tb.read_or(x, shifted, op.value.value.data, padded)
        return tb.read(x, [_pad_source(i, pads[d], shape[d], mode) for d, i in enumerate(idx)])

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag=f"pad_{mode}")


def gather(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.GatherOp)
    x, indices = args
    axis = op.axis.value.data
    size = graph.tensor_shape(x)[axis]
    index_rank = len(graph.tensor_shape(indices))

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        position = tb.to_index(tb.read(indices, idx[axis : axis + index_rank]))
        wrapped = tb.select(
            tb.index_less(position, tb.const_index(0)),
            tb.index_add(position, tb.const_index(size)),
            position,
        )
        return tb.read(x, [*idx[:axis], wrapped, *idx[axis + index_rank :]])

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag="gather")


def where(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    condition, x, y = args
    return tb.compute(
        graph.tensor_shape(op.results[0]),
        lambda idx: tb.select(
            tb.read_broadcast(condition, idx), tb.read_broadcast(x, idx), tb.read_broadcast(y, idx)
        ),
        tag="where",
    )


def equal(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    lhs, rhs = args
    return tb.compute(
        graph.tensor_shape(op.results[0]),
        lambda idx: tb.equal(tb.read_broadcast(lhs, idx), tb.read_broadcast(rhs, idx)),
        tag="equal",
    )
