"""From target IR to a runnable `runtime.Module`: the execution plan read off target.entry,
each kernel and the entry compiled as a unit of its own (target -> llvm, LLVM IR, O3, object
code; in parallel, or from the code cache), the objects loaded by MCJIT. A target of another architecture is
compiled but not loaded: the module then exports (with a cross linker) or gives its object
code, and cannot run here. `build` is the whole road from the graph level (`ziggurat.build`,
and the tuner's end-to-end timings); the tuner's candidate builds join at the target level.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend import build_cache, codegen, export, plan
from ziggurat.backend.code_cache import CodeCache, open_cache
from ziggurat.backend.unit_compile import PHASES, CompiledUnit, compile_units
from ziggurat.core import pipelines
from ziggurat.core.collection import young_only
from ziggurat.core.context import CompilerContext, make_context
from ziggurat.core.instruments import PassTiming
from ziggurat.core.pass_manager import PassInstrument, PassManager
from ziggurat.core.targets import as_target, target_string
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.lowering.sched_to_target import is_sched_kernel, lower_entries
from ziggurat.runtime import HostMismatchError, Module
from ziggurat.runtime.limits import check_plan_memory


@dataclass
class Artifacts:
    """What a build leaves besides the runnable module, for inspection and export: the
    target-level IR and each compile unit's optimized LLVM IR and object code."""

    target_ir: ModuleOp | None
    """None when the build came whole from the code cache."""
    units: list[CompiledUnit]
    machine: llvm.TargetMachine
    runnable: bool
    """Whether the code is loaded here (False for another architecture's)."""
    engine: llvm.ExecutionEngine | None = None

    def linked_module(self) -> llvm.ModuleRef:
        """The units' optimized IR joined into one LLVM module (parsed afresh each time, as
        code generation rewrites the module it runs on)."""
        linked = llvm.parse_assembly(self.units[0].llvm_ir)
        for unit in self.units[1:]:
            linked.link_in(llvm.parse_assembly(unit.llvm_ir))
        return linked

    @property
    def llvm_ir(self) -> str:
        return str(self.linked_module())

    def assembly(self) -> str:
        return self.machine.emit_assembly(self.linked_module())

    def object_code(self) -> bytes:
        """All the code as one relocatable object."""
        return self.machine.emit_object(self.linked_module())


def build(
    mod: ModuleOp,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
    use_cache: bool = True,
    keep_target_ir: bool = False,
) -> Module:
    """Compiles `mod` (graph dialect, as from `from_onnx`) for `target` and returns a module
    that `runtime.GraphModule` runs; its `build_timing` (a PassTiming) says where the time
    went. `mod` itself is left unchanged. The IR is verified at the end of each stage, or
    after every pass with `verify_each`. Passes after the target level run once per compile
    unit (each kernel, and the entry); so do the schedules' kernel-local passes and each
    kernel's conversion to the target level, unless instruments or `verify_each` watch the
    passes or `keep_target_ir` asks for the whole target-level module (`keepalive.target_ir`).

    A model built before (same graph, params, target, options, tuned configs) comes from
    the code cache (backend/code_cache.py) without running a pass, unless `use_cache` is
    False or instruments or `verify_each` ask to watch the passes; its `keepalive` then has
    no target IR."""
    timing = PassTiming()
    cpu = as_target(target)
    started = time.perf_counter()
    code_cache = open_cache() if use_cache else None
    runtime = _parallel_runtime()
    key = None
    whole_module = bool(instruments) or verify_each or keep_target_ir
    if code_cache is not None and not whole_module:
        key = build_cache.build_key(mod, params or {}, cpu, opt_level, runtime)
        cached = build_cache.load(code_cache, key)
        started = _lap(timing, "cache lookup", started)
        if cached is not None:
            return _runtime_module(
                cached.plan, cached.params, cached.units, cpu, None, timing, started
            )
    ctx = make_context({n: np.ascontiguousarray(v) for n, v in (params or {}).items()})
    with young_only():
        module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    started = _lap(timing, "copy input", started)
    if whole_module:
        in_parent, in_units = pipelines.to_target_pipeline(opt_level), ""
    else:
        in_parent, in_units = pipelines.split_at_kernels(opt_level)
    to_target = PassManager.parse(
        in_parent,
        instruments=[*instruments, timing],
        verify_each=verify_each,
        verify_result=not in_units,
    )
    passes_before = timing.total
    to_target.run(ctx, module)
    if in_units:
        with young_only():
            to_target.verify(module, skip=is_sched_kernel)
            lower_entries(module)
    now = time.perf_counter()
    timing.add("verify", now - started - (timing.total - passes_before))
    lib = _compile(module, ctx, cpu, instruments, verify_each, timing, code_cache, now, in_units)
    if key is not None and code_cache is not None:
        artifacts = lib.keepalive
        assert isinstance(artifacts, Artifacts)
        build_cache.store(
            code_cache,
            key,
            build_cache.CachedBuild(lib.plan, lib.params, artifacts.units, list(_libraries())),
        )
    return lib


