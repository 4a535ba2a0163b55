"""graph-eliminate-dead: remove layers that do nothing at inference.

Algorithm, repeated until nothing changes:
1. A reshape to the same shape, a transpose by the identity permutation, a broadcast or cast
   to the same type, a slice taking everything: replaced by their input.
2. A transpose of a transpose: one transpose by the composed permutation (step 1 removes it
   when the two cancel).
3. Pure ops and weights whose results nobody uses: erased.
(Dropout and Identity never reach the graph: the ONNX importer forwards their inputs.)

Runs on the graph dialect, any time before convert-graph-to-te.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ziggurat.core import statistics
from ziggurat.dialects import graph


def _is_noop(op: Operation) -> bool:
    if isinstance(op, graph.TransposeOp):
        return op.permutation == tuple(range(len(op.permutation)))
    if isinstance(op, graph.SliceOp):
        return (
            op.input.type == op.result.type
            and all(s == 0 for s in op.starts.get_values())
            and all(s == 1 for s in op.steps.get_values())
        )
    if isinstance(op, graph.ReshapeOp | graph.BroadcastOp | graph.CastOp):
        return op.operands[0].type == op.results[0].type
    return False


class RemoveNoop(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if _is_noop(op):
            rewriter.replace(op, [], [op.operands[0]])
            statistics.count("noops-removed")


class ComposeTransposes(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.TransposeOp, rewriter: PatternRewriter) -> None:
        # transpose(transpose(x, p), q) -> transpose(x, p[q])
        inner = op.input.owner
        if isinstance(inner, graph.TransposeOp):
            composed = [inner.permutation[q] for q in op.permutation]
            rewriter.replace(op, graph.TransposeOp(inner.input, composed))
            statistics.count("transposes-composed")


class RemoveUnused(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.dialect_name() == "graph" and op.results and not any(r.uses for r in op.results):
            rewriter.erase(op)
            statistics.count("dead-ops-removed")


@dataclass(frozen=True)
class GraphEliminateDead(ModulePass):
    """Removes no-op layers, cancels transposes and erases unused ops and weights."""

    name = "graph-eliminate-dead"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([RemoveNoop(), ComposeTransposes(), RemoveUnused()]),
            walk_reverse=True,
        ).rewrite_module(op)
