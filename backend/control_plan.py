"""What the memory plan needs to know about an entry with control flow (If, Loop).

Launches are numbered in the entry's text order, both branches of an If in turn: a buffer
used only in one branch is live only there, so the two branches' scratch may share arena
bytes (they never run in the same pass). The plan records two more things
(runtime/memory.py's `live_ranges` reads them, at build time and when a plan is loaded):
- `entry_uses`: buffers the entry itself reads or writes (a condition, a trip count, a loop
  counter), each at the position of the next launch;
- `loops`: the first and last launch position of each loop, whose launches repeat: every
  buffer live anywhere in a loop (carried values, the body's scratch, scan outputs) is live
  across all of it.
"""

from xdsl.dialects import scf
from xdsl.ir import SSAValue

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


def control_events(entry: target.EntryOp) -> tuple[list[list[int]], list[list[int]]]:
    """(entry uses as [position, buffer], loops as [first, last] launch positions)."""
    index = buffer_indices(entry)
    uses: list[list[int]] = []
    loops: list[list[int]] = []
    launches = entry.launches
    last = max(len(launches) - 1, 0)
    position = 0
    for op in entry.body.walk():
        if isinstance(op, target.LaunchOp):
            position += 1
        elif isinstance(op, scf.WhileOp):
            inside = sum(1 for inner in op.walk() if isinstance(inner, target.LaunchOp))
            if inside:
                loops.append([position, position + inside - 1])
        elif not isinstance(op, target.BufferOp | flow.SliceOp):
            uses += [[min(position, last), index[v]] for v in op.operands if v in index]
    return uses, loops
