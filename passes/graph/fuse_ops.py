"""graph-fuse-ops: group producers with their elementwise consumers into graph.fused regions,
each of which becomes one kernel (TVM's FuseOps, simplified).

Every graph op has a pattern kind: elementwise (maps and broadcasting binary ops), injective
(data movement, layout transforms), out-elementwise-fusable (conv, conv_nchwc, conv_transpose,
matmul), reduction (reduce, softmax, layer_norm, pool, pool_nchwc, lrn, batch_norm).
Algorithm, in program order:
1. An op not yet grouped anchors a group.
2. While the group's last result has exactly one user and the group has fewer than
   `max-depth` ops, the user joins if it is elementwise (any anchor) or injective (only after
   an elementwise or injective anchor), and its other operands come from before the anchor.
3. A group of two or more ops becomes a graph.fused op; small constants it reads are cloned
   inside so their values stay visible to the kernel.
convert-graph-to-te then builds one kernel per group, and te-inline-computes merges the
group's computes into one loop nest. Runs after the other graph passes.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.dialects import graph
from ziggurat.passes import statistics

ELEMENTWISE = (
    graph.UnaryElementwiseOp, graph.BinaryElementwiseOp, graph.GeluOp, graph.ClipOp,
    graph.LeakyReluOp, graph.HardSigmoidOp, graph.CastOp, graph.EqualOp, graph.WhereOp,
)  # fmt: skip
INJECTIVE = (
    graph.ReshapeOp, graph.TransposeOp, graph.SliceOp, graph.BroadcastOp, graph.PadOp,
    graph.GatherOp, graph.ConcatOp, graph.LayoutTransformOp,
)  # fmt: skip
OUT_FUSABLE = (graph.ConvOp, graph.ConvTransposeOp, graph.MatmulOp, graph.ConvNchwcOp)
REDUCTION = (
    graph.ReduceOp,
    graph.SoftmaxOp,
    graph.LayerNormOp,
    graph.PoolOp,
    graph.PoolNchwcOp,
    graph.LrnOp,
    graph.BatchNormOp,
)


def pattern_kind(op: Operation) -> str:
    for kind, classes in (
        ("elementwise", ELEMENTWISE), ("injective", INJECTIVE),
        ("out-fusable", OUT_FUSABLE), ("reduction", REDUCTION),
    ):  # fmt: skip
        if isinstance(op, classes):
            return kind
    return "opaque"


def _joins(anchor: Operation, user: Operation) -> bool:
    kind = pattern_kind(user)
    if kind == "elementwise":
        return pattern_kind(anchor) != "opaque"
    return kind == "injective" and pattern_kind(anchor) in ("elementwise", "injective")


def _available(value: SSAValue, position: dict[Operation, int], anchor: Operation) -> bool:
    owner = value.owner
    return not isinstance(owner, Operation) or position.get(owner, -1) < position[anchor]


def _grow(
    anchor: Operation, grouped: set[Operation], position: dict[Operation, int], max_depth: int
) -> list[Operation]:
    group = [anchor]
    while len(group) < max_depth:
        result = group[-1].results[0]
        if not result.has_one_use():
            break
        user = result.get_user_of_unique_use()
        if (
            user is None
            or user in grouped
            or user.parent is not anchor.parent
            or not _joins(anchor, user)
        ):
            break
        others = [v for v in user.operands if v is not result]
        if not all(_available(v, position, anchor) for v in others):
            break
        group.append(user)
    return group


def _fuse(group: list[Operation]) -> graph.FusedOp:
    members = set(group)
    inputs: list[SSAValue] = []
    constants: list[graph.ConstantOp] = []
    for op in group:
        for value in op.operands:
            owner = value.owner
            if owner in members or value in inputs:
                continue
            if isinstance(owner, graph.ConstantOp):
                if owner not in constants:
                    constants.append(owner)
            else:
                inputs.append(value)
    block = Block(arg_types=[v.type for v in inputs])
    mapping: dict[SSAValue, SSAValue] = dict(zip(inputs, block.args, strict=True))
    for constant in constants:
        clone = constant.clone()
        block.add_op(clone)
        mapping[constant.result] = clone.result
    for op in group:
        clone = op.clone(value_mapper=mapping)
        block.add_op(clone)
        mapping.update(zip(op.results, clone.results, strict=True))
    last = group[-1].results[0]
    block.add_op(graph.YieldOp([mapping[last]]))
    kind = "_".join(op.name.split(".", 1)[1] for op in group)
    fused = graph.FusedOp(inputs, kind, [last.type], Region(block))
    Rewriter.insert_op(fused, InsertPoint.before(group[-1]))
    last.replace_all_uses_with(fused.outputs[0])
    for op in reversed(group):
        Rewriter.erase_op(op)
    return fused


@dataclass(frozen=True)
class GraphFuseOps(ModulePass):
    """Groups each op with the chain of elementwise (and, after data movement, injective)
    ops that consume it into a graph.fused region, one kernel each."""

    name = "graph-fuse-ops"
    max_depth: int = 8

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if not isinstance(function, func.FuncOp) or not function.body.blocks:
                continue
            ops = list(function.body.block.ops)
            position = {o: n for n, o in enumerate(ops)}
            grouped: set[Operation] = set()
            groups: list[list[Operation]] = []
            for candidate in ops:
                if (
                    candidate in grouped
                    or candidate.dialect_name() != "graph"
                    or pattern_kind(candidate) == "opaque"
                ):
                    continue
                group = _grow(candidate, grouped, position, self.max_depth)
                if len(group) > 1:
                    grouped.update(group)
                    groups.append(group)
            for group in groups:
                _fuse(group)
                statistics.count("groups-fused")
                statistics.count("ops-fused", len(group))
