"""Features of a scheduled kernel, for the XGB cost model: what the schedule did to the loops,
read off the `sched` IR the config produces (AutoTVM's itervar features, in small).

Per loop kind (serial, parallel, vectorize, unroll, reduce): how many loops, the log of the
product of their extents, and the log of the largest; per nest: the log of its iterations;
and the log of the bytes each buffer holds. Counts are log-scaled so kernels of other shapes
land in the same range, and the vector is of fixed length.
"""

import math

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.loop_transforms import ScheduleError
from ziggurat.schedule.space import Config
from ziggurat.schedule.templates import schedule_kernel
from ziggurat.tune.candidate import parse_task_module, random_feeds, task_kernel, task_spec
from ziggurat.tune.tasks import Task

KINDS = ("serial", "parallel", "vectorize", "unroll", "reduce")
MAX_NESTS = 4
MAX_BUFFERS = 6
LENGTH = 3 * len(KINDS) + MAX_NESTS + MAX_BUFFERS + 3


def _log(value: float) -> float:
    return math.log2(1 + value)


def kernel_features(kernel: func.FuncOp) -> np.ndarray:
    """The fixed-length feature vector of a scheduled kernel."""
    counts = dict.fromkeys(KINDS, 0)
    extents = dict.fromkeys(KINDS, 0.0)
    largest = dict.fromkeys(KINDS, 0)
    for loop in lt.all_loops(kernel):
        kind = "reduce" if lt.is_reduce(loop) else loop.kind.data
        kind = kind if kind in counts else "serial"
        counts[kind] += 1
        extents[kind] += _log(loop.trip_count)
        largest[kind] = max(largest[kind], loop.trip_count)
    nests = []
    for op in kernel.body.block.ops:
        if isinstance(op, sched.ForOp):
            nests.append(
                sum(_log(inner.trip_count) for inner in op.walk() if isinstance(inner, sched.ForOp))
            )
    nests = (sorted(nests, reverse=True) + [0.0] * MAX_NESTS)[:MAX_NESTS]
    buffers = []
    for arg in kernel.body.block.args:
        if isinstance(arg.type, MemRefType):
            buffers.append(_log(4 * math.prod(arg.type.get_shape())))
    buffers = (buffers + [0.0] * MAX_BUFFERS)[:MAX_BUFFERS]
    values = [
        *(float(counts[k]) for k in KINDS),
        *(extents[k] for k in KINDS),
        *(_log(largest[k]) for k in KINDS),
        *nests,
        *buffers,
        float(sum(1 for op in kernel.body.block.ops if isinstance(op, sched.ForOp))),
        _log(sum(1 for _ in kernel.walk())),
        float(sum(1 for op in kernel.walk() if isinstance(op, sched.AllocOp))),
    ]
    return np.array(values, dtype=np.float32)


class FeatureExtractor:
    """Schedules a task's kernel with each config (in this process, on a parsed copy of the
    task module) and reads its features; a config that does not apply gives None."""

    def __init__(self, task: Task):
        self.task = task
        self.spec = task_spec(task)
        self.cache: dict[Config, np.ndarray | None] = {}

    def __call__(self, config: Config) -> np.ndarray | None:
        if config not in self.cache:
            self.cache[config] = self._features(config)
        return self.cache[config]

    def _features(self, config: Config) -> np.ndarray | None:
        ctx, module = parse_task_module(self.spec, random_feeds(self.spec, 0)[1])
        kernel = task_kernel(module)
        try:
            schedule = schedule_kernel(
                kernel, self.task.lanes, self.task.registers, ctx.params, config, strict=True
            )
        except ScheduleError:
            return None
        return kernel_features(schedule.kernel)
