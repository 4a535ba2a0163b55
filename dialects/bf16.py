"""The `bf16` dialect: the scalar product of the bf16 fast path, `bf16.dot2`, which the
vectorizer widens lane by lane and lowering/dot2.py turns into `vdpbf16ps`.

    %s = bf16.dot2 %a, %b : i32 -> f32
    %v = bf16.dot2 %x, %y : vector<16xi32> -> vector<16xf32>
"""

from typing import ClassVar

from xdsl.dialects.builtin import Float32Type, VectorType, f32, i32
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    EqAttrConstraint,
    IRDLOperation,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class Dot2Op(IRDLOperation):
    """f32 sum of the two bf16 x bf16 products of two i32 (or vectors of i32), each holding
    a pair of bf16 (the low half first)."""

    name = "bf16.dot2"
    T: ClassVar = VarConstraint(
        "T", EqAttrConstraint(i32) | VectorType.constr(EqAttrConstraint(i32))
    )
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: Attribute | None = None):
        if result_type is None:
            ty = lhs.type
            result_type = VectorType(f32, ty.get_shape()) if isinstance(ty, VectorType) else f32
        super().__init__(operands=[lhs, rhs], result_types=[result_type])

    def verify_(self) -> None:
        words, result = self.lhs.type, self.result.type
        if isinstance(words, VectorType):
            if not (
                isinstance(result, VectorType)
                and result.get_shape() == words.get_shape()
                and isinstance(result.element_type, Float32Type)
            ):
                raise VerifyException("bf16.dot2 on vectors of i32 gives a vector of f32.")
        elif result != f32:
            raise VerifyException("bf16.dot2 on i32 gives f32.")


Bf16 = Dialect("bf16", [Dot2Op], [])
