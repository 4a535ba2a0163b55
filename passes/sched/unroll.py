"""sched-lower-unroll: each `unroll` loop becomes one copy of its body per iteration.

A schedule marks a loop `unroll` when its iterations should become straight-line code: a
register tile's rows, say, whose accumulators LLVM then keeps in registers. Before:

    sched.for %mi = 0 to 2 step 1 unroll {
      %v = sched.load %x[%mi] : memref<2xf32>
      sched.store %v, %y[%mi] : memref<2xf32>
    }

After:

    %c0 = arith.constant 0 : index
    %v0 = sched.load %x[%c0] : memref<2xf32>
    sched.store %v0, %y[%c0] : memref<2xf32>
    %c1 = arith.constant 1 : index
    %v1 = sched.load %x[%c1] : memref<2xf32>
    sched.store %v1, %y[%c1] : memref<2xf32>

Algorithm: visit the `unroll` loops innermost first (so nested unroll loops multiply); fold
the divisions of a split position by the split's factor ((h.o + h.i) div 4 -> h.o div 4);
move before each loop the ops of its body that do not depend on its induction variable
(speculatable ops, loads of buffers it does not store to), then replace it by copies of the
rest, one per iteration, with the induction variable's value folded through the integer
arithmetic and the selects it decides, and what that leaves unused dropped (the formulas of
other iterations, in selector loops). A loop with more than `max-copies` iterations is left as a
serial loop. Runs after the schedules, before sched-lower-vectorize (which then sees the
copied `vectorize` loops) and convert-sched-to-target.
"""

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.dialects import sched
from ziggurat.schedule.index_residues import constant_index, residues
from ziggurat.schedule.loop_transforms import movable, speculatable


def _defined_outside(value: SSAValue, loop: sched.ForOp, inside: set[Operation]) -> bool:
    owner = value.owner
    if value is loop.induction_var:
        return False
    return not isinstance(owner, Operation) or owner not in inside


def _fold_split_indices(loop: sched.ForOp) -> None:
    """(a + iv) div d -> a div d and (a + iv) rem d -> iv, when a is a multiple of d and the
    loop's iv stays below d: a split loop's position (h = h.o + h.i) divided by the split's
    own factor. The quotient then no longer depends on the unrolled iv and is hoisted."""
    iv = loop.induction_var
    if loop.lower.data < 0 or loop.upper.data < 1:
        return
    for op in list(loop.walk()):
        if not isinstance(op, arith.DivUIOp | arith.RemUIOp):
            continue
        divisor, total = constant_index(op.rhs), op.lhs.owner
        if divisor is None or loop.upper.data > divisor or not isinstance(total, arith.AddiOp):
            continue
        if iv not in (total.lhs, total.rhs):
            continue
        base = total.rhs if total.lhs is iv else total.lhs
        if residues(base, divisor) != frozenset({0}):
            continue
        if isinstance(op, arith.RemUIOp):
            op.result.replace_all_uses_with(iv)
        else:
            quotient = arith.DivUIOp(base, op.rhs)
            Rewriter.insert_op(quotient, InsertPoint.before(op))
            op.result.replace_all_uses_with(quotient.result)
        Rewriter.erase_op(op)


def _hoist_invariants(loop: sched.ForOp) -> None:
    """Moves before the loop the body's top-level ops that do not depend on the induction
    variable: speculatable ops, and loads of buffers the loop does not store to."""
    stored = {op.buffer for op in loop.walk() if isinstance(op, sched.StoreOp)}
    unwritten = {op.buffer for op in loop.walk() if isinstance(op, sched.LoadOp)} - stored
    inside = set(loop.walk())
    for op in [o for o in loop.body.block.ops if not isinstance(o, sched.YieldOp)]:
        if (
            not op.regions
            and movable(op, unwritten)
            and all(_defined_outside(v, loop, inside) for v in op.operands)
        ):
            op.detach()
            Rewriter.insert_op(op, InsertPoint.before(loop))
            inside.discard(op)


CMPI = {
    0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
    3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b,
    6: lambda a, b: a < b, 7: lambda a, b: a <= b, 8: lambda a, b: a > b, 9: lambda a, b: a >= b,
}  # fmt: skip
"""arith.cmpi predicates by number; the values folded here are non-negative, so the unsigned
ones compare alike."""

