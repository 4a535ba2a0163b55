"""sched-default-schedule: the templates of templates.py on every kernel, for the target.

Reads the vector lanes and register count from the `target` option, or the module's
`#target.cpu`, or the host's, tiles reduction nests into register-blocked micro-kernels and vectorizes
injective ones. Within `ziggurat.schedule.dispatch.use_configs` (the tuner's
apply_history_best), a kernel whose workload key has a config gets it instead of the
template's default. Each kernel keeps its schedule's trace in its `sched.trace` attribute. Runs
after convert-te-to-sched and before sched-parallelize, sched-lower-unroll and
sched-lower-vectorize, which make the marked loops real.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.core.targets import as_target
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.schedule import dispatch
from ziggurat.schedule.templates import register_count, schedule_kernel


def module_cpu(module: ModuleOp, target: str = "") -> CpuTargetAttr:
    """The `target` option's CPU if given, else the module's `#target.cpu`, else the host."""
    if target:
        return as_target(target)
    cpu = module.attributes.get(CPU_ATTR)
    return cpu if isinstance(cpu, CpuTargetAttr) else as_target("llvm -mcpu=native")


@dataclass(frozen=True)
class SchedDefaultSchedule(ModulePass):
    """Register-tiles reductions and vectorizes injective loops in every kernel."""

    name = "sched-default-schedule"
    target: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        cpu = module_cpu(op, self.target)
        lanes = cpu.vector_lanes(32)
        registers = register_count(cpu)
        for kernel in list(op.ops):
            if isinstance(kernel, func.FuncOp) and kernel.sym_visibility is not None:
                config = dispatch.config_for_kernel(kernel, op, params_of(ctx))
                schedule = schedule_kernel(
                    kernel, lanes, registers, params_of(ctx), config, dispatch.is_strict()
                )
                statistics.count("kernels-tuned", config is not None)
                statistics.count("kernels-scheduled")
                statistics.count("primitives-applied", len(schedule.trace.steps))
