"""cache_write: a reduction's accumulator becomes a local tile over chosen spatial loops.

TVM's `s.cache_write(C, "local")` plus `compute_at`: the rank-0 accumulator of each output
element becomes a small scratch buffer indexed by the tile loops, and the tile loops are
distributed around the statements of the body, so the reduction loops can then move outside
the tile and the tile's accumulators stay in registers:

    for i.i in 0..6:                      for i.i.init in 0..6: for j.i.init in 0..64:
      for j.i in 0..64:                       acc[i.i.init, j.i.init] = 0
        acc = 0                     =>    for i.i in 0..6: for j.i in 0..64: for k in 0..256:
        for k in 0..256: acc += ...            acc[i.i, j.i] += ...
        C[...] = f(acc)                   for i.i.store in 0..6: for j.i.store in 0..64:
                                              C[...] = f(acc[i.i.store, j.i.store])

Legal because the tile loops are spatial: their iterations are independent once each has
its own accumulator element, so running all inits, then all reductions, then all stores
computes the same values.
"""

from collections.abc import Sequence

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import Rewriter

from ziggurat.dialects import sched
from ziggurat.schedule.loop_transforms import (
    ScheduleError,
    _new_header,
    _sink_pure_ops,
    append_to_body,
    body_ops,
    is_reduce,
    loop_chain,
    loop_name,
    movable,
    scalar_accumulators,
    set_loop_name,
)


def _read_only_buffers(kernel: func.FuncOp) -> set[SSAValue]:
    written = {op.buffer for op in kernel.walk() if isinstance(op, sched.StoreOp)}
    loaded = {op.buffer for op in kernel.walk() if isinstance(op, sched.LoadOp)}
    return loaded - written


def _segments(statements: Sequence[Operation], read_only: set[SSAValue]) -> list[list[Operation]]:
    """Statements split so each loop stands alone; runs of movable ops only (`movable`: pure,
    or loads of buffers the kernel never writes) are dropped (they are cloned into the
    segments that use them)."""
    segments: list[list[Operation]] = [[]]
    for op in statements:
        if isinstance(op, sched.ForOp):
            segments.extend([[op], []])
        else:
            segments[-1].append(op)
    return [s for s in segments if any(not movable(op, read_only) for op in s)]


def _clone_used_values(
    segment: list[Operation],
    body: set[Operation],
    mapping: dict[SSAValue, SSAValue],
    accumulators: Sequence[SSAValue],
    read_only: set[SSAValue],
) -> list[Operation]:
    """Clones of the ops from other segments that `segment` uses, in order: movable ops,
    and reads of accumulators (each is final once its reduction ran)."""
    own = set(segment)
    for op in segment:
        own.update(op.walk())
    clones: list[Operation] = []

    def provide(value: SSAValue) -> None:
        owner = value.owner
        if value in mapping or not isinstance(owner, Operation) or owner not in body:
            return
        if owner in own:
            return
        reads_accumulator = isinstance(owner, sched.LoadOp) and owner.buffer in accumulators
        if not (movable(owner, read_only) or reads_accumulator) or owner.regions:
            raise ScheduleError(
                f"cannot cache_write: a value of {owner.name} is used across statements."
            )
        for operand in owner.operands:
            provide(operand)
        clone = owner.clone(value_mapper=mapping)
        clones.append(clone)
        mapping.update(zip(owner.results, clone.results, strict=True))

    for op in segment:
        for inner in op.walk():
            for operand in inner.operands:
                provide(operand)
    for op in segment:
        for inner in op.walk():
            for index, operand in enumerate(inner.operands):
                if operand in mapping:
                    inner.operands[index] = mapping[operand]
    return clones


def _check_tile_loops(over: Sequence[sched.ForOp]) -> list[sched.ForOp]:
    """The chain of loops `over` spans, refused unless it is exactly `over` and each loop is
    spatial, from 0, with step 1."""
    chain = loop_chain(over[0], over[-1])
    if [id(loop) for loop in chain] != [id(loop) for loop in over]:
        raise ScheduleError("cache_write needs adjacent loops, outermost first.")
    for loop in over:
        if is_reduce(loop) or loop.lower.data != 0 or loop.step.data != 1:
            raise ScheduleError(
                f"cache_write over loop '{loop_name(loop)}': it must be a spatial loop from "
                "0 with step 1 (split it first)."
            )
    return chain


def _allocate_tiles(accumulators: Sequence[SSAValue], tile: list[int]) -> dict[SSAValue, SSAValue]:
    """A local buffer of shape `tile` for each accumulator, allocated right after it."""
    tiles: dict[SSAValue, SSAValue] = {}
    for accumulator in accumulators:
        assert isinstance(accumulator.type, MemRefType)
        alloc = sched.AllocOp(MemRefType(accumulator.type.element_type, tile))
        owner = accumulator.owner
        assert isinstance(owner, Operation)
        block = owner.parent_block()
        assert block is not None
        block.insert_op_after(alloc, owner)
        tiles[accumulator] = alloc.result
    return tiles


