"""`int8.dot4` to machine code: `vpdpbusd` where the target has AVX512_VNNI, widened integer
arithmetic elsewhere.

LLVM 22 does not form `vpdpbusd` from plain IR of the 4-way product sum (it gives half-speed
`vpmaddwd` code), so the instruction is called as its intrinsic. Run on the target level,
before convert-target-to-llvm's patterns:
- with VNNI, a dot4 on a vector of 16 i32 (8 or 4 with AVX512VL) whose one user is an
  `arith.addi` becomes `llvm.x86.avx512.vpdpbusd.{512,256,128}(acc, a, b)` in place of that
  add (the accumulator the register tile keeps in a register); a dot4 without such an add
  gets a zero accumulator;
- otherwise (a scalar, another width, a CPU without VNNI) the four products are computed
  on i32 lanes: ((a >> 8t) & 255) * ((b << (24 - 8t)) >> 24), summed. Exact, like the
  instruction (no int16 saturation as `vpmaddubsw` would have).
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
from ziggurat.dialects.int8 import Dot4Op
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.lowering.accumulating_intrinsics import call_accumulating, splat

VNNI_CPUS = AVX512_CPUS - {"skylake-avx512", "cannonlake", "knl", "knm", "x86-64-v4"}
"""CPU names whose feature set includes AVX512_VNNI (Cascade Lake and later, Zen 4 and later)."""

INTRINSIC_BY_LANES = {16: "512", 8: "256", 4: "128"}


def has_vnni(cpu: CpuTargetAttr) -> bool:
    """Whether code for `cpu` may use AVX512_VNNI (and, for 128/256-bit forms, AVX512VL)."""
    if cpu.arch != "x86_64":
        return False
    return feature_enabled(cpu, "avx512vnni", cpu.cpu.data in VNNI_CPUS)


def vnni_widths(cpu: CpuTargetAttr) -> set[int]:
    """The i32 lane counts the target's `vpdpbusd` forms take."""
    if not has_vnni(cpu):
        return set()
    if feature_enabled(cpu, "avx512vl", cpu.cpu.data in VNNI_CPUS):
        return set(INTRINSIC_BY_LANES)
    return {16}


def _to_vnni(op: Dot4Op, lanes: int) -> None:
    name = f"llvm.x86.avx512.vpdpbusd.{INTRINSIC_BY_LANES[lanes]}"
    call_accumulating(op, op.lhs, op.rhs, name, arith.AddiOp, 0)


def _widened(op: Dot4Op) -> None:
    ty = op.result.type
    built: list[Operation] = []

    def add(new: Operation) -> SSAValue:
        built.append(new)
        return new.results[0]

    def const(value: int) -> SSAValue:
        return add(splat(value, ty))

    total: SSAValue | None = None
    for byte in range(4):
        low = op.lhs if byte == 0 else add(arith.ShRUIOp(op.lhs, const(8 * byte)))
        unsigned = add(arith.AndIOp(low, const(255)))
        high = op.rhs if byte == 3 else add(arith.ShLIOp(op.rhs, const(24 - 8 * byte)))
        signed = add(arith.ShRSIOp(high, const(24)))
        product = add(arith.MuliOp(unsigned, signed))
        total = product if total is None else add(arith.AddiOp(total, product))
    Rewriter.insert_op(built, InsertPoint.before(op))
    assert total is not None
    op.result.replace_all_uses_with(total)
    Rewriter.erase_op(op)


def lower_dot4(module: ModuleOp, cpu: CpuTargetAttr | None) -> None:
    """Every int8.dot4 in `module` as `vpdpbusd` or widened arithmetic (see the module doc)."""
    widths = vnni_widths(cpu) if cpu is not None else set()
    for op in [o for o in module.walk() if isinstance(o, Dot4Op)]:
        ty = op.result.type
        lanes = ty.get_shape()[0] if isinstance(ty, VectorType) else 1
        if lanes in widths:
            _to_vnni(op, lanes)
            statistics.count("vpdpbusd")
        else:
            _widened(op)
            statistics.count("dot4-widened")
