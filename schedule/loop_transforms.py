"""Loop-nest surgery on sched kernels: the mechanics under the schedule primitives.

Loops are found by name (the discardable `sched.name` attribute, given to every loop of a
kernel when a schedule starts), because a transformation replaces loop ops: a name survives
where an op handle would dangle. Copies made by peeling get a suffix on every loop name, so
names stay unique within a kernel.

Only legal rewrites are done; anything else raises `ScheduleError` naming the loop. Spatial
loops (no `sched.axis = "reduce"`) have independent iterations, since each writes its own
output elements; that is what makes peeling, reordering and distribution legal for them.
"""

from collections.abc import Iterator, Sequence

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, MemRefType, StringAttr
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import Rewriter
from xdsl.traits import is_side_effect_free

from ziggurat.core.errors import CompileError
from ziggurat.dialects import sched
from ziggurat.schedule.index_residues import constant_index

NAME_ATTR = "sched.name"
"""Discardable sched.for attribute: the loop's name in schedules and traces."""


class ScheduleError(CompileError):
    """A schedule primitive cannot apply to the loops it was given."""


def loop_name(loop: sched.ForOp) -> str:
    name = loop.attributes.get(NAME_ATTR)
    return name.data if isinstance(name, StringAttr) else "?"


def set_loop_name(loop: sched.ForOp, name: str) -> None:
    loop.attributes[NAME_ATTR] = StringAttr(name)


def is_reduce(loop: sched.ForOp) -> bool:
    return loop.attributes.get(sched.AXIS_ATTR) == StringAttr("reduce")


def all_loops(kernel: func.FuncOp) -> Iterator[sched.ForOp]:
    for op in kernel.walk():
        if isinstance(op, sched.ForOp):
            yield op


def find_loop(kernel: func.FuncOp, name: str) -> sched.ForOp:
    for loop in all_loops(kernel):
        if loop_name(loop) == name:
            return loop
    known = ", ".join(loop_name(loop) for loop in all_loops(kernel))
    raise ScheduleError(f"@{kernel.sym_name.data} has no loop named '{name}' (loops: {known}).")


def name_loops(kernel: func.FuncOp) -> None:
    """Names the unnamed loops of a kernel: spatial loops i0, i1, ..., reduction loops r0, ..."""
    taken = {loop_name(loop) for loop in all_loops(kernel)}
    counters = {"i": 0, "r": 0}
    for loop in all_loops(kernel):
        if NAME_ATTR in loop.attributes:
            continue
        prefix = "r" if is_reduce(loop) else "i"
        while f"{prefix}{counters[prefix]}" in taken:
            counters[prefix] += 1
        set_loop_name(loop, f"{prefix}{counters[prefix]}")
        taken.add(f"{prefix}{counters[prefix]}")


def body_ops(loop: sched.ForOp) -> list[Operation]:
    """The loop's body without its terminator."""
    return [op for op in loop.body.block.ops if not isinstance(op, sched.YieldOp)]


def enclosing_loops(loop: sched.ForOp) -> list[sched.ForOp]:
    """The loops around `loop`, outermost first, not including it."""
    chain: list[sched.ForOp] = []
    parent = loop.parent_op()
    while isinstance(parent, sched.ForOp):
        chain.insert(0, parent)
        parent = parent.parent_op()
    return chain


def append_to_body(loop: sched.ForOp, op: Operation) -> None:
    terminator = loop.body.block.last_op
    assert terminator is not None, "a sched.for body ends with sched.yield"
    loop.body.block.insert_op_before(op, terminator)


def _rename_copy(nest: sched.ForOp, taken_in: Operation) -> None:
    """Renames the loops of a copied nest with the first suffix (.tail, .tail2, ...) that
    keeps every name in `taken_in` unique."""
    taken = {loop_name(op) for op in taken_in.walk() if isinstance(op, sched.ForOp)}
    names = [loop_name(op) for op in nest.walk() if isinstance(op, sched.ForOp)]
    count = 1
    suffix = ".tail"
    while any(name + suffix in taken for name in names):
        count += 1
        suffix = f".tail{count}"
    for op in nest.walk():
        if isinstance(op, sched.ForOp):
            set_loop_name(op, loop_name(op) + suffix)


def _kernel_of(op: Operation) -> Operation:
    while not isinstance(op, func.FuncOp):
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


