"""`int8.vector_cast` to llvm conversions on vectors, run before convert-target-to-llvm's
patterns (as lowering/dot4.py): the same instructions Ziggurat's scalar conversions become
(lowering/std_to_llvm.py), on every lane. Float to integer saturates (`llvm.fpto[su]i.sat`:
out-of-range values clamp to the type's ends, NaN gives 0); unsigned to float zero-extends
one bit wider, then converts as signed."""

from xdsl.dialects import llvm
from xdsl.dialects.builtin import IntegerType, ModuleOp, VectorType
from xdsl.ir import Operation
from xdsl.rewriter import Rewriter

from ziggurat.dialects.int8 import VectorCastOp
from ziggurat.lowering.std_to_llvm import intrinsic_suffix

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
    name = f"llvm.{kind}.sat.{intrinsic_suffix(target)}.{intrinsic_suffix(source)}"
    return [llvm.CallIntrinsicOp(name, [value], [target])]


def lower_vector_casts(module: ModuleOp) -> None:
    """Every int8.vector_cast in `module` as llvm conversions."""
    for op in [o for o in module.walk() if isinstance(o, VectorCastOp)]:
        Rewriter.replace_op(op, _converted(op))
