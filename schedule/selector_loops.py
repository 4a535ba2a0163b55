"""The selector-loop template: injective nests whose loops pick a formula per iteration.

A compute may choose among a few formulas by a select chain on an index: Winograd's
transforms pick a matrix row per position in the tile, `e % 4 == 0 ? .. : ..`. Run as a
loop, every iteration evaluates every formula. A *selector loop* is one whose induction
variable is used only

- as a load or store index,
- by `remui iv, d` whose result only selects: it reaches `cmpi` against constants through
  `remui`/`divui` by constants (the position in a tile, `d` its size),
- by `divui iv, d` (the tile index, any index arithmetic), unless that result selects too,
  in which case the whole loop must unroll.

The template splits each selector loop by `d` (or keeps it whole), moves the selecting parts
inside the vectorized loop and unrolls them (sched-lower-unroll runs before the vectorizer,
and hoists what does not depend on the copy: the loads and sums the copies share): in each
copy the select chains see constants and fold, the formulas of other iterations die. At
most `MAX_COPIES` copies in all.
"""

from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.index_residues import constant_index
from ziggurat.schedule.schedule import Schedule

MAX_COPIES = 36
"""Copies of the vector body the unrolled selectors may make (F(4x4, 3x3) has 36 positions)."""


def _divided_by_constant_index(op: object, value: SSAValue) -> bool:
    """Whether `op` is `value` divided by, or the remainder of it by, a constant index."""
    return (
        isinstance(op, arith.RemUIOp | arith.DivUIOp)
        and op.lhs is value
        and constant_index(op.rhs) is not None
    )


def _only_selects(value: SSAValue) -> bool:
    """Every use compares with a constant, or divides by one into a value that only selects."""
    for use in value.uses:
        op = use.operation
        if isinstance(op, arith.CmpiOp):
            other = op.rhs if op.lhs is value else op.lhs
            if constant_index(other) is None:
                return False
        elif not (_divided_by_constant_index(op, value) and _only_selects(op.results[0])):
            return False
    return bool(value.uses)


def _selects(value: SSAValue) -> bool:
    """Some use reaches a comparison with a constant through divisions by constants."""
    for use in value.uses:
        op = use.operation
        if isinstance(op, arith.CmpiOp):
            return True
        if _divided_by_constant_index(op, value) and _selects(op.results[0]):
            return True
    return False


@dataclass(frozen=True)
class Selector:
    """A selector loop and the copies its unrolled part makes (`whole`: the loop itself)."""

    name: str
    copies: int
    whole: bool


def selector(loop: sched.ForOp) -> Selector | None:
    """The loop as a selector, or None (see the module docstring)."""
    iv = loop.induction_var
    factor: int | None = None
    whole = False
    for use in iv.uses:
        op = use.operation
        if isinstance(op, sched.LoadOp | sched.StoreOp) and iv in op.indices:
            continue
        if not _divided_by_constant_index(op, iv):
            return None
        assert isinstance(op, arith.RemUIOp | arith.DivUIOp)
        divisor = constant_index(op.rhs)
        assert divisor is not None
        if isinstance(op, arith.DivUIOp):
            whole = whole or _selects(op.result)
            continue
        if not _only_selects(op.result) or factor not in (None, divisor):
            return None
        factor = divisor
    if factor is None or loop.step.data != 1 or loop.lower.data != 0:
        return None
    if whole or loop.trip_count <= factor:
        return Selector(lt.loop_name(loop), loop.trip_count, True)
    if loop.trip_count % factor:
        return None
    return Selector(lt.loop_name(loop), factor, False)


def unroll_selectors(s: Schedule, chain: list[str], lanes: int) -> None:
    """Selector loops split, moved inside the innermost loop and unrolled; the innermost
    vectorized in `lanes`. Raises ScheduleError when the nest has no selector loop."""
    found = []
    copies = 1
    for name in reversed(chain[:-1]):
        candidate = selector(s.loop(name))
        if candidate is not None and copies * candidate.copies <= MAX_COPIES:
            found.append(candidate)
            copies *= candidate.copies
    if not found:
        raise lt.ScheduleError("no selector loop in the nest.")
    order = list(chain)
    unrolled: list[str] = []
    for candidate in reversed(found):
        if candidate.whole:
            order.remove(candidate.name)
            unrolled.append(candidate.name)
            continue
        outer, inner = s.split(candidate.name, candidate.copies)
        order[order.index(candidate.name)] = outer
        unrolled.append(inner)
    innermost = order.pop()
    vector = innermost
    if s.loop(innermost).trip_count >= lanes:
        outer, vector = s.split(innermost, lanes)
        order.append(outer)
    s.reorder(*order, vector, *unrolled)
    for name in unrolled:
        s.unroll(name)
    s.vectorize(vector)
