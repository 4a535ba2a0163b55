"""The `int8` dialect: the one scalar operation the int8 kernels are built on.

`int8.dot4 %a, %b` reads each i32 operand as four bytes (byte t holding bits 8t..8t+7), the
first's as unsigned, the second's as signed, and gives the sum of their four products:

    dot4(a, b) = sum over t < 4 of u8(a >> 8t) * s8(b >> 8t)        (exact in i32)

That is the 32-bit lane of x86's `vpdpbusd` without its accumulator: 4 input channels of an
activation and of a weight packed in one i32, so a convolution or matmul over packed operands
is an ordinary reduction of dot4 products (schedule templates and the vectorizer treat it as
a lane-wise op). lowering/dot4.py turns a vector of them added to an accumulator into the
instruction where the target has AVX512_VNNI, and into widened arithmetic elsewhere.

    %p = int8.dot4 %x, %w : i32
    %v = int8.dot4 %xs, %ws : vector<16xi32>

`int8.vector_cast` is an integer <-> float or integer width conversion on vectors, which
xDSL's arith casts refuse (they take scalars): the requantizations, quantizations and
dequantizations around the int8 products vectorize with it (lowering/vector_casts.py).

    %f = int8.vector_cast %acc {kind = "sitofp"} : vector<16xi32> to vector<16xf32>
"""

from typing import ClassVar

from xdsl.dialects.builtin import StringAttr, VectorType, i32
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    EqAttrConstraint,
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class Dot4Op(IRDLOperation):
    """Sum of the four byte products of two i32 (or vectors of i32), unsigned by signed."""

    name = "int8.dot4"
    T: ClassVar = VarConstraint(
        "T", EqAttrConstraint(i32) | VectorType.constr(EqAttrConstraint(i32))
    )
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: Attribute | None = None):
        super().__init__(operands=[lhs, rhs], result_types=[result_type or lhs.type])


CAST_KINDS = ("sitofp", "uitofp", "fptosi", "fptoui", "extsi", "extui", "trunci")
"""arith's conversion ops by their names; the float to integer ones saturate, as
Ziggurat's scalar conversions do."""


@irdl_op_definition
class VectorCastOp(IRDLOperation):
    """An arith conversion (`kind`, one of CAST_KINDS) lane by lane on a vector."""

    name = "int8.vector_cast"
    input = operand_def(VectorType)
    kind = prop_def(StringAttr)
    result = result_def(VectorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `to` type($result)"

    def __init__(self, kind: str, value: SSAValue, result_type: VectorType):
        super().__init__(
            operands=[value], properties={"kind": StringAttr(kind)}, result_types=[result_type]
        )

    def verify_(self) -> None:
        if self.kind.data not in CAST_KINDS:
            raise VerifyException(f"int8.vector_cast kind must be one of {CAST_KINDS}.")
        source, target = self.input.type, self.result.type
        assert isinstance(source, VectorType) and isinstance(target, VectorType)
        if source.get_shape() != target.get_shape():
            raise VerifyException("int8.vector_cast keeps the vector's shape.")


Int8 = Dialect("int8", [Dot4Op, VectorCastOp], [])
