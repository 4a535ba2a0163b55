"""arith, math, cf, vector.broadcast and the target dialect's vector compare and select to
xDSL's llvm dialect: the conversions xDSL 0.74 lacks. arith and math ops on vector types
become the same llvm ops and intrinsics on vectors.

Index values are 64-bit here: `index_to_i64` retypes every index value in place first, so the
patterns see i64 and stay one-to-one (no cast chains to reconcile). Float arithmetic carries
`reassoc contract` so LLVM may vectorize reductions and form FMAs; `nnan`/`ninf` are never set,
so NaN and infinity propagate as ONNX expects.
"""

from collections.abc import Callable
from typing import Any

from xdsl.dialects import arith, cf, llvm, math, vector
from xdsl.dialects.arith import CMPF_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    VectorType,
    i32,
    i64,
)
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.rewriter import Rewriter

from ziggurat.dialects.llvm_vector import LLVMVectorFCmpOp, LLVMVectorSelectOp
from ziggurat.dialects.target import VectorCmpfOp, VectorSelectOp

FAST_MATH = llvm.FastMathAttr([FastMathFlag.REASSOC, FastMathFlag.ALLOW_CONTRACT])


def index_to_i64(root: Operation) -> None:
    """Retypes every index-typed result and block argument under `root` as i64."""
    for op in root.walk():
        for result in op.results:
            if isinstance(result.type, IndexType):
                Rewriter.replace_value_with_new_type(result, i64)
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    if isinstance(arg.type, IndexType):
                        Rewriter.replace_value_with_new_type(arg, i64)


def intrinsic_suffix(ty: Attribute) -> str:
    """LLVM's overload suffix for a scalar or vector type: f32, v16f32."""
    if isinstance(ty, VectorType):
        return f"v{ty.get_shape()[0]}{intrinsic_suffix(ty.element_type)}"
    if isinstance(ty, AnyFloat):
        return f"f{ty.bitwidth}"
    assert isinstance(ty, IntegerType)
    return f"i{ty.width.data}"


INT_BINARY: dict[type[Operation], Callable[[SSAValue, SSAValue], Operation]] = {
    arith.AddiOp: llvm.AddOp,
    arith.SubiOp: llvm.SubOp,
    arith.MuliOp: llvm.MulOp,
    arith.DivUIOp: llvm.UDivOp,
    arith.DivSIOp: llvm.SDivOp,
    arith.RemUIOp: llvm.URemOp,
    arith.RemSIOp: llvm.SRemOp,
    arith.AndIOp: llvm.AndOp,
    arith.OrIOp: llvm.OrOp,
    arith.XOrIOp: llvm.XOrOp,
    arith.ShLIOp: llvm.ShlOp,
    arith.ShRUIOp: llvm.LShrOp,
    arith.ShRSIOp: llvm.AShrOp,
}

FLOAT_BINARY: dict[
    type[Operation], Callable[[SSAValue, SSAValue, llvm.FastMathAttr], Operation]
] = {
    arith.AddfOp: llvm.FAddOp,
    arith.SubfOp: llvm.FSubOp,
    arith.MulfOp: llvm.FMulOp,
    arith.DivfOp: llvm.FDivOp,
}

INTRINSIC_UNARY: dict[type[Operation], str] = {
    math.ExpOp: "llvm.exp",
    math.LogOp: "llvm.log",
    math.SqrtOp: "llvm.sqrt",
    math.AbsFOp: "llvm.fabs",
    math.FloorOp: "llvm.floor",
    math.CeilOp: "llvm.ceil",
    math.SinOp: "llvm.sin",
    math.CosOp: "llvm.cos",
    math.RoundEvenOp: "llvm.roundeven",
    math.TruncOp: "llvm.trunc",
}

INTRINSICS: dict[type[Operation], str] = {
    arith.MaximumfOp: "llvm.maximum",
    arith.MinimumfOp: "llvm.minimum",
    arith.MaxnumfOp: "llvm.maxnum",
    arith.MinnumfOp: "llvm.minnum",
    arith.MinSIOp: "llvm.smin",
    arith.MaxSIOp: "llvm.smax",
    arith.MinUIOp: "llvm.umin",
    arith.MaxUIOp: "llvm.umax",
    math.PowFOp: "llvm.pow",
    math.CopySignOp: "llvm.copysign",
    math.FmaOp: "llvm.fma",
}
"""Ops that become an intrinsic of all their operands, overloaded on the result type."""

