"""The pipelines `ziggurat.build` runs, by opt_level (TVM's presets)."""

from ziggurat.core.errors import CompileError

SIMPLIFY = ["graph-fold-if", "graph-canonicalize", "graph-eliminate-dead", "cse"]
FOLD = ["graph-fold-constants", "graph-simplify-inference", *SIMPLIFY]

GRAPH_PASSES_BY_LEVEL: dict[int, list[str]] = {
    0: [],
    1: SIMPLIFY,
    2: [*SIMPLIFY, "graph-fuse-qdq", "graph-pack-bf16", *FOLD],
    3: [
        *SIMPLIFY,
        "graph-fuse-qdq",
        "graph-pack-bf16",
        *FOLD,
        "graph-fuse-horizontal",
        "graph-alter-layout",
        "graph-winograd",
        "graph-fuse-ops",
    ],
}
"""Graph-level optimizations per opt_level: 0 runs none; 1 removes no-ops, dead and duplicate
ops; 2 also computes QDQ models' convolutions, matmuls and shape ops on integers, bf16-rounded
products on packed bf16 pairs, folds
constants and batch norms into convolutions; 3 also merges sibling
convolutions and matmuls on one input, runs convolution chains in the blocked channel layout
of the target's vectors, computes their 3x3 convolutions with Winograd's transforms and fuses
elementwise consumers into their producers' kernels."""

LOWERING = [
    "graph-scan-to-loop",
    "convert-graph-to-te",
    "te-inline-computes",
    "convert-te-to-sched",
]
"""From graph to loop nests, before the schedules and the target (a Scan becomes a Loop
first: one lowering serves both)."""

DEFAULT_SCHEDULES = [
    "sched-expand-math",
    "sched-default-schedule",
    "sched-parallelize",
    "sched-lower-unroll",
    "sched-lower-vectorize",
]
"""Schedules every build applies to the loop nests (the templates for the target, then the
parallel loops), then the lowering of the loops they marked `unroll` and `vectorize`."""


def to_target_pipeline(opt_level: int) -> str:
    """The pipeline from the graph dialect to target kernels and the entry, for the
    #target.cpu already on the module."""
    if opt_level not in GRAPH_PASSES_BY_LEVEL:
        raise CompileError(f"opt_level must be 0, 1, 2 or 3, got {opt_level}.")
    passes = [
        *GRAPH_PASSES_BY_LEVEL[opt_level],
        *LOWERING,
        *DEFAULT_SCHEDULES,
        "convert-sched-to-target",
    ]
    return ",".join(passes)


KERNEL_LOCAL_PASSES = ("sched-lower-unroll", "sched-lower-vectorize")
"""Passes that rewrite each kernel alone, never the graph function: a build runs them (and the
kernel's conversion to the target level) in the compile unit of each kernel, in parallel."""

TO_LLVM_PIPELINE = "convert-target-to-llvm"


def split_at_kernels(opt_level: int) -> tuple[str, str]:
    """`to_target_pipeline` cut in two: what runs on the whole module (up to the schedules'
    kernel-local tail), and what runs on each kernel's unit before convert-target-to-llvm
    (that tail, then convert-sched-to-target). Together they make the same kernels."""
    passes = to_target_pipeline(opt_level).split(",")
    tail = len(passes) - 1
    while tail > 0 and passes[tail - 1] in KERNEL_LOCAL_PASSES:
        tail -= 1
    return ",".join(passes[:tail]), ",".join(passes[tail:])
