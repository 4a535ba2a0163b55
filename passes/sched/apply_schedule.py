"""sched-apply-schedule: schedule primitives from the command line, as a trace.

    ziggurat-opt k.mlir -p 'sched-apply-schedule{kernel=matmul_0 steps="split(\\"i0\\", 4)"}'

`steps` is a trace as `Schedule.trace` prints it (primitive calls separated by `;`, loop names
quoted), so a schedule found by hand, by a template (the `sched.trace` attribute) or by a
tuner replays on the same kernel. `kernel` names the kernel; empty means every kernel.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.schedule.loop_transforms import ScheduleError
from ziggurat.schedule.schedule import parse_trace


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
            trace.replay(kernel, params_of(ctx))
            statistics.count("primitives-applied", len(trace.steps))
