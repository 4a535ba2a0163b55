"""te-inline-computes: merge a te.compute into the compute that reads it (TVM's
compute_inline), so a fused group becomes one loop nest with no intermediate buffer.

Algorithm, in each kernel, repeated until nothing changes: a compute C the kernel does not
return, all of whose te.read users sit in one other compute D, is inlined when
- C folds nothing (no te.reduce): every read of C in D is replaced by C's body at the read's
  indices; or
- C folds (holds a te.reduce) and D reads it only at D's own indices, in D's body: the fold
  is computed once per element either way, its value shared by every such read (GELU's
  x * f(x) reads a matmul's element twice).
Each read becomes a clone of C's body with C's index arguments bound to the read's indices;
C is then erased.

Runs after convert-graph-to-te; convert-te-to-sched follows.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.dialects import te


def _enclosing_compute(op: Operation) -> te.ComputeOp | None:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, te.ComputeOp):
        parent = parent.parent_op()
    return parent


def _folds(compute: te.ComputeOp) -> bool:
    return any(isinstance(o, te.ReduceOp) for o in compute.body.walk())


def _inlinable(compute: te.ComputeOp, returned: set[SSAValue]) -> te.ComputeOp | None:
    """The compute to inline `compute` into, if the rules allow."""
    if compute.result in returned or not compute.result.uses:
        return None
    reads = [use.operation for use in compute.result.uses]
    if not all(isinstance(r, te.ReadOp) for r in reads):
        return None
    consumers = {_enclosing_compute(r) for r in reads}
    if len(consumers) != 1:
        return None
    consumer = consumers.pop()
    if consumer is None or consumer is compute:
        return None
    if _folds(compute):
        for read in reads:
            assert isinstance(read, te.ReadOp)
            if read.parent_block() is not consumer.body.block or not _at_own_point(read, consumer):
                return None
    return consumer


def _at_own_point(read: te.ReadOp, consumer: te.ComputeOp) -> bool:
    """Whether `read` is at the consumer's own indices (a constant 0 standing for an index
    whose extent is 1), so each element of the consumer reads a distinct element."""
    shape = consumer.result.type.get_shape()
    if len(read.indices) != len(shape):
        return False
    for index, arg, extent in zip(read.indices, consumer.body.block.args, shape, strict=True):
        if index is arg:
            continue
        owner = index.owner
        if not (
            extent == 1
            and isinstance(owner, arith.ConstantOp)
            and isinstance(owner.value, IntegerAttr)
            and owner.value.value.data == 0
        ):
            return False
    return True


def inline(compute: te.ComputeOp) -> None:
    reads = [use.operation for use in compute.result.uses]
    if _folds(compute) and len(reads) > 1:
        block = reads[0].parent_block()
        assert block is not None
        first, *others = sorted(reads, key=block.get_operation_index)
        for read in others:
            Rewriter.replace_op(read, [], [first.results[0]])
        reads = [first]
    for read in reads:
        assert isinstance(read, te.ReadOp)
        mapping: dict[SSAValue, SSAValue] = dict(
            zip(compute.body.block.args, read.indices, strict=True)
        )
        value: SSAValue | None = None
        for op in compute.body.block.ops:
            if isinstance(op, te.YieldOp):
                value = mapping.get(op.value, op.value)
                break
            clone = op.clone(value_mapper=mapping)
            Rewriter.insert_op(clone, InsertPoint.before(read))
            mapping.update(zip(op.results, clone.results, strict=True))
        assert value is not None
        Rewriter.replace_op(read, [], [value])
    Rewriter.erase_op(compute)


@dataclass(frozen=True)
class TeInlineComputes(ModulePass):
    """Inlines single-consumer computes into their consumer, leaving one loop nest per group."""

    name = "te-inline-computes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for kernel in op.ops:
            if not isinstance(kernel, func.FuncOp) or not kernel.body.blocks:
                continue
            ret = kernel.body.block.last_op
            returned = set(ret.operands) if ret is not None else set()
            changed = True
            while changed:
                changed = False
                for compute in [o for o in kernel.body.block.ops if isinstance(o, te.ComputeOp)]:
                    if _inlinable(compute, returned) is not None:
                        inline(compute)
                        statistics.count("computes-inlined")
                        changed = True
