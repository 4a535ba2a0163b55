"""The config space of a kernel's default templates: what a tuner searches.

A kernel whose templates give a register tile (a reduction nest: matmul, convolution,
pooling) has these knobs, for its first reduction nest:

- `column`: which spatial loop is the vector axis, by index among the template's candidates
  (innermost first);
- `tile_rows`: unrolled rows of accumulators, 1 to 12 (for a convolution in the blocked
  layout: its output-width block);
- `tile_cols`: columns of accumulators, one to four vectors of the target's lanes (for a
  blocked convolution: its output-channel block, in vectors);
- `order`: row blocks outer (0) or column panels outer (1);
- `unroll`: the innermost reduction loop unrolled by 1, 2 or 4;
- `parallel`: "auto", "fused" or "none" (`templates.PARALLEL_POLICIES`);

the tile constrained so the accumulators, the column operands and a broadcast fit the
registers; values of `column`, `order`, `unroll` and `parallel` that do not apply to the
kernel are left out. The default config is the one the templates choose without tuning (the
register-budget heuristic); it is always a point of the space. A kernel a registered
template accepts (`custom_templates`) has that template's space instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.custom_templates import collect_space, template_for
from ziggurat.schedule.space import Config, ConfigSpace, KnobValue
from ziggurat.schedule.templates import (
    PARALLEL_POLICIES,
    column_candidates,
    is_reduction_nest,
    schedule_kernel,
    spatial_chain,
)

MAX_ROWS = 12
MAX_VECTORS = 4
UNROLL_FACTORS = (1, 2, 4)


@dataclass(frozen=True)
class KernelSpace:
    space: ConfigSpace
    default: Config


def _first_reduction_chain(kernel: func.FuncOp) -> list[sched.ForOp] | None:
    for op in kernel.body.block.ops:
        if isinstance(op, sched.ForOp):
            chain = spatial_chain(op)
            if is_reduction_nest(chain):
                return chain
    return None


def _with(config: Config, **changes: KnobValue) -> Config:
    return Config.of({**config, **changes})


def _schedule_copy(
    kernel: func.FuncOp,
    lanes: int,
    registers: int,
    params: dict[str, np.ndarray],
    config: Config | None,
) -> Config | None:
    """The config the templates take on a copy of the kernel's module (`config`, or their
    default when it is None); None when they take none or `config` does not apply."""
    module = kernel.parent_op()
    assert isinstance(module, ModuleOp)
    copy = module.clone()
    twin = next(
        op
        for op in copy.ops
        if isinstance(op, func.FuncOp) and op.sym_name.data == kernel.sym_name.data
    )
    try:
        return schedule_kernel(twin, lanes, registers, dict(params), config, strict=True).config
    except lt.ScheduleError:
        return None


def fits_registers(config: Config, lanes: int, registers: int) -> bool:
    """Whether the tile's accumulators, one vector per column operand and a broadcast fit."""
    vectors = -(-int(config["tile_cols"]) // lanes)
    return int(config["tile_rows"]) * vectors + vectors + 2 <= registers


def kernel_space(
    kernel: func.FuncOp, lanes: int, registers: int, params: dict[str, np.ndarray]
) -> KernelSpace | None:
    """The kernel's space and default config; None when its templates have no knobs (no
    reduction nest takes a register tile). Schedules copies of the kernel's module: once
    for the default, once per other value of the knobs whose values may not apply (vector
    axis, order, unroll, parallel policy), to keep those that do."""
    custom = template_for(kernel)
    if custom is not None:
        space, default_config = collect_space(custom, kernel, params)
        return KernelSpace(space, default_config)
    chain = _first_reduction_chain(kernel)
    if chain is None:
        return None
    default = _schedule_copy(kernel, lanes, registers, params, None)
    if default is None:
        return None

    def applies(knob: str, values: Sequence[KnobValue]) -> list[KnobValue]:
        return [
            v
            for v in values
            if v == default[knob]
            or _schedule_copy(kernel, lanes, registers, params, _with(default, **{knob: v}))
            is not None
        ]

    space = ConfigSpace()
    space.define_knob("column", applies("column", list(range(len(column_candidates(chain))))))
    space.define_knob("tile_rows", sorted({*range(1, MAX_ROWS + 1), int(default["tile_rows"])}))
    cols = {lanes * v for v in range(1, MAX_VECTORS + 1)} | {int(default["tile_cols"])}
    space.define_knob("tile_cols", sorted(cols))
    space.define_knob("order", applies("order", [0, 1]))
    space.define_knob("unroll", applies("unroll", UNROLL_FACTORS))
    space.define_knob("parallel", applies("parallel", PARALLEL_POLICIES))
    space.define_constraint(lambda c: c == default or fits_registers(c, lanes, registers))
    assert space.index_of(default) is not None
    return KernelSpace(space, default)
