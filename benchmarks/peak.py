"""The machine's fp32 FMA peak, measured: a register-only loop of independent FMA chains
in the widest vectors the CPU has, JIT-compiled with llvmlite, on one core. The kernel
benchmarks report their GFLOP/s against it (x cores for parallel runs)."""

import ctypes
import time

import llvmlite.binding as llvm

from ziggurat.core.targets import parse_target

CHAINS = 24
ITERATIONS = 2_000_000


def _peak_ir(lanes: int) -> str:
    vector = f"<{lanes} x float>"
    lines = [
        f"declare {vector} @llvm.fma.v{lanes}f32({vector}, {vector}, {vector})",
        "define void @peak(i64 %n, ptr %out) {",
        "entry:",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [0, %entry], [%next, %loop]",
    ]
    for c in range(CHAINS):
        lines.append(f"  %a{c} = phi {vector} [zeroinitializer, %entry], [%b{c}, %loop]")
    splat = f"<{lanes} x float> splat (float 1.0)"
    for c in range(CHAINS):
        lines.append(
            f"  %b{c} = call {vector} @llvm.fma.v{lanes}f32({vector} %a{c}, {splat}, {splat})"
        )
    lines += [
        "  %next = add i64 %i, 1",
        "  %done = icmp eq i64 %next, %n",
        "  br i1 %done, label %exit, label %loop",
        "exit:",
    ]
    total = "%b0"
    for c in range(1, CHAINS):
        lines.append(f"  %s{c} = fadd {vector} {total}, %b{c}")
        total = f"%s{c}"
    lines += [f"  store {vector} {total}, ptr %out, align 4", "  ret void", "}"]
    return "\n".join(lines)


def measure_peak_gflops(target: str = "llvm -mcpu=native") -> float:
    """Single-core fp32 GFLOP/s of back-to-back FMAs in registers (best of 5 runs)."""
    cpu = parse_target(target)
    lanes = max(4, cpu.vector_bits.data // 32)
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_triple(cpu.triple.data).create_target_machine(
        cpu=cpu.cpu.data, features=cpu.features.data, opt=2
    )
    module = llvm.parse_assembly(_peak_ir(lanes))
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    peak = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)(
        engine.get_function_address("peak")
    )
    out = (ctypes.c_float * lanes)()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        peak(ITERATIONS, ctypes.addressof(out))
        best = min(best, time.perf_counter() - start)
    return 2 * lanes * CHAINS * ITERATIONS / best / 1e9
