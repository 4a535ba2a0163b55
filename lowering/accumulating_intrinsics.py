"""A word product (`int8.dot4`, `bf16.dot2`) and the add that accumulates it, as one call of
an x86 intrinsic that takes the accumulator (`vpdpbusd`, `vdpbf16ps`): the register tile's
accumulator stays in a register and the add disappears into the instruction."""

from xdsl.dialects import arith, llvm
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    VectorType,
    f32,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter


def splat(value: int | float, like: Attribute) -> arith.ConstantOp:
    """`value` as a constant of type `like` (a vector, f32 or i32)."""
    if isinstance(like, VectorType):
        return arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(like, [value]), like)
    if like == f32:
        return arith.ConstantOp(FloatAttr(float(value), f32), like)
    return arith.ConstantOp(IntegerAttr(int(value), i32), like)


def call_accumulating(
    op: Operation,
    lhs: SSAValue,
    rhs: SSAValue,
    intrinsic: str,
    add: type[Operation],
    zero: int | float,
) -> None:
    """Replaces `op` (the product of `lhs` and `rhs`) and its one user of kind `add` with
    `intrinsic(accumulator, lhs, rhs)`; without such a user, the accumulator is `zero`."""
    result = op.results[0]
    uses = list(result.uses)
    if len(uses) != 1 or not isinstance(uses[0].operation, add):
        constant = splat(zero, result.type)
        Rewriter.insert_op(constant, InsertPoint.before(op))
        call = llvm.CallIntrinsicOp(intrinsic, [constant.result, lhs, rhs], [result.type])
        Rewriter.replace_op(op, call)
        return
    accumulate = uses[0].operation
    accumulator = accumulate.operands[1 - uses[0].index]
    call = llvm.CallIntrinsicOp(intrinsic, [accumulator, lhs, rhs], [result.type])
    Rewriter.replace_op(accumulate, call)
    Rewriter.erase_op(op)
