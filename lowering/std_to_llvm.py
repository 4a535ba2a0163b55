"""arith, math, cf, vector.broadcast and the target dialect's vector compare and select to
xDSL's llvm dialect: the conversions xDSL 0.74 lacks. arith and math ops on vector types
become the same llvm ops and intrinsics on vectors.

Index values are 64-bit here: `index_to_i64` retypes every index value in place first, so the
patterns see i64 and stay one-to-one (no cast chains to reconcile). Float arithmetic carries
`reassoc contract` so LLVM may vectorize reductions and form FMAs; `nnan`/`ninf` are never set,
so NaN and infinity propagate as ONNX expects.
"""

from collections.abc import Callable

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


INT_BINARY: dict[type[Operation], type[Operation]] = {
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

FLOAT_BINARY: dict[type[Operation], type[Operation]] = {
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

INTRINSIC_BINARY: dict[type[Operation], str] = {
    arith.MaximumfOp: "llvm.maximum",
    arith.MinimumfOp: "llvm.minimum",
    arith.MaxnumfOp: "llvm.maxnum",
    arith.MinnumfOp: "llvm.minnum",
    math.PowFOp: "llvm.pow",
    math.CopySignOp: "llvm.copysign",
}

LIBM_UNARY: dict[type[Operation], str] = {
    math.TanhOp: "tanh",
    math.ErfOp: "erf",
    math.TanOp: "tan",
    math.AtanOp: "atan",
}

CASTS: dict[type[Operation], type[Operation]] = {
    arith.SIToFPOp: llvm.SIToFPOp,
    arith.ExtFOp: llvm.FPExtOp,
    arith.TruncFOp: llvm.FPTruncOp,
    arith.ExtSIOp: llvm.SExtOp,
    arith.ExtUIOp: llvm.ZExtOp,
    arith.TruncIOp: llvm.TruncOp,
    arith.BitcastOp: llvm.BitcastOp,
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


class StdToLLVM(RewritePattern):
    """One pattern for all of arith, math and cf: a table lookup per op type."""

    def __init__(self, libm: LibmDeclarations):
        self.libm = libm
        self.special: dict[
            type[Operation], Callable[[Operation], Operation | list[Operation] | None]
        ] = {
            arith.ConstantOp: lambda op: _convert_constant(op),  # type: ignore[arg-type]
            vector.BroadcastOp: lambda op: _broadcast(op),  # type: ignore[arg-type]
            VectorCmpfOp: lambda op: LLVMVectorFCmpOp.build(
                CMPF_COMPARISON_OPERATIONS.index(op.predicate.data),  # type: ignore[attr-defined]
                op.operands[0],
                op.operands[1],
            ),
            VectorSelectOp: lambda op: LLVMVectorSelectOp.build(*op.operands),
            arith.IndexCastOp: self._index_cast,
            arith.CmpiOp: lambda op: llvm.ICmpOp(op.lhs, op.rhs, op.predicate),  # type: ignore[attr-defined]
            arith.CmpfOp: lambda op: llvm.FCmpOp(op.lhs, op.rhs, op.predicate),  # type: ignore[attr-defined]
            arith.SelectOp: lambda op: llvm.SelectOp(*op.operands),
            arith.FPToSIOp: lambda op: _call_intrinsic(
                f"llvm.fptosi.sat.{intrinsic_suffix(op.results[0].type)}",
                [op.operands[0]],
                op.results[0].type,
                suffix=intrinsic_suffix(op.operands[0].type),
            ),
            arith.UIToFPOp: self._unsigned_to_float,
            arith.MinSIOp: lambda op: _call_intrinsic(
                "llvm.smin", list(op.operands), op.results[0].type
            ),
            arith.MaxSIOp: lambda op: _call_intrinsic(
                "llvm.smax", list(op.operands), op.results[0].type
            ),
            arith.MinUIOp: lambda op: _call_intrinsic(
                "llvm.umin", list(op.operands), op.results[0].type
            ),
            arith.MaxUIOp: lambda op: _call_intrinsic(
                "llvm.umax", list(op.operands), op.results[0].type
            ),
            arith.NegfOp: lambda op: llvm.FNegOp(op.operands[0], FAST_MATH),
            math.FmaOp: lambda op: _call_intrinsic(
                "llvm.fma", list(op.operands), op.results[0].type
            ),
            cf.BranchOp: lambda op: llvm.BrOp(op.successor, *op.arguments),  # type: ignore[attr-defined]
            cf.ConditionalBranchOp: lambda op: llvm.CondBrOp(
                op.cond,
                op.then_block,
                op.then_arguments,
                op.else_block,
                op.else_arguments,  # type: ignore[attr-defined]
            ),
        }

    @staticmethod
    def _unsigned_to_float(op: Operation) -> list[Operation]:
        """Unsigned integer to float: zero-extend one bit wider, then signed conversion."""
        source, target = op.operands[0].type, op.results[0].type
        assert isinstance(source, IntegerType)
        wider = IntegerType(source.width.data + 1)
        extended = llvm.ZExtOp(op.operands[0], wider)
        return [extended, llvm.SIToFPOp(extended.results[0], target)]

    @staticmethod
    def _index_cast(op: Operation) -> Operation | None:
        source, target = op.operands[0].type, op.results[0].type
        if source == target:
            return None
        assert isinstance(source, IntegerType) and isinstance(target, IntegerType)
        if source.width.data > target.width.data:
            return llvm.TruncOp(op.operands[0], target)
        return llvm.SExtOp(op.operands[0], target)

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        kind = type(op)
        if kind in INT_BINARY:
            new: Operation | list[Operation] | None = INT_BINARY[kind](
                op.operands[0], op.operands[1]
            )
        elif kind in FLOAT_BINARY:
            new = FLOAT_BINARY[kind](op.operands[0], op.operands[1], FAST_MATH)
        elif kind in INTRINSIC_UNARY:
            new = _call_intrinsic(INTRINSIC_UNARY[kind], [op.operands[0]], op.results[0].type)
        elif kind in INTRINSIC_BINARY:
            new = _call_intrinsic(INTRINSIC_BINARY[kind], list(op.operands), op.results[0].type)
        elif kind in LIBM_UNARY:
            new = self.libm.call(LIBM_UNARY[kind], op.operands[0])
        elif kind in CASTS:
            new = CASTS[kind](op.operands[0], op.results[0].type)
        elif kind in self.special:
            new = self.special[kind](op)
            if new is None:
                rewriter.replace(op, [], [op.operands[0]])
                return
        else:
            return
        rewriter.replace(op, new)
