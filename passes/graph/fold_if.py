"""graph-fold-if: a graph.if whose condition is a constant is replaced by its chosen branch's
ops, so the passes after it (fusion above all) see one straight graph where it was.

The importer already converts only the chosen branch when the condition is known at import
(a constant, or computed from shapes); this pass catches conditions that become constants
through graph passes (graph-fold-constants).

Runs on the graph dialect, any time before convert-graph-to-te.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from ziggurat.core import statistics
from ziggurat.dialects import graph


class FoldConstantIf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.IfOp, rewriter: PatternRewriter) -> None:
        owner = op.cond.owner
        if not isinstance(owner, graph.ConstantOp):
            return
        truth = bool(next(iter(owner.value.get_values())))
        block = (op.then_region if truth else op.else_region).block
        terminator = block.last_op
        assert isinstance(terminator, graph.YieldOp)
        values = list(terminator.values)
        rewriter.erase(terminator)
        rewriter.inline_block(block, InsertPoint.before(op))
        rewriter.replace(op, [], values)
        if not owner.result.uses:
            rewriter.erase(owner)
        statistics.count("ifs-folded")


@dataclass(frozen=True)
class GraphFoldIf(ModulePass):
    """Inlines the taken branch of each graph.if with a constant condition."""

    name = "graph-fold-if"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldConstantIf()).rewrite_module(op)