def _nest_suffix(position: int, first_reduction: int, count: int) -> str:
    """The loop-name suffix of the nest at `position`: none for the first reduction's nest,
    `.init` before it, `.store` for the last, `.sN` between."""
    if position == first_reduction:
        return ""
    if position < first_reduction:
        return ".init"
    return ".store" if position == count - 1 else f".s{position}"


def _nest_around(
    over: Sequence[sched.ForOp], ops: Sequence[Operation], suffix: str
) -> list[sched.ForOp]:
    """Copies of the loop headers of `over`, named with `suffix`, nested around `ops` (moved
    there if they sit elsewhere), which then use the copies' induction variables."""
    headers = [_new_header(loop) for loop in over]
    for header, loop in zip(headers, over, strict=True):
        set_loop_name(header, loop_name(loop) + suffix)
    for outer, inner in zip(headers, headers[1:], strict=False):
        append_to_body(outer, inner)
    for op in ops:
        if op.parent is not None:
            op.detach()
        append_to_body(headers[-1], op)
    for loop, header in zip(over, headers, strict=True):
        for use in list(loop.induction_var.uses):
            if header.is_ancestor(use.operation):
                use.operation.operands[use.index] = header.induction_var
    return headers


def _index_tiles(headers: Sequence[sched.ForOp], tiles: dict[SSAValue, SSAValue]) -> None:
    """Accesses of an accumulator inside the nest become accesses of its tile at the nest's
    induction variables."""
    ivs = [h.induction_var for h in headers]
    for op in headers[0].walk():
        if not isinstance(op, sched.LoadOp | sched.StoreOp) or op.buffer not in tiles:
            continue
        access = (
            sched.LoadOp(tiles[op.buffer], ivs)
            if isinstance(op, sched.LoadOp)
            else sched.StoreOp(op.value, tiles[op.buffer], ivs)
        )
        parent = op.parent_block()
        assert parent is not None
        parent.insert_op_before(access, op)
        if isinstance(op, sched.LoadOp):
            op.result.replace_all_uses_with(access.results[0])
        Rewriter.erase_op(op)


def _replace_loops(
    over: Sequence[sched.ForOp],
    nests: Sequence[list[sched.ForOp]],
    accumulators: Sequence[SSAValue],
) -> None:
    """Puts the new nests where the loops `over` were, and drops those loops and the
    accumulators nothing reads any more."""
    parent = over[0].parent_block()
    assert parent is not None
    for headers in nests:
        parent.insert_op_before(headers[0], over[0])
    for op in reversed(body_ops(over[-1])):
        Rewriter.erase_op(op, safe_erase=False)
    Rewriter.erase_op(over[0])
    for accumulator in accumulators:
        if not accumulator.uses and isinstance(accumulator.owner, Operation):
            Rewriter.erase_op(accumulator.owner)


def cache_write(kernel: func.FuncOp, over: Sequence[sched.ForOp]) -> list[list[str]]:
    """Gives each reduction accumulator under the perfectly nested spatial loops `over` a
    local buffer indexed by them, and distributes those loops around the statements of
    their body. Returns the loop names of each new nest, in order; the nest holding the
    first reduction keeps the original names.

    Steps: check the loops; allocate a tile per accumulator; cut the body into segments (one
    per loop, and the runs of statements between), each with clones of the movable values
    it uses from other segments; wrap each segment in its own copy of the loops; index the
    accumulators by the copies' induction variables; put the nests in place of the loops."""
    chain = _check_tile_loops(over)
    accumulators = scalar_accumulators(over[-1])
    if not accumulators:
        raise ScheduleError(f"no reduction accumulator under loop '{loop_name(over[-1])}'.")
    _sink_pure_ops(chain)
    tiles = _allocate_tiles(accumulators, [loop.trip_count for loop in over])

    statements = body_ops(over[-1])
    body = set(statements)
    for op in statements:
        body.update(op.walk())
    read_only = _read_only_buffers(kernel)
    segments = _segments(statements, read_only)
    first_reduction = next(
        (n for n, s in enumerate(segments) if isinstance(s[0], sched.ForOp)), len(segments)
    )
    clones_per_segment = [
        _clone_used_values(segment, body, {}, accumulators, read_only) for segment in segments
    ]
    nests: list[list[sched.ForOp]] = []
    for position, (segment, clones) in enumerate(zip(segments, clones_per_segment, strict=True)):
        suffix = _nest_suffix(position, first_reduction, len(segments))
        headers = _nest_around(over, [*clones, *segment], suffix)
        _index_tiles(headers, tiles)
        nests.append(headers)
    _replace_loops(over, nests, accumulators)
    return [[loop_name(h) for h in headers] for headers in nests]
