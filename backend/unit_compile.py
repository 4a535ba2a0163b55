"""Compile units to object code: from the code cache where an identical unit was compiled
before, else lowered to the target level (a kernel still at the sched level) and to the llvm
dialect, translated, optimized by LLVM and emitted, then cached. Units go to worker processes forked from the build (xDSL is pure Python, so threads
would not help; a fork inherits the module, so nothing is printed or parsed to hand it over),
largest first; a build with instruments, one core or one unit compiles in-process.
"""

import gc
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from ziggurat.backend import codegen, units
from ziggurat.backend.code_cache import CacheStats, CodeCache, cache_key
from ziggurat.backend.flop_count import kernel_flops
from ziggurat.core import pipelines
from ziggurat.core.collection import young_only
from ziggurat.core.context import CompilerContext, ir_text, make_context
from ziggurat.core.errors import CompileError
from ziggurat.core.pass_manager import PassInstrument, PassManager, first_line
from ziggurat.dialects import target
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.lowering.sched_to_target import is_sched_kernel

KERNELS = "kernels"
"""The cache's kind for compiled units."""
PARALLEL_MIN_OPS = 3000
"""Fewer ops than this (units at the target level) compile in-process: forking workers costs
more than it saves."""
PARALLEL_MIN_SCHED_OPS = 500
"""The same bound for units still at the sched level, where each op has its unrolling,
vectorizing and conversion to the target level ahead of it."""
PHASES = ("cache", "to-target", "to-llvm", "translate", "llvm-optimize", "codegen")


@dataclass
class CompiledUnit:
    name: str
    key: str
    """The unit's code-cache key (empty when built without a cache: printing the unit for it
    costs time)."""
    object_code: bytes
    llvm_ir: str
    """LLVM IR after LLVM's optimization."""
    cached: bool
    flops: int = 0
    """Floating-point operations of one call of the unit's kernel (0 for the entry)."""
    phases: dict[str, float] = field(default_factory=dict[str, float])


def encode(unit: CompiledUnit) -> bytes:
    return (
        unit.flops.to_bytes(8, "little")
        + len(unit.object_code).to_bytes(8, "little")
        + unit.object_code
        + unit.llvm_ir.encode()
    )


def decode(name: str, key: str, payload: bytes) -> CompiledUnit:
    flops = int.from_bytes(payload[:8], "little")
    size = int.from_bytes(payload[8:16], "little")
    code, text = payload[16 : 16 + size], payload[16 + size :]
    if len(code) != size:
        raise ValueError("truncated entry")
    return CompiledUnit(name, key, code, text.decode(), cached=True, flops=flops)


@cache
def _context() -> CompilerContext:
    return make_context()


def compile_unit(
    unit: ModuleOp,
    name: str,
    cpu: CpuTargetAttr,
    parallel_runtime: str,
    code_cache: CodeCache | None,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
    to_target: str = "",
) -> CompiledUnit:
    """One unit's object code; `unit` is lowered in place when it is compiled, a kernel still
    at the sched level first by the `to_target` pipeline."""
    with young_only():
        return _compile_unit(
            unit, name, cpu, parallel_runtime, code_cache, instruments, verify_each, to_target
        )


def _compile_unit(
    unit: ModuleOp,
    name: str,
    cpu: CpuTargetAttr,
    parallel_runtime: str,
    code_cache: CodeCache | None,
    instruments: Sequence[PassInstrument],
    verify_each: bool,
    to_target: str,
) -> CompiledUnit:
    started = time.perf_counter()
    if not any(is_sched_kernel(op) for op in unit.ops):
        to_target = ""
    key = cache_key(ir_text(unit), to_target, parallel_runtime) if code_cache is not None else ""
    if code_cache is not None:
        payload = code_cache.get(KERNELS, key)
        if payload is not None:
            try:
                hit = decode(name, key, payload)
                hit.phases["cache"] = time.perf_counter() - started
                return hit
            except (ValueError, UnicodeDecodeError):
                code_cache.stats.corrupt += 1
    phases = {"cache": time.perf_counter() - started}

    def timed(phase: str, started: float) -> float:
        now = time.perf_counter()
        phases[phase] = now - started
        return now

    started = time.perf_counter()
    if to_target:
        try:
            unit.verify()
        except (VerifyException, DiagnosticException) as err:
            message = f"{name} does not verify after the schedules: {first_line(err)}"
            raise CompileError(message) from err
        PassManager.parse(
            to_target, instruments=instruments, verify_each=verify_each, verify_result=verify_each
        ).run(_context(), unit)
        started = timed("to-target", started)
    flops = sum(kernel_flops(op) for op in unit.ops if isinstance(op, target.KernelOp))
    to_llvm = f"{pipelines.TO_LLVM_PIPELINE}{{parallel-runtime={parallel_runtime}}}"
    PassManager.parse(
        to_llvm, instruments=instruments, verify_each=verify_each, verify_result=verify_each
    ).run(_context(), unit)
    started = timed("to-llvm", started)
    text = codegen.translate(unit)
    started = timed("translate", started)
    machine = codegen.target_machine(cpu)
    optimized_module = codegen.optimize(text, machine)
    optimized = str(optimized_module)
    started = timed("llvm-optimize", started)
    try:
        code = machine.emit_object(optimized_module)
    except RuntimeError as err:
        raise CompileError(f"LLVM could not generate code for {name}: {err}") from err
    timed("codegen", started)
    compiled = CompiledUnit(name, key, code, optimized, cached=False, flops=flops, phases=phases)
    if code_cache is not None:
        code_cache.put(KERNELS, key, encode(compiled))
    return compiled


