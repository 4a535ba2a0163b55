"""Floating-point operations per kernel, counted on its target-level loop nest, for the
profiler's GFLOP/s (TVM counts on TIR the same way).

Each float arithmetic or math op counts once per lane of its result (an FMA twice, an
int8.dot4 eight and a bf16.dot2 four: their multiply-adds), times the trip counts of the
`scf.for` loops around it. A loop whose bounds are not constants counts
once; both arms of an `scf.if` count. Integer index arithmetic is not counted.
"""

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import AnyFloat, IntegerAttr, VectorType
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.utils.hints import isa

from ziggurat.dialects import target

FLOAT_OPS = {
    "arith.addf": 1, "arith.subf": 1, "arith.mulf": 1, "arith.divf": 1, "arith.remf": 1,
    "arith.negf": 1, "arith.maximumf": 1, "arith.minimumf": 1, "arith.maxnumf": 1,
    "arith.minnumf": 1, "arith.cmpf": 1, "math.fma": 2, "vector.fma": 2,
}  # fmt: skip
MATH_PREFIX = "math."
PACKED_PRODUCTS = {"int8.dot4": 8, "bf16.dot2": 4}
"""The operations of one lane of a packed product, counted whatever its result type: four
byte multiply-adds, two bf16 multiply-adds."""


def _constant(value: SSAValue) -> int | None:
    op = value.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    return None


def trip_count(loop: scf.ForOp) -> int:
    """Iterations of a loop with constant bounds; 1 when they are not constants."""
    lower, upper, step = (_constant(v) for v in (loop.lb, loop.ub, loop.step))
    if lower is None or upper is None or step is None or step <= 0:
        return 1
    return max(0, -(-(upper - lower) // step))


def _lanes(result_type: Attribute) -> int:
    if isa(result_type, VectorType):
        return result_type.element_count()
    return 1


def _is_float(result_type: Attribute) -> bool:
    element = result_type.element_type if isa(result_type, VectorType) else result_type
    return isinstance(element, AnyFloat)


def _block_flops(block: Block, multiplier: int) -> int:
    total = 0
    for op in block.ops:
        if isinstance(op, scf.ForOp):
            total += _block_flops(op.body.block, multiplier * trip_count(op))
            continue
        if op.name in PACKED_PRODUCTS:
            total += PACKED_PRODUCTS[op.name] * _lanes(op.results[0].type) * multiplier
            continue
        weight = FLOAT_OPS.get(op.name, 1 if op.name.startswith(MATH_PREFIX) else 0)
        if weight and op.results:
            operand = op.operands[0].type if op.name == "arith.cmpf" else op.results[0].type
            if _is_float(operand):
                total += weight * _lanes(op.results[0].type) * multiplier
        for region in op.regions:
            for inner in region.blocks:
                total += _block_flops(inner, multiplier)
    return total


def kernel_flops(kernel: target.KernelOp) -> int:
    """Floating-point operations one launch of `kernel` performs."""
    return _block_flops(kernel.body.block, 1)
