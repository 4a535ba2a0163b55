"""graph-fuse-horizontal: sibling convolutions or matmuls that read the same input become one
op on concatenated weights, then slices back into the original results (TensorRT's horizontal
fusion; TVM's CombineParallelConv2D and CombineParallelDense).

One wide op instead of several narrow ones reads its input once and gives the kernel more
output channels to block and parallelize over: the Q/K/V projections of an attention layer,
the 1x1 branch convolutions of an Inception module.

Algorithm, for each value of a graph function in program order:
1. Its users that read it as input are candidates: a graph.conv with groups 1 and constant
   weight and bias; a graph.matmul reading it as lhs, with a constant rank-2 rhs.
2. Candidates group by everything but their output channel count: class, window, kernel
   size and input channels for convs; transposes, scale and contraction size for matmuls.
3. A group of at least `min-siblings` ops becomes one op whose weight (and conv bias) is the
   siblings' concatenated along the output channels: a new weight in the params store.
4. For matmuls, a sibling whose only user is a graph.add of a constant bias along the last
   axis brings that add along: one add of the concatenated biases (zeros for siblings with
   no bias add) follows the merged matmul.
5. A graph.slice along the output channel axis per sibling takes the place of its result (or
   of its bias add's); the siblings, their adds and the weights nobody reads any more go.

Runs after graph-fold-constants and graph-simplify-inference (batch norms and scales are in
the conv weights by then); graph-fuse-ops follows and fuses the merged bias add.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant

Params = dict[str, np.ndarray]


@dataclass
class Sibling:
    """A candidate op with its constant weight (output channels on axis 0), its bias, and
    the bias add that follows it, if it brings one."""

    op: graph.ConvOp | graph.MatmulOp
    weight: np.ndarray
    bias: np.ndarray | None
    bias_add: graph.AddOp | None = None

    @property
    def channels(self) -> int:
        return self.weight.shape[0]

    @property
    def output(self) -> SSAValue:
        """The value the merged op's slice replaces."""
        return self.op.results[0] if self.bias_add is None else self.bias_add.result


def _conv_sibling(op: graph.ConvOp, value: SSAValue, params: Params) -> Sibling | None:
    if op.input is not value or op.groups.value.data != 1:
        return None
    weight, bias = constant_value(op.weight, params), constant_value(op.bias, params)
    if weight is None or bias is None:
        return None
    return Sibling(op, weight, np.broadcast_to(bias, (weight.shape[0],)))


def _column_bias(add: graph.AddOp, matmul: graph.MatmulOp, params: Params) -> np.ndarray | None:
    """The bias an add puts on each output column of `matmul`, when it is a constant that
    varies along the last axis only and leaves the type as it is."""
    other = add.rhs if add.lhs is matmul.result else add.lhs
    bias = constant_value(other, params)
    shape = graph.tensor_shape(matmul.result)
    column = (1,) * (len(shape) - 1) + shape[-1:]
    if bias is None or bias.ndim > len(shape) or add.result.type != matmul.result.type:
        return None
    try:
        if np.broadcast_shapes(bias.shape, column) != column:
            return None
    except ValueError:
        return None
    return np.broadcast_to(bias, column).reshape(shape[-1])


def _matmul_sibling(op: graph.MatmulOp, value: SSAValue, params: Params) -> Sibling | None:
    if op.lhs is not value or op.rhs is value or len(graph.tensor_shape(op.rhs)) != 2:
        return None
    rhs = constant_value(op.rhs, params)
    if rhs is None:
        return None
    weight = rhs if op.transpose_b is not None else rhs.T
    sibling = Sibling(op, weight, None)
    user = op.result.get_user_of_unique_use() if op.result.has_one_use() else None
    if isinstance(user, graph.AddOp):
        bias = _column_bias(user, op, params)
        if bias is not None:
            sibling.bias, sibling.bias_add = bias, user
    return sibling


def _sibling(op: Operation, value: SSAValue, params: Params) -> Sibling | None:
    if isinstance(op, graph.ConvOp):
        return _conv_sibling(op, value, params)
    if isinstance(op, graph.MatmulOp):
        return _matmul_sibling(op, value, params)
    return None


def _group_key(sibling: Sibling) -> tuple[object, ...]:
    """What siblings must share to merge: everything but the output channel count."""
    op = sibling.op
    if isinstance(op, graph.ConvOp):
        window = (op.stride_values, op.pad_values, op.dilation_values)
        return ("conv", window, sibling.weight.shape[1:], sibling.weight.dtype)
    flags = (op.transpose_a is not None, op.transpose_b is not None, op.scale)
    return ("matmul", flags, sibling.weight.shape[1:], sibling.weight.dtype)