@dataclass
class _Work:
    """What forked workers inherit: the module to take units from, and how to compile them."""

    module: ModuleOp
    cpu: CpuTargetAttr
    parallel_runtime: str
    code_cache: CodeCache | None
    to_target: str


_inherited: _Work | None = None


def _start_worker() -> None:
    """Runs first in each forked worker. SIGTERM ends it as the default does: a host that
    installed a Python handler of its own (a server, a campaign printing its counts) would
    otherwise leave the handler in a worker that the pool's teardown must end. The objects
    inherited from the build are frozen: the worker's collections never walk them."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.freeze()


def _compile_inherited(name: str) -> tuple[CompiledUnit | str, int]:
    """A worker's unit, or the message of the error that stopped it (errors travel as text:
    the compiler's exceptions carry objects that do not pickle); and the corrupt cache
    entries it met."""
    assert _inherited is not None, "workers are forked after the work is set"
    work = _inherited
    stats = work.code_cache.stats if work.code_cache else CacheStats()
    corrupt = stats.corrupt
    try:
        unit = units.make_unit(work.module, name, take=True)
        compiled: CompiledUnit | str = compile_unit(
            unit, name, work.cpu, work.parallel_runtime, work.code_cache, to_target=work.to_target
        )
    except Exception as err:
        compiled = str(err) if isinstance(err, CompileError) else f"{type(err).__name__}: {err}"
    return compiled, stats.corrupt - corrupt


def build_jobs(cores: int) -> int:
    """Worker processes for a build: `ZIGGURAT_BUILD_JOBS`, else the cores this process may
    run on, at most `cores` (the target's) when that is smaller."""
    text = os.environ.get("ZIGGURAT_BUILD_JOBS", "")
    if text:
        if not text.isdigit() or int(text) < 1:
            raise CompileError(f"ZIGGURAT_BUILD_JOBS must be a positive whole number, got {text!r}")
        return int(text)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return max(1, min(available, cores))


def _sizes(module: ModuleOp, names: list[str]) -> dict[str, int]:
    sizes = dict.fromkeys(names, 1)
    for op in module.ops:
        name = getattr(op, "sym_name", None)
        if name is not None and name.data in sizes:
            sizes[name.data] = sum(1 for _ in op.walk())
    return sizes


def compile_units(
    module: ModuleOp,
    cpu: CpuTargetAttr,
    parallel_runtime: str,
    code_cache: CodeCache | None,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
    to_target: str = "",
) -> tuple[list[CompiledUnit], int]:
    """Every unit of a module compiled, in unit order, and the number of worker processes
    used; kernels still at the sched level are lowered by the `to_target` pipeline in their
    units. `module` is left as it was."""
    global _inherited
    names = units.unit_names(module)
    sizes = _sizes(module, names)
    jobs = min(build_jobs(cpu.cores.data), len(names))
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if (
        instruments
        or verify_each
        or jobs < 2
        or not forkable
        or sum(sizes.values()) < (PARALLEL_MIN_SCHED_OPS if to_target else PARALLEL_MIN_OPS)
    ):
        compiled = [
            compile_unit(
                units.make_unit(module, name),
                name,
                cpu,
                parallel_runtime,
                code_cache,
                instruments,
                verify_each,
                to_target,
            )
            for name in names
        ]
        return compiled, 1
    _inherited = _Work(module, cpu, parallel_runtime, code_cache, to_target)
    try:
        with multiprocessing.get_context("fork").Pool(jobs, _start_worker) as pool:
            largest_first = sorted(names, key=lambda n: -sizes[n])
            results = list(pool.map(_compile_inherited, largest_first, chunksize=1))
    finally:
        _inherited = None
    by_name: dict[str, CompiledUnit] = {}
    for name, (outcome, corrupt) in zip(largest_first, results, strict=True):
        if isinstance(outcome, str):
            raise CompileError(f"compiling {name}: {outcome}")
        by_name[name] = outcome
        if code_cache is not None:
            code_cache.stats.hits += outcome.cached
            code_cache.stats.misses += not outcome.cached
            code_cache.stats.corrupt += corrupt
    return [by_name[name] for name in names], jobs
