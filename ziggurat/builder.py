"""`ziggurat.build`: a graph-dialect module and its params to a runnable `runtime.Module`.

The road: graph passes for the opt_level, graph -> te -> sched -> target, then the backend
(`ziggurat.backend.compile`: the execution plan, LLVM, machine code).
"""

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend.compile import compile_target_module
from ziggurat.core import pipelines
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassInstrument, PassManager
from ziggurat.core.targets import as_target
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.runtime import Module


def _contiguous(params: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(value) for name, value in (params or {}).items()}


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
    ctx = make_context(_contiguous(params))
    module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    to_target = PassManager.parse(
        pipelines.to_target_pipeline(opt_level), instruments=instruments, verify_each=verify_each
    )
    to_target.run(ctx, module)
    return compile_target_module(module, ctx, cpu, instruments, verify_each)
