"""sched-apply-schedule: schedule primitives from the command line, as a trace.

    ziggurat-opt k.mlir -p 'sched-apply-schedule{kernel=matmul_0 steps="split(\\"i0\\", 4)"}'

`steps` is a trace as `Schedule.trace` prints it (primitive calls separated by `;`, loop names
quoted), so a schedule found by hand, by a template (the `sched.trace` attribute) or by a
tuner replays on the same kernel. `kernel` names the kernel; empty means every kernel.
"""

import ast
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ziggurat.context import params_of
from ziggurat.passes import statistics
from ziggurat.passes.sched.loop_transforms import ScheduleError
from ziggurat.passes.sched.schedule import PRIMITIVES, Schedule, Step, Trace


def parse_trace(text: str) -> Trace:
    """Reads `split('i0', 4); vectorize('i0.i')` into a Trace; refuses anything else."""
    steps: list[Step] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            call = ast.parse(part, mode="eval").body
        except SyntaxError as err:
            raise ScheduleError(f"cannot read schedule step '{part}': {err.msg}.") from err
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.keywords:
            raise ScheduleError(f"schedule step '{part}' is not a primitive call.")
        if call.func.id not in PRIMITIVES:
            raise ScheduleError(
                f"unknown schedule primitive '{call.func.id}'; "
                f"primitives are {', '.join(sorted(PRIMITIVES))}."
            )
        try:
            args = tuple(ast.literal_eval(arg) for arg in call.args)
        except ValueError as err:
            raise ScheduleError(f"schedule step '{part}' has a non-literal argument.") from err
        steps.append(Step(call.func.id, args))
    return Trace(steps)


@dataclass(frozen=True)
class SchedApplySchedule(ModulePass):
    """Replays a trace of schedule primitives on a kernel (or on every kernel)."""

    name = "sched-apply-schedule"
    kernel: str = ""
    steps: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        trace = parse_trace(self.steps)
        kernels = [
            k
            for k in op.ops
            if isinstance(k, func.FuncOp)
            and k.sym_visibility is not None
            and (not self.kernel or k.sym_name.data == self.kernel)
        ]
        if self.kernel and not kernels:
            raise ScheduleError(f"sched-apply-schedule: no kernel named '{self.kernel}'.")
        for kernel in kernels:
            schedule = Schedule(kernel, params_of(ctx))
            for step in trace.steps:
                try:
                    getattr(schedule, step.primitive)(*step.args)
                except TypeError as err:
                    raise ScheduleError(f"schedule step {step}: {err}.") from err
            statistics.count("primitives-applied", len(trace.steps))