def _index(value: int) -> arith.ConstantOp:
    return arith.ConstantOp(IntegerAttr(value, IndexType()))


def peel(loop: sched.ForOp, at: int) -> None:
    """Splits a spatial loop's range [lower, upper) at `at`: the loop keeps [lower, at) and a
    copy of its whole top-level nest, placed after it, runs [at, upper). Copied loops get a
    `.tail` suffix."""
    if is_reduce(loop):
        raise ScheduleError(f"cannot peel reduction loop '{loop_name(loop)}'.")
    top = ([*enclosing_loops(loop), loop])[0]
    block_map: dict[Block, Block] = {}
    copy = top.clone(block_mapper=block_map)
    copied_loop = block_map[loop.body.block].parent_op()
    assert isinstance(copied_loop, sched.ForOp)
    copied_loop.lower = type(loop.lower)(at)
    loop.upper = type(loop.upper)(at)
    _rename_copy(copy, _kernel_of(top))
    parent = top.parent_block()
    assert parent is not None
    parent.insert_op_after(copy, top)


def split(loop: sched.ForOp, factor: int) -> tuple[sched.ForOp, sched.ForOp]:
    """`for i in [lo, hi)` becomes `for o in [lo, lo + n*factor) step factor: for i' in
    [0, factor)` with i = o + i'. The remainder runs in a peeled copy (spatial loops) or a
    tail loop right after (reduction loops). Returns (outer, inner)."""
    name = loop_name(loop)
    if loop.step.data != 1:
        raise ScheduleError(f"cannot split loop '{name}': its step is {loop.step.data}, not 1.")
    if factor < 1:
        raise ScheduleError(f"cannot split loop '{name}' by {factor}: factors must be >= 1.")
    lower, upper = loop.lower.data, loop.upper.data
    factor = max(1, min(factor, upper - lower))
    full = lower + (upper - lower) // factor * factor
    if full < upper:
        if is_reduce(loop):
            tail = loop.clone()
            tail.lower = type(loop.lower)(full)
            _rename_copy(tail, _kernel_of(loop))
            parent = loop.parent_block()
            assert parent is not None
            parent.insert_op_after(tail, loop)
            loop.upper = type(loop.upper)(full)
        else:
            peel(loop, full)
    inner = sched.ForOp(0, factor, 1, Block(arg_types=[IndexType()]), loop.kind.data)
    for key, value in loop.attributes.items():
        inner.attributes[key] = value
    set_loop_name(inner, f"{name}.i")
    set_loop_name(loop, f"{name}.o")
    outer_iv = loop.induction_var
    for op in body_ops(loop):
        op.detach()
        append_to_body(inner, op)
    position = arith.AddiOp(outer_iv, inner.induction_var)
    first_op = inner.body.block.first_op
    assert first_op is not None, "a sched.for body ends with sched.yield"
    inner.body.block.insert_op_before(position, first_op)
    outer_iv.replace_uses_with_if(
        position.result,
        lambda use: use.operation is not position and inner.is_ancestor(use.operation),
    )
    append_to_body(loop, inner)
    loop.step = type(loop.step)(factor)
    loop.kind = StringAttr("serial")
    return loop, inner


def speculatable(op: Operation) -> bool:
    """Free of side effects, or an integer division by a nonzero constant (xDSL marks
    divisions effectful for the divide-by-zero case): safe to move or recompute."""
    if is_side_effect_free(op):
        return True
    if not isinstance(op, arith.DivUIOp | arith.RemUIOp | arith.DivSIOp | arith.RemSIOp):
        return False
    return constant_index(op.rhs) not in (None, 0)


def movable(op: Operation, constant_buffers: set[SSAValue]) -> bool:
    """Speculatable, or a load of a buffer that stays constant where the op moves: the same
    value wherever it runs."""
    return speculatable(op) or (isinstance(op, sched.LoadOp) and op.buffer in constant_buffers)


