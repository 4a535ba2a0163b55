"""Graph ops of the int8 fast path: u8 x s8 products on operands packed four bytes to an i32.

graph-fuse-qdq makes them from a quantized convolution or matmul whose weight is symmetric
int8: the activation is packed at run time (`graph.pack_u8x4`: 4 consecutive channels per
i32, s8 moved to u8 by +128), the weight at build time in the same way, and the product is
a reduction of `int8.dot4` over the packed axis (what `vpdpbusd` computes 16 lanes at a
time). The zero points' cross terms are in the int32 bias, so the products read raw bytes.

    %p = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x64x56x56xui8>) -> tensor<1x16x56x56xi32>
    %y = graph.conv_u8s8 %p, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 128 : i64} : (tensor<1x16x56x56xi32>, tensor<64x16x3x3xi32>, tensor<64xi32>) -> tensor<1x64x56x56xi32>
    %z = graph.matmul_u8s8 %q, %v : (tensor<1x128xi32>, tensor<128x1000xi32>) -> tensor<1x1000xi32>
"""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, TensorType, i32, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import (
    check_result_shape,
    element_type_of,
    tensor_of,
    tensor_shape,
)
from ziggurat.dialects.graph.conv import PackedConvOp, conv_shape
from ziggurat.dialects.graph.layout import conv_nchwc_shape

BYTES_PER_WORD = 4


def packed_extent(extent: int) -> int:
    """The i32 words that hold `extent` bytes, the last one padded."""
    return -(-extent // BYTES_PER_WORD)


def packed_shape(shape: Sequence[int], axis: int) -> tuple[int, ...]:
    return tuple(packed_extent(d) if n == axis else d for n, d in enumerate(shape))


@irdl_op_definition
class PackU8x4Op(IRDLOperation):
    """Four consecutive entries along `axis` of an 8-bit tensor as the bytes of one i32
    (entry 4j+t in byte t of word j); signed entries become unsigned by +128; entries past
    the end are 0."""

    name = "graph.pack_u8x4"
    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, x: SSAValue, axis: int):
        super().__init__(
            operands=[x],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[tensor_of(packed_shape(tensor_shape(x), axis), i32)],
        )

    def verify_(self) -> None:
        if str(element_type_of(self.input)) not in ("ui8", "i8"):
            raise VerifyException("graph.pack_u8x4 packs ui8 or i8 tensors only.")
        shape, axis = tensor_shape(self.input), self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(f"graph.pack_u8x4 axis {axis} is outside rank {len(shape)}.")
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, packed_shape(shape, axis), self.result.type)


class _ConvU8S8Base(PackedConvOp):
    pad_byte = prop_def(IntegerAttr)
    PRODUCT_ELEMENT: ClassVar[Attribute] = i32

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        b: SSAValue,
        window: tuple[Sequence[int], Sequence[int], Sequence[int]],
        pad_byte: int,
    ):
        super().__init__(x, w, b, window, pad_byte=IntegerAttr(pad_byte, i64))

    @property
    def pad_word(self) -> int:
        """The i32 whose four bytes are the pad byte (wrapped to the signed range)."""
        word = self.pad_byte.value.data * 0x01010101
        return word - (1 << 32) if word >= 1 << 31 else word


@irdl_op_definition
class ConvU8S8Op(_ConvU8S8Base):
    """graph.conv of packed operands: out = bias + sum of int8.dot4(x, w) over the packed
    input channels and the taps. Padding reads `pad_byte` in all four bytes (the
    activation's zero point, so padding adds what the bias' cross term takes back). One
    group only."""

    name = "graph.conv_u8s8"
    SHAPE_RULE = staticmethod(conv_shape)

    def verify_(self) -> None:
        for operand in self.operands:
            if element_type_of(operand) != i32:
                raise VerifyException("graph.conv_u8s8 takes packed i32 operands.")
        if self.groups.value.data != 1 or not 0 <= self.pad_byte.value.data <= 255:
            raise VerifyException("graph.conv_u8s8 needs one group and a pad byte in [0, 255].")
        self._check_window(len(tensor_shape(self.input)) - 2)
        self._check_bias_and_result(tensor_shape(self.weight)[0], conv_shape)


@irdl_op_definition
class ConvU8S8NchwcOp(_ConvU8S8Base):
    """graph.conv_u8s8 in blocked layouts (graph-alter-layout makes it): the input is packed
    words of an NCHW[b]c 8-bit tensor, [N, C/b, H, W, b/4] (each word four consecutive
    channels of a block; a block of one word for an input whose channels fit no block),
    the weight [O/ob, C/b, KH, KW, b/4, ob] packed and blocked at build time, the result
    NCHW[ob]c, so a vector of output channels is one contiguous store.

        %y = graph.conv_u8s8_nchwc %p, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 128 : i64} : (tensor<1x4x56x56x4xi32>, tensor<4x4x3x3x4x16xi32>, tensor<64xi32>) -> tensor<1x4x56x56x16xi32>
    """

    name = "graph.conv_u8s8_nchwc"
    SHAPE_RULE = staticmethod(conv_nchwc_shape)

    def verify_(self) -> None:
        x, w = tensor_shape(self.input), tensor_shape(self.weight)
        if len(x) != 5 or len(w) != 6:
            raise VerifyException(
                f"graph.conv_u8s8_nchwc needs a rank-5 input and a rank-6 weight, got "
                f"{list(x)} and {list(w)}."
            )
        if any(element_type_of(operand) != i32 for operand in self.operands):
            raise VerifyException("graph.conv_u8s8_nchwc takes packed i32 operands.")
        if self.groups.value.data != 1 or not 0 <= self.pad_byte.value.data <= 255:
            raise VerifyException(
                "graph.conv_u8s8_nchwc needs one group and a pad byte in [0, 255]."
            )
        if x[4] != w[4]:
            raise VerifyException(
                f"graph.conv_u8s8_nchwc: the input's block of {x[4]} words is not the "
                f"weight's {w[4]}."
            )
        self._check_window(2)
        self._check_bias_and_result(w[0] * w[5], conv_nchwc_shape)


def packed_matmul_shape(lhs: Sequence[int], rhs: Sequence[int]) -> tuple[int, ...]:
    """The result shape of a packed matmul (int8 or bf16): the rows of `lhs` by the columns of
    the 2-D `rhs`, both packed along the reduction."""
    if len(lhs) < 2 or len(rhs) != 2 or lhs[-1] != rhs[0]:
        raise ValueError(f"cannot multiply packed {list(lhs)} by packed {list(rhs)}")
    return (*lhs[:-1], rhs[1])


@irdl_op_definition
class MatmulU8S8Op(IRDLOperation):
    """graph.matmul of packed operands: out[.., i, j] = sum over k of
    int8.dot4(lhs[.., i, k], rhs[k, j]); the right operand is a 2-D weight."""

    name = "graph.matmul_u8s8"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = packed_matmul_shape(tensor_shape(lhs), tensor_shape(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_of(shape, i32)])

    def verify_(self) -> None:
        if element_type_of(self.lhs) != i32 or element_type_of(self.rhs) != i32:
            raise VerifyException("graph.matmul_u8s8 takes packed i32 operands.")
        try:
            expected = packed_matmul_shape(tensor_shape(self.lhs), tensor_shape(self.rhs))
        except ValueError as err:
            raise VerifyException(f"graph.matmul_u8s8: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)
