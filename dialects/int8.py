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
"""

from typing import ClassVar

from xdsl.dialects.builtin import VectorType, i32
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


Int8 = Dialect("int8", [Dot4Op], [])
