"""A schedule as a pass on the sched dialect: run the batch loop of every matmul kernel in
parallel, whatever its size (sched-parallelize weighs the work first)."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass

from ziggurat.dialects import sched
from ziggurat.plugins import register_pass


@register_pass
@dataclass(frozen=True)
class ParallelBatch(ModulePass):
    """Marks the outermost loop of each kernel whose name starts with `prefix` parallel, when
    it has at least `min-trips` iterations.

    Runs after convert-te-to-sched, before convert-sched-to-target.
    """

    name = "parallel-batch"
    prefix: str = "matmul"
    min_trips: int = 2

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for kernel in op.ops:
            if isinstance(kernel, func.FuncOp) and kernel.sym_name.data.startswith(self.prefix):
                for loop in kernel.body.block.ops:
                    if isinstance(loop, sched.ForOp) and loop.trip_count >= self.min_trips:
                        loop.kind = StringAttr("parallel")
