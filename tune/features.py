"""Features of a scheduled kernel, for the XGB cost model: what the schedule did to the loops,
read off the `sched` IR the config produces (AutoTVM's itervar features, in small).

Per loop kind (serial, parallel, vectorize, unroll, reduce): how many loops, the log of the
product of their extents, and the log of the largest; per nest: the log of its iterations;
per buffer: the log of the bytes it holds and of the bytes one iteration of each of the
three outermost loops around its busiest access touches (what the loop order decides: which
operand stays in cache while another streams). Counts are log-scaled so kernels of other
shapes land in the same range, and the vector is of fixed length. The parallel loops are
those sched-parallelize leaves, as the build would run them.
"""

import math

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import sched
from ziggurat.passes.sched.parallelize import SchedParallelize
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.loop_transforms import ScheduleError
from ziggurat.schedule.space import Config
from ziggurat.schedule.templates import schedule_kernel
from ziggurat.tune.candidate import parse_task_module, random_feeds, task_kernel, task_spec
from ziggurat.tune.tasks import Task

KINDS = ("serial", "parallel", "vectorize", "unroll", "reduce")
MAX_NESTS = 4
MAX_BUFFERS = 6
FOOTPRINT_LEVELS = 3
LENGTH = 3 * len(KINDS) + MAX_NESTS + MAX_BUFFERS * (1 + FOOTPRINT_LEVELS) + 3


def _log(value: float) -> float:
    return math.log2(1 + value)


def _loop_dependence(value: SSAValue, loops: dict[SSAValue, sched.ForOp]) -> set[sched.ForOp]:
    """The loops whose induction variables an index value is computed from."""
    found: set[sched.ForOp] = set()
    pending = [value]
    seen: set[SSAValue] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in loops:
            found.add(loops[current])
        elif isinstance(current.owner, Operation) and not isinstance(current.owner, sched.LoadOp):
            pending.extend(current.owner.operands)
    return found


def _footprints(kernel: func.FuncOp) -> list[list[float]]:
    """Per buffer argument: the log bytes one iteration of each outermost loop around its
    busiest access (the one run most often) touches, from the outermost loop inward."""
    arguments: list[SSAValue] = list(kernel.body.block.args)
    loops: dict[SSAValue, sched.ForOp] = {
        loop.induction_var: loop for loop in kernel.walk() if isinstance(loop, sched.ForOp)
    }
    busiest: dict[int, tuple[int, list[float]]] = {}
    for op in kernel.walk():
        if not isinstance(op, sched.LoadOp | sched.StoreOp) or op.buffer not in arguments:
            continue
        enclosing: list[sched.ForOp] = []
        parent = op.parent_op()
        while isinstance(parent, sched.ForOp):
            enclosing.insert(0, parent)
            parent = parent.parent_op()
        depends: set[sched.ForOp] = set()
        for index in op.indices:
            depends |= _loop_dependence(index, loops)
        runs = math.prod(loop.trip_count for loop in enclosing)
        levels = []
        for level in range(FOOTPRINT_LEVELS):
            inner = enclosing[level + 1 :] if level < len(enclosing) else []
            elements = math.prod(loop.trip_count for loop in inner if loop in depends)
            levels.append(_log(4 * elements) if level < len(enclosing) else 0.0)
        argument = arguments.index(op.buffer)
        if argument not in busiest or runs > busiest[argument][0]:
            busiest[argument] = (runs, levels)
    return [
        busiest[n][1] if n in busiest else [0.0] * FOOTPRINT_LEVELS
        for n in range(min(len(arguments), MAX_BUFFERS))
    ]


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
    footprints = [value for levels in _footprints(kernel) for value in levels]
    footprints = (footprints + [0.0] * (MAX_BUFFERS * FOOTPRINT_LEVELS))[
        : MAX_BUFFERS * FOOTPRINT_LEVELS
    ]
    values = [
        *(float(counts[k]) for k in KINDS),
        *(extents[k] for k in KINDS),
        *(_log(largest[k]) for k in KINDS),
        *nests,
        *buffers,
        *footprints,
        float(sum(1 for op in kernel.body.block.ops if isinstance(op, sched.ForOp))),
        _log(sum(1 for _ in kernel.walk())),
        float(sum(1 for op in kernel.walk() if isinstance(op, sched.AllocOp))),
    ]
    return np.array(values, dtype=np.float32)


class FeatureExtractor:
    """Schedules a task's kernel with each config (in this process, on a copy of the task
    module, then sched-parallelize) and reads its features; a config that does not apply
    gives None."""

    def __init__(self, task: Task):
        self.task = task
        self.spec = task_spec(task)
        self.cache: dict[Config, np.ndarray | None] = {}
        self.ctx, self.module = parse_task_module(self.spec, random_feeds(self.spec, 0)[1])

    def __call__(self, config: Config) -> np.ndarray | None:
        if config not in self.cache:
            self.cache[config] = self._features(config)
        return self.cache[config]

    def _features(self, config: Config) -> np.ndarray | None:
        module = self.module.clone()
        kernel = task_kernel(module)
        params = dict(self.ctx.params)
        try:
            schedule = schedule_kernel(
                kernel, self.task.lanes, self.task.registers, params, config, strict=True
            )
        except ScheduleError:
            return None
        SchedParallelize().apply(self.ctx, module)
        return kernel_features(schedule.kernel)
