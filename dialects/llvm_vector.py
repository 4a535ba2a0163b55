"""`llvm.fcmp` and `llvm.select` on vectors of i1, which xDSL 0.74's llvm ops refuse (they
type a comparison's result and a select's condition as a scalar i1).

Each op here is xDSL's op with the vector types allowed: an instance of the original class,
so xDSL's translator emits it as that instruction, which LLVM IR allows on vectors. They are
built in memory by convert-target-to-llvm and printed under the original names; text holding
them does not parse back into xDSL.
"""

from typing import ClassVar

from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    I1,
    I64,
    AnyFloatConstr,
    IntegerAttr,
    VectorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure


@irdl_op_definition
class _VectorFCmpDefinition(IRDLOperation):
    name = "llvm.fcmp"
    T: ClassVar = VarConstraint("T", VectorType.constr(AnyFloatConstr))
    lhs = operand_def(T)
    rhs = operand_def(T)
    res = result_def(VectorType.constr(I1))
    predicate = prop_def(IntegerAttr[I64])
    fastmathFlags = prop_def(llvm.FastMathAttr, default_value=llvm.FastMathAttr(None))
    traits = traits_def(Pure())


class LLVMVectorFCmpOp(_VectorFCmpDefinition, llvm.FCmpOp):  # type: ignore[misc]  # xDSL types fcmp's operands and result as scalars
    """llvm.fcmp of float vectors into a vector of i1."""

    @classmethod
    def of(cls, predicate: int, lhs: SSAValue, rhs: SSAValue) -> "LLVMVectorFCmpOp":
        assert isinstance(lhs.type, VectorType)
        return cls.create(
            operands=[lhs, rhs],
            result_types=[VectorType(i1, lhs.type.get_shape())],
            properties={"predicate": IntegerAttr(predicate, i64)},
        )


@irdl_op_definition
class _VectorSelectDefinition(IRDLOperation):
    name = "llvm.select"
    T: ClassVar[VarConstraint[Attribute]] = VarConstraint("T", VectorType.constr(AnyAttr()))
    cond = operand_def(VectorType.constr(I1))
    lhs = operand_def(T)
    rhs = operand_def(T)
    res = result_def(T)
    fastmathFlags = prop_def(llvm.FastMathAttr, default_value=llvm.FastMathAttr(None))
    traits = traits_def(Pure())


class LLVMVectorSelectOp(_VectorSelectDefinition, llvm.SelectOp):
    """llvm.select lane by lane by a vector of i1."""

    @classmethod
    def of(cls, condition: SSAValue, lhs: SSAValue, rhs: SSAValue) -> "LLVMVectorSelectOp":
        return cls.create(operands=[condition, lhs, rhs], result_types=[lhs.type])
