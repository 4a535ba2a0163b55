"""Elementwise strategies: one te.compute mapping each element."""

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import f32, i32
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


def quantize(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.quantize: x / scale (in x's type if the scale has it, else f32), rounded half to
    even, plus the zero point, saturated by the cast to the result type."""
    x, scale, zero_point = args
    x_type = graph.element_type_of(x)
    working = x_type if graph.element_type_of(scale) == x_type else f32
    target = graph.element_type_of(op.results[0])

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        quotient = tb.div(
            tb.cast(tb.read(x, idx), working), tb.cast(tb.read_broadcast(scale, idx), working)
        )
        rounded = tb.round_even(tb.cast(quotient, f32))
        shifted = tb.add(rounded, tb.cast(tb.read_broadcast(zero_point, idx), f32))
        return tb.cast(shifted, target)

    return tb.compute(result_shape(op), element, tag="quantize")


def dequantize(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.dequantize: (x - zero point) in int32, times the scale in f32."""
    x, scale, zero_point = args
    target = graph.element_type_of(op.results[0])

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        difference = tb.sub(
            tb.cast(tb.read(x, idx), i32), tb.cast(tb.read_broadcast(zero_point, idx), i32)
        )
        product = tb.mul(tb.cast(difference, f32), tb.cast(tb.read_broadcast(scale, idx), f32))
        return tb.cast(product, target)

    return tb.compute(result_shape(op), element, tag="dequantize")
