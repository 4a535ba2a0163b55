"""`ziggurat.build`: a graph-dialect module and its params to a runnable `runtime.Module`.

The road: graph passes for the opt_level, graph -> te -> sched -> target, then the backend
(`ziggurat.backend.compile`: the execution plan, LLVM, machine code), where the static `build`
lives so the tuner can build whole models too. A `DynamicModel` (from `from_onnx` on a model
with symbolic input dims or shape-deciding inputs) becomes a `VariantModule`, which compiles a
static variant per distinct input shapes and shape-deciding values as runs need them.
"""

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend import compile as static
from ziggurat.backend.variants import VariantModule
from ziggurat.core.errors import CompileError
from ziggurat.core.pass_manager import PassInstrument
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.frontend.onnx.dynamic import DynamicModel
from ziggurat.runtime import Module

__all__ = ["build"]


def build(
    mod: ModuleOp | DynamicModel,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
    instruments: Sequence[PassInstrument] = (),
    verify_each: bool = False,
    use_cache: bool = True,
    max_variants: int | None = None,
    keep_target_ir: bool = False,
) -> Module | VariantModule:
    """`backend.compile.build` for a graph module (see there). For a DynamicModel: a
    VariantModule keeping up to `max_variants` compiled variants (default
    $ZIGGURAT_MAX_VARIANTS, else 16); `params` must then be empty (the model carries its
    weights), and `instruments`/`verify_each` do not apply."""
    if isinstance(mod, DynamicModel):
        if params:
            raise CompileError(
                "params were given for a model compiled per input shapes; its weights come "
                "from the model itself"
            )
        if instruments or verify_each:
            raise CompileError(
                "instruments and verify_each need a static model; fix its input shapes and "
                "shape-deciding inputs first"
            )
        return VariantModule(mod, target, opt_level, use_cache, max_variants)
    return static.build(
        mod, target, params, opt_level, instruments, verify_each, use_cache, keep_target_ir
    )