def _sink_pure_ops(chain: Sequence[sched.ForOp]) -> None:
    """Moves the side-effect-free ops between the loops of a chain into its innermost body
    (recomputing them there is equivalent), so the chain becomes perfectly nested."""
    innermost = chain[-1].body.block
    anchor = innermost.first_op
    assert anchor is not None, "a sched.for body ends with sched.yield"
    for loop, next_loop in zip(chain, chain[1:], strict=False):
        for op in body_ops(loop):
            if op is next_loop:
                continue
            if not is_side_effect_free(op) or op.regions:
                raise ScheduleError(
                    f"loops '{loop_name(loop)}' and '{loop_name(next_loop)}' are not perfectly "
                    f"nested: {op.name} runs between them."
                )
            op.detach()
            innermost.insert_op_before(op, anchor)


def loop_chain(outer: sched.ForOp, inner: sched.ForOp) -> list[sched.ForOp]:
    """The loops from `outer` down to `inner`, which must be nested in it as the only loop of
    each body in between."""
    chain = [inner]
    while chain[0] is not outer:
        parent = chain[0].parent_op()
        if not isinstance(parent, sched.ForOp):
            raise ScheduleError(
                f"loop '{loop_name(inner)}' is not nested in loop '{loop_name(outer)}'."
            )
        loops = [op for op in body_ops(parent) if isinstance(op, sched.ForOp)]
        if len(loops) != 1:
            raise ScheduleError(
                f"loop '{loop_name(parent)}' holds {len(loops)} loops; the loops to transform "
                "must be perfectly nested."
            )
        chain.insert(0, parent)
    return chain


def _new_header(loop: sched.ForOp) -> sched.ForOp:
    header = sched.ForOp(
        loop.lower.data,
        loop.upper.data,
        loop.step.data,
        Block(arg_types=[IndexType()]),
        loop.kind.data,
    )
    header.attributes.update(loop.attributes)
    return header


def rebuild_chain(chain: Sequence[sched.ForOp], order: Sequence[sched.ForOp]) -> sched.ForOp:
    """Replaces a perfectly nested chain by new loops with the headers of `order` (outermost
    first) around the innermost body; returns the new outermost loop."""
    _sink_pure_ops(chain)
    headers = [_new_header(loop) for loop in order]
    for outer, inner in zip(headers, headers[1:], strict=False):
        append_to_body(outer, inner)
    for op in body_ops(chain[-1]):
        op.detach()
        append_to_body(headers[-1], op)
    for old, new in zip(order, headers, strict=True):
        old.induction_var.replace_all_uses_with(new.induction_var)
    parent = chain[0].parent_block()
    assert parent is not None
    parent.insert_op_before(headers[0], chain[0])
    Rewriter.erase_op(chain[0])
    return headers[0]


def reorder(loops: Sequence[sched.ForOp]) -> None:
    """Puts `loops` in the given order (outermost first) within the chain they span; other
    loops of the chain keep their positions. Reduction loops may move only among themselves
    or outward past spatial loops of the same statement, which is what a reduction wants."""
    if len({id(loop) for loop in loops}) != len(loops):
        raise ScheduleError("reorder got the same loop twice.")
    depth = {id(loop): len(enclosing_loops(loop)) for loop in loops}
    by_depth = sorted(loops, key=lambda loop: depth[id(loop)])
    chain = loop_chain(by_depth[0], by_depth[-1])
    given = {id(loop) for loop in loops}
    slots = iter(loops)
    order = [next(slots) if id(loop) in given else loop for loop in chain]
    rebuild_chain(chain, order)


def fuse(outer: sched.ForOp, inner: sched.ForOp) -> sched.ForOp:
    """Two perfectly nested loops become one over the product of their trip counts; the old
    induction variables are recovered by division and remainder."""
    chain = loop_chain(outer, inner)
    if len(chain) != 2:
        raise ScheduleError(
            f"cannot fuse '{loop_name(outer)}' and '{loop_name(inner)}': they are not adjacent."
        )
    if is_reduce(outer) != is_reduce(inner):
        raise ScheduleError("cannot fuse a reduction loop with a spatial loop.")
    _sink_pure_ops(chain)
    trips = inner.trip_count
    fused = sched.ForOp(
        0, outer.trip_count * trips, 1, Block(arg_types=[IndexType()]), outer.kind.data
    )
    fused.attributes.update(outer.attributes)
    set_loop_name(fused, f"{loop_name(outer)}.{loop_name(inner)}")
    iv = fused.induction_var
    block = Block()
    trips_value = _index(trips)
    quotient = arith.DivUIOp(iv, trips_value)
    remainder = arith.RemUIOp(iv, trips_value)
    block.add_ops([trips_value, quotient, remainder])
    for loop, step_index in ((outer, quotient), (inner, remainder)):
        scaled: Operation = step_index
        if loop.step.data != 1:
            step = _index(loop.step.data)
            scaled = arith.MuliOp(scaled.results[0], step)
            block.add_ops([step, scaled])
        if loop.lower.data != 0:
            low = _index(loop.lower.data)
            scaled = arith.AddiOp(scaled.results[0], low)
            block.add_ops([low, scaled])
        loop.induction_var.replace_all_uses_with(scaled.results[0])
    for op in list(block.ops):
        op.detach()
        append_to_body(fused, op)
    for op in body_ops(inner):
        op.detach()
        append_to_body(fused, op)
    parent = outer.parent_block()
    assert parent is not None
    parent.insert_op_before(fused, outer)
    Rewriter.erase_op(outer)
    return fused


