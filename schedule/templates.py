"""Default schedules as templates with knobs, one per loop-nest kind (AutoTVM's templates).

The templates look at loop nests, not at op names, so every op whose te form has the same
shape gets the same kernel:

- kernels of several nests over the same rows (softmax, layer norm) first merge into one
  nest over the rows, its elementwise loops vectorized (row_nests.py), unless a nest takes
  the register tile below;
- reduction nests (matmul, batched matmul, dense, convolution with weights packed so output
  channels are contiguous, pooling): `for d..: for i: for j: acc = init; for r..: acc += ..;
  out = f(acc)` gets a register tile of `rows` x `cols` accumulators (cols in vectors of the
  target's lanes), the reduction loops outside the tile, the tile unrolled and vectorized,
  and the epilogue (bias, activation) vectorized on the tile: the GEMM micro-kernel.
  Remainders of the splits become their own nests and are tiled again.
- injective nests (elementwise, broadcast, copies): the innermost loop split by the lanes
  and vectorized; loops that only pick a formula per iteration (selector_loops.py) first
  move above it and unroll.

Knobs are plain data (`TileKnobs`) so a tuner can search them; `default_tile_knobs` is the
register-budget heuristic used without tuning.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import Rewriter
from xdsl.traits import is_side_effect_free

from ziggurat.dialects import sched
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.custom_templates import Template, apply_template, template_for
from ziggurat.schedule.pack import packable_arguments
from ziggurat.schedule.row_nests import merge_row_nests
from ziggurat.schedule.schedule import Schedule
from ziggurat.schedule.selector_loops import unroll_selectors
from ziggurat.schedule.space import Config
from ziggurat.schedule.vectorizer import LoopVectorizer, NotVectorizable

MAX_NESTS_PER_KERNEL = 12
"""Bound on the nests (a kernel's own plus split remainders) a template tiles in a kernel."""


PARALLEL_POLICIES = ("auto", "fused", "none")
"""How a tiled nest runs across cores: as sched-parallelize decides ("auto": its outermost
loop of two or more trips, if the nest is big enough), its two outermost loops of two or
more trips fused into one parallel loop ("fused": more, finer chunks for the cores to
share), or serially ("none": no fork-join for a nest too small to repay it)."""


@dataclass(frozen=True)
class TileKnobs:
    """A register tile, `rows` unrolled rows of `cols` vectorized columns of accumulators,
    and the loops around it: `order` 0 walks the tiles row-block outer (each row block's
    operand reused across the column panels), 1 column-panel outer (each packed panel
    reused across the row blocks); the innermost reduction loop unrolled by `unroll`; and
    the `parallel` policy (`PARALLEL_POLICIES`)."""

    rows: int
    cols: int
    order: int = 0
    unroll: int = 1
    parallel: str = "auto"


def register_count(cpu: CpuTargetAttr) -> int:
    """SIMD registers the ISA has: 32 with AVX-512 and on AArch64 (v0-v31), 16 with
    AVX/AVX2/SSE."""
    return 32 if cpu.vector_bits.data >= 512 or cpu.arch in ("aarch64", "arm64") else 16


def default_tile_knobs(rows_extent: int, cols_extent: int, lanes: int, registers: int) -> TileKnobs:
    """Two vectors of columns and as many rows as leave room for the two column operands
    and a broadcast (12 with 32 registers, 6 with 16): per step of the reduction that loads
    2 vectors and broadcasts `rows` scalars for 2 x rows FMAs, and a tall tile reloads the
    streamed operand least (measured on a 1024^3 matmul: 8 x 32 ran at 393 GFLOP/s where
    4 x 64 ran at 204). A row count dividing the extent, down to half the maximum, wins
    over a remainder nest."""
    vectors = max(1, min(2, cols_extent // lanes))
    cols = vectors * lanes if cols_extent >= lanes else 1 << (cols_extent.bit_length() - 1)
    max_rows = max(1, min(12, (registers - vectors - 2) // vectors))
    rows = min(max_rows, rows_extent)
    for candidate in range(rows, max(1, rows // 2) - 1, -1):
        if rows_extent % candidate == 0:
            return TileKnobs(candidate, cols)
    return TileKnobs(rows, cols)


def spatial_chain(top: sched.ForOp) -> list[sched.ForOp]:
    """The spatial loops perfectly nested from `top` down (pure ops between them allowed)."""
    chain = [top]
    while True:
        loops = [op for op in lt.body_ops(chain[-1]) if isinstance(op, sched.ForOp)]
        others = [op for op in lt.body_ops(chain[-1]) if not isinstance(op, sched.ForOp)]
        if len(loops) != 1 or lt.is_reduce(loops[0]) or any(op.regions for op in others):
            return chain
        if any(not is_side_effect_free(op) for op in others):
            return chain
        chain.append(loops[0])


def is_reduction_nest(chain: list[sched.ForOp]) -> bool:
    innermost = chain[-1]
    has_reduce = any(
        isinstance(op, sched.ForOp) and lt.is_reduce(op) for op in lt.body_ops(innermost)
    )
    return has_reduce and bool(lt.scalar_accumulators(innermost))


def _is_scheduled(top: sched.ForOp) -> bool:
    return any(
        isinstance(op, sched.ForOp) and op.kind.data in ("vectorize", "unroll", "parallel")
        for op in top.walk()
    )


def _depends_on(value: SSAValue, iv: SSAValue) -> bool:
    if value is iv:
        return True
    owner = value.owner
    return (
        isinstance(owner, Operation)
        and not isinstance(owner, sched.LoadOp)
        and any(_depends_on(operand, iv) for operand in owner.operands)
    )


def pack_for_columns(s: Schedule, column: str, packable: set[int], cols: int) -> None:
    """Packs each constant weight the loops read along the column loop so the columns are
    contiguous: a dimension other than the last moves last, and a column dimension longer
    than the tile, which the column loop covers whole and `cols` divides, is cut into panels
    of `cols` (outermost), so each tile streams one panel. Remainder nests (a part of the
    dimension) leave the layout to the nest that covers it."""
    loop = s.loop(column)
    args: list[SSAValue] = list(s.kernel.body.block.args)
    wanted: dict[int, tuple[tuple[int, ...], tuple[int, int] | None]] = {}
    for op in loop.walk():
        if not isinstance(op, sched.LoadOp) or op.buffer not in args:
            continue
        argument = args.index(op.buffer)
        dims = [n for n, index in enumerate(op.indices) if _depends_on(index, loop.induction_var)]
        if argument not in packable or len(dims) != 1:
            continue
        rank = len(op.indices)
        (dim,) = dims
        assert isinstance(op.buffer.type, MemRefType)
        extent = op.buffer.type.get_shape()[dim]
        if extent > cols and extent % cols == 0 and loop.trip_count == extent:
            others = [d if d < dim else d + 1 for d in range(rank) if d != dim]
            plan: tuple[tuple[int, ...], tuple[int, int] | None] = (
                (dim, *others, dim + 1),
                (dim, cols),
            )
        elif dim != rank - 1:
            plan = ((*(d for d in range(rank) if d != dim), dim), None)
        else:
            continue
        if wanted.setdefault(argument, plan) != plan:
            raise lt.ScheduleError(f"argument {argument} is read along '{column}' in two ways.")
    for argument, (order, split) in sorted(wanted.items()):
        s.pack(argument, order, split)


def _under_reduction(op: Operation, top: sched.ForOp) -> bool:
    """Whether a reduction loop below `top` encloses `op`."""
    parent = op.parent_op()
    while parent is not None and parent is not top:
        if isinstance(parent, sched.ForOp) and lt.is_reduce(parent):
            return True
        parent = parent.parent_op()
    return False


def column_block_loop(s: Schedule, candidates: list[str], packable: set[int]) -> str | None:
    """A spatial loop that can give a one-vector tile a second vector of columns: one that
    indexes only constant weights among the reduction's loads (the blocked convolution's
    output-channel block), so every row's broadcast operand serves both vectors; the
    epilogue's loads (bias, a residual) may depend on it. The innermost such loop with an
    even trip count, or None."""
    args: list[SSAValue] = list(s.kernel.body.block.args)
    for name in reversed(candidates):
        loop = s.loop(name)
        if loop.trip_count < 2 or loop.trip_count % 2 or loop.step.data != 1:
            continue
        readers = [
            op
            for op in loop.walk()
            if isinstance(op, sched.LoadOp)
            and _under_reduction(op, loop)
            and any(_depends_on(index, loop.induction_var) for index in op.indices)
        ]
        weights = [op for op in readers if op.buffer in args and args.index(op.buffer) in packable]
        if weights and len(weights) == len(readers):
            return name
    return None


def tile_reduction(
    s: Schedule,
    chain: list[str],
    column: str,
    packable: set[int],
    lanes: int,
    registers: int,
    tile: TileKnobs | None = None,
) -> TileKnobs:
    """The register-tiled reduction (GEMM micro-kernel) with `column` as the vector axis:
    the column loop moves innermost, weights it reads strided get packed, then a tile of
    rows x cols accumulators is split off, the reduction moved outside it, and the columns
    vectorized one register (`lanes`) at a time. A column loop of one vector takes the tile's
    other vectors from a column-block loop (`column_block_loop`) when there is one. `tile`
    overrides the register-budget heuristic (`default_tile_knobs`) and sets the tile loops'
    order, the reduction's unroll and the parallel policy. Only the reduction's tile is
    unrolled here (its accumulators must become registers); LLVM unrolls the init and store
    loops, which keeps the IR, and the build time, small."""
    order = [name for name in chain if name != column] + [column]
    if order != chain:
        s.reorder(*order)
    i = order[-2] if len(order) >= 2 else None
    cols_extent = s.loop(column).trip_count
    block = None
    if i is not None and cols_extent == lanes:
        block = column_block_loop(s, order[:-2], packable)
    knobs = tile or default_tile_knobs(
        s.loop(i).trip_count if i else 1, cols_extent * (2 if block else 1), lanes, registers
    )
    pack_for_columns(s, column, packable, lanes if block else knobs.cols)
    if knobs.order and i is None:
        raise lt.ScheduleError("a tile of one row has no row and column loops to reorder.")
    if i is not None and block is not None:
        io, ii = s.split(i, knobs.rows)
        _, bi = s.split(block, max(1, knobs.cols // lanes))
        jo, ji = s.split(column, lanes)
        s.reorder(*((jo, io) if knobs.order else (io, jo)), ii, bi, ji)
        over = [ii, bi, ji]
        cols = lanes
    elif i is not None:
        io, ii = s.split(i, knobs.rows)
        jo, ji = s.split(column, knobs.cols)
        s.reorder(*((jo, io) if knobs.order else (io, jo)), ii, ji)
        over = [ii, ji]
        cols = knobs.cols
    else:
        _, ji = s.split(column, knobs.cols)
        over = [ji]
        cols = knobs.cols
    nests = s.cache_write(*over)
    for names in nests:
        hot = names == over
        if hot:
            reductions = s.reduction_loops_under(over[-1])
            s.reorder(*reductions, *over)
            if not vectorizes(s.loop(over[-1])):
                raise lt.ScheduleError(
                    f"the reduction under '{over[-1]}' does not vectorize over it."
                )
            for name in names[:-1]:
                s.unroll(name)
            _unroll_reduction(s, reductions[-1], knobs.unroll)
        if cols > lanes:
            vectors, lane = s.split(names[-1], lanes)
            if hot:
                s.unroll(vectors)
            s.vectorize(lane)
        else:
            s.vectorize(names[-1])
    _run_across_cores(s, over[0], knobs.parallel)
    return knobs


def _unroll_reduction(s: Schedule, loop: str, factor: int) -> None:
    """Unrolls the reduction loop by `factor` (its remainder in a tail loop)."""
    if factor == 1:
        return
    if s.loop(loop).trip_count < factor:
        raise lt.ScheduleError(f"cannot unroll '{loop}' by {factor}: it has fewer trips.")
    _, inner = s.split(loop, factor)
    s.unroll(inner)


def _run_across_cores(s: Schedule, tile_loop: str, policy: str) -> None:
    """Applies the parallel policy to the loops enclosing the tile loop `tile_loop`."""
    if policy == "auto":
        return
    if policy not in PARALLEL_POLICIES:
        raise lt.ScheduleError(
            f"unknown parallel policy '{policy}'; policies are {', '.join(PARALLEL_POLICIES)}."
        )
    enclosing: list[sched.ForOp] = []
    parent = s.loop(tile_loop).parent_op()
    while isinstance(parent, sched.ForOp):
        enclosing.insert(0, parent)
        parent = parent.parent_op()
    if not enclosing:
        raise lt.ScheduleError(f"no loop encloses the tile loop '{tile_loop}'.")
    if policy == "none":
        s.serial(lt.loop_name(enclosing[0]))
        return
    wide = [lt.loop_name(loop) for loop in enclosing if loop.trip_count >= 2]
    if len(wide) < 2:
        raise lt.ScheduleError(f"fewer than two loops of two or more trips enclose '{tile_loop}'.")
    s.parallel(s.fuse(wide[0], wide[1]))


def vectorizes(loop: sched.ForOp) -> bool:
    """Whether sched-lower-vectorize would turn `loop` into vector code (a dry run)."""
    vectorizer = LoopVectorizer(loop)
    try:
        vectorizer.run()
    except NotVectorizable:
        return False
    vectorizer.discard()
    return True


def vectorize_injective(s: Schedule, chain: list[str], lanes: int) -> None:
    """The innermost loop in vectors of `lanes` (remainder peeled, left scalar)."""
    innermost = s.loop(chain[-1])
    if innermost.trip_count < lanes or any(
        isinstance(op, sched.ForOp) for op in lt.body_ops(innermost)
    ):
        return
    _, inner = s.split(chain[-1], lanes)
    s.vectorize(inner)


def _attempt(s: Schedule, module: ModuleOp, template: Callable[..., object], *args: object) -> bool:
    """Runs a template on a detached copy of the kernel; if every primitive applies, the
    copy replaces the kernel (and packed weights are bound at its calls)."""
    trial = Schedule(s.kernel.clone(), s.params)
    trial.trace.steps = list(s.trace.steps)
    try:
        template(trial, *args)
    except lt.ScheduleError:
        return False
    Rewriter.replace_op(s.kernel, trial.kernel)
    trial.bind_packs(module)
    s.kernel, s.trace = trial.kernel, trial.trace
    return True


COLUMN_CANDIDATES = 3
"""Spatial loops (innermost first) a reduction template tries as its vector axis."""


def column_candidates(chain: list[sched.ForOp]) -> list[str]:
    """The spatial loops a reduction template tries as its vector axis, innermost first."""
    columns = [loop for loop in reversed(chain) if loop.trip_count >= 2 and loop.step.data == 1]
    return [lt.loop_name(loop) for loop in columns[:COLUMN_CANDIDATES]]


def schedule_kernel(
    kernel: func.FuncOp,
    lanes: int,
    registers: int,
    params: dict[str, np.ndarray],
    config: Config | None = None,
    strict: bool = False,
) -> Schedule:
    """Applies the default templates to every top-level nest of a kernel; a nest no template
    fits keeps its loops. A registered template that accepts the kernel
    (`custom_templates.register_template`) replaces them. A `config` (a point of `tunable.kernel_space`) chooses the vector
    axis and tile knobs of the kernel's first reduction nest; when it does not apply, that
    nest gets the defaults, or with `strict` a ScheduleError says why."""
    custom = template_for(kernel)
    if custom is not None:
        return _apply_custom(custom, kernel, params, config, strict)
    module = kernel.parent_op()
    assert isinstance(module, ModuleOp)
    packable = packable_arguments(kernel, module, params)
    s = Schedule(kernel, params)

    def tiles(nest: sched.ForOp) -> bool:
        chain = spatial_chain(nest)
        if not is_reduction_nest(chain):
            return False
        names = [lt.loop_name(loop) for loop in chain]
        for column in column_candidates(chain):
            trial = Schedule(s.kernel.clone(), s.params)
            try:
                tile_reduction(trial, names, column, packable, lanes, registers)
            except lt.ScheduleError:
                continue
            return True
        return False

    _attempt(s, module, merge_row_nests, spatial_chain, tiles, lanes)
    skipped: set[str] = set()
    tiled_one = False
    for _ in range(MAX_NESTS_PER_KERNEL):
        pending = [
            op
            for op in s.kernel.body.block.ops
            if isinstance(op, sched.ForOp)
            and lt.loop_name(op) not in skipped
            and not _is_scheduled(op)
        ]
        if not pending:
            break
        chain = spatial_chain(pending[0])
        names = [lt.loop_name(loop) for loop in chain]
        skipped.add(names[0])
        if not is_reduction_nest(chain):
            if not _attempt(s, module, unroll_selectors, names, lanes):
                _attempt(s, module, vectorize_injective, names, lanes)
            continue
        first = not tiled_one
        tiled_one = True
        if first and config is not None:
            if _apply_config(s, module, config, chain, names, packable, lanes, registers, strict):
                s.config = config
                continue
        chosen = _tile_first_fit(s, module, chain, names, packable, lanes, registers)
        if first:
            s.config = chosen
    return s


def _tile_first_fit(
    s: Schedule,
    module: ModuleOp,
    chain: list[sched.ForOp],
    names: list[str],
    packable: set[int],
    lanes: int,
    registers: int,
) -> Config | None:
    """Tiles the nest along the first candidate vector axis that takes the default register
    tile; returns that choice as a config (None if no axis did)."""
    for index, column in enumerate(column_candidates(chain)):
        used: list[TileKnobs] = []
        if _attempt(s, module, _tile_noting, used, names, column, packable, lanes, registers):
            return config_of(index, used[-1])
    return None


def config_of(column: int, tile: TileKnobs) -> Config:
    """The config naming a vector axis (by index among the candidates) and a tile's knobs."""
    return Config.of(
        {
            "column": column,
            "tile_rows": tile.rows,
            "tile_cols": tile.cols,
            "order": tile.order,
            "unroll": tile.unroll,
            "parallel": tile.parallel,
        }
    )


def _whole_knob(config: Config, name: str, least: int, default: int | None = None) -> int:
    """Knob `name` of `config` as a whole number of at least `least`; ScheduleError for a
    knob missing, of another type or out of range, as a hand-edited tuning log may hold."""
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise lt.ScheduleError(f"knob {name}={value!r} is not a whole number of at least {least}.")
    return value


def tile_of(config: Config) -> TileKnobs:
    """The tile knobs a config names (knobs it lacks take their defaults); ScheduleError for
    a knob of the wrong type or out of range."""
    parallel = config.get("parallel", "auto")
    if parallel not in PARALLEL_POLICIES:
        raise lt.ScheduleError(f"knob parallel={parallel!r} is not one of {PARALLEL_POLICIES}.")
    return TileKnobs(
        _whole_knob(config, "tile_rows", 1),
        _whole_knob(config, "tile_cols", 1),
        _whole_knob(config, "order", 0, default=0),
        _whole_knob(config, "unroll", 1, default=1),
        str(parallel),
    )


def _tile_noting(trial: Schedule, used: list[TileKnobs], *args: Any) -> None:
    """tile_reduction, appending the register tile it took to `used`."""
    used.append(tile_reduction(trial, *args))


def _apply_config(
    s: Schedule,
    module: ModuleOp,
    config: Config,
    chain: list[sched.ForOp],
    names: list[str],
    packable: set[int],
    lanes: int,
    registers: int,
    strict: bool,
) -> bool:
    """Tiles the nest as `config` says (its vector axis by index among the candidates, its
    tile knobs); False, or with `strict` a ScheduleError, if it cannot."""
    candidates = column_candidates(chain)
    try:
        column, tile = _whole_knob(config, "column", 0), tile_of(config)
    except lt.ScheduleError as err:
        if strict:
            raise lt.ScheduleError(f"config {config} does not apply: {err}") from err
        return False
    if column < len(candidates) and _attempt(
        s, module, tile_reduction, names, candidates[column], packable, lanes, registers, tile
    ):
        return True
    if strict:
        raise lt.ScheduleError(f"config {config} does not apply to the nest over '{names[0]}'.")
    return False


def _apply_custom(
    template: Template,
    kernel: func.FuncOp,
    params: dict[str, np.ndarray],
    config: Config | None,
    strict: bool,
) -> Schedule:
    """A registered template with `config`; when the config does not apply, its default
    (or with `strict` a ScheduleError). A default that does not apply is the template's
    error, named."""
    if config is not None:
        try:
            return apply_template(template, kernel, params, config)
        except lt.ScheduleError as err:
            if strict:
                raise lt.ScheduleError(
                    f"config {config} does not apply to template '{template.name}': {err}"
                ) from err
    try:
        return apply_template(template, kernel, params, None)
    except lt.ScheduleError as err:
        raise lt.ScheduleError(f"template '{template.name}' fails on its defaults: {err}") from err
