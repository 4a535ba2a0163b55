"""sched-lower-unroll: each `unroll` loop becomes one copy of its body per iteration.

A schedule marks a loop `unroll` when its iterations should become straight-line code: a
register tile's rows, say, whose accumulators LLVM then keeps in registers. Before:

    sched.for %mi = 0 to 2 step 1 unroll {
      %v = sched.load %x[%mi] : memref<2xf32>
      sched.store %v, %y[%mi] : memref<2xf32>
    }

After:

    %c0 = arith.constant 0 : index
    %v0 = sched.load %x[%c0] : memref<2xf32>
    sched.store %v0, %y[%c0] : memref<2xf32>
    %c1 = arith.constant 1 : index
    %v1 = sched.load %x[%c1] : memref<2xf32>
    sched.store %v1, %y[%c1] : memref<2xf32>

Algorithm: visit the `unroll` loops innermost first (so nested unroll loops multiply), and
replace each by clones of its body, the induction variable replaced by an `arith.constant`
of its value in that iteration. A loop with more than `max-copies` iterations is left as a
serial loop. Runs after the schedules, before sched-lower-vectorize (which then sees the
copied `vectorize` loops) and convert-sched-to-target.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.dialects import sched
from ziggurat.passes import statistics


def unroll(loop: sched.ForOp) -> None:
    """Replaces the loop by one copy of its body per iteration."""
    copies: list[Operation] = []
    body = [op for op in loop.body.block.ops if not isinstance(op, sched.YieldOp)]
    for value in range(loop.lower.data, loop.upper.data, loop.step.data):
        iteration = arith.ConstantOp(IntegerAttr(value, IndexType()))
        mapping: dict[SSAValue, SSAValue] = {loop.induction_var: iteration.result}
        copies.append(iteration)
        copies += [op.clone(value_mapper=mapping) for op in body]
    Rewriter.insert_op(copies, InsertPoint.before(loop))
    Rewriter.erase_op(loop)


def _innermost_first(root: Operation) -> list[sched.ForOp]:
    """The unroll loops under root, each after every loop nested in it."""
    loops = [op for op in root.walk() if isinstance(op, sched.ForOp)]
    return [loop for loop in reversed(loops) if loop.kind.data == "unroll"]


@dataclass(frozen=True)
class SchedLowerUnroll(ModulePass):
    """Replaces every `unroll` loop with at most `max-copies` iterations by copies of its
    body; longer ones become serial loops."""

    name = "sched-lower-unroll"
    max_copies: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for loop in _innermost_first(op):
            if loop.trip_count > self.max_copies:
                loop.kind = StringAttr("serial")
                statistics.count("loops-not-unrolled")
                continue
            unroll(loop)
            statistics.count("loops-unrolled")