def scalar_accumulators(loop: sched.ForOp) -> list[SSAValue]:
    """Rank-0 scratch buffers (reduction accumulators) accessed inside `loop`."""
    found: list[SSAValue] = []
    for op in loop.walk():
        if isinstance(op, sched.LoadOp | sched.StoreOp):
            buffer = op.buffer
            if (
                isinstance(buffer.type, MemRefType)
                and not buffer.type.get_shape()
                and isinstance(buffer.owner, sched.AllocOp)
                and buffer not in found
            ):
                found.append(buffer)
    return found


def _stored_dims(loop: sched.ForOp, iv: SSAValue) -> dict[SSAValue, set[int | None]]:
    """For each buffer stored in `loop`, the dims indexed by exactly `iv` in its stores;
    rank-0 scratch (an accumulator each iteration initializes) is private and left out."""
    dims: dict[SSAValue, set[int | None]] = {}
    for op in loop.walk():
        if isinstance(op, sched.StoreOp) and not (
            not op.indices and isinstance(op.buffer.owner, sched.AllocOp)
        ):
            at = [n for n, index in enumerate(op.indices) if index is iv]
            dims.setdefault(op.buffer, set()).add(at[0] if len(at) == 1 else None)
    return dims


def compute_at(producer: sched.ForOp, consumer: sched.ForOp) -> None:
    """Moves the body of loop `producer` to the start of `consumer`'s body, when both loops
    have the same range, sit next to each other in one block, and the consumer's iteration i
    reads of the producer's results only the slice the producer's iteration i wrote."""
    label = f"compute_at('{loop_name(producer)}', '{loop_name(consumer)}')"
    header = (producer.lower.data, producer.upper.data, producer.step.data)
    if header != (consumer.lower.data, consumer.upper.data, consumer.step.data):
        raise ScheduleError(f"{label}: the loops have different ranges.")
    if producer.parent_block() is not consumer.parent_block():
        raise ScheduleError(f"{label}: the loops are not in the same block.")
    between = producer.next_op
    while between is not None and between is not consumer:
        if not is_side_effect_free(between):
            raise ScheduleError(f"{label}: {between.name} runs between the loops.")
        between = between.next_op
    if between is None:
        raise ScheduleError(f"{label}: the consumer must come after the producer.")
    written = _stored_dims(producer, producer.induction_var)
    consumer_writes = _stored_dims(consumer, consumer.induction_var)
    for op in producer.walk():
        if isinstance(op, sched.LoadOp) and op.buffer in consumer_writes:
            raise ScheduleError(f"{label}: the producer reads what the consumer writes.")
    for buffer, dims in written.items():
        dim = next(iter(dims)) if len(dims) == 1 else None
        if dim is None:
            raise ScheduleError(f"{label}: the producer's stores are not sliced by its loop.")
        for op in consumer.walk():
            if isinstance(op, sched.LoadOp | sched.StoreOp) and op.buffer is buffer:
                if op.indices[dim] is not consumer.induction_var:
                    raise ScheduleError(
                        f"{label}: the consumer reads the producer's result outside its slice."
                    )
    anchor = consumer.body.block.first_op
    assert anchor is not None, "a sched.for body ends with sched.yield"
    for op in body_ops(producer):
        op.detach()
        consumer.body.block.insert_op_before(op, anchor)
    producer.induction_var.replace_all_uses_with(consumer.induction_var)
    Rewriter.erase_op(producer)