LIBM_UNARY: dict[type[Operation], str] = {
    math.TanhOp: "tanh",
    math.ErfOp: "erf",
    math.TanOp: "tan",
    math.AtanOp: "atan",
}

CASTS: dict[type[Operation], Callable[[SSAValue, Attribute], Operation]] = {
    arith.SIToFPOp: llvm.SIToFPOp,
    arith.ExtFOp: llvm.FPExtOp,
    arith.TruncFOp: llvm.FPTruncOp,
    arith.ExtSIOp: llvm.SExtOp,
    arith.ExtUIOp: llvm.ZExtOp,
    arith.TruncIOp: llvm.TruncOp,
}


def _convert_constant(op: arith.ConstantOp) -> Operation:
    value = op.value
    if isinstance(value, DenseIntOrFPElementsAttr):
        return llvm.ConstantOp(value, value.type)
    if isinstance(value, IntegerAttr):
        ty = i64 if isinstance(value.type, IndexType) else value.type
        return llvm.ConstantOp(IntegerAttr(value.value.data, ty), ty)
    assert isinstance(value, FloatAttr)
    return llvm.ConstantOp(value, value.type)


def _broadcast(op: vector.BroadcastOp) -> list[Operation]:
    """A scalar in every lane: insertelement into lane 0, then a shufflevector with an
    all-zero mask, the shape LLVM turns into one vbroadcastss."""
    ty = op.vector.type
    lanes = ty.get_shape()[0]
    empty = llvm.UndefOp(ty)
    lane0 = llvm.ConstantOp(IntegerAttr(0, i32), i32)
    inserted = llvm.InsertElementOp(empty, op.source, lane0)
    mask = DenseArrayBase.from_list(i32, [0] * lanes)
    splat = llvm.ShuffleVectorOp(inserted, inserted, mask, ty)
    return [empty, lane0, inserted, splat]


def _call_intrinsic(
    name: str, args: list[SSAValue], result: Attribute, suffix: str | None = None
) -> Operation:
    """A call of LLVM intrinsic `name`, overloaded on the result type unless `suffix` says."""
    return llvm.CallIntrinsicOp(f"{name}.{suffix or intrinsic_suffix(result)}", args, [result])


