"""Every pass by name (Ziggurat's own, xDSL's and plugins') and the plugins' dialects: one
table for the pass manager, the contexts and the driver. Pass factories import lazily, by
module path, so listing passes costs nothing and this layer imports none of the passes."""

from collections.abc import Callable
from importlib import import_module

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.transforms import get_all_passes

PassFactory = Callable[[], type[ModulePass]]


def _lazy(module: str, cls: str) -> PassFactory:
    return lambda: getattr(import_module(module), cls)


OWN_PASSES: dict[str, PassFactory] = {
    "graph-canonicalize": _lazy("ziggurat.passes.graph.canonicalize", "GraphCanonicalize"),
    "graph-eliminate-dead": _lazy("ziggurat.passes.graph.eliminate_dead", "GraphEliminateDead"),
    "graph-fuse-ops": _lazy("ziggurat.passes.graph.fuse_ops", "GraphFuseOps"),
    "graph-alter-layout": _lazy("ziggurat.passes.graph.alter_layout", "GraphAlterLayout"),
    "graph-winograd": _lazy("ziggurat.passes.graph.winograd", "GraphWinograd"),
    "graph-fuse-horizontal": _lazy("ziggurat.passes.graph.fuse_horizontal", "GraphFuseHorizontal"),
    "te-inline-computes": _lazy("ziggurat.passes.te.inline", "TeInlineComputes"),
    "graph-fuse-qdq": _lazy("ziggurat.passes.graph.fuse_qdq", "GraphFuseQdq"),
    "graph-pack-bf16": _lazy("ziggurat.passes.graph.pack_bf16", "GraphPackBf16"),
    "graph-fold-constants": _lazy("ziggurat.passes.graph.fold_constants", "GraphFoldConstants"),
    "graph-simplify-inference": _lazy(
        "ziggurat.passes.graph.simplify_inference", "GraphSimplifyInference"
    ),
    "graph-fold-if": _lazy("ziggurat.passes.graph.fold_if", "GraphFoldIf"),
    "graph-scan-to-loop": _lazy("ziggurat.passes.graph.scan_to_loop", "GraphScanToLoop"),
    "convert-graph-to-te": _lazy("ziggurat.lowering.graph_to_te", "ConvertGraphToTe"),
    "convert-te-to-sched": _lazy("ziggurat.lowering.te_to_sched", "ConvertTeToSched"),
    "sched-apply-schedule": _lazy("ziggurat.passes.sched.apply_schedule", "SchedApplySchedule"),
    "sched-expand-math": _lazy("ziggurat.passes.sched.expand_math", "SchedExpandMath"),
    "sched-default-schedule": _lazy(
        "ziggurat.passes.sched.default_schedule", "SchedDefaultSchedule"
    ),
    "sched-parallelize": _lazy("ziggurat.passes.sched.parallelize", "SchedParallelize"),
    "sched-lower-unroll": _lazy("ziggurat.passes.sched.unroll", "SchedLowerUnroll"),
    "sched-lower-vectorize": _lazy("ziggurat.passes.sched.vectorize", "SchedLowerVectorize"),
    "convert-sched-to-target": _lazy("ziggurat.lowering.sched_to_target", "ConvertSchedToTarget"),
    "convert-target-to-llvm": _lazy("ziggurat.lowering.target_to_llvm", "ConvertTargetToLLVM"),
}

_registered: dict[str, PassFactory] = {}


def register_pass(name: str, factory: PassFactory) -> None:
    """Adds a pass (a plugin's, say) under `name`; names already taken are refused."""
    if name in all_passes():
        raise ValueError(f"a pass named '{name}' is already registered")
    _registered[name] = factory


def all_passes() -> dict[str, PassFactory]:
    return {**get_all_passes(), **OWN_PASSES, **_registered}


PLUGIN_DIALECTS: list[Dialect] = []
"""Dialects registered by plugins; every Ziggurat context loads them."""


def register_dialect(dialect: Dialect) -> None:
    """Adds a plugin's dialect; a name already taken is refused."""
    if any(d.name == dialect.name for d in PLUGIN_DIALECTS):
        raise ValueError(f"a dialect named '{dialect.name}' is already registered")
    PLUGIN_DIALECTS.append(dialect)
