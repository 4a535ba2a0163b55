"""`int8.vector_cast` to llvm conversions on vectors, run before convert-target-to-llvm's
patterns (as lowering/dot4.py): the same instructions Ziggurat's scalar conversions become
(lowering/std_to_llvm.py), on every lane. Float to integer saturates (`llvm.fpto[su]i.sat`:
out-of-range values clamp to the type's ends, NaN gives 0; from f32 to 8 and 16 bits by a
clamp in f32); unsigned to float zero-extends one bit wider, then converts as signed."""

from xdsl.dialects import llvm
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, ModuleOp, VectorType, f32
from xdsl.ir import Operation
from xdsl.rewriter import Rewriter

from ziggurat.dialects.int8 import VectorCastOp
from ziggurat.dialects.llvm_vector import LLVMVectorFCmpOp, LLVMVectorSelectOp
from ziggurat.lowering.std_to_llvm import CMPF_COMPARISON_OPERATIONS, intrinsic_suffix

WORD_BITS = 32

ONE_FOR_ONE = {
    "sitofp": llvm.SIToFPOp,
    "extsi": llvm.SExtOp,
    "extui": llvm.ZExtOp,
    "trunci": llvm.TruncOp,
}


def _converted(op: VectorCastOp) -> list[Operation]:
    kind, value, target = op.kind.data, op.input, op.result.type
    source = value.type
    assert isinstance(source, VectorType) and isinstance(target, VectorType)
    if kind in ONE_FOR_ONE:
        return [ONE_FOR_ONE[kind](value, target)]
    if kind == "uitofp":
        element = source.element_type
        assert isinstance(element, IntegerType)
        wider = VectorType(IntegerType(element.width.data + 1), source.get_shape())
        extended = llvm.ZExtOp(value, wider)
        return [extended, llvm.SIToFPOp(extended.results[0], target)]
    narrow = target.element_type
    assert isinstance(narrow, IntegerType)
    if narrow.width.data < WORD_BITS and source.element_type == f32:
        return _narrow_saturated(kind, op)
    name = f"llvm.{kind}.sat.{intrinsic_suffix(target)}.{intrinsic_suffix(source)}"
    return [llvm.CallIntrinsicOp(name, [value], [target])]


MAGIC = 12582912.0
"""1.5 * 2**23: an integral f32 t with |t| < 2**22 plus MAGIC has t in its low mantissa
bits, so the bits of t + MAGIC minus MAGIC_BITS are t as an i32."""
MAGIC_BITS = 0x4B400000


def _narrow_saturated(kind: str, op: VectorCastOp) -> list[Operation]:
    """An f32 to 8- or 16-bit saturating conversion in vector instructions, where LLVM's x86
    backend splits llvm.fpto[su]i.sat into one scalar conversion per lane: NaN becomes 0,
    the value is clamped to the narrow type's range and truncated toward zero in f32 (all
    exact there), and its integer read from the bits of its sum with MAGIC."""
    source, target = op.input.type, op.result.type
    assert isinstance(source, VectorType) and isinstance(target, VectorType)
    narrow = target.element_type
    assert isinstance(narrow, IntegerType)
    width, lanes = narrow.width.data, source.get_shape()[0]
    low, high = (
        (0, (1 << width) - 1) if kind == "fptoui" else (-(1 << (width - 1)), (1 << (width - 1)) - 1)
    )
    words = VectorType(IntegerType(WORD_BITS), [lanes])
    suffix = intrinsic_suffix(source)

    def splat(value: float, ty: VectorType) -> llvm.ConstantOp:
        attr = DenseIntOrFPElementsAttr.from_list(ty, [value] * lanes)  # type: ignore[type-var]  # xDSL types the vector's element as Attribute
        return llvm.ConstantOp(attr, ty)

    zero, lowest, highest, magic = (splat(v, source) for v in (0.0, low, high, MAGIC))
    magic_bits = splat(MAGIC_BITS, words)
    ordered = LLVMVectorFCmpOp.of(CMPF_COMPARISON_OPERATIONS.index("ord"), op.input, op.input)
    number = LLVMVectorSelectOp.of(ordered.res, op.input, zero.result)
    raised = llvm.CallIntrinsicOp(f"llvm.maxnum.{suffix}", [number.res, lowest.result], [source])
    clamped = llvm.CallIntrinsicOp(
        f"llvm.minnum.{suffix}", [raised.results[0], highest.result], [source]
    )
    truncated = llvm.CallIntrinsicOp(f"llvm.trunc.{suffix}", [clamped.results[0]], [source])
    shifted = llvm.FAddOp(truncated.results[0], magic.result)
    bits = llvm.BitcastOp(shifted.res, words)
    value = llvm.SubOp(bits.result, magic_bits.result)
    narrowed = llvm.TruncOp(value.res, target)
    return [
        zero, lowest, highest, magic, magic_bits, ordered, number, raised, clamped,
        truncated, shifted, bits, value, narrowed,
    ]  # fmt: skip


def lower_vector_casts(module: ModuleOp) -> None:
    """Every int8.vector_cast in `module` as llvm conversions."""
    for op in [o for o in module.walk() if isinstance(o, VectorCastOp)]:
        Rewriter.replace_op(op, _converted(op))
