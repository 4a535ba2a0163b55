"""`ziggurat.build`: a graph-dialect module and its params to a runnable `runtime.Module`.

The road: graph passes for the opt_level, graph -> te -> sched -> target (the execution plan is
read off target.entry there), target -> llvm, LLVM IR, O3 and MCJIT for the target's CPU.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.context import make_context
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.lowering import codegen, plan
from ziggurat.lowering.targets import as_target
from ziggurat.passes import pipelines
from ziggurat.passes.pass_manager import PassInstrument, PassManager
from ziggurat.runtime import Module


@dataclass
class Artifacts:
    """What a build leaves besides the runnable module, for inspection and export."""

    target_ir: ModuleOp
    llvm_ir: str
    optimized_llvm_ir: str
    jit: codegen.JitModule


def _contiguous(params: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(value) for name, value in (params or {}).items()}


def build(
    mod: ModuleOp,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
    instruments: Sequence[PassInstrument] = (),
) -> Module:
    """Compiles `mod` (graph dialect, as from `from_onnx`) for `target` and returns a module
    that `runtime.GraphModule` runs. `mod` itself is left unchanged."""
    cpu = as_target(target)
    ctx = make_context(_contiguous(params))
    module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    to_target = PassManager.parse(pipelines.to_target_pipeline(opt_level), instruments=instruments)
    to_target.run(ctx, module)
    execution_plan = plan.plan_from_module(module, ctx.params)
    target_ir = module.clone()
    runtime = "gomp" if codegen.openmp_runtime() else "serial"
    to_llvm = f"{pipelines.TO_LLVM_PIPELINE}{{parallel-runtime={runtime}}}"
    PassManager.parse(to_llvm, instruments=instruments).run(ctx, module)
    llvm_ir = codegen.translate(module)
    jit = codegen.jit(module)
    used = {b["name"] for b in execution_plan["buffers"] if b["kind"] == "param"}
    return Module(
        execution_plan,
        {name: value for name, value in ctx.params.items() if name in used},
        jit.address,
        keepalive=Artifacts(target_ir, llvm_ir, jit.llvm_ir(), jit),
        target=_target_string(cpu),
    )


def _target_string(cpu: CpuTargetAttr) -> str:
    text = f"llvm -mtriple={cpu.triple.data} -mcpu={cpu.cpu.data} -num-cores={cpu.cores.data}"
    if cpu.features.data:
        text += f" -mattr={cpu.features.data}"
    return text
