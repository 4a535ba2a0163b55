"""Buffer liveness for an entry with control flow (If, Loop), for the memory plan.

Launches are numbered in the entry's text order, both branches of an If in turn: a buffer
used only in one branch is live only there, so the two branches' scratch may share arena
bytes (they never run in the same pass). A loop repeats its launches, so every buffer used
anywhere inside it (carried values, the body's scratch, scan outputs, the counters) is live
across the whole loop. A buffer the entry itself reads or writes (a condition, a trip count,
a counter) counts as used at the next launch.
"""

from xdsl.dialects import scf
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import flow, target


def buffer_indices(entry: target.EntryOp) -> dict[SSAValue, int]:
    """The plan index of every buffer value in the entry, rows (flow.slice) as their buffer's."""
    index: dict[SSAValue, int] = {op.result: op.index.data for op in entry.buffers}
    for op in entry.body.walk():
        if isinstance(op, flow.SliceOp):
            index[op.result] = index[op.buffer]
    return index


def has_control_flow(entry: target.EntryOp) -> bool:
    return any(isinstance(op, scf.IfOp | scf.WhileOp) for op in entry.body.walk())


def _used(op: Operation, index: dict[SSAValue, int]) -> set[int]:
    return {index[v] for inner in op.walk() for v in inner.operands if v in index}


def control_live_ranges(entry: target.EntryOp) -> dict[int, tuple[int, int]]:
    """Buffer index -> (first, last) launch position it must stay live over."""
    index = buffer_indices(entry)
    ranges: dict[int, tuple[int, int]] = {}
    position = 0

    def use(buffer: int, at: int) -> None:
        first, last = ranges.get(buffer, (at, at))
        ranges[buffer] = (min(first, at), max(last, at))

    loops: list[tuple[int, int, set[int]]] = []
    for op in entry.body.walk():
        if isinstance(op, target.LaunchOp):
            for arg in op.args:
                use(index[arg], position)
            position += 1
        elif isinstance(op, scf.WhileOp):
            launches = sum(1 for inner in op.walk() if isinstance(inner, target.LaunchOp))
            if launches:
                loops.append((position, position + launches - 1, _used(op, index)))
        elif not isinstance(op, target.BufferOp | flow.SliceOp):
            for value in op.operands:
                if value in index:
                    use(index[value], position)
    last_launch = max(position - 1, 0)
    for buffer, (first, last) in list(ranges.items()):
        ranges[buffer] = (min(first, last_launch), min(last, last_launch))
    for first, last, used in loops:
        for buffer in used:
            use(buffer, first)
            use(buffer, last)
    return ranges