class LibmDeclarations:
    """The libm functions a module calls, declared once at its top (`tanhf` for f32)."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.declared = {op.sym_name.data for op in module.ops if isinstance(op, llvm.FuncOp)}

    def call(self, stem: str, arg: SSAValue) -> Operation:
        ty = arg.type
        if not isinstance(ty, AnyFloat) or ty.bitwidth not in (32, 64):
            raise NotImplementedError(f"libm {stem} on {ty} is not supported")
        name = stem + ("f" if ty.bitwidth == 32 else "")
        if name not in self.declared:
            declaration = llvm.FuncOp(
                name, llvm.LLVMFunctionType([ty], ty), linkage=llvm.LinkageAttr("external")
            )
            self.module.body.block.insert_op_before(declaration, self.module.body.block.first_op)  # type: ignore[arg-type]
            self.declared.add(name)
        return llvm.CallOp(name, arg, return_type=ty)


Converted = Operation | list[Operation] | None
"""A conversion's result: the new op or ops, or None when the op's operand replaces it."""


def _vector_fcmp(op: VectorCmpfOp) -> Operation:
    predicate = CMPF_COMPARISON_OPERATIONS.index(op.predicate.data)
    return LLVMVectorFCmpOp.of(predicate, op.operands[0], op.operands[1])


def _vector_select(op: VectorSelectOp) -> Operation:
    return LLVMVectorSelectOp.of(*op.operands)


def _index_cast(op: arith.IndexCastOp) -> Operation | None:
    source, target = op.operands[0].type, op.results[0].type
    if source == target:
        return None
    assert isinstance(source, IntegerType) and isinstance(target, IntegerType)
    if source.width.data > target.width.data:
        return llvm.TruncOp(op.operands[0], target)
    return llvm.SExtOp(op.operands[0], target)


def _bitcast(op: arith.BitcastOp) -> Operation | None:
    """A bitcast between integer types of one width (signless and unsigned) is no op in LLVM,
    whose integers carry no sign."""
    source, target = op.operands[0].type, op.results[0].type
    if isinstance(source, IntegerType) and isinstance(target, IntegerType):
        return None
    return llvm.BitcastOp(op.operands[0], target)


def _icmp(op: arith.CmpiOp) -> Operation:
    return llvm.ICmpOp(op.lhs, op.rhs, op.predicate)


def _fcmp(op: arith.CmpfOp) -> Operation:
    return llvm.FCmpOp(op.lhs, op.rhs, op.predicate)


def _select(op: arith.SelectOp) -> Operation:
    return llvm.SelectOp(*op.operands)


def _float_to_signed(op: arith.FPToSIOp) -> Operation:
    """Saturating: out-of-range values clamp to the integer type's ends and NaN gives 0, where
    a plain fptosi would give poison."""
    result = op.results[0].type
    return _call_intrinsic(
        f"llvm.fptosi.sat.{intrinsic_suffix(result)}",
        [op.operands[0]],
        result,
        suffix=intrinsic_suffix(op.operands[0].type),
    )


def _float_to_unsigned(op: arith.FPToUIOp) -> Operation:
    """Saturating, as _float_to_signed: negative values give 0."""
    result = op.results[0].type
    return _call_intrinsic(
        f"llvm.fptoui.sat.{intrinsic_suffix(result)}",
        [op.operands[0]],
        result,
        suffix=intrinsic_suffix(op.operands[0].type),
    )


def _unsigned_to_float(op: arith.UIToFPOp) -> list[Operation]:
    """Unsigned integer to float: zero-extend one bit wider, then signed conversion."""
    source, target = op.operands[0].type, op.results[0].type
    assert isinstance(source, IntegerType)
    wider = IntegerType(source.width.data + 1)
    extended = llvm.ZExtOp(op.operands[0], wider)
    return [extended, llvm.SIToFPOp(extended.results[0], target)]


def _negate(op: arith.NegfOp) -> Operation:
    return llvm.FNegOp(op.operands[0], FAST_MATH)


def _branch(op: cf.BranchOp) -> Operation:
    return llvm.BrOp(op.successor, *op.arguments)


def _conditional_branch(op: cf.ConditionalBranchOp) -> Operation:
    return llvm.CondBrOp(
        op.cond, op.then_block, op.then_arguments, op.else_block, op.else_arguments
    )


CONVERSIONS: dict[type[Operation], Callable[[Any], Converted]] = {
    arith.ConstantOp: _convert_constant,
    vector.BroadcastOp: _broadcast,
    VectorCmpfOp: _vector_fcmp,
    VectorSelectOp: _vector_select,
    arith.IndexCastOp: _index_cast,
    arith.BitcastOp: _bitcast,
    arith.CmpiOp: _icmp,
    arith.CmpfOp: _fcmp,
    arith.SelectOp: _select,
    arith.FPToSIOp: _float_to_signed,
    arith.UIToFPOp: _unsigned_to_float,
    arith.FPToUIOp: _float_to_unsigned,
    arith.NegfOp: _negate,
    cf.BranchOp: _branch,
    cf.ConditionalBranchOp: _conditional_branch,
}
"""The conversions that are more than one op for one, by op type (each function takes ops of
its key's type only, which the table's type cannot say)."""


class StdToLLVM(RewritePattern):
    """One pattern for all of arith, math and cf: a table lookup per op type."""

    def __init__(self, libm: LibmDeclarations):
        self.libm = libm

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if type(op) in CONVERSIONS:
            new = CONVERSIONS[type(op)](op)
            if new is None:
                rewriter.replace(op, [], [op.operands[0]])
            else:
                rewriter.replace(op, new)
            return
        one = self._one_for_one(op)
        if one is not None:
            rewriter.replace(op, one)

    def _one_for_one(self, op: Operation) -> Operation | None:
        """The llvm op or call that computes what `op` does; None for ops not converted here."""
        kind = type(op)
        if kind in INT_BINARY:
            return INT_BINARY[kind](op.operands[0], op.operands[1])
        if kind in FLOAT_BINARY:
            return FLOAT_BINARY[kind](op.operands[0], op.operands[1], FAST_MATH)
        if kind in INTRINSIC_UNARY:
            return _call_intrinsic(INTRINSIC_UNARY[kind], [op.operands[0]], op.results[0].type)
        if kind in INTRINSICS:
            return _call_intrinsic(INTRINSICS[kind], list(op.operands), op.results[0].type)
        if kind in LIBM_UNARY:
            return self.libm.call(LIBM_UNARY[kind], op.operands[0])
        if kind in CASTS:
            return CASTS[kind](op.operands[0], op.results[0].type)
        return None
