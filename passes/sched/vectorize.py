"""sched-lower-vectorize: each innermost `vectorize` loop becomes straight-line SIMD code.

The loop vectorizer (`ziggurat.schedule.vectorizer`, its algorithm and an example there) turns
a loop of W iterations into one vector<W x T> computation; a loop it cannot express stays a
serial loop, counted in `loops-not-vectorized`. Runs after sched-lower-unroll, before
convert-sched-to-target.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.dialects import sched
from ziggurat.schedule.vectorizer import LoopVectorizer, NotVectorizable


def _innermost_vectorize_loops(root: Operation) -> list[sched.ForOp]:
    return [
        op
        for op in root.walk()
        if isinstance(op, sched.ForOp)
        and op.kind.data == "vectorize"
        and not any(isinstance(inner, sched.ForOp) for inner in op.body.walk())
    ]


@dataclass(frozen=True)
class SchedLowerVectorize(ModulePass):
    """Replaces every innermost `vectorize` loop it can by vector code; the others (and
    `vectorize` loops with loops inside) become serial loops."""

    name = "sched-lower-vectorize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        innermost = _innermost_vectorize_loops(op)
        for loop in [o for o in op.walk() if isinstance(o, sched.ForOp)]:
            if loop.kind.data == "vectorize" and loop not in innermost:
                loop.kind = StringAttr("serial")
                statistics.count("loops-not-vectorized")
        for loop in innermost:
            try:
                ops = LoopVectorizer(loop).run()
            except NotVectorizable:
                loop.kind = StringAttr("serial")
                statistics.count("loops-not-vectorized")
                continue
            Rewriter.insert_op(ops, InsertPoint.before(loop))
            Rewriter.erase_op(loop)
            statistics.count("loops-vectorized")
