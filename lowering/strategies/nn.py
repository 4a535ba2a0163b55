"""Strategies for dense and normalization ops: matmul, softmax, layer_norm."""

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.dialects.shapes import num_elements


def matmul(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[b.., i, j] = alpha * sum_k A[b.., i, k] * B[b.., k, j], batch dims broadcast."""
    assert isinstance(op, graph.MatmulOp)
    a, b = args
    out_shape = graph.tensor_shape(op.result)
    a_shape, b_shape = graph.tensor_shape(a), graph.tensor_shape(b)
    transpose_a, transpose_b = op.transpose_a is not None, op.transpose_b is not None
    k_extent = a_shape[-2] if transpose_a else a_shape[-1]
    batch_rank = len(out_shape) - 2

    def batch_indices(shape: Sequence[int], idx: Sequence[SSAValue]) -> list[SSAValue]:
        own = shape[:-2]
        offset = batch_rank - len(own)
        return [tb.const_index(0) if d == 1 else idx[offset + n] for n, d in enumerate(own)]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        i, j = idx[-2], idx[-1]

        def product(k: Sequence[SSAValue]) -> SSAValue:
            a_index = [k[0], i] if transpose_a else [i, k[0]]
            b_index = [j, k[0]] if transpose_b else [k[0], j]
            lhs = tb.read(a, batch_indices(a_shape, idx) + a_index)
            rhs = tb.read(b, batch_indices(b_shape, idx) + b_index)
            return tb.mul(lhs, rhs)

        total = tb.reduce("sum", [k_extent], product)
        return total if op.scale == 1.0 else tb.mul(total, tb.const_float(op.scale))

    return tb.compute(out_shape, element, tag="matmul")


def layer_norm(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """Mean, variance (two passes, numerically stable), then normalize, scale and shift."""
    assert isinstance(op, graph.LayerNormOp)
    x, scale, bias = args
    shape = graph.tensor_shape(x)
    axis = op.axis.value.data
    outer, inner = shape[:axis], shape[axis:]
    count = tb.const_float(float(max(1, num_elements(inner))))

    def full(idx: Sequence[SSAValue], k: Sequence[SSAValue]) -> list[SSAValue]:
        return [*idx, *k]

    mean = tb.compute(
        outer,
        lambda idx: tb.div(tb.reduce("sum", inner, lambda k: tb.read(x, full(idx, k))), count),
        tag="layer_norm_mean",
    )

    def squared_deviation(idx: Sequence[SSAValue], k: Sequence[SSAValue]) -> SSAValue:
        deviation = tb.sub(tb.read(x, full(idx, k)), tb.read(mean, idx))
        return tb.mul(deviation, deviation)

    variance = tb.compute(
        outer,
        lambda idx: tb.div(tb.reduce("sum", inner, lambda k: squared_deviation(idx, k)), count),
        tag="layer_norm_var",
    )
    epsilon = op.epsilon.value.data

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        head, tail = idx[:axis], idx[axis:]
        centered = tb.sub(tb.read(x, idx), tb.read(mean, head))
        inverse = tb.div(
            tb.const_float(1.0), tb.sqrt(tb.add(tb.read(variance, head), tb.const_float(epsilon)))
        )
        normalized = tb.mul(centered, inverse)
        return tb.add(
            tb.mul(normalized, tb.read_broadcast(scale, tail)), tb.read_broadcast(bias, tail)
        )

    return tb.compute(shape, element, tag="layer_norm")


def softmax(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """Numerically stable: max, exp(x - max), sum, divide; four computes in one kernel."""
    assert isinstance(op, graph.SoftmaxOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    axis = op.axis.value.data
    reduced_shape = shape[:axis] + shape[axis + 1 :]

    def with_axis(idx: Sequence[SSAValue], k: SSAValue) -> list[SSAValue]:
        return [*idx[:axis], k, *idx[axis:]]

    def without_axis(idx: Sequence[SSAValue]) -> list[SSAValue]:
        return [*idx[:axis], *idx[axis + 1 :]]

    peak = tb.compute(
        reduced_shape,
        lambda idx: tb.reduce("max", [shape[axis]], lambda k: tb.read(x, with_axis(idx, k[0]))),
        tag="softmax_max",
    )
    exps = tb.compute(
        shape,
        lambda idx: tb.exp(tb.sub(tb.read(x, idx), tb.read(peak, without_axis(idx)))),
        tag="softmax_exp",
    )
    total = tb.compute(
        reduced_shape,
        lambda idx: tb.reduce("sum", [shape[axis]], lambda k: tb.read(exps, with_axis(idx, k[0]))),
        tag="softmax_sum",
    )
    return tb.compute(
        shape,
        lambda idx: tb.div(tb.read(exps, idx), tb.read(total, without_axis(idx))),
        tag="softmax",
    )


def reduce(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[kept dims] = fold over the reduced dims; mean divides the sum by their count."""
    assert isinstance(op, graph.ReduceOp)
    (x,) = args
    shape = graph.tensor_shape(x)
    axes = op.axis_values
    keepdims = bool(op.keepdims.value.data)
    kind = op.kind.data
    extents = [shape[a] for a in axes]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        kept = [d for n, d in enumerate(idx) if n not in axes] if keepdims else list(idx)

        def at(k: Sequence[SSAValue]) -> SSAValue:
            reduced, rest = iter(k), iter(kept)
            return tb.read(
                x, [next(reduced) if d in axes else next(rest) for d in range(len(shape))]
            )

        total = tb.reduce("sum" if kind == "mean" else kind, extents, at)
        if kind == "mean":
            return tb.div(total, tb.const_float(float(max(1, num_elements(extents)))))
        return total

    return tb.compute(graph.tensor_shape(op.results[0]), element, tag=f"reduce_{kind}")
