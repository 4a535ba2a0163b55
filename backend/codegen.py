"""From the llvm dialect to machine code: xDSL's translator to LLVM IR text, then llvmlite's
O3 pipeline and MCJIT for the module's `#target.cpu`."""

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import cache

import llvmlite.binding as llvm
from xdsl.backend.llvm.convert import convert_module
from xdsl.dialects.builtin import ModuleOp

from ziggurat.core.errors import CompileError
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr

_LOADED_LIBRARIES: list[ctypes.CDLL] = []


@cache
def openmp_runtime() -> str | None:
    """Loads libgomp for parallel kernels, if this machine has it. It stays loaded for good
    (RTLD_GLOBAL, a handle kept): unloading it while its threads live crashes at exit."""
    path = ctypes.util.find_library("gomp")
    if path is None:
        return None
    _LOADED_LIBRARIES.append(ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL))
    llvm.load_library_permanently(path)
    return path


@cache
def _initialize_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    libm = ctypes.util.find_library("m")
    if libm:
        llvm.load_library_permanently(libm)


def module_target(module: ModuleOp) -> CpuTargetAttr:
    cpu = module.attributes.get(CPU_ATTR)
    if not isinstance(cpu, CpuTargetAttr):
        raise CompileError("the module has no #target.cpu; run convert-sched-to-target first.")
    return cpu


def translate(module: ModuleOp) -> str:
    """LLVM IR text of a module in the llvm dialect."""
    try:
        return str(convert_module(module, fallback_target_triple=None))
    except NotImplementedError as err:
        raise CompileError(f"cannot translate to LLVM IR: {err}") from err


def target_machine(cpu: CpuTargetAttr, opt_level: int = 3) -> llvm.TargetMachine:
    _initialize_llvm()
    try:
        llvm_target = llvm.Target.from_triple(cpu.triple.data)
    except RuntimeError as err:
        raise CompileError(f"LLVM has no target for triple {cpu.triple.data!r}: {err}") from err
    return llvm_target.create_target_machine(
        cpu=cpu.cpu.data,
        features=cpu.features.data,
        opt=opt_level,
        reloc="pic",
        codemodel="default",
    )


def optimize(ir_text: str, machine: llvm.TargetMachine, opt_level: int = 3) -> llvm.ModuleRef:
    """Parses and runs LLVM's standard O-level pipeline, tuned for the machine."""
    try:
        parsed = llvm.parse_assembly(ir_text)
        parsed.verify()
    except RuntimeError as err:
        raise CompileError(f"LLVM rejected the generated IR: {err}") from err
    tuning = llvm.create_pipeline_tuning_options(speed_level=opt_level)
    tuning.loop_vectorization = opt_level >= 2
    tuning.slp_vectorization = opt_level >= 2
    tuning.loop_unrolling = opt_level >= 2
    tuning.loop_interleaving = opt_level >= 2
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(parsed, builder)
    return parsed


@dataclass
class CompiledModule:
    """Optimized LLVM IR for a target machine: its text, assembly and object code. Any
    triple LLVM knows, so this is also the cross-compiling path.

    Code generation rewrites the module it runs on (CodeGenPrepare and friends), and a second
    run over the rewritten module can emit wrong code (an aligned vector store to a stack slot
    given only 8-byte alignment), so each emission starts from the optimized text afresh."""

    machine: llvm.TargetMachine
    optimized_text: str

    def fresh_module(self) -> llvm.ModuleRef:
        return llvm.parse_assembly(self.optimized_text)

    def llvm_ir(self) -> str:
        return self.optimized_text

    def assembly(self) -> str:
        return self.machine.emit_assembly(self.fresh_module())

    def object_code(self) -> bytes:
        return self.machine.emit_object(self.fresh_module())


@dataclass
class JitModule(CompiledModule):
    """Machine code in memory: function addresses by name, alive as long as this object."""

    engine: llvm.ExecutionEngine

    def address(self, name: str) -> int:
        address = self.engine.get_function_address(name)
        if not address:
            raise CompileError(f"the compiled module has no function {name!r}.")
        return address


def compile_module(module: ModuleOp, opt_level: int = 3) -> CompiledModule:
    """Compiles a module in the llvm dialect for its #target.cpu, without loading it."""
    cpu = module_target(module)
    machine = target_machine(cpu, opt_level)
    return CompiledModule(machine, str(optimize(translate(module), machine, opt_level)))


def jit(module: ModuleOp, opt_level: int = 3) -> JitModule:
    """Compiles a module in the llvm dialect for its #target.cpu and loads it here."""
    compiled = compile_module(module, opt_level)
    engine = llvm.create_mcjit_compiler(compiled.fresh_module(), compiled.machine)
    engine.finalize_object()
    return JitModule(compiled.machine, compiled.optimized_text, engine)
