"""graph-fuse-ops: group producers with their elementwise consumers into graph.fused regions,
each of which becomes one kernel (TVM's FuseOps, simplified).

Every graph op has a pattern kind: elementwise (maps and broadcasting binary ops), injective
(data movement, layout transforms, packing bytes or bf16 pairs into words),
out-elementwise-fusable (conv, conv_nchwc, conv_transpose,
matmul, winograd_output), reduction (reduce, softmax, layer_norm, pool, pool_nchwc, lrn,
batch_norm). The rest is opaque, a kernel of its own: graph.winograd_input among them, as a
producer fused into it would be recomputed for every window position that reads it.
Algorithm, in program order:
1. An op not yet grouped anchors a group.
2. While the group has fewer than `max-depth` ops (`INT8_EPILOGUE_EXTRA` more for an int8
   product), its earliest user joins if it is
   elementwise (any anchor) or injective (only after an elementwise or injective anchor) and
   its other operands are group members, come from before the anchor, or are weights.
3. The group is cut back to its longest prefix with one sink: every member but one is read
   only inside the group (TVM's post-dominator rule, so GELU's x * f(x) diamond fuses whole).
4. A group of two or more ops becomes a graph.fused op yielding the sink; small constants it
   reads are cloned inside so their values stay visible to the kernel.
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

from ziggurat.core import statistics
from ziggurat.dialects import graph

ELEMENTWISE = (
    graph.UnaryElementwiseOp, graph.BinaryElementwiseOp, graph.GeluOp, graph.ClipOp,
    graph.LeakyReluOp, graph.HardSigmoidOp, graph.CastOp, graph.EqualOp, graph.WhereOp,
    graph.QuantBoundaryOp,
)  # fmt: skip
INJECTIVE = (
    graph.ReshapeOp, graph.TransposeOp, graph.SliceOp, graph.BroadcastOp, graph.PadOp,
    graph.GatherOp, graph.ConcatOp, graph.LayoutTransformOp, graph.PackU8x4Op, graph.PackBf16x2Op,
)  # fmt: skip
PACKS = (graph.PackU8x4Op, graph.PackBf16x2Op)
"""Injective, but only as an anchor (the pad after it joins): a pack joining its producer's
group would compute each of the producer's values inside a word's four reads, a loop that
stays scalar (the first quantize, packed and padded in one kernel: 171 against 36 us)."""
OUT_FUSABLE = (
    graph.ConvOp, graph.ConvTransposeOp, graph.MatmulOp, graph.ConvNchwcOp, graph.WinogradOutputOp,
    graph.ConvU8S8Op, graph.ConvU8S8NchwcOp, graph.MatmulU8S8Op, graph.ConvBf16Op,
    graph.ConvBf16NchwcOp, graph.MatmulBf16Op,
)  # fmt: skip
INT8_PRODUCTS = (graph.ConvU8S8Op, graph.ConvU8S8NchwcOp, graph.MatmulU8S8Op)
INT8_EPILOGUE_EXTRA = 4
"""Ops an int8 product's group may take beyond `max-depth`: its requantization is five ops
(cast, scale, round, zero point, saturating cast), and a residual add after it in a QDQ
model three more (dequantize, add, quantize), with room for a relu or clip moved onto the
integers: otherwise the add's quantize is a kernel of its own, reading the f32 sum."""
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
    if isinstance(user, PACKS):
        return False
    kind = pattern_kind(user)
    if kind == "elementwise":
        return pattern_kind(anchor) != "opaque"
    return kind == "injective" and pattern_kind(anchor) in ("elementwise", "injective")


def _available(value: SSAValue, position: dict[Operation, int], anchor: Operation) -> bool:
    """Whether a group member may read `value` from outside the group: it is defined before
    the anchor, or by an operand-less op (a weight or constant, free to stay where it is)."""
    owner = value.owner
    if not isinstance(owner, Operation) or not owner.operands:
        return True
    return position.get(owner, -1) < position[anchor]


def _users(ops: list[Operation]) -> list[Operation]:
    return [use.operation for op in ops for result in op.results for use in result.uses]


def _sink(group: list[Operation]) -> Operation | None:
    """The one member whose result leaves the group, if the group is closed that way."""
    members = set(group)
    escaping = [op for op in group if any(user not in members for user in _users([op]))]
    if len(escaping) != 1 or len(escaping[0].results) != 1:
        return None
    if any(not _users([op]) for op in group):
        return None
    return escaping[0]


def _grow(
    anchor: Operation, grouped: set[Operation], position: dict[Operation, int], max_depth: int
) -> list[Operation]:
    """Adds users of the group, earliest first, while they may join; then keeps the longest
    prefix whose members all feed one sink (a diamond such as GELU's x * f(x) fuses whole,
    as TVM's post-dominator rule allows)."""
    group = [anchor]
    members = {anchor}
    while len(group) < max_depth:
        candidates = sorted(
            {u for u in _users(group) if u not in members and u in position},
            key=position.__getitem__,
        )
        joining = next(
            (
                user
                for user in candidates
                if user not in grouped
                and user.parent is anchor.parent
                and _joins(anchor, user)
                and all(
                    v.owner in members or _available(v, position, anchor) for v in user.operands
                )
            ),
            None,
        )
        if joining is None:
            break
        group.append(joining)
        members.add(joining)
    for end in range(len(group), 1, -1):
        sink = _sink(group[:end])
        if sink is not None:
            return group[:end]
    return [anchor]


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
        copied = constant.clone()
        block.add_op(copied)
        mapping[constant.result] = copied.result
    for op in group:
        clone = op.clone(value_mapper=mapping)
        block.add_op(clone)
        mapping.update(zip(op.results, clone.results, strict=True))
    sink = _sink(group)
    assert sink is not None
    last = sink.results[0]
    block.add_op(graph.YieldOp([mapping[last]]))
    kind = "_".join(op.name.split(".", 1)[1] for op in group)
    fused = graph.FusedOp(inputs, kind, [last.type], Region(block))
    Rewriter.insert_op(fused, InsertPoint.before(sink))
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
            for block in _blocks(function.body.block):
                self._fuse_block(block)

    def _fuse_block(self, block: Block) -> None:
        ops = list(block.ops)
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
            depth = self.max_depth
            if isinstance(candidate, INT8_PRODUCTS):
                depth += INT8_EPILOGUE_EXTRA
            group = _grow(candidate, grouped, position, depth)
            if len(group) > 1:
                grouped.update(group)
                groups.append(group)
        for group in groups:
            _fuse(group)
            statistics.count("groups-fused")


def _blocks(block: Block) -> list[Block]:
    """`block` and the blocks of the If, Loop and Scan regions in it: groups form within one
    block, never across a region's edge."""
    found = [block]
    for op in block.ops:
        if isinstance(op, graph.IfOp | graph.LoopOp | graph.ScanOp):
            for region in op.regions:
                found += _blocks(region.block)
    return found
