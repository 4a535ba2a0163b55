"""Elementwise strategies: one te.compute mapping each element."""

from collections.abc import Callable, Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.lowering import te_builder as tb
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
