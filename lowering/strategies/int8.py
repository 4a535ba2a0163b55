"""Strategies for the int8 fast path's graph ops (dialects/graph/int8.py): the packing of an
8-bit activation four bytes to an i32, and the convolution and matmul as reductions of
`int8.dot4` over the packed axis, which the register-tile template tiles and vectorizes like
any reduction (the weight's packed output channels becoming the vector lanes)."""

from collections.abc import Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import i32
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.dialects.int8 import Dot4Op
from ziggurat.lowering.strategies.base import Strategy
from ziggurat.lowering.strategies.packed_products import (
    packed_conv,
    packed_conv_nchwc,
    packed_matmul,
)

BYTES_PER_WORD = 4


def dot4(x: SSAValue, w: SSAValue) -> SSAValue:
    return Dot4Op(x, w).result


def _shifted_byte(value: SSAValue, signed: bool, byte: int) -> SSAValue:
    """An 8-bit entry as an unsigned byte (+128 if signed) placed at byte `byte` of an i32."""
    wide = tb.cast(value, i32)
    if signed:
        wide = arith.AddiOp(wide, tb.const_scalar(128, i32)).result
    if byte == 0:
        return wide
    return arith.ShLIOp(wide, tb.const_scalar(8 * byte, i32)).result


def pack_u8x4(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[.., j, ..] = the bytes of x[.., 4j + t, ..] for t < 4 (zero bytes past the end)."""
    assert isinstance(op, graph.PackU8x4Op)
    (x,) = args
    shape = graph.tensor_shape(x)
    axis = op.axis.value.data
    signed = str(graph.element_type_of(x)) == "i8"
    ragged = shape[axis] % BYTES_PER_WORD != 0
    checked = [ragged and n == axis for n in range(len(shape))]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        word: SSAValue | None = None
        for byte in range(BYTES_PER_WORD):
            position = tb.index_add(tb.index_mul(idx[axis], BYTES_PER_WORD), tb.const_index(byte))
            at = [position if n == axis else index for n, index in enumerate(idx)]
            value = tb.read_or(x, at, -128 if signed else 0, checked)
            placed = _shifted_byte(value, signed, byte)
            word = placed if word is None else arith.OrIOp(word, placed).result
        assert word is not None
        return word

    return tb.compute(graph.tensor_shape(op.result), element, tag="pack_u8x4")


def conv_u8s8(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[n, f, o..] = bias[f] + sum over c, k.. of dot4(x[n, c, o*s - p + k*d], w[f, c, k..]),
    padding reading the pad byte in all four bytes."""
    assert isinstance(op, graph.ConvU8S8Op)
    return packed_conv(op, args, dot4, op.pad_word, "conv_u8s8")


def conv_u8s8_nchwc(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """graph.conv_u8s8 on blocked packed words, the output channel block innermost."""
    assert isinstance(op, graph.ConvU8S8NchwcOp)
    return packed_conv_nchwc(op, args, dot4, op.pad_word, "conv_u8s8_nchwc")


def matmul_u8s8(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """out[.., i, j] = sum over k of dot4(a[.., i, k], b[k, j])."""
    assert isinstance(op, graph.MatmulU8S8Op)
    return packed_matmul(op.result, args, dot4, "matmul_u8s8")


INT8_STRATEGIES: dict[type[Operation], Strategy] = {
    graph.PackU8x4Op: pack_u8x4,
    graph.ConvU8S8Op: conv_u8s8,
    graph.ConvU8S8NchwcOp: conv_u8s8_nchwc,
    graph.MatmulU8S8Op: matmul_u8s8,
}
