"""sched-parallelize: the default parallel schedule, run each big loop nest across cores.

Algorithm, for each top-level loop nest of each kernel:
1. Skip the nest if its work (the product of all its loops' trip counts) is below
   `min-work` iterations: a fork-join costs about a microsecond while libgomp's threads
   still spin from the last region, tens of microseconds once they sleep, so nests under
   ~64K iterations (tens of microseconds of one core for a transform that does a few adds
   per element) run serially. Measured at opt_level 3 in one process: 64K against 256K,
   ResNet-18 5.65 ms against 5.92 (the Winograd output transforms, 200K elements, went
   parallel), MobileNetV2 1.77 against 1.87, the encoder and the MLPs unchanged; 16K
   gained nothing more.
2. Walk down the chain of spatial loops (never `sched.axis = "reduce"` ones, whose iterations
   share an accumulator) and mark the first loop with at least `min-trips` iterations
   `parallel`; a nest without one keeps running serially.

A schedule's decision wins: a nest in which a loop is already `parallel`, or whose loops a
schedule kept serial (`sched.serial`, the `serial` primitive), is left as it is. Runs after
convert-te-to-sched; convert-sched-to-target carries the kind to the target.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass

from ziggurat.core import statistics
from ziggurat.dialects import sched
from ziggurat.schedule.schedule import SERIAL_ATTR


def nest_work(loop: sched.ForOp) -> int:
    """Iterations of the innermost statements of a nest, summed over its sub-nests."""
    inner = [op for op in loop.body.block.ops if isinstance(op, sched.ForOp)]
    return loop.trip_count * max(1, sum(nest_work(child) for child in inner))


def _decided(nest: sched.ForOp) -> bool:
    """Whether a schedule already chose how the nest runs across cores."""
    return any(
        isinstance(op, sched.ForOp) and (op.kind.data == "parallel" or SERIAL_ATTR in op.attributes)
        for op in nest.walk()
    )


def _spatial_chain(loop: sched.ForOp) -> list[sched.ForOp]:
    """The loop and the loops perfectly nested in it, outermost first, down to a reduction."""
    chain: list[sched.ForOp] = []
    current: sched.ForOp | None = loop
    while current is not None and current.attributes.get(sched.AXIS_ATTR) != StringAttr("reduce"):
        chain.append(current)
        loops = [op for op in current.body.block.ops if isinstance(op, sched.ForOp)]
        current = loops[0] if len(loops) == 1 else None
    return chain


@dataclass(frozen=True)
class SchedParallelize(ModulePass):
    """Marks the outermost spatial loop with enough iterations of every big nest parallel."""

    name = "sched-parallelize"
    min_work: int = 1 << 16
    min_trips: int = 2

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for kernel in op.ops:
            if not isinstance(kernel, func.FuncOp) or kernel.sym_visibility is None:
                continue
            for nest in kernel.body.block.ops:
                if not isinstance(nest, sched.ForOp) or nest_work(nest) < self.min_work:
                    continue
                if _decided(nest):
                    continue
                for loop in _spatial_chain(nest):
                    if loop.kind.data != "serial":
                        break
                    if loop.trip_count >= self.min_trips:
                        loop.kind = StringAttr("parallel")
                        statistics.count("loops-parallelized")
                        break