INTEGER_OPS: dict[type[Operation], Callable[[int, int], int | None]] = {
    arith.AddiOp: lambda a, b: a + b,
    arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b,
    arith.DivUIOp: lambda a, b: a // b if b > 0 and a >= 0 else None,
    arith.RemUIOp: lambda a, b: a % b if b > 0 and a >= 0 else None,
    arith.MaxSIOp: max,
    arith.MinSIOp: min,
    arith.AndIOp: lambda a, b: a & b,
    arith.OrIOp: lambda a, b: a | b,
}


def _folded(op: Operation, known: dict[SSAValue, int]) -> int | None:
    """The integer `op` computes when its operands are known, else None."""
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    operands = [known.get(v, constant_index(v)) for v in op.operands]
    values = [v for v in operands if v is not None]
    if not values or len(values) < len(operands):
        return None
    if isinstance(op, arith.CmpiOp):
        return int(CMPI[op.predicate.value.data](*values))
    rule = INTEGER_OPS.get(type(op))
    return None if rule is None else rule(*values)


def _copy(body: list[Operation], iv: SSAValue, value: int) -> list[Operation]:
    """One iteration's copy of `body`, integer arithmetic on known values folded (the
    iteration's position, the selects it decides) and what that leaves unused dropped."""
    ops: list[Operation] = []
    known: dict[SSAValue, int] = {iv: value}
    mapping: dict[SSAValue, SSAValue] = {}

    def materialize(original: SSAValue) -> None:
        if original in known and original not in mapping:
            assert isinstance(original.type, IntegerType | IndexType)
            constant = arith.ConstantOp(IntegerAttr(known[original], original.type))
            ops.append(constant)
            mapping[original] = constant.result

    for op in body:
        folded = _folded(op, known)
        if folded is not None and len(op.results) == 1:
            known[op.results[0]] = folded
            continue
        condition = known.get(op.cond) if isinstance(op, arith.SelectOp) else None
        if isinstance(op, arith.SelectOp) and condition is not None:
            chosen = op.lhs if condition else op.rhs
            if chosen in known:
                known[op.result] = known[chosen]
            else:
                mapping[op.result] = mapping.get(chosen, chosen)
            continue
        for inner in op.walk():
            for operand in inner.operands:
                materialize(operand)
        clone = op.clone(value_mapper=mapping)
        ops.append(clone)
        mapping.update(zip(op.results, clone.results, strict=True))
    kept: list[Operation] = []
    for op in reversed(ops):
        if not op.regions and speculatable(op) and all(not r.uses for r in op.results):
            op.erase()
            continue
        kept.append(op)
    return kept[::-1]


def unroll(loop: sched.ForOp) -> None:
    """Replaces the loop by one copy of its body per iteration, after hoisting what every
    copy would compute alike."""
    _fold_split_indices(loop)
    _hoist_invariants(loop)
    copies: list[Operation] = []
    body = [op for op in loop.body.block.ops if not isinstance(op, sched.YieldOp)]
    for value in range(loop.lower.data, loop.upper.data, loop.step.data):
        copies += _copy(body, loop.induction_var, value)
    Rewriter.insert_op(copies, InsertPoint.before(loop))
    Rewriter.erase_op(loop)


def _innermost_first(root: Operation) -> list[sched.ForOp]:
    """The unroll loops under root, each after every loop nested in it."""
    loops = [op for op in root.walk() if isinstance(op, sched.ForOp)]
    return [loop for loop in reversed(loops) if loop.kind.data == "unroll"]


@dataclass(frozen=True)
class SchedLowerUnroll(ModulePass):
    """Replaces every `unroll` loop with at most `max-copies` iterations by copies of its
    body; longer ones become serial loops."""

    name = "sched-lower-unroll"
    max_copies: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for loop in _innermost_first(op):
            if loop.trip_count > self.max_copies:
                loop.kind = StringAttr("serial")
                statistics.count("loops-not-unrolled")
                continue
            unroll(loop)
            statistics.count("loops-unrolled")