def compile_target_module(
    module: ModuleOp,
    ctx: CompilerContext,
    cpu: CpuTargetAttr,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
) -> Module:
    """Compiles a module at the target level (after convert-sched-to-target) into a runtime
    Module, each kernel's code from the code cache where it was compiled before; `module`
    is left as it is."""
    return _compile(
        module, ctx, cpu, instruments, verify_each, PassTiming(), open_cache(), time.perf_counter()
    )


def _parallel_runtime() -> str:
    return "gomp" if codegen.openmp_runtime() else "serial"


def _libraries() -> tuple[str, ...]:
    return ("m", "gomp") if _parallel_runtime() == "gomp" else ("m",)


def _compile(
    module: ModuleOp,
    ctx: CompilerContext,
    cpu: CpuTargetAttr,
    instruments: Sequence[PassInstrument],
    verify_each: bool,
    timing: PassTiming,
    code_cache: CodeCache | None,
    started: float,
    to_target: str = "",
) -> Module:
    execution_plan = plan.plan_from_module(module, ctx.params)
    check_plan_memory(execution_plan)
    started = _lap(timing, "plan", started)
    compiled, jobs = compile_units(
        module, cpu, _parallel_runtime(), code_cache, instruments, verify_each, to_target
    )
    plan.set_flops(execution_plan, {unit.name: unit.flops for unit in compiled})
    cached = sum(unit.cached for unit in compiled)
    started = _lap(
        timing,
        f"compile units ({len(compiled)} units, {cached} from cache, {jobs} processes)",
        started,
    )
    for phase in PHASES:
        spent = sum(unit.phases.get(phase, 0.0) for unit in compiled)
        if spent:
            timing.add(f"{phase} (summed over units)", spent, detail=True)
    if code_cache is not None:
        code_cache.evict()
    used = {b["name"] for b in execution_plan["buffers"] if b["kind"] == "param"}
    params = {name: value for name, value in ctx.params.items() if name in used}
    return _runtime_module(execution_plan, params, compiled, cpu, module, timing, started)


def _runtime_module(
    execution_plan: dict[str, Any],
    params: dict[str, np.ndarray],
    compiled: list[CompiledUnit],
    cpu: CpuTargetAttr,
    target_ir: ModuleOp | None,
    timing: PassTiming,
    started: float,
) -> Module:
    target_text = target_string(cpu)
    machine = codegen.target_machine(cpu)
    artifacts = Artifacts(target_ir, compiled, machine, runnable=not export.is_foreign(cpu))
    if artifacts.runnable:
        artifacts.engine = load_objects([unit.object_code for unit in compiled], machine)
        symbols: Callable[[str], int] = artifacts.engine.get_function_address
    else:
        symbols = _not_runnable_here(target_text)
    objects = [unit.object_code for unit in compiled]
    lib = Module(
        execution_plan,
        params,
        symbols,
        keepalive=artifacts,
        target=target_text,
        native=export.CompiledCode(objects, cpu, target_text, _libraries()),
        build_timing=timing,
    )
    _lap(timing, "load", started)
    return lib


def load_objects(objects: Sequence[bytes], machine: llvm.TargetMachine) -> llvm.ExecutionEngine:
    """The objects loaded into one MCJIT engine, their calls between each other resolved."""
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
    for code in objects:
        engine.add_object_file(llvm.ObjectFileRef.from_data(code))
    engine.finalize_object()
    return engine


def _lap(timing: PassTiming, name: str, started: float) -> float:
    now = time.perf_counter()
    timing.add(name, now - started)
    return now


def _not_runnable_here(target: str) -> Callable[[str], int]:
    def symbols(name: str) -> int:
        raise HostMismatchError(
            f"this module was compiled for another architecture ({target!r}) and cannot run "
            "here; export it with a cross linker or write its object code"
        )

    return symbols
