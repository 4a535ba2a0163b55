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

from xdsl.dialects.builtin import IntegerAttr, i32, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    prop_def,
)
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import (
    element_type_of,
    tensor_shape,
)
from ziggurat.dialects.graph.conv import conv_shape
from ziggurat.dialects.graph.layout import conv_nchwc_shape
from ziggurat.dialects.graph.packed import PackedConvOp, PackedMatmulOp, PackOp

BYTES_PER_WORD = 4


@irdl_op_definition
class PackU8x4Op(PackOp):
    """Four consecutive entries along `axis` of an 8-bit tensor as the bytes of one i32
    (entry 4j+t in byte t of word j); signed entries become unsigned by +128; entries past
    the end are 0."""

    name = "graph.pack_u8x4"
    PER_WORD: ClassVar[int] = BYTES_PER_WORD
    INPUT_TYPES: ClassVar[tuple[str, ...]] = ("ui8", "i8")
    INPUT_RULE: ClassVar[str] = "graph.pack_u8x4 packs ui8 or i8 tensors only."


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


@irdl_op_definition
class MatmulU8S8Op(PackedMatmulOp):
    """graph.matmul of packed operands: out[.., i, j] = sum over k of
    int8.dot4(lhs[.., i, k], rhs[k, j]); the right operand is a 2-D weight."""

    name = "graph.matmul_u8s8"
    PRODUCT_ELEMENT: ClassVar[Attribute] = i32
