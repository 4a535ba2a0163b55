"""`bf16.dot2` to machine code: `vdpbf16ps` where the target has AVX512_BF16, two f32
multiply-adds elsewhere.

Run on the target level, before convert-target-to-llvm's patterns:
- with AVX512_BF16, a dot2 on a vector of 16 i32 whose one user is an `arith.addf` becomes
  `llvm.x86.avx512bf16.dpbf16ps.512(acc, a, b)` in place of that add (the accumulator the
  register tile keeps in a register); a dot2 without such an add gets a zero accumulator.
  The intrinsic is declared on <16 x i32> words, its pre-LLVM-17 signature: LLVM's
  auto-upgrade (at parse time) bitcasts them to the <32 x bfloat> it takes now, for free;
- otherwise each bf16 is widened to f32 (the low half shifted left by 16, the high half
  masked, bitcast) and the two products added: a bf16 x bf16 product is exact in f32, so only
  the order of the f32 additions differs from the instruction.
"""

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    ModuleOp,
    VectorType,
)
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.targets import AVX512_CPUS, feature_enabled
from ziggurat.dialects.bf16 import Dot2Op
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.lowering.accumulating_intrinsics import call_accumulating, splat

BF16_CPUS = frozenset(
    {"cooperlake", "sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d",
     "diamondrapids", "znver4", "znver5"}
)  # fmt: skip
"""CPU names whose feature set includes AVX512_BF16 (a subset of AVX512_CPUS)."""

INTRINSIC = "llvm.x86.avx512bf16.dpbf16ps.512"
LANES = 16
HIGH_HALF = -(1 << 16)


def has_avx512bf16(cpu: CpuTargetAttr) -> bool:
    """Whether code for `cpu` may use AVX512_BF16's `vdpbf16ps`."""
    if cpu.arch != "x86_64":
        return False
    implied = cpu.cpu.data in BF16_CPUS and cpu.cpu.data in AVX512_CPUS
    return feature_enabled(cpu, "avx512bf16", implied)


def _to_dpbf16ps(op: Dot2Op) -> None:
    call_accumulating(op, op.lhs, op.rhs, INTRINSIC, arith.AddfOp, 0.0)


def _widened(op: Dot2Op) -> None:
    words, floats = op.lhs.type, op.result.type
    built: list[Operation] = []

    def add(new: Operation) -> SSAValue:
        built.append(new)
        return new.results[0]

    def halves(word: SSAValue) -> tuple[SSAValue, SSAValue]:
        low = add(arith.ShLIOp(word, add(splat(16, words))))
        high = add(arith.AndIOp(word, add(splat(HIGH_HALF, words))))
        return add(arith.BitcastOp(low, floats)), add(arith.BitcastOp(high, floats))

    (a_low, a_high), (b_low, b_high) = halves(op.lhs), halves(op.rhs)
    first = add(arith.MulfOp(a_low, b_low))
    second = add(arith.MulfOp(a_high, b_high))
    total = add(arith.AddfOp(first, second))
    Rewriter.insert_op(built, InsertPoint.before(op))
    op.result.replace_all_uses_with(total)
    Rewriter.erase_op(op)


def lower_dot2(module: ModuleOp, cpu: CpuTargetAttr | None) -> None:
    """Every bf16.dot2 in `module` as `vdpbf16ps` or widened f32 arithmetic (see the module
    doc)."""
    native = cpu is not None and has_avx512bf16(cpu)
    for op in [o for o in module.walk() if isinstance(o, Dot2Op)]:
        ty = op.result.type
        if native and isinstance(ty, VectorType) and ty.get_shape() == (LANES,):
            _to_dpbf16ps(op)
            statistics.count("vdpbf16ps")
        else:
            _widened(op)
            statistics.count("dot2-widened")
