"""The machine's roofline, measured: how fast a kernel could be here at best.

The compute roof is the fp32 FMA peak: a register-only loop of independent FMA chains in
the widest vectors the CPU has, JIT-compiled with llvmlite, on one core, times the target's
cores. The memory roof is the read bandwidth of a buffer as large as the kernel's operands
(a JIT-compiled loop of wide loads into independent sums, one core, times the cores: an
optimistic bound, so a kernel is never judged done too early), measured per power-of-two
size so a kernel whose operands stay in cache is held to the cache's speed. A kernel's bound
is the larger of its FLOPs over the compute roof and its bytes over the memory roof;
`tune_model` stops tuning a kernel within 5% of it. The kernel benchmarks report their
GFLOP/s against the FMA peak.
"""

import ctypes
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import llvmlite.binding as llvm
import numpy as np

from ziggurat.core.targets import as_target, target_string
from ziggurat.dialects.target import CpuTargetAttr

CHAINS = 24
ITERATIONS = 2_000_000


def _close_loop(lines: list[str], trips: str, vector: str, chains: int) -> str:
    """Ends the loop `%i` after `trips` iterations and adds up the chains `%b0..` at its exit;
    returns the name of the sum."""
    lines += [
        "  %next = add i64 %i, 1",
        f"  %done = icmp eq i64 %next, {trips}",
        "  br i1 %done, label %exit, label %loop",
        "exit:",
    ]
    total = "%b0"
    for c in range(1, chains):
        lines.append(f"  %s{c} = fadd {vector} {total}, %b{c}")
        total = f"%s{c}"
    return total


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
    total = _close_loop(lines, "%n", vector, CHAINS)
    lines += [f"  store {vector} {total}, ptr %out, align 4", "  ret void", "}"]
    return "\n".join(lines)


@cache
def _jit(target: str, ir: str, name: str) -> tuple[llvm.ExecutionEngine, int]:
    """An engine holding `ir` compiled for `target`, and the address of function `name`."""
    cpu = as_target(target)
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_triple(cpu.triple.data).create_target_machine(
        cpu=cpu.cpu.data, features=cpu.features.data, opt=2
    )
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(ir), machine)
    engine.finalize_object()
    return engine, engine.get_function_address(name)


def _lanes(cpu: CpuTargetAttr) -> int:
    return max(4, cpu.vector_bits.data // 32)


def measure_peak_gflops(target: str | CpuTargetAttr = "llvm -mcpu=native") -> float:
    """Single-core fp32 GFLOP/s of back-to-back FMAs in registers (best of 5 runs)."""
    cpu = as_target(target)
    lanes = _lanes(cpu)
    _, address = _jit(target_string(cpu), _peak_ir(lanes), "peak")
    peak = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)(address)
    out = (ctypes.c_float * lanes)()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        peak(ITERATIONS, ctypes.addressof(out))
        best = min(best, time.perf_counter() - start)
    return 2 * lanes * CHAINS * ITERATIONS / best / 1e9


SUMS = 4
"""Independent vector sums of the read loop (enough loads in flight to reach the roof)."""


def _read_ir(lanes: int) -> str:
    """`float @read(ptr %data, i64 %mask, i64 %steps)`: sums `steps` blocks of SUMS x lanes
    floats, block `step & mask` at each step (a buffer of `mask + 1` blocks read over and
    over, so a small buffer is read long enough to time without the call's overhead)."""
    vector = f"<{lanes} x float>"
    block = SUMS * lanes
    lines = [
        "define float @read(ptr %data, i64 %mask, i64 %steps) {",
        "entry:",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [0, %entry], [%next, %loop]",
    ]
    for k in range(SUMS):
        lines.append(f"  %a{k} = phi {vector} [zeroinitializer, %entry], [%b{k}, %loop]")
    lines.append("  %at = and i64 %i, %mask")
    lines.append(f"  %base = mul i64 %at, {block}")
    for k in range(SUMS):
        lines += [
            f"  %o{k} = add i64 %base, {k * lanes}",
            f"  %p{k} = getelementptr float, ptr %data, i64 %o{k}",
            f"  %v{k} = load {vector}, ptr %p{k}, align 64",
            f"  %b{k} = fadd {vector} %a{k}, %v{k}",
        ]
    total = _close_loop(lines, "%steps", vector, SUMS)
    lines += [f"  %r = extractelement {vector} {total}, i32 0", "  ret float %r", "}"]
    return "\n".join(lines)


READ_REPEATS = 7
READ_STEPS = 1 << 16
"""Blocks a timing reads at least (a buffer smaller than that is read several times)."""
SMALLEST_BUFFER = 1 << 14


def read_bandwidth(nbytes: int, target: str | CpuTargetAttr = "llvm -mcpu=native") -> float:
    """Bytes per second one core reads from a buffer of about `nbytes`, read over and over
    (median of several timings, each repeated to last a millisecond or more)."""
    cpu = as_target(target)
    lanes = _lanes(cpu)
    block = SUMS * lanes
    wanted = max(1, max(SMALLEST_BUFFER, nbytes) // (4 * block))
    blocks = 1 << (wanted.bit_length() - 1)
    steps = max(blocks, READ_STEPS)
    _, address = _jit(target_string(cpu), _read_ir(lanes), "read")
    read = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)(
        address
    )
    buffer = np.ones(blocks * block + 16, dtype=np.float32)
    offset = (-buffer.ctypes.data % 64) // 4
    data = buffer[offset : offset + blocks * block]

    def once() -> None:
        read(data.ctypes.data, blocks - 1, steps)

    seconds = _median_seconds(once)
    return steps * block * 4 / seconds


def _median_seconds(run: Callable[[], None]) -> float:
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            run()
        if time.perf_counter() - start >= 1e-3:
            break
        number *= 2
    timings = []
    for _ in range(READ_REPEATS):
        start = time.perf_counter()
        for _ in range(number):
            run()
        timings.append((time.perf_counter() - start) / number)
    return statistics.median(timings)


@dataclass
class Roofline:
    """The machine's roofs for a target: `peak_flops` over all its cores, and read
    bandwidths measured on demand per power-of-two buffer size."""

    peak_flops: float
    cores: int
    target: str = "llvm -mcpu=native"
    bandwidths: dict[int, float] = field(default_factory=dict[int, float])

    @staticmethod
    def measure(target: str | CpuTargetAttr = "llvm -mcpu=native") -> "Roofline":
        cpu = as_target(target)
        cores = max(1, cpu.cores.data)
        return Roofline(measure_peak_gflops(cpu) * 1e9 * cores, cores, target_string(cpu))

    def bandwidth(self, nbytes: int) -> float:
        bucket = max(SMALLEST_BUFFER, 1 << max(0, nbytes - 1).bit_length())
        if bucket not in self.bandwidths:
            self.bandwidths[bucket] = read_bandwidth(bucket, self.target) * self.cores
        return self.bandwidths[bucket]

    def bound(self, flops: float, nbytes: int) -> float:
        """Seconds a kernel of `flops` over operands of `nbytes` takes at best."""
        return max(flops / self.peak_flops, nbytes / self.bandwidth(nbytes))
