"""What convert-graph-to-te does for graph.if and graph.loop: their regions' ops become kernel
calls like any others (the control ops stay), and each value a region yields gets a buffer of
its own, so convert-te-to-sched can have the kernel that makes it write straight into the
op's result (a branch's output, a scan output's row) or a copy of it into a carried buffer.

A yielded value that is not the result of a kernel call in the same region (a constant, a
block argument, an outer value, or one yielded twice) gets a copy kernel before the yield;
a Loop's condition is left alone (the entry reads it as a scalar).
"""

from collections.abc import Callable, Iterator

from xdsl.dialects import func
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import Rewriter

from ziggurat.dialects import graph

CONTROL_OPS = (graph.IfOp, graph.LoopOp)


def nested_ops(block: Block) -> Iterator[Operation]:
    """The ops of `block` and of the regions of its control ops, control ops themselves
    and their yields left out."""
    for op in list(block.ops):
        if isinstance(op, CONTROL_OPS):
            for region in op.regions:
                yield from nested_ops(region.block)
        elif not isinstance(op, graph.YieldOp):
            yield op


def control_ops(block: Block) -> Iterator[Operation]:
    """The control ops of `block`, nested ones included (outer first)."""
    for op in block.ops:
        if isinstance(op, CONTROL_OPS):
            yield op
            for region in op.regions:
                yield from control_ops(region.block)


def give_yields_own_buffers(
    function: func.FuncOp, copy_call: Callable[[SSAValue, Operation], SSAValue]
) -> None:
    """Puts a copy (made by `copy_call(value, before)`) in place of each yielded value that
    the region's own kernel calls do not make, or that is yielded a second time."""
    for op in list(control_ops(function.body.block)):
        for region in op.regions:
            terminator = region.block.last_op
            assert isinstance(terminator, graph.YieldOp)
            first = 1 if isinstance(op, graph.LoopOp) else 0
            seen: set[SSAValue] = set()
            values = list(terminator.values)
            for index in range(first, len(values)):
                value = values[index]
                owner = value.owner
                made_here = isinstance(owner, func.CallOp) and owner.parent_block() is region.block
                if made_here and value not in seen:
                    seen.add(value)
                    continue
                values[index] = copy_call(value, terminator)
                seen.add(values[index])
            terminator.operands = values


def give_constant_operands_buffers(
    function: func.FuncOp, copy_call: Callable[[SSAValue, Operation], SSAValue]
) -> None:
    """Puts a kernel call making each constant that a control op reads (a condition, a trip
    count, a loop's initial value) in its place: the op reads buffers."""
    for op in list(control_ops(function.body.block)):
        operands = list(op.operands)
        for index, value in enumerate(operands):
            if isinstance(value.owner, graph.ConstantOp):
                operands[index] = copy_call(value, op)
        op.operands = operands


def erase_unused_constants(block: Block) -> None:
    for op in list(nested_ops(block)):
        if isinstance(op, graph.ConstantOp | graph.WeightOp) and not op.result.uses:
            Rewriter.erase_op(op)
