"""Bases of the packed-product ops (the int8 ones in int8.py, the bf16 ones in bf16.py):
narrow values packed several to an i32 word along one axis, and the convolutions and matmuls
that reduce over those words. A subclass names itself and says how many values a word holds,
which input types it packs, and the element type of its products."""

from collections.abc import Callable, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, TensorType, i32, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
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
from ziggurat.dialects.graph.conv import WeightedWindowOp, _array


def words_shape(shape: Sequence[int], axis: int, per_word: int) -> tuple[int, ...]:
    """`shape` with `axis` counted in words of `per_word` values, the last one padded."""
    return tuple(-(-d // per_word) if n == axis else d for n, d in enumerate(shape))


class PackOp(IRDLOperation):
    """`PER_WORD` consecutive entries along `axis` as one i32 word."""

    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    PER_WORD: ClassVar[int]
    INPUT_TYPES: ClassVar[tuple[str, ...]]
    """The element types it packs, as printed."""
    INPUT_RULE: ClassVar[str]
    """The verifier's sentence for another input type."""

    def __init__(self, x: SSAValue, axis: int):
        super().__init__(
            operands=[x],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[tensor_of(words_shape(tensor_shape(x), axis, self.PER_WORD), i32)],
        )

    def verify_(self) -> None:
        if str(element_type_of(self.input)) not in self.INPUT_TYPES:
            raise VerifyException(self.INPUT_RULE)
        shape, axis = tensor_shape(self.input), self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(f"{self.name} axis {axis} is outside rank {len(shape)}.")
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, words_shape(shape, axis, self.PER_WORD), self.result.type)


def packed_matmul_shape(lhs: Sequence[int], rhs: Sequence[int]) -> tuple[int, ...]:
    """The result shape of a packed matmul (int8 or bf16): the rows of `lhs` by the columns of
    the 2-D `rhs`, both packed along the reduction."""
    if len(lhs) < 2 or len(rhs) != 2 or lhs[-1] != rhs[0]:
        raise ValueError(f"cannot multiply packed {list(lhs)} by packed {list(rhs)}")
    return (*lhs[:-1], rhs[1])


class PackedMatmulOp(IRDLOperation):
    """out[.., i, j] = sum over k of the word product of lhs[.., i, k] and rhs[k, j]; the
    right operand is a 2-D weight."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    PRODUCT_ELEMENT: ClassVar[Attribute]

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = packed_matmul_shape(tensor_shape(lhs), tensor_shape(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_of(shape, self.PRODUCT_ELEMENT)])

    def verify_(self) -> None:
        if element_type_of(self.lhs) != i32 or element_type_of(self.rhs) != i32:
            raise VerifyException(f"{self.name} takes packed i32 operands.")
        try:
            expected = packed_matmul_shape(tensor_shape(self.lhs), tensor_shape(self.rhs))
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)


class PackedConvOp(WeightedWindowOp):
    """Base of the convolutions over packed words (int8 and bf16, NCHW or blocked): one
    group, a result of the product's element type, the shape from `SHAPE_RULE`."""

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        b: SSAValue,
        window: tuple[Sequence[int], Sequence[int], Sequence[int]],
        **extra: Attribute,
    ):
        strides, pads, dilations = window
        shape = self.SHAPE_RULE(tensor_shape(x), tensor_shape(w), strides, pads, dilations, 1)
        IRDLOperation.__init__(
            self,
            operands=[x, w, b],
            properties={
                "strides": _array(strides),
                "pads": _array(pads),
                "dilations": _array(dilations),
                "groups": IntegerAttr(1, i64),
                **extra,
            },
            result_types=[tensor_of(shape, self.PRODUCT_ELEMENT)],
        )

    PRODUCT_ELEMENT: ClassVar[Attribute]
    """The result's element type: i32 sums of byte products, f32 of bf16 ones."""
    SHAPE_RULE: ClassVar[Callable[..., tuple[int, ...]]]
    """conv_shape, or the blocked ops' conv_nchwc_shape (set as a staticmethod)."""

    @property
    def pad_word(self) -> int:
        """The word a padded tap reads: 0 (the int8 ones read their zero point)."""
        return 0