def _merged_op(group: list[Sibling], params: Params) -> tuple[list[Operation], SSAValue]:
    """The ops computing all siblings' outputs side by side, and the value holding them."""
    first = group[0].op
    weight = np.concatenate([s.weight for s in group])
    biases = [s.bias if s.bias is not None else np.zeros(s.channels, weight.dtype) for s in group]
    if isinstance(first, graph.ConvOp):
        weight_op = make_constant(weight, params, "merged_weight")
        bias_op = make_constant(np.concatenate(biases), params, "merged_bias")
        merged: Operation = graph.ConvOp(
            first.input,
            weight_op.results[0],
            bias_op.results[0],
            first.stride_values,
            first.pad_values,
            first.dilation_values,
        )
        return [weight_op, bias_op, merged], merged.results[0]
    transpose_b = first.transpose_b is not None
    weight_op = make_constant(weight if transpose_b else weight.T, params, "merged_weight")
    merged = graph.MatmulOp(
        first.lhs, weight_op.results[0], first.transpose_a is not None, transpose_b, first.scale
    )
    if not any(s.bias_add is not None for s in group):
        return [weight_op, merged], merged.results[0]
    bias_op = make_constant(np.concatenate(biases), params, "merged_bias")
    added = graph.AddOp(merged.results[0], bias_op.results[0])
    return [weight_op, bias_op, merged, added], added.result


def _slices(group: list[Sibling], merged: SSAValue) -> list[graph.SliceOp]:
    """One slice per sibling along the channel axis: 1 for convs, the last for matmuls."""
    shape = graph.tensor_shape(merged)
    axis = 1 if isinstance(group[0].op, graph.ConvOp) else len(shape) - 1
    slices: list[graph.SliceOp] = []
    offset = 0
    for sibling in group:
        starts = [offset if d == axis else 0 for d in range(len(shape))]
        slices.append(
            graph.SliceOp(merged, starts, [1] * len(shape), graph.tensor_shape(sibling.output))
        )
        offset += sibling.channels
    return slices


def _erase_unless_used(values: list[SSAValue]) -> None:
    """Erases the weights and constants among `values` that nobody reads any more."""
    for value in values:
        owner = value.owner
        if (
            isinstance(owner, graph.WeightOp | graph.ConstantOp)
            and owner.parent is not None
            and not owner.result.uses
        ):
            Rewriter.erase_op(owner)


def _merge(group: list[Sibling], params: Params) -> None:
    ops, merged = _merged_op(group, params)
    slices = _slices(group, merged)
    Rewriter.insert_op([*ops, *slices], InsertPoint.before(group[0].op))
    for sibling, piece in zip(group, slices, strict=True):
        sibling.output.replace_all_uses_with(piece.result)
        dropped = [op for op in (sibling.bias_add, sibling.op) if op is not None]
        operands = [v for op in dropped for v in op.operands]
        for op in dropped:
            Rewriter.erase_op(op)
        _erase_unless_used(operands)
    statistics.count("groups")
    statistics.count("ops-merged", len(group))
    statistics.count("bias-adds-merged", sum(s.bias_add is not None for s in group))


def _sibling_groups(block: Block, min_siblings: int, params: Params) -> list[list[Sibling]]:
    position = {op: n for n, op in enumerate(block.ops)}
    values = [*block.args, *(r for op in block.ops for r in op.results)]
    groups: list[list[Sibling]] = []
    for value in values:
        users = sorted({use.operation for use in value.uses}, key=lambda o: position.get(o, -1))
        by_key: dict[tuple[object, ...], list[Sibling]] = {}
        for user in users:
            sibling = _sibling(user, value, params) if user.parent is block else None
            if sibling is not None:
                by_key.setdefault(_group_key(sibling), []).append(sibling)
        groups.extend(g for g in by_key.values() if len(g) >= min_siblings)
    return groups


@dataclass(frozen=True)
class GraphFuseHorizontal(ModulePass):
    """Merges sibling convolutions or matmuls on one input into one op and slices."""

    name = "graph-fuse-horizontal"
    min_siblings: int = 2

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        params = params_of(ctx)
        for function in op.ops:
            if not isinstance(function, func.FuncOp) or not function.body.blocks:
                continue
            for group in _sibling_groups(function.body.block, max(2, self.min_siblings), params):
                _merge(group, params)
