"""The config space of a kernel's default templates: what a tuner searches.

A kernel whose templates give a register tile (a reduction nest: matmul, convolution,
pooling) has three knobs, for its first reduction nest:

- `column`: which spatial loop is the vector axis, by index among the template's candidates
  (innermost first);
- `tile_rows`: unrolled rows of accumulators, 1 to 12;
- `tile_cols`: columns of accumulators, one to four vectors of the target's lanes;

constrained so the accumulators, the column operands and a broadcast fit the registers. The
default config is the one the templates choose without tuning (the register-budget
heuristic); it is always a point of the space.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.space import Config, ConfigSpace
from ziggurat.schedule.templates import (
    column_candidates,
    is_reduction_nest,
    schedule_kernel,
    spatial_chain,
)

MAX_ROWS = 12
MAX_VECTORS = 4


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


def _with(config: Config, **changes: int) -> Config:
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
    for the default, once per other candidate vector axis, to keep the axes that tile."""
    chain = _first_reduction_chain(kernel)
    if chain is None:
        return None
    default = _schedule_copy(kernel, lanes, registers, params, None)
    if default is None:
        return None
    columns = [
        n
        for n in range(len(column_candidates(chain)))
        if n == default["column"]
        or _schedule_copy(kernel, lanes, registers, params, _with(default, column=n)) is not None
    ]
    space = ConfigSpace()
    space.define_knob("column", columns)
    space.define_knob("tile_rows", sorted({*range(1, MAX_ROWS + 1), int(default["tile_rows"])}))
    cols = {lanes * v for v in range(1, MAX_VECTORS + 1)} | {int(default["tile_cols"])}
    space.define_knob("tile_cols", sorted(cols))
    space.define_constraint(lambda c: c == default or fits_registers(c, lanes, registers))
    assert space.index_of(default) is not None
    return KernelSpace(space, default)
