"""Graph ops of the bf16 fast path: f32-accumulated products of bf16 pairs packed to an i32.

graph-pack-bf16 makes them from a product of `ziggurat.quantize(..., scheme="bf16")` (an
input rounded to bf16 and back, a constant bf16 weight): the input is packed at run time
(`graph.pack_bf16x2`: two consecutive channels per i32, the first in the low half), the
weight at build time in the same way, and the product is a reduction of `bf16.dot2` over the
packed axis (what `vdpbf16ps` computes 16 lanes at a time).

    %p = graph.pack_bf16x2 %x {axis = 1 : i64} : (tensor<1x64x56x56xf32>) -> tensor<1x32x56x56xi32>
    %y = graph.conv_bf16 %p, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x32x56x56xi32>, tensor<64x32x3x3xi32>, tensor<64xf32>) -> tensor<1x64x56x56xf32>
    %z = graph.matmul_bf16 %q, %v : (tensor<1x256xi32>, tensor<256x1000xi32>) -> tensor<1x1000xf32>
"""

from typing import ClassVar

from xdsl.dialects.builtin import f32, i32
from xdsl.ir import Attribute
from xdsl.irdl import (
    irdl_op_definition,
)
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import (
    element_type_of,
    tensor_shape,
)
from ziggurat.dialects.graph.conv import conv_shape
from ziggurat.dialects.graph.layout import conv_nchwc_shape
from ziggurat.dialects.graph.packed import PackedConvOp, PackedMatmulOp, PackOp

BF16_PER_WORD = 2


@irdl_op_definition
class PackBf16x2Op(PackOp):
    """Two consecutive entries along `axis` of an f32 tensor whose values are bf16 (their low
    16 bits zero) as the halves of one i32 (entry 2j in the low half of word j, 2j+1 in the
    high half); an entry past the end is 0."""

    name = "graph.pack_bf16x2"
    PER_WORD: ClassVar[int] = BF16_PER_WORD
    INPUT_TYPES: ClassVar[tuple[str, ...]] = ("f32",)
    INPUT_RULE: ClassVar[str] = "graph.pack_bf16x2 packs f32 tensors of bf16 values only."


@irdl_op_definition
class ConvBf16Op(PackedConvOp):
    """graph.conv of packed bf16 operands: out = bias + sum of bf16.dot2(x, w) over the
    packed input channels and the taps, in f32; padding reads 0. One group only."""

    name = "graph.conv_bf16"
    PRODUCT_ELEMENT: ClassVar[Attribute] = f32
    SHAPE_RULE = staticmethod(conv_shape)

    def verify_(self) -> None:
        if element_type_of(self.input) != i32 or element_type_of(self.weight) != i32:
            raise VerifyException("graph.conv_bf16 takes packed i32 input and weight.")
        if element_type_of(self.bias) != f32 or self.groups.value.data != 1:
            raise VerifyException("graph.conv_bf16 needs an f32 bias and one group.")
        self._check_window(len(tensor_shape(self.input)) - 2)
        self._check_bias_and_result(tensor_shape(self.weight)[0], conv_shape)


@irdl_op_definition
class ConvBf16NchwcOp(PackedConvOp):
    """graph.conv_bf16 in blocked layouts (graph-alter-layout makes it): the input is packed
    pairs of an NCHW[b]c tensor of bf16 values, [N, C/b, H, W, b/2], the weight
    [O/ob, C/b, KH, KW, b/2, ob] packed and blocked at build time, the result NCHW[ob]c f32.

        %y = graph.conv_bf16_nchwc %p, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x16x16x8xi32>, tensor<4x4x3x3x8x16xi32>, tensor<64xf32>) -> tensor<1x4x14x14x16xf32>
    """

    name = "graph.conv_bf16_nchwc"
    PRODUCT_ELEMENT: ClassVar[Attribute] = f32
    SHAPE_RULE = staticmethod(conv_nchwc_shape)

    def verify_(self) -> None:
        x, w = tensor_shape(self.input), tensor_shape(self.weight)
        if len(x) != 5 or len(w) != 6 or x[4] != w[4]:
            raise VerifyException(
                f"graph.conv_bf16_nchwc needs a rank-5 input and a rank-6 weight of the same "
                f"pair block, got {list(x)} and {list(w)}."
            )
        if element_type_of(self.input) != i32 or element_type_of(self.weight) != i32:
            raise VerifyException("graph.conv_bf16_nchwc takes packed i32 operands.")
        if element_type_of(self.bias) != f32 or self.groups.value.data != 1:
            raise VerifyException("graph.conv_bf16_nchwc needs an f32 bias and one group.")
        self._check_window(2)
        self._check_bias_and_result(w[0] * w[5], conv_nchwc_shape)


@irdl_op_definition
class MatmulBf16Op(PackedMatmulOp):
    """graph.matmul of packed bf16 operands: out[.., i, j] = sum over k of
    bf16.dot2(lhs[.., i, k], rhs[k, j]) in f32; the right operand is a 2-D weight."""

    name = "graph.matmul_bf16"
    PRODUCT_ELEMENT: ClassVar[Attribute] = f32
