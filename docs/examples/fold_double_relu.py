"""A graph-level rewrite pass, registered as a plugin: relu(relu(x)) -> relu(x)."""

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

from ziggurat.core.statistics import count
from ziggurat.dialects import graph
from ziggurat.plugins import register_pass


class FoldDoubleRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReluOp, rewriter: PatternRewriter) -> None:
        # relu(relu(x)) -> relu(x)
        if isinstance(op.input.owner, graph.ReluOp):
            rewriter.replace(op, [], [op.input])
            count("relus-folded")


@register_pass
@dataclass(frozen=True)
class FoldDoubleReluPass(ModulePass):
    """Removes a relu applied to the result of a relu.

    Runs on the graph dialect, before convert-graph-to-te.
    """

    name = "fold-double-relu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldDoubleRelu()).rewrite_module(op)
