"""From target IR to a runnable `runtime.Module`: the execution plan read off target.entry,
target -> llvm, LLVM IR, O3 and MCJIT for the target's CPU. A target of another architecture is
compiled but not loaded: the module then exports (with a cross linker) or gives its object
code, and cannot run here. `build` is the whole road from the graph level (`ziggurat.build`,
and the tuner's end-to-end timings); the tuner's candidate builds join at the target level.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend import codegen, export, plan
from ziggurat.core import pipelines
from ziggurat.core.context import CompilerContext, make_context
from ziggurat.core.pass_manager import PassInstrument, PassManager
from ziggurat.core.targets import as_target, target_string
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.runtime import HostMismatchError, Module


@dataclass
class Artifacts:
    """What a build leaves besides the runnable module, for inspection and export."""

    target_ir: ModuleOp
    llvm_ir: str
    optimized_llvm_ir: str
    compiled: codegen.CompiledModule


def build(
    mod: ModuleOp,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
) -> Module:
    """Compiles `mod` (graph dialect, as from `from_onnx`) for `target` and returns a module
    that `runtime.GraphModule` runs. `mod` itself is left unchanged. The IR is verified at
    the end of each stage, or after every pass with `verify_each`."""
    cpu = as_target(target)
    ctx = make_context({n: np.ascontiguousarray(v) for n, v in (params or {}).items()})
    module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    to_target = PassManager.parse(
        pipelines.to_target_pipeline(opt_level), instruments=instruments, verify_each=verify_each
    )
    to_target.run(ctx, module)
    return compile_target_module(module, ctx, cpu, instruments, verify_each)


def compile_target_module(
    module: ModuleOp,
    ctx: CompilerContext,
    cpu: CpuTargetAttr,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
) -> Module:
    """Compiles a module at the target level (after convert-sched-to-target) into a runtime
    Module; the module is lowered in place."""
    execution_plan = plan.plan_from_module(module, ctx.params)
    target_ir = module.clone()
    runtime = "gomp" if codegen.openmp_runtime() else "serial"
    to_llvm = f"{pipelines.TO_LLVM_PIPELINE}{{parallel-runtime={runtime}}}"
    PassManager.parse(to_llvm, instruments=instruments, verify_each=verify_each).run(ctx, module)
    llvm_ir = codegen.translate(module)
    target_text = target_string(cpu)
    if export.is_foreign(cpu):
        compiled: codegen.CompiledModule = codegen.compile_module(module)
        symbols = _not_runnable_here(target_text)
    else:
        compiled = codegen.jit(module)
        symbols = compiled.address
    used = {b["name"] for b in execution_plan["buffers"] if b["kind"] == "param"}
    libraries = ("m", "gomp") if runtime == "gomp" else ("m",)
    return Module(
        execution_plan,
        {name: value for name, value in ctx.params.items() if name in used},
        symbols,
        keepalive=Artifacts(target_ir, llvm_ir, compiled.llvm_ir(), compiled),
        target=target_text,
        native=export.CompiledCode(compiled, cpu, target_text, libraries),
    )


def _not_runnable_here(target: str) -> Callable[[str], int]:
    def symbols(name: str) -> int:
        raise HostMismatchError(
            f"this module was compiled for another architecture ({target!r}) and cannot run "
            "here; export it with a cross linker or write its object code"
        )

    return symbols
