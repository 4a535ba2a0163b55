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
