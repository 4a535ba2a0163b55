"""Strategies for data movement: reshape, transpose, copy."""

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.lowering import te_builder as tb


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
