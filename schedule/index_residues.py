"""Which residues modulo M an index value can take, from the loops and constants it is
computed from.

Reshapes and transposes index a buffer by a flat position split with `remui`/`divui`; a
vector loop keeps such an index contiguous when no lane crosses a multiple of the divisor.
Telling needs the lane-0 position modulo the divisor, over every iteration of the enclosing
loops. Every sched loop has constant bounds, so the set of residues can be computed exactly
(or over-approximated, which keeps the answer safe) from constants, induction variables and
`addi`, `muli`, `remui` and `divui` of them. Values are non-negative throughout (no `subi`),
as unsigned division needs.
"""

from collections.abc import Callable

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import BlockArgument, SSAValue

from ziggurat.dialects import sched

Residues = frozenset[int] | None
"""The residues a value may take modulo some M, or None when they are unknown."""

MAX_COMBINATIONS = 1 << 16
"""Pairs of residues combined at most for one addi; beyond it the residues are unknown."""


def constant_index(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def add_residues(lhs: Residues, rhs: Residues, modulus: int) -> Residues:
    if lhs is None or rhs is None or len(lhs) * len(rhs) > MAX_COMBINATIONS:
        return None
    return frozenset((a + b) % modulus for a in lhs for b in rhs)


def loop_residues(loop: sched.ForOp, modulus: int) -> Residues:
    """The induction variable modulo `modulus`: its values repeat modulo it within
    `modulus` iterations."""
    lower, step = loop.lower.data, loop.step.data
    if lower < 0:
        return None
    return frozenset((lower + step * k) % modulus for k in range(min(loop.trip_count, modulus)))


def residues(value: SSAValue, modulus: int) -> Residues:
    """The residues of a non-negative index value modulo `modulus`, or None."""
    constant = constant_index(value)
    if constant is not None:
        return frozenset({constant % modulus}) if constant >= 0 else None
    if isinstance(value, BlockArgument):
        loop = value.owner.parent_op()
        return loop_residues(loop, modulus) if isinstance(loop, sched.ForOp) else None
    owner = value.owner
    if isinstance(owner, arith.AddiOp):
        return add_residues(residues(owner.lhs, modulus), residues(owner.rhs, modulus), modulus)
    if not isinstance(owner, arith.MuliOp | arith.RemUIOp | arith.DivUIOp):
        return None
    operand, factor = owner.lhs, constant_index(owner.rhs)
    if isinstance(owner, arith.MuliOp) and factor is None:
        operand, factor = owner.rhs, constant_index(owner.lhs)
    if factor is None or factor <= 0:
        return None
    return scaled_residues(lambda m: residues(operand, m), type(owner), factor, modulus)


def scaled_residues(
    operand: Callable[[int], Residues], kind: type, factor: int, modulus: int
) -> Residues:
    """Residues of `operand <kind> factor` modulo `modulus`, given the operand's residues
    modulo any M: (x * f) mod M follows from x mod M, (x div f) mod M from x mod (M * f),
    (x rem f) mod M from x rem f."""
    if kind is arith.MuliOp:
        known = operand(modulus)
        return None if known is None else frozenset(a * factor % modulus for a in known)
    if kind is arith.DivUIOp:
        known = operand(modulus * factor)
        return None if known is None else frozenset(a // factor % modulus for a in known)
    known = operand(factor)
    return None if known is None else frozenset(a % modulus for a in known)
