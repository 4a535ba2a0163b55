"""Elementwise strategies: one te.compute mapping each element."""

from collections.abc import Callable, Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.lowering.strategies.base import Strategy, result_shape


def unary(scalar: Callable[[SSAValue], SSAValue], tag: str) -> Strategy:
    def strategy(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
        (x,) = args
        return tb.compute(result_shape(op), lambda idx: scalar(tb.read(x, idx)), tag=tag)

    return strategy


def gelu(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    assert isinstance(op, graph.GeluOp)
    (x,) = args
    return tb.compute(
        result_shape(op),
        lambda idx: tb.gelu(tb.read(x, idx), op.approximate.data),
        tag="gelu",
    )


def binary(combine: Callable[[SSAValue, SSAValue], SSAValue], tag: str) -> Strategy:
    def strategy(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
        lhs, rhs = args
        return tb.compute(
            result_shape(op),
            lambda idx: combine(tb.read_broadcast(lhs, idx), tb.read_broadcast(rhs, idx)),
            tag=tag,
        )

    return strategy


def modulo(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.mod: the remainder with the sign its `truncated` flag picks."""
    assert isinstance(op, graph.ModOp)
    truncated = op.truncated is not None
    return binary(lambda a, b: tb.remainder(a, b, truncated), "mod")(op, args)


def scalar_param(scalar: Callable[[Operation, SSAValue], SSAValue], tag: str) -> Strategy:
    """An elementwise map whose scalar body reads the op's float parameters."""

    def strategy(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
        (x,) = args
        return tb.compute(result_shape(op), lambda idx: scalar(op, tb.read(x, idx)), tag=tag)

    return strategy


def clip_scalar(op: Operation, x: SSAValue) -> SSAValue:
    assert isinstance(op, graph.ClipOp)
    low, high = op.param("min"), op.param("max")
    if low != -float("inf"):
        x = tb.maximum(x, tb.const_float(low))
    if high != float("inf"):
        x = tb.minimum(x, tb.const_float(high))
    return x


def leaky_relu_scalar(op: Operation, x: SSAValue) -> SSAValue:
    assert isinstance(op, graph.LeakyReluOp)
    return tb.select(
        tb.less(x, tb.const_float(0.0)), tb.mul(x, tb.const_float(op.param("alpha"))), x
    )


def hard_sigmoid_scalar(op: Operation, x: SSAValue) -> SSAValue:
    assert isinstance(op, graph.HardSigmoidOp)
    linear = tb.add(tb.mul(x, tb.const_float(op.param("alpha"))), tb.const_float(op.param("beta")))
    return tb.maximum(tb.const_float(0.0), tb.minimum(tb.const_float(1.0), linear))


def prelu_scalar(x: SSAValue, slope: SSAValue) -> SSAValue:
    return tb.select(tb.less(x, tb.const_float(0.0)), tb.mul(x, slope), x)


def cast(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    (x,) = args
    target = graph.element_type_of(op.results[0])
    return tb.compute(result_shape(op), lambda idx: tb.cast(tb.read(x, idx), target), tag="cast")
