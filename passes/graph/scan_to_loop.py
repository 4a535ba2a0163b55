"""graph-scan-to-loop: each graph.scan becomes a graph.loop over the scan length, so one
lowering (scf.while in the entry) serves both.

Algorithm, for each graph.scan of length T:
1. A loop with trip count T (no condition), carrying the scan's states.
2. In the body, each scan input's slice is a graph.gather of the input at the iteration
   number along its axis (at T-1-i for a reverse input); the scan body's ops follow, and it
   yields true, the next states and the scan elements.
3. The loop stacks each element on a new axis 0 in iteration order; a prepended (reverse)
   output is reversed along that axis by a gather, and a transpose moves the axis to the
   output's scan axis.

Runs on the graph dialect before convert-graph-to-te (first in the lowering).
"""

from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, i1, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ziggurat.core import statistics
from ziggurat.dialects import graph


def _i64(values: list[int], shape: tuple[int, ...]) -> SSAValue:
    return graph.ConstantOp(graph.dense_tensor(i64, shape, values)).result


class ScanToLoop(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ScanOp, rewriter: PatternRewriter) -> None:
        states = op.state_count
        length = op.length
        in_axes, in_dirs, out_axes, out_dirs = op.axes()
        old = op.body.block
        state_types = [v.type for v in op.inputs[:states]]
        body = Block(arg_types=[graph.tensor_of((), i64), graph.tensor_of((), i1), *state_types])
        with ImplicitBuilder(body):
            iteration: SSAValue = body.args[0]
            reverse: SSAValue | None = None
            for arg, value, axis, direction in zip(
                old.args[states:], op.inputs[states:], in_axes, in_dirs, strict=True
            ):
                index = iteration
                if direction:
                    if reverse is None:
                        reverse = graph.SubOp(_i64([length - 1], ()), iteration).result
                    index = reverse
                arg.replace_all_uses_with(graph.GatherOp(value, index, axis).result)
        for arg, new in zip(old.args[:states], body.args[2:], strict=True):
            arg.replace_all_uses_with(new)
        terminator = old.last_op
        assert isinstance(terminator, graph.YieldOp)
        yielded = list(terminator.values)
        rewriter.erase(terminator)
        for inner in list(old.ops):
            inner.detach()
            body.add_op(inner)
        with ImplicitBuilder(body):
            always = graph.ConstantOp(graph.dense_tensor(i1, (), [1])).result
            graph.YieldOp([always, *yielded])
        stacked = [
            graph.tensor_of((length, *graph.tensor_shape(v)), graph.element_type_of(v))
            for v in yielded[states:]
        ]
        loop = graph.LoopOp(op.inputs[:states], [*state_types, *stacked], Region(body), length)
        new_ops: list[Operation] = [loop]
        results: list[SSAValue] = list(loop.outputs[:states])
        for value, axis, direction in zip(loop.outputs[states:], out_axes, out_dirs, strict=True):
            if direction:
                order = graph.ConstantOp(
                    graph.dense_tensor(i64, (length,), list(range(length - 1, -1, -1)))
                )
                gather = graph.GatherOp(value, order.result, 0)
                new_ops += [order, gather]
                value = gather.result
            if axis:
                rank = len(graph.tensor_shape(value))
                perm = [*range(1, axis + 1), 0, *range(axis + 1, rank)]
                transpose = graph.TransposeOp(value, perm)
                new_ops.append(transpose)
                value = transpose.result
            results.append(value)
        rewriter.replace(op, new_ops, results)
        statistics.count("scans-lowered")


@dataclass(frozen=True)
class GraphScanToLoop(ModulePass):
    """Rewrites graph.scan as graph.loop with gathers of its slices."""

    name = "graph-scan-to-loop"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ScanToLoop()).rewrite_module(op)
