"""graph-canonicalize: algebraic simplifications, one rule per line of algebra.

Each rule matches an op whose operand is a splat constant (or another op) and rewrites it; the
walker applies them until none matches. Shapes never change: a rule that would broadcast its
result bigger than the surviving operand does not apply.

Runs on the graph dialect, any time before convert-graph-to-te; graph-eliminate-dead then
removes what became unused.
"""

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from ziggurat.core import statistics
from ziggurat.dialects import graph
from ziggurat.dialects.te_builder import splat_value

Rule = Callable[[Operation], SSAValue | None]


def _keeps_type(op: Operation, value: SSAValue) -> SSAValue | None:
    return value if value.type == op.results[0].type else None


def _identity_operand(op: Operation, identity: float, commutes: bool) -> SSAValue | None:
    lhs, rhs = op.operands
    if splat_value(rhs) == identity:
        return _keeps_type(op, lhs)
    if commutes and splat_value(lhs) == identity:
        return _keeps_type(op, rhs)
    return None


def _same_op_twice(op: Operation) -> SSAValue | None:
    inner = op.operands[0].owner
    return op.operands[0] if type(inner) is type(op) else None


RULES: dict[type[Operation], list[tuple[str, Rule]]] = {
    graph.AddOp: [("x + 0 -> x", lambda op: _identity_operand(op, 0.0, True))],
    graph.SubOp: [("x - 0 -> x", lambda op: _identity_operand(op, 0.0, False))],
    graph.MulOp: [("x * 1 -> x", lambda op: _identity_operand(op, 1.0, True))],
    graph.DivOp: [("x / 1 -> x", lambda op: _identity_operand(op, 1.0, False))],
    graph.PowOp: [("x ** 1 -> x", lambda op: _identity_operand(op, 1.0, False))],
    graph.ReluOp: [("relu(relu(x)) -> relu(x)", _same_op_twice)],
}
"""Rules replacing an op by an existing value."""


class ApplyRules(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        for label, rule in RULES.get(type(op), ()):
            replacement = rule(op)
            if replacement is not None:
                rewriter.replace(op, [], [replacement])
                statistics.count(label)
                return


class ReshapeOfReshape(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        # reshape(reshape(x)) -> reshape(x)
        if isinstance(op, graph.ReshapeOp) and isinstance(op.input.owner, graph.ReshapeOp):
            rewriter.replace(
                op, graph.ReshapeOp(op.input.owner.input, graph.tensor_shape(op.result))
            )
            statistics.count("reshape(reshape(x)) -> reshape(x)")


@dataclass(frozen=True)
class GraphCanonicalize(ModulePass):
    """Applies the algebraic rules of RULES and folds chains of reshapes."""

    name = "graph-canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([ApplyRules(), ReshapeOfReshape()])
        ).rewrite_module(op)
