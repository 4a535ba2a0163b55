"""Per-op strategies: how each graph op is computed as tensor expressions (TVM's TOPI idea).

A strategy receives the graph op and the kernel values standing for its operands, builds
te.compute ops with `te_builder` (inside an ImplicitBuilder on the kernel body) and returns
the value holding the op's result. `STRATEGIES` is the table convert-graph-to-te consults.
"""

from collections.abc import Callable, Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.shapes import num_elements
from ziggurat.lowering import te_builder as tb

Strategy = Callable[[Operation, Sequence[SSAValue]], SSAValue]


def _elementwise_shape(op: Operation) -> tuple[int, ...]:
    return graph.tensor_shape(op.results[0])


def _unary(scalar: Callable[[SSAValue], SSAValue], tag: str) -> Strategy:
    def strategy(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
        (x,) = args
        return tb.compute(_elementwise_shape(op), lambda idx: scalar(tb.read(x, idx)), tag=tag)

    return strategy


def gelu(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.GeluOp)
    (x,) = args
    return tb.compute(
        _elementwise_shape(op),
        lambda idx: tb.gelu(tb.read(x, idx), op.approximate.data),
        tag="gelu",
    )


def _binary(combine: Callable[[SSAValue, SSAValue], SSAValue], tag: str) -> Strategy:
    def strategy(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
        lhs, rhs = args
        return tb.compute(
            _elementwise_shape(op),
            lambda idx: combine(tb.read_broadcast(lhs, idx), tb.read_broadcast(rhs, idx)),
            tag=tag,
        )

    return strategy


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


STRATEGIES: dict[type[Operation], Strategy] = {
    graph.ReluOp: _unary(lambda x: tb.maximum(x, tb.const_float(0.0)), "relu"),
    graph.SigmoidOp: _unary(tb.sigmoid, "sigmoid"),
    graph.TanhOp: _unary(tb.tanh, "tanh"),
    graph.ErfOp: _unary(tb.erf, "erf"),
    graph.ExpOp: _unary(tb.exp, "exp"),
    graph.LogOp: _unary(tb.log, "log"),
    graph.SqrtOp: _unary(tb.sqrt, "sqrt"),
    graph.NegOp: _unary(tb.neg, "neg"),
    graph.ReciprocalOp: _unary(lambda x: tb.div(tb.const_float(1.0), x), "reciprocal"),
    graph.GeluOp: gelu,
    graph.AddOp: _binary(tb.add, "add"),
    graph.SubOp: _binary(tb.sub, "sub"),
    graph.MulOp: _binary(tb.mul, "mul"),
    graph.DivOp: _binary(tb.div, "div"),
    graph.PowOp: _binary(tb.pow, "pow"),
    graph.MaxOp: _binary(tb.maximum, "max"),
    graph.MinOp: _binary(tb.minimum, "min"),
    graph.TransposeOp: transpose,
    graph.LayerNormOp: layer_norm,
    graph.MatmulOp: matmul,
    graph.SoftmaxOp: softmax,
    graph.ReshapeOp: reshape,
}
